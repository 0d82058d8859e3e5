/**
 * The flight recorder: the last 30 s of captured VRRP and ARP frames per interface, in memory;
 * at every election the frames of the instance's interface go to a `.pcap` file (written a moment
 * later, so the takeover's own adverts and GARPs are in it too). Files and bytes are bounded: the
 * oldest recordings are deleted first.
 */
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePcap, type PcapRecord } from '../protocol/pcapfile.js';
import type { StateChangedEvent } from '../core/events.js';

export interface FlightRecorderOptions {
  readonly dir: string;
  readonly windowMs?: number;
  /** Frames kept per interface at most (a flood must not eat the memory). */
  readonly maxFrames?: number;
  readonly maxFiles?: number;
  readonly maxBytes?: number;
  /** How long after the transition the file is written. */
  readonly tailMs?: number;
}

interface Ring {
  frames: PcapRecord[];
  start: number;
}

export class FlightRecorder {
  private readonly rings = new Map<string, Ring>();
  private readonly files = new WeakMap<StateChangedEvent, string>();
  private readonly windowUs: number;
  private readonly maxFrames: number;
  private readonly maxFiles: number;
  private readonly maxBytes: number;
  private readonly tailMs: number;

  constructor(
    private readonly opts: FlightRecorderOptions,
    private readonly onWritten: (file: string, error?: Error) => void = () => {},
  ) {
    this.windowUs = (opts.windowMs ?? 30_000) * 1000;
    this.maxFrames = opts.maxFrames ?? 50_000;
    this.maxFiles = opts.maxFiles ?? 100;
    this.maxBytes = opts.maxBytes ?? 100 * 1024 * 1024;
    this.tailMs = opts.tailMs ?? 300;
    mkdirSync(opts.dir, { recursive: true });
  }

  /** A captured frame (copied: pcap reuses its buffer). */
  record(iface: string, frame: Uint8Array, wallUs: number): void {
    let ring = this.rings.get(iface);
    if (!ring) {
      ring = { frames: [], start: 0 };
      this.rings.set(iface, ring);
    }
    // A real copy: pcap hands us a view of a buffer it reuses, and Buffer#slice is a view too.
    ring.frames.push({ timestampUs: wallUs, data: Uint8Array.prototype.slice.call(frame), originalLength: frame.length });
    // Drop what fell out of the window or over the cap; compact now and then, not per frame.
    const cutoff = wallUs - this.windowUs;
    while (ring.start < ring.frames.length && (ring.frames[ring.start]!.timestampUs < cutoff || ring.frames.length - ring.start > this.maxFrames)) ring.start++;
    if (ring.start > 1024 && ring.start * 2 > ring.frames.length) {
      ring.frames = ring.frames.slice(ring.start);
      ring.start = 0;
    }
  }

  /** The file name chosen for a transition (set when it happened; written shortly after). */
  fileFor(t: StateChangedEvent): string | undefined {
    return this.files.get(t);
  }

  /** Called at every transition: names the file now, writes it after `tailMs`. */
  onTransition(t: StateChangedEvent): void {
    const stamp = new Date(t.wallMs).toISOString().replace(/[:.]/g, '-');
    const safe = t.instance.replace(/[^A-Za-z0-9_.-]/g, '_');
    const name = `${stamp}_${safe}_${t.from}-${t.to}_${t.cause}.pcap`;
    const file = join(this.opts.dir, name);
    this.files.set(t, file);
    const timer = setTimeout(() => void this.write(t.interface, file), this.tailMs);
    timer.unref();
  }

  private async write(iface: string, file: string): Promise<void> {
    const ring = this.rings.get(iface);
    const frames = ring ? ring.frames.slice(ring.start) : [];
    try {
      await writeFile(file, encodePcap(frames));
      this.prune();
      this.onWritten(file);
    } catch (err) {
      this.onWritten(file, err as Error);
    }
  }

  /** Keeps at most maxFiles recordings and maxBytes in the directory (oldest deleted first). */
  private prune(): void {
    const entries = readdirSync(this.opts.dir)
      .filter((f) => f.endsWith('.pcap'))
      .map((f) => ({ f, st: statSync(join(this.opts.dir, f)) }))
      .sort((a, b) => a.st.mtimeMs - b.st.mtimeMs);
    let total = entries.reduce((n, e) => n + e.st.size, 0);
    while (entries.length > this.maxFiles || (total > this.maxBytes && entries.length > 1)) {
      const e = entries.shift()!;
      total -= e.st.size;
      try {
        unlinkSync(join(this.opts.dir, e.f));
      } catch {
        /* already gone */
      }
    }
  }
}
