/**
 * TrackerSet (src/tracking/trackers.ts) on the fake clock and the fake ProcessRunner: the interval
 * (first run at once, then every `interval`), `rise`/`fall`, a run killed at its `timeout`,
 * `init_fail`, weights (negative, positive, 0 = FAULT) and `reverse`, never two runs of one
 * script at once, scripts that fail their checks are never run, who they run as, and track_file
 * polling (value x weight, -254 or less = FAULT, one read a second after the last one ended).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import type { KeepalivedConfig } from '../../../src/config/model.js';
import { AgentBus, type ScriptStatus, type TrackEvent } from '../../../src/events/index.js';
import { TrackerSet, TRACK_FILE_POLL_MS } from '../../../src/tracking/trackers.js';
import type { TrackFileRead } from '../../../src/tracking/track-file.js';
import type { ScriptUsers } from '../../../src/tracking/users.js';
import { FakeClock } from '../../fakes/clock.js';
import { TrackedRouter } from '../../fakes/tracked-router.js';
import { FakeProcessRunner, flush } from '../../fakes/process.js';

const CHK = '/etc/keepalived/chk.sh';

function conf(text: string): KeepalivedConfig {
  const r = parseConfigText(text, 'test.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  return r.config;
}

/** One vrrp_script `chk` (body lines given) tracked by VI_1 (track_script line given). */
function scriptConf(body: string[], track = 'chk', extra = ''): KeepalivedConfig {
  return conf(`${extra}vrrp_script chk {\n    script "${CHK} --probe"\n${body.map((l) => `    ${l}\n`).join('')}}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n    track_script {\n        ${track}\n    }\n}\n`);
}

/** What the tracker hands a router: its offset and its tracker faults. */

function setup(config: KeepalivedConfig, opts: { linkUp?: (iface: string) => boolean | undefined; users?: ScriptUsers; readTrackFile?: (path: string) => Promise<TrackFileRead> } = {}) {
  const clock = new FakeClock();
  const processes = new FakeProcessRunner({ clock });
  const bus = new AgentBus();
  bus.onListenerError = (err) => {
    throw err;
  };
  const events: TrackEvent[] = [];
  for (const type of ['script-result', 'script-status', 'track-weight', 'track-file-read'] as const) bus.on(type, (e) => events.push(e));
  const routers = config.instances.map((i) => new TrackedRouter(i));
  const make = () =>
    new TrackerSet({
      config,
      routers: () => routers as never,
      linkUp: opts.linkUp ?? (() => true),
      bus,
      clock,
      processes,
      ...(opts.users ? { users: opts.users } : {}),
      ...(opts.readTrackFile ? { readTrackFile: opts.readTrackFile } : {}),
    });
  /** Moves the fake clock in small steps, letting run outcomes reach the tracker after each. */
  const advance = async (ms: number, stepMs = 50) => {
    for (let done = 0; done < ms; done += stepMs) {
      clock.advance(Math.min(stepMs, ms - done));
      await flush();
    }
  };
  const statuses = () => events.filter((e): e is Extract<TrackEvent, { type: 'script-status' }> => e.type === 'script-status').map((e) => e.status);
  return { clock, processes, bus, events, routers, router: routers[0]!, make, advance, statuses };
}

test('the first run is at once, then one every interval, with the split argv and the timeout', async () => {
  const t = setup(scriptConf(['interval 2', 'timeout 1']));
  const set = t.make();
  set.start();
  await t.advance(0 + 1);
  assert.equal(t.processes.runs.length, 1);
  assert.deepEqual(t.processes.runs[0]!.argv, [CHK, '--probe']);
  assert.equal(t.processes.runs[0]!.opts.timeoutMs, 1000);
  assert.equal(t.processes.runs[0]!.opts.runAs, undefined, 'no users given: as this process');
  await t.advance(1998);
  assert.equal(t.processes.runs.length, 1, 'nothing before the interval');
  await t.advance(1);
  assert.equal(t.processes.runs.length, 2, 'the second run at 2000 ms');
  await t.advance(8000);
  assert.deepEqual(
    t.processes.runs.map((r) => r.startedAtMs),
    [0, 2000, 4000, 6000, 8000, 10000],
  );
  set.stop();
  await t.advance(10_000);
  assert.equal(t.processes.runs.length, 6, 'stop() ends the interval');
});

