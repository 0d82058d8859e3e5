/**
 * ARP frames (RFC 826): the gratuitous ARP a new master broadcasts for each VIP, the RFC 5227
 * probe the split-brain guard sends, and a parser for what comes back.
 */
import { BROADCAST_MAC, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from './constants.js';
import { formatIpv4, formatMac, parseIpv4, parseMac } from './inet.js';
import type { EthernetHeader } from './frame.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
/** Ethernet header (14) + ARP for IPv4 over Ethernet (28); the NIC pads to 60. */
export const ARP_FRAME_LENGTH = 42;

interface ArpFields {
  readonly ethernetDestination: string;
  readonly ethernetSource: string;
  readonly op: number;
  readonly senderMac: string;
  readonly senderIp: string;
  readonly targetMac: string;
  readonly targetIp: string;
}

function buildArpFrame(f: ArpFields): Uint8Array {
  const frame = new Uint8Array(ARP_FRAME_LENGTH);
  frame.set(mac(f.ethernetDestination), 0);
  frame.set(mac(f.ethernetSource), 6);
  frame[12] = ETHERTYPE_ARP >> 8;
  frame[13] = ETHERTYPE_ARP & 0xff;
  frame[14] = 0; // hardware type Ethernet (1)
  frame[15] = 1;
  frame[16] = ETHERTYPE_IPV4 >> 8;
  frame[17] = ETHERTYPE_IPV4 & 0xff;
  frame[18] = 6;
  frame[19] = 4;
  frame[20] = 0;
  frame[21] = f.op;
  frame.set(mac(f.senderMac), 22);
  frame.set(ip(f.senderIp), 28);
  frame.set(mac(f.targetMac), 32);
  frame.set(ip(f.targetIp), 38);
  return frame;
}

/**
 * A gratuitous ARP for `vip` from `sourceMac`, laid out as keepalived sends it (vrrp_arp.c):
 * broadcast, op request, sender = target = VIP, target hardware address ff:ff:ff:ff:ff:ff.
 * RFC 5227 §3 allows request or reply; requests update more neighbour caches.
 */
export function buildGratuitousArp(sourceMac: string, vip: string, announcedMac: string = sourceMac): Uint8Array {
  return buildArpFrame({
    ethernetDestination: BROADCAST_MAC,
    ethernetSource: sourceMac,
    op: ARP_REQUEST,
    // `announcedMac`: the holder the neighbours should use (the guard hands a VIP back to the
    // node that keeps it); the Ethernet source stays ours so switches learn nothing false.
    senderMac: announcedMac,
    senderIp: vip,
    targetMac: BROADCAST_MAC,
    targetIp: vip,
  });
}

/** RFC 5227 §2.1.1 probe: who has `target`? with sender IP 0.0.0.0, so no cache is changed. */
export function buildArpProbe(sourceMac: string, target: string): Uint8Array {
  return buildArpFrame({
    ethernetDestination: BROADCAST_MAC,
    ethernetSource: sourceMac,
    op: ARP_REQUEST,
    senderMac: sourceMac,
    senderIp: '0.0.0.0',
    targetMac: '00:00:00:00:00:00',
    targetIp: target,
  });
}

export interface ArpPacket {
  readonly op: number;
  readonly senderMac: string;
  readonly senderIp: string;
  readonly targetMac: string;
  readonly targetIp: string;
  readonly ethernetSource: string;
}

/** Parses an IPv4-over-Ethernet ARP packet; undefined for anything else. */
export function parseArp(eth: EthernetHeader): ArpPacket | undefined {
  const p = eth.payload;
  if (p.length < 28) return undefined;
  if (p[0] !== 0 || p[1] !== 1 || p[2] !== 0x08 || p[3] !== 0x00 || p[4] !== 6 || p[5] !== 4) return undefined;
  return {
    op: (p[6]! << 8) | p[7]!,
    senderMac: formatMac(p, 8),
    senderIp: formatIpv4(p, 14),
    targetMac: formatMac(p, 18),
    targetIp: formatIpv4(p, 24),
    ethernetSource: formatMac(eth.sourceMac),
  };
}

/** True when the ARP packet announces `senderIp` as its own (a reply, or a gratuitous request). */
export function claimsAddress(arp: ArpPacket, address: string): boolean {
  if (arp.senderIp !== address) return false;
  return arp.op === ARP_REPLY || arp.targetIp === arp.senderIp;
}

function mac(text: string): Uint8Array {
  const b = parseMac(text);
  if (!b) throw new TypeError(`not a MAC address: ${text}`);
  return b;
}

function ip(text: string): Uint8Array {
  const b = parseIpv4(text);
  if (!b) throw new TypeError(`not an IPv4 address: ${text}`);
  return b;
}
