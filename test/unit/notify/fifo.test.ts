/**
 * The notify FIFOs (src/notify/fifo.ts, fed by src/notify/notifier.ts) on a fake FIFO port and the
 * fake clock: keepalived's line format for instances, groups, priority changes, DELETED and
 * MASTER_RX_LOWER_PRI; every transition in order; the reader started with the FIFO's path last,
 * as its own user, refused under enable_script_security when unsafe; a full pipe queues (bounded:
 * the oldest dropped and counted) and never blocks; reloads keep or reopen; states on reload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import type { KeepalivedConfig } from '../../../src/config/model.js';
import { AgentBus, type NotifyFifoEvent, type StateChangedEvent, type VrrpState } from '../../../src/events/index.js';
import { FIFO_QUEUE_MAX_LINES, FIFO_RETRY_MS, NotifyFifos, fifoLine } from '../../../src/notify/fifo.js';
import { Notifier } from '../../../src/notify/notifier.js';
import type { FifoHandle, NotifyFifoPort, RunAs, StartedProcess } from '../../../src/ports/index.js';
import type { ScriptUsers } from '../../../src/tracking/users.js';
import { FakeClock } from '../../fakes/clock.js';
import { FakeProcessRunner, flush } from '../../fakes/process.js';

function conf(text: string): KeepalivedConfig {
  const r = parseConfigText(text, 'test.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  return r.config;
}

const INSTANCE = (name: string, vrid: number, extra = '') => `vrrp_instance ${name} {\n    interface eth0\n    virtual_router_id ${vrid}\n    priority 100\n    virtual_ipaddress {\n        10.0.0.${vrid}\n    }\n${extra}}\n`;
const GLOBAL = (lines: string[]) => `global_defs {\n${lines.map((l) => `    ${l}\n`).join('')}}\n`;

class FakeFifo implements FifoHandle {
  readonly lines: string[] = [];
  /** How many more lines fit in the pipe (Infinity: a reader keeps up). */
  room = Infinity;
  closed = false;
  write(line: string): 'written' | 'again' | 'error' {
    if (this.closed) return 'error';
    if (this.room <= 0) return 'again';
    this.room--;
    this.lines.push(line);
    return 'written';
  }
  close(): void {
    this.closed = true;
  }
}

class FakePort implements NotifyFifoPort {
  readonly fifos = new Map<string, FakeFifo>();
  readonly opened: { path: string; owner: RunAs | undefined }[] = [];
  readonly started: { argv: readonly string[]; runAs: RunAs | undefined; exit: (code: number) => void }[] = [];
  open(path: string, owner: RunAs | undefined) {
    this.opened.push({ path, owner });
    const f = new FakeFifo();
    this.fifos.set(path, f);
    return { ok: true as const, handle: f, created: true };
  }
  start(argv: readonly string[], runAs: RunAs | undefined): StartedProcess {
    let exit!: (code: number) => void;
    const exited = new Promise<{ exitCode: number | null; signal: string | null }>((r) => (exit = (code) => r({ exitCode: code, signal: null })));
    this.started.push({ argv, runAs, exit });
    return { pid: 4242, exited };
  }
}

class StubRouter {
  state: VrrpState = 'init';
  effectivePriority = 100;
  constructor(readonly name: string) {}
  sourceAddress(): string {
    return '10.0.0.5';
  }
}

const USERS: ScriptUsers = {
  default: { uid: 900, gid: 900 },
  defaultFrom: 'keepalived_script',
  scripts: new Map(),
  accounts: new Map([
    ['nobody', { uid: 65534, gid: 65534 }],
    ['fifo:adm', { uid: 1001, gid: 4 }],
  ]),
};

