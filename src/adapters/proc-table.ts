/**
 * The host's process table (the ProcessTable port, for track_process): /proc/PID/stat for the
 * process name (comm) and state — zombies are left out, as keepalived's read_procs does — and,
 * only when a tracked process needs it (full_command), /proc/PID/cmdline.
 *
 * Bounded: at most PROC_MAX_PIDS processes per scan (the rest are reported as truncated), at
 * most PROC_STAT_BYTES of each stat and PROC_MAX_CMDLINE_BYTES of each command line, and
 * PROC_CONCURRENCY files open at a time. Processes that end while we read are skipped. Never
 * rejects: an unreadable /proc is an empty table.
 */
import { open, readdir } from 'node:fs/promises';
import type { ProcessEntry, ProcessScan, ProcessTable } from '../ports/index.js';

export const PROC_MAX_PIDS = 32768;
export const PROC_MAX_CMDLINE_BYTES = 4096;
/** comm is at most 16 bytes; the state follows it: the head of the line is enough. */
export const PROC_STAT_BYTES = 512;
export const PROC_CONCURRENCY = 32;

/** Reads at most `max` bytes of a file from its start; undefined when it cannot be read. */
async function readHead(path: string, max: number): Promise<Buffer | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
    const buf = Buffer.alloc(max);
    let got = 0;
    // /proc files may answer in pieces.
    while (got < max) {
      const { bytesRead } = await fh.read(buf, got, max - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } catch {
    return undefined;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** comm and state from /proc/PID/stat: `PID (comm) S ...`; comm may hold spaces and parentheses. */
export function parseStat(text: string): { comm: string; state: string } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const state = text.slice(close + 2, close + 3);
  return { comm: text.slice(open + 1, close), state };
}

/** argv from /proc/PID/cmdline (NUL-separated, NUL-terminated); `cut` when it was longer than `max`. */
export function parseCmdline(bytes: Buffer, max: number): { argv: string[]; cut: boolean } {
  const cut = bytes.length > max;
  const text = bytes.subarray(0, max).toString('utf8');
  const words = text.split('\0');
  if (words.length > 0 && words[words.length - 1] === '') words.pop();
  return { argv: words, cut };
}

export class ProcProcessTable implements ProcessTable {
  constructor(
    private readonly root = '/proc',
    private readonly maxPids = PROC_MAX_PIDS,
  ) {}

  async scan(opts: { readonly argv: boolean }): Promise<ProcessScan> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return { processes: [], truncated: false };
    }
    const pids = names.filter((n) => /^[1-9]\d{0,9}$/.test(n));
    const truncated = pids.length > this.maxPids;
    const todo = pids.slice(0, this.maxPids);
    const out: ProcessEntry[] = [];
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const pid = todo[next++]!;
        const e = await this.readOne(pid, opts.argv);
        if (e) out.push(e);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PROC_CONCURRENCY, todo.length) }, worker));
    return { processes: out, truncated };
  }

  private async readOne(pid: string, withArgv: boolean): Promise<ProcessEntry | undefined> {
    const stat = await readHead(`${this.root}/${pid}/stat`, PROC_STAT_BYTES);
    if (!stat) return undefined;
    const s = parseStat(stat.toString('utf8'));
    if (!s || s.state === 'Z') return undefined;
    if (!withArgv) return { pid: Number(pid), comm: s.comm };
    const raw = await readHead(`${this.root}/${pid}/cmdline`, PROC_MAX_CMDLINE_BYTES + 1);
    if (!raw) return undefined;
    const { argv, cut } = parseCmdline(raw, PROC_MAX_CMDLINE_BYTES);
    return { pid: Number(pid), comm: s.comm, argv, ...(cut ? { argvCut: true } : {}) };
  }
}
