/**
 * Ethernet, IPv4 and IPv6 framing: parse captured frames down to the VRRP message or ARP packet,
 * and build the IPv4 header keepalived puts on its adverts (for raw sockets with IP_HDRINCL).
 * Parsing allocates only subarray views; addresses stay bytes until someone needs text.
 */
import {
  AH_HEADER_LENGTH,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  IPPROTO_AH,
  IPPROTO_VRRP,
  VRRP_TOS,
  VRRP_TTL,
} from './constants.js';
import { finishChecksum, sumWords, type IpFamily } from './inet.js';

/** An IP packet's header facts and its payload (views into the frame). */
export interface IpPacket {
  readonly family: IpFamily;
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  /** IPv4 TTL or IPv6 Hop Limit. */
  readonly ttl: number;
  /**
   * The upper-layer protocol: past IPv6 extension headers, and past an IPv4 Authentication
   * Header that carries VRRP (then `ah` is set and this is 112).
   */
  readonly protocol: number;
  readonly payload: Uint8Array;
  /** The IPv4 Authentication Header (RFC 2402) the VRRP message came in (VRRPv2 `auth_type AH`). */
  readonly ah?: AhHeader;
}

/** An AH header of a received IPv4 packet (views into the frame), for `verifyAh` (ah.ts). */
export interface AhHeader {
  /** The whole IPv4 header (with options), as received: the ICV covers it. */
  readonly ipHeader: Uint8Array;
  /** The 24 AH bytes (next header, payload length, reserved, SPI, sequence number, ICV). */
  readonly header: Uint8Array;
  readonly sequence: number;
}

export interface EthernetHeader {
  readonly destinationMac: Uint8Array;
  readonly sourceMac: Uint8Array;
  readonly etherType: number;
  readonly payload: Uint8Array;
}

export function parseEthernet(frame: Uint8Array): EthernetHeader | undefined {
  if (frame.length < 14) return undefined;
  let typeOff = 12;
  let etherType = (frame[12]! << 8) | frame[13]!;
  if (etherType === ETHERTYPE_VLAN) {
    if (frame.length < 18) return undefined;
    typeOff = 16;
    etherType = (frame[16]! << 8) | frame[17]!;
  }
  return {
    destinationMac: frame.subarray(0, 6),
    sourceMac: frame.subarray(6, 12),
    etherType,
    payload: frame.subarray(typeOff + 2),
  };
}

/** Why an IP header could not be read. */
export type IpParseError = 'ip-header-invalid';

/**
 * IPv4 packet bytes → `IpPacket`: parses the header (RFC 791). Checks version, IHL, total length against the bytes present,
 * and the header checksum. Trailing bytes (Ethernet padding) are cut off by the total length.
 */
export function parseIpv4Packet(bytes: Uint8Array): IpPacket | IpParseError {
  if (bytes.length < 20 || bytes[0]! >> 4 !== 4) return 'ip-header-invalid';
  const ihl = (bytes[0]! & 0x0f) * 4;
  const total = (bytes[2]! << 8) | bytes[3]!;
  if (ihl < 20 || total < ihl || total > bytes.length) return 'ip-header-invalid';
  if (finishChecksum(sumWords(bytes, 0, ihl)) !== 0) return 'ip-header-invalid';
  // A fragment is not a whole advert: MF set or a non-zero fragment offset.
  if ((((bytes[6]! << 8) | bytes[7]!) & 0x3fff) !== 0) return 'ip-header-invalid';
  const protocol = bytes[9]!;
  // An AH header whose next header is VRRP (keepalived's `auth_type AH`): the packet is VRRP,
  // with the AH header beside it. AH for anything else stays protocol 51 (keepalived ignores it).
  if (protocol === IPPROTO_AH && total > ihl && bytes[ihl] === IPPROTO_VRRP) {
    if (total - ihl < AH_HEADER_LENGTH) return 'ip-header-invalid';
    const header = bytes.subarray(ihl, ihl + AH_HEADER_LENGTH);
    const sequence = ((header[8]! << 24) | (header[9]! << 16) | (header[10]! << 8) | header[11]!) >>> 0;
    return {
      family: 'ipv4',
      source: bytes.subarray(12, 16),
      destination: bytes.subarray(16, 20),
      ttl: bytes[8]!,
      protocol: IPPROTO_VRRP,
      payload: bytes.subarray(ihl + AH_HEADER_LENGTH, total),
      ah: { ipHeader: bytes.subarray(0, ihl), header, sequence },
    };
  }
  return {
    family: 'ipv4',
    source: bytes.subarray(12, 16),
    destination: bytes.subarray(16, 20),
    ttl: bytes[8]!,
    protocol,
    payload: bytes.subarray(ihl, total),
  };
}

/** IPv6 extension headers that may precede VRRP (RFC 8200 §4): hop-by-hop, routing, destination. */
const SKIPPABLE_IPV6_HEADERS = new Set([0, 43, 60]);

