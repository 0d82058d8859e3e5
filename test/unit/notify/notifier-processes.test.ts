/**
 * Notify scripts (src/notify/notifier.ts) with real short processes: keepalived's arguments and
 * order; at most one run and one waiting per instance while a script hangs (50 transitions: the
 * last state is what runs next, the others are counted as coalesced); enable_script_security
 * disables an unsafe notify script; the user it runs as follows the current setting.
 */
import { AgentBus } from '../../../src/events/index.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../../src/config/index.js';
import type { KeepalivedConfig } from '../../../src/config/model.js';
import { EventBus, type VrrpEvent, type StateChangedEvent, type VrrpState } from '../../../src/events/index.js';
import { Notifier, NOTIFY_RESULTS, type NotifyRunEvent } from '../../../src/notify/notifier.js';
import { RUN_RESULTS } from '../../../src/tracking/run.js';
import { SystemClock } from '../../../src/adapters/clock.js';
import { SystemProcessRunner } from '../../../src/adapters/process.js';

/** This host's clock and processes: these tests run real scripts. */
const host = { clock: new SystemClock(), processes: new SystemProcessRunner() };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function instanceConf(notify: string[], global: string[] = []): KeepalivedConfig {
  const text = `global_defs {\n${global.map((g) => `    ${g}\n`).join('')}}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n${notify.map((n) => `    ${n}\n`).join('')}}\n`;
  const r = parseConfigText(text, 'test.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  return r.config;
}

let wall = 1_000_000;
function transition(core: AgentBus, from: VrrpState, to: VrrpState): void {
  const e: StateChangedEvent = { type: 'state-changed', instance: 'VI_1', vrid: 51, interface: 'eth0', family: 'ipv4', version: 2, from, to, cause: 'master-down-timer', atMs: wall, wallMs: wall++, startedAtMs: wall, priority: 100, basePriority: 100 };
  core.emit(e);
}

function setup(config: KeepalivedConfig, timeoutMs = 10_000) {
  const core = new AgentBus();
  const events = core;
  const runs: NotifyRunEvent[] = [];
  events.on('notify-run', (e) => runs.push(e));
  const notifier = new Notifier({ config: () => config, routers: () => [], bus: core, ...host, timeoutMs });
  return { core, events, runs, notifier };
}

/** Scripts live in a fresh temporary directory (security checks are off unless a test sets them). */
function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'kw-notify-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('the result label values: run results plus coalesced and disabled', () => {
  assert.deepEqual([...NOTIFY_RESULTS], [...RUN_RESULTS, 'coalesced', 'disabled']);
});

test("keepalived's arguments and order: the specific script, then notify with INSTANCE name state priority", async () => {
  await withDir(async (dir) => {
    const log = join(dir, 'log');
    const script = join(dir, 'n.sh');
    writeFileSync(script, `#!/bin/sh\necho "$*" >> ${log}\n`, { mode: 0o755 });
    const { core, notifier } = setup(instanceConf([`notify_master "${script} specific-master"`, `notify ${script}`]));
    transition(core, 'backup', 'master');
    await notifier.idle();
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['specific-master', 'INSTANCE VI_1 MASTER 100']);
  });
});

