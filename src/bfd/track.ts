/**
 * `track_bfd` with keepalived's weight semantics (keepalived/vrrp/vrrp_track.c
 * initialise_track_bfd_state, vrrp_scheduler.c vrrp_handle_bfd_event), pure:
 *
 * - weight 0: FAULT while the session is down (with `reverse`: while it is up);
 * - weight > 0: added while up (`reverse`: subtracted while up);
 * - weight < 0: added (so subtracted) while down (`reverse`: |weight| added while down);
 * - a session is "down" from the start until it first comes Up (keepalived's bfd_up starts false),
 *   and stays "up" when the neighbour says AdminDown (keepalived sends no event then: RFC 5882
 *   §3.2, an administrative shutdown is not a path failure);
 * - a sync group's `track_bfd` applies to every member; an instance that tracks the same session
 *   itself keeps the group's weight unless its own is 0 (keepalived add_vrrp_to_track_bfd); a
 *   weighted group entry with a member of priority 255 counts as weight 0 (keepalived).
 */
import type { BfdInstanceConfig, KeepalivedConfig, TrackReference, VrrpInstanceConfig } from '../config/model.js';

export interface BfdTrackEffect {
  /** The priority offset from every tracked session. */
  readonly offset: number;
  /** Fault source (`bfd:NAME`) → detail, for weight-0 sessions that are failing. */
  readonly faults: ReadonlyMap<string, string>;
  /** Each tracked session's contribution (0 for weight-0 ones), keyed `bfd:NAME`. */
  readonly weights: ReadonlyMap<string, number>;
}

interface Ref {
  readonly name: string;
  readonly weight: number;
  readonly reverse: boolean;
}

/** The sessions an instance tracks, with the weight and reverse that apply. */
export function trackedBfd(i: VrrpInstanceConfig, config: KeepalivedConfig): Ref[] {
  const bfd = new Map<string, BfdInstanceConfig>((config.bfdInstances ?? []).map((b) => [b.name, b]));
  const resolve = (r: TrackReference): Ref | undefined => {
    const b = bfd.get(r.name);
    if (!b) return undefined;
    return { name: r.name, weight: r.weight ?? b.weight, reverse: r.reverse || b.weightReverse };
  };
  const out = new Map<string, Ref>();
  for (const r of i.trackBfd ?? []) {
    const ref = resolve(r);
    if (ref) out.set(ref.name, ref);
  }
  const group = config.syncGroups.find((g) => g.members.some((m) => m.name === i.name));
  if (group) {
    const owners = group.members.some((m) => config.instances.find((x) => x.name === m.name)?.priority === 255);
    for (const r of group.trackBfd ?? []) {
      let ref = resolve(r);
      if (!ref) continue;
      if (owners && ref.weight !== 0) ref = { ...ref, weight: 0 };
      const own = out.get(ref.name);
      if (own && own.weight === 0) continue;
      out.set(ref.name, ref);
    }
  }
  return [...out.values()];
}

/** `up(name)`: whether the session counts as up for tracking (see the top of this file). */
export function bfdTrackEffect(refs: readonly Ref[], up: (name: string) => boolean): BfdTrackEffect {
  let offset = 0;
  const faults = new Map<string, string>();
  const weights = new Map<string, number>();
  for (const r of refs) {
    const isUp = up(r.name);
    const key = `bfd:${r.name}`;
    if (r.weight === 0) {
      weights.set(key, 0);
      if (isUp === r.reverse) faults.set(key, `bfd_instance ${r.name} ${isUp ? 'up (reverse)' : 'down'}`);
      continue;
    }
    const m = r.reverse ? -1 : 1;
    const w = r.weight > 0 ? (isUp ? r.weight * m : 0) : isUp ? 0 : r.weight * m;
    weights.set(key, w);
    offset += w;
  }
  return { offset, faults, weights };
}
