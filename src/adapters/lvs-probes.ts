/**
 * The LVS checkers' host side (src/ports/lvs-probes.ts): TCP and TLS connections (node:net,
 * node:tls), one UDP exchange (node:dgram), an ICMP echo (`ping -c 1 -W`, run without a shell:
 * Node has no raw sockets, and the `raw-socket` module would need a native build), and a bounded
 * read of a track_file's integer.
 *
 * Everything is bounded whatever the real server does: connecting by `timeoutMs`; a connection
 * lives at most CONNECTION_LIFETIME_MS and is cut after IDLE_MS without bytes; it buffers at most
 * MAX_BUFFERED_BYTES not yet read and receives at most MAX_RECEIVED_BYTES in all (then it is
 * destroyed and the read says `too-large`); UDP replies are cut to `maxReplyBytes`; ping output is
 * capped and the process killed at its timeout. TLS certificates are not verified (keepalived's
 * SSL_GET does not verify them either). `bind_if` and a checker's `fwmark` need socket options
 * Node does not offer (SO_BINDTODEVICE, SO_MARK): they are not applied (`unsupported()` says so).
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect as netConnect, isIPv6, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectOptions, ConnectResult, DatagramOptions, DatagramResult, Failure, FileValue, LvsProbes, StreamConnection } from '../ports/index.js';

export const CONNECTION_LIFETIME_MS = 60_000;
export const IDLE_MS = 30_000;
export const MAX_BUFFERED_BYTES = 2 * 1024 * 1024;
export const MAX_RECEIVED_BYTES = 8 * 1024 * 1024;
const PING_OUTPUT_BYTES = 4096;
const FILE_MAX_BYTES = 64;

type CheckFailure = Failure['reason'];

const failure = (reason: CheckFailure, detail: string): Failure => ({ ok: false, reason, detail });

export function errorReason(err: unknown): CheckFailure {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'unreachable';
    default:
      return 'error';
  }
}

const describe = (err: unknown): string => {
  const e = err as { code?: string; message?: string };
  return e.code ? `${e.code}${e.message && !e.message.includes(e.code) ? `: ${e.message}` : ''}` : String(e.message ?? err);
};

/** A socket as a StreamConnection: a queue of chunks, bounded, with one reader at a time. */
class SocketConnection implements StreamConnection {
  private queue: Uint8Array[] = [];
  /** The next chunk of `queue` (an index: shift() is linear in the queue's length). */
  private head = 0;
  private buffered = 0;
  private received = 0;
  private ended = false;
  private failed: Failure | undefined;
  private waiter: ((v: Uint8Array | null | Failure) => void) | undefined;
  private readonly lifetime: NodeJS.Timeout;

  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.received += d.length;
      this.buffered += d.length;
      if (this.received > MAX_RECEIVED_BYTES || this.buffered > MAX_BUFFERED_BYTES) {
        this.fail(failure('too-large', `the server sent over ${this.received > MAX_RECEIVED_BYTES ? MAX_RECEIVED_BYTES : MAX_BUFFERED_BYTES} bytes`));
        return;
      }
      this.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    });
    socket.on('end', () => this.finish());
    socket.on('close', () => this.finish());
    socket.on('error', (err) => this.fail(failure(errorReason(err), describe(err))));
    socket.setTimeout(IDLE_MS, () => this.fail(failure('timeout', `no bytes for ${IDLE_MS} ms`)));
    this.lifetime = setTimeout(() => this.fail(failure('timeout', `connection open over ${CONNECTION_LIFETIME_MS} ms`)), CONNECTION_LIFETIME_MS);
    this.lifetime.unref();
  }

  private push(chunk: Uint8Array): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      this.buffered -= chunk.length;
      w(chunk);
    } else this.queue.push(chunk);
  }

  private next(): Uint8Array | undefined {
    if (this.head >= this.queue.length) return undefined;
    const c = this.queue[this.head++]!;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return c;
  }

  private finish(): void {
    this.ended = true;
    clearTimeout(this.lifetime);
    if (this.waiter && this.head >= this.queue.length) {
      const w = this.waiter;
      this.waiter = undefined;
      w(this.failed ?? null);
    }
  }

  private fail(f: Failure): void {
    this.failed ??= f;
    this.queue = [];
    this.head = 0;
    this.buffered = 0;
    this.socket.destroy();
    this.finish();
  }

  write(data: Uint8Array | string): void {
    if (!this.ended && !this.socket.destroyed) this.socket.write(data);
  }

  read(): Promise<Uint8Array | null | Failure> {
    const chunk = this.next();
    if (chunk) {
      this.buffered -= chunk.length;
      return Promise.resolve(chunk);
    }
    if (this.ended) return Promise.resolve(this.failed ?? null);
    if (this.waiter) return Promise.resolve(failure('error', 'two reads at once'));
    return new Promise((resolve) => (this.waiter = resolve));
  }

  close(): void {
    this.queue = [];
    this.head = 0;
    this.socket.destroy();
    this.finish();
  }
}

export class NodeLvsProbes implements LvsProbes {
  private readonly warned = new Set<string>();

  /** Called once per option Node can't apply (`bind_if`, a checker's `fwmark`): the agent logs it. */
  constructor(private readonly unsupported: (what: string) => void = () => {}) {}

