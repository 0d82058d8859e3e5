/**
 * The election tracker (src/observability/elections.ts) on the fake clock: an election opens at
 * every transition and settles when the kernel has answered for every VIP and the first
 * gratuitous ARP of a takeover went out; the next transition supersedes it; one that has not
 * settled after its limit (5 s) is closed as a timeout. Driven by a real router whose address
 * manager answers on the clock, as netlink does, and by hand-made events for the edge cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import type { KeepalivedConfig } from '../../../src/config/model.js';
import { VrrpEngine } from '../../../src/core/engine.js';
import { AgentBus, type StateChangedEvent } from '../../../src/events/index.js';
import { ElectionTracker, type Election } from '../../../src/observability/elections.js';
import type { VipAssignment } from '../../../src/ports/index.js';
import { FakeClock } from '../../fakes/clock.js';

const SETTLE_LIMIT_MS = 5000;

function conf(vips: string[]): KeepalivedConfig {
  const text = `vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    virtual_ipaddress {\n${vips.map((v) => `        ${v}\n`).join('')}    }\n}\n`;
  const r = parseConfigText(text, 'test.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  return r.config;
}

/**
 * One router on the fake clock; its address manager answers each add after `answerMs(vip)` on
 * the clock with a vip-result on the bus (never, for undefined), as the netlink adapter does.
 */
function router(vips: string[], answerMs: (vip: string) => number | undefined) {
  const clock = new FakeClock();
  const bus = new AgentBus();
  bus.onListenerError = (err) => {
    throw err;
  };
  const tracker = new ElectionTracker(bus, clock);
  const settled: Election[] = [];
  tracker.onSettled((e) => settled.push(e));
  const answer = (a: VipAssignment, action: 'add' | 'remove') => {
    const ms = answerMs(a.vip.address);
    if (ms === undefined) return;
    const asked = clock.now();
    clock.setTimer(ms, () => bus.emit({ type: 'vip-result', assignment: a, action, durationMs: clock.now() - asked, atMs: clock.now() }));
  };
  const engine = VrrpEngine.fromConfig(conf(vips), {
    clock,
    transport: { send: () => undefined },
    addresses: { add: (a) => answer(a, 'add'), remove: (a) => answer(a, 'remove') },
    frames: { inject: () => undefined },
    interfaces: { mac: () => '02:00:00:00:00:01', primaryAddress: () => '10.0.0.1' },
    events: bus,
  });
  return { clock, bus, tracker, settled, engine, r: engine.routers.get('VI_1')! };
}

/** Lets queued microtasks run (an election with nothing to wait for settles in one). */
const microtasks = () => new Promise<void>((r) => queueMicrotask(r));

test('a takeover settles when the kernel has answered for every VIP and the first GARP went out', async () => {
  const answers: Record<string, number> = { '10.0.0.100': 3, '10.0.0.101': 7 };
  const t = router(['10.0.0.100', '10.0.0.101'], (vip) => answers[vip]);
  t.engine.start();
  await microtasks();
  assert.equal(t.settled.length, 1, 'the start-up transition to BACKUP settles at once (no VIPs to wait for)');
  assert.deepEqual([t.settled[0]!.transition.to, t.settled[0]!.endedBy, t.settled[0]!.settledAtMs], ['backup', 'settled', 0]);
  // No master heard: the Master_Down_Timer makes it master.
  t.clock.advance(t.r.masterDownIntervalMs);
  await microtasks();
  assert.equal(t.r.state, 'master');
  const atMs = t.r.lastTransition!.atMs;
  assert.equal(t.settled.length, 1, 'waits for the kernel');
  t.clock.advance(3);
  assert.equal(t.settled.length, 1, 'one VIP answered, one to go');
  t.clock.advance(4);
  assert.equal(t.settled.length, 2);
  const e = t.settled[1]!;
  assert.equal(e.endedBy, 'settled');
  assert.equal(e.transition.to, 'master');
  assert.equal(e.settledAtMs, atMs + 7, 'the last answer');
  assert.deepEqual(e.vips.map((v) => [v.vip, v.action, v.durationMs]), [
    ['10.0.0.100', 'add', 3],
    ['10.0.0.101', 'add', 7],
  ]);
  assert.deepEqual(e.garps.map((g) => [g.reason, g.atMs]), [['become-master', atMs]]);
});

test('an election the kernel never finishes is closed after its limit, at the time of the limit', async () => {
  const t = router(['10.0.0.100', '10.0.0.101'], (vip) => (vip === '10.0.0.100' ? 2 : undefined));
  t.engine.start();
  await microtasks();
  t.clock.advance(t.r.masterDownIntervalMs);
  const atMs = t.r.lastTransition!.atMs;
  t.clock.advance(SETTLE_LIMIT_MS - 1);
  assert.equal(t.settled.length, 1, 'still open just before the limit');
  t.clock.advance(1);
  assert.equal(t.settled.length, 2);
  const e = t.settled[1]!;
  assert.equal(e.endedBy, 'timeout');
  assert.equal(e.settledAtMs, atMs + SETTLE_LIMIT_MS);
  assert.deepEqual(e.vips.map((v) => v.vip), ['10.0.0.100'], 'what did come is kept');
  // The timer is gone with the election: nothing closes twice.
  t.clock.advance(60_000);
  assert.equal(t.settled.length, 2);
});