function setup(text: string, opts: { users?: ScriptUsers; insecure?: string } = {}) {
  let config = conf(text);
  const clock = new FakeClock();
  const bus = new AgentBus();
  bus.onListenerError = (err) => {
    throw err;
  };
  const port = new FakePort();
  const processes = new FakeProcessRunner({ clock });
  if (opts.insecure) processes.setProblem(opts.insecure, 'insecure');
  const events: NotifyFifoEvent[] = [];
  bus.on('notify-fifo', (e) => events.push(e));
  bus.on('notify-fifo-line', (e) => events.push(e));
  const users = opts.users ?? USERS;
  const fifos = new NotifyFifos({ config: () => config, port, bus, clock, processes, users: () => users });
  const routers = config.instances.map((i) => new StubRouter(i.name));
  const notifier = new Notifier({ config: () => config, routers: () => routers as never, bus, clock, processes, runAs: () => users.default, accounts: () => users.accounts, fifos });
  fifos.sync();
  const transition = (instance: string, to: VrrpState, priority = 100) => {
    const r = routers.find((x) => x.name === instance)!;
    const e: StateChangedEvent = { type: 'state-changed', instance, vrid: 1, interface: 'eth0', family: 'ipv4', version: 2, from: r.state, to, cause: 'master-down-timer', atMs: clock.now(), wallMs: clock.wallNow(), startedAtMs: clock.now(), priority, basePriority: 100 };
    r.state = to;
    r.effectivePriority = priority;
    bus.emit(e);
  };
  const setConfig = (t: string) => (config = conf(t));
  return { clock, bus, port, processes, fifos, notifier, routers, events, transition, setConfig };
}

test("keepalived's line: TYPE \"NAME\" STATE PRIORITY", () => {
  assert.equal(fifoLine('INSTANCE', 'VI_1', 'MASTER', 100), 'INSTANCE "VI_1" MASTER 100\n');
  assert.equal(fifoLine('GROUP', 'G1', 'BACKUP', 0), 'GROUP "G1" BACKUP 0\n');
});

test('every transition reaches both FIFOs in order: instances with their priority, groups with 0; the reader gets the path last, as its user', async () => {
  const t = setup(
    GLOBAL(['notify_fifo /run/kw.fifo fifo adm', 'notify_fifo_script "/usr/bin/reader --tag kw" nobody', 'vrrp_notify_fifo /run/vrrp.fifo']) +
      INSTANCE('VI_1', 1) +
      INSTANCE('VI_2', 2) +
      'vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n}\n',
  );
  assert.deepEqual(t.port.opened, [
    { path: '/run/kw.fifo', owner: { uid: 1001, gid: 4 } },
    { path: '/run/vrrp.fifo', owner: { uid: 900, gid: 900 } },
  ]);
  assert.deepEqual(
    t.port.started.map((s) => [s.argv, s.runAs]),
    [[['/usr/bin/reader', '--tag', 'kw', '/run/kw.fifo'], { uid: 65534, gid: 65534 }]],
  );
  t.transition('VI_1', 'backup', 100);
  t.transition('VI_2', 'backup', 100);
  t.transition('VI_1', 'master', 110);
  t.transition('VI_2', 'master', 110);
  t.transition('VI_2', 'fault', 110);
  const expected = [
    'INSTANCE "VI_1" BACKUP 100\n',
    'GROUP "G1" BACKUP 0\n',
    'INSTANCE "VI_2" BACKUP 100\n',
    'INSTANCE "VI_1" MASTER 110\n',
    'INSTANCE "VI_2" MASTER 110\n',
    'GROUP "G1" MASTER 0\n',
    'INSTANCE "VI_2" FAULT 110\n',
    'GROUP "G1" FAULT 0\n',
  ];
  assert.deepEqual(t.port.fifos.get('/run/kw.fifo')!.lines, expected);
  assert.deepEqual(t.port.fifos.get('/run/vrrp.fifo')!.lines, expected);
  t.port.started[0]!.exit(0);
  await flush();
  assert.ok(t.events.some((e) => e.type === 'notify-fifo' && e.what === 'reader-exited' && e.detail === 'exit 0'));
});

