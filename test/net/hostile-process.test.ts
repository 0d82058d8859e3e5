/**
 * The agent as a process under stress (root only, namespaces): a crash fails safe (priority 0,
 * no VIP left, exit 1 for Restart=on-failure), SIGUSR1/SIGUSR2 dump state and statistics without
 * opening Node's inspector, a forged VRRPv3 advert with Max Adver Int 0 is dropped, and the flight
 * recorder neither follows planted symlinks nor deletes files it did not write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withLab, waitFor, sleep, fastInstance, metric, VIP, type NetEnv } from './helpers.js';
import { CLI_PATH, type LabRouter } from '../../src/lab/routers.js';

/** Resolves with the exit status once the router's process has ended (or rejects after `timeoutMs`). */
async function exitOf(r: LabRouter, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }> {
  const p = r.proc!;
  if (p.exitCode !== null || p.signalCode !== null) return { code: p.exitCode, signal: p.signalCode, atMs: Date.now() };
  return await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${r.host} did not exit within ${timeoutMs} ms`)), timeoutMs);
    p.once('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, atMs: Date.now() });
    });
  });
}

/** Log lines (JSON) of one router with this `event`. */
function events(r: LabRouter, event: string): Record<string, unknown>[] {
  return r.logLines.filter((l) => l.includes(`"event":"${event}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function pair(env: NetEnv, r1Env: Record<string, string> = {}, r1Args: string[] = []): Promise<[LabRouter, LabRouter]> {
  const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance(100)] });
  r2.start();
  await waitFor('r2 up', () => r2.state !== undefined, 10_000);
  const r1 = startR1(env, r1Env, r1Args);
  await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup' && env.lab.holders(VIP).join() === 'r1', 10_000);
  return [r1, r2];
}

function startR1(env: NetEnv, r1Env: Record<string, string> = {}, r1Args: string[] = []): LabRouter {
  const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)] }, r1Args, r1Env);
  r1.start();
  return r1;
}

test('a crash on the master fails safe: priority 0 (the backup takes over on it), no VIP left, exit 1; also for a rejection and a double fault', async () => {
  await withLab(async (env) => {
    // A malformed test hook refuses to start (a typo must not silently test nothing).
    const bad = env.lab.exec('r1', 'env', ['KEEPWATCH_FAULT_INJECT=throw-later', process.execPath, CLI_PATH, '-f', join(env.dir, 'none.conf'), '--listen', 'off']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /KEEPWATCH_FAULT_INJECT=throw-later: expected throw-after-ms:N/);

    let r2: LabRouter | undefined;
    const figures: string[] = [];
    for (const kind of ['throw', 'reject', 'throw-twice'] as const) {
      let r1: LabRouter;
      const faultEnv = { KEEPWATCH_FAULT_INJECT: `${kind}-after-ms:1500` };
      if (!r2) [r1, r2] = await pair(env, faultEnv);
      else {
        // r1 comes back (as systemd would restart it), preempts, and crashes again.
        r1 = startR1(env, faultEnv);
        await waitFor(`r1 master again before the ${kind}`, () => r1.state === 'master' && r2!.state === 'backup' && env.lab.holders(VIP).join() === 'r1', 10_000);
      }
      const backup = r2;
      const t2 = backup.transitions.length;
      const exit = await exitOf(r1, 10_000);
      assert.equal(exit.code, 1, `${kind}: exit status 1 (Restart=on-failure restarts it), not ${exit.code}/${exit.signal}`);
      const crash = events(r1, 'crash');
      assert.ok(crash.length >= 1, `${kind}: the crash is logged`);
      assert.equal(crash[0]!.level, 'fatal');
      assert.match(String(crash[0]!.msg), kind === 'reject' ? /^unhandledRejection: injected fault/ : /^uncaughtException: injected fault/);
      assert.ok((crash[0]!.err as { stack?: string } | undefined)?.stack?.includes('injected fault'), `${kind}: with the error and its stack`);
      if (kind === 'throw-twice') assert.ok(crash.some((c) => c.double === true), 'the second error is logged as a double fault');
      const crashAt = Date.parse(String(crash[0]!.time));
      const exitMs = exit.atMs - crashAt;
      assert.ok(exitMs < 1500 + 500, `${kind}: exited ${exitMs} ms after the crash (budget 1.5 s)`);
      assert.ok(events(r1, 'emergency-stop').length >= 1, 'the release ran');
      assert.ok(!env.lab.addresses('r1').includes(VIP), `${kind}: no VIP left on the crashed master`);
      await waitFor(`${kind}: r2 takes over`, () => backup.state === 'master' && env.lab.holders(VIP).join() === 'r2', 3000);
      const takeover = backup.transitions.slice(t2).find((t) => t.to === 'master')!;
      assert.equal(takeover.cause, 'priority-zero-advert', `${kind}: the backup took over on the priority-0 advert, not the timer`);
      figures.push(`${kind}: exit 1 ${exitMs} ms after the crash, backup master ${takeover.atMs - crashAt} ms after it`);
    }
    process.stdout.write(`fail-safe: ${figures.join('; ')}\n`);
  });
});

