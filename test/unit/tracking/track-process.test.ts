/**
 * track_process (src/tracking/track-process.ts, wired in trackers.ts) on a fake process table and
 * the fake clock: keepalived's matching (comm; full_command with param_match none, exact, partial,
 * initial), quorum / quorum_max, fork_delay / terminate_delay (a change back within the delay
 * cancels it), weights (0 = FAULT while the quorum is lost, negative, positive, reverse), sync
 * groups, the reload hand-over, and the scan cadence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import type { KeepalivedConfig, TrackProcessConfig } from '../../../src/config/model.js';
import { AgentBus, type TrackEvent } from '../../../src/events/index.js';
import type { ProcessEntry, ProcessTable } from '../../../src/ports/index.js';
import { TrackerSet } from '../../../src/tracking/trackers.js';
import { ProcessQuorum, TRACK_PROCESS_POLL_MS, countMatches, matchesProcess, paramsMatch } from '../../../src/tracking/track-process.js';
import { FakeClock } from '../../fakes/clock.js';
import { TrackedRouter } from '../../fakes/tracked-router.js';
import { FakeProcessRunner, flush } from '../../fakes/process.js';

function conf(text: string): KeepalivedConfig {
  const r = parseConfigText(text, 'test.conf');
  assert.ok(r.config, r.diagnostics.map((d) => `${d.location.line}: ${d.message}`).join('\n'));
  return r.config;
}

const INSTANCE = (name: string, vrid: number, track: string) =>
  `vrrp_instance ${name} {\n    interface eth0\n    virtual_router_id ${vrid}\n    priority 100\n    virtual_ipaddress {\n        10.0.0.${vrid}\n    }\n${track}}\n`;
const TRACK = (ref: string) => `    track_process {\n        ${ref}\n    }\n`;
const PROC = (name: string, body: string[]) => `vrrp_track_process ${name} {\n${body.map((l) => `    ${l}\n`).join('')}}\n`;

/** A process table the test edits between scans. */
class FakeTable implements ProcessTable {
  processes: ProcessEntry[] = [];
  scans = 0;
  argvAsked: boolean[] = [];
  private nextPid = 100;
  async scan(opts: { readonly argv: boolean }) {
    this.scans++;
    this.argvAsked.push(opts.argv);
    return { processes: this.processes.map((p) => (opts.argv ? p : { pid: p.pid, comm: p.comm })), truncated: false };
  }
  start(comm: string, argv: string[] = [comm]): number {
    const pid = this.nextPid++;
    this.processes.push({ pid, comm, argv });
    return pid;
  }
  kill(pid: number): void {
    this.processes = this.processes.filter((p) => p.pid !== pid);
  }
}


function setup(config: KeepalivedConfig, table = new FakeTable()) {
  const clock = new FakeClock();
  const bus = new AgentBus();
  bus.onListenerError = (err) => {
    throw err;
  };
  const events: TrackEvent[] = [];
  for (const type of ['track-process', 'track-weight'] as const) bus.on(type, (e) => events.push(e));
  const routers = config.instances.map((i) => new TrackedRouter(i));
  const make = () => new TrackerSet({ config, routers: () => routers as never, linkUp: () => true, bus, clock, processes: new FakeProcessRunner({ clock }), processTable: table });
  const advance = async (ms: number, stepMs = 50) => {
    for (let done = 0; done < ms; done += stepMs) {
      clock.advance(Math.min(stepMs, ms - done));
      await flush();
    }
  };
  return { clock, bus, events, routers, router: routers[0]!, table, make, advance };
}

const cfgOf = (over: Partial<TrackProcessConfig>): TrackProcessConfig => ({
  name: 'p',
  location: { file: 't', line: 1, column: 1 },
  process: 'nginx',
  params: [],
  paramMatch: 'none',
  fullCommand: false,
  weight: 0,
  weightReverse: false,
  quorum: 1,
  quorumMax: Number.MAX_SAFE_INTEGER,
  forkDelayMs: 0,
  terminateDelayMs: 0,
  ...over,
});

