/**
 * The agent's HTTP endpoints (express): `/metrics` (Prometheus), `/healthz` (and
 * `/healthz?state=master[&instance=NAME]` for load balancers), `/v1/state` (JSON, no secrets),
 * and the routes handed in (the split-brain guard's signed cross-check). Bad requests get a JSON
 * error with what was wrong and are counted; nothing reaches the core. Exact, case-sensitive
 * paths (`/metrics/` and `/METRICS` are 404s). `/metrics` renders at most once per
 * `metricsMinIntervalMs`: scrapes in between get the cached body (so a scrape may show counters up
 * to that old), concurrent scrapes share one render. The listener and its limits: listen.ts.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import type { AgentMetrics } from '../observability/metrics.js';
import type { RouterSnapshot } from '../core/router.js';
import { computeHealth, instanceState, isMasterOf, type HealthReason } from '../observability/health.js';

/** What a handed-in route sees of a request. */
export interface RouteRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The client's address (for logs and metrics). */
  readonly remoteAddress: string;
  /** The socket's local address and port: what the client reached. */
  readonly localAddress: string;
  readonly localPort: number;
}

export interface RouteAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A GET endpoint another part of the agent serves (no query parameters). */
export interface HttpRoute {
  readonly path: string;
  handle(req: RouteRequest): RouteAnswer;
}

export interface HttpDeps {
  readonly metrics: AgentMetrics;
  snapshots(): RouterSnapshot[];
  vipPresent(iface: string, address: string): boolean;
  /** Extra health reasons (the split-brain guard). */
  healthReasons(): HealthReason[];
  /** Extra per-instance fields for /v1/state (e.g. the guard's view). */
  stateExtra?(instance: string): Record<string, unknown>;
  /** Top-level sections of /v1/state besides `instances` (the LVS side: `lvs`). */
  stateSections?(): Record<string, unknown>;
  /** More GET endpoints (the split-brain guard's signed cross-check). */
  readonly routes?: readonly HttpRoute[];
  now(): number;
  readonly startedAt: Date;
  readonly version: string;
}

const QUERY_KEYS: Record<string, readonly string[]> = { '/healthz': ['state', 'instance'], '/v1/state': ['instance'], '/metrics': [] };

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

/** The `handler` label of a request path: a known endpoint (or a handed-in route's), or `other`. */
export function handlerOf(path: string, routes: readonly HttpRoute[] = []): string {
  return Object.keys(QUERY_KEYS).includes(path) || routes.some((r) => r.path === path) ? path : 'other';
}

export function createApp(deps: HttpDeps, limits: { readonly metricsMinIntervalMs: number } = { metricsMinIntervalMs: 1000 }): express.Express {
  const routes = deps.routes ?? [];
  const queryKeys: Record<string, readonly string[]> = { ...QUERY_KEYS, ...Object.fromEntries(routes.map((r) => [r.path, []])) };
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
    const handler = handlerOf(req.path, routes);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return bad(res, handler, 405, `method ${req.method} not allowed; use GET`);
    }
    const allowed = queryKeys[req.path];
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
      ...(deps.stateSections?.() ?? {}),
    });
  });

  for (const route of routes) {
    app.get(route.path, (req, res) => {
      const r = route.handle({ method: 'GET', path: route.path, headers: req.headers, remoteAddress: req.socket.remoteAddress ?? '?', localAddress: req.socket.localAddress ?? '', localPort: req.socket.localPort ?? 0 });
      deps.metrics.httpRequest(route.path, r.status);
      res.status(r.status).set(r.headers).send(r.body);
    });
  }

  app.use((req: Request, res: Response) => bad(res, 'other', 404, `no such endpoint: ${req.path} (try /metrics, /healthz, /v1/state)`));
  // express 5: errors (bad URL encoding...) end here, as JSON, never as a stack trace.
  app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const code = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    bad(res, 'other', code, code === 500 ? 'internal error' : err.message);
  });
  return app;
}

