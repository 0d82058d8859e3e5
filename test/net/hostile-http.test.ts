/**
 * The agent's HTTP side under hostile clients and peers (root only; namespaces):
 * - the peer endpoint: unsigned, stale, replayed, cross-node-replayed (signed for the other node),
 *   rewritten and oversized requests: all refused and counted, while two real agents cross-check
 *   each other fine;
 * - hostile peers (test/net/fake-peer.mjs): redirecting, 300 MB, trickling, and one that holds the
 *   secret and lies: the agent stays master, /healthz stays 200, its memory stays bounded, nothing
 *   is followed or read whole, the rejections are counted;
 * - a slow-header client plus a /metrics flood (64 keep-alive connections for 10 s) while a VRRPv3
 *   0.1 s pair runs: no transition, no advert gap over 200 ms at the backup (gaps over 150 ms printed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { withLab, waitFor, metric, sleep, fastInstance, keepwatchPair, hears, VIP, type NetEnv } from './helpers.js';
import type { LabRouter } from '../../src/lab/routers.js';
import { newNonce, signRequest } from '../../src/guard/signing.js';

const FAKE_PEER = fileURLToPath(new URL('./fake-peer.mjs', import.meta.url));
const SECRET = 'hostile-http-secret-0123456789';

function secretFile(env: NetEnv): string {
  const file = join(env.dir, 'guard.secret');
  writeFileSync(file, SECRET, { mode: 0o600 });
  return file;
}

function guardFile(env: NetEnv, name: string, body: string[]): string {
  const file = join(env.dir, `${name}.guard.conf`);
  writeFileSync(file, `guard {\n${body.map((l) => `    ${l.replace('$SECRET', secretFile(env))}`).join('\n')}\n}\n`);
  return file;
}

function healthCode(env: NetEnv, host: string): number {
  return Number(env.lab.exec(host, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', 'http://127.0.0.1:11200/healthz']).stdout);
}

function rssMb(r: LabRouter): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${r.proc!.pid}/status`, 'utf8'))![1]) / 1024;
}

/** Signed cross-check headers as curl arguments. */
function signedHeaders(opts: { to: string; from?: string; ts?: number; nonce?: string }): string[] {
  const ts = opts.ts ?? Date.now();
  const nonce = opts.nonce ?? newNonce();
  const id = { from: opts.from ?? 'mallory', to: opts.to };
  const sig = signRequest(Buffer.from(SECRET), 'GET', '/v1/guard', ts, nonce, id);
  return [`x-keepwatch-timestamp: ${ts}`, `x-keepwatch-nonce: ${nonce}`, `x-keepwatch-from: ${id.from}`, `x-keepwatch-to: ${id.to}`, `x-keepwatch-signature: ${sig}`];
}

/** HTTP status of GET /v1/guard on `target` from the client namespace. */
function guardCode(env: NetEnv, target: string, headers: string[]): number {
  const r = env.lab.exec('client', 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '3', ...headers.flatMap((h) => ['-H', h]), `http://${target}/v1/guard`]);
  return Number(r.stdout);
}

/** Collects a spawned process's JSON stdout lines. */
function jsonLines(child: ChildProcess): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not ours */
      }
    }
  });
  return out;
}

