/**
 * Scripted LVS probes (src/ports/lvs-probes.ts): no socket is opened. Each `host:port` answers
 * as a test says — refuse, hang (never connects), or accept and run a scripted server that sees
 * what the checker writes and sends bytes back (or trickles them, or never ends). Datagrams,
 * pings and track_file reads answer from tables. Every connection is recorded (with its options)
 * and says whether the checker closed it.
 */
import type { ConnectOptions, ConnectResult, DatagramOptions, DatagramResult, Failure, FileValue, LvsProbes, StreamConnection } from '../../src/ports/index.js';

/** The server side of a fake connection. */
export class FakePeer {
  readonly written: string[] = [];
  closedByChecker = false;
  private queue: (Uint8Array | null | Failure)[] = [];
  /** The next item of `queue` to read (an index, not shift(): a test may queue 10^5 pieces). */
  private head = 0;
  private waiter: ((v: Uint8Array | null | Failure) => void) | undefined;
  onWrite: (data: string, peer: FakePeer) => void = () => {};

  constructor(readonly opts: ConnectOptions) {}

  send(data: string | Uint8Array): void {
    this.deliver(typeof data === 'string' ? new TextEncoder().encode(data) : data);
  }
  end(): void {
    this.deliver(null);
  }
  reset(): void {
    this.deliver({ ok: false, reason: 'error', detail: 'ECONNRESET' });
  }
  private deliver(v: Uint8Array | null | Failure): void {
    if (this.closedByChecker) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(v);
    } else this.queue.push(v);
  }

  readonly connection: StreamConnection = {
    write: (data) => {
      const s = typeof data === 'string' ? data : new TextDecoder().decode(data);
      this.written.push(s);
      this.onWrite(s, this);
    },
    read: () => {
      if (this.closedByChecker) return Promise.resolve(null);
      if (this.head < this.queue.length) {
        const v = this.queue[this.head++]!;
        if (this.head === this.queue.length) {
          this.queue = [];
          this.head = 0;
        }
        return Promise.resolve(v);
      }
      return new Promise((resolve) => (this.waiter = resolve));
    },
    close: () => {
      this.closedByChecker = true;
      const w = this.waiter;
      this.waiter = undefined;
      w?.(null);
    },
  };
}

export type Behaviour =
  | { readonly kind: 'refuse' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'accept'; readonly serve?: (peer: FakePeer) => void };

export class FakeLvsProbes implements LvsProbes {
  readonly connections: FakePeer[] = [];
  readonly connects: ConnectOptions[] = [];
  readonly datagrams: DatagramOptions[] = [];
  readonly pings: string[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  defaultBehaviour: Behaviour = { kind: 'accept' };
  datagramAnswer: (o: DatagramOptions) => DatagramResult = () => ({ ok: false, reason: 'timeout', detail: 'no reply' });
  pingAnswer: (host: string) => { ok: true } | Failure = () => ({ ok: true });
  files = new Map<string, FileValue>();

  /** How `host:port` answers from now on. */
  set(host: string, port: number, b: Behaviour): this {
    this.behaviours.set(`${host}:${port}`, b);
    return this;
  }

  /** An HTTP server answering every request with `response` (a full HTTP response text). */
  static http(response: string | ((request: string) => string)): Behaviour {
    return {
      kind: 'accept',
      serve: (peer) => {
        peer.onWrite = (req, p) => {
          p.send(typeof response === 'string' ? response : response(req));
          p.end();
        };
      },
    };
  }

  connect(o: ConnectOptions): Promise<ConnectResult> {
    this.connects.push(o);
    const b = this.behaviours.get(`${o.host}:${o.port}`) ?? this.defaultBehaviour;
    if (b.kind === 'refuse') return Promise.resolve({ ok: false, reason: 'refused', detail: 'ECONNREFUSED' });
    if (b.kind === 'hang') return new Promise(() => {});
    const peer = new FakePeer(o);
    this.connections.push(peer);
    b.serve?.(peer);
    return Promise.resolve({ ok: true, connection: peer.connection });
  }

  datagram(o: DatagramOptions): Promise<DatagramResult> {
    this.datagrams.push(o);
    return Promise.resolve(this.datagramAnswer(o));
  }

  ping(o: { readonly host: string }): Promise<{ readonly ok: true } | Failure> {
    this.pings.push(o.host);
    return Promise.resolve(this.pingAnswer(o.host));
  }

  readInteger(path: string): Promise<FileValue> {
    return Promise.resolve(this.files.get(path) ?? { ok: false, detail: `${path} missing` });
  }
}
