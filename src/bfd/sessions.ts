/**
 * Every configured BFD session, and the demultiplexing of received control packets (RFC 5880
 * §6.8.6, RFC 5881 §5, RFC 5883 §2): a packet reaches a session only when it passes the checks
 * that need none (codec.ts), names one of our discriminators — or, with Your Discriminator 0,
 * comes from a configured neighbour — comes from that session's neighbour, on its port, with an
 * acceptable TTL. Everything else is counted by reason and dropped.
 *
 * Hostile-safe: sessions exist only by configuration (no state is created per source: a flood
 * of forged packets costs one decode and a counter each), and the discriminators are random
 * (a blind attacker must guess 32 bits per session, and also spoof the neighbour's address with
 * TTL 255, which off-link it can't).
 */
import type { BfdInstanceConfig } from '../config/model.js';
import type { BfdDropReason, BfdEvent } from '../events/bfd.js';
import type { Clock } from '../ports/index.js';
import { BFD_MULTIHOP_PORT, BFD_SINGLE_HOP_PORT, decodeControl, ttlAcceptable } from './codec.js';
import { BfdSession, type BfdSessionSnapshot } from './session.js';

/** Where a received payload came from (the adapter reads it from the IP and UDP headers). */
export interface BfdReceiveMeta {
  readonly source: string;
  readonly destinationPort: number;
  /** IPv4 TTL / IPv6 hop limit as received (0: unknown). */
  readonly ttl: number;
}

export interface BfdSetDeps {
  readonly clock: Pick<Clock, 'now' | 'setTimer' | 'clearTimer'>;
  /** Uniform in [0, 1): jitter and discriminators. */
  readonly random: () => number;
  /** Sends one control packet for the session (the adapter owns the socket). */
  send(session: BfdInstanceConfig, bytes: Uint8Array): void;
  emit(e: BfdEvent): void;
}

export interface BfdSessionView extends BfdSessionSnapshot {
  readonly multihop: boolean;
  readonly source?: string;
}

/** A canonical text of an address (IPv6 in lower case; IPv4-mapped IPv6 as IPv4). */
export function canonicalAddress(a: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return m ? m[1]! : a.toLowerCase();
}

export class BfdSessionSet {
  private readonly byName = new Map<string, { cfg: BfdInstanceConfig; session: BfdSession }>();
  private readonly byDiscr = new Map<number, { cfg: BfdInstanceConfig; session: BfdSession }>();

  constructor(
    configs: readonly BfdInstanceConfig[],
    private readonly deps: BfdSetDeps,
  ) {
    for (const cfg of configs) {
      const discr = this.newDiscriminator();
      const session = new BfdSession(
        { name: cfg.name, neighbor: cfg.neighbor, minRxUs: cfg.minRxUs, minTxUs: cfg.minTxUs, idleTxUs: cfg.idleTxUs, multiplier: cfg.multiplier, passive: cfg.passive },
        discr,
        { clock: deps.clock, random: deps.random, send: (bytes) => deps.send(cfg, bytes), emit: (e) => deps.emit(e) },
      );
      const entry = { cfg, session };
      this.byName.set(cfg.name, entry);
      this.byDiscr.set(discr, entry);
    }
  }

  get configs(): BfdInstanceConfig[] {
    return [...this.byName.values()].map((e) => e.cfg);
  }

  session(name: string): BfdSession | undefined {
    return this.byName.get(name)?.session;
  }

  start(): void {
    for (const e of this.byName.values()) e.session.start();
  }

  stop(): void {
    for (const e of this.byName.values()) e.session.stop();
  }

  views(): BfdSessionView[] {
    return [...this.byName.values()].map((e) => ({ ...e.session.snapshot(), multihop: e.cfg.multihop, ...(e.cfg.source ? { source: e.cfg.source } : {}) }));
  }

  /** One received UDP payload on port 3784 or 4784. */
  receive(payload: Uint8Array, meta: BfdReceiveMeta): void {
    const source = canonicalAddress(meta.source);
    const drop = (reason: BfdDropReason, name = ''): void => this.deps.emit({ type: 'bfd-packet-dropped', bfdInstance: name, reason, source, ttl: meta.ttl });
    const d = decodeControl(payload);
    if (!d.ok) return drop(d.reason);
    const p = d.packet;
    const multihop = meta.destinationPort === BFD_MULTIHOP_PORT;
    let entry: { cfg: BfdInstanceConfig; session: BfdSession } | undefined;
    if (p.yourDiscriminator !== 0) {
      entry = this.byDiscr.get(p.yourDiscriminator);
      if (!entry) return drop('no-session');
      if (canonicalAddress(entry.cfg.neighbor) !== source) return drop('wrong-source', entry.cfg.name);
    } else {
      // §6.8.6: Your Discriminator 0 — the session is chosen by the source address (and port).
      for (const e of this.byName.values()) {
        if (canonicalAddress(e.cfg.neighbor) === source && e.cfg.multihop === multihop) {
          entry = e;
          break;
        }
      }
      if (!entry) return drop('no-session');
    }
    const { cfg, session } = entry;
    if ((cfg.multihop ? BFD_MULTIHOP_PORT : BFD_SINGLE_HOP_PORT) !== meta.destinationPort) return drop('wrong-port', cfg.name);
    if (!ttlAcceptable(meta.ttl, cfg.ttl, cfg.maxHops)) return drop('ttl', cfg.name);
    if (session.sessionState === 'admin-down') return drop('admin-down', cfg.name);
    this.deps.emit({ type: 'bfd-packet-received', bfdInstance: cfg.name, poll: p.poll, final: p.final });
    session.receive(p);
  }

  /** A random discriminator, never 0, unique among ours (keepalived bfd_get_random_discr). */
  private newDiscriminator(): number {
    for (;;) {
      const d = Math.floor(this.deps.random() * 0x1_0000_0000) >>> 0;
      if (d !== 0 && !this.byDiscr.has(d)) return d;
    }
  }
}
