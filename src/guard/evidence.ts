/**
 * The split-brain guard's evidence book: what each detector saw, per instance, bounded and aged.
 * Nothing in here decides; `guard.ts` reads it and `arbitration.ts` judges.
 *
 * Three kinds of entries, each in its own capped map (a flood of forged packets with random
 * sources evicts the oldest entries; it never grows the heap):
 * - identities: MAC → (address, priority) of another node, learned ONLY from adverts that passed
 *   every receive check (auth included) or from a signed peer agent. This is what turns "some MAC
 *   answers ARP for our VIP" into "the node with priority P holds our VIP". Aged: an identity older
 *   than `identityMaxAgeMs` is forgotten.
 * - sightings: evidence of another holder or master (an ARP claim for a VIP, a discarded advert,
 *   a lower-priority master that keeps advertising, a peer agent reporting MASTER), confirmed once
 *   seen again a moment later, stale after `freshMs`.
 * - peer claims: the last signed view of each configured peer agent (state, held, witness), aged.
 *
 * Pure: times come in as arguments; no clock, no I/O.
 */
import type { DetectionSource } from './config.js';

/**
 * A map with a cap: inserting past the cap evicts the least recently written entry. Writing an
 * existing key moves it to the end, so the entries that keep being refreshed stay.
 */
export class CappedMap<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly cap: number) {}

  get size(): number {
    return this.map.size;
  }
  get(key: K): V | undefined {
    return this.map.get(key);
  }
  has(key: K): boolean {
    return this.map.has(key);
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.cap) this.map.delete(this.map.keys().next().value as K);
  }
  delete(key: K): boolean {
    return this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
  }
  values(): IterableIterator<V> {
    return this.map.values();
  }
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
  /** Deletes every entry for which `stale` is true. */
  prune(stale: (value: V) => boolean): void {
    for (const [k, v] of this.map) if (stale(v)) this.map.delete(k);
  }
}

/** How a node's identity became known: only these two are trusted. */
export type IdentityOrigin = 'advert' | 'peer';

/** Another node as far as authenticated input tells: its MAC, advert source address, priority. */
export interface Identity {
  readonly mac: string;
  readonly address: string;
  readonly priority: number;
  readonly origin: IdentityOrigin;
  readonly atMs: number;
}

/**
 * What a sighting is. `arp-claim`: a MAC answered (or announced) one of our VIPs.
 * `advert-discarded`: adverts for our VRID that our checks drop (auth, version, interval...): the
 * peers can't agree — or somebody forges them; never trusted. `lower-priority-master`: accepted
 * adverts from a lower-priority master that keeps advertising although we answer it.
 * `peer-master`: a signed peer agent reports MASTER for our VRID and VIPs.
 */
export type SightingKind = 'arp-claim' | 'advert-discarded' | 'lower-priority-master' | 'peer-master';

export const SOURCE_OF_KIND: Readonly<Record<SightingKind, DetectionSource>> = {
  'arp-claim': 'arp',
  'advert-discarded': 'pcap',
  'lower-priority-master': 'pcap',
  'peer-master': 'peer',
};

export interface Sighting {
  readonly kind: SightingKind;
  /** Who: the MAC (ARP, adverts) or the peer's name (peer-master). */
  readonly who: string;
  readonly atMs: number;
  readonly mac?: string;
  readonly address?: string;
  /**
   * The priority the evidence carries. For `advert-discarded` it is what an unauthenticated
   * packet claims: shown, never used to decide.
   */
  readonly priority?: number;
  readonly detail: string;
}

export interface TrackedSighting extends Sighting {
  readonly firstAtMs: number;
  readonly count: number;
  readonly confirmed: boolean;
}

/** A configured peer agent's last signed view of its instance with our VRID. */
export interface PeerClaim {
  readonly peer: string;
  readonly state: string;
  readonly priority: number;
  readonly address?: string;
  readonly mac?: string;
  readonly held: boolean;
  readonly witnessUp?: boolean;
  readonly atMs: number;
}

export interface BookLimits {
  /** Identities kept per instance (LRU beyond). */
  readonly maxIdentities: number;
  /** Sightings kept per instance (LRU beyond). */
  readonly maxSightings: number;
  /** Sources tracked by the discarded-advert rate filter (LRU beyond). */
  readonly maxRateSources: number;
  /** Peer claims kept (one per configured peer; a cap all the same). */
  readonly maxPeerClaims: number;
}

export const DEFAULT_LIMITS: BookLimits = { maxIdentities: 32, maxSightings: 64, maxRateSources: 256, maxPeerClaims: 64 };

export interface Recorded {
  readonly entry: TrackedSighting;
  /** This sighting just became confirmed (the moment to count a detection). */
  readonly newlyConfirmed: boolean;
}