test('the next transition supersedes an open election; its own timer no longer fires', async () => {
  const t = router(['10.0.0.100'], () => undefined);
  t.engine.start();
  await microtasks();
  t.clock.advance(t.r.masterDownIntervalMs);
  t.clock.advance(1000);
  t.r.setFault('interface:eth0', 'interface eth0 down', { linkDown: true });
  assert.equal(t.settled.length, 2);
  const e = t.settled[1]!;
  assert.equal(e.endedBy, 'superseded');
  assert.equal(e.settledAtMs, t.clock.now());
  // The fault transition removes the VIP (never answered): it times out on its own timer.
  t.clock.advance(SETTLE_LIMIT_MS);
  assert.deepEqual(t.settled.map((x) => [x.transition.to, x.endedBy]), [
    ['backup', 'settled'],
    ['master', 'superseded'],
    ['fault', 'timeout'],
  ]);
});

/** Hand-made events, for what a single router on the fake clock does not show. */
function bare() {
  const clock = new FakeClock();
  const bus = new AgentBus();
  const tracker = new ElectionTracker(bus, clock);
  const settled: Election[] = [];
  tracker.onSettled((e) => settled.push(e));
  const transition = (to: StateChangedEvent['to'], family: StateChangedEvent['family'] = 'ipv4', instance = 'VI_1') =>
    bus.emit({ type: 'state-changed', instance, vrid: 51, interface: 'eth0', family, version: 3, from: 'backup', to, cause: 'master-down-timer', atMs: clock.now(), wallMs: clock.wallNow(), startedAtMs: clock.now(), priority: 100, basePriority: 100 });
  const requested = (n: number, instance = 'VI_1') => bus.emit({ type: 'vip-requested', instance, vrid: 51, interface: 'eth0', action: 'add', vips: Array.from({ length: n }, (_, i) => `10.0.0.${100 + i}`), atMs: clock.now() });
  const result = (vip: string, instance = 'VI_1') => bus.emit({ type: 'vip-result', assignment: { instance, interface: 'eth0', vip: { address: vip } }, action: 'add', durationMs: 1, atMs: clock.now() });
  const garp = (reason: 'become-master' | 'refresh', instance = 'VI_1') => bus.emit({ type: 'garp-sent', instance, vrid: 51, interface: 'eth0', vips: ['10.0.0.100'], mac: '02:00:00:00:00:01', count: 1, reason, atMs: clock.now() });
  return { clock, bus, tracker, settled, transition, requested, result, garp };
}

test('an IPv4 takeover waits for its GARP too; refresh GARPs and other instances do not count', async () => {
  const t = bare();
  t.transition('master');
  t.requested(1);
  await microtasks();
  t.clock.advance(2);
  t.result('10.0.0.100');
  t.result('10.0.0.100', 'VI_2');
  t.garp('become-master', 'VI_2');
  t.garp('refresh');
  assert.equal(t.settled.length, 0, 'VIP done, no become-master GARP yet');
  t.clock.advance(3);
  t.garp('become-master');
  assert.equal(t.settled.length, 1);
  assert.equal(t.settled[0]!.settledAtMs, 5);
  assert.equal(t.settled[0]!.garps.length, 1);
});

test('an IPv6 takeover settles on its VIPs alone (no GARP to wait for)', async () => {
  const t = bare();
  t.transition('master', 'ipv6');
  t.requested(1);
  await microtasks();
  assert.equal(t.settled.length, 0);
  t.clock.advance(4);
  t.result('10.0.0.100');
  assert.deepEqual(t.settled.map((e) => [e.endedBy, e.settledAtMs]), [['settled', 4]]);
});

test('the last advert heard before a transition goes with its election', async () => {
  const t = bare();
  t.clock.advance(100);
  t.bus.emit({ type: 'advert-received', instance: 'VI_1', vrid: 51, interface: 'eth0', family: 'ipv4', version: 3, source: '10.0.0.2', priority: 150, advertIntervalMs: 1000, addressListMismatch: false, atMs: 100, state: 'backup' });
  t.clock.advance(3000);
  t.transition('master');
  t.garp('become-master');
  await microtasks();
  assert.deepEqual(t.settled[0]!.lastAdvert, { source: '10.0.0.2', priority: 150, atMs: 100 });
  assert.deepEqual(t.tracker.lastAdvert('VI_1'), { source: '10.0.0.2', priority: 150, atMs: 100 });
  assert.equal(t.tracker.lastAdvert('VI_2'), undefined);
});
