/**
 * The agent's HTTP endpoints (express): `/metrics` (Prometheus), `/healthz` (and
 * `/healthz?state=master[&instance=NAME]` for load balancers), `/v1/state` (JSON, no secrets).
 * Bad requests get a JSON error with what was wrong and are counted; nothing reaches the core.
 *
 * The agent's timers share this event loop with VRRP, so what a client can make the server do is
 * bounded (`HttpLimits`):
 * - requests are paced to `maxRequestsPerSecond`, all endpoints together (bursts of
 *   `requestBurst`; beyond, a request waits for its turn — at most `maxConnections` wait — or
 *   gets a 429), so a flood costs a bounded share of the CPU whatever it asks for; and one client
 *   address gets at most `maxRequestsPerSecondPerClient` of that (beyond, its requests wait for
 *   their own turn first), so a flood from one host leaves room for a load balancer's /healthz and
 *   the peers' cross-checks;
 * - `/metrics` renders at most once per `metricsMinIntervalMs`: scrapes in between get the cached
 *   body (so a scrape may show counters up to that old), concurrent scrapes share one render;
 * - at most `maxConnections` sockets; headers within `headersTimeoutMs` and `maxHeaderBytes`, the
 *   whole request within `requestTimeoutMs`, idle keep-alive sockets closed after
 *   `keepAliveTimeoutMs`, all checked every `connectionsCheckingIntervalMs`;
 * - exact, case-sensitive paths (`/metrics/` and `/METRICS` are 404s).
 * Refusals are counted in keepwatch_http_requests_total: with the endpoint as `handler` when a
 * request was read (429 over the rate), as `handler="connection"` when it never was (431 headers
 * too large, 408 too slow, 400 unparseable, 503 over the connection limit: closed unanswered).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { STATUS_CODES, createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AgentMetrics } from '../observability/metrics.js';
import type { RouterSnapshot } from '../core/router.js';
import { computeHealth, instanceState, isMasterOf, type HealthReason } from '../observability/health.js';
import { GUARD_PATH, type GuardEndpoint } from '../guard/peer-http.js';

export interface HttpDeps {
  readonly metrics: AgentMetrics;
  snapshots(): RouterSnapshot[];
  vipPresent(iface: string, address: string): boolean;
  /** Extra health reasons (the split-brain guard). */
  healthReasons(): HealthReason[];
  /** Extra per-instance fields for /v1/state (e.g. the guard's view). */
  stateExtra?(instance: string): Record<string, unknown>;
  /** The split-brain guard's signed cross-check endpoint. */
  readonly guard?: GuardEndpoint;
  now(): number;
  readonly startedAt: Date;
  readonly version: string;
}

