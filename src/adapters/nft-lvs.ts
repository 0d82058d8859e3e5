/**
 * The LVS data plane on nftables (kernels without `ip_vs`): keepwatch's own tables, replaced
 * whole by one `nft -f` transaction on every change (all or nothing: the previous table stays in
 * force when nft refuses), removed at stop and replaced (a crash's leftover included) at start.
 *
 * - `table inet keepwatch_lvs`, NAT (`lb_kind NAT`): a `dnat` in prerouting (and output, for the
 *   director's own clients) per virtual service. conntrack keeps each connection on the server
 *   chosen for its first packet; the real servers route their replies through the director.
 * - `table netdev keepwatch_lvs_dr`, DR (`lb_kind DR`): one ingress chain per interface; a frame
 *   for the service (addressed to this host: `meta pkttype host`) gets the director's MAC as
 *   source, the real server's MAC as destination, and is sent back out (`fwd`). Stateless: the
 *   server is a hash of the flow (saddr, sport, daddr, dport), so a connection stays on one server.
 *
 * How each scheduler is rendered (an exact match needs IPVS: nftables counts no connections):
 *   NAT rr            numgen inc over the servers (weights ignored, 0 excluded)
 *   NAT wrr/wlc/lc/sed/nq   numgen inc over a smooth weighted round-robin sequence
 *   DR  rr/wrr/wlc/lc/sed/nq  per-flow jhash over 256 weighted buckets
 *   sh, mh            jhash of the source address over 256 weighted buckets
 *   dh, lblc, lblcr   jhash of the destination address over 256 weighted buckets
 *   fo, ovf           every connection to the highest weight (ties: the first in the table)
 *   persistence_timeout > 0 (any scheduler): source affinity, jhash of the source address (its
 *     persistence_granularity prefix, rounded up to whole bytes) over the weighted buckets; the
 *     affinity has no expiry: a client keeps its server while that server stays in the table.
 * The buckets are assigned by weighted rendezvous hashing with exact quotas: when a server leaves,
 * mostly its own buckets move; the hash seed is fixed, so both directors of a pair choose the
 * same server for a flow (a failover keeps DR connections on their server).
 *
 * Not rendered (a note for each, the rest of the table applies): TUN (nftables cannot
 * encapsulate), DR under a fwmark service (the mark is set after netdev ingress), a DR real server
 * whose MAC cannot be resolved. A real server's own lb_kind different from its service's: the
 * service's is used.
 *
 * Real-server MACs (DR) come from the neighbour table (`ip -j neigh`); a missing entry is asked
 * for with one UDP datagram to the discard port and waited for, bounded (NEIGHBOUR_WAIT_MS).
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { parseIp } from '../protocol/inet.js';
import type { DataPlane, DataPlaneRealServer, DataPlaneService, DataPlaneTable, NftRunner, Scheduler } from '../ports/index.js';

export const LVS_NAT_TABLE = 'inet keepwatch_lvs';
export const LVS_DR_TABLE = 'netdev keepwatch_lvs_dr';
/** Removes both tables whether they exist or not (the `table X {}` first makes the delete safe). */
export const LVS_REMOVE = `table ${LVS_NAT_TABLE} {}\ndelete table ${LVS_NAT_TABLE}\ntable ${LVS_DR_TABLE} {}\ndelete table ${LVS_DR_TABLE}\n`;
/** Hash buckets of a hashed service: a server with less than 1/256 of the weight gets none. */
export const BUCKETS = 256;
/** The longest round-robin sequence (weights are scaled down to fit). */
export const MAX_SEQUENCE = 256;
/** The jhash seed: fixed, so every director hashes a flow to the same bucket. */
export const HASH_SEED = 0x4b57;
/** How long one `nft` run may take. */
export const NFT_LVS_TIMEOUT_MS = 5000;
/** How long an apply waits for missing neighbour entries (DR) in all. */
export const NEIGHBOUR_WAIT_MS = 1000;
/** Services per table the adapter renders (the LVS room caps too; this bounds the nft input). */
export const MAX_SERVICES = 1024;

