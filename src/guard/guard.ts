/**
 * The split-brain guard: detects a second holder of our VIPs, decides with `arbitrate()` which node
 * keeps them, holds the loser out while the winner is seen, and lets it back when the winner goes
 * silent (after the normal Master_Down_Interval) or when VRRP works again.
 *
 * Detection, each source on its own:
 * - `pcap`: while master (or held), adverts for our VRID from another node that our checks discard
 *   (auth, version, interval...: the peers can't agree), or a lower-priority master that keeps
 *   advertising although we answer it (it does not hear us). pcap sees frames before the host
 *   firewall, so a local INPUT drop does not blind it.
 * - `arp`: while master (or held), an RFC 5227 probe for each VIP every interval; an ARP reply or
 *   gratuitous ARP for a VIP from a MAC that is not ours means another holder. Works against any
 *   peer, plain keepalived included.
 * - `peer`: signed cross-check over the management path: a peer agent that reports MASTER for the
 *   same VRID and VIPs. Works when VRRP between the nodes is cut entirely.
 *
 * The guard decides; the router acts (`hold`, `releaseHold`, `announce`), through its one
 * transition function. Everything the guard does is an event for metrics, traces, alerts and logs.
 */
import type { VrrpRouter } from '../core/router.js';
import type { CoreEvent, EventBus } from '../core/events.js';
import type { HostEvent } from '../agent.js';
import type { Clock, FrameInjector, InterfaceInfo, TimerHandle } from '../ports/index.js';
import type { DropReason } from '../protocol/check.js';
import { buildArpProbe, buildGratuitousArp, claimsAddress, parseArp, ARP_REPLY } from '../protocol/arp.js';
import { parseEthernet } from '../protocol/frame.js';
import { compareIp } from '../protocol/inet.js';
import { arbitrate, type NodeFacts, type Verdict } from './arbitration.js';
import type { DetectionSource, GuardConfig, GuardPeer } from './config.js';
import type { RejectReason } from './signing.js';

/** ARP probes per second at most (VIPs take turns beyond that). */
const MAX_PROBES_PER_SECOND = 64;

/** Drop reasons that mean "another node runs our VRID and we cannot agree with it". */
const CONFLICT_DROPS: ReadonlySet<DropReason> = new Set(['auth-mismatch', 'auth-type-mismatch', 'version-mismatch', 'interval-mismatch', 'unicast-source-unknown']);

/** What one source saw: another node holding our VIP or mastering our VRID. */
export interface Evidence {
  readonly source: DetectionSource;
  readonly atMs: number;
  readonly mac?: string;
  readonly address?: string;
  readonly priority?: number;
  readonly detail: string;
}

/** A peer agent's view of one of its instances (the cross-check answer). */
export interface PeerInstance {
  readonly name: string;
  readonly vrid: number;
  readonly family: string;
  readonly state: string;
  readonly priority: number;
  readonly address?: string;
  readonly vips: readonly string[];
  readonly held: boolean;
  readonly conflict: boolean;
  /** Whether that node reaches its witness; absent when it has none. */
  readonly witnessUp?: boolean;
}

export type GuardEvent =
  | { readonly type: 'guard-detection'; readonly instance: string; readonly vrid: number; readonly evidence: Evidence }
  | { readonly type: 'guard-conflict'; readonly instance: string; readonly vrid: number; readonly active: boolean; readonly sources: readonly DetectionSource[]; readonly atMs: number; readonly wallMs: number }
  | { readonly type: 'guard-decision'; readonly instance: string; readonly vrid: number; readonly verdict: Verdict; readonly evidence: Evidence; readonly self: NodeFacts; readonly other: NodeFacts; readonly atMs: number; readonly wallMs: number }
  | { readonly type: 'guard-release'; readonly instance: string; readonly vrid: number; readonly reason: string; readonly atMs: number }
  | { readonly type: 'guard-peer'; readonly peer: string; readonly up: boolean; readonly error?: string }
  | { readonly type: 'guard-witness'; readonly up: boolean }
  | { readonly type: 'guard-rejected'; readonly reason: RejectReason; readonly from: string };

