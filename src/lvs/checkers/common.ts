/**
 * What every checker shares: its context (the probes port, the process runner, the injected
 * clock), its outcome, and a deadline on the injected clock that bounds a whole check: when it
 * passes, the check ends with `timeout` and whatever it opened is closed (a server that trickles
 * bytes is cut there).
 */
import type { CheckResult } from '../../events/lvs.js';
import type { Clock, ConnectOptions, Failure, LvsProbes, ProcessRunner, RunAs, StreamConnection, TimerHandle } from '../../ports/index.js';
import type { LvsCheckerConfig } from '../../config/model.js';

export interface CheckOutcome {
  readonly result: CheckResult;
  /** For people (`status 503`); never reply bytes. */
  readonly detail?: string;
  /**
   * A new weight for the real server, when the checker sets one: MISC_CHECK with misc_dynamic
   * (exit 2..255 → weight exit-2), FILE_CHECK (the file's value times its weight, added).
   */
  readonly weight?: number;
  /** FILE_CHECK: the value to add to the configured weight (rather than a weight). */
  readonly weightDelta?: number;
}

/** Where the check goes: the real server, or `connect_ip` / `connect_port`. */
export interface CheckTarget {
  readonly address: string;
  readonly port?: number;
  /** The real server's configured weight (FILE_CHECK, misc_dynamic bounds). */
  readonly weight: number;
}

export interface CheckContext {
  readonly probes: LvsProbes;
  readonly processes: ProcessRunner;
  readonly clock: Clock;
  /** The ids MISC_CHECK's `user` names (resolved by the caller), or undefined: run as ourselves. */
  readonly runAs?: RunAs;
  /** FILE_CHECK: the track_file's path, weight and reverse (config trackFiles). */
  readonly trackFile?: { readonly path: string; readonly weight: number; readonly reverse: boolean };
}

export type Checker = (config: LvsCheckerConfig, target: CheckTarget, ctx: CheckContext) => Promise<CheckOutcome>;

/** Replies are read up to this many bytes (headers of a status line, an SMTP banner, ...). */
export const LINE_CAP_BYTES = 16 * 1024;
/** HTTP bodies are read (for `digest`) up to this; a longer body fails the check (`too-large`). */
export const BODY_CAP_BYTES = 1024 * 1024;

export const fail = (result: Exclude<CheckResult, 'ok'>, detail: string): CheckOutcome => ({ result, detail });
export const ok = (detail?: string): CheckOutcome => (detail === undefined ? { result: 'ok' } : { result: 'ok', detail });
export const fromFailure = (f: Failure): CheckOutcome => ({ result: f.reason, detail: f.detail });

/** What `Deadline.race` gives once the deadline has passed. */
export const TIMEOUT: unique symbol = Symbol('timeout');

/** A deadline on the injected clock. `race(p)` settles with p or, once it passes, with TIMEOUT. */
export class Deadline {
  private handle: TimerHandle | undefined;
  private fire!: () => void;
  readonly passed: Promise<typeof TIMEOUT>;
  expired = false;
  private readonly onExpire: (() => void)[] = [];

  constructor(private readonly clock: Clock, readonly ms: number) {
    this.passed = new Promise((resolve) => {
      this.fire = () => {
        this.expired = true;
        // Settle first: a read that ends because of the closes below must lose the race.
        resolve(TIMEOUT);
        for (const w of this.waiting) w(TIMEOUT);
        this.waiting.clear();
        for (const f of this.onExpire) f();
      };
    });
    this.handle = clock.setTimer(ms, () => this.fire());
  }

  /** Runs `fn` when the deadline passes (closing a connection). */
  whenExpired(fn: () => void): void {
    if (this.expired) fn();
    else this.onExpire.push(fn);
  }

  private readonly waiting = new Set<(v: typeof TIMEOUT) => void>();

