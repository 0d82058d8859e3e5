/**
 * `bfd_instance NAME { ... }` and the `track_bfd` references to it, with keepalived 2.2.7's
 * meanings (keepalived/bfd/bfd_parser.c, bfd.h; keepalived/vrrp/vrrp_track.c alloc_track_bfd):
 *
 * | keyword | keepalived | here |
 * |---|---|---|
 * | `neighbor_ip` / `neighbour_ip` | required; the instance is dropped without it | an error |
 * | `source_ip` | same family as the neighbour, else the instance is disabled | an error |
 * | `min_rx`, `min_tx` | ms with up to 3 decimals, 1 to 4294967; default 10 | µs in the model |
 * | `idle_tx` | ms, 1000 to 4294967; default 1000 | µs |
 * | `multiplier` | 1-255, default 5 | |
 * | `passive` | send nothing until the neighbour speaks | |
 * | `ttl` / `hoplimit` | 1-255; default 255 (IPv4), 64 (IPv6) | |
 * | `max_hops` | -1 (no check) to 255; above ttl → ttl (with a complaint); default 0 | -1 → 255 |
 * | `multihop [BOOL]` | RFC 5883: port 4784 (keepalived 2.3+; 2.2.7 has no multihop) | |
 * | `weight N [reverse]` | -253..253, the default weight of `track_bfd` | |
 * | `vrrp`, `checker` | which processes hear it; neither = both | `forVrrp` |
 *
 * keepalived logs a bad value and keeps the default; keepwatch refuses the config instead (an
 * error at the value's `file:line:col`), as it does for other keywords: a fast-failover setting
 * silently replaced by a slow default is exactly what BFD is configured to avoid. Values above
 * keepalived's "max sensible" (10000 ms) get its warning.
 */
import type { DiagnosticSink } from './diagnostics.js';
import { didYouMean, formatLocation } from './diagnostics.js';
import type { BfdInstanceConfig, TrackReference } from './model.js';
import type { Section } from './interpret.js';
import type { ParsedAddress } from './schema.js';

/** keepalived bfd.h. */
export const BFD_DEFAULTS = { minRxMs: 10, minTxMs: 10, idleTxMs: 1000, multiplier: 5, ttl4: 255, hoplimit6: 64, weight: 0 } as const;
const MAX_MS = Math.floor(0xffffffff / 1000);
const MAX_SENSIBLE_MS = 10000;
/** keepalived BFD_INAME_MAX (32, with the NUL). */
const MAX_NAME = 31;

/** `N[.ddd]` milliseconds → whole µs (keepalived read_decimal_unsigned_strvec, 3 decimals). */
export function parseMsToUs(text: string): number | undefined {
  const m = /^(\d+)(?:\.(\d{1,3}))?$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * 1000 + Number((m[2] ?? '').padEnd(3, '0'));
}

export function assembleBfdInstances(sections: readonly Section[], sink: DiagnosticSink): BfdInstanceConfig[] {
  const out: BfdInstanceConfig[] = [];
  const seen = new Map<string, Section>();
  for (const s of sections) {
    const prev = seen.get(s.name);
    if (prev) {
      sink.error(s.nameLoc, `bfd_instance '${s.name}' is already defined at ${formatLocation(prev.nameLoc)}`);
      continue;
    }
    seen.set(s.name, s);
    const b = assembleOne(s, sink);
    if (!b) continue;
    const dup = out.find((o) => o.neighbor === b.neighbor && o.multihop === b.multihop && (o.source === undefined || b.source === undefined || o.source === b.source));
    if (dup) {
      sink.error(s.nameLoc, `bfd_instance ${s.name} has the same ${b.source ? 'source/' : ''}neighbour address as bfd_instance ${dup.name} (${formatLocation(dup.location)}); keepalived ignores the second`);
      continue;
    }
    out.push(b);
  }
  return out;
}