test('a hanging notify under 50 transitions: at most 1 running + 1 waiting; the last state runs next; the rest coalesced', async () => {
  await withDir(async (dir) => {
    const log = join(dir, 'log');
    const script = join(dir, 'n.sh');
    // The first run hangs until its timeout; later runs return at once.
    writeFileSync(script, `#!/bin/sh\necho "$3" >> ${log}\nif [ ! -e ${dir}/hung ]; then : > ${dir}/hung; sleep 30; fi\n`, { mode: 0o755 });
    const { core, runs, notifier } = setup(instanceConf([`notify ${script}`]), 1500);
    transition(core, 'init', 'backup');
    await sleep(100);
    const states: VrrpState[] = ['master', 'backup', 'fault'];
    let maxQueued = 0;
    let last: VrrpState = 'backup';
    for (let i = 0; i < 50; i++) {
      const to = states[i % 3]!;
      transition(core, last, to);
      last = to;
      const q = notifier.queued();
      assert.equal(q.length, 1);
      maxQueued = Math.max(maxQueued, 1 + (q[0]!.pending ? 1 : 0));
    }
    assert.equal(maxQueued, 2, 'one running, one waiting');
    assert.deepEqual(notifier.queued(), [{ key: 'i:VI_1', running: 'BACKUP', pending: last.toUpperCase() }]);
    assert.equal(runs.filter((r) => r.result === 'coalesced').length, 49, 'every replaced transition is counted');
    await notifier.idle();
    const ran = runs.filter((r) => r.result !== 'coalesced');
    assert.deepEqual(
      ran.map((r) => [r.state, r.result]),
      [
        ['BACKUP', 'timeout'],
        [last.toUpperCase(), 'ok'],
      ],
    );
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['BACKUP', last.toUpperCase()], 'no stale state ran after the hang');
    assert.ok(ran[1]!.startedWallMs >= ran[1]!.transitionWallMs);
    assert.deepEqual(notifier.queued(), [], 'nothing left behind');
  });
});

test('per instance and per sync group are separate queues, each bounded', async () => {
  await withDir(async (dir) => {
    const script = join(dir, 'n.sh');
    writeFileSync(script, '#!/bin/sh\nsleep 30\n', { mode: 0o755 });
    const text = `vrrp_sync_group G {\n    group {\n        VI_1\n    }\n    notify ${script}\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n    notify ${script}\n}\n`;
    const r = parseConfigText(text, 'test.conf');
    assert.ok(r.config);
    const core = new AgentBus();
    let state: VrrpState = 'backup';
    const router = { name: 'VI_1', get state() { return state; }, effectivePriority: 100 };
    const notifier = new Notifier({ config: () => r.config!, routers: () => [router as never], bus: core, ...host, timeoutMs: 300 });
    for (let i = 0; i < 20; i++) {
      const to: VrrpState = i % 2 ? 'backup' : 'master';
      const from = state;
      state = to;
      transition(core, from, to);
    }
    const q = notifier.queued();
    assert.deepEqual(q.map((x) => x.key).sort(), ['g:G', 'i:VI_1']);
    assert.ok(q.every((x) => x.pending === 'BACKUP'));
    await notifier.idle();
  });
});

test('enable_script_security: an unsafe notify script is not run; each time it would have been, "disabled" says so', async () => {
  await withDir(async (dir) => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const marker = join(dir, 'ran');
    const script = join(open, 'n.sh');
    writeFileSync(script, `#!/bin/sh\n: > ${marker}\n`, { mode: 0o755 });
    const { core, runs, notifier } = setup(instanceConf([`notify_master ${script}`], ['enable_script_security']));
    transition(core, 'backup', 'master');
    await notifier.idle();
    assert.equal(existsSync(marker), false, 'not run');
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.result, 'disabled');
    assert.match(runs[0]!.error ?? '', /writable by a non-root user/);
  });
});

test('notify scripts run as the current script user (read when they run)', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
  const script = "/bin/sh -c 'test $(id -u) = 65534'";
  const config = instanceConf([`notify_master "${script}"`]);
  const core = new AgentBus();
  const events = core;
  const runs: NotifyRunEvent[] = [];
  events.on('notify-run', (e) => runs.push(e));
  let runAs = { uid: 0, gid: 0 };
  const notifier = new Notifier({ config: () => config, routers: () => [], bus: core, ...host, runAs: () => runAs });
  transition(core, 'backup', 'master');
  await notifier.idle();
  runAs = { uid: 65534, gid: 65534 };
  transition(core, 'backup', 'master');
  await notifier.idle();
  assert.deepEqual(runs.map((r) => r.result), ['fail', 'ok']);
});