test('rise and fall: good after `rise` successes, failed after `fall` failures; a negative weight counts while failed', async () => {
  const t = setup(scriptConf(['interval 1', 'rise 2', 'fall 3', 'weight -20']));
  t.processes.script(CHK, 'ok', 'ok', 'fail', 'fail', 'fail', 'ok', 'ok');
  const set = t.make();
  set.start();
  assert.equal(set.scriptStatus('chk'), 'init');
  assert.equal(t.router.offset, 0, 'init weighs nothing');
  const seen: ScriptStatus[] = [];
  for (let i = 0; i < 7; i++) {
    await t.advance(i === 0 ? 1 : 1000);
    seen.push(set.scriptStatus('chk')!);
  }
  assert.deepEqual(seen, ['init', 'good', 'good', 'good', 'failed', 'failed', 'good']);
  assert.deepEqual(t.statuses(), ['init', 'good', 'failed', 'good']);
  assert.deepEqual(t.router.offsets.filter((o, i, a) => i === 0 || o !== a[i - 1]), [0, -20, 0]);
  const last = t.events.filter((e) => e.type === 'script-status').at(-1);
  assert.deepEqual(last, { type: 'script-status', script: 'chk', status: 'good', detail: 'ok (exit 0)' });
  set.stop();
});

test('a run that hangs is ended at its timeout (on the clock) and counts as a failure; weight 0 means FAULT', async () => {
  const t = setup(scriptConf(['interval 5', 'timeout 2', 'fall 1']));
  t.processes.script(CHK, 'hang');
  const set = t.make();
  set.start();
  await t.advance(1999);
  assert.equal(set.scriptStatus('chk'), 'init', 'still running');
  assert.equal(t.router.faults.size, 0);
  await t.advance(1);
  const result = t.events.find((e) => e.type === 'script-result');
  assert.deepEqual(result, { type: 'script-result', script: 'chk', result: 'timeout', durationMs: 2000, exitCode: null });
  assert.equal(set.scriptStatus('chk'), 'failed');
  assert.deepEqual([...t.router.faults], [['track:script:chk', 'vrrp_script chk failing']]);
  // The next run succeeds: the fault is released.
  await t.advance(3000);
  assert.equal(set.scriptStatus('chk'), 'good');
  assert.equal(t.router.faults.size, 0);
  set.stop();
});

test('init_fail: failed before the first run (the weight or FAULT applies at once), good after it succeeds', async () => {
  const weighted = setup(scriptConf(['interval 1', 'weight -30', 'init_fail']));
  const set = weighted.make();
  set.start();
  assert.equal(set.scriptStatus('chk'), 'failed');
  assert.equal(weighted.router.offset, -30, 'before any run');
  await weighted.advance(1);
  assert.equal(set.scriptStatus('chk'), 'good');
  assert.equal(weighted.router.offset, 0);
  set.stop();

  const faulting = setup(scriptConf(['interval 1', 'init_fail']));
  const set2 = faulting.make();
  set2.start();
  assert.deepEqual([...faulting.router.faults.keys()], ['track:script:chk']);
  set2.stop();
});

test("weights: positive while good, negative while failing, `reverse` swaps them; the instance's own weight wins", async () => {
  const cases: { body: string[]; track: string; good: number; failed: number }[] = [
    { body: ['weight 10'], track: 'chk', good: 10, failed: 0 },
    { body: ['weight -10'], track: 'chk', good: 0, failed: -10 },
    { body: ['weight 10 reverse'], track: 'chk', good: 0, failed: 10 },
    { body: ['weight -10 reverse'], track: 'chk', good: -10, failed: 0 },
    { body: ['weight 10'], track: 'chk weight -25', good: 0, failed: -25 },
    { body: ['weight -10'], track: 'chk weight 5 reverse', good: 0, failed: 5 },
  ];
  for (const c of cases) {
    const t = setup(scriptConf(['interval 1', ...c.body], c.track));
    t.processes.script(CHK, 'ok', 'fail');
    const set = t.make();
    set.start();
    await t.advance(1);
    assert.equal(set.scriptStatus('chk'), 'good');
    assert.equal(t.router.offset, c.good, `${c.body} / ${c.track}: good`);
    await t.advance(1000);
    assert.equal(set.scriptStatus('chk'), 'failed');
    assert.equal(t.router.offset, c.failed, `${c.body} / ${c.track}: failed`);
    assert.equal(t.router.faults.size, 0, 'a weighted script never faults');
    const weights = t.events.filter((e) => e.type === 'track-weight').map((e) => (e as { weight: number }).weight);
    assert.deepEqual(weights, [0, c.good, c.failed].filter((w, i, a) => i === 0 || w !== a[i - 1]), 'track-weight only when it changes');
    set.stop();
  }
});

