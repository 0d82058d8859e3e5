/**
 * A captured BFD datagram, read from the link-layer frame libpcap gives (src/adapters/bfd-udp.ts
 * captures on Linux's `any` device, whose frames carry a 16-byte "cooked" header, or on one
 * Ethernet interface): the IP source, the TTL / hop limit (RFC 5881 §5 needs it, and node's dgram
 * sockets can't read it), the UDP destination port and the payload. Pure.
 */
import { formatIp } from '../protocol/inet.js';

export type CaptureLinkType = 'sll' | 'ethernet';

export interface BfdDatagram {
  readonly source: string;
  readonly ttl: number;
  readonly destinationPort: number;
  readonly payload: Uint8Array;
}

const SLL_HEADER = 16;
const ETHERNET_HEADER = 14;
const UDP = 17;

/** undefined: not IPv4/IPv6 UDP (with no IPv6 extension header), or truncated. */
export function parseBfdDatagram(frame: Uint8Array, link: CaptureLinkType): BfdDatagram | undefined {
  let off: number;
  let etherType: number;
  if (link === 'sll') {
    if (frame.length < SLL_HEADER) return undefined;
    etherType = (frame[14]! << 8) | frame[15]!;
    off = SLL_HEADER;
  } else {
    if (frame.length < ETHERNET_HEADER) return undefined;
    etherType = (frame[12]! << 8) | frame[13]!;
    off = ETHERNET_HEADER;
  }
  let source: string;
  let ttl: number;
  let udp: number;
  if (etherType === 0x0800) {
    if (frame.length < off + 20 || frame[off]! >> 4 !== 4) return undefined;
    const ihl = (frame[off]! & 0x0f) * 4;
    if (ihl < 20 || frame[off + 9] !== UDP) return undefined;
    // A fragment other than the first carries no UDP header.
    if ((((frame[off + 6]! << 8) | frame[off + 7]!) & 0x1fff) !== 0) return undefined;
    ttl = frame[off + 8]!;
    source = formatIp(frame.subarray(off + 12, off + 16));
    udp = off + ihl;
  } else if (etherType === 0x86dd) {
    if (frame.length < off + 40 || frame[off]! >> 4 !== 6 || frame[off + 6] !== UDP) return undefined;
    ttl = frame[off + 7]!;
    source = formatIp(frame.subarray(off + 8, off + 24));
    udp = off + 40;
  } else return undefined;
  if (frame.length < udp + 8) return undefined;
  const destinationPort = (frame[udp + 2]! << 8) | frame[udp + 3]!;
  const udpLength = (frame[udp + 4]! << 8) | frame[udp + 5]!;
  if (udpLength < 8 || udp + udpLength > frame.length) return undefined;
  return { source, ttl, destinationPort, payload: frame.subarray(udp + 8, udp + udpLength) };
}