/** Why part of a table was not rendered (closed union: log field). */
export type LvsNoteKind = 'tun-unsupported' | 'fwmark-dr-unsupported' | 'mac-unresolved' | 'no-interface' | 'mixed-methods' | 'too-many-services';

export interface LvsNote {
  readonly kind: LvsNoteKind;
  readonly service: string;
  readonly realServer?: string;
  readonly message: string;
}

/** What the nftables adapter does for a service: shown in /v1/state. */
export type NftSelection =
  | { readonly kind: 'sequence'; readonly entries: readonly number[] }
  | { readonly kind: 'hash'; readonly over: 'flow' | 'source' | 'destination'; readonly buckets: readonly number[] }
  | { readonly kind: 'none' };

/** MACs a DR table needs: the director's interfaces and the real servers on them. */
export interface DrMacs {
  /** `iface` → the interface's MAC. */
  readonly interfaces: ReadonlyMap<string, string>;
  /** `iface|address` → the real server's MAC. */
  readonly realServers: ReadonlyMap<string, string>;
}

const PER_CONNECTION: ReadonlySet<Scheduler> = new Set(['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq']);

/** One line for /v1/state and the README: what this adapter does for the service's scheduler. */
export function nftSchedulerEffect(s: Pick<DataPlaneService, 'scheduler' | 'method' | 'persistenceTimeoutS'>): string {
  if (s.persistenceTimeoutS > 0) return 'source affinity (jhash of the client address over weighted buckets; no expiry)';
  if (s.scheduler === 'fo' || s.scheduler === 'ovf') return 'all to the highest weight';
  if (s.scheduler === 'sh' || s.scheduler === 'mh') return 'jhash of the client address over weighted buckets';
  if (s.scheduler === 'dh' || s.scheduler === 'lblc' || s.scheduler === 'lblcr') return 'jhash of the destination address over weighted buckets';
  if (s.method === 'dr') return 'per-flow jhash over weighted buckets';
  return s.scheduler === 'rr' ? 'round robin (numgen)' : 'weighted round robin (numgen)';
}

/** FNV-1a, 32 bits: the pure, stable hash of the bucket assignment. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // A final avalanche (murmur3's fmix32): FNV's low bits alone are not uniform enough.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function serverKey(r: DataPlaneRealServer): string {
  return r.port === undefined ? r.address : `${r.address}:${r.port}`;
}

/** Quotas proportional to `weights` summing to `total` (largest remainder; ties: lower index). */
function quotas(weights: readonly number[], total: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (w * total) / sum);
  const q = exact.map(Math.floor);
  let left = total - q.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left-- <= 0) break;
    q[i]!++;
  }
  return q;
}

/**
 * Bucket → server index (into `servers`), by weighted rendezvous hashing with exact quotas: every
 * (bucket, server) pair is scored, and pairs are taken best first while the bucket is free and
 * the server under its quota. A server keeps its best buckets when another one comes or goes.
 */
