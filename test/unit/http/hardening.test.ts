/**
 * The agent's HTTP server under clients that want too much: /metrics rendered at most once per
 * interval (concurrent scrapes share one render, and a render lets timers run between metrics),
 * requests paced to a rate (beyond: wait your turn or a 429), exact routing, oversized and slow headers, idle keep-alive sockets, the connection cap — each
 * refusal answered (where there is someone to answer) and counted — and the guard endpoint told
 * which local address the client reached. Real sockets on 127.0.0.1, short limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { throttle, type HttpDeps } from '../../../src/http/server.js';
import { DEFAULT_HTTP_LIMITS, Pacer, startHttp, type HttpLimits } from '../../../src/http/listen.js';
import { AgentMetrics } from '../../../src/observability/metrics.js';
import { GUARD_PATH, createGuardEndpoint } from '../../../src/guard/peer-http.js';
import { HEADER_FROM, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, HEADER_TO, newNonce, signRequest, type RejectReason } from '../../../src/guard/signing.js';
import type { RouterSnapshot } from '../../../src/core/router.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const SNAPSHOT = { name: 'VI_1', vrid: 51, interface: 'eth0', family: 'ipv4', version: 3, state: 'master', basePriority: 150, effectivePriority: 150, advertIntervalMs: 100, masterAdvertIntervalMs: 100, masterDownIntervalMs: 341, vips: [], faults: [] } as unknown as RouterSnapshot;

interface Harness {
  readonly port: number;
  readonly metrics: AgentMetrics;
  renders: number;
  /** keepwatch_http_requests_total{handler, code}. */
  count(handler: string, code: number): Promise<number>;
  close(): Promise<void>;
}

async function harness(limits: Partial<HttpLimits> = {}, extra: Partial<HttpDeps> = {}): Promise<Harness> {
  const metrics = new AgentMetrics({ routers: () => [], vipPresent: () => false, captureStats: () => new Map(), version: 'test' });
  const h = { renders: 0 } as { renders: number };
  const render = metrics.render.bind(metrics);
  metrics.render = async () => {
    h.renders++;
    await sleep(30); // a render takes a while: scrapes arriving meanwhile must share it
    return render();
  };
  const http = await startHttp(
    { host: '127.0.0.1', port: 0 },
    { metrics, snapshots: () => [SNAPSHOT], vipPresent: () => false, healthReasons: () => [], now: () => performance.now(), startedAt: new Date(), version: 'test', ...extra },
    { ...DEFAULT_HTTP_LIMITS, ...limits },
  );
  return Object.assign(h, {
    port: (http.server.address() as AddressInfo).port,
    metrics,
    async count(handler: string, code: number) {
      const m = await metrics.registry.getSingleMetric('keepwatch_http_requests_total')!.get();
      return m.values.find((v) => v.labels.handler === handler && v.labels.code === String(code))?.value ?? 0;
    },
    close: () => http.close(),
  });
}

async function get(port: number, path: string, init: RequestInit = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, init);
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** A raw client: writes `data` (a string, or a function given the socket), resolves with what came back when the server closes. */
function raw(port: number, data: string | ((s: Socket) => void)): Promise<{ text: string; closedAfterMs: number; socket: Socket }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = connect(port, '127.0.0.1');
    let text = '';
    s.on('data', (d) => (text += d.toString()));
    s.on('error', () => {});
    s.on('close', () => resolve({ text, closedAfterMs: performance.now() - t0, socket: s }));
    s.on('connect', () => (typeof data === 'string' ? s.write(data) : data(s)));
  });
}

