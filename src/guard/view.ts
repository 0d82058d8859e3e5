/**
 * What the split-brain guard shows: health reasons for /healthz, the `guard` block of /v1/state,
 * and this node's answer to a peer's cross-check. Read-only: built from router snapshots and the
 * guard's per-instance snapshot.
 *
 * /healthz turns red only on what this node verifies itself: held out, or master while its own
 * probes see another authenticated holder. A suspected conflict (forgeable evidence) or a peer's
 * word alone never does — a load balancer following /healthz would otherwise drop a healthy
 * master on a forged packet.
 */
import type { VrrpRouter } from '../core/router.js';
import type { InterfaceInfo } from '../ports/index.js';
import type { GuardSnapshot, PeerInstance } from './guard.js';

export interface GuardViewSource {
  snapshot(instance: string): GuardSnapshot | undefined;
  readonly hasWitness: boolean;
  readonly witnessUp: boolean | undefined;
}

export class GuardView {
  constructor(
    private readonly guard: GuardViewSource,
    private readonly routers: () => readonly VrrpRouter[],
    private readonly interfaces: InterfaceInfo,
  ) {}

  /** Health reasons: held out, or master while another authenticated holder answers for a VIP. */
  healthReasons(): { instance: string; cause: string }[] {
    const out: { instance: string; cause: string }[] = [];
    for (const r of this.routers()) {
      if (r.held !== undefined) {
        out.push({ instance: r.name, cause: `held out by the split-brain guard: ${r.held}` });
        continue;
      }
      const h = r.state === 'master' ? this.guard.snapshot(r.name)?.verifiedHolder : undefined;
      if (h) out.push({ instance: r.name, cause: `split brain: another node (${h.address}, ${h.mac}, priority ${h.priority}) holds a VIP of VRID ${r.config.vrid} too` });
    }
    return out;
  }

  /** The `guard` block of /v1/state for one instance. Never a secret. */
  stateOf(instance: string): Record<string, unknown> {
    const s = this.guard.snapshot(instance);
    const r = this.routers().find((x) => x.name === instance);
    return {
      guard: {
        conflict: s?.conflict ?? false,
        suspected: s?.suspected ?? false,
        held: r?.held ?? null,
        sources: s?.sources ?? [],
        evidence: (s?.evidence ?? []).map((e) => ({
          source: e.source,
          kind: e.kind,
          mac: e.mac ?? null,
          address: e.address ?? null,
          priority: e.priority ?? null,
          authenticated: e.authenticated ?? false,
          confirmed: e.confirmed,
          detail: e.detail,
          ageMs: e.ageMs,
        })),
        peers: s?.peers ?? [],
        entries: s?.entries ?? 0,
      },
    };
  }

  /** What this node tells its peers (the body of a cross-check answer). */
  localView(): PeerInstance[] {
    return this.routers().map((r) => {
      const address = r.sourceAddress();
      const mac = this.interfaces.mac(r.config.interface);
      return {
        name: r.name,
        vrid: r.config.vrid,
        family: r.config.family,
        state: r.state,
        priority: r.effectivePriority,
        ...(address ? { address } : {}),
        ...(mac ? { mac } : {}),
        vips: r.config.virtualAddresses.map((v) => v.address),
        held: r.held !== undefined,
        conflict: this.guard.snapshot(r.name)?.conflict ?? false,
        ...(this.guard.hasWitness ? { witnessUp: this.guard.witnessUp ?? true } : {}),
      };
    });
  }
}