test('a full pipe never blocks: lines wait (bounded, the oldest dropped and counted) and go out in order when the reader catches up', () => {
  const t = setup(GLOBAL(['notify_fifo /run/kw.fifo']) + INSTANCE('VI_1', 1));
  const fifo = t.port.fifos.get('/run/kw.fifo')!;
  fifo.room = 1;
  const n = FIFO_QUEUE_MAX_LINES + 10;
  for (let k = 0; k < n; k++) t.transition('VI_1', k % 2 === 0 ? 'master' : 'backup', k);
  assert.equal(fifo.lines.length, 1, 'one line fitted; the rest wait');
  assert.deepEqual(t.fifos.waiting(), [{ fifo: 'notify_fifo', lines: FIFO_QUEUE_MAX_LINES }]);
  const dropped = t.events.filter((e) => e.type === 'notify-fifo-line' && e.result === 'dropped');
  assert.equal(dropped.length, n - 1 - FIFO_QUEUE_MAX_LINES);
  fifo.room = Infinity;
  t.clock.advance(FIFO_RETRY_MS);
  assert.equal(fifo.lines.length, 1 + FIFO_QUEUE_MAX_LINES);
  assert.equal(fifo.lines.at(-1), `INSTANCE "VI_1" BACKUP ${n - 1}\n`, 'the latest state is the last line');
  const priorities = fifo.lines.map((l) => Number(l.trim().split(' ').at(-1)));
  assert.deepEqual(priorities, [...priorities].sort((a, b) => a - b), 'in order');
  assert.deepEqual(t.fifos.waiting(), [{ fifo: 'notify_fifo', lines: 0 }]);
});

test('notify_priority_changes (instance, group or global): MASTER_PRIORITY / BACKUP_PRIORITY lines', () => {
  const t = setup(GLOBAL(['notify_fifo /run/kw.fifo', 'vrrp_notify_priority_changes']) + INSTANCE('VI_1', 1) + INSTANCE('VI_2', 2, '    notify_priority_changes false\n'));
  t.transition('VI_1', 'master', 100);
  t.transition('VI_2', 'backup', 100);
  t.bus.emit({ type: 'priority-changed', instance: 'VI_1', vrid: 1, interface: 'eth0', family: 'ipv4', version: 2, from: 100, to: 90, basePriority: 100, atMs: 0 } as never);
  t.bus.emit({ type: 'priority-changed', instance: 'VI_2', vrid: 2, interface: 'eth0', family: 'ipv4', version: 2, from: 100, to: 90, basePriority: 100, atMs: 0 } as never);
  t.routers[0]!.state = 'backup';
  t.bus.emit({ type: 'priority-changed', instance: 'VI_1', vrid: 1, interface: 'eth0', family: 'ipv4', version: 2, from: 90, to: 80, basePriority: 100, atMs: 0 } as never);
  assert.deepEqual(t.port.fifos.get('/run/kw.fifo')!.lines, ['INSTANCE "VI_1" MASTER 100\n', 'INSTANCE "VI_2" BACKUP 100\n', 'INSTANCE "VI_1" MASTER_PRIORITY 90\n', 'INSTANCE "VI_1" BACKUP_PRIORITY 80\n']);
});

test('notify_master_rx_lower_pri: run and written when the master hears a lower priority (or an equal one from a lower address), at most once per advert interval', async () => {
  const t = setup(GLOBAL(['notify_fifo /run/kw.fifo']) + INSTANCE('VI_1', 1, '    notify_master_rx_lower_pri "/bin/reclaim now" nobody\n'));
  t.transition('VI_1', 'master', 100);
  const advert = (priority: number, atMs: number, state: VrrpState = 'master', source = '10.0.0.2') =>
    t.bus.emit({ type: 'advert-received', instance: 'VI_1', vrid: 1, interface: 'eth0', family: 'ipv4', version: 2, source, priority, advertIntervalMs: 1000, addressListMismatch: false, atMs, state } as never);
  advert(50, 0);
  advert(50, 400);
  advert(150, 500);
  advert(0, 600);
  advert(100, 700, 'master', '10.0.0.9');
  advert(100, 1000);
  advert(50, 1200, 'backup');
  await t.notifier.idle();
  assert.deepEqual(t.port.fifos.get('/run/kw.fifo')!.lines, ['INSTANCE "VI_1" MASTER 100\n', 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100\n', 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100\n']);
  assert.deepEqual(
    t.processes.runs.map((r) => [r.argv, r.opts.runAs]),
    [
      [['/bin/reclaim', 'now'], { uid: 65534, gid: 65534 }],
      [['/bin/reclaim', 'now'], { uid: 65534, gid: 65534 }],
    ],
  );
});

