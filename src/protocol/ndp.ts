/**
 * IPv6 Neighbor Discovery frames (RFC 4861): the unsolicited neighbour advertisement a new master
 * sends for each IPv6 VIP (the IPv6 gratuitous ARP, "gratuitous NA" in keepalived's words), the
 * neighbour solicitation the split-brain guard probes a VIP with, and a parser for the
 * advertisements that come back. Pure: bytes in, bytes out.
 */
import { ETHERTYPE_IPV6, IPPROTO_ICMPV6 } from './constants.js';
import { multicastMac, type EthernetHeader, type IpPacket } from './frame.js';
import { bytesEqual, finishChecksum, formatIpv6, formatMac, ipv6PseudoHeaderSum, parseIpv6, parseMac, sumWords } from './inet.js';

/** RFC 4861 §4.3 / §4.4 ICMPv6 types. */
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
/** RFC 4861 §4.6.1 option types: source / target link-layer address. */
export const ND_OPT_SOURCE_LINKADDR = 1;
export const ND_OPT_TARGET_LINKADDR = 2;
/** RFC 4861 §4.4 flags (first byte after the checksum). */
export const NA_FLAG_ROUTER = 0x80;
export const NA_FLAG_SOLICITED = 0x40;
export const NA_FLAG_OVERRIDE = 0x20;
/** RFC 4861 §6.1.1, §7.1: every ND message is sent, and must arrive, with Hop Limit 255. */
export const ND_HOP_LIMIT = 255;
/** The link-scope all-nodes group (RFC 4291 §2.7.1): where unsolicited NAs go (RFC 4861 §7.2.6). */
export const ALL_NODES = 'ff02::1';
/** ICMPv6 header (4) + reserved/flags (4) + target (16) + one link-layer option for Ethernet (8). */
const ND_MESSAGE_LENGTH = 32;
/** Ethernet (14) + IPv6 (40) + the ND message (32). */
export const ND_FRAME_LENGTH = 14 + 40 + ND_MESSAGE_LENGTH;

/**
 * The solicited-node multicast group of an address (RFC 4291 §2.7.1): ff02::1:ff00:0/104 plus
 * its low 24 bits. A neighbour solicitation for the address goes there.
 */
export function solicitedNodeMulticast(address: Uint8Array): Uint8Array {
  const g = new Uint8Array(16);
  g[0] = 0xff;
  g[1] = 0x02;
  g[11] = 0x01;
  g[12] = 0xff;
  g.set(address.subarray(13, 16), 13);
  return g;
}

interface NdFields {
  readonly ethernetDestination: Uint8Array;
  readonly ethernetSource: Uint8Array;
  readonly ipSource: Uint8Array;
  readonly ipDestination: Uint8Array;
  readonly type: number;
  /** The byte after the checksum: NA flags, 0 for a solicitation. */
  readonly flags: number;
  readonly target: Uint8Array;
  readonly optionType: number;
  readonly optionMac: Uint8Array;
}

/**
 * Ethernet + IPv6 + one ND message with one link-layer address option, checksum filled in.
 * The IPv6 header is keepalived's (vrrp_ndisc.c): traffic class 0, flow label 0, Hop Limit 255.
 */
function buildNdFrame(f: NdFields): Uint8Array {
  const frame = new Uint8Array(ND_FRAME_LENGTH);
  frame.set(f.ethernetDestination, 0);
  frame.set(f.ethernetSource, 6);
  frame[12] = ETHERTYPE_IPV6 >> 8;
  frame[13] = ETHERTYPE_IPV6 & 0xff;
  const ip = 14;
  frame[ip] = 0x60;
  frame[ip + 4] = ND_MESSAGE_LENGTH >> 8;
  frame[ip + 5] = ND_MESSAGE_LENGTH & 0xff;
  frame[ip + 6] = IPPROTO_ICMPV6;
  frame[ip + 7] = ND_HOP_LIMIT;
  frame.set(f.ipSource, ip + 8);
  frame.set(f.ipDestination, ip + 24);
  const m = ip + 40;
  frame[m] = f.type;
  frame[m + 4] = f.flags;
  frame.set(f.target, m + 8);
  frame[m + 24] = f.optionType;
  frame[m + 25] = 1; // option length in units of 8 octets: type, length, 6-byte MAC
  frame.set(f.optionMac, m + 26);
  const sum = finishChecksum(sumWords(frame, m, m + ND_MESSAGE_LENGTH, ipv6PseudoHeaderSum(f.ipSource, f.ipDestination, ND_MESSAGE_LENGTH, IPPROTO_ICMPV6)));
  frame[m + 2] = sum >> 8;
  frame[m + 3] = sum & 0xff;
  return frame;
}

