/**
 * The notify FIFOs on a real host (the NotifyFifoPort; src/notify/fifo.ts decides what is
 * written). keepalived lib/notify.c `fifo_open`: mkfifo when missing, chown to the configured
 * user, open O_RDWR | O_NONBLOCK | O_NOFOLLOW — read-write, so opening never waits for a reader
 * and writing never fails for want of one: a full pipe is EAGAIN, which the caller queues.
 *
 * Node has no mkfifo(3): the FIFO is made with coreutils' `mkfifo -m 0600`, once at start and at
 * a reload that changes it, bounded by MKFIFO_TIMEOUT_MS.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, closeSync, constants, fstatSync, lstatSync, openSync, unlinkSync, writeSync } from 'node:fs';
import type { FifoHandle, NotifyFifoPort, RunAs, StartedProcess } from '../ports/index.js';

export const MKFIFO_TIMEOUT_MS = 2000;
/** A longer line would not be written whole at once (POSIX PIPE_BUF on Linux). */
export const FIFO_MAX_LINE_BYTES = 4096;

const DEFAULT_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const errText = (err: unknown): string => (err as Error).message;
const codeOf = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;

class OpenedFifo implements FifoHandle {
  private fd: number | undefined;
  constructor(
    fd: number,
    private readonly path: string,
    private readonly created: boolean,
  ) {
    this.fd = fd;
  }

  write(line: string): 'written' | 'again' | 'error' {
    if (this.fd === undefined) return 'error';
    const bytes = Buffer.from(line, 'utf8');
    if (bytes.length > FIFO_MAX_LINE_BYTES) return 'error';
    try {
      const n = writeSync(this.fd, bytes);
      return n === bytes.length ? 'written' : 'error';
    } catch (err) {
      return codeOf(err) === 'EAGAIN' ? 'again' : 'error';
    }
  }

  close(): void {
    // keepalived removes the FIFO first, so a reader that reopens it in a loop cannot.
    if (this.created) {
      try {
        unlinkSync(this.path);
      } catch {
        /* gone already */
      }
    }
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        /* closed */
      }
    }
    this.fd = undefined;
  }
}

export class SystemNotifyFifos implements NotifyFifoPort {
  open(path: string, owner: RunAs | undefined): { ok: true; handle: FifoHandle; created: boolean } | { ok: false; error: string } {
    let created = false;
    let st;
    try {
      st = lstatSync(path);
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') return { ok: false, error: `cannot look at ${path}: ${errText(err)}` };
    }
    if (st && !st.isFIFO()) return { ok: false, error: `${path} exists and is not a FIFO` };
    if (!st) {
      const r = spawnSync('mkfifo', ['-m', '0600', '--', path], { timeout: MKFIFO_TIMEOUT_MS, killSignal: 'SIGKILL', stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { PATH: DEFAULT_PATH, LC_ALL: 'C' } });
      if (r.error || r.status !== 0) return { ok: false, error: `cannot make the FIFO ${path}: ${r.error ? errText(r.error) : (r.stderr || `mkfifo exited ${r.status}`).trim()}` };
      created = true;
      if (owner && (owner.uid !== process.getuid?.() || owner.gid !== process.getgid?.())) {
        try {
          chownSync(path, owner.uid, owner.gid);
        } catch (err) {
          this.remove(path);
          return { ok: false, error: `cannot give ${path} to ${owner.uid}:${owner.gid}: ${errText(err)}` };
        }
      }
    }
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (err) {
      if (created) this.remove(path);
      return { ok: false, error: `cannot open ${path}: ${errText(err)}` };
    }
    try {
      if (!fstatSync(fd).isFIFO()) throw new Error('not a FIFO (replaced while opening)');
    } catch (err) {
      closeSync(fd);
      if (created) this.remove(path);
      return { ok: false, error: `${path}: ${errText(err)}` };
    }
    return { ok: true, handle: new OpenedFifo(fd, path, created), created };
  }

  start(argv: readonly string[], runAs: RunAs | undefined): StartedProcess {
    const ids = runAs && (runAs.uid !== process.getuid?.() || runAs.gid !== process.getgid?.()) ? runAs : undefined;
    let child: ReturnType<typeof spawn>;
    try {
      if (!argv[0]) throw new Error('empty command');
      child = spawn(argv[0], argv.slice(1), { stdio: 'ignore', detached: true, ...(ids ? { uid: ids.uid, gid: ids.gid } : {}), env: { PATH: process.env.PATH ?? DEFAULT_PATH } });
    } catch (err) {
      return { pid: undefined, exited: Promise.resolve({ exitCode: null, signal: null, error: errText(err) }) };
    }
    // The reader lives as long as it likes; it does not keep the agent's event loop alive.
    child.unref();
    const exited = new Promise<{ exitCode: number | null; signal: string | null; error?: string }>((resolve) => {
      child.once('error', (err) => resolve({ exitCode: null, signal: null, error: err.message }));
      child.once('exit', (code, signal) => resolve({ exitCode: code, signal }));
    });
    return { pid: child.pid, exited };
  }

  private remove(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      /* gone */
    }
  }
}