export function assignBuckets(servers: readonly DataPlaneRealServer[], buckets = BUCKETS): number[] {
  // In address order: the result does not depend on the order the table lists the servers in.
  const live = servers
    .map((s, i) => [s, i] as const)
    .filter(([s]) => s.weight > 0)
    .sort(([a], [b]) => (serverKey(a) < serverKey(b) ? -1 : serverKey(a) > serverKey(b) ? 1 : 0));
  if (live.length === 0) return [];
  const quota = quotas(
    live.map(([s]) => s.weight),
    buckets,
  );
  const pairs: { score: number; bucket: number; slot: number }[] = [];
  live.forEach(([s], slot) => {
    const key = serverKey(s);
    for (let b = 0; b < buckets; b++) {
      const u = (fnv1a(`${b}|${key}`) + 0.5) / 2 ** 32;
      pairs.push({ score: -s.weight / Math.log(u), bucket: b, slot });
    }
  });
  pairs.sort((a, b) => b.score - a.score || a.bucket - b.bucket || a.slot - b.slot);
  const out = new Array<number>(buckets).fill(-1);
  let free = buckets;
  for (const p of pairs) {
    if (free === 0) break;
    if (out[p.bucket] !== -1 || quota[p.slot]! <= 0) continue;
    out[p.bucket] = live[p.slot]![1];
    quota[p.slot]!--;
    free--;
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * A weighted round-robin sequence of server indexes (nginx's smooth weighted round robin:
 * interleaved, each server `weight` times per cycle); weights divided by their gcd and scaled to
 * fit MAX_SEQUENCE (a server with weight > 0 keeps at least one slot).
 */
export function wrrSequence(servers: readonly DataPlaneRealServer[], maxLength = MAX_SEQUENCE): number[] {
  const live = servers.map((s, i) => [s.weight, i] as const).filter(([w]) => w > 0);
  if (live.length === 0) return [];
  const g = live.reduce((a, [w]) => gcd(a, w), 0);
  let weights = live.map(([w]) => w / g);
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum > maxLength) {
    const scaled = quotas(weights, Math.max(maxLength, live.length));
    weights = scaled.map((q) => Math.max(1, q));
  }
  const total = weights.reduce((a, b) => a + b, 0);
  const current = weights.map(() => 0);
  const seq: number[] = [];
  for (let n = 0; n < total; n++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    seq.push(live[best]![1]);
  }
  return seq;
}

/** How a service's servers are chosen here (indexes into `service.realServers`). */
export function selectionFor(service: DataPlaneService): NftSelection {
  const servers = service.realServers;
  if (!servers.some((s) => s.weight > 0)) return { kind: 'none' };
  const hashed = (over: 'flow' | 'source' | 'destination'): NftSelection => ({ kind: 'hash', over, buckets: assignBuckets(servers) });
  if (service.persistenceTimeoutS > 0) return hashed('source');
  const s = service.scheduler;
  if (s === 'fo' || s === 'ovf') {
    let best = -1;
    servers.forEach((r, i) => {
      if (r.weight > 0 && (best < 0 || r.weight > servers[best]!.weight)) best = i;
    });
    return { kind: 'sequence', entries: [best] };
  }
  if (s === 'sh' || s === 'mh') return hashed('source');
  if (s === 'dh' || s === 'lblc' || s === 'lblcr') return hashed('destination');
  if (service.method === 'dr' && PER_CONNECTION.has(s)) return hashed('flow');
  if (s === 'rr') {
    const entries = servers.map((r, i) => [r, i] as const).filter(([r]) => r.weight > 0).map(([, i]) => i);
    return { kind: 'sequence', entries };
  }
  return { kind: 'sequence', entries: wrrSequence(servers) };
}

/**
 * `persistence_granularity` as the raw source-address bits to hash (`@nh,96,24` for
 * 255.255.255.0): nft refuses a masked address inside jhash, and a raw payload must be whole
 * bytes, so a prefix is rounded up to the next byte (a finer grouping, still per client).
 * Undefined: the whole address.
 */
export function granularityBits(family: 'ipv4' | 'ipv6', granularity: string | undefined): string | undefined {
  if (!granularity) return undefined;
  let prefix: number;
  if (family === 'ipv4') {
    const p = parseIp(granularity);
    if (p?.family !== 'ipv4') return undefined;
    prefix = 0;
    for (const b of p.bytes) for (let bit = 7; bit >= 0; bit--) if (b & (1 << bit)) prefix++;
  } else {
    prefix = Number(granularity.replace(/^\//, ''));
    if (!Number.isInteger(prefix)) return undefined;
  }
  const full = family === 'ipv4' ? 32 : 128;
  const bits = Math.ceil(Math.max(1, prefix) / 8) * 8;
  if (bits >= full) return undefined;
  return `@nh,${family === 'ipv4' ? 96 : 64},${bits}`;
}

/** Consecutive equal values as ranges: `0-127 : X, 128-255 : Y`. */
function rangeElements<T>(values: readonly T[], render: (v: T) => string): string {
  const out: string[] = [];
  let start = 0;
  for (let i = 1; i <= values.length; i++) {
    if (i < values.length && values[i] === values[start]) continue;
    out.push(`${start === i - 1 ? start : `${start}-${i - 1}`} : ${render(values[start]!)}`);
    start = i;
  }
  return out.join(', ');
}

function l3(service: DataPlaneService): 'ip' | 'ip6' {
  return service.family === 'ipv6' ? 'ip6' : 'ip';
}

/** The selector: `numgen inc mod N map { ... }` / `jhash ... mod 256 seed S map { ... }`. */
function selector(service: DataPlaneService, sel: Exclude<NftSelection, { kind: 'none' }>, value: (index: number) => string): string {
  const f = l3(service);
  if (sel.kind === 'sequence') return `numgen inc mod ${sel.entries.length} map { ${rangeElements(sel.entries, value)} }`;
  const raw = sel.over === 'source' ? granularityBits(service.family, service.persistenceGranularity) : undefined;
  const input = sel.over === 'flow' ? `${f} saddr . th sport . ${f} daddr . th dport` : sel.over === 'source' ? (raw ?? `${f} saddr`) : `${f} daddr`;
  return `jhash ${input} mod ${sel.buckets.length} seed 0x${HASH_SEED.toString(16)} map { ${rangeElements(sel.buckets, value)} }`;
}

/** What a packet of the service looks like (without `meta pkttype`). */
function match(service: DataPlaneService): string {
  if (service.fwmark !== undefined) return `meta nfproto ${service.family} meta mark ${service.fwmark}`;
  return `${l3(service)} daddr ${service.address} meta l4proto ${service.protocol ?? 'tcp'} th dport ${service.port}`;
}

export interface RenderedLvs {
  readonly ruleset: string;
  readonly notes: readonly LvsNote[];
}

/**
 * The whole nft transaction for `table`: both tables removed, then rebuilt with what the table
 * holds (pure: MACs are given). `interfaceOf` says which interface a DR service uses.
 */
export function renderLvsRuleset(table: DataPlaneTable, macs: DrMacs, interfaceOf: (service: DataPlaneService) => string | undefined = (s) => s.interface): RenderedLvs {
  const notes: LvsNote[] = [];
  const nat: string[] = [];
  const dr = new Map<string, string[]>();
  const services = table.services.slice(0, MAX_SERVICES);
  if (table.services.length > MAX_SERVICES) notes.push({ kind: 'too-many-services', service: table.services[MAX_SERVICES]!.key, message: `only the first ${MAX_SERVICES} of ${table.services.length} services are rendered` });
  for (const service of services) {
    if (service.method === 'tun') {
      notes.push({ kind: 'tun-unsupported', service: service.key, message: `${service.key}: lb_kind TUN needs IPVS (nftables cannot encapsulate): not forwarded` });
      continue;
    }
    if (service.realServers.some((r) => r.method !== undefined && r.method !== service.method)) {
      notes.push({ kind: 'mixed-methods', service: service.key, message: `${service.key}: a real server's own lb_kind differs from the service's; the nftables adapter uses the service's (${service.method.toUpperCase()})` });
    }
    if (service.method === 'nat') {
      const sel = selectionFor(service);
      const m = match(service);
      if (sel.kind === 'none') {
        nat.push(`${m} counter drop`);
        continue;
      }
      const f = l3(service);
      const target = (i: number): string => {
        const r = service.realServers[i]!;
        const port = r.port ?? (service.fwmark === undefined ? service.port : undefined);
        return port === undefined ? r.address : `${r.address} . ${port}`;
      };
      nat.push(`${m} counter dnat ${f} to ${selector(service, sel, target)}`);
      continue;
    }
    // DR
    if (service.fwmark !== undefined) {
      notes.push({ kind: 'fwmark-dr-unsupported', service: service.key, message: `${service.key}: DR under a fwmark service needs IPVS (the mark is set after netdev ingress): not forwarded` });
      continue;
    }
    const iface = interfaceOf(service);
    const own = iface ? macs.interfaces.get(iface) : undefined;
    if (!iface || !own) {
      notes.push({ kind: 'no-interface', service: service.key, message: `${service.key}: no interface (or its MAC) for DR: not forwarded` });
      continue;
    }
    // Servers without a MAC are left out (weight 0 here): the others share their buckets.
    const servers = service.realServers.map((r) => {
      if (r.weight > 0 && !macs.realServers.get(`${iface}|${r.address}`)) {
        notes.push({ kind: 'mac-unresolved', service: service.key, realServer: serverKey(r), message: `${service.key}: no neighbour entry for real server ${r.address} on ${iface}: left out` });
        return { ...r, weight: 0 };
      }
      return r;
    });
    const svc = { ...service, realServers: servers };
    const sel = selectionFor(svc);
    const rules = dr.get(iface) ?? [];
    const m = `meta pkttype host ${match(svc)}`;
    if (sel.kind === 'none') rules.push(`${m} counter drop`);
    else rules.push(`${m} counter ether saddr set ${own} ether daddr set ${selector(svc, sel, (i) => macs.realServers.get(`${iface}|${servers[i]!.address}`)!)} fwd to "${iface}"`);
    dr.set(iface, rules);
  }
  const out = [LVS_REMOVE.trimEnd()];
  if (nat.length > 0) {
    out.push(`table ${LVS_NAT_TABLE} {`);
    for (const [name, hook] of [['prerouting', 'prerouting'], ['output', 'output']] as const) {
      out.push(`  chain ${name} {`, `    type nat hook ${hook} priority -100; policy accept;`, ...nat.map((r) => `    ${r}`), `  }`);
    }
    out.push('}');
  }
  if (dr.size > 0) {
    out.push(`table ${LVS_DR_TABLE} {`);
    [...dr.keys()].sort().forEach((iface, n) => {
      out.push(`  chain ingress${n} {`, `    type filter hook ingress device "${iface}" priority -100; policy accept;`, ...dr.get(iface)!.map((r) => `    ${r}`), `  }`);
    });
    out.push('}');
  }
  return { ruleset: `${out.join('\n')}\n`, notes };
}

/** The DR services' interfaces and the real servers (weight > 0) each needs a MAC for. */
export function drNeeds(table: DataPlaneTable, interfaceOf: (s: DataPlaneService) => string | undefined): Map<string, Set<string>> {
  const needs = new Map<string, Set<string>>();
  for (const s of table.services.slice(0, MAX_SERVICES)) {
    if (s.method !== 'dr' || s.fwmark !== undefined) continue;
    const iface = interfaceOf(s);
    if (!iface) continue;
    const set = needs.get(iface) ?? new Set<string>();
    for (const r of s.realServers) if (r.weight > 0) set.add(r.address);
    needs.set(iface, set);
  }
  return needs;
}

// --- the host side ------------------------------------------------------------------------------

/** The host's neighbour table and interfaces, as DR needs them (SystemNeighbours; fakes in tests). */
export interface Neighbours {
  /** The interface's MAC, or undefined when it does not exist. */
  interfaceMac(iface: string): string | undefined;
  /** The interface the route to `address` uses. */
  routeInterface(address: string): Promise<string | undefined>;
  /** `address` → MAC for the entries of `iface` that are usable (not FAILED/INCOMPLETE). */
  entries(iface: string): Promise<Map<string, string>>;
  /** Makes the kernel resolve `address` (one datagram to the discard port). */
  solicit(address: string): void;
  sleep(ms: number): Promise<void>;
}

const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const IP_TIMEOUT_MS = 2000;
const IP_MAX_BYTES = 4 * 1024 * 1024;

function ipJson(args: readonly string[]): Promise<unknown[]> {
  return new Promise((resolve) => {
    execFile('ip', ['-j', ...args], { timeout: IP_TIMEOUT_MS, maxBuffer: IP_MAX_BYTES, env: { PATH: process.env.PATH ?? PATH } }, (err, stdout) => {
      if (err) return resolve([]);
      try {
        const v = JSON.parse(stdout || '[]') as unknown;
        resolve(Array.isArray(v) ? v : []);
      } catch {
        resolve([]);
      }
    });
  });
}

export class SystemNeighbours implements Neighbours {
  interfaceMac(iface: string): string | undefined {
    if (!/^[^/\0]{1,15}$/.test(iface) || iface === '.' || iface === '..') return undefined;
    try {
      return readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim().toLowerCase() || undefined;
    } catch {
      return undefined;
    }
  }

  async routeInterface(address: string): Promise<string | undefined> {
    if (!parseIp(address)) return undefined;
    const [r] = (await ipJson(['route', 'get', address])) as { dev?: string }[];
    return r?.dev;
  }

  async entries(iface: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const e of (await ipJson(['neigh', 'show', 'dev', iface])) as { dst?: string; lladdr?: string; state?: string[] }[]) {
      if (!e.dst || !e.lladdr || (e.state ?? []).some((s) => s === 'FAILED' || s === 'INCOMPLETE')) continue;
      out.set(e.dst, e.lladdr.toLowerCase());
    }
    return out;
  }

  solicit(address: string): void {
    const p = parseIp(address);
    if (!p) return;
    const s = createSocket(p.family === 'ipv6' ? 'udp6' : 'udp4');
    s.on('error', () => s.close());
    s.send(Buffer.alloc(0), 9, address, () => s.close());
  }

  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms).unref());
  }
}

