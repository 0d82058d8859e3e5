/**
 * The guard's senses that act on the network: ARP probes (RFC 5227) for the IPv4 VIPs and the
 * witness, neighbour solicitations (RFC 4861 §7.2.2) for the IPv6 VIPs, and the signed
 * cross-check polls of peer agents. They report what they find; they decide nothing.
 */
import type { Clock, FrameInjector, InterfaceInfo } from '../ports/index.js';
import { buildArpProbe } from '../protocol/arp.js';
import { buildNeighbourSolicitation } from '../protocol/ndp.js';
import type { GuardPeer } from './config.js';

/** A peer agent's view of one of its instances (the cross-check answer). */
export interface PeerInstance {
  readonly name: string;
  readonly vrid: number;
  readonly family: string;
  readonly state: string;
  readonly priority: number;
  readonly address?: string;
  /** The MAC of that node's interface for the instance: its authenticated identity on the LAN. */
  readonly mac?: string;
  readonly vips: readonly string[];
  readonly held: boolean;
  readonly conflict: boolean;
  /** Whether that node reaches its witness; absent when it has none. */
  readonly witnessUp?: boolean;
}

export interface PeerClient {
  /** GET the peer's cross-check; resolves with its verified instances or rejects with a reason. */
  fetch(peer: GuardPeer, timeoutMs: number): Promise<PeerInstance[]>;
}

/** Probes (ARP and neighbour solicitations together) per second at most (VIPs take turns beyond that). */
export const MAX_PROBES_PER_SECOND = 64;

/**
 * Asks who holds each VIP, at most MAX_PROBES_PER_SECOND; VIPs take turns beyond that. An IPv4
 * address gets an RFC 5227 ARP probe (sender 0.0.0.0: no cache changes); an IPv6 address a
 * neighbour solicitation from the interface's link-local address with our MAC, to the address's
 * solicited-node group. Holders answer both unicast to us, so neither moves any neighbour's entry
 * for the VIP (a DAD-style probe from :: would: its answers go to all nodes; see ndp.ts). No
 * link-local address on the interface (yet): the IPv6 VIPs there are not probed.
 */
export class NeighbourProber {
  /** Probe frames by `mac|target`: one per VIP and interface we own, so bounded by the config. */
  private readonly frames = new Map<string, Uint8Array>();
  private cursor = 0;
  /** How many ticks it takes to probe every target once. */
  rounds = 1;

  constructor(
    private readonly injector: FrameInjector,
    private readonly interfaces: InterfaceInfo,
  ) {}

  /**
   * Probes a share of `targets` (`[interface, address]`) this tick, and always every entry of
   * `always` (the witness). `intervalMs`: the tick period, for the per-second budget.
   */
  probe(targets: readonly (readonly [string, string])[], always: readonly (readonly [string, string])[], intervalMs: number): void {
    const done = new Set<string>();
    const budget = Math.max(1, Math.ceil((MAX_PROBES_PER_SECOND * intervalMs) / 1000));
    const n = Math.min(budget, targets.length);
    for (let k = 0; k < n; k++) {
      const [iface, address] = targets[(this.cursor + k) % targets.length]!;
      this.send(iface, address, done);
    }
    this.cursor = targets.length > 0 ? (this.cursor + n) % targets.length : 0;
    this.rounds = Math.max(1, Math.ceil(targets.length / budget));
    for (const [iface, address] of always) this.send(iface, address, done);
    // Interfaces and VIPs change on reload: keep the cache to what was probed lately.
    if (this.frames.size > 4 * (targets.length + always.length) + 64) this.frames.clear();
  }

  private send(iface: string, target: string, done: Set<string>): void {
    const key = `${iface}|${target}`;
    if (done.has(key)) return;
    done.add(key);
    const mac = this.interfaces.mac(iface);
    if (!mac) return;
    const ipv6 = target.includes(':');
    const linkLocal = ipv6 ? this.interfaces.primaryAddress(iface, 'ipv6') : undefined;
    if (ipv6 && !linkLocal) return;
    const frameKey = `${mac}|${linkLocal ?? ''}|${target}`;
    let frame = this.frames.get(frameKey);
    if (!frame) {
      frame = ipv6 ? buildNeighbourSolicitation(mac, linkLocal!, target) : buildArpProbe(mac, target);
      this.frames.set(frameKey, frame);
    }
    try {
      this.injector.inject(iface, frame);
    } catch {
      /* link down: the fault path handles it */
    }
  }
}

/** The witness: up while it answered one of our ARP probes within three intervals. */
export class WitnessWatch {
  private seenMs = -Infinity;
  private upValue: boolean | undefined;

  constructor(
    readonly address: string,
    private readonly clock: Clock,
  ) {}

  /** An ARP reply from the witness's address arrived. */
  answered(): void {
    this.seenMs = this.clock.now();
  }

  /** Re-evaluates; returns the new value when it changed. */
  update(intervalMs: number): boolean | undefined {
    const up = this.clock.now() - this.seenMs <= 3 * intervalMs;
    if (up === this.upValue) return undefined;
    this.upValue = up;
    return up;
  }

  /** undefined until the first evaluation. */
  get up(): boolean | undefined {
    return this.upValue;
  }
}

export interface PollResult {
  readonly peer: string;
  /** The peer's verified view; undefined when the poll failed. */
  readonly view?: readonly PeerInstance[];
  readonly error?: string;
  /** Set when up/down changed with this poll (the only time it is reported: one line per change). */
  readonly changed?: boolean;
}

/** Polls every configured peer agent's signed cross-check; reports up/down once per change. */
export class PeerPoller {
  private readonly up = new Map<string, boolean>();

  constructor(
    private readonly client: PeerClient,
    private readonly peers: readonly GuardPeer[],
  ) {}

  async poll(timeoutMs: number): Promise<PollResult[]> {
    return Promise.all(
      this.peers.map(async (peer): Promise<PollResult> => {
        const name = `${peer.host}:${peer.port}`;
        try {
          const view = await this.client.fetch(peer, timeoutMs);
          return { peer: name, view, changed: this.set(name, true) };
        } catch (err) {
          return { peer: name, error: err instanceof Error ? err.message : String(err), changed: this.set(name, false) };
        }
      }),
    );
  }

  private set(name: string, up: boolean): boolean {
    if (this.up.get(name) === up) return false;
    this.up.set(name, up);
    return true;
  }
}