test('the peer endpoint refuses unsigned, stale, replayed, cross-node-replayed, rewritten and oversized requests, and counts each', async () => {
  await withLab(async (env) => {
    const g1 = guardFile(env, 'r1', ['interval 0.5', 'secret_file $SECRET', 'peer 10.251.0.2:11200']);
    const g2 = guardFile(env, 'r2', ['interval 0.5', 'secret_file $SECRET', 'peer 10.251.0.1:11200']);
    const r1 = env.router('r1', 'keepwatch', { routerId: 'node1', instances: [fastInstance(150)] }, ['--guard-config', g1, '--metrics-cache-ms', '1000']);
    const r2 = env.router('r2', 'keepwatch', { routerId: 'node2', instances: [fastInstance(100)] }, ['--guard-config', g2]);
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 hears it', () => r1.state === 'master' && r2.state === 'backup' && hears(env, 'r2', '10.251.0.1'), 15_000, 100);
    // The real agents' own cross-check works: their `to` is an identity of the other.
    await waitFor('both peers up', () => metric(env, 'r1', 'keepwatch_guard_peer_up', { peer: '10.251.0.2:11200' }) === 1 && metric(env, 'r2', 'keepwatch_guard_peer_up', { peer: '10.251.0.1:11200' }) === 1, 5000, 100);
    const transitions = r1.transitions.length + r2.transitions.length;

    assert.equal(guardCode(env, '10.251.0.1:11200', []), 401, 'unsigned');
    assert.equal(guardCode(env, '10.251.0.1:11200', signedHeaders({ to: '10.251.0.1:11200', ts: Date.now() - 120_000 })), 401, 'stale');
    const once = signedHeaders({ to: '10.251.0.1:11200' });
    assert.equal(guardCode(env, '10.251.0.1:11200', once), 200, 'a valid request');
    assert.equal(guardCode(env, '10.251.0.1:11200', once), 401, 'the same again: replayed');
    assert.equal(guardCode(env, '10.251.0.1:11200', signedHeaders({ to: 'node1:11200' })), 200, 'addressed by router_id');
    // Captured on its way to r2 (r2 accepts it), then played to r1.
    const captured = signedHeaders({ to: '10.251.0.2:11200' });
    assert.equal(guardCode(env, '10.251.0.2:11200', captured), 200);
    assert.equal(guardCode(env, '10.251.0.1:11200', captured), 401, 'cross-node replay');
    const fresh = signedHeaders({ to: '10.251.0.2:11200' });
    assert.equal(guardCode(env, '10.251.0.1:11200', fresh), 401, 'even one r2 never saw');
    assert.equal(guardCode(env, '10.251.0.1:11200', fresh.map((h) => (h.startsWith('x-keepwatch-to:') ? 'x-keepwatch-to: 10.251.0.1:11200' : h))), 401, 'its `to` rewritten');
    const big = env.lab.exec('client', 'curl', ['-s', '-w', '\n%{http_code}', '--max-time', '3', '-H', `X-Big: ${'a'.repeat(16 * 1024)}`, 'http://10.251.0.1:11200/v1/guard']).stdout.split('\n');
    assert.equal(big.at(-1), '431', 'oversized headers');
    assert.deepEqual(JSON.parse(big[0]!), { error: 'request headers too large' });

    await sleep(1100); // /metrics is rendered at most once a second: let the next scrape be fresh
    const rejected = (reason: string) => metric(env, 'r1', 'keepwatch_guard_rejected_total', { reason });
    for (const reason of ['unsigned', 'stale', 'replayed', 'bad-signature']) assert.ok(rejected(reason) >= 1, reason);
    assert.equal(rejected('wrong-receiver'), 2);
    assert.equal(metric(env, 'r2', 'keepwatch_guard_rejected_total', { reason: 'wrong-receiver' }), 0, "the agents' own polls are never misaddressed");
    assert.ok(metric(env, 'r1', 'keepwatch_http_requests_total', { handler: '/v1/guard', code: '401' }) >= 6);
    assert.equal(metric(env, 'r1', 'keepwatch_http_requests_total', { handler: 'connection', code: '431' }), 1);
    assert.equal(r1.transitions.length + r2.transitions.length, transitions, 'nobody moved');
    assert.equal(metric(env, 'r1', 'keepwatch_guard_demotions_total'), 0);
    assert.equal(metric(env, 'r1', 'keepwatch_guard_peer_up', { peer: '10.251.0.2:11200' }), 1);
  });
});

