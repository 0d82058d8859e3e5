/**
 * The split-brain guard: notices a second holder of our VIPs, decides with `arbitrate()` which node
 * keeps them, holds the loser out while the winner is seen, and lets it back when the winner goes
 * silent or when VRRP works again.
 *
 * ## Trust model (what may make this node yield, hold, alert, or only show)
 *
 * | evidence                                                        | yield | hold out | alert (gauge)           | /healthz 503 | /v1/state |
 * |-----------------------------------------------------------------|-------|----------|-------------------------|--------------|-----------|
 * | ARP/NA claim for our VIP from a MAC learned from ACCEPTED adverts| yes¹  | yes²     | split_brain             | yes          | yes       |
 * |   or from a SIGNED peer agent (an authenticated holder)          |       |          |                         |              |           |
 * | ARP/NA claim from a MAC nobody authenticated                    | only with `unknown_peer_policy yield` (opt-in, unsafe on an untrusted LAN) | | split_brain_suspected | no | yes |
 * | adverts for our VRID that our checks DISCARD (auth, version...)  | never | never    | split_brain_suspected   | no           | yes       |
 * | a lower-priority master whose accepted adverts keep coming       | never | never    | split_brain             | no           | yes       |
 * | a signed peer agent reporting MASTER for our VRID                | never alone³ | never | split_brain          | no           | yes       |
 * | a signed peer agent reporting it is held out for our VRID        | never | never    | split_brain             | no           | yes       |
 *
 * ¹ when arbitration says so: the witness, then effective priority, then the primary address.
 *   The other node's priority and address come only from its accepted adverts (aged) or from a
 *   signed peer (aged); a priority seen in a discarded advert is shown, never used.
 * ² a hold lasts while OUR OWN probes see the winner's MAC answer for the VIP; it ends when they
 *   have not for the freshness window (at least Master_Down_Interval), whatever a peer says.
 * ³ a signed claim corroborates: the node must also be seen answering ARP for the VIP.
 * Gratuitous ARPs only ever announce our own MAC, or the winner's when it is authenticated.
 *
 * IPv6 VIPs: Neighbor Discovery is ARP's counterpart under the same rules. An "ARP/NA claim" is
 * an ARP reply or gratuitous ARP for an IPv4 VIP, or a neighbour advertisement (solicited or not)
 * for an IPv6 VIP, from the MAC in its target link-layer address option. The identity learned
 * from accepted adverts is a MAC, so it authenticates either. Probes are neighbour solicitations
 * (detectors.ts), the hand-back an unsolicited NA announcing the winner's MAC. Both are the
 * `arp-claim` sighting and the `arp` detection source (a metric label: no new label value).
 *
 * Detection sources (`detect`): `pcap` turns received adverts into sightings, `arp` probes our
 * VIPs (ARP for IPv4, neighbour solicitations for IPv6) every interval while master, `peer` polls
 * the signed cross-check. Whatever the sources, VIPs are probed while held out and while another
 * source reports a conflict (to corroborate).
 *
 * The guard decides; the router acts (`hold`, `releaseHold`, `announce`) through its one
 * transition function. Everything the guard finds or does is an event for metrics, traces, logs
 * and alerts. Every map keyed by what a packet or a peer controls is capped and aged
 * (`evidence.ts`).
 */
import type { AgentBus, ConflictLevel, DetectionSource, Evidence, GuardEvent } from '../events/index.js';
import type { VrrpRouter } from '../core/router.js';
import type { Clock, FrameInjector, InterfaceInfo, TimerHandle } from '../ports/index.js';
import type { DropReason } from '../protocol/check.js';
import { buildGratuitousArp, claimsAddress, parseArp, ARP_REPLY } from '../protocol/arp.js';
import type { EthernetHeader, IpPacket } from '../protocol/frame.js';
import { buildUnsolicitedNa, parseNeighbourAdvert } from '../protocol/ndp.js';
import { compareIp } from '../protocol/inet.js';
import { arbitrate, type NodeFacts, type Verdict } from './arbitration.js';
import type { GuardConfig, GuardPeer } from './config.js';
import { EvidenceBook, SOURCE_OF_KIND, type Identity, type PeerClaim, type Sighting, type SightingKind, type TrackedSighting } from './evidence.js';
import { NeighbourProber, PeerPoller, WitnessWatch, type PeerClient, type PeerInstance } from './detectors.js';