  private once(what: string): void {
    if (this.warned.has(what)) return;
    this.warned.add(what);
    this.unsupported(what);
  }

  connect(o: ConnectOptions): Promise<ConnectResult> {
    if (o.bindInterface !== undefined) this.once('bind_if (SO_BINDTODEVICE) is not applied to LVS checks');
    if (o.fwmark !== undefined) this.once("a checker's fwmark (SO_MARK) is not applied to LVS checks");
    return new Promise((resolve) => {
      let settled = false;
      const base = {
        host: o.host,
        port: o.port,
        ...(o.bindAddress !== undefined ? { localAddress: o.bindAddress } : {}),
        ...(o.bindPort !== undefined ? { localPort: o.bindPort } : {}),
      };
      const socket: Socket = o.tls
        ? tlsConnect({ ...base, rejectUnauthorized: false, ...(o.tls.servername !== undefined ? { servername: o.tls.servername } : {}) })
        : netConnect(base);
      const timer = setTimeout(() => done(failure('timeout', `connect to ${o.host}:${o.port} took over ${o.timeoutMs} ms`)), o.timeoutMs);
      const done = (r: ConnectResult | Failure): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('error', onError);
        if (!r.ok) socket.destroy();
        resolve(r);
      };
      const onError = (err: unknown): void => done(failure(o.tls && !errorReasonIsSocket(err) ? 'error' : errorReason(err), describe(err)));
      socket.once('error', onError);
      socket.once(o.tls ? 'secureConnect' : 'connect', () => done({ ok: true, connection: new SocketConnection(socket) }));
    });
  }

  datagram(o: DatagramOptions): Promise<DatagramResult> {
    return new Promise((resolve) => {
      const sock = createSocket({ type: isIPv6(o.host) ? 'udp6' : 'udp4' });
      let settled = false;
      const done = (r: DatagramResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        try {
          sock.close();
        } catch {
          // already closed
        }
        resolve(r);
      };
      const timer = setTimeout(() => done(failure('timeout', `no reply within ${o.timeoutMs} ms`)), o.timeoutMs);
      sock.on('error', (err) => done(failure(errorReason(err), describe(err))));
      sock.on('message', (msg: Buffer) => {
        const truncated = msg.length > o.maxReplyBytes;
        const reply = Uint8Array.from(truncated ? msg.subarray(0, o.maxReplyBytes) : msg);
        done({ ok: true, reply, truncated });
      });
      const send = (): void =>
        sock.connect(o.port, o.host, (err?: Error) => {
          if (err) return done(failure(errorReason(err), describe(err)));
          sock.send(o.payload, (e) => e && done(failure(errorReason(e), describe(e))));
        });
      if (o.bindAddress !== undefined || o.bindPort !== undefined) sock.bind({ ...(o.bindAddress ? { address: o.bindAddress } : {}), port: o.bindPort ?? 0 }, send);
      else send();
    });
  }

  ping(o: { readonly host: string; readonly timeoutMs: number; readonly bindAddress?: string }): Promise<{ readonly ok: true } | Failure> {
    const waitS = Math.max(1, Math.ceil(o.timeoutMs / 1000));
    const argv = ['-n', '-q', '-c', '1', '-W', String(waitS), ...(isIPv6(o.host) ? ['-6'] : ['-4']), ...(o.bindAddress ? ['-I', o.bindAddress] : []), o.host];
    return new Promise((resolve) => {
      execFile('ping', argv, { timeout: o.timeoutMs + 1000, killSignal: 'SIGKILL', maxBuffer: PING_OUTPUT_BYTES, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } }, (err) => {
        if (!err) return resolve({ ok: true });
        const e = err as { code?: unknown; killed?: boolean };
        if (e.killed) return resolve(failure('timeout', `ping ran over ${o.timeoutMs} ms`));
        if (e.code === 1) return resolve(failure('timeout', `no echo reply within ${waitS} s`));
        if (e.code === 'ENOENT') return resolve(failure('error', 'no ping executable'));
        resolve(failure('unreachable', `ping exit ${String(e.code)}`));
      });
    });
  }

  async readInteger(path: string): Promise<FileValue> {
    let fh;
    try {
      fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
      const st = await fh.stat();
      if (!st.isFile()) return { ok: false, detail: `${path} is not a regular file` };
      const buf = Buffer.alloc(FILE_MAX_BYTES + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      if (bytesRead > FILE_MAX_BYTES) return { ok: false, detail: `${path} holds over ${FILE_MAX_BYTES} bytes` };
      const text = buf.subarray(0, bytesRead).toString('latin1').trim();
      // keepalived reads it with strtol: a leading integer, else 0.
      const m = /^[-+]?\d{1,10}/.exec(text);
      return { ok: true, value: m ? Number(m[0]) : 0 };
    } catch (err) {
      return { ok: false, detail: `${path}: ${describe(err)}` };
    } finally {
      await fh?.close().catch(() => {});
    }
  }
}

/** A TLS handshake failure has no socket errno; a refused TLS connection does. */
function errorReasonIsSocket(err: unknown): boolean {
  return errorReason(err) !== 'error';
}