export interface PeerClient {
  /** GET the peer's cross-check; resolves with its verified instances or rejects with a reason. */
  fetch(peer: GuardPeer, timeoutMs: number): Promise<PeerInstance[]>;
}

export interface GuardDeps {
  readonly config: GuardConfig;
  routers(): readonly VrrpRouter[];
  /** Lookup by name (faster than scanning routers() for every packet); optional. */
  router?(name: string): VrrpRouter | undefined;
  readonly core: EventBus<CoreEvent>;
  readonly host: EventBus<HostEvent>;
  readonly events: EventBus<GuardEvent>;
  readonly clock: Clock;
  readonly frames: FrameInjector;
  readonly interfaces: InterfaceInfo;
  readonly peers?: PeerClient;
}

interface TrackedEvidence extends Evidence {
  firstAtMs: number;
  count: number;
  confirmed: boolean;
}

interface KnownPeer {
  address: string;
  priority: number;
  atMs: number;
}

interface InstanceGuard {
  /** Other nodes seen advertising this VRID: MAC → last advert (accepted or dropped). */
  readonly byMac: Map<string, KnownPeer>;
  readonly byAddress: Map<string, KnownPeer>;
  /** Evidence of another holder, by who (MAC or address). */
  readonly evidence: Map<string, TrackedEvidence>;
  /** Peers (cross-check) that report being held out for this VRID (the winner's view). */
  readonly peerHeld: Map<string, number>;
  /** The witness reachability peer agents report, by their address (from the cross-check). */
  readonly peerWitness: Map<string, { up: boolean; atMs: number }>;
  lowerPrio: Map<string, { count: number; firstMs: number }>;
  /** Discarded adverts per source in the current second (flood filter). */
  readonly rates: Map<string, { startMs: number; count: number }>;
  conflict: boolean;
  conflictSources: Set<DetectionSource>;
  clearSinceMs: number | undefined;
  heldSinceMs: number | undefined;
  lastReleaseMs: number;
  /** This hold must last at least until then (hold-down after a re-demotion). */
  holdUntilMs: number;
  lastEvidenceMs: number;
  announcedForConflict: boolean;
}

export class SplitBrainGuard {
  private readonly state = new Map<string, InstanceGuard>();
  private timer: TimerHandle | undefined;
  private witnessSeenMs = -Infinity;
  private witnessUp: boolean | undefined;
  private readonly peerUp = new Map<string, boolean>();
  private stopped = false;
  private readonly probes = new Map<string, Uint8Array>();
  private probeCursor = 0;
  /** How many ticks it takes to probe every VIP once. */
  private probeRounds = 1;