test('a reload that deletes an instance: DELETED with notify_deleted (and its command), FAULT without; a stop is STOP', async () => {
  const t = setup(GLOBAL(['notify_fifo /run/kw.fifo']) + INSTANCE('VI_1', 1, '    notify_deleted /bin/gone\n    notify /bin/all\n') + INSTANCE('VI_2', 2, '    notify_fault /bin/f\n') + INSTANCE('VI_3', 3, '    notify_stop /bin/s\n'));
  t.transition('VI_1', 'backup');
  t.transition('VI_2', 'backup');
  t.transition('VI_3', 'backup');
  t.notifier.deleting(['VI_1', 'VI_2']);
  t.transition('VI_1', 'init');
  t.transition('VI_2', 'init');
  t.transition('VI_3', 'init');
  await t.notifier.idle();
  assert.deepEqual(t.port.fifos.get('/run/kw.fifo')!.lines.slice(3), ['INSTANCE "VI_1" DELETED 100\n', 'INSTANCE "VI_2" FAULT 100\n', 'INSTANCE "VI_3" STOP 100\n']);
  // Each instance's scripts in order (instances run side by side).
  assert.deepEqual(
    t.processes.runs.map((r) => r.argv.join(' ')).filter((c) => c.includes('VI_1') || c === '/bin/gone'),
    ['/bin/all INSTANCE VI_1 BACKUP 100', '/bin/gone', '/bin/all INSTANCE VI_1 DELETED 100'],
  );
  assert.deepEqual(t.processes.runs.map((r) => r.argv.join(' ')).filter((c) => c === '/bin/f' || c === '/bin/s'), ['/bin/f', '/bin/s']);
});

test('enable_script_security: an unsafe FIFO reader is not started (the FIFO still gets its lines); a safe one is', () => {
  const text = GLOBAL(['enable_script_security', 'notify_fifo /run/kw.fifo', 'notify_fifo_script /tmp/reader.sh']) + INSTANCE('VI_1', 1);
  const safe = setup(text);
  assert.equal(safe.port.started.length, 1);
  const t = setup(text, { insecure: '/tmp/reader.sh' });
  assert.equal(t.port.started.length, 0);
  assert.ok(t.events.some((e) => e.type === 'notify-fifo' && e.what === 'reader-refused' && /insecure/.test(e.detail ?? '')));
  t.transition('VI_1', 'master', 100);
  assert.deepEqual(t.port.fifos.get('/run/kw.fifo')!.lines, ['INSTANCE "VI_1" MASTER 100\n']);
});

test('reload: an unchanged FIFO stays open (same reader), a changed one is reopened; fifo_write_vrrp_states_on_reload writes every state', () => {
  const t = setup(GLOBAL(['notify_fifo /run/a.fifo', 'vrrp_notify_fifo /run/b.fifo', 'fifo_write_vrrp_states_on_reload']) + INSTANCE('VI_1', 1) + INSTANCE('VI_2', 2));
  t.transition('VI_1', 'master', 120);
  t.transition('VI_2', 'backup', 100);
  const a = t.port.fifos.get('/run/a.fifo')!;
  const b = t.port.fifos.get('/run/b.fifo')!;
  t.setConfig(GLOBAL(['notify_fifo /run/a.fifo', 'vrrp_notify_fifo /run/c.fifo', 'fifo_write_vrrp_states_on_reload']) + INSTANCE('VI_1', 1) + INSTANCE('VI_2', 2));
  t.bus.emit({ type: 'reload', result: 'success', diagnostics: [], atMs: 0 });
  assert.equal(a.closed, false);
  assert.equal(b.closed, true);
  const c = t.port.fifos.get('/run/c.fifo')!;
  assert.deepEqual(a.lines, ['INSTANCE "VI_1" MASTER 120\n', 'INSTANCE "VI_2" BACKUP 100\n', 'INSTANCE "VI_1" MASTER 120\n', 'INSTANCE "VI_2" BACKUP 100\n']);
  assert.deepEqual(c.lines, ['INSTANCE "VI_1" MASTER 120\n', 'INSTANCE "VI_2" BACKUP 100\n']);
  t.fifos.close();
  assert.equal(a.closed, true);
});
