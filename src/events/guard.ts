/**
 * The split-brain guard's events and the vocabulary they carry: detection sources, conflict
 * levels, the arbitration verdict, the reasons a cross-check message is refused. The unions are
 * metric labels (keepwatch_split_brain_detections_total{source}, keepwatch_guard_rejected_total{reason}).
 */

/** How the guard sees another holder: captured adverts, ARP probes, the signed peer cross-check. */
export const DETECTION_SOURCES = ['pcap', 'arp', 'peer'] as const;
export type DetectionSource = (typeof DETECTION_SOURCES)[number];

/** Why a cross-check message (request or answer) is refused. */
export const REJECT_REASONS = ['unsigned', 'bad-signature', 'stale', 'replayed', 'malformed', 'no-secret', 'wrong-receiver'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** `confirmed`: authenticated evidence; `suspected`: only evidence anyone on the LAN can forge. */
export type ConflictLevel = 'confirmed' | 'suspected';

/** What one node is, as arbitration sees it. */
export interface NodeFacts {
  /** Effective priority; undefined when not known. */
  readonly priority?: number;
  /** Primary (advert source) address; undefined when not known. */
  readonly address?: string;
  /** Whether the node reaches the witness; undefined when there is no witness or it is unknown. */
  readonly witnessUp?: boolean;
  /**
   * The facts come from authenticated input (accepted adverts, a signed peer). Only meaningful for
   * the other node: our own facts are ours. Undefined counts as authenticated (tests, old callers).
   */
  readonly authenticated?: boolean;
}

export type Decision = 'keep' | 'yield';

export interface Verdict {
  readonly decision: Decision;
  readonly reason: string;
}

/** What one source saw: another node holding our VIP or mastering our VRID (events, logs, spans). */
export interface Evidence {
  readonly source: DetectionSource;
  readonly atMs: number;
  readonly mac?: string;
  readonly address?: string;
  readonly priority?: number;
  readonly detail: string;
  /** Whether who it is comes from authenticated input (accepted adverts, a signed peer). */
  readonly authenticated?: boolean;
}

export type GuardEvent =
  | { readonly type: 'guard-detection'; readonly instance: string; readonly vrid: number; readonly evidence: Evidence }
  | { readonly type: 'guard-conflict'; readonly instance: string; readonly vrid: number; readonly level: ConflictLevel; readonly active: boolean; readonly sources: readonly DetectionSource[]; readonly atMs: number; readonly wallMs: number }
  | { readonly type: 'guard-decision'; readonly instance: string; readonly vrid: number; readonly verdict: Verdict; readonly evidence: Evidence; readonly self: NodeFacts; readonly other: NodeFacts; readonly atMs: number; readonly wallMs: number }
  | { readonly type: 'guard-release'; readonly instance: string; readonly vrid: number; readonly reason: string; readonly atMs: number }
  | { readonly type: 'guard-peer'; readonly peer: string; readonly up: boolean; readonly error?: string }
  | { readonly type: 'guard-witness'; readonly up: boolean }
  | { readonly type: 'guard-rejected'; readonly reason: RejectReason; readonly from: string };
