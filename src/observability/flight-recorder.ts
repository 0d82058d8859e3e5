/**
 * The flight recorder: the last 30 s of captured VRRP and ARP frames per interface, in memory;
 * at every election the frames of the instance's interface go to a `.pcap` file (written a moment
 * later, so the takeover's own adverts and GARPs are in it too). Files and bytes are bounded: the
 * oldest recordings are deleted first.
 *
 * The files hold what was on the wire, VRRPv2 auth_pass bytes included, so the directory and the
 * files are private and nothing in the directory but our own files is ever touched:
 * - the directory is created 0700; an existing one must belong to us and not be group- or
 *   world-writable (else anyone who can write there could plant a symlink where we write next);
 * - each file is created with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600: never an existing file,
 *   never through a symlink (a planted name makes that one recording fail, loudly);
 * - pruning deletes only files this process wrote (their names are kept in memory), never other
 *   `*.pcap` files in the directory.
 */
import { constants, lstatSync, mkdirSync, realpathSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePcap, type PcapRecord } from '../protocol/pcapfile.js';
import type { StateChangedEvent } from '../events/index.js';

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

/** The capture directory can't be used safely (refused at start). */
export class FlightRecorderError extends Error {
  override readonly name = 'FlightRecorderError';
}

interface Ring {
  frames: PcapRecord[];
  start: number;
}

/** Mode of every recording (owner read/write only: the frames carry VRRPv2 passwords). */
export const RECORDING_FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Creates `dir` (0700) or checks the existing one: a directory (through symlinks in its path, which
 * the admin chose), owned by our effective uid, not writable by group or others. Returns its real
 * path, which the recorder uses from then on.
 */
export function prepareRecordingDir(dir: string, uid = process.geteuid?.() ?? 0): string {
  const what = `flight recorder directory ${dir}`;
  try {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    throw new FlightRecorderError(`${what}: cannot create it: ${(err as Error).message}`);
  }
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (err) {
    throw new FlightRecorderError(`${what}: ${(err as Error).message}`);
  }
  const st = lstatSync(real);
  if (!st.isDirectory()) throw new FlightRecorderError(`${what}: not a directory`);
  if (st.uid !== uid) {
    throw new FlightRecorderError(`${what}: owned by uid ${st.uid}, not by this process (uid ${uid}); refused (whoever owns it could plant files and symlinks where recordings go). Use a directory of ours, mode 0700`);
  }
  if ((st.mode & 0o022) !== 0) {
    throw new FlightRecorderError(`${what}: mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} lets group or others write in it; refused (they could plant symlinks where recordings go). chmod 0700 it`);
  }
  return real;
}

export class FlightRecorder {
  private readonly rings = new Map<string, Ring>();
  private readonly files = new WeakMap<StateChangedEvent, string>();
  /** Recordings this process wrote, oldest first: the only files `prune` ever deletes. */
  private readonly written: { file: string; bytes: number }[] = [];
  private writtenBytes = 0;
  private readonly dir: string;
  private readonly windowUs: number;
  private readonly maxFrames: number;
  private readonly maxFiles: number;
  private readonly maxBytes: number;
  private readonly tailMs: number;

  /** Throws FlightRecorderError when the directory is not safe to write in. */
  constructor(
    opts: FlightRecorderOptions,
    private readonly onWritten: (file: string, error?: Error) => void = () => {},
  ) {
    this.windowUs = (opts.windowMs ?? 30_000) * 1000;
    this.maxFrames = opts.maxFrames ?? 50_000;
    this.maxFiles = Math.max(1, opts.maxFiles ?? 100);
    this.maxBytes = opts.maxBytes ?? 100 * 1024 * 1024;
    this.tailMs = opts.tailMs ?? 300;
    this.dir = prepareRecordingDir(opts.dir);
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
    const file = join(this.dir, name);
    this.files.set(t, file);
    const timer = setTimeout(() => void this.write(t.interface, file), this.tailMs);
    timer.unref();
  }

  private async write(iface: string, file: string): Promise<void> {
    const ring = this.rings.get(iface);
    const frames = ring ? ring.frames.slice(ring.start) : [];
    const bytes = encodePcap(frames);
    try {
      // O_EXCL|O_NOFOLLOW: an existing name (a planted file or symlink) fails with EEXIST/ELOOP.
      const fh = await open(file, CREATE_FLAGS, RECORDING_FILE_MODE);
      try {
        await fh.writeFile(bytes);
      } finally {
        await fh.close();
      }
    } catch (err) {
      this.onWritten(file, err as Error);
      return;
    }
    this.written.push({ file, bytes: bytes.length });
    this.writtenBytes += bytes.length;
    this.prune();
    this.onWritten(file);
  }

  /** Keeps at most maxFiles of our recordings and maxBytes of them (oldest deleted first; the newest stays). */
  private prune(): void {
    while (this.written.length > this.maxFiles || (this.writtenBytes > this.maxBytes && this.written.length > 1)) {
      const e = this.written.shift()!;
      this.writtenBytes -= e.bytes;
      try {
        // unlink removes a name, never what a symlink points at.
        unlinkSync(e.file);
      } catch {
        /* already gone */
      }
    }
  }
}
