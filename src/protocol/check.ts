/**
 * Receive-side advert checks (RFC 3768 §7.1, RFC 5798 §7.1), as keepalived applies them.
 * `checkAdvert` turns an IP packet into either an accepted advert for one configured instance,
 * or a drop reason. The reasons are a closed union that doubles as a metric label.
 *
 * The cheap checks come first and allocate nothing, so a flood of invalid adverts costs little:
 * header bytes are compared in place and addresses become text only for accepted adverts.
 */
import { AUTH_AH, AUTH_NONE, AUTH_PASS, IPPROTO_VRRP, VRRP_HEADER_LENGTH, VRRP_TTL, VRRP_TYPE_ADVERTISEMENT } from './constants.js';
import { advertLength, computeChecksum, intervalFromWire, type VrrpVersion } from './advert.js';
import { verifyAh } from './ah.js';
import { bytesEqual, formatIp, isMulticastBytes, type IpFamily } from './inet.js';
import type { IpPacket } from './frame.js';

/** Every reason an advert is discarded. Order = the order the checks run. */
export const DROP_REASONS = [
  'ip-header-invalid',
  'length-invalid',
  'version-invalid',
  'type-invalid',
  'ttl-not-255',
  'vrid-not-configured',
  // A multicast advert for a configured VRID, sent to another group than the instance's
  // (mcast_dst_ip, vrrp_mcast_group4/6): keepalived's socket, bound to its group, never sees it.
  'multicast-group-mismatch',
  'version-mismatch',
  'checksum-invalid',
  'auth-type-mismatch',
  'auth-mismatch',
  'interval-mismatch',
  'interval-invalid',
  'unicast-source-unknown',
  // After checkAdvert, by the engine with the instance's counter (AhSequenceCounter, ah.ts): an
  // authenticated AH advert whose sequence number is not above the instance's (keepalived:
  // "sequence number already processed"): a replay, or a peer that restarted its count.
  'ah-replay',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** What one configured instance expects of the adverts for its VRID (built once from config). */
export interface AdvertExpectations {
  readonly version: VrrpVersion;
  readonly family: IpFamily;
  readonly advertIntervalMs: number;
  /** VRRPv2: AUTH_NONE, AUTH_PASS or AUTH_AH. */
  readonly authType: number;
  /** VRRPv2 PASS: the 8 bytes the peer must send; AH: the 8-byte HMAC key (`ahKey`). */
  readonly authData?: Uint8Array;
  /** AH: the instance uses unicast peers, so the TTL is zeroed in the ICV (keepalived). */
  readonly ahZeroTtl?: boolean;
  /** The configured VIPs as bytes (for the address-list comparison). */
  readonly addresses: readonly Uint8Array[];
  /** `v3_checksum_as_v2`: also accept a VRRPv3 IPv4 checksum without the pseudo-header. */
  readonly checksumAsV2: boolean;
  /** `check_unicast_src`: unicast adverts must come from a configured `unicast_peer`. */
  readonly unicastPeers?: readonly Uint8Array[];
  /** A multicast instance's group (`mcastGroup`): multicast adverts must be sent to it. */
  readonly multicastGroup?: Uint8Array;
}

/** An advert that passed every check, for one instance. */
export interface AcceptedAdvert {
  readonly version: VrrpVersion;
  readonly vrid: number;
  readonly priority: number;
  readonly advertIntervalMs: number;
  readonly source: string;
  readonly ttl: number;
  /**
   * The advert's VIP list differs from ours. Counted and flagged, but the advert is accepted, as
   * keepalived >= 2.3.3 does: discarding it leaves both nodes master (split brain).
   */
  readonly addressListMismatch: boolean;
  readonly addresses: readonly string[];
  /** The Ethernet source, when the advert came from a captured frame (set by the engine). */
  readonly sourceMac?: string;
  /**
   * AH: the sequence number of an advert whose ICV and SPI are good. The replay check against
   * the instance's counter is the caller's (`AhSequenceCounter.accept`; drop reason `ah-replay`).
   */
  readonly ahSequence?: number;
}

export type CheckResult<T extends AdvertExpectations> =
  | { readonly ok: true; readonly advert: AcceptedAdvert; readonly instance: T }
  | { readonly ok: false; readonly reason: DropReason; readonly vrid?: number; readonly instance?: T };

/** Finds the instance configured for a VRID (per interface and family: the caller closes over them). */
export type InstanceLookup<T extends AdvertExpectations> = (vrid: number, family: IpFamily) => T | undefined;

function drop<T extends AdvertExpectations>(reason: DropReason, vrid?: number, instance?: T): CheckResult<T> {
  return vrid === undefined ? { ok: false, reason } : { ok: false, reason, vrid, ...(instance ? { instance } : {}) };
}

/**
 * Checks one received VRRP packet. Order (keepalived's vrrp_in_chk, cheapest first):
 * length, version, type, TTL (multicast only, RFC 5798 §7.1; keepalived does not require 255 on
 * unicast), VRID, the multicast group (a socket bound to it), version vs. the instance, checksum, AH present iff configured, auth type, auth
 * data (PASS bytes, or the AH ICV and SPI), interval (v2: equal to ours; v3: not 0), source
 * (check_unicast_src), then the address list (flag only).
 */
export function checkAdvert<T extends AdvertExpectations>(packet: IpPacket, lookup: InstanceLookup<T>): CheckResult<T> {
  if (packet.protocol !== IPPROTO_VRRP) return drop('ip-header-invalid');
  const m = packet.payload;
  if (m.length < VRRP_HEADER_LENGTH) return drop('length-invalid');
  const version = m[0]! >> 4;
  if (version !== 2 && version !== 3) return drop('version-invalid', m[1]);
  if ((m[0]! & 0x0f) !== VRRP_TYPE_ADVERTISEMENT) return drop('type-invalid', m[1]);
  const vrid = m[1]!;
  const family = packet.family;
  const count = m[3]!;
  // RFC 3768 §7.1 / RFC 5798 §7.1: the length must cover the header and the announced addresses.
  // Extra trailing bytes are tolerated (keepalived accepts them; some stacks pad).
  if (m.length < advertLength(version, family, count) || count === 0) return drop('length-invalid', vrid);
  if (packet.ttl !== VRRP_TTL && isMulticastBytes(packet.destination)) return drop('ttl-not-255', vrid);
  const instance = lookup(vrid, family);
  if (!instance) return drop('vrid-not-configured', vrid);
  // Not for this instance (no instance is named: the VRID may be another cluster's on its group).
  const group = instance.multicastGroup;
  if (group && isMulticastBytes(packet.destination) && !bytesEqual(group, 0, packet.destination, 0, group.length)) return drop('multicast-group-mismatch', vrid);
  if (version !== instance.version) return drop('version-mismatch', vrid, instance);

  const msg = m.subarray(0, advertLength(version, family, count));
  const wireSum = (msg[6]! << 8) | msg[7]!;
  let sumOk = computeChecksum(msg, version, family, packet.source, packet.destination, false) === wireSum;
  if (!sumOk && version === 3 && family === 'ipv4' && instance.checksumAsV2) {
    sumOk = computeChecksum(msg, version, family, packet.source, packet.destination, true) === wireSum;
  }
  if (!sumOk) return drop('checksum-invalid', vrid, instance);
  // keepalived: "Received AH header but auth type not AH" / "No AH header but auth type is AH"
  // (a VRRPv3 instance has no authentication, so AH is a mismatch there too).
  if ((packet.ah !== undefined) !== (instance.authType === AUTH_AH)) return drop('auth-type-mismatch', vrid, instance);

  const addrLen = family === 'ipv4' ? 4 : 16;
  if (version === 2) {
    const authType = msg[4]!;
    if (authType !== instance.authType) return drop('auth-type-mismatch', vrid, instance);
    if (authType === AUTH_PASS) {
      const off = VRRP_HEADER_LENGTH + count * addrLen;
      if (!instance.authData || !constantTimeEqual(msg, off, instance.authData)) return drop('auth-mismatch', vrid, instance);
    } else if (authType === AUTH_AH) {
      // RFC 2402 as keepalived checks it: the ICV over the IP header (mutable fields zeroed), the
      // AH header and the whole message to the end of the packet, then SPI = source. A wrong key
      // counts like a wrong password (keepalived: auth_failure for both).
      if (!packet.ah || !instance.authData || verifyAh(packet.ah, packet.source, m, instance.authData, instance.ahZeroTtl ?? false) !== 'ok') {
        return drop('auth-mismatch', vrid, instance);
      }
    } else if (authType !== AUTH_NONE) {
      return drop('auth-type-mismatch', vrid, instance);
    }
  }
  const advertIntervalMs = version === 2 ? intervalFromWire(2, msg[5]!) : intervalFromWire(3, ((msg[4]! & 0x0f) << 8) | msg[5]!);
  // RFC 3768 §7.1: a v2 interval different from ours MUST be discarded (an interval of 0 too,
  // since ours is at least 1 s). v3 backups adopt the master's interval (RFC 5798 §6.4.2)...
  if (version === 2 && advertIntervalMs !== instance.advertIntervalMs) return drop('interval-mismatch', vrid, instance);
  // ...but not 0: Max Adver Int is the time between adverts (RFC 5798 §5.2.7), and no sender can
  // advertise every 0 cs (keepwatch's config takes 0.01-40.95 s; keepalived rounds 0 up to 1 cs). Adopting
  // 0 would make Master_Down_Interval a bare Skew_Time, so each forged advert flapped the instance.
  // keepalived does not check this (it adopts 0); we drop it.
  if (version === 3 && advertIntervalMs === 0) return drop('interval-invalid', vrid, instance);
  if (instance.unicastPeers && !isMulticastBytes(packet.destination)) {
    if (!instance.unicastPeers.some((p) => bytesEqual(p, 0, packet.source, 0, addrLen))) {
      return drop('unicast-source-unknown', vrid, instance);
    }
  }

  let mismatch = count !== instance.addresses.length;
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const off = VRRP_HEADER_LENGTH + i * addrLen;
    if (!mismatch && !instance.addresses.some((a) => bytesEqual(a, 0, msg, off, addrLen))) mismatch = true;
    addresses.push(formatIp(msg.subarray(off, off + addrLen)));
  }
  return {
    ok: true,
    instance,
    advert: {
      version,
      vrid,
      priority: msg[2]!,
      advertIntervalMs,
      source: formatIp(packet.source),
      ttl: packet.ttl,
      addressListMismatch: mismatch,
      addresses,
      ...(packet.ah ? { ahSequence: packet.ah.sequence } : {}),
    },
  };
}

/** Compares 8 auth bytes in constant time (no early exit on the first differing byte). */
function constantTimeEqual(msg: Uint8Array, off: number, expected: Uint8Array): boolean {
  let diff = 0;
  for (let i = 0; i < 8; i++) diff |= (msg[off + i] ?? 0) ^ (expected[i] ?? 0);
  return diff === 0;
}