/**
 * IPv6 packet bytes → `IpPacket`: parses the header (RFC 8200), skipping hop-by-hop, routing and
 * destination options headers.
 */
export function parseIpv6Packet(bytes: Uint8Array): IpPacket | IpParseError {
  if (bytes.length < 40 || bytes[0]! >> 4 !== 6) return 'ip-header-invalid';
  const payloadLength = (bytes[4]! << 8) | bytes[5]!;
  if (40 + payloadLength > bytes.length) return 'ip-header-invalid';
  let next = bytes[6]!;
  let off = 40;
  const end = 40 + payloadLength;
  while (SKIPPABLE_IPV6_HEADERS.has(next)) {
    if (off + 8 > end) return 'ip-header-invalid';
    const len = (bytes[off + 1]! + 1) * 8;
    next = bytes[off]!;
    off += len;
    if (off > end) return 'ip-header-invalid';
  }
  return {
    family: 'ipv6',
    source: bytes.subarray(8, 24),
    destination: bytes.subarray(24, 40),
    ttl: bytes[7]!,
    protocol: next,
    payload: bytes.subarray(off, end),
  };
}

/** What a captured frame holds, as far as keepwatch cares. */
export type ParsedFrame =
  | { readonly kind: 'ip'; readonly ethernet: EthernetHeader; readonly ip: IpPacket }
  | { readonly kind: 'arp'; readonly ethernet: EthernetHeader }
  | { readonly kind: 'invalid'; readonly reason: IpParseError }
  | { readonly kind: 'other' };

export function parseFrame(frame: Uint8Array): ParsedFrame {
  const eth = parseEthernet(frame);
  if (!eth) return { kind: 'invalid', reason: 'ip-header-invalid' };
  switch (eth.etherType) {
    case ETHERTYPE_ARP:
      return { kind: 'arp', ethernet: eth };
    case ETHERTYPE_IPV4:
    case ETHERTYPE_IPV6: {
      const ip = eth.etherType === ETHERTYPE_IPV4 ? parseIpv4Packet(eth.payload) : parseIpv6Packet(eth.payload);
      return typeof ip === 'string' ? { kind: 'invalid', reason: ip } : { kind: 'ip', ethernet: eth, ip };
    }
    default:
      return { kind: 'other' };
  }
}

export interface Ipv4HeaderFields {
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  readonly payloadLength: number;
  /** IP identification; keepalived counts up from 1 per instance. */
  readonly id: number;
  readonly ttl?: number;
  readonly tos?: number;
  readonly protocol?: number;
}

/**
 * The 20-byte IPv4 header keepalived sends adverts with: TOS 0xc0, no DF, TTL 255,
 * protocol 112, its own ID counter, checksum filled in.
 */
export function buildIpv4Header(f: Ipv4HeaderFields): Uint8Array {
  const h = new Uint8Array(20);
  const total = 20 + f.payloadLength;
  h[0] = 0x45;
  h[1] = f.tos ?? VRRP_TOS;
  h[2] = total >> 8;
  h[3] = total & 0xff;
  h[4] = (f.id >> 8) & 0xff;
  h[5] = f.id & 0xff;
  h[8] = f.ttl ?? VRRP_TTL;
  h[9] = f.protocol ?? IPPROTO_VRRP;
  h.set(f.source, 12);
  h.set(f.destination, 16);
  const sum = finishChecksum(sumWords(h, 0, 20));
  h[10] = sum >> 8;
  h[11] = sum & 0xff;
  return h;
}

/** IPv6 header (RFC 8200 §3) as keepalived's adverts carry it: traffic class 0xc0, hop limit 255. */
export function buildIpv6Header(f: { source: Uint8Array; destination: Uint8Array; payloadLength: number; hopLimit?: number; nextHeader?: number }): Uint8Array {
  const h = new Uint8Array(40);
  h[0] = 0x60 | (VRRP_TOS >> 4);
  h[1] = (VRRP_TOS & 0x0f) << 4;
  h[4] = f.payloadLength >> 8;
  h[5] = f.payloadLength & 0xff;
  h[6] = f.nextHeader ?? IPPROTO_VRRP;
  h[7] = f.hopLimit ?? VRRP_TTL;
  h.set(f.source, 8);
  h.set(f.destination, 24);
  return h;
}

/** An Ethernet II frame around `payload`. */
export function buildEthernetFrame(destinationMac: Uint8Array, sourceMac: Uint8Array, etherType: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(destinationMac, 0);
  f.set(sourceMac, 6);
  f[12] = etherType >> 8;
  f[13] = etherType & 0xff;
  f.set(payload, 14);
  return f;
}

/** The Ethernet multicast MAC of an IP multicast group (RFC 1112 §6.4, RFC 2464 §7). */
export function multicastMac(group: Uint8Array): Uint8Array {
  if (group.length === 4) return Uint8Array.of(0x01, 0x00, 0x5e, group[1]! & 0x7f, group[2]!, group[3]!);
  return Uint8Array.of(0x33, 0x33, group[12]!, group[13]!, group[14]!, group[15]!);
}
