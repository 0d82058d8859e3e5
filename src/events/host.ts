/**
 * The host events: what the adapters and the agent report around the core — a VIP added or
 * removed (netlink's answer), a VIP put back after someone removed it, a link that went up or
 * down, a captured frame with what the engine made of it, a reload, an agent error.
 */
import type { DropReason } from '../protocol/check.js';
import type { EthernetHeader, IpPacket } from '../protocol/frame.js';

/** Which VIP, on which interface, for which instance (a VipAssignment as far as events need). */
export interface VipRef {
  readonly instance: string;
  readonly interface: string;
  readonly vip: { readonly address: string };
}

/** A config diagnostic as events carry it (config/model.ts Diagnostic fits). */
export interface DiagnosticRef {
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly location: { readonly file: string; readonly line: number; readonly column: number };
}

/**
 * What became of one captured frame: the engine parses it once and says what it learned, so no
 * subscriber parses it again. `own`: one we sent (pcap sees those too), with its VRID and instance
 * when it is one of our adverts.
 */
export type FrameOutcome =
  | { readonly kind: 'accepted'; readonly instance: string; readonly vrid: number }
  | { readonly kind: 'dropped'; readonly reason: DropReason; readonly vrid?: number; readonly instance?: string }
  | { readonly kind: 'own'; readonly vrid?: number; readonly instance?: string }
  | { readonly kind: 'arp'; readonly ethernet: EthernetHeader }
  /** ICMPv6 from another node: Neighbor Discovery (the capture passes only neighbour advertisements). */
  | { readonly kind: 'ndp'; readonly ethernet: EthernetHeader; readonly ip: IpPacket }
  | { readonly kind: 'other' };

/**
 * A route, rule or static address as events carry it (from a ports/ RoutingEntry): `owner` is the
 * vrrp_instance, or '' for `static_routes`, `static_rules` and `static_ipaddress`; `text` the line
 * as written.
 */
export interface RoutingRef {
  readonly kind: 'route' | 'rule' | 'address';
  readonly owner: string;
  readonly text: string;
  readonly location: { readonly file: string; readonly line: number; readonly column: number };
}

export type HostEvent =
  | { readonly type: 'vip-result'; readonly assignment: VipRef; readonly action: 'add' | 'remove'; readonly error?: Error; readonly durationMs: number; readonly atMs: number }
  | { readonly type: 'vip-repaired'; readonly assignment: VipRef; readonly atMs: number }
  /** The kernel's answer to a route, rule or static address add/remove (idempotent: "already done" is no error). */
  | { readonly type: 'route-result'; readonly entry: RoutingRef; readonly action: 'add' | 'remove'; readonly error?: Error; readonly durationMs: number; readonly atMs: number }
  /** A tracked route or rule we hold was deleted by someone else, and was put back. */
  | { readonly type: 'route-repaired'; readonly entry: RoutingRef; readonly atMs: number }
  | { readonly type: 'link-changed'; readonly interface: string; readonly up: boolean; readonly atMs: number }
  | { readonly type: 'frame'; readonly interface: string; readonly frame: Uint8Array; readonly wallUs: number; readonly outcome: FrameOutcome }
  | { readonly type: 'reload'; readonly result: 'success' | 'failure'; readonly diagnostics: readonly DiagnosticRef[]; readonly atMs: number }
  | { readonly type: 'agent-error'; readonly error: Error; readonly atMs: number };
