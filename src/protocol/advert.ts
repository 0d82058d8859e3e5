/**
 * VRRP advertisement codec: VRRPv2 (RFC 3768 §5) and VRRPv3 (RFC 5798 §5), IPv4 and IPv6.
 * Pure functions over bytes; no sockets, no logging. This file encodes; a received advert is read
 * in one place, `checkAdvert` (check.ts), which decodes and validates it against an instance's
 * expectations together.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * v2: |  Auth Type  |  Adver Int (s) |          Checksum             |
 * v3: |(rsvd)| Max Adver Int (cs, 12 bits) |    Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 IPvX Address(es) (4 or 16 octets each)         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * v2 only: |            Authentication Data (8 octets)             |
 * ```
 */
import {
  AUTH_NONE,
  AUTH_PASS,
  IPPROTO_VRRP,
  VRRP_HEADER_LENGTH,
  VRRP_TYPE_ADVERTISEMENT,
  VRRP_V2_AUTH_LENGTH,
  VRRP_V3_MAX_INTERVAL_CS,
} from './constants.js';
import { finishChecksum, ipBytes, sumWords, type IpFamily } from './inet.js';

export type VrrpVersion = 2 | 3;

/** The fields of an advert, in keepwatch's units. */
export interface AdvertFields {
  readonly version: VrrpVersion;
  readonly vrid: number;
  readonly priority: number;
  /** v2: whole seconds on the wire; v3: centiseconds on the wire. */
  readonly advertIntervalMs: number;
  /** VIPs of one family, as text. */
  readonly addresses: readonly string[];
  /** VRRPv2 auth type (0 none, 1 PASS, 2 AH); ignored for v3. */
  readonly authType?: number;
  /**
   * VRRPv2 auth data, 8 bytes (see `passwordAuthData`): with PASS the bytes the message carries;
   * with AH the HMAC key (keepalived keys AH with the same 8 bytes; the message carries zeros).
   */
  readonly authData?: Uint8Array;
  /**
   * `auth_type AH` (IPv4): this advert's sequence number, and whether the instance uses unicast
   * peers (keepalived then zeroes the TTL in the ICV). The sender wraps the message in an AH
   * header with `encodeAhAdvertPacket` (ah.ts).
   */
  readonly ah?: { readonly sequence: number; readonly zeroTtl: boolean };
}

/** Where the message goes: needed for the VRRPv3 pseudo-header checksum. */
export interface AdvertEnvelope {
  readonly family: IpFamily;
  readonly source: string;
  readonly destination: string;
  /**
   * keepalived's `v3_checksum_as_v2`: a VRRPv3-over-IPv4 checksum over the VRRP message only
   * (as VRRPv2 and RFC 9568 §5.2.8 do), for peers that expect it.
   */
  readonly checksumAsV2?: boolean;
}

/**
 * VRRPv2 simple-text auth data: the first 8 bytes of `auth_pass`, zero padded
 * (keepalived truncates longer passwords to 8 characters; RFC 2338 §5.3.10).
 */
export function passwordAuthData(password: string): Uint8Array {
  const out = new Uint8Array(VRRP_V2_AUTH_LENGTH);
  out.set(new TextEncoder().encode(password).subarray(0, VRRP_V2_AUTH_LENGTH));
  return out;
}

/** Wire interval field from milliseconds: v2 whole seconds (8 bits), v3 centiseconds (12 bits). */
export function intervalToWire(version: VrrpVersion, advertIntervalMs: number): number {
  if (version === 2) return Math.min(255, Math.max(1, Math.round(advertIntervalMs / 1000)));
  return Math.min(VRRP_V3_MAX_INTERVAL_CS, Math.max(1, Math.round(advertIntervalMs / 10)));
}

export function intervalFromWire(version: VrrpVersion, value: number): number {
  return version === 2 ? value * 1000 : value * 10;
}

/** Byte length of a VRRP message with `count` addresses. */
export function advertLength(version: number, family: IpFamily, count: number): number {
  const addrLen = family === 'ipv4' ? 4 : 16;
  return VRRP_HEADER_LENGTH + count * addrLen + (version === 2 ? VRRP_V2_AUTH_LENGTH : 0);
}

/**
 * Sum of the pseudo-header words for a VRRPv3 checksum.
 * RFC 5798 §5.2.8: IPv4 pseudo-header (RFC 768 style: src, dst, zero, protocol, length);
 * IPv6 pseudo-header (RFC 8200 §8.1: src, dst, 32-bit length, zeros, next header).
 */
export function pseudoHeaderSum(family: IpFamily, src: Uint8Array, dst: Uint8Array, vrrpLength: number): number {
  let sum = sumWords(src, 0, src.length) + sumWords(dst, 0, dst.length);
  if (family === 'ipv4') return sum + IPPROTO_VRRP + vrrpLength;
  sum += (vrrpLength >>> 16) + (vrrpLength & 0xffff);
  return sum + IPPROTO_VRRP;
}

/**
 * The checksum a VRRP message should carry. v2: over the message (RFC 3768 §5.3.8); v3: with the
 * pseudo-header (RFC 5798 §5.2.8) unless `checksumAsV2`; IPv6 always uses the pseudo-header.
 * The checksum field itself (bytes 6-7) must be zero or is skipped here.
 */
export function computeChecksum(
  message: Uint8Array,
  version: number,
  family: IpFamily,
  src: Uint8Array,
  dst: Uint8Array,
  checksumAsV2 = false,
): number {
  let sum = sumWords(message, 0, 6) + sumWords(message, 8, message.length);
  if (version === 3 && (family === 'ipv6' || !checksumAsV2)) sum += pseudoHeaderSum(family, src, dst, message.length);
  return finishChecksum(sum);
}

/** Encodes an advert (the VRRP message, not the IP header) with its checksum. */
export function encodeAdvert(fields: AdvertFields, envelope: AdvertEnvelope): Uint8Array {
  const { version, addresses } = fields;
  const family = envelope.family;
  const addrLen = family === 'ipv4' ? 4 : 16;
  const out = new Uint8Array(advertLength(version, family, addresses.length));
  out[0] = (version << 4) | VRRP_TYPE_ADVERTISEMENT;
  out[1] = fields.vrid;
  out[2] = fields.priority;
  out[3] = addresses.length;
  const interval = intervalToWire(version, fields.advertIntervalMs);
  if (version === 2) {
    out[4] = fields.authType ?? AUTH_NONE;
    out[5] = interval;
  } else {
    out[4] = (interval >> 8) & 0x0f;
    out[5] = interval & 0xff;
  }
  let off = VRRP_HEADER_LENGTH;
  for (const a of addresses) {
    const b = ipBytes(a);
    if (b.length !== addrLen) throw new TypeError(`address ${a} is not ${family}`);
    out.set(b, off);
    off += addrLen;
  }
  if (version === 2 && fields.authType === AUTH_PASS && fields.authData) out.set(fields.authData.subarray(0, 8), off);
  const sum = computeChecksum(out, version, family, ipBytes(envelope.source), ipBytes(envelope.destination), envelope.checksumAsV2);
  out[6] = sum >> 8;
  out[7] = sum & 0xff;
  return out;
}
