/**
 * Reading a configuration file (keepalived.conf, its includes, the guard file, the guard secret)
 * without trusting what the path names.
 *
 * - Only regular files are read. The path is `stat`ed first (following symlinks: a symlink to a
 *   regular file is an ordinary /etc layout) and anything else is refused without being opened:
 *   opening a FIFO for reading blocks until a writer comes (the event loop with it, for ever), and
 *   opening a device can have effects of its own (`/dev/watchdog` arms the watchdog).
 * - The file is then opened with O_NONBLOCK and O_NOCTTY, so a path swapped for a FIFO between the
 *   `stat` and the `open` cannot block, and the descriptor is `fstat`ed and refused again if it is not
 *   a regular file. (A swap to a device in that window is still opened, then refused; Node has no
 *   O_PATH to close the window entirely, and whoever can swap files in /etc owns the config anyway.)
 * - At most `maxBytes` are read, whatever the file claims its size is (it may grow while being read).
 * - keepalived.conf and its includes must not be executable (`refuseExecutable`), as keepalived
 *   requires (lib/parser.c `check_glob_file`: "not a regular non-executable file").
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

export type FileKind = 'regular file' | 'directory' | 'FIFO' | 'socket' | 'character device' | 'block device' | 'symbolic link' | 'special file';

export function kindOf(st: Stats): FileKind {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSymbolicLink()) return 'symbolic link';
  return 'special file';
}

/** What `path` is, symlinks followed; undefined when nothing (or a dangling symlink) is there. */
export function statKind(path: string): FileKind | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? kindOf(st) : undefined;
}

export type RefusalCode = 'ENOTREG' | 'EFBIG' | 'EEXEC';

/** A file that was not read: not a regular file (`ENOTREG`), over the size cap (`EFBIG`), executable (`EEXEC`). */
export class FileRefusedError extends Error {
  override name = 'FileRefusedError';
  constructor(
    readonly code: RefusalCode,
    message: string,
    /** What the path is, for ENOTREG. */
    readonly kind?: FileKind,
  ) {
    super(message);
  }
}

/** `4 MiB`, `512 KiB`, `100 bytes`. */
export function formatBytes(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)} KiB`;
  return `${n} bytes`;
}

const notRegular = (kind: FileKind): FileRefusedError =>
  new FileRefusedError('ENOTREG', `it is a ${kind}, not a regular file; not opened`, kind);
const tooBig = (maxBytes: number): FileRefusedError =>
  new FileRefusedError('EFBIG', `it is larger than ${formatBytes(maxBytes)}, the most keepwatch reads from one file`);

/** A `check` for `readRegularFile`: refuses a file with any execute bit (keepalived's rule for its configuration). */
export function refuseExecutable(st: Stats): void {
  if (st.mode & 0o111) {
    throw new FileRefusedError('EEXEC', `it is executable (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}); keepalived reads no executable configuration file, nor does keepwatch (chmod a-x)`);
  }
}

export interface RegularFile {
  readonly bytes: Buffer;
  /** The opened descriptor's `fstat`. */
  readonly stats: Stats;
}

/**
 * Reads the regular file `path`, at most `maxBytes` of it. `check` sees the `stat` before the open
 * and the `fstat` after it (e.g. owner and mode rules) and throws to refuse. Throws
 * `FileRefusedError` for a non-regular or oversized file, or the system error (ENOENT, EACCES, ...).
 */
export function readRegularFile(path: string, maxBytes: number, check?: (st: Stats) => void): RegularFile {
  const before = statSync(path);
  if (!before.isFile()) throw notRegular(kindOf(before));
  if (before.size > maxBytes) throw tooBig(maxBytes);
  check?.(before);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notRegular(kindOf(stats));
    if (stats.size > maxBytes) throw tooBig(maxBytes);
    check?.(stats);
    return { bytes: readBounded(fd, maxBytes, stats.size), stats };
  } finally {
    closeSync(fd);
  }
}

/** Reads `fd` to its end, refusing more than `maxBytes`. `hint` sizes the first buffer. */
function readBounded(fd: number, maxBytes: number, hint: number, retry?: () => boolean): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  let buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(hint + 1, 4096)));
  let used = 0;
  for (;;) {
    if (used === buf.length) {
      chunks.push(buf);
      buf = Buffer.allocUnsafe(Math.min(maxBytes + 1 - total, 1 << 16) || 1);
      used = 0;
    }
    let n: number;
    try {
      n = readSync(fd, buf, used, buf.length - used, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN' && retry?.()) continue;
      throw e;
    }
    if (n === 0) break;
    used += n;
    total += n;
    if (total > maxBytes) throw tooBig(maxBytes);
  }
  chunks.push(buf.subarray(0, used));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Standard input to its end, at most `maxBytes` (for `-f -`, which the operator asks for: this
 * waits for the writer, as `keepalived -f /dev/stdin` would). A non-blocking stdin is polled
 * every 10 ms.
 */
export function readStdin(maxBytes: number): Buffer {
  return readBounded(0, maxBytes, 0, () => {
    Atomics.wait(pause, 0, 0, 10);
    return true;
  });
}