test('matching: comm without full_command; argv[0] and the parameters with it, as keepalived check_params', () => {
  const nginx: ProcessEntry = { pid: 1, comm: 'nginx', argv: ['/usr/sbin/nginx', '-g', 'daemon off;'] };
  assert.equal(matchesProcess(cfgOf({}), nginx), true, 'comm');
  assert.equal(matchesProcess(cfgOf({ process: '/usr/sbin/nginx' }), nginx), false, 'a path never equals a comm');
  assert.equal(matchesProcess(cfgOf({ process: '/usr/sbin/nginx', fullCommand: true }), nginx), true, 'full_command: argv[0]');
  assert.equal(matchesProcess(cfgOf({ process: 'nginx', fullCommand: true }), nginx), false, 'full_command: argv[0] exactly, not its basename');
  assert.equal(matchesProcess(cfgOf({ process: '/usr/sbin/nginx', fullCommand: true }), { pid: 2, comm: 'kworker/0:1', argv: [] }), false, 'a kernel thread has no argv');

  const args = ['-g', 'daemon off;'];
  assert.equal(paramsMatch({ params: ['-g', 'daemon off;'], paramMatch: 'exact' }, args), true);
  assert.equal(paramsMatch({ params: ['-g'], paramMatch: 'exact' }, args), false, 'exact: no more parameters');
  assert.equal(paramsMatch({ params: [], paramMatch: 'exact' }, args), false, '`param_match` alone: a process without parameters');
  assert.equal(paramsMatch({ params: [], paramMatch: 'exact' }, []), true);
  assert.equal(paramsMatch({ params: ['-g'], paramMatch: 'partial' }, args), true, 'partial: these first');
  assert.equal(paramsMatch({ params: ['-g', 'daemon'], paramMatch: 'partial' }, args), false, 'partial: whole words');
  assert.equal(paramsMatch({ params: ['-g', 'daemon'], paramMatch: 'initial' }, args), true, 'initial: the last may be the start');
  assert.equal(paramsMatch({ params: ['-x', 'daemon'], paramMatch: 'initial' }, args), false);
  assert.equal(paramsMatch({ params: ['-g', 'daemon off;', 'x'], paramMatch: 'initial' }, args), false, 'more parameters than the process has');
  assert.equal(paramsMatch({ params: ['whatever'], paramMatch: 'none' }, []), true);

  const all: ProcessEntry[] = [nginx, { pid: 3, comm: 'nginx', argv: ['nginx: worker process'] }, { pid: 4, comm: 'sshd', argv: ['sshd'] }];
  assert.equal(countMatches(cfgOf({}), all), 2);
});

test('the config: parameters imply full_command and an exact match; delay sets both delays; quorum_max 0', () => {
  const c = conf(
    PROC('a', ['process /usr/sbin/nginx -g "daemon off;"']) +
      PROC('b', ['process nginx', 'param_match initial', 'delay 2', 'terminate_delay 0.5', 'quorum 2', 'quorum_max 4', 'weight -20 reverse']) +
      PROC('c', ['process nginx', 'quorum_max 0']) +
      INSTANCE('VI_1', 1, TRACK('a') + TRACK('b') + TRACK('c')),
  );
  const [a, b, cc] = c.trackProcesses;
  assert.deepEqual([a!.process, a!.params, a!.paramMatch, a!.fullCommand, a!.weight], ['/usr/sbin/nginx', ['-g', 'daemon off;'], 'exact', true, 0]);
  assert.deepEqual([b!.paramMatch, b!.fullCommand, b!.forkDelayMs, b!.terminateDelayMs, b!.quorum, b!.quorumMax, b!.weight, b!.weightReverse], ['initial', true, 2000, 500, 2, 4, -20, true]);
  assert.deepEqual([cc!.quorum, cc!.quorumMax], [0, 0]);
  const bad = parseConfigText(PROC('d', ['process x', 'quorum 3', 'quorum_max 2']) + INSTANCE('VI_1', 1, TRACK('d')), 't.conf');
  assert.equal(bad.config, undefined);
  assert.match(bad.diagnostics.map((d) => d.message).join('\n'), /quorum 3 is above quorum_max 2/);
  const typo = parseConfigText(PROC('nginx_up', ['process nginx']) + INSTANCE('VI_1', 1, TRACK('ngnix_up')), 't.conf');
  assert.equal(typo.config, undefined);
  assert.match(typo.diagnostics.map((d) => d.message).join('\n'), /track_process 'ngnix_up' refers to an undefined vrrp_track_process/);
});

test('quorum with delays: a change counts after fork_delay / terminate_delay; a change back within it cancels it', () => {
  const clock = new FakeClock();
  const changes: [boolean, number][] = [];
  const q = new ProcessQuorum(cfgOf({ quorum: 2, quorumMax: 3, forkDelayMs: 1000, terminateDelayMs: 300 }), clock, (up, n) => changes.push([up, n]));
  q.update(2);
  assert.deepEqual(changes, [[true, 2]], 'the first count counts at once');
  q.update(1);
  clock.advance(299);
  assert.equal(q.up, true, 'still within terminate_delay');
  q.update(2);
  clock.advance(1000);
  assert.deepEqual(changes, [[true, 2]], 'back within the delay: nothing happened');
  q.update(4);
  clock.advance(300);
  assert.deepEqual(changes.at(-1), [false, 4], 'above quorum_max: lost after terminate_delay');
  q.update(3);
  clock.advance(999);
  assert.equal(q.up, false);
  clock.advance(1);
  assert.deepEqual(changes.at(-1), [true, 3], 'gained after fork_delay');
  const zero = new ProcessQuorum(cfgOf({ quorum: 0, quorumMax: 0 }), clock, () => undefined);
  zero.update(0);
  assert.equal(zero.up, true, 'quorum_max 0: up while none runs');
  zero.update(1);
  assert.equal(zero.up, false);
});