/** The evidence about one instance. */
export class EvidenceBook {
  private readonly identities: CappedMap<string, Identity>;
  private readonly sightings: CappedMap<string, TrackedSighting>;
  private readonly rates: CappedMap<string, { startMs: number; count: number }>;
  private readonly claims: CappedMap<string, PeerClaim>;
  private readonly lowerPrio: CappedMap<string, { count: number; firstMs: number }>;

  constructor(readonly limits: BookLimits = DEFAULT_LIMITS) {
    this.identities = new CappedMap(limits.maxIdentities);
    this.sightings = new CappedMap(limits.maxSightings);
    this.rates = new CappedMap(limits.maxRateSources);
    this.claims = new CappedMap(limits.maxPeerClaims);
    this.lowerPrio = new CappedMap(limits.maxSightings);
  }

  /** Entries in all maps together (for tests and the memory bound). */
  get size(): number {
    return this.identities.size + this.sightings.size + this.rates.size + this.claims.size + this.lowerPrio.size;
  }

  // --- identities --------------------------------------------------------------------------

  /** Learns who a MAC is, from an accepted advert or a signed peer. Priority 0 says nothing. */
  learn(identity: Identity): void {
    if (identity.priority === 0) return;
    this.identities.set(identity.mac, identity);
  }

  /** The identity of a MAC, if learned within `maxAgeMs`. */
  identity(mac: string | undefined, nowMs: number, maxAgeMs: number): Identity | undefined {
    if (mac === undefined) return undefined;
    const id = this.identities.get(mac);
    if (!id) return undefined;
    if (nowMs - id.atMs > maxAgeMs) {
      this.identities.delete(mac);
      return undefined;
    }
    return id;
  }

  // --- sightings ---------------------------------------------------------------------------

  /**
   * Records a sighting. It counts (is confirmed) once seen again at least `confirmMs` after the
   * first time, within `freshMs` of the previous one: a normal preemption leaves the old master
   * holding the VIP for a few milliseconds, which must not raise a conflict.
   */
  record(s: Sighting, confirmMs: number, freshMs: number): Recorded {
    const key = `${s.kind}|${s.who}`;
    const prev = this.sightings.get(key);
    const continued = prev !== undefined && s.atMs - prev.atMs <= freshMs;
    const firstAtMs = continued ? prev.firstAtMs : s.atMs;
    const count = continued ? prev.count + 1 : 1;
    const wasConfirmed = continued && prev.confirmed;
    const confirmed = wasConfirmed || (count >= 2 && s.atMs - firstAtMs >= confirmMs);
    const entry: TrackedSighting = { ...s, firstAtMs, count, confirmed };
    this.sightings.set(key, entry);
    return { entry, newlyConfirmed: confirmed && !wasConfirmed };
  }

  /** Fresh sightings (stale ones are dropped). */
  fresh(nowMs: number, freshMs: number): TrackedSighting[] {
    this.sightings.prune((s) => nowMs - s.atMs > freshMs);
    return [...this.sightings.values()];
  }

  /** The newest time a sighting of `kind` from `who` was recorded, if still kept. */
  lastSeen(kind: SightingKind, who: string): number | undefined {
    return this.sightings.get(`${kind}|${who}`)?.atMs;
  }

  clearSightings(): void {
    this.sightings.clear();
    this.lowerPrio.clear();
  }

  /**
   * A real router advertises once per interval; a source sending more than `maxPerSecond` in a
   * second is a flood (or a forgery): its packets stay counted as drops, never evidence.
   */
  plausibleRate(source: string, atMs: number, maxPerSecond: number): boolean {
    const w = this.rates.get(source);
    if (!w || atMs - w.startMs >= 1000) {
      this.rates.set(source, { startMs: atMs, count: 1 });
      return true;
    }
    w.count++;
    return w.count <= maxPerSecond;
  }

  /**
   * A lower-priority master's accepted advert while we are master: true once it has advertised
   * `threshold` times over at least `minSpanMs` (it does not hear our answers).
   */
  lowerPriorityPersists(source: string, atMs: number, windowMs: number, minSpanMs: number, threshold = 3): boolean {
    const lp = this.lowerPrio.get(source);
    if (!lp || atMs - lp.firstMs > windowMs) {
      this.lowerPrio.set(source, { count: 1, firstMs: atMs });
      return false;
    }
    lp.count++;
    return lp.count >= threshold && atMs - lp.firstMs >= minSpanMs;
  }

  resetLowerPriority(): void {
    this.lowerPrio.clear();
  }

  // --- peer claims -------------------------------------------------------------------------

  claim(c: PeerClaim): void {
    this.claims.set(c.peer, c);
  }

  dropClaim(peer: string): void {
    this.claims.delete(peer);
  }

  /** Claims younger than `maxAgeMs` (older ones are dropped: a peer claim is bounded in time). */
  freshClaims(nowMs: number, maxAgeMs: number): PeerClaim[] {
    this.claims.prune((c) => nowMs - c.atMs > maxAgeMs);
    return [...this.claims.values()];
  }
}
