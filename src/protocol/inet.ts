/**
 * Address and checksum helpers shared by the codecs. Pure: bytes in, bytes or text out.
 */

/** RFC 1071 Internet checksum accumulator: adds 16-bit big-endian words of `bytes[start, end)`. */
export function sumWords(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  return sum;
}

/** Folds a 32-bit+ sum into 16 bits and complements it (RFC 1071). */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return finishChecksum(sumWords(bytes, start, end));
}

/**
 * Sum of the IPv6 pseudo-header words (RFC 8200 §8.1: source, destination, 32-bit upper-layer
 * length, three zero bytes, next header) for an upper-layer checksum such as ICMPv6's (RFC 4443 §2.3).
 */
export function ipv6PseudoHeaderSum(source: Uint8Array, destination: Uint8Array, upperLayerLength: number, nextHeader: number): number {
  return sumWords(source, 0, 16) + sumWords(destination, 0, 16) + (upperLayerLength >>> 16) + (upperLayerLength & 0xffff) + nextHeader;
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * IPv4 text → 4 bytes: a strict dotted quad (no leading zeros beyond "0", each octet 0-255);
 * undefined if invalid. (frame.ts `parseIpv4Packet` reads an IPv4 packet header instead.)
 */
export function parseIpv4(text: string): Uint8Array | undefined {
  const m = IPV4_RE.exec(text);
  if (!m) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1]!;
    if (part.length > 1 && part[0] === '0') return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * IPv6 text → 16 bytes (with `::` compression and an optional embedded IPv4 tail); undefined if
 * invalid. (frame.ts `parseIpv6Packet` reads an IPv6 packet header instead.)
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45 || text.includes('%')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIpv4(item);
        if (!v4) return undefined;
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
        groups.push(parseInt(item, 16));
      }
    }
    return groups;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/**
 * RFC 5952 canonical text: lowercase, longest run (>= 2) of zero groups compressed, and
 * IPv4-mapped addresses with a dotted-quad tail (§5).
 */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${formatIpv4(bytes, offset + 12)}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export type IpFamily = 'ipv4' | 'ipv6';

/** Parses either family; undefined if neither. */
export function parseIp(text: string): { family: IpFamily; bytes: Uint8Array } | undefined {
  const v4 = parseIpv4(text);
  if (v4) return { family: 'ipv4', bytes: v4 };
  const v6 = parseIpv6(text);
  if (v6) return { family: 'ipv6', bytes: v6 };
  return undefined;
}

/** Parses an address that must be valid (internal use: addresses already validated by config). */
export function ipBytes(text: string): Uint8Array {
  const parsed = parseIp(text);
  if (!parsed) throw new TypeError(`not an IP address: ${text}`);
  return parsed.bytes;
}

export function formatIp(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
}

/** Numeric comparison of two addresses of the same family (RFC 5798 §6.4.3 tie-break). */
export function compareIp(a: string, b: string): number {
  const x = ipBytes(a);
  const y = ipBytes(b);
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** Whether address text is multicast (224.0.0.0/4 or ff00::/8); false for anything not an address. */
export function isMulticast(text: string): boolean {
  const p = parseIp(text);
  return p !== undefined && isMulticastBytes(p.bytes);
}

/**
 * Whether an address in bytes (4: IPv4, 16: IPv6) is multicast: 224.0.0.0/4 (RFC 5771) or
 * ff00::/8 (RFC 4291 §2.7). Allocates nothing (the receive path asks it of every advert).
 */
export function isMulticastBytes(bytes: ArrayLike<number>): boolean {
  return bytes.length === 4 ? (bytes[0]! & 0xf0) === 0xe0 : bytes[0] === 0xff;
}

export type MacAddress = string;

export function parseMac(text: string): Uint8Array | undefined {
  const m = /^([0-9a-fA-F]{2})(?::([0-9a-fA-F]{2})){5}$/.test(text);
  if (!m) return undefined;
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function formatMac(bytes: Uint8Array, offset = 0): MacAddress {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(bytes[offset + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** Equality of byte ranges without allocating. */
export function bytesEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}