test('weight 0: FAULT while the quorum is lost, cleared when the process is back; scans every 500 ms, comm only', async () => {
  const t = setup(conf(PROC('nginx_up', ['process nginx']) + INSTANCE('VI_1', 1, TRACK('nginx_up'))));
  const pid = t.table.start('nginx');
  const trackers = t.make();
  trackers.start();
  await t.advance(50);
  assert.equal(t.router.faults.size, 0);
  assert.equal(t.table.scans, 1);
  t.table.kill(pid);
  await t.advance(TRACK_PROCESS_POLL_MS);
  assert.equal(t.table.scans, 2);
  assert.match(t.router.faults.get('track:process:nginx_up') ?? '', /track_process nginx_up: 0 running, quorum 1/);
  t.table.start('nginx');
  await t.advance(TRACK_PROCESS_POLL_MS);
  assert.equal(t.router.faults.size, 0);
  assert.deepEqual(
    t.events.filter((e) => e.type === 'track-process').map((e) => [e.count, e.up]),
    [
      [1, true],
      [0, false],
      [1, true],
    ],
  );
  assert.ok(t.table.argvAsked.every((a) => a === false), 'command lines are read only for full_command');
  trackers.stop();
  const scans = t.table.scans;
  await t.advance(2000);
  assert.equal(t.table.scans, scans, 'stopped: no more scans');
});

test('weights: negative while lost, positive while held, reverse swaps; the reference overrides the block; terminate_delay holds the weight', async () => {
  const t = setup(
    conf(
      PROC('down', ['process nginx', 'weight -30', 'terminate_delay 1']) +
        PROC('up', ['process sshd', 'weight 10']) +
        PROC('rev', ['process backupd', 'weight 5 reverse']) +
        INSTANCE('VI_1', 1, TRACK('down') + TRACK('up') + TRACK('rev weight 7')),
    ),
  );
  const nginx = t.table.start('nginx');
  t.table.start('sshd');
  const trackers = t.make();
  trackers.start();
  await t.advance(50);
  // down held: 0; up held: +10; rev: backupd absent -> with reverse "good" -> +7.
  assert.equal(t.router.offset, 17);
  t.table.kill(nginx);
  await t.advance(TRACK_PROCESS_POLL_MS);
  assert.equal(t.router.offset, 17, 'terminate_delay: not lost yet');
  await t.advance(1000);
  assert.equal(t.router.offset, -13);
  t.table.start('backupd');
  await t.advance(TRACK_PROCESS_POLL_MS);
  assert.equal(t.router.offset, -20, 'backupd running: reverse makes it "failing"');
  assert.equal(t.router.faults.size, 0, 'weighted trackers never FAULT');
  trackers.stop();
});

test("sync groups: the group's track_process applies to every member; a member's weighted one is kept, as keepalived 2.2.7 keeps it, with a warning", async () => {
  const base = PROC('p', ['process nginx', 'weight -10']) + PROC('q', ['process sshd']);
  const group = `vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n    track_process {\n        q\n    }\n}\n`;
  const r = parseConfigText(base + INSTANCE('VI_1', 1, TRACK('p')) + INSTANCE('VI_2', 2, '') + group, 't.conf');
  assert.ok(r.config);
  assert.deepEqual(r.config.instances[0]!.trackProcesses?.map((x) => x.name), ['p']);
  assert.ok(r.diagnostics.some((d) => d.severity === 'warning' && /track_process p \(weight -10\) changes this member's priority alone/.test(d.message)));
  const t = setup(r.config);
  t.table.start('nginx');
  const trackers = t.make();
  trackers.start();
  await t.advance(50);
  assert.deepEqual(
    t.routers.map((x) => [x.offset, [...x.faults.keys()]]),
    [
      [0, ['track:process:q']],
      [0, ['track:process:q']],
    ],
    "no sshd: q (weight 0, the group's) faults both members; nginx runs: p adds nothing",
  );
  t.table.processes = t.table.processes.filter((p) => p.comm !== 'nginx');
  t.table.start('sshd');
  await t.advance(TRACK_PROCESS_POLL_MS);
  assert.deepEqual(
    t.routers.map((x) => [x.offset, [...x.faults.keys()]]),
    [
      [-10, []],
      [0, []],
    ],
  );
  trackers.stop();
});

test('full_command: command lines are read, and a reload with the same block keeps the state (no delay, no flap)', async () => {
  const c = conf(PROC('web', ['process /usr/bin/node server.js', 'fork_delay 5']) + INSTANCE('VI_1', 1, TRACK('web')));
  const t = setup(c);
  t.table.start('node', ['/usr/bin/node', 'server.js']);
  t.table.start('node', ['/usr/bin/node', 'other.js']);
  const first = t.make();
  first.start();
  await t.advance(50);
  assert.deepEqual(first.allProcesses(), [{ name: 'web', count: 1, up: true }]);
  assert.ok(t.table.argvAsked.every((a) => a === true));
  first.stop();
  const second = t.make();
  second.adopt(first);
  assert.deepEqual(second.allProcesses(), [{ name: 'web', count: 1, up: true }]);
  second.start();
  await t.advance(50);
  assert.equal(t.router.faults.size, 0);
  second.stop();
});
