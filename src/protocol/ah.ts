/**
 * VRRPv2 `auth_type AH`: the IP Authentication Header (RFC 2402) exactly as keepalived builds and
 * checks it (vrrp.c `vrrp_build_ipsecah`, `vrrp_update_pkt`, `vrrp_in_chk_ipsecah`;
 * vrrp_ipsecah.c `hmac_md5`). IPv4 only: keepalived refuses AH with IPv6, and VRRPv3 has no
 * authentication. Pure: bytes in, bytes out; the sequence counter is plain state, no clock.
 *
 * ```
 *  IPv4 header (20 bytes, protocol 51)
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Hdr (112)| Payload Len 4 |          Reserved (0)         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Security Parameters Index = the IPv4 source address    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Sequence Number (per instance)             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     ICV: HMAC-MD5 truncated to 96 bits (12 bytes)             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  VRRPv2 message, auth type 2, its 8 auth-data bytes zero
 * ```
 *
 * What keepalived does, byte for byte:
 * - Key: the instance's 8 `auth_data` bytes, i.e. `auth_pass` truncated to 8 bytes and zero
 *   padded, always 8 bytes long (so "1111" is keyed as 31 31 31 31 00 00 00 00). HMAC-MD5 per
 *   RFC 2104 with that key (a key up to 64 bytes is zero padded to the block: standard HMAC).
 * - ICV input: the IPv4 header with TOS, flags/fragment offset and header checksum zeroed (and
 *   the TTL too when the instance uses unicast peers), then the AH header with a zero ICV, then the
 *   VRRP message. The IP identification and total length are covered.
 * - SPI: the IPv4 source address (as it sits in the header); a receiver requires SPI == source.
 * - Sequence numbers: see `AhSequenceCounter`.
 */
import { createHmac } from 'node:crypto';
import { encodeAdvert, passwordAuthData, type AdvertFields } from './advert.js';
import { AH_HEADER_LENGTH, IPPROTO_AH, IPPROTO_VRRP } from './constants.js';
import { buildIpv4Header, type AhHeader } from './frame.js';
import { bytesEqual, ipBytes } from './inet.js';

export type { AhHeader };
/** RFC 2402 §2.2: the AH length in 32-bit words minus 2 ((24 / 4) - 2). keepalived's IPSEC_AH_PLEN. */
export const AH_PAYLOAD_LEN = 4;
/** HMAC-MD5-96 (RFC 2403): the ICV is the first 12 bytes of the digest. */
export const AH_ICV_LENGTH = 12;
const AH_ICV_OFFSET = 12;
/** keepalived: a sequence number above this is not incremented any more ("cycled"). */
const AH_SEQUENCE_LAST = 0xfffffffd;

/** The HMAC key keepalived uses for AH: `auth_pass` truncated to 8 bytes, zero padded, 8 bytes long. */
export function ahKey(password: string): Uint8Array {
  return passwordAuthData(password);
}

