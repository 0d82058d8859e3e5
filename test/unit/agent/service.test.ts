/**
 * What the service manager hears from the agent's life (src/agent/service.ts), on the fake clock:
 * READY=1 with the states once started, STATUS= after transitions (one per burst, at most one a
 * second, the last state always shown), WATCHDOG=1 every interval only while the clock's timers
 * run (a stalled event loop runs none: no ping), RELOADING/READY around a reload, STOPPING=1,
 * and nothing at all without a manager.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../fakes/clock.js';
import { AgentBus, type AgentEvent } from '../../../src/events/index.js';
import type { ServiceNotifier } from '../../../src/ports/index.js';
import { ServiceManagerLink, STATUS_MIN_INTERVAL_MS, describeStates } from '../../../src/agent/service.js';
import { NO_SERVICE_MANAGER } from '../../../src/adapters/sd-notify.js';

type Sent = { atMs: number; what: string };

function recorder(clock: FakeClock, watchdogIntervalMs: number | undefined): ServiceNotifier & { sent: Sent[] } {
  const sent: Sent[] = [];
  const rec = (what: string) => sent.push({ atMs: clock.now(), what });
  return {
    sent,
    enabled: true,
    watchdogIntervalMs,
    ready: (s) => rec(`READY ${s}`),
    status: (s) => rec(`STATUS ${s}`),
    watchdog: () => rec('WATCHDOG'),
    reloading: (s) => rec(`RELOADING ${s}`),
    stopping: (s) => rec(`STOPPING ${s}`),
    close: () => {},
  };
}

/** `watchdogIntervalMs`: null for a manager that wants no pings. */
function setup(watchdogIntervalMs: number | null) {
  const clock = new FakeClock();
  const bus = new AgentBus();
  const routers = [
    { name: 'VI_1', state: 'backup' as string },
    { name: 'VI_2', state: 'backup' as string },
  ];
  const notifier = recorder(clock, watchdogIntervalMs ?? undefined);
  const link = new ServiceManagerLink({ notifier, clock, bus, routers: () => routers as never });
  const transition = (i: number, to: string) => {
    routers[i]!.state = to;
    bus.emit({ type: 'state-changed', instance: routers[i]!.name, to } as unknown as AgentEvent);
  };
  return { clock, bus, routers, notifier, link, transition };
}

test('READY=1 with the states once started; WATCHDOG=1 every interval while the timers run', () => {
  const { clock, notifier, link } = setup(5000);
  assert.equal(notifier.sent.length, 0, 'nothing before the start is done');
  link.ready();
  assert.deepEqual(notifier.sent, [{ atMs: 0, what: 'READY VI_1 BACKUP, VI_2 BACKUP' }]);
  clock.advance(20_000);
  assert.deepEqual(
    notifier.sent.filter((s) => s.what === 'WATCHDOG').map((s) => s.atMs),
    [5000, 10_000, 15_000, 20_000],
  );
});

test('no WATCHDOG=1 without WATCHDOG_USEC (or when it watches another PID)', () => {
  const { clock, notifier, link } = setup(null);
  link.ready();
  clock.advance(60_000);
  assert.deepEqual(notifier.sent.map((s) => s.what), ['READY VI_1 BACKUP, VI_2 BACKUP']);
});

test('STATUS= follows transitions: a burst is one update, at most one a second, and the last state is shown', () => {
  const { clock, notifier, link, transition } = setup(null);
  link.ready();
  clock.advance(2000);
  transition(0, 'master');
  transition(1, 'master');
  clock.advance(0);
  assert.deepEqual(notifier.sent.slice(1), [{ atMs: 2000, what: 'STATUS VI_1 MASTER, VI_2 MASTER' }], 'the burst: one update, at once (the last one was long ago)');
  // Flapping: many transitions within the next second are one update, a second after the last.
  clock.advance(100);
  transition(0, 'backup');
  clock.advance(100);
  transition(0, 'master');
  clock.advance(100);
  transition(0, 'fault');
  clock.advance(2000);
  assert.deepEqual(notifier.sent.slice(2), [{ atMs: 2000 + STATUS_MIN_INTERVAL_MS, what: 'STATUS VI_1 FAULT, VI_2 MASTER' }]);
  // Back and forth to the state already shown: nothing new to say.
  transition(0, 'backup');
  transition(0, 'fault');
  clock.advance(5000);
  assert.equal(notifier.sent.length, 3);
});

