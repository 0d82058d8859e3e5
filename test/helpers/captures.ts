/** Loads the golden captures made from Debian's keepalived (test/fixtures/captures/capture.sh). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodePcap } from '../../src/protocol/pcapfile.js';
import { parseFrame, type IpPacket } from '../../src/protocol/frame.js';
import type { EthernetHeader } from '../../src/protocol/frame.js';

export const CAPTURE_DIR = fileURLToPath(new URL('../fixtures/captures/', import.meta.url));

export interface CapturedFrame {
  readonly frame: Uint8Array;
  readonly timestampUs: number;
}

export function loadCapture(name: string): CapturedFrame[] {
  const { records } = decodePcap(readFileSync(`${CAPTURE_DIR}${name}.pcap`));
  return records.map((r) => ({ frame: r.data, timestampUs: r.timestampUs }));
}

/** The VRRP packets of a capture, parsed down to IP. */
export function vrrpPackets(name: string): { frame: Uint8Array; ip: IpPacket; ethernet: EthernetHeader }[] {
  const out = [];
  for (const { frame } of loadCapture(name)) {
    const p = parseFrame(frame);
    if (p.kind === 'ip' && p.ip.protocol === 112) out.push({ frame, ip: p.ip, ethernet: p.ethernet });
  }
  return out;
}

export function arpFrames(name: string): Uint8Array[] {
  return loadCapture(name)
    .map((c) => c.frame)
    .filter((f) => parseFrame(f).kind === 'arp');
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