test('throttle: one call at a time, the result reused for the interval, failures not cached', async () => {
  let t = 0;
  let calls = 0;
  let fail = false;
  const f = throttle(
    async () => {
      calls++;
      await sleep(5);
      if (fail) throw new Error('boom');
      return calls;
    },
    1000,
    () => t,
  );
  assert.deepEqual(await Promise.all([f(), f(), f()]), [1, 1, 1], 'concurrent callers share the call');
  t = 999;
  assert.equal(await f(), 1, 'within the interval: cached');
  t = 1000;
  assert.equal(await f(), 2);
  t = 5000;
  fail = true;
  await assert.rejects(Promise.all([f(), f()]), /boom/);
  fail = false;
  assert.equal(await f(), 4, 'a failure is not cached');
  assert.equal(calls, 4);
});

test('/metrics renders at most once per interval: a burst of scrapes shares one render and one body', async () => {
  let now = 0;
  const h = await harness({ metricsMinIntervalMs: 1000 }, { now: () => now });
  try {
    const burst = await Promise.all(Array.from({ length: 40 }, () => get(h.port, '/metrics')));
    assert.equal(h.renders, 1, 'one render for 40 concurrent scrapes');
    assert.ok(burst.every((r) => r.status === 200 && r.body === burst[0]!.body && r.headers.get('content-type') === h.metrics.registry.contentType));
    await get(h.port, '/metrics');
    assert.equal(h.renders, 1, 'still cached');
    now = 999;
    await get(h.port, '/metrics');
    assert.equal(h.renders, 1, 'still cached at 999 ms');
    now = 1000;
    const after = await get(h.port, '/metrics');
    assert.equal(h.renders, 2, 'rendered again after the interval');
    assert.match(after.body, /keepwatch_http_requests_total\{handler="\/metrics",code="200"\} 42/, 'the new body counts the scrapes served from the cache');
    assert.equal(await h.count('/metrics', 200), 43);
    const head = await fetch(`http://127.0.0.1:${h.port}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  } finally {
    await h.close();
  }
});

test('render(): the same text as prom-client writes, one metric per turn of the event loop', async () => {
  const m = new AgentMetrics({ routers: () => [], vipPresent: () => false, captureStats: () => new Map(), version: 'test' });
  m.httpRequest('/metrics', 200);
  const stable = (text: string) => text.split('\n').filter((l) => !/^(process_|nodejs_)/.test(l));
  const ours = await m.render();
  assert.deepEqual(stable(ours.body), stable(await m.registry.metrics()));
  assert.equal(ours.contentType, m.registry.contentType);
  assert.ok(ours.body.endsWith('\n') && !ours.body.endsWith('\n\n'));
  // Timers and I/O get their turn while a render runs.
  let turns = 0;
  const tick = () => {
    turns++;
    if (!done) setImmediate(tick);
  };
  let done = false;
  setImmediate(tick);
  await m.render();
  done = true;
  assert.ok(turns >= 10, `only ${turns} turns of the event loop during a render`);
});

test('pacer: a burst at once, then one per 1/rate in arrival order; a full queue refuses; callers that left are skipped', async () => {
  const p = new Pacer(50, 2, 3);
  const ran: number[] = [];
  const t0 = performance.now();
  const at: number[] = [];
  const go = (i: number) => () => {
    ran.push(i);
    at.push(performance.now() - t0);
  };
  let left = false;
  assert.ok(p.admit(go(1)) && p.admit(go(2)), 'the burst');
  assert.deepEqual(ran, [1, 2]);
  assert.ok(p.admit(go(3)));
  assert.ok(p.admit(go(4), () => left));
  assert.ok(p.admit(go(5)));
  assert.equal(p.admit(go(6)), false, 'the queue is full');
  assert.equal(p.queued, 3);
  left = true;
  await sleep(150);
  assert.deepEqual(ran, [1, 2, 3, 5], 'in order; 4 left meanwhile; 6 never runs');
  assert.ok(at[2]! >= 15 && at[3]! >= 35, `paced: ${at.map((x) => x.toFixed(0)).join(', ')} ms`);
  p.stop();
});

test('requests beyond the rate wait their turn; beyond the queue they get a 429, counted (pipelined requests included)', async () => {
  const h = await harness({ maxRequestsPerSecond: 20, requestBurst: 1, maxConnections: 3 });
  try {
    const t0 = performance.now();
    const r = await raw(h.port, (s) => {
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(7) + 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    const statuses = [...r.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429, 429, 429]);
    assert.ok(performance.now() - t0 >= 140, 'the three queued ones were paced (50 ms apart)');
    assert.match(r.text, /retry-after: 1/i);
    assert.match(r.text, /\{"error":"too many requests; retry later"\}/);
    assert.equal(await h.count('/healthz', 429), 4);
    assert.equal(await h.count('/healthz', 200), 4);
  } finally {
    await h.close();
  }
});

test('routing is exact: /metrics/ and /METRICS are 404s; bad methods and queries keep their JSON errors; all counted', async () => {
  const h = await harness();
  try {
    for (const path of ['/metrics/', '/METRICS', '/Healthz', '/healthz/', '/v1/state/', '/v1/guard/']) {
      const r = await get(h.port, path);
      assert.equal(r.status, 404, path);
      assert.match(JSON.parse(r.body).error, /^no such endpoint: /, path);
    }
    assert.equal(await h.count('other', 404), 6);
    const post = await get(h.port, '/metrics', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.deepEqual(JSON.parse(post.body), { error: 'method POST not allowed; use GET' });
    const q = await get(h.port, '/metrics?x=1');
    assert.equal(q.status, 400);
    assert.deepEqual(JSON.parse(q.body), { error: "unknown query parameter 'x' for /metrics" });
    assert.equal((await get(h.port, '/healthz?state=master&state=master')).status, 400);
    assert.equal(await h.count('/metrics', 405), 1);
    assert.equal(await h.count('/metrics', 400), 1);
    assert.equal(await h.count('/healthz', 400), 1);
    // What works keeps working.
    const health = await get(h.port, '/healthz');
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.body).status, 'ok');
    assert.equal((await get(h.port, '/healthz?state=master')).status, 200);
    assert.equal(JSON.parse((await get(h.port, '/v1/state')).body).instances[0].name, 'VI_1');
    assert.equal((await get(h.port, '/v1/state?instance=nope')).status, 404);
    assert.equal((await get(h.port, '/v1/guard')).status, 404, 'no guard configured');
    const mangled = await get(h.port, '/%E0%A4%A');
    assert.equal(mangled.status, 404);
    assert.match(JSON.parse(mangled.body).error, /^no such endpoint/);
  } finally {
    await h.close();
  }
});

test('oversized headers: 431 with a JSON body, the connection closed, counted', async () => {
  const h = await harness({ maxHeaderBytes: 8192 });
  try {
    const r = await raw(h.port, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.match(r.text, /\{"error":"request headers too large"\}$/);
    const url = await raw(h.port, `GET /metrics?${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(url.text, /^HTTP\/1\.1 431 /, 'a huge request line counts too');
    const garbage = await raw(h.port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(garbage.text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.equal(await h.count('connection', 431), 2);
    assert.equal(await h.count('connection', 400), 1);
    // Under the cap is fine.
    assert.equal((await get(h.port, '/healthz', { headers: { 'x-fine': 'a'.repeat(4000) } })).status, 200);
  } finally {
    await h.close();
  }
});

test('slow headers are cut at headersTimeout (408, counted); a silent connection too; idle keep-alive sockets close', async () => {
  const h = await harness({ headersTimeoutMs: 300, requestTimeoutMs: 600, connectionsCheckingIntervalMs: 50, keepAliveTimeoutMs: 300 });
  try {
    let timer: NodeJS.Timeout | undefined;
    const slow = await raw(h.port, (s) => {
      s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
      timer = setInterval(() => s.write('X-A: b\r\n'), 50);
    });
    clearInterval(timer);
    assert.match(slow.text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(slow.closedAfterMs >= 250 && slow.closedAfterMs < 2000, `closed after ${slow.closedAfterMs} ms`);
    const silent = await raw(h.port, () => {});
    assert.ok(silent.closedAfterMs < 2000, `a silent connection closed after ${silent.closedAfterMs} ms`);
    assert.ok((await h.count('connection', 408)) >= 1);
    // Keep-alive: answered, then closed once idle.
    const ka = await raw(h.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    assert.match(ka.text, /^HTTP\/1\.1 200 OK/);
    assert.ok(ka.closedAfterMs >= 250 && ka.closedAfterMs < 2000, `idle keep-alive closed after ${ka.closedAfterMs} ms`);
  } finally {
    await h.close();
  }
});

test('the connection cap: beyond maxConnections a socket is closed unanswered and counted; capacity comes back', async () => {
  const h = await harness({ maxConnections: 3 });
  const held: Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const s = connect(h.port, '127.0.0.1');
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); // headers never finished: the socket stays busy
      held.push(s);
    }
    await sleep(50);
    const refused = await raw(h.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(refused.text, '', 'closed without an answer');
    assert.equal(await h.count('connection', 503), 1);
    held.pop()!.destroy();
    await sleep(50);
    assert.equal((await get(h.port, '/healthz', { headers: { connection: 'close' } })).status, 200);
  } finally {
    held.forEach((s) => s.destroy());
    await h.close();
  }
});

test('the guard endpoint learns the local address the client reached: a request for another node is refused and counted', async () => {
  const secret = Buffer.from('0123456789abcdef0123456789abcdef');
  const rejected: RejectReason[] = [];
  const guard = createGuardEndpoint(secret, 30_000, () => [], (reason) => rejected.push(reason), 'node1', 'host1');
  const h = await harness({}, { routes: [{ path: GUARD_PATH, handle: (req) => guard.handle(req) }] });
  const headers = (to: string) => {
    const ts = Date.now();
    const nonce = newNonce();
    return { [HEADER_TIMESTAMP]: String(ts), [HEADER_NONCE]: nonce, [HEADER_FROM]: 'node2', [HEADER_TO]: to, [HEADER_SIGNATURE]: signRequest(secret, 'GET', '/v1/guard', ts, nonce, { from: 'node2', to }) };
  };
  try {
    const ok = await get(h.port, '/v1/guard', { headers: headers(`127.0.0.1:${h.port}`) });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).node, 'node1');
    assert.equal((await get(h.port, '/v1/guard', { headers: headers(`node1:${h.port}`) })).status, 200);
    const other = await get(h.port, '/v1/guard', { headers: headers(`10.0.0.2:${h.port}`) });
    assert.equal(other.status, 401);
    assert.deepEqual(JSON.parse(other.body), { error: 'refused: wrong-receiver' });
    assert.deepEqual(rejected, ['wrong-receiver']);
    assert.equal(await h.count('/v1/guard', 200), 2);
    assert.equal(await h.count('/v1/guard', 401), 1);
  } finally {
    await h.close();
  }
});

test('per-client pacers: one address waits for its own turn, others are untouched; idle addresses are forgotten beyond the cap', async () => {
  const { ClientPacers } = await import('../../../src/http/listen.js');
  let now = 0;
  const p = new ClientPacers(10, 64, 3, () => now);
  let ran = 0;
  for (let i = 0; i < 50; i++) assert.equal(p.admit('10.0.0.66', () => ran++), true);
  assert.equal(ran, 5, 'a burst of half the rate at once; the rest waits');
  let other = 0;
  p.admit('10.0.0.1', () => other++);
  assert.equal(other, 1, 'another client is not held up by the first');
  for (let i = 0; i < 1000; i++) p.admit(`10.1.${i >> 8}.${i & 255}`, () => {});
  assert.ok(p.tracked <= 4, `tracked ${p.tracked} (idle ones evicted; one with waiters kept)`);
  p.stop();
});
