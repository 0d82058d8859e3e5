/**
 * Health and state as JSON: what /healthz and /v1/state answer. Pure functions of the routers'
 * snapshots (plus extra reasons other subscribers add, such as the split-brain guard).
 */
import type { RouterSnapshot } from '../core/router.js';

export interface HealthReason {
  readonly instance: string;
  readonly cause: string;
}

export interface Health {
  readonly status: 'ok' | 'unhealthy';
  readonly reasons: readonly HealthReason[];
  readonly instances: Readonly<Record<string, string>>;
}

/**
 * Healthy when every instance is BACKUP or MASTER and no other check (e.g. the split-brain
 * guard) reports a problem.
 */
export function computeHealth(snapshots: readonly RouterSnapshot[], extra: readonly HealthReason[] = []): Health {
  const reasons: HealthReason[] = [];
  for (const s of snapshots) {
    if (s.state === 'fault') reasons.push({ instance: s.name, cause: `FAULT: ${s.faults.join('; ') || 'fault'}` });
    else if (s.state === 'init') reasons.push({ instance: s.name, cause: 'not running (INIT)' });
  }
  reasons.push(...extra);
  return { status: reasons.length === 0 ? 'ok' : 'unhealthy', reasons, instances: Object.fromEntries(snapshots.map((s) => [s.name, s.state])) };
}

/**
 * `?state=master[&instance=NAME]`: is this node master of that instance — or, without
 * `instance`, of every instance (a load balancer or cloud health check follows the active node)?
 */
export function isMasterOf(snapshots: readonly RouterSnapshot[], instance?: string): { ok: boolean; reason: string } {
  const list = instance === undefined ? snapshots : snapshots.filter((s) => s.name === instance);
  if (instance !== undefined && list.length === 0) return { ok: false, reason: `no vrrp_instance named '${instance}'` };
  if (list.length === 0) return { ok: false, reason: 'no instances' };
  const notMaster = list.filter((s) => s.state !== 'master');
  if (notMaster.length === 0) return { ok: true, reason: `master of ${list.map((s) => s.name).join(', ')}` };
  return { ok: false, reason: notMaster.map((s) => `${s.name} is ${s.state.toUpperCase()}`).join('; ') };
}

export interface VipState {
  readonly address: string;
  readonly prefixLength: number;
  readonly interface: string;
  readonly present: boolean;
}

/** /v1/state for one instance. No secrets: auth_pass never appears. */
export function instanceState(s: RouterSnapshot, nowMs: number, vipPresent: (iface: string, address: string) => boolean) {
  const t = s.lastTransition;
  return {
    name: s.name,
    vrid: s.vrid,
    interface: s.interface,
    family: s.family,
    version: s.version,
    state: s.state,
    basePriority: s.basePriority,
    effectivePriority: s.effectivePriority,
    advertIntervalMs: s.advertIntervalMs,
    masterAdvertIntervalMs: s.masterAdvertIntervalMs,
    masterDownIntervalMs: s.masterDownIntervalMs,
    master: s.master
      ? {
          address: s.master.address,
          priority: s.master.priority,
          self: s.master.self,
          ...(s.master.lastAdvertAtMs !== undefined ? { lastAdvertAgeMs: Math.round(nowMs - s.master.lastAdvertAtMs) } : {}),
        }
      : null,
    vips: s.vips.map((v): VipState => {
      const iface = v.device ?? s.interface;
      return { address: v.address, prefixLength: v.prefixLength, interface: iface, present: vipPresent(iface, v.address) };
    }),
    faults: s.faults,
    lastTransition: t ? { time: new Date(t.wallMs).toISOString(), from: t.from, to: t.to, cause: t.cause, ...(t.detail ? { detail: t.detail } : {}) } : null,
  };
}