test('hostile peers (redirecting, 300 MB, trickling, lying with the secret): refused and counted; the agent stays master, /healthz 200, memory bounded', async () => {
  await withLab(async (env) => {
    // 9651 redirects (its target listens on 9652), 9653 is huge, 9654 trickles, 9655 lies.
    const g1 = guardFile(env, 'r1', ['interval 0.5', 'secret_file $SECRET', 'peer 10.251.0.10:9651', 'peer 10.251.0.10:9653', 'peer 10.251.0.10:9654', 'peer 10.251.0.10:9655']);
    const r1 = env.router('r1', 'keepwatch', { routerId: 'node1', instances: [fastInstance(150)] }, ['--guard-config', g1, '--metrics-cache-ms', '1000']);
    r1.start();
    await waitFor('r1 master', () => r1.state === 'master', 10_000);
    await sleep(1500);
    const rss0 = rssMb(r1);
    const transitions = r1.transitions.length;
    const secret = secretFile(env);
    const fake = (port: number, mode: string) => jsonLines(env.lab.spawn('client', process.execPath, [FAKE_PEER, String(port), mode, secret]));
    const redirect = fake(9651, 'redirect');
    const huge = fake(9653, 'huge');
    const trickle = fake(9654, 'trickle');
    const liar = fake(9655, 'liar');

    const codes = new Map<number, number>();
    let peak = rss0;
    const t0 = Date.now();
    while (Date.now() - t0 < 15_000) {
      const c = healthCode(env, 'r1');
      codes.set(c, (codes.get(c) ?? 0) + 1);
      peak = Math.max(peak, rssMb(r1));
      assert.deepEqual(env.lab.holders(VIP), ['r1']);
      await sleep(250);
    }
    const sentHuge = huge.filter((e) => e.event === 'huge-closed').map((e) => Number(e.sent));
    process.stdout.write(
      `hostile-http: RSS ${rss0.toFixed(1)} MB -> peak ${peak.toFixed(1)} MB; huge peer wrote ${sentHuge.map((b) => (b / 1e6).toFixed(1)).join(', ')} MB per answer; ` +
        `rejected malformed=${metric(env, 'r1', 'keepwatch_guard_rejected_total', { reason: 'malformed' })}; /healthz ${JSON.stringify([...codes])}\n`,
    );

    assert.deepEqual([...codes.keys()], [200], '/healthz stayed 200');
    assert.equal(r1.state, 'master');
    assert.equal(r1.transitions.length, transitions, 'never demoted');
    assert.equal(metric(env, 'r1', 'keepwatch_guard_demotions_total'), 0);
    assert.ok(peak - rss0 < 50, `RSS grew ${(peak - rss0).toFixed(1)} MB`);
    // The liar's fourth answer (MASTER at 254, held) is well-formed: it counts as up then, and that
    // claim alone (no MAC answering ARP for the VIP) demotes nobody and keeps /healthz green.
    for (const port of [9651, 9653, 9654]) assert.equal(metric(env, 'r1', 'keepwatch_guard_peer_up', { peer: `10.251.0.10:${port}` }), 0, `peer ${port} is down`);
    // Redirect: asked, signed, but never followed.
    assert.ok(redirect.some((e) => e.event === 'request' && e.signed === true), 'the redirecting peer was polled');
    assert.deepEqual(redirect.filter((e) => e.event === 'redirect-hit'), [], 'the redirect target was never hit');
    // Huge: polled several times, each answer cut far below 300 MB.
    assert.ok(sentHuge.length >= 3, `huge answers: ${sentHuge.length}`);
    assert.ok(sentHuge.every((b) => b < 32e6), `bytes written per huge answer: ${sentHuge.join(', ')}`);
    // Trickle: asked, cut at the deadline each time (a poll every 0.5 s, not one stuck forever).
    assert.ok(trickle.filter((e) => e.event === 'request').length >= 5);
    // Liar: each lie refused; the malformed count covers redirect, huge and the lies.
    assert.ok(liar.filter((e) => e.event === 'request').length >= 8);
    assert.ok(metric(env, 'r1', 'keepwatch_guard_rejected_total', { reason: 'malformed' }) >= 15);
    assert.equal(metric(env, 'r1', 'keepwatch_guard_rejected_total', { reason: 'bad-signature' }), 0, 'the liar signs correctly');
  });
});

/** 64 keep-alive connections requesting /metrics back to back, plus one slow-header client that reconnects when cut. */
const FLOOD = `
const http = require('node:http');
const net = require('node:net');
const [host, port, seconds, conns] = process.argv.slice(1);
const until = Date.now() + Number(seconds) * 1000;
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(conns) });
let ok = 0, failed = 0, bytes = 0, slowCuts = 0, slowMaxAliveMs = 0;
const one = () => new Promise((resolve) => {
  const req = http.get({ host, port: Number(port), path: '/metrics', agent }, (res) => {
    res.on('data', (c) => (bytes += c.length));
    res.on('end', () => { res.statusCode === 200 ? ok++ : failed++; resolve(); });
    res.on('error', () => { failed++; resolve(); });
  });
  req.on('error', () => { failed++; setTimeout(resolve, 10); });
});
const worker = async () => { while (Date.now() < until) await one(); };
const slow = () => new Promise((resolve) => {
  const t0 = Date.now();
  const s = net.connect(Number(port), host);
  let timer;
  s.on('connect', () => { s.write('GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n'); timer = setInterval(() => s.write('X-Slow: 1\\r\\n'), 500); });
  s.on('error', () => {});
  s.on('close', () => { clearInterval(timer); slowCuts++; slowMaxAliveMs = Math.max(slowMaxAliveMs, Date.now() - t0); resolve(); });
  setTimeout(() => s.destroy(), Math.max(0, until - Date.now()));
});
const slowLoop = async () => { while (Date.now() < until - 100) { await slow(); await new Promise((r) => setTimeout(r, 50)); } };
Promise.all([slowLoop(), new Promise((r) => setTimeout(r, 200)).then(() => Promise.all(Array.from({ length: Number(conns) }, worker)))]).then(() => {
  agent.destroy();
  process.stdout.write(JSON.stringify({ ok, failed, mb: +(bytes / 1e6).toFixed(1), slowCuts, slowMaxAliveMs }) + '\\n');
});
`;

