/**
 * How much a /metrics flood delays the agent's timers: an HTTP server (src/http/server.ts) with
 * 255 instances' worth of metrics, a 100 ms setInterval measuring its own lateness (the stand-in
 * for a VRRP advert timer at advert_int 0.1), and a separate client process holding 64 keep-alive
 * connections that request /metrics back to back for `floodSeconds`.
 *
 * Usage: node --import tsx bench/http-flood.ts [floodSeconds=5] [connections=64] [bounded|unbounded]
 * `unbounded` serves every scrape with a fresh render in one piece (registry.metrics()) and lifts
 * the rate and connection limits: the server as it was before the limits. KW_BENCH_INSTANCES sets
 * the number of instances (default 255). The client runs at nice +10 (the flood comes from
 * another host in real life; here both share the cores). Prints the
 * timer's lateness (max, p99, mean) before and during the flood, and how many scrapes the client
 * got. KW_BENCH_TRACE=1 prints every lateness over 50 ms; KW_BENCH_PATH=/healthz floods another path.
 */
import { AgentBus } from '../src/events/index.js';
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { VrrpRouter } from '../src/core/router.js';
import { EventBus, type VrrpEvent } from '../src/events/index.js';
import { SystemClock } from '../src/adapters/clock.js';
import { AgentMetrics } from '../src/observability/metrics.js';
import { ElectionTracker } from '../src/observability/elections.js';
import { setPriority } from 'node:os';
import { DEFAULT_HTTP_LIMITS, startHttp } from '../src/http/listen.js';
import { instance } from '../test/helpers/instances.js';
import type { Clock } from '../src/ports/index.js';

const INSTANCES = Number(process.env.KW_BENCH_INSTANCES) || 255;

async function client(port: number, seconds: number, connections: number): Promise<void> {
  try {
    setPriority(10);
  } catch {
    /* not allowed: fine */
  }
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const until = Date.now() + seconds * 1000;
  let ok = 0;
  let failed = 0;
  let bytes = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: process.env.KW_BENCH_PATH ?? '/metrics', agent }, (res) => {
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => {
          if (res.statusCode === 200) ok++;
          else failed++;
          resolve();
        });
        res.on('error', () => (failed++, resolve()));
      });
      req.on('error', () => (failed++, resolve()));
      req.end();
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) await one();
    }),
  );
  agent.destroy();
  process.stdout.write(JSON.stringify({ ok, failed, mb: +(bytes / 1e6).toFixed(1) }));
}

function stats(lateMs: number[]): { max: number; p99: number; mean: number; n: number } {
  const s = [...lateMs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { max: +at(1).toFixed(1), p99: +at(0.99).toFixed(1), mean: +(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)).toFixed(1), n: s.length };
}

async function server(seconds: number, connections: number, mode: string): Promise<void> {
  const clock: Clock = { now: () => performance.now(), setTimeout: () => ({ cancel() {} }) } as unknown as Clock;
  const core = new AgentBus();
  const none = () => undefined;
  const routers = Array.from({ length: INSTANCES }, (_, i) => {
    const cfg = instance({ name: `VI_${i + 1}`, vrid: i + 1, vips: [`10.${i}.0.100/24`, `10.${i}.0.101/24`] });
    return new VrrpRouter(cfg, {
      clock,
      events: core,
      transport: { send: none } as never,
      addresses: { add: none, remove: none } as never,
      frames: { inject: none } as never,
      interfaces: { mac: () => '02:00:00:00:00:01', primaryAddress: () => '10.0.0.1' },
    });
  });
  const metrics = new AgentMetrics({ routers: () => routers, vipPresent: () => false, captureStats: () => new Map(), version: 'bench' });
  metrics.subscribe(core, new ElectionTracker(core, new SystemClock()));
  // A backup's view: inter-arrival observations for every instance fill the histogram series.
  for (let k = 0; k < 20; k++) {
    for (const r of routers) {
      core.emit({ type: 'advert-received', instance: r.name, vrid: r.config.vrid, interface: r.config.interface, source: '10.0.0.2', priority: 150, advertIntervalMs: 100, addressListMismatch: false, atMs: k * 100 + Math.random() * 5, state: 'backup' } as VrrpEvent);
    }
  }
  const unbounded = mode === 'unbounded';
  if (unbounded) metrics.render = async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() });
  const limits = unbounded ? { ...DEFAULT_HTTP_LIMITS, metricsMinIntervalMs: 0, maxRequestsPerSecond: 1e9, requestBurst: 1e9, maxConnections: 1_000_000, headersTimeoutMs: 5000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5000, idleSocketTimeoutMs: 0 } : DEFAULT_HTTP_LIMITS;
  const http = await startHttp({ host: '127.0.0.1', port: 0 }, {
    metrics,
    snapshots: () => routers.map((r) => r.snapshot()),
    vipPresent: () => false,
    healthReasons: () => [],
    now: () => performance.now(),
    startedAt: new Date(),
    version: 'bench',
  }, limits);
  const port = (http.server.address() as AddressInfo).port;
  const size = (await metrics.render()).body.length;
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) await metrics.render();
  const renderMs = +((performance.now() - t0) / 5).toFixed(1);

  const late: number[] = [];
  const t00 = performance.now();
  let expected = performance.now() + 100;
  const timer = setInterval(() => {
    const now = performance.now();
    late.push(Math.max(0, now - expected));
    if (process.env.KW_BENCH_TRACE && now - expected > 50) console.error(`late ${(now - expected).toFixed(0)} ms at ${(now - t00).toFixed(0)} ms`);
    expected = now + 100;
  }, 100);
  await new Promise((r) => setTimeout(r, 2000));
  const idle = stats(late.splice(0));
  const cpu0 = process.cpuUsage();
  const floodStart = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'client', String(port), String(seconds), String(connections)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((r) => child.on('exit', r));
  const flood = stats(late.splice(0));
  const cpu = process.cpuUsage(cpu0);
  const cpuPercent = +((100 * (cpu.user + cpu.system)) / 1000 / (performance.now() - floodStart)).toFixed(0);
  clearInterval(timer);
  await http.close();
  console.log(JSON.stringify({ mode, instances: INSTANCES, metricsBytes: size, renderMs, connections, seconds, idleLatenessMs: idle, floodLatenessMs: flood, serverCpuPercent: cpuPercent, client: JSON.parse(out || '{}') }, null, 2));
  process.exit(0);
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'client') await client(Number(rest[0]), Number(rest[1]), Number(rest[2]));
else await server(Number(mode ?? 5), Number(rest[0] ?? 64), rest[1] ?? 'bounded');