/** Drop reasons that mean "another node runs our VRID and we cannot agree with it". */
const CONFLICT_DROPS: ReadonlySet<DropReason> = new Set(['auth-mismatch', 'auth-type-mismatch', 'ah-replay', 'version-mismatch', 'interval-mismatch', 'unicast-source-unknown']);

/** Discarded adverts per instance per second that may become evidence at all (beyond: a flood). */
const MAX_DISCARDED_EVIDENCE_PER_SECOND = 50;

/** What the view (health, /v1/state) may know of one instance's guard. */
export interface GuardSnapshot {
  readonly conflict: boolean;
  readonly suspected: boolean;
  readonly sources: readonly DetectionSource[];
  /** Another authenticated holder our own probes see right now (while we are master). */
  readonly verifiedHolder?: VerifiedHolder;
  readonly evidence: readonly (Evidence & { readonly kind: SightingKind; readonly confirmed: boolean; readonly ageMs: number })[];
  readonly peers: readonly { readonly peer: string; readonly state: string; readonly priority: number; readonly held: boolean; readonly ageMs: number }[];
  /** Entries the evidence book holds for the instance (capped: see evidence.ts). */
  readonly entries: number;
}


export interface GuardDeps {
  readonly config: GuardConfig;
  routers(): readonly VrrpRouter[];
  /** Lookup by name (faster than scanning routers() for every packet); optional. */
  router?(name: string): VrrpRouter | undefined;
  /** The agent's bus: VRRP and host events in, guard events out. */
  readonly bus: AgentBus;
  readonly clock: Clock;
  readonly frames: FrameInjector;
  readonly interfaces: InterfaceInfo;
  readonly peers?: PeerClient;
}

interface Flag {
  active: boolean;
  clearSinceMs: number | undefined;
  readonly sources: Set<DetectionSource>;
}

/** Another holder that our own probes see and that authenticated input identifies. */
export interface VerifiedHolder {
  readonly mac: string;
  readonly address: string;
  readonly priority: number;
}

interface InstanceGuard {
  readonly book: EvidenceBook;
  readonly flags: Record<ConflictLevel, Flag>;
  /** The MAC we yielded to (its ARP answers keep us out), while held. */
  winnerMac: string | undefined;
  /** Whether that MAC was authenticated when we yielded. */
  winnerAuthenticated: boolean;
  lastReleaseMs: number;
  /** This hold must last at least until then (hold-down after a re-demotion). */
  holdUntilMs: number;
  lastEvidenceMs: number;
  announcedForConflict: boolean;
  /** Set at evaluation: another authenticated holder seen answering right now (health). */
  verifiedHolder: VerifiedHolder | undefined;
}

export class SplitBrainGuard {
  private readonly state = new Map<string, InstanceGuard>();
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly prober: NeighbourProber;
  private readonly witness: WitnessWatch | undefined;
  private readonly poller: PeerPoller | undefined;
  /** `iface|vip` → instances with that VIP (rebuilt every tick: reloads change it). */
  private vipIndex = new Map<string, string[]>();

