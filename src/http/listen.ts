/**
 * The HTTP listener around the app (server.ts): what a client can make the server hold or do is
 * bounded here (`HttpLimits`), because the agent's timers share this event loop with VRRP:
 * - requests are paced to `maxRequestsPerSecond`, all endpoints together (bursts of
 *   `requestBurst`; beyond, a request waits for its turn — at most `maxConnections` wait — or
 *   gets a 429), so a flood costs a bounded share of the CPU whatever it asks for; and one client
 *   address gets at most `maxRequestsPerSecondPerClient` of that (beyond, its requests wait for
 *   their own turn first), so a flood from one host leaves room for a load balancer's /healthz and
 *   the peers' cross-checks;
 * - at most `maxConnections` sockets; headers within `headersTimeoutMs` and `maxHeaderBytes`, the
 *   whole request within `requestTimeoutMs`, idle keep-alive sockets closed after
 *   `keepAliveTimeoutMs`, all checked every `connectionsCheckingIntervalMs`.
 * Refusals are counted in keepwatch_http_requests_total: with the endpoint as `handler` when a
 * request was read (429 over the rate), as `handler="connection"` when it never was (431 headers
 * too large, 408 too slow, 400 unparseable, 503 over the connection limit: closed unanswered).
 */
import { STATUS_CODES, createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { createApp, handlerOf, type HttpDeps } from './server.js';

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
  if (!m || port > 65535) throw new Error(`--listen '${text}': expected HOST:PORT, e.g. 0.0.0.0:11200 or [::1]:11200`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
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
        deps.metrics.httpRequest(handlerOf((req.url ?? '').replace(/\?.*$/, ''), deps.routes), 429);
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