test('SIGUSR1/SIGUSR2: state and statistics dumps (log line + 0600 files), the master stays master, no inspector; SIGTERM exits 0', async () => {
  await withLab(async (env) => {
    const dumps = join(env.dir, 'dumps');
    mkdirSync(dumps, { mode: 0o700 });
    // A planted symlink where the state dump goes: replaced, its target untouched.
    const victim = join(env.dir, 'victim');
    writeFileSync(victim, 'untouched\n');
    symlinkSync(victim, join(dumps, 'keepwatch.data'));
    const [r1, r2] = await pair(env, {}, ['--dump-dir', dumps]);
    await sleep(1000);
    const t1 = r1.transitions.length;
    const t2 = r2.transitions.length;

    r1.proc!.kill('SIGUSR1');
    await waitFor('state dump logged', () => events(r1, 'state-dump').length === 1, 3000);
    r1.proc!.kill('SIGUSR2');
    await waitFor('stats dump logged', () => events(r1, 'stats-dump').length === 1, 3000);
    // A burst of both: never a crash, never the inspector.
    for (let i = 0; i < 10; i++) {
      r1.proc!.kill('SIGUSR1');
      r1.proc!.kill('SIGUSR2');
      await sleep(20);
    }
    await sleep(500);
    assert.ok(r1.running, 'r1 survives the signals');
    const listening = env.lab.exec('r1', 'ss', ['-ltnH']).stdout;
    assert.doesNotMatch(listening, /:9229\b/, `no inspector port in r1's namespace:\n${listening}`);
    assert.match(listening, /:11200\b/, 'ss sees the namespace (the HTTP port is there)');
    assert.ok(!r1.logLines.some((l) => /Debugger listening/.test(l)));

    const data = join(dumps, 'keepwatch.data');
    const stats = join(dumps, 'keepwatch.stats');
    for (const f of [data, stats]) {
      const st = lstatSync(f);
      assert.ok(st.isFile(), `${f} is a file (not the planted symlink)`);
      assert.equal(st.mode & 0o777, 0o600, `${f} is 0600`);
    }
    assert.equal(readFileSync(victim, 'utf8'), 'untouched\n');
    // keepalived's files beside keepwatch's (issue 15): keepalived.data/.json on SIGUSR1, .stats on SIGUSR2.
    assert.deepEqual(readdirSync(dumps).sort(), ['keepalived.data', 'keepalived.json', 'keepalived.stats', 'keepwatch.data', 'keepwatch.stats'], 'no temporary files left');
    const state = JSON.parse(readFileSync(data, 'utf8')) as { kind: string; instances: { name: string; state: string; priority: { effective: number }; vips: { address: string; present: boolean }[]; timers: { masterDownIntervalMs: number } }[] };
    assert.equal(state.kind, 'keepwatch-state');
    assert.equal(state.instances[0]!.name, 'VI_1');
    assert.equal(state.instances[0]!.state, 'master');
    assert.equal(state.instances[0]!.priority.effective, 150);
    assert.deepEqual(state.instances[0]!.vips, [{ address: VIP, interface: 'eth0', present: true }]);
    const logged = events(r1, 'state-dump')[0]!;
    assert.equal((logged.dump as { instances: { name: string }[] }).instances[0]!.name, 'VI_1', 'the log line carries the dump too');
    const s = JSON.parse(readFileSync(stats, 'utf8')) as { kind: string; instances: { name: string; adverts: { sent: number }; transitions: { becameMaster: number } }[] };
    assert.equal(s.kind, 'keepwatch-stats');
    assert.equal(s.instances[0]!.name, 'VI_1');
    assert.ok(s.instances[0]!.adverts.sent > 5, `adverts sent ${s.instances[0]!.adverts.sent}`);
    assert.ok(s.instances[0]!.transitions.becameMaster >= 1);

    assert.equal(r1.transitions.length, t1, 'r1 never moved');
    assert.equal(r2.transitions.length, t2, 'r2 never moved');
    assert.equal(r1.state, 'master');
    assert.deepEqual(env.lab.holders(VIP), ['r1']);

    // SIGTERM: the ordinary stop exits 0, with the priority-0 goodbye.
    r1.proc!.kill('SIGTERM');
    const exit = await exitOf(r1, 5000);
    assert.equal(exit.code, 0);
    await waitFor('r2 master', () => r2.state === 'master', 3000);
    assert.equal(r2.transitions.at(-1)!.cause, 'priority-zero-advert');
  });
});

