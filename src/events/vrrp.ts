/**
 * The VRRP events: what the core (src/core) emits — transitions with their cause, adverts sent,
 * received and dropped with their reason, GARPs, VIP requests, priority changes. Metrics, traces,
 * logs, health and the split-brain guard subscribe; the core itself imports no observability
 * library. The reason and cause unions double as metric labels.
 */
import type { DropReason } from '../protocol/check.js';
import type { IpFamily } from '../protocol/inet.js';
import type { VrrpVersion } from '../protocol/advert.js';

/** RFC 5798 §6.4 states, plus FAULT (keepalived: interface down or a failing tracker). */
export const VRRP_STATES = ['init', 'backup', 'master', 'fault'] as const;
export type VrrpState = (typeof VRRP_STATES)[number];

/** Why a state changed. Also a metric label (`keepwatch_vrrp_transitions_total{cause}`). */
export const TRANSITION_CAUSES = [
  /** Initialize → Backup at start (RFC 5798 §6.4.1). */
  'startup',
  /** Initialize → Master at start: priority 255, the address owner (RFC 5798 §6.4.1). */
  'address-owner',
  /** Backup → Master: no advert within Master_Down_Interval (RFC 5798 §6.4.2). */
  'master-down-timer',
  /** Backup → Master after Skew_Time: the master resigned with priority 0 (RFC 5798 §6.4.2). */
  'priority-zero-advert',
  /** Backup → Master: we outrank the master and preempt (RFC 5798 §6.4.2, Preempt_Mode). */
  'preempt',
  /** Master → Backup: an advert with a higher priority (RFC 5798 §6.4.3). */
  'higher-priority-advert',
  /** Master → Backup: same priority, higher primary address (RFC 5798 §6.4.3). */
  'equal-priority-higher-address',
  /** Any → Fault: the interface went down or a tracker failed. */
  'fault',
  /** Fault → Backup/Master: the fault cleared. */
  'fault-cleared',
  /** Any → Initialize: the agent stops (master sends priority 0 first). */
  'shutdown',
  /** Master → Backup: the split-brain guard demoted this node. */
  'guard-demotion',
  /** Backup → Backup-like re-entry after a sync-group peer moved (sync groups). */
  'sync-group',
] as const;
export type TransitionCause = (typeof TRANSITION_CAUSES)[number];

export interface PeerInfo {
  readonly address: string;
  readonly priority: number;
  readonly advertIntervalMs: number;
}

interface InstanceRef {
  readonly instance: string;
  readonly vrid: number;
  readonly interface: string;
  readonly family: IpFamily;
  readonly version: VrrpVersion;
}

export interface StateChangedEvent extends InstanceRef {
  readonly type: 'state-changed';
  readonly from: VrrpState;
  readonly to: VrrpState;
  readonly cause: TransitionCause;
  /** Free text for people (`interface eth0 down`, `script chk_nginx failed`). */
  readonly detail?: string;
  /** Monotonic time of the transition. */
  readonly atMs: number;
  readonly wallMs: number;
  /**
   * Monotonic time the election began: the last advert heard (master-down), the priority-0
   * advert, the outranking advert, the fault. Equal to atMs when nothing earlier applies.
   */
  readonly startedAtMs: number;
  readonly priority: number;
  readonly basePriority: number;
  /** The master we last heard (or the one that outranked us). */
  readonly peer?: PeerInfo;
  /** When we last heard an advert from the master, if ever. */
  readonly lastAdvertAtMs?: number;
}

export interface AdvertSentEvent extends InstanceRef {
  readonly type: 'advert-sent';
  readonly priority: number;
  readonly atMs: number;
  readonly destinations: readonly string[];
}

export interface AdvertReceivedEvent extends InstanceRef {
  readonly type: 'advert-received';
  readonly source: string;
  readonly sourceMac?: string;
  readonly priority: number;
  readonly advertIntervalMs: number;
  readonly addressListMismatch: boolean;
  /** When the frame was captured (pcap timestamp mapped to the monotonic clock), or now. */
  readonly atMs: number;
  /** Our state when it arrived. */
  readonly state: VrrpState;
}

export interface AdvertDroppedEvent {
  readonly type: 'advert-dropped';
  readonly interface: string;
  readonly reason: DropReason;
  readonly source: string;
  readonly sourceMac?: string;
  /** The priority field, when the header was long enough to carry one. */
  readonly priority?: number;
  readonly vrid?: number;
  /** The instance the advert was meant for, when the VRID is ours. */
  readonly instance?: string;
  readonly atMs: number;
}

export interface GarpSentEvent {
  readonly type: 'garp-sent';
  readonly instance: string;
  readonly vrid: number;
  readonly interface: string;
  readonly vips: readonly string[];
  readonly mac: string;
  /** Frames in this burst. */
  readonly count: number;
  /** `extra-interface`: garp_extra_if, one frame on an interface other than the instance's. */
  readonly reason: 'become-master' | 'master-delay' | 'refresh' | 'lower-priority' | 'guard' | 'extra-interface';
  /**
   * What the frames are: gratuitous ARPs for IPv4 VIPs (`arp`; also when absent) or unsolicited
   * neighbour advertisements for IPv6 VIPs (`ndp`, RFC 4861 §7.2.6). Both count in
   * keepwatch_garp_sent_total (no label: the family is the instance's).
   */
  readonly protocol?: 'arp' | 'ndp';
  readonly atMs: number;
}

export interface VipRequestedEvent {
  readonly type: 'vip-requested';
  readonly instance: string;
  readonly vrid: number;
  readonly interface: string;
  readonly action: 'add' | 'remove';
  readonly vips: readonly string[];
  readonly atMs: number;
}

export interface PriorityChangedEvent extends InstanceRef {
  readonly type: 'priority-changed';
  readonly from: number;
  readonly to: number;
  readonly basePriority: number;
  readonly atMs: number;
}

export interface SendFailedEvent {
  readonly type: 'send-failed';
  readonly instance: string;
  readonly interface: string;
  readonly reason: string;
  readonly atMs: number;
}

/** Every event of the VRRP core. */
export type VrrpEvent =
  | StateChangedEvent
  | AdvertSentEvent
  | AdvertReceivedEvent
  | AdvertDroppedEvent
  | GarpSentEvent
  | VipRequestedEvent
  | PriorityChangedEvent
  | SendFailedEvent;