test('weight 0 with reverse: FAULT while the script succeeds', async () => {
  const t = setup(scriptConf(['interval 1'], 'chk weight 0 reverse'));
  t.processes.script(CHK, 'ok', 'fail');
  const set = t.make();
  set.start();
  await t.advance(1);
  assert.deepEqual([...t.router.faults.keys()], ['track:script:chk']);
  await t.advance(1000);
  assert.equal(t.router.faults.size, 0);
  set.stop();
});

test('never two runs of one script at once: a run still going at the next interval is skipped', async () => {
  const t = setup(scriptConf(['interval 1', 'timeout 10']));
  t.processes.script(CHK, 'hang');
  const set = t.make();
  set.start();
  await t.advance(4500);
  assert.equal(t.processes.runs.length, 1, 'four intervals passed, one run');
  assert.equal(t.processes.peakConcurrent(CHK), 1);
  t.processes.runs[0]!.release('ok');
  await t.advance(1);
  await t.advance(500);
  assert.equal(t.processes.runs.length, 2, 'the next interval runs it again');
  assert.deepEqual(t.processes.runs.map((r) => r.startedAtMs), [0, 5000]);
  assert.equal(t.processes.peakConcurrent(CHK), 1);
  set.stop();
});

test('a result that comes after stop() changes nothing and emits nothing', async () => {
  const t = setup(scriptConf(['interval 1', 'timeout 10', 'weight -5']));
  t.processes.script(CHK, 'hang');
  const set = t.make();
  set.start();
  await t.advance(10);
  set.stop();
  const before = t.events.length;
  t.processes.runs[0]!.release('fail');
  await flush();
  assert.equal(t.events.length, before);
  assert.equal(set.scriptStatus('chk'), 'init');
});

test('a script that fails its checks is disabled: never run, never weighed, and the reason is said once', async () => {
  for (const [kind, security] of [['missing', false], ['not-executable', false], ['insecure', true]] as const) {
    const t = setup(scriptConf(['interval 1', 'weight -50'], 'chk', security ? 'global_defs {\n    enable_script_security\n}\n' : ''));
    t.processes.setProblem(CHK, kind);
    const set = t.make();
    assert.deepEqual(t.processes.checked, [{ exe: CHK, scriptSecurity: security }]);
    set.start();
    await t.advance(3000);
    assert.equal(t.processes.runs.length, 0, `${kind}: not run`);
    assert.equal(set.scriptStatus('chk'), 'disabled');
    assert.deepEqual(t.statuses(), ['disabled']);
    assert.equal(t.router.offset, 0);
    assert.equal(t.router.faults.size, 0);
  }
  // 'insecure' matters only under enable_script_security.
  const t = setup(scriptConf(['interval 1']));
  t.processes.setProblem(CHK, 'insecure');
  const set = t.make();
  set.start();
  await t.advance(1);
  assert.equal(t.processes.runs.length, 1);
  set.stop();
});

test('unused scripts are not checked or run', async () => {
  const text = `vrrp_script unused {\n    script "/bin/unused"\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n}\n`;
  const t = setup(conf(text));
  const set = t.make();
  set.start();
  await t.advance(2000);
  assert.deepEqual(t.processes.checked, []);
  assert.deepEqual(t.processes.runs, []);
  assert.deepEqual(set.allScripts(), []);
});

test("scripts run as their own `user`, the others as the default", async () => {
  const text = `vrrp_script own {\n    script "/bin/own"\n    user nobody\n}\nvrrp_script other {\n    script "/bin/other"\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n    track_script {\n        own\n        other\n    }\n}\n`;
  const users: ScriptUsers = { default: { uid: 998, gid: 997 }, defaultFrom: 'keepalived_script', scripts: new Map([['own', { uid: 65534, gid: 65534 }]]) };
  const t = setup(conf(text), { users });
  const set = t.make();
  set.start();
  await t.advance(1);
  assert.deepEqual(t.processes.runsOf('/bin/own')[0]!.opts.runAs, { uid: 65534, gid: 65534 });
  assert.deepEqual(t.processes.runsOf('/bin/other')[0]!.opts.runAs, { uid: 998, gid: 997 });
  set.stop();
});