test('a reload: RELOADING=1, then READY=1 (applied, or refused with why); STOPPING=1 ends the pings', () => {
  const { clock, notifier, link } = setup(5000);
  link.ready();
  clock.advance(1000);
  link.reloading();
  link.reloaded(true);
  link.reloading();
  link.reloaded(false, "b.conf:2:9: error: invalid state 'Master'");
  assert.deepEqual(notifier.sent.slice(1).map((s) => s.what), [
    'RELOADING reloading the configuration; VI_1 BACKUP, VI_2 BACKUP',
    'READY VI_1 BACKUP, VI_2 BACKUP',
    'RELOADING reloading the configuration; VI_1 BACKUP, VI_2 BACKUP',
    "READY VI_1 BACKUP, VI_2 BACKUP (last reload refused: b.conf:2:9: error: invalid state 'Master')",
  ]);
  link.stopping('stopping: masters send priority 0 and remove their VIPs');
  const n = notifier.sent.length;
  clock.advance(30_000);
  assert.equal(notifier.sent.at(-1)?.what, 'STOPPING stopping: masters send priority 0 and remove their VIPs');
  assert.equal(notifier.sent.length, n, 'no WATCHDOG or STATUS after STOPPING');
  link.stopping('again');
  assert.equal(notifier.sent.length, n, 'STOPPING once');
});

test('the ping is a timer on the agent\'s clock: no timer run, no ping (test/net/systemd.test.ts stops a real agent)', () => {
  const { clock, notifier, link } = setup(5000);
  link.ready();
  clock.advance(4999);
  assert.equal(notifier.sent.filter((s) => s.what === 'WATCHDOG').length, 0, 'not before the interval');
  clock.advance(1);
  assert.equal(notifier.sent.filter((s) => s.what === 'WATCHDOG').length, 1);
  // Each ping arms the next: one per interval, never a backlog.
  clock.advance(12_000);
  assert.deepEqual(
    notifier.sent.filter((s) => s.what === 'WATCHDOG').map((s) => s.atMs),
    [5000, 10_000, 15_000],
  );
});

test('without a manager (NOTIFY_SOCKET unset) nothing is sent and no timer is armed', () => {
  const clock = new FakeClock();
  const bus = new AgentBus();
  let calls = 0;
  const spy: ServiceNotifier = { ...NO_SERVICE_MANAGER, ready: () => calls++, status: () => calls++, watchdog: () => calls++ };
  const link = new ServiceManagerLink({ notifier: spy, clock, bus, routers: () => [] });
  link.ready();
  bus.emit({ type: 'state-changed' } as unknown as AgentEvent);
  clock.advance(60_000);
  assert.equal(calls, 0);
});

test('the status text: the instances in order; counts (and the faulty ones) when there are many', () => {
  assert.equal(describeStates([]), 'no instances');
  assert.equal(describeStates([{ name: 'VI_1', state: 'master' }, { name: 'VI_2', state: 'backup' }] as never), 'VI_1 MASTER, VI_2 BACKUP');
  const many = Array.from({ length: 255 }, (_, i) => ({ name: `VI_${i + 1}`, state: i < 100 ? 'master' : i === 200 ? 'fault' : 'backup' }));
  assert.equal(describeStates(many as never), '255 instances: 100 MASTER, 154 BACKUP, 1 FAULT; FAULT: VI_201');
});
