/**
 * The agent's HTTP endpoints (express): `/metrics` (Prometheus), `/healthz` (and
 * `/healthz?state=master[&instance=NAME]` for load balancers), `/v1/state` (JSON, no secrets).
 * Bad requests get a JSON error with what was wrong and are counted; nothing reaches the core.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Server } from 'node:http';
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

export function createApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const bad = (res: Response, handler: string, code: number, error: string) => {
    deps.metrics.httpRequest(handler, code);
    res.status(code).json({ error });
  };

  // Only GET/HEAD, only known query keys, each at most once.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const handler = Object.keys(QUERY_KEYS).includes(req.path) ? req.path : 'other';
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

  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await deps.metrics.render();
    deps.metrics.httpRequest('/metrics', 200);
    res.setHeader('Content-Type', contentType);
    res.send(body);
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
    const r = deps.guard.handle('GET', GUARD_PATH, req.headers, req.socket.remoteAddress ?? '?');
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

export async function startHttp(listen: ListenAddress, deps: HttpDeps): Promise<{ server: Server; close(): Promise<void> }> {
  const app = createApp(deps);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(listen.port, listen.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  }).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot listen on ${listen.host}:${listen.port}: ${err.code === 'EADDRINUSE' ? 'address in use' : err.message}`);
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  return {
    server,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