  constructor(private readonly deps: GuardDeps) {
    const { bus, config } = deps;
    this.prober = new NeighbourProber(deps.frames, deps.interfaces);
    if (config.witness) this.witness = new WitnessWatch(config.witness, deps.clock);
    if (deps.peers && config.sources.has('peer') && config.peers.length > 0) this.poller = new PeerPoller(deps.peers, config.peers);
    bus.on('advert-received', (e) => {
      const g = this.guardOf(e.instance);
      const r = this.router(e.instance);
      if (!g || !r) return;
      const now = e.atMs;
      // An accepted advert passed every check, auth included: who sent it is a fact.
      if (e.sourceMac) g.book.learn({ mac: e.sourceMac, address: e.source, priority: e.priority, origin: 'advert', atMs: now });
      if (e.priority === 0) return;
      // The winner's adverts reach us again: VRRP works, VRRP decides — unless we yielded to a
      // lower priority because we can't reach the witness and still can't (then the master that
      // reaches it is the better one; we stay out until the witness answers us again).
      if (r.held !== undefined && (e.priority >= r.effectivePriority || this.witness?.up !== false)) {
        this.release(r, g, 'VRRP adverts from the master are received again', now);
        return;
      }
      if (e.state !== 'master' || !config.sources.has('pcap')) return;
      const ours = r.sourceAddress();
      const lower = e.priority < r.effectivePriority || (e.priority === r.effectivePriority && ours !== undefined && compareIp(e.source, ours) < 0);
      if (!lower) return;
      // We answer every lower-priority advert at once; a master that keeps advertising does not hear us.
      const windowMs = 2 * (3 * r.config.advertIntervalMs + 50);
      if (!g.book.lowerPriorityPersists(e.source, now, windowMs, r.config.advertIntervalMs)) return;
      this.sighted(r, g, {
        kind: 'lower-priority-master',
        who: e.sourceMac ?? e.source,
        atMs: now,
        ...(e.sourceMac ? { mac: e.sourceMac } : {}),
        address: e.source,
        priority: e.priority,
        detail: `a lower-priority master (${e.source}, priority ${e.priority}) keeps advertising: it does not hear our adverts`,
      });
    });
    bus.on('advert-dropped', (e) => {
      if (!e.instance || e.priority === undefined || e.priority === 0 || !CONFLICT_DROPS.has(e.reason) || !config.sources.has('pcap')) return;
      const g = this.guardOf(e.instance);
      const r = this.router(e.instance);
      if (!g || !r || (r.state !== 'master' && r.held === undefined)) return;
      // Never remembered as a priority or an identity: anyone on the LAN can send these.
      // A real router advertises once per interval; more than that is a flood, counted, never evidence.
      const perSource = Math.max(20, (3 * 1000) / r.config.advertIntervalMs);
      if (!g.book.plausibleRate('*', e.atMs, MAX_DISCARDED_EVIDENCE_PER_SECOND) || !g.book.plausibleRate(e.source, e.atMs, perSource)) return;
      this.sighted(r, g, {
        kind: 'advert-discarded',
        who: e.sourceMac ?? e.source,
        atMs: e.atMs,
        ...(e.sourceMac ? { mac: e.sourceMac } : {}),
        address: e.source,
        priority: e.priority,
        detail: `adverts for our VRID from ${e.source} (priority ${e.priority}, unauthenticated) are discarded: ${e.reason}`,
      });
    });
    bus.on('state-changed', (e) => {
      const g = this.guardOf(e.instance);
      if (!g || e.to !== 'master') return;
      g.book.resetLowerPriority();
      g.announcedForConflict = false;
    });
    bus.on('frame', (e) => {
      if (e.outcome.kind === 'arp') this.onArp(e.interface, e.outcome.ethernet);
      else if (e.outcome.kind === 'ndp') this.onNeighbourAdvert(e.interface, e.outcome.ethernet, e.outcome.ip);
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

  /** A conflict on authenticated evidence (the `keepwatch_split_brain` gauge). */
  conflict(instance: string): boolean {
    return this.state.get(instance)?.flags.confirmed.active ?? false;
  }

  /** A conflict on evidence anyone can forge only (the `keepwatch_split_brain_suspected` gauge). */
  suspected(instance: string): boolean {
    return this.state.get(instance)?.flags.suspected.active ?? false;
  }

  /** Whether the witness is reachable (undefined: no witness, or not evaluated yet). */
  get witnessUp(): boolean | undefined {
    return this.witness?.up;
  }

  /** Whether a witness is configured. */
  get hasWitness(): boolean {
    return this.witness !== undefined;
  }

  /** A read-only picture of one instance for the view (health, /v1/state, the cross-check). */
  snapshot(instance: string): GuardSnapshot | undefined {
    const r = this.router(instance);
    if (!r) return undefined;
    const g = this.state.get(instance);
    const now = this.deps.clock.now();
    const sightings = g ? g.book.fresh(now, this.freshMs(r)) : [];
    return {
      conflict: g?.flags.confirmed.active ?? false,
      suspected: g?.flags.suspected.active ?? false,
      sources: g ? [...new Set([...g.flags.confirmed.sources, ...g.flags.suspected.sources])] : [],
      ...(g?.verifiedHolder ? { verifiedHolder: g.verifiedHolder } : {}),
      evidence: g ? sightings.map((s) => ({ ...this.describe(g, s, r), kind: s.kind, confirmed: s.confirmed, ageMs: Math.round(now - s.atMs) })) : [],
      peers: g ? g.book.freshClaims(now, this.claimMaxAgeMs()).map((c) => ({ peer: c.peer, state: c.state, priority: c.priority, held: c.held, ageMs: Math.round(now - c.atMs) })) : [],
      entries: g?.book.size ?? 0,
    };
  }

  // --- sensing ----------------------------------------------------------------------------

  private onArp(iface: string, eth: EthernetHeader): void {
    const arp = parseArp(eth);
    if (!arp) return;
    if (this.witness && arp.senderIp === this.witness.address && arp.op === ARP_REPLY) this.witness.answered();
    if (!claimsAddress(arp, arp.senderIp)) return;
    if (arp.senderMac === this.deps.interfaces.mac(iface)) return;
    this.claimed(iface, arp.senderIp, arp.senderMac, `${arp.op === ARP_REPLY ? 'ARP reply' : 'gratuitous ARP'}: ${arp.senderIp} is at ${arp.senderMac}`);
  }

  /**
   * A neighbour advertisement (RFC 4861 §4.4, valid by §7.1.2): the IPv6 counterpart of an ARP
   * reply or gratuitous ARP. Who claims the target is the MAC of its target link-layer address
   * option (else its Ethernet source), as `senderMac` is for ARP.
   */
  private onNeighbourAdvert(iface: string, eth: EthernetHeader, ip: IpPacket): void {
    const na = parseNeighbourAdvert(eth, ip);
    if (!na || na.targetMac === this.deps.interfaces.mac(iface)) return;
    this.claimed(iface, na.target, na.targetMac, `${na.solicited ? 'neighbour advertisement' : 'unsolicited neighbour advertisement'}: ${na.target} is at ${na.targetMac}`);
  }

  /** `mac` says it holds `address` on `iface`: a sighting for every instance with that VIP that is master or held. */
  private claimed(iface: string, address: string, mac: string, detail: string): void {
    const names = this.vipIndex.get(`${iface}|${address}`);
    if (!names) return;
    const now = this.deps.clock.now();
    for (const name of names) {
      const r = this.router(name);
      const g = this.guardOf(name);
      if (!r || !g || (r.state !== 'master' && r.held === undefined)) continue;
      this.sighted(r, g, { kind: 'arp-claim', who: mac, atMs: now, mac, detail });
    }
  }

  private sighted(r: VrrpRouter, g: InstanceGuard, s: Sighting): void {
    const source = SOURCE_OF_KIND[s.kind];
    const { entry, newlyConfirmed } = g.book.record(s, this.confirmMs(r, source), this.freshMs(r));
    g.lastEvidenceMs = Math.max(g.lastEvidenceMs, s.atMs);
    if (newlyConfirmed) this.deps.bus.emit({ type: 'guard-detection', instance: r.name, vrid: r.config.vrid, evidence: this.describe(g, entry, r) });
    this.evaluate(r);
  }

  private async pollPeers(): Promise<void> {
    if (!this.poller) return;
    const results = await this.poller.poll(Math.max(200, this.deps.config.intervalMs * 0.9));
    const now = this.deps.clock.now();
    for (const res of results) {
      if (res.changed) this.deps.bus.emit({ type: 'guard-peer', peer: res.peer, up: res.view !== undefined, ...(res.error ? { error: res.error } : {}) });
      for (const r of this.deps.routers()) {
        const g = this.guardOf(r.name)!;
        const mine = new Set(r.config.virtualAddresses.map((v) => v.address));
        const theirs = res.view?.find((p) => p.vrid === r.config.vrid && p.family === r.config.family && p.vips.some((v) => mine.has(v)));
        if (!theirs) {
          g.book.dropClaim(res.peer);
          continue;
        }
        const claim: PeerClaim = {
          peer: res.peer,
          state: theirs.state,
          priority: theirs.priority,
          held: theirs.held,
          atMs: now,
          ...(theirs.address ? { address: theirs.address } : {}),
          ...(theirs.mac ? { mac: theirs.mac } : {}),
          ...(theirs.witnessUp !== undefined ? { witnessUp: theirs.witnessUp } : {}),
        };
        g.book.claim(claim);
        // A signed peer tells who its MAC is: its ARP answers become an authenticated holder.
        if (theirs.mac && theirs.address) g.book.learn({ mac: theirs.mac, address: theirs.address, priority: theirs.priority, origin: 'peer', atMs: now });
        if (theirs.state === 'master' && (r.state === 'master' || r.held !== undefined)) {
          this.sighted(r, g, {
            kind: 'peer-master',
            who: res.peer,
            atMs: now,
            ...(theirs.mac ? { mac: theirs.mac } : {}),
            ...(theirs.address ? { address: theirs.address } : {}),
            priority: theirs.priority,
            detail: `peer agent ${res.peer} reports MASTER for VRID ${theirs.vrid} (${theirs.name}, priority ${theirs.priority})`,
          });
        }
      }
    }
  }

  // --- evaluation ------------------------------------------------------------------------

  private tick(): void {
    const cfg = this.deps.config;
    const now = this.deps.clock.now();
    const index = new Map<string, string[]>();
    const targets: [string, string][] = [];
    for (const r of this.deps.routers()) {
      const g = this.guardOf(r.name)!;
      const busy = r.held !== undefined || (r.state === 'master' && (cfg.sources.has('arp') || g.book.fresh(now, this.freshMs(r)).length > 0));
      for (const v of r.config.virtualAddresses) {
        const key = `${v.device ?? r.config.interface}|${v.address}`;
        const list = index.get(key);
        if (list) list.push(r.name);
        else index.set(key, [r.name]);
        if (busy) targets.push([v.device ?? r.config.interface, v.address]);
      }
    }
    this.vipIndex = index;
    // Instances removed by a reload take their evidence with them.
    for (const name of this.state.keys()) if (!this.router(name)) this.state.delete(name);
    const always: [string, string][] = this.witness ? [...new Set(this.deps.routers().map((r) => r.config.interface))].map((i) => [i, this.witness!.address]) : [];
    this.prober.probe(targets, always, cfg.intervalMs);
    if (this.witness) {
      const changed = this.witness.update(cfg.intervalMs);
      if (changed !== undefined) this.deps.bus.emit({ type: 'guard-witness', up: changed });
    }
    // With peer agents, once more when their answers are in (without, nothing changed meanwhile).
    if (this.poller) void this.pollPeers()
      .then(() => {
        for (const r of this.deps.routers()) this.evaluate(r);
      })
      .catch((err: unknown) => this.deps.bus.emit({ type: 'guard-peer', peer: '*', up: false, error: err instanceof Error ? err.message : String(err) }));
    for (const r of this.deps.routers()) this.evaluate(r);
  }

  /** How long evidence stays fresh: the winner must be seen at least this often to hold us out. */
  private freshMs(r: VrrpRouter): number {
    return Math.max(2.5 * this.deps.config.intervalMs * this.prober.rounds, r.masterDownIntervalMs);
  }

  /** How long an identity learned from adverts or a peer is trusted without being refreshed. */
  private identityMaxAgeMs(r: VrrpRouter): number {
    return Math.max(60_000, 10 * this.freshMs(r));
  }

  /** How long a peer's signed claim counts: three polls. */
  private claimMaxAgeMs(): number {
    return 3 * this.deps.config.intervalMs + 500;
  }

  /**
   * A sighting counts once it is seen again a moment later (a second probe answer, a second
   * discarded advert): a normal preemption leaves the old master holding the VIP for a few
   * milliseconds, which must not raise a conflict.
   */
  private confirmMs(r: VrrpRouter, source: DetectionSource): number {
    return 0.8 * (source === 'pcap' ? r.config.advertIntervalMs : this.deps.config.intervalMs);
  }

  /** Who a sighting is, from authenticated input only. */
  private identityFor(g: InstanceGuard, s: TrackedSighting, now: number, r: VrrpRouter): Identity | undefined {
    if (s.kind === 'advert-discarded') return undefined;
    return g.book.identity(s.mac, now, this.identityMaxAgeMs(r));
  }

  private authenticated(s: TrackedSighting, id: Identity | undefined): boolean {
    return s.kind === 'lower-priority-master' || s.kind === 'peer-master' || (s.kind === 'arp-claim' && id !== undefined);
  }

  private describe(g: InstanceGuard, s: TrackedSighting, r: VrrpRouter): Evidence {
    const id = this.identityFor(g, s, this.deps.clock.now(), r);
    const authenticated = this.authenticated(s, id);
    const priority = s.kind === 'advert-discarded' ? s.priority : (id?.priority ?? s.priority);
    const address = id?.address ?? s.address;
    const who = s.kind === 'arp-claim' ? (id ? ` (${id.address}, priority ${id.priority}, known from ${id.origin === 'advert' ? 'its accepted adverts' : 'a signed peer agent'})` : ' (not authenticated: never seen in an accepted advert or from a signed peer)') : '';
    return {
      source: SOURCE_OF_KIND[s.kind],
      atMs: s.atMs,
      ...(s.mac ? { mac: s.mac } : {}),
      ...(address ? { address } : {}),
      ...(priority !== undefined ? { priority } : {}),
      detail: `${s.detail}${who}`,
      authenticated,
    };
  }

  private evaluate(r: VrrpRouter): void {
    const g = this.guardOf(r.name);
    if (!g) return;
    const now = this.deps.clock.now();
    const fresh = this.freshMs(r);
    const seen = g.book.fresh(now, fresh);
    const confirmed = seen.filter((s) => s.confirmed);
    const claims = g.book.freshClaims(now, this.claimMaxAgeMs());
    const holders = confirmed.filter((s) => s.kind === 'arp-claim').map((s) => ({ s, id: this.identityFor(g, s, now, r) }));
    const known = holders.filter((h) => h.id !== undefined).sort((a, b) => b.id!.priority - a.id!.priority || b.s.atMs - a.s.atMs);
    const unknown = holders.filter((h) => h.id === undefined);
    const authenticatedOther = confirmed.some((s) => s.kind === 'peer-master' || s.kind === 'lower-priority-master');
    const unauthenticated = confirmed.some((s) => s.kind === 'advert-discarded');

    if (r.state === 'master') {
      const peerHeld = claims.some((c) => c.held);
      const sourcesOf = (pred: (s: TrackedSighting) => boolean) => confirmed.filter(pred).map((s) => SOURCE_OF_KIND[s.kind]);
      const isConfirmed = known.length > 0 || authenticatedOther || peerHeld;
      this.setFlag(r, g, 'confirmed', isConfirmed, [...sourcesOf((s) => s.kind !== 'advert-discarded' && (s.kind !== 'arp-claim' || this.identityFor(g, s, now, r) !== undefined)), ...(peerHeld ? (['peer'] as const) : [])], now);
      this.setFlag(r, g, 'suspected', !isConfirmed && (unknown.length > 0 || unauthenticated), sourcesOf((s) => s.kind === 'advert-discarded' || s.kind === 'arp-claim'), now);
      g.verifiedHolder = known[0] ? { mac: known[0].s.mac!, address: known[0].id!.address, priority: known[0].id!.priority } : undefined;
      const self = {
        priority: r.effectivePriority,
        address: r.sourceAddress() ?? '0.0.0.0',
        ...(this.witness ? { witnessUp: this.witness.up ?? true } : {}),
      };
      const wall = this.deps.clock.wallNow();
      if (known.length > 0) {
        const { s, id } = known[0]!;
        const theirWitness = claims.find((c) => c.mac === s.mac || (c.address !== undefined && c.address === id!.address))?.witnessUp;
        const other: NodeFacts = { priority: id!.priority, address: id!.address, authenticated: true, ...(theirWitness !== undefined ? { witnessUp: theirWitness } : {}) };
        this.decide(r, g, arbitrate(self, other, this.deps.config.unknownPeerPolicy), this.describe(g, s, r), self, other, s.mac!, true, now, wall);
        return;
      }
      if (unknown.length > 0) {
        const { s } = unknown[0]!;
        const other: NodeFacts = { authenticated: false };
        this.decide(r, g, arbitrate(self, other, this.deps.config.unknownPeerPolicy), this.describe(g, s, r), self, other, s.mac!, false, now, wall);
        return;
      }
      if (confirmed.length > 0 && !g.announcedForConflict) {
        // Adverts or a peer's word, but nobody seen answering for the VIP: never a demotion.
        g.announcedForConflict = true;
        const verdict: Verdict = { decision: 'keep', reason: 'no other holder seen answering ARP for the VIP (adverts and peer claims alone never demote)' };
        this.deps.bus.emit({ type: 'guard-decision', instance: r.name, vrid: r.config.vrid, verdict, evidence: this.describe(g, confirmed[0]!, r), self, other: {}, atMs: now, wallMs: wall });
      }
      return;
    }
    g.verifiedHolder = undefined;
    if (r.held !== undefined) {
      // The level is the one we yielded on (the winner's identity may age out during a long hold).
      const level: ConflictLevel = g.winnerAuthenticated ? 'confirmed' : 'suspected';
      this.setFlag(r, g, level, true, ['arp'], now);
      this.setFlag(r, g, level === 'confirmed' ? 'suspected' : 'confirmed', false, [], now);
      // The hold lasts while our own probes see the winner answer for the VIP, whatever a peer says.
      const lastSeen = g.winnerMac !== undefined ? g.book.lastSeen('arp-claim', g.winnerMac) : undefined;
      const winnerSeen = lastSeen !== undefined && now - lastSeen <= fresh;
      if (!winnerSeen && now >= g.holdUntilMs) this.release(r, g, 'the winner is no longer seen holding the VIP', lastSeen ?? g.lastEvidenceMs);
      return;
    }
    this.setFlag(r, g, 'confirmed', false, [], now);
    this.setFlag(r, g, 'suspected', false, [], now);
  }

  private decide(r: VrrpRouter, g: InstanceGuard, verdict: Verdict, evidence: Evidence, self: Required<Pick<NodeFacts, 'priority' | 'address'>> & NodeFacts, other: NodeFacts, mac: string, authenticated: boolean, now: number, wall: number): void {
    if (verdict.decision === 'yield') {
      // Re-demoted soon after a release: flapping; stay out at least hold_down this time.
      const flapping = now - g.lastReleaseMs < this.deps.config.holdDownMs;
      g.holdUntilMs = flapping ? now + this.deps.config.holdDownMs : 0;
      g.winnerMac = mac;
      g.winnerAuthenticated = authenticated;
      g.verifiedHolder = undefined;
      this.deps.bus.emit({ type: 'guard-decision', instance: r.name, vrid: r.config.vrid, verdict, evidence, self, other, atMs: now, wallMs: wall });
      r.hold(`${verdict.reason}; evidence: ${evidence.detail}`);
      // Only ever announce a MAC that authenticated input vouches for.
      if (authenticated) this.handBack(r, mac);
      return;
    }
    if (g.announcedForConflict) return;
    g.announcedForConflict = true;
    this.deps.bus.emit({ type: 'guard-decision', instance: r.name, vrid: r.config.vrid, verdict, evidence, self, other, atMs: now, wallMs: wall });
    // Keep the VIP and win the neighbours' ARP caches back (our own MAC).
    r.announce();
  }

  /**
   * After yielding, point the neighbours at the node that keeps the VIP (our takeover GARPs and
   * NAs sent them to us): a gratuitous ARP (IPv4) or an unsolicited neighbour advertisement with
   * the Override flag (IPv6) announcing its MAC — authenticated, never one we only saw in ARP/ND.
   * The NA's Router flag is ours (the winner's forwarding setting is not known; a pair is
   * configured alike).
   */
  private handBack(r: VrrpRouter, winnerMac: string): void {
    for (const v of r.config.virtualAddresses) {
      const iface = v.device ?? r.config.interface;
      const mac = this.deps.interfaces.mac(iface);
      if (!mac) continue;
      try {
        const frame = v.family === 'ipv4' ? buildGratuitousArp(mac, v.address, winnerMac) : buildUnsolicitedNa(mac, v.address, { router: this.deps.interfaces.ipv6Forwarding?.(iface) ?? false, announcedMac: winnerMac });
        this.deps.frames.inject(iface, frame);
      } catch {
        /* link down */
      }
    }
  }

  private release(r: VrrpRouter, g: InstanceGuard, reason: string, lastEvidenceMs: number): void {
    if (r.held === undefined) return;
    const now = this.deps.clock.now();
    g.lastReleaseMs = now;
    g.winnerMac = undefined;
    g.book.clearSightings();
    r.releaseHold(Number.isFinite(lastEvidenceMs) ? lastEvidenceMs : now);
    this.deps.bus.emit({ type: 'guard-release', instance: r.name, vrid: r.config.vrid, reason, atMs: now });
    this.setFlag(r, g, 'confirmed', false, [], now);
    this.setFlag(r, g, 'suspected', false, [], now);
  }

  /** A flag goes up at once and down only after two quiet intervals. */
  private setFlag(r: VrrpRouter, g: InstanceGuard, level: ConflictLevel, active: boolean, sources: readonly DetectionSource[], now: number): void {
    const f = g.flags[level];
    if (active) {
      for (const s of sources) f.sources.add(s);
      f.clearSinceMs = undefined;
      if (!f.active) {
        f.active = true;
        this.deps.bus.emit({ type: 'guard-conflict', instance: r.name, vrid: r.config.vrid, level, active: true, sources: [...f.sources], atMs: now, wallMs: this.deps.clock.wallNow() });
      }
      return;
    }
    if (!f.active) return;
    f.clearSinceMs ??= now;
    if (now - f.clearSinceMs < 2 * this.deps.config.intervalMs) return;
    f.active = false;
    const was = [...f.sources];
    f.sources.clear();
    if (!g.flags.confirmed.active && !g.flags.suspected.active) g.announcedForConflict = false;
    this.deps.bus.emit({ type: 'guard-conflict', instance: r.name, vrid: r.config.vrid, level, active: false, sources: was, atMs: now, wallMs: this.deps.clock.wallNow() });
  }

  // --- bookkeeping -------------------------------------------------------------------------

  private router(name: string): VrrpRouter | undefined {
    return this.deps.router ? this.deps.router(name) : this.deps.routers().find((r) => r.name === name);
  }

  private guardOf(instance: string): InstanceGuard | undefined {
    if (!this.router(instance)) return undefined;
    let g = this.state.get(instance);
    if (!g) {
      const flag = (): Flag => ({ active: false, clearSinceMs: undefined, sources: new Set() });
      g = {
        book: new EvidenceBook(),
        flags: { confirmed: flag(), suspected: flag() },
        winnerMac: undefined,
        winnerAuthenticated: false,
        lastReleaseMs: -Infinity,
        holdUntilMs: 0,
        lastEvidenceMs: -Infinity,
        announcedForConflict: false,
        verifiedHolder: undefined,
      };
      this.state.set(instance, g);
    }
    return g;
  }
}

export type { SightingKind, ConflictLevel, Evidence, GuardEvent, PeerClient, PeerInstance };