  /**
   * `p`, or TIMEOUT once the deadline passes. (Not Promise.race on `passed`: every race would leave
   * a reaction on it until the deadline, 10^5 of them for a server that sends byte by byte.)
   */
  race<T>(p: Promise<T>): Promise<T | typeof TIMEOUT> {
    if (this.expired) return Promise.resolve(TIMEOUT);
    return new Promise<T | typeof TIMEOUT>((resolve, reject) => {
      this.waiting.add(resolve);
      p.then(
        (v) => {
          this.waiting.delete(resolve);
          resolve(v);
        },
        (e: unknown) => {
          this.waiting.delete(resolve);
          reject(e);
        },
      );
    });
  }

  cancel(): void {
    if (this.handle) this.clock.clearTimer(this.handle);
    this.handle = undefined;
  }
}


/**
 * Reads from `conn` until `done(buffer, from)` says enough (`from`: where the bytes new since the
 * last call start, so a test need only look at the tail), end of stream, the byte cap, or the
 * deadline. The buffer grows by doubling: linear in the bytes read however small the pieces a
 * hostile server sends. Returns what was read, or why it stopped short.
 */
export async function readUntil(
  conn: StreamConnection,
  deadline: Deadline,
  capBytes: number,
  done: (buf: Uint8Array, from: number) => boolean,
): Promise<{ readonly ok: true; readonly data: Uint8Array; readonly ended: boolean } | { readonly ok: false; readonly outcome: CheckOutcome }> {
  let store = new Uint8Array(Math.min(4096, capBytes + 1));
  let size = 0;
  for (;;) {
    const r = await deadline.race(conn.read());
    if (r === TIMEOUT || deadline.expired) return { ok: false, outcome: fail('timeout', `no complete reply within ${deadline.ms} ms (${size} bytes read)`) };
    if (r === null) return { ok: true, data: store.subarray(0, size), ended: true };
    if (!(r instanceof Uint8Array)) return { ok: false, outcome: fromFailure(r) };
    if (size + r.length > capBytes) return { ok: false, outcome: fail('too-large', `reply over ${capBytes} bytes`) };
    if (size + r.length > store.length) {
      const grown = new Uint8Array(Math.min(capBytes, Math.max(store.length * 2, size + r.length)));
      grown.set(store.subarray(0, size));
      store = grown;
    }
    store.set(r, size);
    const from = size;
    size += r.length;
    if (done(store.subarray(0, size), from)) return { ok: true, data: store.subarray(0, size), ended: false };
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/**
 * Connects within the deadline; a connection that opens after it passed is closed at once (no
 * socket is left behind by a check that gave up).
 */
export async function connectWithin(probes: LvsProbes, opts: ConnectOptions, deadline: Deadline): Promise<{ readonly ok: true; readonly connection: StreamConnection } | { readonly ok: false; readonly outcome: CheckOutcome }> {
  const p = probes.connect(opts);
  const r = await deadline.race(p);
  if (r === TIMEOUT) {
    void p.then((late) => late.ok && late.connection.close());
    return { ok: false, outcome: fail('timeout', `connect to ${opts.host}:${opts.port} took over ${deadline.ms} ms`) };
  }
  if (!r.ok) return { ok: false, outcome: fromFailure(r) };
  deadline.whenExpired(() => r.connection.close());
  return r;
}

/** Where a checker connects: connect_ip / connect_port, else the real server's. */
export function destination(c: LvsCheckerConfig, t: CheckTarget): { host: string; port: number | undefined } {
  return { host: c.connectIp ?? t.address, port: c.connectPort ?? t.port };
}

/** The connect options of a checker (bindto, bind_port, bind_if, fwmark). */
export function connectOptions(c: LvsCheckerConfig, host: string, port: number, tls?: { servername?: string }): ConnectOptions {
  return {
    host,
    port,
    timeoutMs: c.connectTimeoutMs,
    ...(c.bindTo !== undefined ? { bindAddress: c.bindTo } : {}),
    ...(c.bindPort !== undefined ? { bindPort: c.bindPort } : {}),
    ...(c.bindInterface !== undefined ? { bindInterface: c.bindInterface } : {}),
    ...(c.fwmark !== undefined ? { fwmark: c.fwmark } : {}),
    ...(tls ? { tls } : {}),
  };
}