function assembleOne(s: Section, sink: DiagnosticSink): BfdInstanceConfig | undefined {
  if (s.name.length > MAX_NAME) sink.error(s.nameLoc, `bfd_instance name '${s.name}' is longer than ${MAX_NAME} characters (keepalived ignores the instance)`);
  const nbr = s.get<ParsedAddress>('neighbor_ip') ?? s.get<ParsedAddress>('neighbour_ip');
  if (!nbr) {
    if (s.lacks('neighbor_ip') && s.lacks('neighbour_ip')) sink.error(s.nameLoc, `bfd_instance ${s.name} has no 'neighbor_ip' (keepalived disables it)`);
    return undefined;
  }
  const src = s.get<ParsedAddress>('source_ip');
  if (src && src.value.family !== nbr.value.family) {
    sink.error(src.loc, `bfd_instance ${s.name}: source_ip ${src.value.address} and neighbor_ip ${nbr.value.address} are not of the same family (keepalived disables the instance)`);
    return undefined;
  }
  const ms = (k: string, def: number, min: number): number | undefined => {
    const g = s.get<string>(k);
    if (!g) return def * 1000;
    const us = parseMsToUs(g.value);
    if (us === undefined || us < min * 1000 || us > MAX_MS * 1000) {
      sink.error(g.loc, `${k} '${g.value}' is not valid: milliseconds (up to 3 decimals) from ${min} to ${MAX_MS}`);
      return undefined;
    }
    if (us > MAX_SENSIBLE_MS * 1000) sink.warning(g.loc, `${k} ${g.value} ms is larger than keepalived's max sensible (${MAX_SENSIBLE_MS})`);
    return us;
  };
  const minRxUs = ms('min_rx', BFD_DEFAULTS.minRxMs, 1);
  const minTxUs = ms('min_tx', BFD_DEFAULTS.minTxMs, 1);
  const idleTxUs = ms('idle_tx', BFD_DEFAULTS.idleTxMs, 1000);
  const family = nbr.value.family;
  const ttl = s.val<number>('ttl') ?? s.val<number>('hoplimit') ?? (family === 'ipv4' ? BFD_DEFAULTS.ttl4 : BFD_DEFAULTS.hoplimit6);
  let maxHops = 0;
  const mh = s.get<string>('max_hops');
  if (mh) {
    const n = /^-?\d+$/.test(mh.value) ? Number(mh.value) : NaN;
    if (!(n >= -1 && n <= 255)) {
      sink.error(mh.loc, `max_hops '${mh.value}' is not valid: a whole number from -1 (no check) to 255`);
      return undefined;
    }
    maxHops = n === -1 ? 255 : n;
    // keepalived compares after storing -1 as 255: `max_hops -1` with a ttl below 255 is lowered too.
    if (maxHops > ttl) {
      sink.warning(mh.loc, `max_hops ${n} exceeds ttl/hoplimit ${ttl}: set to ${ttl} (as keepalived does)`);
      maxHops = ttl;
    }
  }
  if (minRxUs === undefined || minTxUs === undefined || idleTxUs === undefined) return undefined;
  const w = s.val<{ weight: number; reverse: boolean }>('weight');
  const vrrp = s.val<boolean>('vrrp') === true;
  const checker = s.val<boolean>('checker') === true;
  return {
    name: s.name,
    location: s.nameLoc,
    neighbor: nbr.value.address,
    family,
    ...(src ? { source: src.value.address } : {}),
    minRxUs,
    minTxUs,
    idleTxUs,
    multiplier: s.val<number>('multiplier') ?? BFD_DEFAULTS.multiplier,
    passive: s.val<boolean>('passive') === true,
    ttl,
    maxHops,
    multihop: s.val<boolean>('multihop') === true,
    weight: w?.weight ?? BFD_DEFAULTS.weight,
    weightReverse: w?.reverse ?? false,
    forVrrp: vrrp || !checker,
  };
}

/**
 * `track_bfd` entries: a name that is no bfd_instance (or one only for `checker`) is an error
 * (keepalived logs "track bfd NAME not found, ignoring..." and runs without it; keepwatch
 * refuses, as for track_script: a silently untracked BFD never fails over); a second entry for
 * the same instance is dropped with keepalived's warning.
 */
export function trackBfdRefs(s: Section, bfd: readonly BfdInstanceConfig[], sink: DiagnosticSink): TrackReference[] | undefined {
  const refs = s.list<TrackReference>('track_bfd');
  if (refs.length === 0) return undefined;
  const names = new Set(bfd.filter((b) => b.forVrrp).map((b) => b.name));
  const out: TrackReference[] = [];
  for (const r of refs) {
    if (!names.has(r.name)) {
      const only = bfd.some((b) => b.name === r.name);
      const guess = sink.saturated || only ? '' : didYouMean(r.name, names);
      sink.error(r.location, only ? `track_bfd '${r.name}': that bfd_instance is for 'checker' only (add 'vrrp' to it)` : `track_bfd '${r.name}' refers to an undefined bfd_instance${guess} (keepalived only warns and runs without it; keepwatch refuses it: a BFD session that is silently not tracked never triggers a failover)`);
      continue;
    }
    if (out.some((o) => o.name === r.name)) {
      sink.warning(r.location, `duplicate track_bfd ${r.name}: ignored (as keepalived does)`);
      continue;
    }
    out.push(r);
  }
  return out;
}