export interface NftLvsOptions {
  readonly nft: NftRunner;
  readonly neighbours: Neighbours;
  readonly timeoutMs?: number;
  readonly neighbourWaitMs?: number;
}

/** The DataPlane port on nftables. */
export class NftLvsDataPlane implements DataPlane {
  readonly kind = 'nftables' as const;
  /** The ruleset in force (undefined: unknown, e.g. before start or after a failure). */
  private applied: string | undefined;
  private lastNotes: readonly LvsNote[] = [];
  /** Services whose DR interface came from the route to their first real server. */
  private readonly routed = new Map<string, string>();

  constructor(private readonly opts: NftLvsOptions) {}

  /** What the last apply left out, and why. */
  get notes(): readonly LvsNote[] {
    return this.lastNotes;
  }

  /** The ruleset last applied (for /v1/state and tests). */
  get ruleset(): string | undefined {
    return this.applied;
  }

  async apply(table: DataPlaneTable): Promise<void> {
    const interfaceOf = (s: DataPlaneService): string | undefined => s.interface ?? this.routed.get(s.key);
    for (const s of table.services) {
      if (s.method !== 'dr' || s.interface || this.routed.has(s.key) || s.realServers.length === 0) continue;
      const iface = await this.opts.neighbours.routeInterface(s.realServers[0]!.address);
      if (iface) this.routed.set(s.key, iface);
    }
    const macs = await this.resolve(drNeeds(table, interfaceOf));
    const { ruleset, notes } = renderLvsRuleset(table, macs, interfaceOf);
    this.lastNotes = notes;
    if (ruleset === this.applied) return;
    const r = await this.opts.nft.apply(ruleset, { timeoutMs: this.opts.timeoutMs ?? NFT_LVS_TIMEOUT_MS });
    if (!r.ok) {
      this.applied = undefined;
      throw new Error(`nft refused the LVS table (${r.reason}): ${r.message}`);
    }
    this.applied = ruleset;
  }

