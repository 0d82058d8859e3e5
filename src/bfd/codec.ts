/**
 * RFC 5880 §4.1: the BFD Control packet (the mandatory 24-byte section), encoded and decoded.
 * Pure: bytes in, a result out; no sockets, no logging. The reception checks of §6.8.6 that need
 * no session (version, length, Detect Mult, M bit, discriminators, P+F, diag) are here, in the
 * order keepalived's bfd_check_packet makes them; the A bit is refused (keepalived 2.2.7 supports
 * no BFD authentication: bfd_build_packet always sends A=0 and bfd_handle_packet discards any
 * packet with it, so keepwatch does the same, with its own reason).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
 *   |                       My Discriminator                        |
 *   |                      Your Discriminator                       |
 *   |                    Desired Min TX Interval                    |
 *   |                   Required Min RX Interval                    |
 *   |                 Required Min Echo RX Interval                 |
 */
import type { BfdDropReason, BfdState } from '../events/bfd.js';

export const BFD_VERSION = 1;
/** The mandatory section; keepwatch sends nothing else (no authentication section). */
export const BFD_CONTROL_LENGTH = 24;
/** RFC 5881 §4 / RFC 5883 §5. */
export const BFD_SINGLE_HOP_PORT = 3784;
export const BFD_MULTIHOP_PORT = 4784;
/** RFC 5881 §4: the source port of control packets. */
export const BFD_SOURCE_PORT_MIN = 49152;
export const BFD_SOURCE_PORT_MAX = 65535;

/** RFC 5880 §4.1 Diag values (keepalived bfd.h BFD_DIAG_*). */
export const DIAG = {
  none: 0,
  expired: 1,
  echoFailed: 2,
  neighborDown: 3,
  forwardingReset: 4,
  pathDown: 5,
  concatenatedPathDown: 6,
  adminDown: 7,
  reverseConcatenatedPathDown: 8,
} as const;
const MAX_DIAG = 8;

const STATE_CODES: readonly BfdState[] = ['admin-down', 'down', 'init', 'up'];
export const stateCode = (s: BfdState): number => STATE_CODES.indexOf(s);

export interface BfdControl {
  readonly diag: number;
  readonly state: BfdState;
  readonly poll: boolean;
  readonly final: boolean;
  /** C: Control Plane Independent. */
  readonly cpi: boolean;
  readonly demand: boolean;
  readonly detectMult: number;
  readonly myDiscriminator: number;
  readonly yourDiscriminator: number;
  /** Microseconds, as on the wire. */
  readonly desiredMinTxUs: number;
  readonly requiredMinRxUs: number;
  readonly requiredMinEchoRxUs: number;
}

export type DecodeResult = { readonly ok: true; readonly packet: BfdControl } | { readonly ok: false; readonly reason: BfdDropReason };

/** The 24 bytes of a control packet (A = 0, M = 0, version 1). */
export function encodeControl(p: BfdControl): Uint8Array {
  const out = new Uint8Array(BFD_CONTROL_LENGTH);
  const v = new DataView(out.buffer);
  out[0] = (BFD_VERSION << 5) | (p.diag & 0x1f);
  out[1] = (stateCode(p.state) << 6) | (p.poll ? 0x20 : 0) | (p.final ? 0x10 : 0) | (p.cpi ? 0x08 : 0) | (p.demand ? 0x02 : 0);
  out[2] = p.detectMult & 0xff;
  out[3] = BFD_CONTROL_LENGTH;
  v.setUint32(4, p.myDiscriminator >>> 0);
  v.setUint32(8, p.yourDiscriminator >>> 0);
  v.setUint32(12, p.desiredMinTxUs >>> 0);
  v.setUint32(16, p.requiredMinRxUs >>> 0);
  v.setUint32(20, p.requiredMinEchoRxUs >>> 0);
  return out;
}

/**
 * RFC 5880 §6.8.6, the checks that need no session, in keepalived's order (bfd_check_packet),
 * then the A bit. `bytes` is the UDP payload.
 */
export function decodeControl(bytes: Uint8Array): DecodeResult {
  if (bytes.length < BFD_CONTROL_LENGTH) return { ok: false, reason: 'too-short' };
  // keepalived: the Length field must equal the payload size (a trailing auth section included).
  if (bytes[3] !== bytes.length) return { ok: false, reason: 'length-mismatch' };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b0 = bytes[0]!;
  const b1 = bytes[1]!;
  if (b0 >> 5 !== BFD_VERSION) return { ok: false, reason: 'bad-version' };
  const detectMult = bytes[2]!;
  if (detectMult === 0) return { ok: false, reason: 'zero-detect-mult' };
  if (b1 & 0x01) return { ok: false, reason: 'multipoint' };
  const myDiscriminator = v.getUint32(4);
  const yourDiscriminator = v.getUint32(8);
  const state = STATE_CODES[b1 >> 6]!;
  if (myDiscriminator === 0) return { ok: false, reason: 'zero-my-discriminator' };
  if (yourDiscriminator === 0 && state !== 'down' && state !== 'admin-down') return { ok: false, reason: 'zero-your-discriminator' };
  const poll = (b1 & 0x20) !== 0;
  const final = (b1 & 0x10) !== 0;
  if (poll && final) return { ok: false, reason: 'poll-and-final' };
  const diag = b0 & 0x1f;
  if (diag > MAX_DIAG) return { ok: false, reason: 'bad-diag' };
  if (b1 & 0x04) return { ok: false, reason: 'auth-unsupported' };
  return {
    ok: true,
    packet: {
      diag,
      state,
      poll,
      final,
      cpi: (b1 & 0x08) !== 0,
      demand: (b1 & 0x02) !== 0,
      detectMult,
      myDiscriminator,
      yourDiscriminator,
      desiredMinTxUs: v.getUint32(12),
      requiredMinRxUs: v.getUint32(16),
      requiredMinEchoRxUs: v.getUint32(20),
    },
  };
}

/**
 * RFC 5881 §5 (GTSM) and RFC 5883 §2, as keepalived extends it (bfd_check_packet_ttl): a packet
 * is refused when its TTL + max_hops < the TTL the session sends with. Single-hop defaults
 * (ttl 255, max_hops 0) make that "TTL must be 255". keepalived skips the check when max_hops is
 * 255 (`max_hops -1`) and when the kernel gave no TTL (0).
 */
export function ttlAcceptable(ttl: number, sessionTtl: number, maxHops: number): boolean {
  if (maxHops >= 255 || ttl === 0) return true;
  return ttl + maxHops >= sessionTtl;
}
