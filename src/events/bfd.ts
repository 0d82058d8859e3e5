/**
 * The events of BFD (RFC 5880/5881/5883, keepalived's `bfd_instance`): session state changes,
 * control packets sent, received and dropped (with a closed reason), and the tracker's view.
 * Their unions are metric labels (keepwatch_bfd_*).
 */

/** RFC 5880 §4.1 `Sta`, in keepwatch's spelling (the metric's `state` label). */
export const BFD_STATES = ['admin-down', 'down', 'init', 'up'] as const;
export type BfdState = (typeof BFD_STATES)[number];

/**
 * Why a received control packet was discarded (RFC 5880 §6.8.6 reception checks, RFC 5881 §5
 * TTL, RFC 5883 max_hops; keepalived's bfd_check_packet / bfd_check_packet_ttl), a metric label.
 */
export const BFD_DROP_REASONS = [
  'too-short',
  'length-mismatch',
  'bad-version',
  'zero-detect-mult',
  'multipoint',
  'zero-my-discriminator',
  'zero-your-discriminator',
  'poll-and-final',
  'bad-diag',
  /** The A bit: keepalived supports no BFD authentication, nor does keepwatch (RFC 5880 §6.7). */
  'auth-unsupported',
  /** Your Discriminator names no session of ours (or 0 and no session for the source address). */
  'no-session',
  /** Your Discriminator names a session, but the packet comes from another address. */
  'wrong-source',
  /** TTL / hop limit below 255 (single-hop) or below ttl − max_hops (multihop). */
  'ttl',
  /** Arrived on the multihop port for a single-hop session, or the other way round. */
  'wrong-port',
  /** The session is stopped (AdminDown). */
  'admin-down',
  /** Captured, but the UDP socket never got it: the host's firewall dropped it (bfd/pairing.ts). */
  'not-delivered',
  /** The UDP socket got it, but libpcap lost its copy: its TTL is unknown. */
  'not-captured',
] as const;
export type BfdDropReason = (typeof BFD_DROP_REASONS)[number];

/** Why a session changed state (a metric and log label). */
export const BFD_CAUSES = [
  /** Control Detection Time expired (diag 1). */
  'expired',
  /** The neighbour said Down while we were Up (diag 3). */
  'neighbor-down',
  /** The neighbour said AdminDown (diag 3; RFC 5882 §3.2: not a path failure). */
  'neighbor-admin-down',
  /** The three-way handshake moved on (Down → Init → Up). */
  'handshake',
  /** The session was stopped (our AdminDown). */
  'stopped',
] as const;
export type BfdCause = (typeof BFD_CAUSES)[number];

export type BfdEvent =
  | {
      readonly type: 'bfd-state-changed';
      readonly bfdInstance: string;
      readonly neighbor: string;
      readonly from: BfdState;
      readonly to: BfdState;
      readonly cause: BfdCause;
      /** RFC 5880 §4.1 Diag we now send, and the last one the neighbour sent. */
      readonly localDiag: number;
      readonly remoteDiag: number;
      /** Detection time in force (remote Detect Mult × agreed remote transmit interval), ms. */
      readonly detectionTimeMs: number;
      /** `expired`: how long the neighbour had been silent when we declared it Down, ms. */
      readonly silentMs?: number;
      readonly atMs: number;
    }
  | { readonly type: 'bfd-packet-sent'; readonly bfdInstance: string; readonly poll: boolean; readonly final: boolean }
  | { readonly type: 'bfd-send-failed'; readonly bfdInstance: string; readonly error: string }
  | { readonly type: 'bfd-packet-received'; readonly bfdInstance: string; readonly poll: boolean; readonly final: boolean }
  /** `bfdInstance` empty when no session could be told (no-session, or a malformed packet). */
  | { readonly type: 'bfd-packet-dropped'; readonly bfdInstance: string; readonly reason: BfdDropReason; readonly source: string; readonly ttl: number }
  /** The agreed intervals moved (handshake, a poll sequence, the neighbour's new values). */
  | { readonly type: 'bfd-timers-changed'; readonly bfdInstance: string; readonly txIntervalMs: number; readonly detectionTimeMs: number; readonly remoteMinRxMs: number; readonly remoteMinTxMs: number; readonly remoteDetectMult: number };