/** HMAC-MD5 (RFC 2104) of the concatenated parts: 16 bytes. */
export function hmacMd5(key: Uint8Array, ...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHmac('md5', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/**
 * The 12-byte ICV of an AH-protected VRRP packet: HMAC-MD5-96 over the IPv4 header with its
 * mutable fields zeroed (TOS, flags + fragment offset, header checksum; the TTL when `zeroTtl`),
 * the AH header with its ICV zeroed, and the VRRP message (RFC 2402 §3.3.3.1, as keepalived).
 */
export function computeAhIcv(ipHeader: Uint8Array, ah: Uint8Array, message: Uint8Array, key: Uint8Array, zeroTtl: boolean): Uint8Array {
  const ip = Uint8Array.from(ipHeader);
  ip[1] = 0; // TOS
  ip[6] = 0; // flags + fragment offset
  ip[7] = 0;
  ip[10] = 0; // header checksum
  ip[11] = 0;
  if (zeroTtl) ip[8] = 0;
  const a = Uint8Array.from(ah.subarray(0, AH_HEADER_LENGTH));
  a.fill(0, AH_ICV_OFFSET, AH_ICV_OFFSET + AH_ICV_LENGTH);
  return hmacMd5(key, ip, a, message).subarray(0, AH_ICV_LENGTH);
}

export interface AhPacketFields {
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  /** IP identification (keepalived: a per-instance counter from 1, never 0). */
  readonly id: number;
  readonly sequence: number;
  /** The VRRPv2 message (auth type 2, zero auth data), checksum filled in. */
  readonly message: Uint8Array;
  /** The 8-byte key (`ahKey`). */
  readonly key: Uint8Array;
  /** The instance uses unicast peers: keepalived zeroes the TTL in the ICV then. */
  readonly zeroTtl: boolean;
  readonly ttl?: number;
}

/**
 * A whole IPv4 packet carrying a VRRP advert under AH, as keepalived sends it: the IPv4 header
 * (TOS 0xc0, no DF, TTL 255, protocol 51, checksum filled in; the kernel recomputes it anyway
 * with IP_HDRINCL), the AH header (next header 112, payload length 4, SPI = source, the sequence
 * number, the ICV) and the message.
 */
export function buildAhPacket(f: AhPacketFields): Uint8Array {
  const ip = buildIpv4Header({
    source: f.source,
    destination: f.destination,
    payloadLength: AH_HEADER_LENGTH + f.message.length,
    id: f.id,
    protocol: IPPROTO_AH,
    ...(f.ttl !== undefined ? { ttl: f.ttl } : {}),
  });
  const ah = new Uint8Array(AH_HEADER_LENGTH);
  ah[0] = IPPROTO_VRRP;
  ah[1] = AH_PAYLOAD_LEN;
  ah.set(f.source.subarray(0, 4), 4);
  ah[8] = (f.sequence >>> 24) & 0xff;
  ah[9] = (f.sequence >>> 16) & 0xff;
  ah[10] = (f.sequence >>> 8) & 0xff;
  ah[11] = f.sequence & 0xff;
  ah.set(computeAhIcv(ip, ah, f.message, f.key, f.zeroTtl), AH_ICV_OFFSET);
  const out = new Uint8Array(ip.length + ah.length + f.message.length);
  out.set(ip, 0);
  out.set(ah, ip.length);
  out.set(f.message, ip.length + ah.length);
  return out;
}

/**
 * An advert as the whole IPv4 packet keepalived sends with `auth_type AH`: `fields` carries the
 * key (`authData`) and this advert's sequence number (`ah`); `id` is the IP identification.
 */
export function encodeAhAdvertPacket(fields: AdvertFields, envelope: { readonly source: string; readonly destination: string; readonly id: number; readonly ttl?: number }): Uint8Array {
  if (!fields.ah || !fields.authData || fields.version !== 2) throw new TypeError('encodeAhAdvertPacket needs a VRRPv2 advert with an AH key and sequence number');
  const message = encodeAdvert(fields, { family: 'ipv4', source: envelope.source, destination: envelope.destination });
  return buildAhPacket({
    source: ipBytes(envelope.source),
    destination: ipBytes(envelope.destination),
    id: envelope.id,
    sequence: fields.ah.sequence,
    message,
    key: fields.authData,
    zeroTtl: fields.ah.zeroTtl,
    ...(envelope.ttl !== undefined ? { ttl: envelope.ttl } : {}),
  });
}

/** Why an AH-protected advert fails: a wrong ICV (wrong key, altered bytes) or SPI ≠ source. */
export type AhVerifyResult = 'ok' | 'icv-mismatch' | 'spi-mismatch';

/**
 * keepalived's `vrrp_in_chk_ipsecah`, minus the sequence check (`AhSequenceCounter.accept`): the
 * ICV first (compared in constant time), then the SPI against the IPv4 source address.
 * `message` runs from the VRRP header to the end of the IP packet (its total length).
 */
export function verifyAh(ah: AhHeader, source: Uint8Array, message: Uint8Array, key: Uint8Array, zeroTtl: boolean): AhVerifyResult {
  const icv = computeAhIcv(ah.ipHeader, ah.header, message, key, zeroTtl);
  let diff = 0;
  for (let i = 0; i < AH_ICV_LENGTH; i++) diff |= icv[i]! ^ ah.header[AH_ICV_OFFSET + i]!;
  if (diff !== 0) return 'icv-mismatch';
  if (!bytesEqual(ah.header, 4, source, 0, 4)) return 'spi-mismatch';
  return 'ok';
}

/**
 * One instance's AH sequence number, shared by what it sends and what it receives, as keepalived
 * keeps `ipsecah_counter` (vrrp.c):
 * - It starts at 0 (a process start; a reload keeps it), so the first advert carries 1.
 * - Each advert sent takes the next number (once per advert: its unicast copies share it). Past
 *   0xfffffffd it stops counting and is marked cycled; becoming master then restarts it at 0
 *   (keepalived's anti-replay reset; 2^32 adverts at 1 s are 136 years).
 * - A received advert whose ICV and SPI are good must carry a number greater than the counter,
 *   which then takes it: anything else is "already processed" (a replay) and dropped. The
 *   counter holds the higher of what we sent and what we accepted, so a backup that takes over
 *   continues the old master's numbering and every peer accepts it.
 * - A master that hears a valid lower-priority advert syncs to its number + 1 (keepalived's
 *   "Syncing seq_num"), then answers with the next: this is how a peer that restarted at 0 (whose
 *   adverts the others drop as replays until then) catches up: once it is master and hears the
 *   node that kept the higher count, it jumps past it.
 */
export class AhSequenceCounter {
  private value = 0;
  private cycled = false;

  /** The counter (the last number sent or accepted). */
  get current(): number {
    return this.value;
  }

  /** The number for the next advert sent. */
  next(): number {
    if (this.value > AH_SEQUENCE_LAST) this.cycled = true;
    else this.value++;
    return this.value;
  }

  /**
   * An authenticated advert's number: true (and remembered) when newer than the counter; false
   * for a replay. keepalived also clears the cycled mark when a backup accepts one; here any
   * accepted advert clears it.
   */
  accept(sequence: number): boolean {
    if (sequence <= this.value) return false;
    this.value = sequence;
    this.cycled = false;
    return true;
  }

  /** A master heard a valid lower-priority advert: continue after its number (keepalived). */
  syncFromLowerPriority(sequence: number): void {
    this.value = (sequence + 1) >>> 0;
    this.cycled = false;
  }

  /**
   * Takes over another counter's state: a reload that replaces an instance keeps its AH count, as
   * keepalived's `restore_vrrp_state` does (peers would drop a restarted count as replays).
   */
  adopt(other: AhSequenceCounter): void {
    this.value = other.value;
    this.cycled = other.cycled;
  }

  /** Becoming master: a cycled counter restarts at 0 (keepalived's `vrrp_state_goto_master`). */
  enterMaster(): void {
    if (!this.cycled) return;
    this.cycled = false;
    this.value = 0;
  }
}