export interface UnsolicitedNaOptions {
  /**
   * The Router flag: keepalived sets it when IPv6 forwarding is on for the interface
   * (net.ipv6.conf.IFACE.forwarding, rechecked every 5 s), so hosts keep the master in their
   * default router list (RFC 4861 §7.2.5).
   */
  readonly router: boolean;
  /**
   * The MAC the neighbours should use, carried in the target link-layer address option; default
   * `sourceMac`. The guard hands a VIP back to the node that keeps it with it; the Ethernet
   * source stays ours, so switches learn nothing false.
   */
  readonly announcedMac?: string;
}

/**
 * An unsolicited neighbour advertisement for `vip` (RFC 4861 §4.4, §7.2.6), laid out byte for
 * byte as keepalived sends it (vrrp_ndisc.c `ndisc_send_unsolicited_na_immediate`): Ethernet to
 * 33:33:00:00:00:01, IPv6 from the VIP to ff02::1 with Hop Limit 255, Solicited flag clear,
 * Override flag set (neighbours replace the cached link-layer address), Router flag as
 * `opts.router`, the VIP as target, and the target link-layer address option.
 */
export function buildUnsolicitedNa(sourceMac: string, vip: string, opts: UnsolicitedNaOptions): Uint8Array {
  return buildNeighbourAdvert({ sourceMac, source: vip, destination: ALL_NODES, target: vip, router: opts.router, solicited: false, override: true, targetMac: opts.announcedMac ?? sourceMac });
}

/** Every field of a neighbour advertisement with a target link-layer address option. */
export interface NeighbourAdvertFields {
  /** Ethernet source. */
  readonly sourceMac: string;
  /** Ethernet destination; default: the destination group's multicast MAC (RFC 2464 §7). */
  readonly destinationMac?: string;
  readonly source: string;
  readonly destination: string;
  readonly target: string;
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
  /** The target link-layer address option. */
  readonly targetMac: string;
}

/**
 * A neighbour advertisement (RFC 4861 §4.4) from its fields: the unsolicited one above, or the
 * solicited answer a node's kernel sends (§7.2.4: to the solicitor, Solicited flag set), as the
 * in-memory LAN and the network tests' attacker need.
 */
export function buildNeighbourAdvert(f: NeighbourAdvertFields): Uint8Array {
  const destination = v6(f.destination);
  return buildNdFrame({
    ethernetDestination: f.destinationMac !== undefined ? mac(f.destinationMac) : multicastMac(destination),
    ethernetSource: mac(f.sourceMac),
    ipSource: v6(f.source),
    ipDestination: destination,
    type: ND_NEIGHBOR_ADVERT,
    flags: (f.router ? NA_FLAG_ROUTER : 0) | (f.solicited ? NA_FLAG_SOLICITED : 0) | (f.override ? NA_FLAG_OVERRIDE : 0),
    target: v6(f.target),
    optionType: ND_OPT_TARGET_LINKADDR,
    optionMac: mac(f.targetMac),
  });
}

/**
 * A neighbour solicitation for `target` (RFC 4861 §4.3, §7.2.2 address resolution): from our
 * link-local `sourceIp` with our MAC in the source link-layer address option, to the target's
 * solicited-node multicast group. Every holder of the address answers with a solicited NA sent
 * unicast to us (RFC 4861 §7.2.4), so — like an RFC 5227 ARP probe — it changes no neighbour's
 * entry for the target. (A DAD probe from :: would make every holder multicast its answer to all
 * nodes, flipping the neighbours' entries at each probe while two nodes hold the address, and
 * would fail the DAD of anyone adding it.)
 */
export function buildNeighbourSolicitation(sourceMac: string, sourceIp: string, target: string): Uint8Array {
  const targetBytes = v6(target);
  const group = solicitedNodeMulticast(targetBytes);
  const src = mac(sourceMac);
  return buildNdFrame({
    ethernetDestination: multicastMac(group),
    ethernetSource: src,
    ipSource: v6(sourceIp),
    ipDestination: group,
    type: ND_NEIGHBOR_SOLICIT,
    flags: 0,
    target: targetBytes,
    optionType: ND_OPT_SOURCE_LINKADDR,
    optionMac: src,
  });
}

/** A neighbour advertisement that passed the RFC 4861 §7.1.2 validity checks. */
export interface NeighbourAdvert {
  readonly target: string;
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
  /** The MAC it announces: the target link-layer address option, else the Ethernet source. */
  readonly targetMac: string;
  readonly ethernetSource: string;
  readonly ipSource: string;
}