  constructor(private readonly deps: GuardDeps) {
    const { core, host } = deps;
    core.on('advert-received', (e) => {
      const g = this.guardOf(e.instance);
      const r = this.router(e.instance);
      if (!g || !r) return;
      const now = e.atMs;
      if (e.sourceMac) this.remember(g, e.sourceMac, e.source, e.priority, now);
      if (e.priority === 0) return;
      // The winner's adverts reach us again: VRRP works, VRRP decides — unless we yielded to a
      // lower priority because we can't reach the witness and still can't (then the master that
      // reaches it is the better one; we stay out until the witness answers us again).
      if (r.held !== undefined && (e.priority >= r.effectivePriority || this.witnessUp !== false)) {
        this.release(r, g, 'VRRP adverts from the master are received again', now);
        return;
      }
      if (e.state !== 'master' || !this.deps.config.sources.has('pcap')) return;
      const mine = r.effectivePriority;
      const ours = r.sourceAddress();
      const lower = e.priority < mine || (e.priority === mine && ours !== undefined && compareIp(e.source, ours) < 0);
      if (!lower) return;
      // We answer every lower-priority advert at once; a master that keeps advertising does not hear us.
      const key = e.source;
      const lp = g.lowerPrio.get(key);
      const windowMs = 3 * r.config.advertIntervalMs + 50;
      if (!lp || now - lp.firstMs > windowMs * 2) g.lowerPrio.set(key, { count: 1, firstMs: now });
      else if (++lp.count >= 3 && now - lp.firstMs >= r.config.advertIntervalMs) {
        this.detect(r, g, { source: 'pcap', atMs: now, ...(e.sourceMac ? { mac: e.sourceMac } : {}), address: e.source, priority: e.priority, detail: `a lower-priority master (${e.source}, priority ${e.priority}) keeps advertising: it does not hear our adverts` });
      }
    });
    core.on('advert-dropped', (e) => {
      if (!e.instance) return;
      const g = this.guardOf(e.instance);
      const r = this.router(e.instance);
      if (!g || !r || e.priority === undefined) return;
      if (e.sourceMac) this.remember(g, e.sourceMac, e.source, e.priority, e.atMs);
      if (!CONFLICT_DROPS.has(e.reason) || !this.deps.config.sources.has('pcap') || e.priority === 0) return;
      if (r.state !== 'master' && r.held === undefined) return;
      // A real router advertises once per interval; a source sending far more is a flood (or a
      // forgery): its packets stay counted as drops, never evidence.
      if (!this.plausibleRate(g, e.source, e.atMs, r.config.advertIntervalMs)) return;
      this.detect(r, g, { source: 'pcap', atMs: e.atMs, ...(e.sourceMac ? { mac: e.sourceMac } : {}), address: e.source, priority: e.priority, detail: `adverts for our VRID from ${e.source} (priority ${e.priority}) are discarded: ${e.reason}` });
    });
    core.on('state-changed', (e) => {
      const g = this.guardOf(e.instance);
      if (!g) return;
      if (e.to === 'master') {
        g.lowerPrio.clear();
        g.announcedForConflict = false;
      }
    });
    host.on('frame', (e) => {
      if (e.outcome.kind === 'arp') this.onArp(e.interface, e.outcome.ethernet);
    });
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.tick();
      this.timer = this.deps.clock.setTimer(this.deps.config.intervalMs, tick);
    };
    this.timer = this.deps.clock.setTimer(this.deps.config.intervalMs, tick);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.deps.clock.clearTimer(this.timer);
  }

  /** Whether a conflict is flagged for an instance (the `keepwatch_split_brain` gauge). */
  conflict(instance: string): boolean {
    return this.state.get(instance)?.conflict ?? false;
  }

  /** Health reasons: conflicts and held instances. */
  healthReasons(): { instance: string; cause: string }[] {
    const out: { instance: string; cause: string }[] = [];
    for (const r of this.deps.routers()) {
      const g = this.state.get(r.name);
      if (r.held !== undefined) out.push({ instance: r.name, cause: `held out by the split-brain guard: ${r.held}` });
      else if (g?.conflict) out.push({ instance: r.name, cause: `split brain: another node holds or masters VRID ${r.config.vrid} (${[...g.conflictSources].join(', ')})` });
    }
    return out;
  }

  /** /v1/state extra fields. */
  stateOf(instance: string): Record<string, unknown> {
    const g = this.state.get(instance);
    const r = this.router(instance);
    return {
      guard: {
        conflict: g?.conflict ?? false,
        held: r?.held ?? null,
        sources: g ? [...g.conflictSources] : [],
        evidence: g ? [...g.evidence.values()].map((e) => ({ source: e.source, mac: e.mac ?? null, address: e.address ?? null, priority: e.priority ?? null, detail: e.detail, ageMs: Math.round(this.deps.clock.now() - e.atMs) })) : [],
      },
    };
  }

  /** What this node tells its peers (the body of a cross-check answer). */
  localView(): PeerInstance[] {
    return this.deps.routers().map((r) => ({
      name: r.name,
      vrid: r.config.vrid,
      family: r.config.family,
      state: r.state,
      priority: r.effectivePriority,
      ...(r.sourceAddress() ? { address: r.sourceAddress()! } : {}),
      vips: r.config.virtualAddresses.map((v) => v.address),
      held: r.held !== undefined,
      conflict: this.state.get(r.name)?.conflict ?? false,
      ...(this.deps.config.witness ? { witnessUp: this.witnessUp ?? true } : {}),
    }));
  }

  // --- sources ---------------------------------------------------------------------------

  private onArp(iface: string, eth: NonNullable<ReturnType<typeof parseEthernet>>): void {
    const arp = parseArp(eth);
    if (!arp) return;
    const now = this.deps.clock.now();
    const witness = this.deps.config.witness;
    if (witness && arp.senderIp === witness && arp.op === ARP_REPLY) this.witnessSeenMs = now;
    if (!this.deps.config.sources.has('arp') || !claimsAddress(arp, arp.senderIp)) return;
    const ours = this.deps.interfaces.mac(iface);
    if (arp.senderMac === ours) return;
    for (const r of this.deps.routers()) {
      if (r.state !== 'master' && r.held === undefined) continue;
      const vip = r.config.virtualAddresses.find((v) => v.address === arp.senderIp && (v.device ?? r.config.interface) === iface);
      if (!vip) continue;
      const g = this.guardOf(r.name)!;
      const known = g.byMac.get(arp.senderMac);
      this.detect(r, g, {
        source: 'arp',
        atMs: now,
        mac: arp.senderMac,
        ...(known ? { address: known.address, priority: known.priority } : {}),
        detail: `${arp.op === ARP_REPLY ? 'ARP reply' : 'gratuitous ARP'}: ${vip.address} is at ${arp.senderMac}${known ? ` (${known.address}, priority ${known.priority} in its last advert)` : ''}`,
      });
    }
  }

  private async pollPeers(): Promise<void> {
    const client = this.deps.peers;
    if (!client || !this.deps.config.sources.has('peer')) return;
    await Promise.all(
      this.deps.config.peers.map(async (peer) => {
        const name = `${peer.host}:${peer.port}`;
        let view: PeerInstance[];
        try {
          view = await client.fetch(peer, Math.max(200, this.deps.config.intervalMs * 0.9));
        } catch (err) {
          this.setPeerUp(name, false, (err as Error).message);
          return;
        }
        this.setPeerUp(name, true);
        const now = this.deps.clock.now();
        for (const r of this.deps.routers()) {
          const g = this.guardOf(r.name)!;
          const mine = new Set(r.config.virtualAddresses.map((v) => v.address));
          const theirs = view.find((p) => p.vrid === r.config.vrid && p.family === r.config.family && p.vips.some((v) => mine.has(v)));
          if (!theirs) continue;
          if (theirs.address) this.remember(g, undefined, theirs.address, theirs.priority, now);
          if (theirs.held) g.peerHeld.set(name, now);
          // Arbitration needs the other side's witness reachability as much as ours: without it
          // the node that reaches the witness would yield to the isolated one on priority.
          if (theirs.address) {
            if (theirs.witnessUp === undefined) g.peerWitness.delete(theirs.address);
            else g.peerWitness.set(theirs.address, { up: theirs.witnessUp, atMs: now });
          }
          if (theirs.state === 'master' && (r.state === 'master' || r.held !== undefined)) {
            this.detect(r, g, { source: 'peer', atMs: now, ...(theirs.address ? { address: theirs.address } : {}), priority: theirs.priority, detail: `peer agent ${name} reports MASTER for VRID ${theirs.vrid} (${theirs.name}, priority ${theirs.priority})` });
          }
        }
      }),
    );
  }

  private setPeerUp(name: string, up: boolean, error?: string): void {
    if (this.peerUp.get(name) === up && up) return;
    this.peerUp.set(name, up);
    this.deps.events.emit({ type: 'guard-peer', peer: name, up, ...(error ? { error } : {}) });
  }

  // --- evaluation ------------------------------------------------------------------------

  private tick(): void {
    const now = this.deps.clock.now();
    // Probes: for each VIP we hold or are held out of, and the witness.
    const probed = new Set<string>();
    const targets: [string, string][] = [];
    if (this.deps.config.sources.has('arp')) {
      for (const r of this.deps.routers()) {
        if (r.state !== 'master' && r.held === undefined) continue;
        for (const v of r.config.virtualAddresses) if (v.family === 'ipv4') targets.push([v.device ?? r.config.interface, v.address]);
      }
    }
    // At most MAX_PROBES_PER_SECOND: with many VIPs they take turns (each is still probed every
    // few intervals), so a 255-instance node does not spend its CPU on probes.
    const budget = Math.max(1, Math.ceil((MAX_PROBES_PER_SECOND * this.deps.config.intervalMs) / 1000));
    for (let k = 0; k < Math.min(budget, targets.length); k++) {
      const [iface, vip] = targets[(this.probeCursor + k) % targets.length]!;
      this.probe(iface, vip, probed);
    }
    this.probeCursor = targets.length > 0 ? (this.probeCursor + Math.min(budget, targets.length)) % targets.length : 0;
    this.probeRounds = Math.max(1, Math.ceil(targets.length / budget));
    const witness = this.deps.config.witness;
    if (witness) {
      for (const r of this.deps.routers()) this.probe(r.config.interface, witness, probed);
      const up = now - this.witnessSeenMs <= 3 * this.deps.config.intervalMs;
      if (up !== this.witnessUp) {
        this.witnessUp = up;
        this.deps.events.emit({ type: 'guard-witness', up });
      }
    }
    void this.pollPeers().then(() => {
      for (const r of this.deps.routers()) this.evaluate(r);
    });
    for (const r of this.deps.routers()) this.evaluate(r);
  }

  private probe(iface: string, target: string, done: Set<string>): void {
    const key = `${iface}|${target}`;
    if (done.has(key)) return;
    done.add(key);
    const mac = this.deps.interfaces.mac(iface);
    if (!mac) return;
    const probeKey = `${mac}|${target}`;
    let frame = this.probes.get(probeKey);
    if (!frame) {
      frame = buildArpProbe(mac, target);
      this.probes.set(probeKey, frame);
    }
    try {
      this.deps.frames.inject(iface, frame);
    } catch {
      /* link down: the fault path handles it */
    }
  }

  /** How long evidence stays fresh: the winner must be seen at least this often to hold us out. */
  private freshMs(r: VrrpRouter): number {
    return Math.max(2.5 * this.deps.config.intervalMs * this.probeRounds, r.masterDownIntervalMs);
  }

  /**
   * A sighting counts once it is seen again a moment later (a second probe answer, a second
   * discarded advert): a normal preemption leaves the old master holding the VIP for a few
   * milliseconds, which must not raise a conflict.
   */
  private confirmMs(r: VrrpRouter, source: DetectionSource): number {
    return 0.8 * (source === 'pcap' ? r.config.advertIntervalMs : this.deps.config.intervalMs);
  }

  private detect(r: VrrpRouter, g: InstanceGuard, ev: Evidence): void {
    const key = `${ev.source}:${ev.mac ?? ev.address ?? '?'}`;
    const prev = g.evidence.get(key);
    const continued = prev !== undefined && ev.atMs - prev.atMs <= this.freshMs(r);
    const entry: TrackedEvidence = { ...ev, firstAtMs: continued ? prev.firstAtMs : ev.atMs, count: continued ? prev.count + 1 : 1, confirmed: false };
    entry.confirmed = (continued && prev.confirmed) || (entry.count >= 2 && entry.atMs - entry.firstAtMs >= this.confirmMs(r, ev.source));
    g.evidence.set(key, entry);
    g.lastEvidenceMs = Math.max(g.lastEvidenceMs, ev.atMs);
    if (entry.confirmed && !(continued && prev.confirmed)) this.deps.events.emit({ type: 'guard-detection', instance: r.name, vrid: r.config.vrid, evidence: ev });
    this.evaluate(r);
  }

  private evaluate(r: VrrpRouter): void {
    const g = this.guardOf(r.name);
    if (!g) return;
    const now = this.deps.clock.now();
    const fresh = this.freshMs(r);
    for (const [k, e] of g.evidence) if (now - e.atMs > fresh) g.evidence.delete(k);
    for (const [k, t] of g.peerHeld) if (now - t > fresh) g.peerHeld.delete(k);
    const seen = [...g.evidence.values()];
    const evidence = seen.filter((e) => e.confirmed);

    if (r.state === 'master' && evidence.length > 0) {
      const wall = this.deps.clock.wallNow();
      this.setConflict(r, g, true, evidence, now);
      // Adverts alone (pcap) flag the conflict but never demote: anyone on the LAN can forge them.
      // A yield needs another holder answering ARP for the VIP, or a signed peer agent.
      const corroborated = evidence.filter((e) => e.source === 'arp' || e.source === 'peer');
      if (corroborated.length === 0) {
        if (!g.announcedForConflict) {
          g.announcedForConflict = true;
          const best = this.strongest(g, evidence);
          const self = { priority: r.effectivePriority, address: r.sourceAddress() ?? '0.0.0.0' };
          const verdict: Verdict = { decision: 'keep', reason: 'adverts only, no other holder seen by ARP or a peer agent (adverts can be forged; they never demote)' };
          this.deps.events.emit({ type: 'guard-decision', instance: r.name, vrid: r.config.vrid, verdict, evidence: best, self, other: {}, atMs: now, wallMs: wall });
        }
        return;
      }
      const best = this.strongest(g, corroborated, evidence);
      const self: Required<Pick<NodeFacts, 'priority' | 'address'>> & NodeFacts = {
        priority: r.effectivePriority,
        address: r.sourceAddress() ?? '0.0.0.0',
        ...(this.deps.config.witness ? { witnessUp: this.witnessUp ?? true } : {}),
      };
      const theirWitness = best.address ? g.peerWitness.get(best.address) : undefined;
      const other: NodeFacts = {
        ...(best.priority !== undefined ? { priority: best.priority } : {}),
        ...(best.address ? { address: best.address } : {}),
        ...(theirWitness && now - theirWitness.atMs <= fresh ? { witnessUp: theirWitness.up } : {}),
      };
      const verdict = arbitrate(self, other, this.deps.config.unknownPeerPolicy);
      if (verdict.decision === 'yield') {
        // Re-demoted soon after a release: flapping; stay out at least hold_down this time.
        const flapping = now - g.lastReleaseMs < this.deps.config.holdDownMs;
        g.holdUntilMs = flapping ? now + this.deps.config.holdDownMs : 0;
        g.heldSinceMs = now;
        this.deps.events.emit({ type: 'guard-decision', instance: r.name, vrid: r.config.vrid, verdict, evidence: best, self, other, atMs: now, wallMs: wall });
        r.hold(`${verdict.reason}; evidence: ${best.detail}`);
        this.handBack(r, best);
      } else if (!g.announcedForConflict) {
        g.announcedForConflict = true;
        this.deps.events.emit({ type: 'guard-decision', instance: r.name, vrid: r.config.vrid, verdict, evidence: best, self, other, atMs: now, wallMs: wall });
        // Keep the VIP and win the neighbours' ARP caches back.
        r.announce();
      }
      return;
    }
    if (r.held !== undefined) {
      this.setConflict(r, g, true, evidence, now);
      // Holding out needs the winner seen, confirmed or not.
      const winnerSeen = seen.length > 0;
      if (!winnerSeen && now >= g.holdUntilMs) this.release(r, g, 'the winner is no longer seen holding the VIP', g.lastEvidenceMs);
      return;
    }
    // Not master, not held: a winner that sees its peer held still flags the conflict.
    const peerHeld = r.state === 'master' && g.peerHeld.size > 0;
    this.setConflict(r, g, peerHeld, evidence, now);
  }

  /**
   * After yielding, point the neighbours at the node that keeps the VIP (our takeover GARPs sent
   * them to us): a gratuitous ARP announcing its MAC, when we know it from its ARP answers.
   */
  private handBack(r: VrrpRouter, winner: Evidence): void {
    if (!winner.mac) return;
    for (const v of r.config.virtualAddresses) {
      if (v.family !== 'ipv4') continue;
      const iface = v.device ?? r.config.interface;
      const mac = this.deps.interfaces.mac(iface);
      if (!mac) continue;
      try {
        this.deps.frames.inject(iface, buildGratuitousArp(mac, v.address, winner.mac));
      } catch {
        /* link down */
      }
    }
  }

  /**
   * The evidence that says most about the other node: known priority first, then the newest.
   * What the other sources saw of the same MAC or address (its adverts, even discarded ones, and
   * the adverts captured before) fills in its priority and address.
   */
  private strongest(g: InstanceGuard, candidates: Evidence[], all: Evidence[] = candidates): Evidence {
    const enriched = candidates.map((e) => {
      if (e.priority !== undefined && e.address !== undefined) return e;
      const same = all.find((x) => x !== e && x.priority !== undefined && ((e.mac && x.mac === e.mac) || (e.address && x.address === e.address)));
      const known = same ?? (e.mac && g.byMac.get(e.mac)) ?? (e.address && g.byAddress.get(e.address)) ?? undefined;
      return known ? { ...e, priority: e.priority ?? known.priority, address: e.address ?? known.address } : e;
    });
    return enriched.sort((a, b) => Number(b.priority !== undefined) - Number(a.priority !== undefined) || (b.priority ?? 0) - (a.priority ?? 0) || b.atMs - a.atMs)[0]!;
  }

  private release(r: VrrpRouter, g: InstanceGuard, reason: string, lastEvidenceMs: number): void {
    if (r.held === undefined) return;
    g.lastReleaseMs = this.deps.clock.now();
    g.heldSinceMs = undefined;
    g.evidence.clear();
    r.releaseHold(Number.isFinite(lastEvidenceMs) ? lastEvidenceMs : this.deps.clock.now());
    this.deps.events.emit({ type: 'guard-release', instance: r.name, vrid: r.config.vrid, reason, atMs: this.deps.clock.now() });
    this.setConflict(r, g, false, [], this.deps.clock.now());
  }

  /** The flag goes up at once and down only after two quiet intervals. */
  private setConflict(r: VrrpRouter, g: InstanceGuard, active: boolean, evidence: Evidence[], now: number): void {
    for (const e of evidence) g.conflictSources.add(e.source);
    if (active && g.peerHeld.size > 0) g.conflictSources.add('peer');
    if (active) {
      g.clearSinceMs = undefined;
      if (!g.conflict) {
        g.conflict = true;
        this.deps.events.emit({ type: 'guard-conflict', instance: r.name, vrid: r.config.vrid, active: true, sources: [...g.conflictSources], atMs: now, wallMs: this.deps.clock.wallNow() });
      }
      return;
    }
    if (!g.conflict) return;
    g.clearSinceMs ??= now;
    if (now - g.clearSinceMs < 2 * this.deps.config.intervalMs) return;
    g.conflict = false;
    const sources = [...g.conflictSources];
    g.conflictSources.clear();
    g.announcedForConflict = false;
    this.deps.events.emit({ type: 'guard-conflict', instance: r.name, vrid: r.config.vrid, active: false, sources, atMs: now, wallMs: this.deps.clock.wallNow() });
  }

  // --- bookkeeping -------------------------------------------------------------------------

  /** At most a few adverts per interval per source (a VRRPv3 peer may advertise faster: 20/s floor). */
  private plausibleRate(g: InstanceGuard, source: string, atMs: number, advertIntervalMs: number): boolean {
    const w = g.rates.get(source);
    if (!w || atMs - w.startMs >= 1000) {
      g.rates.set(source, { startMs: atMs, count: 1 });
      return true;
    }
    w.count++;
    return w.count <= Math.max(20, (3 * 1000) / advertIntervalMs);
  }

  private remember(g: InstanceGuard, mac: string | undefined, address: string, priority: number, atMs: number): void {
    if (priority === 0) return;
    const p = { address, priority, atMs };
    if (mac) g.byMac.set(mac, p);
    g.byAddress.set(address, p);
  }

  private router(name: string): VrrpRouter | undefined {
    return this.deps.router ? this.deps.router(name) : this.deps.routers().find((r) => r.name === name);
  }

  private guardOf(instance: string): InstanceGuard | undefined {
    if (!this.router(instance)) return undefined;
    let g = this.state.get(instance);
    if (!g) {
      g = {
        byMac: new Map(),
        byAddress: new Map(),
        evidence: new Map(),
        peerHeld: new Map(),
        peerWitness: new Map(),
        lowerPrio: new Map(),
        rates: new Map(),
        conflict: false,
        conflictSources: new Set(),
        clearSinceMs: undefined,
        heldSinceMs: undefined,
        lastReleaseMs: -Infinity,
        holdUntilMs: 0,
        lastEvidenceMs: -Infinity,
        announcedForConflict: false,
      };
      this.state.set(instance, g);
    }
    return g;
  }
}
