/**
 * Each received BFD packet arrives twice (src/adapters/bfd-udp.ts): from libpcap, with the IP
 * header (the TTL that RFC 5881 §5 checks), and from the UDP socket bound to 3784/4784, after the
 * host's firewall. A packet is used once both copies are in: so a host firewall that drops BFD
 * (nft/iptables INPUT) cuts keepwatch's sessions as it cuts keepalived's, and the TTL is known.
 * Copies are matched by source, port and bytes, oldest first (identical packets repeat every
 * interval; their order is kept). Pure, bounded: at most `cap` copies wait, none longer than
 * `maxAgeMs`; what ages out is counted (`not-delivered`: captured but never reached the socket;
 * `not-captured`: reached the socket but libpcap lost its copy, so its TTL is unknown).
 */
import type { BfdReceiveMeta } from './sessions.js';
import { canonicalAddress } from './sessions.js';

export interface CapturedCopy {
  readonly source: string;
  readonly ttl: number;
  readonly destinationPort: number;
  readonly payload: Uint8Array;
}

export interface SocketCopy {
  readonly source: string;
  readonly destinationPort: number;
  readonly payload: Uint8Array;
}

export type UnpairedReason = 'not-delivered' | 'not-captured';

interface Waiting {
  readonly key: string;
  readonly atMs: number;
  readonly from: 'capture' | 'socket';
  readonly ttl: number;
  readonly source: string;
}

export class ReceivePairer {
  /** Waiting copies in arrival order (the oldest first), and per key. */
  private readonly order: Waiting[] = [];
  private readonly byKey = new Map<string, Waiting[]>();

  constructor(
    private readonly deliver: (payload: Uint8Array, meta: BfdReceiveMeta) => void,
    private readonly unpaired: (reason: UnpairedReason, source: string) => void,
    private readonly now: () => number,
    private readonly cap = 1024,
    private readonly maxAgeMs = 500,
  ) {}

  get waiting(): number {
    return this.order.length;
  }

  fromCapture(c: CapturedCopy): void {
    this.arrive('capture', canonicalAddress(c.source), c.destinationPort, c.payload, c.ttl);
  }

  fromSocket(s: SocketCopy): void {
    this.arrive('socket', canonicalAddress(s.source), s.destinationPort, s.payload, 0);
  }

  private arrive(from: 'capture' | 'socket', source: string, port: number, payload: Uint8Array, ttl: number): void {
    const now = this.now();
    this.expire(now);
    const key = `${source}|${port}|${Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('hex')}`;
    const q = this.byKey.get(key);
    const match = q?.find((w) => w.from !== from);
    if (match) {
      q!.splice(q!.indexOf(match), 1);
      if (q!.length === 0) this.byKey.delete(key);
      this.order.splice(this.order.indexOf(match), 1);
      this.deliver(payload, { source, destinationPort: port, ttl: from === 'capture' ? ttl : match.ttl });
      return;
    }
    if (this.order.length >= this.cap) this.drop(this.order[0]!);
    const w: Waiting = { key, atMs: now, from, ttl, source };
    this.order.push(w);
    if (q) q.push(w);
    else this.byKey.set(key, [w]);
  }

  private expire(now: number): void {
    while (this.order.length > 0 && now - this.order[0]!.atMs > this.maxAgeMs) this.drop(this.order[0]!);
  }

  private drop(w: Waiting): void {
    this.order.shift();
    const q = this.byKey.get(w.key)!;
    q.splice(q.indexOf(w), 1);
    if (q.length === 0) this.byKey.delete(w.key);
    this.unpaired(w.from === 'capture' ? 'not-delivered' : 'not-captured', w.source);
  }
}