/**
 * An IPv6 packet → a valid neighbour advertisement, or undefined (RFC 4861 §7.1.2): ICMPv6 type
 * 136, Hop Limit 255, a good checksum, code 0, at least 24 bytes, a non-multicast target, the
 * Solicited flag clear when sent to a multicast group, and well-formed options (none of length 0).
 */
export function parseNeighbourAdvert(eth: EthernetHeader, ip: IpPacket): NeighbourAdvert | undefined {
  const p = ip.payload;
  if (ip.family !== 'ipv6' || ip.protocol !== IPPROTO_ICMPV6 || p.length < 24 || p[0] !== ND_NEIGHBOR_ADVERT || p[1] !== 0 || ip.ttl !== ND_HOP_LIMIT) return undefined;
  if (finishChecksum(sumWords(p, 0, p.length, ipv6PseudoHeaderSum(ip.source, ip.destination, p.length, IPPROTO_ICMPV6))) !== 0) return undefined;
  const flags = p[4]!;
  const solicited = (flags & NA_FLAG_SOLICITED) !== 0;
  if (p[8] === 0xff) return undefined; // target is multicast
  if (solicited && ip.destination[0] === 0xff) return undefined;
  let targetMac: string | undefined;
  for (let off = 24; off < p.length; ) {
    if (off + 2 > p.length) return undefined;
    const len = p[off + 1]! * 8;
    if (len === 0 || off + len > p.length) return undefined;
    if (p[off] === ND_OPT_TARGET_LINKADDR && len >= 8 && targetMac === undefined) targetMac = formatMac(p, off + 2);
    off += len;
  }
  const ethernetSource = formatMac(eth.sourceMac);
  return {
    target: formatIpv6(p, 8),
    router: (flags & NA_FLAG_ROUTER) !== 0,
    solicited,
    override: (flags & NA_FLAG_OVERRIDE) !== 0,
    targetMac: targetMac ?? ethernetSource,
    ethernetSource,
    ipSource: formatIpv6(ip.source),
  };
}

/** A neighbour solicitation that passed the RFC 4861 §7.1.1 validity checks. */
export interface NeighbourSolicitation {
  readonly target: string;
  /** The solicitor's address; `::` for a duplicate address detection probe. */
  readonly ipSource: string;
  /** The source link-layer address option, else the Ethernet source. */
  readonly sourceMac: string;
}

/**
 * An IPv6 packet → a valid neighbour solicitation, or undefined (RFC 4861 §7.1.1): ICMPv6 type
 * 135, Hop Limit 255, a good checksum, code 0, at least 24 bytes, a non-multicast target,
 * options of non-zero length, and from :: only to a solicited-node group without a source
 * link-layer address option.
 */
export function parseNeighbourSolicitation(eth: EthernetHeader, ip: IpPacket): NeighbourSolicitation | undefined {
  const p = ip.payload;
  if (ip.family !== 'ipv6' || ip.protocol !== IPPROTO_ICMPV6 || p.length < 24 || p[0] !== ND_NEIGHBOR_SOLICIT || p[1] !== 0 || ip.ttl !== ND_HOP_LIMIT) return undefined;
  if (finishChecksum(sumWords(p, 0, p.length, ipv6PseudoHeaderSum(ip.source, ip.destination, p.length, IPPROTO_ICMPV6))) !== 0) return undefined;
  if (p[8] === 0xff) return undefined;
  let sourceMac: string | undefined;
  for (let off = 24; off < p.length; ) {
    if (off + 2 > p.length) return undefined;
    const len = p[off + 1]! * 8;
    if (len === 0 || off + len > p.length) return undefined;
    if (p[off] === ND_OPT_SOURCE_LINKADDR && len >= 8 && sourceMac === undefined) sourceMac = formatMac(p, off + 2);
    off += len;
  }
  const unspecified = ip.source.every((b) => b === 0);
  if (unspecified && (sourceMac !== undefined || !bytesEqual(ip.destination, 0, solicitedNodeMulticast(p.subarray(8, 24)), 0, 16))) return undefined;
  return { target: formatIpv6(p, 8), ipSource: formatIpv6(ip.source), sourceMac: sourceMac ?? formatMac(eth.sourceMac) };
}

function mac(text: string): Uint8Array {
  const b = parseMac(text);
  if (!b) throw new TypeError(`not a MAC address: ${text}`);
  return b;
}

function v6(text: string): Uint8Array {
  const b = parseIpv6(text);
  if (!b) throw new TypeError(`not an IPv6 address: ${text}`);
  return b;
}