/** What a client can make the server hold or do. */
export interface HttpLimits {
  /** `/metrics` renders at most once per this many ms; scrapes in between get the cached body. */
  readonly metricsMinIntervalMs: number;
  /** Requests handled per second, all endpoints together (Prometheus, load balancers and peers need a few). */
  readonly maxRequestsPerSecond: number;
  /** Requests handled at once after a quiet spell. */
  readonly requestBurst: number;
  /**
   * Requests per second one client address may make (beyond: 429 at once), so one client's flood
   * leaves the shared budget to the others (a load balancer's /healthz, a peer's cross-check).
   */
  readonly maxRequestsPerSecondPerClient: number;
  /** Client addresses tracked for that (least recently seen forgotten beyond). */
  readonly maxTrackedClients: number;
  readonly maxConnections: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** How often Node checks the header and request deadlines. */
  readonly connectionsCheckingIntervalMs: number;
  /** Request line plus headers, bytes. */
  readonly maxHeaderBytes: number;
  /** A socket with no traffic either way for this long is closed (a client that stops reading). */
  readonly idleSocketTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  metricsMinIntervalMs: 1000,
  maxRequestsPerSecond: 100,
  requestBurst: 20,
  maxRequestsPerSecondPerClient: 40,
  maxTrackedClients: 256,
  maxConnections: 64,
  headersTimeoutMs: 2000,
  requestTimeoutMs: 5000,
  keepAliveTimeoutMs: 2000,
  connectionsCheckingIntervalMs: 1000,
  maxHeaderBytes: 8 * 1024,
  idleSocketTimeoutMs: 10_000,
};

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** `HOST:PORT`, `[V6]:PORT` or `:PORT`; throws a clear error otherwise. */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--listen '${text}': expected HOST:PORT, e.g. 0.0.0.0:9650 or [::1]:9650`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

const QUERY_KEYS: Record<string, readonly string[]> = { '/healthz': ['state', 'instance'], '/v1/state': ['instance'], '/metrics': [], [GUARD_PATH]: [] };

/**
 * `render` at most once per `minIntervalMs` (`now`: monotonic ms): callers in between get the last
 * result, callers during a render share it. A failed render is not cached.
 */
export function throttle<T>(render: () => Promise<T>, minIntervalMs: number, now: () => number): () => Promise<T> {
  let last: { atMs: number; value: T } | undefined;
  let inflight: Promise<T> | undefined;
  return () => {
    if (inflight) return inflight;
    const t = now();
    if (last && t - last.atMs < minIntervalMs) return Promise.resolve(last.value);
    inflight = render().then(
      (value) => {
        last = { atMs: t, value };
        inflight = undefined;
        return value;
      },
      (err: unknown) => {
        inflight = undefined;
        throw err;
      },
    );
    return inflight;
  };
}

/**
 * A token bucket: `ratePerSecond` admissions, `burst` at once. Beyond it a caller waits for its
 * turn (first come, first served; at most `maxWaiting` wait) or is refused. `now`: monotonic ms.
 */
export class Pacer {
  private tokens: number;
  private lastMs: number;
  private readonly waiting: { go(): void; gone(): boolean }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly maxWaiting: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.lastMs = now();
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `go` now or in its turn and returns true; false when the queue is full (`go` never runs). `gone`: the caller left meanwhile. */
  admit(go: () => void, gone: () => boolean = () => false): boolean {
    this.refill();
    if (this.waiting.length === 0 && this.tokens >= 1) {
      this.tokens--;
      go();
      return true;
    }
    if (this.waiting.length >= this.maxWaiting) return false;
    this.waiting.push({ go, gone });
    this.schedule();
    return true;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.lastMs) * this.ratePerSecond) / 1000);
    this.lastMs = t;
  }

  private schedule(): void {
    if (this.timer || this.waiting.length === 0) return;
    const waitMs = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.waiting.length > 0 && this.tokens >= 1) {
        const w = this.waiting.shift()!;
        if (w.gone()) continue;
        this.tokens--;
        w.go();
      }
      this.schedule();
    }, waitMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.length = 0;
  }
}

/**
 * One Pacer per client address: a client over its rate waits for its own turn (its keep-alive
 * connections can't send more meanwhile) before it competes for the shared budget. At most
 * `maxClients` addresses are tracked; an idle one (nothing waiting) is forgotten first.
 */
export class ClientPacers {
  private readonly pacers = new Map<string, Pacer>();
  constructor(
    private readonly ratePerSecond: number,
    private readonly maxWaitingPerClient: number,
    private readonly maxClients: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** As Pacer.admit, for one client. */
  admit(client: string, go: () => void, gone: () => boolean = () => false): boolean {
    let p = this.pacers.get(client);
    if (p) this.pacers.delete(client);
    else p = new Pacer(this.ratePerSecond, Math.max(1, this.ratePerSecond / 2), this.maxWaitingPerClient, this.now);
    this.pacers.set(client, p);
    if (this.pacers.size > this.maxClients) {
      for (const [k, v] of this.pacers) {
        if (v.queued > 0) continue;
        this.pacers.delete(k);
        break;
      }
    }
    return p.admit(go, gone);
  }

  get tracked(): number {
    return this.pacers.size;
  }

  stop(): void {
    for (const p of this.pacers.values()) p.stop();
    this.pacers.clear();
  }
}

/** The `handler` label of a request path: a known endpoint, or `other`. */
function handlerOf(path: string): string {
  return Object.keys(QUERY_KEYS).includes(path) ? path : 'other';
}

export function createApp(deps: HttpDeps, limits: Pick<HttpLimits, 'metricsMinIntervalMs'> = DEFAULT_HTTP_LIMITS): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // Exact paths: `/metrics/` and `/METRICS` are 404s, not aliases.
  app.set('strict routing', true);
  app.set('case sensitive routing', true);

  const bad = (res: Response, handler: string, code: number, error: string) => {
    deps.metrics.httpRequest(handler, code);
    res.status(code).json({ error });
  };

  // Only GET/HEAD, only known query keys, each at most once.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const handler = handlerOf(req.path);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return bad(res, handler, 405, `method ${req.method} not allowed; use GET`);
    }
    const allowed = QUERY_KEYS[req.path];
    if (allowed) {
      for (const [k, v] of Object.entries(req.query)) {
        if (!allowed.includes(k)) return bad(res, handler, 400, `unknown query parameter '${k}' for ${req.path}${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`);
        if (typeof v !== 'string') return bad(res, handler, 400, `query parameter '${k}' must be given once`);
      }
    }
    next();
  });

  // One Buffer for every scrape until the next render (no per-response encoding of ~MBs).
  const metrics = throttle(
    async () => {
      const { contentType, body } = await deps.metrics.render();
      return { contentType, body: Buffer.from(body) };
    },
    limits.metricsMinIntervalMs,
    () => deps.now(),
  );
  app.get('/metrics', async (_req, res) => {
    let page: { contentType: string; body: Buffer };
    try {
      page = await metrics();
    } catch {
      return bad(res, '/metrics', 500, 'internal error');
    }
    deps.metrics.httpRequest('/metrics', 200);
    res.setHeader('Content-Type', page.contentType);
    res.send(page.body);
  });

  app.get('/healthz', (req, res) => {
    const q = req.query as Record<string, string>;
    const snaps = deps.snapshots();
    if (q.state !== undefined) {
      if (q.state !== 'master') return bad(res, '/healthz', 400, `state='${q.state}' is not supported: use state=master`);
      const m = isMasterOf(snaps, q.instance);
      const code = m.ok ? 200 : 503;
      deps.metrics.httpRequest('/healthz', code);
      return res.status(code).json({ status: m.ok ? 'master' : 'not-master', reason: m.reason });
    }
    if (q.instance !== undefined) return bad(res, '/healthz', 400, `'instance' is only used with state=master`);
    const h = computeHealth(snaps, deps.healthReasons());
    const code = h.status === 'ok' ? 200 : 503;
    deps.metrics.httpRequest('/healthz', code);
    res.status(code).json({ ...h, version: deps.version, uptimeSeconds: Math.round((Date.now() - deps.startedAt.getTime()) / 1000) });
  });

  app.get('/v1/state', (req, res) => {
    const q = req.query as Record<string, string>;
    let snaps = deps.snapshots();
    if (q.instance !== undefined) {
      snaps = snaps.filter((s) => s.name === q.instance);
      if (snaps.length === 0) return bad(res, '/v1/state', 404, `no vrrp_instance named '${q.instance}'`);
    }
    deps.metrics.httpRequest('/v1/state', 200);
    const now = deps.now();
    res.json({
      version: deps.version,
      time: new Date().toISOString(),
      instances: snaps.map((s) => ({ ...instanceState(s, now, deps.vipPresent), ...(deps.stateExtra?.(s.name) ?? {}) })),
    });
  });

  app.get(GUARD_PATH, (req, res) => {
    if (!deps.guard) return bad(res, GUARD_PATH, 404, 'the split-brain guard cross-check is not enabled on this agent');
    const r = deps.guard.handle({ method: 'GET', path: GUARD_PATH, headers: req.headers, remoteAddress: req.socket.remoteAddress ?? '?', localAddress: req.socket.localAddress ?? '', localPort: req.socket.localPort ?? 0 });
    deps.metrics.httpRequest(GUARD_PATH, r.status);
    res.status(r.status).set(r.headers).send(r.body);
  });

  app.use((req: Request, res: Response) => bad(res, 'other', 404, `no such endpoint: ${req.path} (try /metrics, /healthz, /v1/state)`));
  // express 5: errors (bad URL encoding...) end here, as JSON, never as a stack trace.
  app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const code = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    bad(res, 'other', code, code === 500 ? 'internal error' : err.message);
  });
  return app;
}

/** A request Node refused before express saw it: its status, as Node would answer it. */
function clientErrorStatus(err: NodeJS.ErrnoException): number {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 431;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

const CLIENT_ERROR_TEXT: Record<number, string> = {
  431: 'request headers too large',
  408: 'request not received in time',
  400: 'bad request',
};

export async function startHttp(listen: ListenAddress, deps: HttpDeps, limits: HttpLimits = DEFAULT_HTTP_LIMITS): Promise<{ server: Server; close(): Promise<void> }> {
  const app = createApp(deps, limits);
  const pacer = new Pacer(limits.maxRequestsPerSecond, limits.requestBurst, limits.maxConnections);
  const clients = new ClientPacers(limits.maxRequestsPerSecondPerClient, limits.maxConnections, limits.maxTrackedClients);
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.connectionsCheckingIntervalMs,
    },
    (req, res) => {
      const from = req.socket.remoteAddress ?? '?';
      // This host itself (an operator's curl, a local exporter) is only paced with everyone.
      const local = from === '127.0.0.1' || from === '::1' || from === '::ffff:127.0.0.1';
      const refuse = () => {
        deps.metrics.httpRequest(handlerOf((req.url ?? '').replace(/\?.*$/, '')), 429);
        res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' }).end(JSON.stringify({ error: 'too many requests; retry later' }));
      };
      const gone = () => req.socket.destroyed;
      const shared = () => {
        if (!pacer.admit(() => void app(req, res), gone)) refuse();
      };
      if (local) shared();
      else if (!clients.admit(from, shared, gone)) refuse();
    },
  );
  server.maxConnections = limits.maxConnections;
  server.timeout = limits.idleSocketTimeoutMs;
  // Over maxConnections Node closes the socket at once: counted, nothing else to do.
  (server as NodeJS.EventEmitter).on('drop', () => deps.metrics.httpRequest('connection', 503));
  // Oversized or slow headers, garbage: answered as Node would (JSON body), counted, closed.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return void socket.destroy();
    const code = clientErrorStatus(err);
    deps.metrics.httpRequest('connection', code);
    const inflight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inflight?.headersSent) {
      const body = JSON.stringify({ error: CLIENT_ERROR_TEXT[code] });
      socket.write(`HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot listen on ${listen.host}:${listen.port}: ${err.code === 'EADDRINUSE' ? 'address in use' : err.message}`);
  });
  return {
    server,
    close: () =>
      new Promise<void>((r) => {
        pacer.stop();
        clients.stop();
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