test('a forged VRRPv3 advert with Max Adver Int 0 (priority 254) is dropped as interval-invalid; nobody moves', async () => {
  await withLab(async (env) => {
    const [r1, r2] = await pair(env);
    await sleep(500);
    const t1 = r1.transitions.length;
    const t2 = r2.transitions.length;
    const f = env.lab.exec('client', process.execPath, [CLI_PATH, 'flood', '--source', '10.251.0.10', '--vrid', '51', '--vip', VIP, '--version', '3', '--only', 'interval-invalid', '--rate', '50', '--seconds', '2']);
    assert.equal(f.status, 0, f.stderr);
    const { sent } = JSON.parse(f.stdout) as { sent: number };
    assert.ok(sent >= 80, `sent ${sent}`);
    await sleep(500);
    for (const [host, r, before] of [['r1', r1, t1], ['r2', r2, t2]] as const) {
      const dropped = metric(env, host, 'keepwatch_vrrp_adverts_dropped_total', { vrrp_instance: 'VI_1', reason: 'interval-invalid' });
      assert.ok(dropped >= sent * 0.9, `${host} dropped ${dropped} of ${sent} as interval-invalid`);
      assert.equal(r.transitions.length, before, `${host} never moved`);
      assert.ok(r.logLines.some((l) => l.includes('"event":"advert-dropped"') && l.includes('"reason":"interval-invalid"')), `${host} logs the drop`);
    }
    assert.equal(r1.state, 'master');
    assert.equal(r2.state, 'backup');
    assert.deepEqual(env.lab.holders(VIP), ['r1']);
    process.stdout.write(`interval 0: ${sent} forged adverts, all dropped as interval-invalid, 0 transitions\n`);
  });
});

test('flight recorder: an unsafe directory is refused; planted symlinks are not followed, foreign files survive, recordings are 0600', async () => {
  await withLab(async (env) => {
    // Refused at start: a capture directory others can write in.
    const open = join(env.dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const refused = env.router('r2', 'keepwatch', { instances: [fastInstance(100)] }, ['--capture-dir', open, '--listen', 'off']);
    refused.start();
    const exit = await exitOf(refused, 10_000);
    assert.equal(exit.code, 1);
    assert.ok(refused.logLines.some((l) => /flight recorder directory .*open: mode 0777 lets group or others write in it; refused/.test(l)), refused.logLines.join('\n'));

    const cap = join(env.dir, 'flight');
    mkdirSync(cap, { mode: 0o700 });
    // Root plants things in it: a symlink with a recording's name pointing at a file elsewhere,
    // and 120 old foreign recordings (over the 100-file cap: the old recorder deleted them).
    const etc = join(env.dir, 'etc');
    mkdirSync(etc);
    const target = join(etc, 'something');
    writeFileSync(target, 'keep me\n');
    chmodSync(target, 0o644);
    symlinkSync(target, join(cap, '1999-01-01T00-00-00-000Z_VI_1_backup-master_master-down-timer.pcap'));
    const old = new Date('2000-01-01T00:00:00Z');
    for (let i = 0; i < 120; i++) {
      const f = join(cap, `foreign-${String(i).padStart(3, '0')}.pcap`);
      writeFileSync(f, 'not yours');
      utimesSync(f, old, old);
    }
    const before = new Set(readdirSync(cap));

    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)] });
    const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance(100)] }, ['--capture-dir', cap]);
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
    await r1.signal('SIGKILL');
    await waitFor('r2 master', () => r2.state === 'master', 5000);
    await waitFor('r2 recorded the takeover', () => events(r2, 'flight-recorder').some((e) => String(e['vrrp.capture.file']).includes('backup-master')), 3000);

    const now = readdirSync(cap);
    for (const f of before) assert.ok(now.includes(f), `${f} (not ours) is still there`);
    assert.equal(readFileSync(target, 'utf8'), 'keep me\n', 'the symlink target is untouched');
    assert.equal(statSync(target).mode & 0o777, 0o644);
    const ours = now.filter((f) => !before.has(f));
    assert.ok(ours.length >= 2, `recordings: ${ours.join(', ')}`);
    for (const f of ours) {
      const st = lstatSync(join(cap, f));
      assert.ok(st.isFile() && (st.mode & 0o777) === 0o600, `${f} is a 0600 file`);
    }
    assert.equal(statSync(cap).mode & 0o777, 0o700);
    assert.ok(existsSync(join(cap, 'foreign-000.pcap')));
  });
});