test('track_interface: weight 0 means FAULT while down; a weight counts; onLinkChange recomputes', () => {
  const text = `vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n    track_interface {\n        eth1\n        eth2 weight -15\n    }\n}\n`;
  const links = new Map([['eth1', true], ['eth2', true]]);
  const t = setup(conf(text), { linkUp: (i) => links.get(i) });
  const set = t.make();
  set.start();
  assert.equal(t.router.faults.size, 0);
  assert.equal(t.router.offset, 0);
  links.set('eth1', false);
  links.set('eth2', false);
  set.onLinkChange();
  assert.deepEqual([...t.router.faults], [['track:interface:eth1', 'tracked interface eth1 down']]);
  assert.equal(t.router.offset, -15);
  links.set('eth1', true);
  set.onLinkChange();
  assert.equal(t.router.faults.size, 0);
  set.stop();
});

test('track_file: read at once, then a second after each read ends; value x weight; -254 or less is FAULT; refusals count as 0', async () => {
  const text = `vrrp_track_file maint {\n    file "/run/maint"\n    weight -2\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n    track_file {\n        maint\n    }\n}\n`;
  const answers: TrackFileRead[] = [
    { ok: true, value: 0 },
    { ok: true, value: 10 },
    { ok: true, value: 127 },
    { ok: false, problem: 'not-regular', detail: '/run/maint is not a regular file (a FIFO); not opened' },
  ];
  const reads: { path: string; atMs: number }[] = [];
  let release: (() => void) | undefined;
  const t = setup(conf(text), {
    readTrackFile: async (path) => {
      reads.push({ path, atMs: t.clock.now() });
      // The third read is slow: the next poll waits for it.
      if (reads.length === 3) await new Promise<void>((r) => (release = r));
      return answers[Math.min(reads.length - 1, answers.length - 1)]!;
    },
  });
  const set = t.make();
  set.start();
  await flush();
  assert.deepEqual(reads, [{ path: '/run/maint', atMs: 0 }]);
  assert.equal(t.router.offset, 0);
  await t.advance(TRACK_FILE_POLL_MS);
  assert.equal(t.router.offset, -20, '10 x -2');
  await t.advance(TRACK_FILE_POLL_MS);
  assert.equal(reads.length, 3);
  await t.advance(5000);
  assert.equal(reads.length, 3, 'no second read while one is going');
  assert.equal(t.clock.now(), 7000);
  release!();
  await flush();
  assert.equal(t.router.offset, -254);
  assert.deepEqual([...t.router.faults.keys()], ['track:file:maint'], '127 x -2 = -254: FAULT');
  await t.advance(TRACK_FILE_POLL_MS);
  assert.equal(reads.at(-1)!.atMs, 8000, 'a second after the slow read ended (at 7000)');
  assert.equal(t.router.offset, 0, 'a refused file counts as 0');
  assert.equal(t.router.faults.size, 0);
  const fileReads = t.events.filter((e): e is Extract<TrackEvent, { type: 'track-file-read' }> => e.type === 'track-file-read');
  assert.deepEqual(
    fileReads.map((e) => [e.result, e.previous, e.value]),
    [
      ['ok', undefined, 0],
      ['ok', 'ok', 10],
      ['ok', 'ok', 127],
      ['not-regular', 'ok', 0],
    ],
  );
  assert.equal(fileReads[3]!.detail, answers[3]!.ok ? undefined : answers[3]!.detail);
  assert.equal(fileReads[0]!.tracker, 'file:maint');
  set.stop();
  await t.advance(5000);
  assert.equal(reads.length, 4, 'no read after stop()');
});

test('a reload keeps the state of unchanged scripts and files (adopt)', async () => {
  const config = scriptConf(['interval 1', 'weight -20', 'fall 1']);
  const t = setup(config);
  t.processes.script(CHK, 'fail');
  const first = t.make();
  first.start();
  await t.advance(1);
  assert.equal(first.scriptStatus('chk'), 'failed');
  first.stop();
  const second = t.make();
  second.adopt(first);
  assert.equal(second.scriptStatus('chk'), 'failed');
  second.start();
  assert.equal(t.router.offset, -20, 'still failing after the reload, before any run');
  second.stop();
});
