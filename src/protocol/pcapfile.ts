/**
 * Classic libpcap file format (microsecond timestamps, LINKTYPE_ETHERNET): written by the flight
 * recorder, read by tests and tools. Pure: bytes in, bytes out.
 */

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const LINKTYPE_ETHERNET = 1;

export interface PcapRecord {
  /** Capture time in microseconds since the epoch. */
  readonly timestampUs: number;
  readonly data: Uint8Array;
  /** Length on the wire (may exceed data.length when the snapshot was short). */
  readonly originalLength: number;
}

export function encodePcap(records: readonly PcapRecord[], snapLength = 65535): Uint8Array {
  const size = 24 + records.reduce((n, r) => n + 16 + r.data.length, 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, PCAP_MAGIC_US, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, snapLength, true);
  v.setUint32(20, LINKTYPE_ETHERNET, true);
  let off = 24;
  for (const r of records) {
    v.setUint32(off, Math.floor(r.timestampUs / 1e6), true);
    v.setUint32(off + 4, r.timestampUs % 1e6, true);
    v.setUint32(off + 8, r.data.length, true);
    v.setUint32(off + 12, r.originalLength, true);
    out.set(r.data, off + 16);
    off += 16 + r.data.length;
  }
  return out;
}

/** Reads a classic pcap file (either byte order, micro- or nanosecond magic). Throws on garbage. */
export function decodePcap(bytes: Uint8Array): { linkType: number; records: PcapRecord[] } {
  if (bytes.length < 24) throw new RangeError('pcap: file shorter than its header');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = v.getUint32(0, true);
  let le: boolean;
  let nano = false;
  if (magicLe === PCAP_MAGIC_US || magicLe === 0xa1b23c4d) {
    le = true;
    nano = magicLe === 0xa1b23c4d;
  } else if (v.getUint32(0, false) === PCAP_MAGIC_US || v.getUint32(0, false) === 0xa1b23c4d) {
    le = false;
    nano = v.getUint32(0, false) === 0xa1b23c4d;
  } else {
    throw new RangeError('pcap: bad magic (pcapng is not supported)');
  }
  const linkType = v.getUint32(20, le);
  const records: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= bytes.length) {
    const sec = v.getUint32(off, le);
    const frac = v.getUint32(off + 4, le);
    const incl = v.getUint32(off + 8, le);
    const orig = v.getUint32(off + 12, le);
    if (off + 16 + incl > bytes.length) throw new RangeError('pcap: truncated record');
    records.push({
      timestampUs: sec * 1e6 + (nano ? Math.floor(frac / 1000) : frac),
      data: Uint8Array.prototype.slice.call(bytes, off + 16, off + 16 + incl),
      originalLength: orig,
    });
    off += 16 + incl;
  }
  return { linkType, records };
}