  async removeAll(): Promise<void> {
    const r = await this.opts.nft.apply(LVS_REMOVE, { timeoutMs: this.opts.timeoutMs ?? NFT_LVS_TIMEOUT_MS });
    this.applied = undefined;
    // Without nft there can be no table of ours.
    if (!r.ok && r.reason !== 'missing') throw new Error(`nft could not remove the LVS tables (${r.reason}): ${r.message}`);
  }

  /** MACs for the DR services: interfaces from sysfs, real servers from the neighbour table (asked for when missing, bounded). */
  private async resolve(needs: Map<string, Set<string>>): Promise<DrMacs> {
    const interfaces = new Map<string, string>();
    const realServers = new Map<string, string>();
    const waitMs = this.opts.neighbourWaitMs ?? NEIGHBOUR_WAIT_MS;
    for (const [iface, addresses] of needs) {
      const mac = this.opts.neighbours.interfaceMac(iface);
      if (mac) interfaces.set(iface, mac);
      let missing = [...addresses];
      let waited = 0;
      let asked = false;
      for (;;) {
        const entries = await this.opts.neighbours.entries(iface);
        missing = missing.filter((a) => {
          const m = entries.get(a);
          if (m) realServers.set(`${iface}|${a}`, m);
          return !m;
        });
        if (missing.length === 0 || waited >= waitMs) break;
        if (!asked) for (const a of missing) this.opts.neighbours.solicit(a);
        asked = true;
        await this.opts.neighbours.sleep(50);
        waited += 50;
      }
    }
    return { interfaces, realServers };
  }
}