test('a slow-header client and a /metrics flood (64 keep-alive connections, 10 s) against the master of a VRRPv3 0.1 s pair: no transition, no advert gap over 200 ms at the backup', async () => {
  await withLab(async (env) => {
    const [r1, r2] = await keepwatchPair(env, 0.1);
    const transitions = r1.transitions.length + r2.transitions.length;
    // One scrape for all three numbers, so they come from the same render.
    const hist = () => {
      const body = env.lab.exec('r2', 'curl', ['-s', '--max-time', '3', 'http://127.0.0.1:11200/metrics']).stdout;
      const sum = (re: RegExp) => body.split('\n').filter((l) => re.test(l)).reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      return {
        count: sum(/^keepwatch_vrrp_advert_interval_seconds_count[{ ]/),
        within: sum(/^keepwatch_vrrp_advert_interval_seconds_bucket\{.*le="0\.15"/),
        max: sum(/^keepwatch_vrrp_advert_interval_seconds_bucket\{.*le="0\.2"/),
      };
    };
    const before = hist();
    // The flood comes from another host in real life: here it shares the two cores, so it runs niced.
    const flood = env.lab.spawn('client', 'nice', ['-n', '10', process.execPath, '-e', FLOOD, '10.251.0.1', '11200', '10', '64']);
    const result = jsonLines(flood);
    await new Promise<void>((r) => flood.once('exit', () => r()));
    await sleep(500);
    const after = hist();
    const adverts = after.count - before.count;
    const gaps = adverts - (after.within - before.within);
    const r1Metrics = env.lab.exec('r1', 'curl', ['-s', '--max-time', '3', 'http://127.0.0.1:11200/metrics']).stdout;
    const served = Number(/keepwatch_http_requests_total\{handler="\/metrics",code="200"\} (\d+)/.exec(r1Metrics)?.[1] ?? NaN);
    const refused = (code: string) => Number(new RegExp(`keepwatch_http_requests_total\\{handler="connection",code="${code}"\\} (\\d+)`).exec(r1Metrics)?.[1] ?? 0);
    process.stdout.write(
      `hostile-http flood: client ${JSON.stringify(result[0])}; r1 served ${served} scrapes, refused ${refused('503')} connections over the cap, cut ${refused('408')} slow headers; ` +
        `backup saw ${adverts} adverts, ${gaps} gaps > 150 ms (${adverts - (after.max - before.max)} > 200 ms)\n`,
    );
    // One client address gets at most 40 requests a second (the rest: 429 at once); the flood
    // still reached the server, and everything else here is what it could not do.
    assert.ok(result[0] && Number(result[0].ok) >= 200 && Number(result[0].ok) <= 40 * 12 + 100, `the flood got through, at the per-client rate: ${JSON.stringify(result[0])}`);
    assert.ok(Number(result[0]!.slowMaxAliveMs) < 4500, `a slow-header connection lived ${String(result[0]!.slowMaxAliveMs)} ms`);
    assert.ok(refused('408') >= 1, 'slow headers cut and counted');
    assert.ok(adverts >= 90, `the backup saw ${adverts} adverts in ~10.5 s`);
    // 150 ms is the figure printed; the assertion allows one scheduler hiccup up to 200 ms, still
    // under half the backup's Master_Down_Interval (361 ms): a timing figure belongs in bench/.
    assert.equal(adverts - (after.max - before.max), 0, `advert gaps over 200 ms at the backup (${gaps} over 150 ms)`);
    assert.equal(r1.transitions.length + r2.transitions.length, transitions, 'no transition');
    assert.equal(r1.state, 'master');
    assert.equal(r2.state, 'backup');
  });
});
