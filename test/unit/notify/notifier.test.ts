/**
 * Notify scripts (src/notify/notifier.ts) on the fake clock and the fake ProcessRunner:
 * keepalived's commands and arguments, strict order (one command at a time, transitions in
 * order), coalescing (1 running + 1 waiting per instance and per group; the last state wins),
 * timeouts, `enable_script_security`, the user scripts run as, and sync-group notifies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import type { KeepalivedConfig } from '../../../src/config/model.js';
import { AgentBus, type StateChangedEvent, type VrrpState } from '../../../src/events/index.js';
import { Notifier, NOTIFY_TIMEOUT_MS, type NotifyRunEvent } from '../../../src/notify/notifier.js';
import type { RunAs } from '../../../src/ports/index.js';
import { FakeClock } from '../../fakes/clock.js';
import { FakeProcessRunner, flush } from '../../fakes/process.js';

const INSTANCE = (notify: string[]) => `vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n${notify.map((n) => `    ${n}\n`).join('')}}\n`;

function conf(text: string): KeepalivedConfig {
  const r = parseConfigText(text, 'test.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  return r.config;
}

function setup(config: KeepalivedConfig, opts: { timeoutMs?: number; routers?: () => never[]; runAs?: () => RunAs | undefined } = {}) {
  const clock = new FakeClock();
  const processes = new FakeProcessRunner({ clock });
  const bus = new AgentBus();
  bus.onListenerError = (err) => {
    throw err;
  };
  const runs: NotifyRunEvent[] = [];
  bus.on('notify-run', (e) => runs.push(e));
  const notifier = new Notifier({
    config: () => config,
    routers: opts.routers ?? (() => []),
    bus,
    clock,
    processes,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.runAs ? { runAs: opts.runAs } : {}),
  });
  let last: VrrpState = 'init';
  const transition = (to: VrrpState, instance = 'VI_1', priority = 100) => {
    const e: StateChangedEvent = { type: 'state-changed', instance, vrid: 51, interface: 'eth0', family: 'ipv4', version: 2, from: last, to, cause: 'master-down-timer', atMs: clock.now(), wallMs: clock.wallNow(), startedAtMs: clock.now(), priority, basePriority: 100 };
    last = to;
    bus.emit(e);
  };
  return { clock, processes, bus, runs, notifier, transition };
}

test("keepalived's commands: the specific script as written, then `notify` with INSTANCE name state priority", async () => {
  const t = setup(conf(INSTANCE(['notify_master "/bin/m specific-master"', 'notify_backup /bin/b', 'notify /bin/n'])));
  t.transition('master', 'VI_1', 120);
  await t.notifier.idle();
  assert.deepEqual(
    t.processes.runs.map((r) => r.argv),
    [
      ['/bin/m', 'specific-master'],
      ['/bin/n', 'INSTANCE', 'VI_1', 'MASTER', '120'],
    ],
  );
  assert.deepEqual(t.processes.runs.map((r) => r.opts.timeoutMs), [NOTIFY_TIMEOUT_MS, NOTIFY_TIMEOUT_MS], 'the default timeout');
  assert.deepEqual(t.runs.map((r) => [r.command, r.result, r.scope, r.name, r.state]), [
    ['/bin/m specific-master', 'ok', 'INSTANCE', 'VI_1', 'MASTER'],
    ['/bin/n INSTANCE VI_1 MASTER 120', 'ok', 'INSTANCE', 'VI_1', 'MASTER'],
  ]);
  t.transition('init');
  await t.notifier.idle();
  assert.deepEqual(t.processes.runs.at(-1)!.argv, ['/bin/n', 'INSTANCE', 'VI_1', 'STOP', '100'], 'init is STOP');
});

test('strict order: one command at a time, transitions in the order they came', async () => {
  const t = setup(conf(INSTANCE(['notify_master /bin/m', 'notify_backup /bin/b', 'notify /bin/n'])));
  t.processes.script('/bin/b', 'hang');
  t.transition('backup');
  await flush();
  assert.deepEqual(t.processes.runs.map((r) => r.argv[0]), ['/bin/b'], 'notify waits for notify_backup to end');
  t.transition('master');
  await flush();
  assert.equal(t.processes.runs.length, 1, "MASTER's scripts wait for BACKUP's");
  t.clock.advance(1000);
  t.processes.runs[0]!.release('fail');
  await t.notifier.idle();
  assert.deepEqual(
    t.processes.runs.map((r) => `${r.argv[0]} ${r.argv[3] ?? ''}`.trim()),
    ['/bin/b', '/bin/n BACKUP', '/bin/m', '/bin/n MASTER'],
  );
  assert.deepEqual(t.runs.map((r) => r.result), ['fail', 'ok', 'ok', 'ok']);
  assert.equal(t.processes.peakConcurrent('/bin/n'), 1);
  // When each started (wall clock) against its transition's time: how late it ran.
  const masterRun = t.runs.find((r) => r.state === 'MASTER')!;
  assert.equal(masterRun.startedWallMs - masterRun.transitionWallMs, 1000);
});

test('coalescing: a hanging script under 50 transitions leaves 1 running + 1 waiting; the last state runs next; the rest are counted', async () => {
  const t = setup(conf(INSTANCE(['notify /bin/n'])));
  t.processes.script('/bin/n', 'hang');
  t.transition('backup');
  const states: VrrpState[] = ['master', 'backup', 'fault'];
  let last: VrrpState = 'backup';
  for (let i = 0; i < 50; i++) {
    last = states[i % 3]!;
    t.transition(last);
    const q = t.notifier.queued();
    assert.equal(q.length, 1);
    assert.equal(q[0]!.running, 'BACKUP');
    assert.equal(q[0]!.pending, last.toUpperCase());
  }
  await flush();
  assert.equal(t.processes.runs.length, 1, 'one run going');
  const coalesced = t.runs.filter((r) => r.result === 'coalesced');
  assert.equal(coalesced.length, 49);
  assert.ok(coalesced.every((r) => r.exitCode === null && r.durationMs === 0 && /replaced by a newer transition/.test(r.error ?? '')));
  t.processes.runs[0]!.release();
  await t.notifier.idle();
  assert.deepEqual(t.processes.runs.map((r) => r.argv[3]), ['BACKUP', last.toUpperCase()], 'no stale state ran');
  assert.deepEqual(t.notifier.queued(), []);
});

test('timeouts: a hanging script ends at its timeout on the clock; then what waits runs', async () => {
  const t = setup(conf(INSTANCE(['notify /bin/n'])), { timeoutMs: 1500 });
  t.processes.script('/bin/n', 'hang', 'hang');
  t.transition('backup');
  t.transition('master');
  await flush();
  t.clock.advance(1499);
  await flush();
  assert.equal(t.runs.length, 0, 'still running');
  t.clock.advance(1);
  await flush();
  assert.deepEqual(t.runs.map((r) => [r.state, r.result, r.durationMs]), [['BACKUP', 'timeout', 1500]]);
  assert.equal(t.processes.runs.length, 2, 'MASTER runs once BACKUP is killed');
  assert.equal(t.processes.runs[1]!.startedAtMs, 1500);
  t.clock.advance(1500);
  await t.notifier.idle();
  assert.deepEqual(t.runs.map((r) => r.result), ['timeout', 'timeout']);
});

test('per instance and per sync group: separate queues, each bounded, with the group state and priority 0 (keepalived: "the prio will be indicated as zero for a group")', async () => {
  const text = `vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n    notify /bin/g\n}\n${INSTANCE(['notify /bin/i'])}vrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id 52\n    priority 90\n    virtual_ipaddress {\n        10.0.0.101\n    }\n}\n`;
  const states = new Map<string, VrrpState>([
    ['VI_1', 'backup'],
    ['VI_2', 'backup'],
  ]);
  const routers = () => [...states].map(([name, state]) => ({ name, state, effectivePriority: name === 'VI_1' ? 100 : 150 })) as never[];
  const t = setup(conf(text), { routers });
  t.processes.script('/bin/g', 'hang');
  t.processes.script('/bin/i', 'hang');
  t.transition('backup');
  await flush();
  assert.deepEqual(t.processes.runs.map((r) => r.argv.join(' ')).sort(), ['/bin/g GROUP G BACKUP 0', '/bin/i INSTANCE VI_1 BACKUP 100']);
  // VI_1 alone becomes master: the group is not all MASTER yet.
  states.set('VI_1', 'master');
  t.transition('master');
  // Then VI_2 follows: the group is MASTER.
  states.set('VI_2', 'master');
  t.transition('master', 'VI_2');
  assert.deepEqual(t.notifier.queued().sort((a, b) => a.key.localeCompare(b.key)), [
    { key: 'g:G', running: 'BACKUP', pending: 'MASTER' },
    { key: 'i:VI_1', running: 'BACKUP', pending: 'MASTER' },
  ]);
  // The same group state again runs nothing more.
  t.transition('master', 'VI_2');
  assert.equal(t.runs.filter((r) => r.result === 'coalesced').length, 0);
  for (const r of t.processes.running()) r.release();
  await t.notifier.idle();
  assert.deepEqual(
    t.processes.runs.map((r) => r.argv.join(' ')).filter((c) => c.includes('MASTER')).sort(),
    ['/bin/g GROUP G MASTER 0', '/bin/i INSTANCE VI_1 MASTER 100'],
  );
});

test('enable_script_security: an unsafe notify script is not run, and each time it would have been, "disabled" says so', async () => {
  const t = setup(conf(`global_defs {\n    enable_script_security\n}\n${INSTANCE(['notify_master /bin/m', 'notify /bin/n'])}`));
  t.processes.setProblem('/bin/m', 'insecure');
  t.transition('master');
  await t.notifier.idle();
  assert.deepEqual(t.processes.runs.map((r) => r.argv[0]), ['/bin/n'], 'the safe one still runs');
  assert.deepEqual(t.runs.map((r) => [r.command, r.result]), [
    ['/bin/m', 'disabled'],
    ['/bin/n INSTANCE VI_1 MASTER 100', 'ok'],
  ]);
  assert.match(t.runs[0]!.error ?? '', /: not run$/);
  // Checked when due: fixed permissions take effect without a reload.
  t.processes.setProblem('/bin/m', undefined);
  t.transition('backup');
  t.transition('master');
  await t.notifier.idle();
  assert.deepEqual(t.processes.runs.map((r) => r.argv[0]).slice(-2), ['/bin/m', '/bin/n']);
});

test('without enable_script_security nothing is checked before a notify runs (a missing one fails when run)', async () => {
  const t = setup(conf(INSTANCE(['notify_master /bin/m'])));
  t.processes.setProblem('/bin/m', 'insecure');
  t.processes.script('/bin/m', { result: 'error', error: 'spawn /bin/m ENOENT' });
  t.transition('master');
  await t.notifier.idle();
  assert.deepEqual(t.processes.checked, []);
  assert.deepEqual(t.runs.map((r) => [r.result, r.error]), [['error', 'spawn /bin/m ENOENT']]);
});

test('notify scripts run as the current script user, read when each one runs', async () => {
  let runAs: RunAs | undefined;
  const t = setup(conf(INSTANCE(['notify_master /bin/m'])), { runAs: () => runAs });
  t.transition('master');
  await t.notifier.idle();
  runAs = { uid: 65534, gid: 65534 };
  t.transition('backup');
  t.transition('master');
  await t.notifier.idle();
  assert.deepEqual(t.processes.runs.map((r) => r.opts.runAs), [undefined, { uid: 65534, gid: 65534 }]);
});
