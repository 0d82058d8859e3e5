/**
 * The split-brain guard on real agents (root only), with nftables cutting VRRP on the bridge and a
 * real Alertmanager (Debian's prometheus-alertmanager) receiving the agents' pushes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withLab, waitFor, metric, sleep, fastInstance, hears, VIP, type NetEnv } from './helpers.js';
import type { LabRouter } from '../../src/lab/routers.js';
import { newNonce, signRequest } from '../../src/guard/signing.js';

const FAKE_PEER = fileURLToPath(new URL('./fake-peer.mjs', import.meta.url));
const haveKeepalived = spawnSync('keepalived', ['--version']).status === 0;
const haveAlertmanager = spawnSync('prometheus-alertmanager', ['--version']).status === 0;
const haveNft = spawnSync('nft', ['--version']).status === 0;
const SECRET = 'test-secret-0123456789abcdef';

function guardFile(env: NetEnv, name: string, body: string[]): string {
  const secret = join(env.dir, 'guard.secret');
  writeFileSync(secret, SECRET);
  const file = join(env.dir, `${name}.guard.conf`);
  writeFileSync(file, `guard {\n${body.map((l) => `    ${l.replace('$SECRET', secret)}`).join('\n')}\n}\n`);
  return file;
}


function healthz(env: NetEnv, host: string): { code: number; body: { status: string; reasons: { instance: string; cause: string }[] } } {
  const r = env.lab.exec(host, 'curl', ['-s', '--max-time', '2', '-w', '\n%{http_code}', 'http://127.0.0.1:11200/healthz']);
  const lines = r.stdout.trimEnd().split('\n');
  const code = Number(lines.pop());
  return { code, body: JSON.parse(lines.join('\n')) };
}

function livingHolders(env: NetEnv): string[] {
  return env.lab.holders(VIP).filter((h) => env.routers.find((r) => r.host === h)?.running);
}

function startAlertmanager(env: NetEnv): void {
  const dir = join(env.dir, 'am');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'am.yml'), 'route:\n  receiver: blackhole\n  group_wait: 0s\n  group_interval: 1s\nreceivers:\n  - name: blackhole\n');
  env.lab.spawn('client', 'prometheus-alertmanager', [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${dir}`, '--web.listen-address=10.251.0.10:9093', '--cluster.listen-address=']);
}

function alerts(env: NetEnv): { labels: Record<string, string>; status: { state: string } }[] {
  const r = env.lab.exec('client', 'curl', ['-s', '--max-time', '2', 'http://10.251.0.10:9093/api/v2/alerts?active=true&silenced=false&inhibited=false']);
  try {
    return JSON.parse(r.stdout) as { labels: Record<string, string>; status: { state: string } }[];
  } catch {
    return [];
  }
}

async function pair(env: NetEnv, opts: { guard1?: string[]; guard2?: string[]; i1?: object; i2?: object } = {}): Promise<[LabRouter, LabRouter]> {
  const g1 = guardFile(env, 'r1', opts.guard1 ?? ['interval 0.5', 'secret_file $SECRET', 'peer 10.251.0.2:11200', 'alertmanager http://10.251.0.10:9093']);
  const g2 = guardFile(env, 'r2', opts.guard2 ?? ['interval 0.5', 'secret_file $SECRET', 'peer 10.251.0.1:11200', 'alertmanager http://10.251.0.10:9093']);
  const r1 = env.router('r1', 'keepwatch', { routerId: 'node1', instances: [fastInstance(150, opts.i1)] }, ['--guard-config', g1]);
  const r2 = env.router('r2', 'keepwatch', { routerId: 'node2', instances: [fastInstance(100, opts.i2)] }, ['--guard-config', g2]);
  r1.start();
  r2.start();
  await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
  await sleep(1500);
  return [r1, r2];
}

test('VRRP cut by nftables: both go master, the guard demotes the lower priority, both flag split brain, Alertmanager gets the alert; lifting the cut resolves it', { skip: (!haveNft && 'nft missing') || (!haveAlertmanager && 'prometheus-alertmanager missing') }, async () => {
  await withLab(async (env) => {
    startAlertmanager(env);
    const [r1, r2] = await pair(env);
    assert.equal(metric(env, 'r1', 'keepwatch_split_brain'), 0);
    assert.equal(metric(env, 'r1', 'keepwatch_guard_peer_up', { peer: '10.251.0.2:11200' }), 1);
    const cutAt = Date.now();
    env.lab.setVrrpCut(true);
    // r2 stops hearing r1: master after Master_Down_Interval; the guard finds r1 holding the VIP.
    await waitFor('r2 demoted by the guard', () => r2.transitions.some((t) => t.cause === 'guard-demotion'), 8000);
    const demotedAt = r2.transitions.find((t) => t.cause === 'guard-demotion')!.atMs;
    await waitFor('one holder: r1', () => livingHolders(env).join() === 'r1', 3000);
    await waitFor('both flag split brain', () => metric(env, 'r1', 'keepwatch_split_brain') === 1 && metric(env, 'r2', 'keepwatch_split_brain') === 1, 5000);
    assert.equal(metric(env, 'r2', 'keepwatch_guard_held', { vrrp_instance: 'VI_1' }), 1);
    assert.ok(metric(env, 'r2', 'keepwatch_guard_demotions_total') >= 1);
    assert.ok(metric(env, 'r2', 'keepwatch_split_brain_detections_total') >= 1);
    assert.equal(r1.state, 'master');
    const h = healthz(env, 'r2');
    assert.equal(h.code, 503);
    assert.match(h.body.reasons.map((x) => x.cause).join(';'), /held out by the split-brain guard/);
    // The winner serves the VIP: once the loser has stepped back its /healthz is green (the flag
    // stays up on both: the signed peer reports being held out).
    await waitFor("the winner's /healthz is green once it is the only holder", () => healthz(env, 'r1').code === 200, 5000, 100);
    await waitFor('Alertmanager has the split-brain alert', () => alerts(env).some((a) => a.labels.alertname === 'KeepwatchSplitBrain' && a.labels.vrid === '51'), 5000);
    const nodes = new Set(alerts(env).filter((a) => a.labels.alertname === 'KeepwatchSplitBrain').map((a) => a.labels.node));
    process.stdout.write(`guard: cut at 0, r2 demoted at +${demotedAt - cutAt} ms (wall clock; includes r2's Master_Down_Interval)\n`);
    // Stays out.
    await sleep(3000);
    assert.deepEqual(livingHolders(env), ['r1']);
    assert.ok(nodes.size >= 1);

    env.lab.setVrrpCut(false);
    await waitFor('r2 released and plain backup', () => metric(env, 'r2', 'keepwatch_guard_held', { vrrp_instance: 'VI_1' }) === 0 && r2.state === 'backup', 8000);
    await waitFor('flags clear on both', () => metric(env, 'r1', 'keepwatch_split_brain') === 0 && metric(env, 'r2', 'keepwatch_split_brain') === 0, 8000);
    await waitFor('the alert resolves', () => !alerts(env).some((a) => a.labels.alertname === 'KeepwatchSplitBrain'), 8000);
    assert.equal(healthz(env, 'r1').code, 200);
    assert.equal(healthz(env, 'r2').code, 200);
    assert.deepEqual(livingHolders(env), ['r1']);
  });
});

test('the winner dies during a conflict: the held node takes the VIP within Master_Down_Interval plus a margin', { skip: !haveNft && 'nft missing' }, async () => {
  await withLab(async (env) => {
    const [r1, r2] = await pair(env, { guard1: ['interval 0.5', 'secret_file $SECRET', 'peer 10.251.0.2:11200'], guard2: ['interval 0.5', 'secret_file $SECRET', 'peer 10.251.0.1:11200'] });
    env.lab.setVrrpCut(true);
    await waitFor('r2 held', () => r2.transitions.some((t) => t.cause === 'guard-demotion') && livingHolders(env).join() === 'r1', 10_000);
    await sleep(1000);
    // The winner's host dies: agent killed, link gone.
    const t0 = Date.now();
    await r1.signal('SIGKILL');
    env.lab.setLink('r1', false);
    let unheldSince: number | undefined;
    let longestGap = 0;
    await waitFor('r2 holds the VIP', () => {
      const held = env.lab.holders(VIP).includes('r2');
      if (!held) unheldSince ??= Date.now();
      else if (unheldSince !== undefined) longestGap = Math.max(longestGap, Date.now() - unheldSince);
      return held;
    }, 10_000, 20);
    const took = Date.now() - t0;
    // Evidence stays fresh for max(2.5 guard intervals, MDI) = 1.25 s here; MDI 0.36 s; margins for a busy CI.
    process.stdout.write(`guard: winner died, r2 took the VIP after ${took} ms (unheld ${longestGap} ms)\n`);
    assert.ok(took < 4000, `took ${took} ms`);
  });
});

test('mismatched auth_pass without a peer agent: detected by pcap with the drop reason, suspected on both, nobody demoted on forgeable evidence', async () => {
  await withLab(async (env) => {
    const g = ['interval 0.5'];
    const r1 = env.router('r1', 'keepwatch', { instances: [{ priority: 150, advertInt: 1, password: 'aaaa', vips: [`${VIP}/24`] }] }, ['--guard-config', guardFile(env, 'r1', g)]);
    const r2 = env.router('r2', 'keepwatch', { instances: [{ priority: 100, advertInt: 1, password: 'bbbb', vips: [`${VIP}/24`] }] }, ['--guard-config', guardFile(env, 'r2', g)]);
    r1.start();
    r2.start();
    await waitFor('both suspect a split brain', () => metric(env, 'r1', 'keepwatch_split_brain_suspected') === 1 && metric(env, 'r2', 'keepwatch_split_brain_suspected') === 1, 20_000, 250);
    await waitFor('a pcap detection on r2', () => metric(env, 'r2', 'keepwatch_split_brain_detections_total', { source: 'pcap' }) >= 1, 5000, 250);
    const state = JSON.parse(env.lab.exec('r2', 'curl', ['-s', 'http://127.0.0.1:11200/v1/state']).stdout) as { instances: { guard: { held: string | null; suspected: boolean; evidence: { source: string; detail: string; authenticated: boolean }[] } }[] };
    const guard = state.instances[0]!.guard;
    assert.equal(guard.held, null);
    assert.ok(guard.evidence.some((e) => e.source === 'pcap' && /auth-mismatch/.test(e.detail) && !e.authenticated), JSON.stringify(guard.evidence));
    assert.ok(!JSON.stringify(state).includes('aaaa') && !JSON.stringify(state).includes('bbbb'), 'no secret in /v1/state');
    assert.equal(r1.state, 'master');
    assert.equal(r2.state, 'master');
    assert.equal(metric(env, 'r1', 'keepwatch_split_brain'), 0);
    assert.equal(healthz(env, 'r1').code, 200, 'a suspected conflict never turns /healthz red');
    assert.ok(!r2.transitions.some((t) => t.cause === 'guard-demotion'));
  });
});

test('mismatched auth_pass with the signed peer cross-check: the peer vouches for its MAC, the lower priority yields', async () => {
  await withLab(async (env) => {
    const g = (peer: string) => ['interval 0.5', 'secret_file $SECRET', `peer ${peer}:11200`];
    const r1 = env.router('r1', 'keepwatch', { instances: [{ priority: 150, advertInt: 1, password: 'aaaa', vips: [`${VIP}/24`] }] }, ['--guard-config', guardFile(env, 'r1', g('10.251.0.2'))]);
    const r2 = env.router('r2', 'keepwatch', { instances: [{ priority: 100, advertInt: 1, password: 'bbbb', vips: [`${VIP}/24`] }] }, ['--guard-config', guardFile(env, 'r2', g('10.251.0.1'))]);
    r1.start();
    r2.start();
    await waitFor('r2 held by the guard, r1 sole holder', () => r2.transitions.some((t) => t.cause === 'guard-demotion') && livingHolders(env).join() === 'r1', 20_000);
    const state = JSON.parse(env.lab.exec('r2', 'curl', ['-s', 'http://127.0.0.1:11200/v1/state']).stdout) as { instances: { guard: { held: string | null; evidence: { source: string; detail: string }[] } }[] };
    const guard = state.instances[0]!.guard;
    assert.match(guard.held ?? '', /priority 100 < 150/);
    assert.equal(metric(env, 'r2', 'keepwatch_split_brain'), 1);
  });
});

for (const [label, kaPrio, kwPrio] of [['keepalived higher: keepwatch yields', 150, 100], ['keepalived lower: keepwatch keeps and alerts', 100, 150]] as const) {
  test(`keepwatch vs keepalived with VRRP cut, ${label}`, { skip: (!haveKeepalived && 'keepalived missing') || (!haveNft && 'nft missing') }, async () => {
    await withLab(async (env) => {
      const ka = env.router('r1', 'keepalived', { instances: [fastInstance(kaPrio)] });
      const kw = env.router('r2', 'keepwatch', { instances: [fastInstance(kwPrio)] }, ['--guard-config', guardFile(env, 'r2', ['interval 0.5'])]);
      ka.start();
      kw.start();
      const [first, second] = kaPrio > kwPrio ? [ka, kw] : [kw, ka];
      // Both up and agreeing (keepwatch takes a second to start), so keepwatch has heard keepalived.
      await waitFor('normal VRRP first', () => first.state === 'master' && second.state === 'backup' && livingHolders(env).join() === first.host && (second.kind === 'keepalived' || hears(env, second.host, first === ka ? '10.251.0.1' : '10.251.0.2')), 10_000, 100);
      await sleep(1000);
      env.lab.setVrrpCut(true);
      if (kaPrio > kwPrio) {
        await waitFor('keepwatch yields to the higher-priority keepalived', () => kw.transitions.some((t) => t.cause === 'guard-demotion') && livingHolders(env).join() === 'r1', 10_000);
        await sleep(2000);
        assert.deepEqual(livingHolders(env), ['r1']);
        assert.equal(metric(env, 'r2', 'keepwatch_split_brain'), 1);
      } else {
        // keepwatch knows keepalived's MAC only if it accepted one of its adverts (keepalived may
        // never have been master): a confirmed conflict then, else a suspected one. Either way it keeps.
        await waitFor('keepalived went master too, keepwatch flags it', () => ka.state === 'master' && metric(env, 'r2', 'keepwatch_split_brain') + metric(env, 'r2', 'keepwatch_split_brain_suspected') === 1, 10_000);
        await sleep(2000);
        assert.equal(kw.state, 'master', 'keepwatch keeps the VIP (higher priority)');
        assert.ok(kw.logLines.some((l) => l.includes('"vrrp.guard.decision":"keep"')));
        const confirmed = metric(env, 'r2', 'keepwatch_split_brain') === 1;
        assert.equal(healthz(env, 'r2').code, confirmed ? 503 : 200, 'red only while it sees an authenticated second holder');
      }
    });
  });
}

test('a witness breaks the tie for isolation: the node that cannot reach it yields, even with the higher priority', { skip: !haveNft && 'nft missing' }, async () => {
  await withLab(async (env) => {
    // The client stands in for the gateway. r1 (priority 150) stops hearing it; VRRP is cut too.
    const g = (peer: string) => ['interval 0.5', 'secret_file $SECRET', `peer ${peer}:11200`, 'witness 10.251.0.10'];
    const [r1, r2] = await pair(env, { guard1: g('10.251.0.2'), guard2: g('10.251.0.1') });
    assert.equal(metric(env, 'r1', 'keepwatch_guard_witness_up'), 1);
    assert.equal(metric(env, 'r2', 'keepwatch_guard_witness_up'), 1);
    env.lab.setArpCut('client', 'r1', true);
    await waitFor('r1 sees the witness down', () => metric(env, 'r1', 'keepwatch_guard_witness_up') === 0, 5000);
    assert.equal(r1.state, 'master', 'losing the witness alone changes nothing while VRRP works');
    env.lab.setVrrpCut(true);
    await waitFor('r1 demoted by the guard', () => r1.transitions.some((t) => t.cause === 'guard-demotion'), 8000);
    await waitFor('one holder: r2', () => livingHolders(env).join() === 'r2', 5000);
    assert.equal(r2.state, 'master');
    assert.equal(metric(env, 'r2', 'keepwatch_guard_witness_up'), 1);
    assert.ok(!r2.transitions.some((t) => t.cause === 'guard-demotion'), 'the node that reaches the witness is never demoted');
    const h = healthz(env, 'r1');
    assert.equal(h.code, 503);
    assert.match(r1.logLines.join('\n'), /cannot reach the witness/);
    await sleep(2000);
    assert.deepEqual(livingHolders(env), ['r2'], 'r1 stays out');

    // Everything heals: VRRP decides again and the higher priority preempts.
    env.lab.setArpCut('client', 'r1', false);
    env.lab.setVrrpCut(false);
    await waitFor('r1 master again, r2 backup', () => r1.state === 'master' && r2.state === 'backup' && livingHolders(env).join() === 'r1', 15_000);
    await waitFor('flags clear', () => metric(env, 'r1', 'keepwatch_split_brain') === 0 && metric(env, 'r2', 'keepwatch_split_brain') === 0, 8000);
  });
});

test('forged, unsigned and replayed cross-check messages are refused and counted; nobody is demoted', async () => {
  await withLab(async (env) => {
    env.lab.spawn('client', process.execPath, [FAKE_PEER, '11200', 'forged']);
    const g1 = guardFile(env, 'r1', ['interval 0.5', 'secret_file $SECRET', 'peer 10.251.0.10:11200']);
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)] }, ['--guard-config', g1]);
    r1.start();
    await waitFor('r1 master', () => r1.state === 'master', 10_000);
    await waitFor('forged answers refused', () => metric(env, 'r1', 'keepwatch_guard_rejected_total', { reason: 'bad-signature' }) >= 2, 5000);
    assert.equal(r1.state, 'master', 'a forged MASTER claim demotes nobody');
    assert.equal(metric(env, 'r1', 'keepwatch_guard_demotions_total'), 0);
    assert.equal(metric(env, 'r1', 'keepwatch_split_brain'), 0);
    // Requests to r1's endpoint: unsigned, forged, then a valid one replayed.
    const url = 'http://10.251.0.1:11200/v1/guard';
    const code = (headers: string[]) => Number(env.lab.exec('client', 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...headers.flatMap((h) => ['-H', h]), url]).stdout);
    assert.equal(code([]), 401);
    const ts = Date.now();
    const nonce = newNonce();
    assert.equal(code([`x-keepwatch-timestamp: ${ts}`, `x-keepwatch-nonce: ${nonce}`, `x-keepwatch-signature: ${'ab'.repeat(32)}`]), 401);
    const id = { from: 'client', to: '10.251.0.1:11200' };
    const named = [`x-keepwatch-from: ${id.from}`, `x-keepwatch-to: ${id.to}`];
    const sig = signRequest(Buffer.from(SECRET), 'GET', '/v1/guard', ts, nonce, id);
    const valid = [`x-keepwatch-timestamp: ${ts}`, `x-keepwatch-nonce: ${nonce}`, `x-keepwatch-signature: ${sig}`, ...named];
    assert.equal(code(valid), 200);
    assert.equal(code(valid), 401, 'the same request again is a replay');
    const stale = Date.now() - 120_000;
    const n2 = newNonce();
    assert.equal(code([`x-keepwatch-timestamp: ${stale}`, `x-keepwatch-nonce: ${n2}`, `x-keepwatch-signature: ${signRequest(Buffer.from(SECRET), 'GET', '/v1/guard', stale, n2, id)}`, ...named]), 401);
    await sleep(1100); // /metrics is rendered at most once a second: let the next scrape be fresh
    for (const reason of ['unsigned', 'replayed', 'stale']) assert.ok(metric(env, 'r1', 'keepwatch_guard_rejected_total', { reason }) >= 1, reason);
    const logs = r1.logLines.join('\n');
    assert.ok(!logs.includes(SECRET), 'the secret never appears in the log');
    assert.ok(!env.lab.exec('r1', 'curl', ['-s', 'http://127.0.0.1:11200/metrics']).stdout.includes(SECRET));
    assert.equal(r1.state, 'master');
  });
});

test("the peer agent's HTTP is down while VRRP is healthy: only peer_up 0, no split-brain flag", async () => {
  await withLab(async (env) => {
    const g1 = guardFile(env, 'r1', ['interval 0.5', 'secret_file $SECRET', 'peer 10.251.0.2:11200']);
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)] }, ['--guard-config', g1]);
    const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance(100)] }, ['--listen', 'off']);
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
    await sleep(2500);
    assert.equal(metric(env, 'r1', 'keepwatch_guard_peer_up', { peer: '10.251.0.2:11200' }), 0);
    assert.equal(metric(env, 'r1', 'keepwatch_split_brain'), 0);
    assert.equal(healthz(env, 'r1').code, 200);
    assert.equal(r1.state, 'master');
    assert.equal(r2.state, 'backup');
  });
});
