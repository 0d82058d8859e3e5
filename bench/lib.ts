/**
 * Shared by the benchmarks: the machine and versions, statistics, tables, results files, and
 * reading VRRP/ARP timing off a capture.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePcap } from '../src/protocol/pcapfile.js';
import { parseFrame } from '../src/protocol/frame.js';
import { parseArp, claimsAddress } from '../src/protocol/arp.js';
import { advertLength } from '../src/protocol/advert.js';
import { formatMac } from '../src/protocol/inet.js';
import type { NetnsLab } from '../src/lab/netns.js';
import type { LabRouter, RouterKind } from '../src/lab/routers.js';

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const RESULTS_DIR = join(BENCH_DIR, 'results');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Two routers of one implementation in their own lab (r1 the master, r2 the backup). */
export interface Pair {
  impl: RouterKind;
  lab: NetnsLab;
  r1: LabRouter;
  r2: LabRouter;
  dir: string;
}

/** Waits until r1 is master holding `vip` alone and r2 is backup; throws after `timeoutMs`. */
export async function settled(p: Pair, vip: string, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (p.r1.state === 'master' && p.r2.state === 'backup' && p.lab.holders(vip).includes('r1') && !p.lab.holders(vip).includes('r2')) return;
    await sleep(50);
  }
  throw new Error(`${p.impl}: pair did not settle (r1 ${p.r1.state}, r2 ${p.r2.state}, holders ${p.lab.holders(vip)})`);
}

/** A scratch directory for one measurement's configs, logs and captures. */
export const benchDir = (): string => mkdtempSync(join(tmpdir(), 'kwbench-'));

/** Ends a measurement: its routers killed (by PID), the namespaces and the scratch directory gone. */
export async function teardown(lab: NetnsLab, routers: readonly LabRouter[], dir: string): Promise<void> {
  for (const r of routers) {
    await r.signal('SIGKILL', 1000);
    r.close();
  }
  lab.destroy();
  rmSync(dir, { recursive: true, force: true });
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim()) ?? 'unknown';
}

export function environment(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(BENCH_DIR, '..', 'package.json'), 'utf8')) as { version: string };
  return {
    date: new Date().toISOString(),
    kernel: execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim(),
    cpu: (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown') + ` x${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length ?? '?'}`,
    node: process.version,
    keepwatch: pkg.version,
    keepalived: firstLine('keepalived', ['--version']),
    tcpdump: firstLine('tcpdump', ['--version']),
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function stats(values: readonly number[]): { n: number; min: number; p50: number; p99: number; max: number; mean: number } {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, min: s[0] ?? NaN, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) };
}

export const fmt = (v: number, digits = 2): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

/** A markdown table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map((r) => line(r.map(String)))].join('\n');
}

/** Writes `bench/results/NAME-DATE.md` and `NAME-latest.md`; returns the path. */
export function writeResults(name: string, body: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const env = environment();
  const header = `# ${name}\n\n${Object.entries(env).map(([k, v]) => `- ${k}: ${v}`).join('\n')}\n\n`;
  const stamp = env.date!.slice(0, 16).replace(/[:T]/g, '-');
  const file = join(RESULTS_DIR, `${name}-${stamp}.md`);
  writeFileSync(file, header + body);
  writeFileSync(join(RESULTS_DIR, `${name}-latest.md`), header + body);
  return file;
}

export interface WireEvent {
  readonly tUs: number;
  readonly kind: 'advert' | 'garp';
  readonly mac: string;
  readonly priority?: number;
  readonly vrid?: number;
}

/** VRRP adverts and gratuitous ARPs of a capture, with their capture times. */
export function wireEvents(pcapFile: string): WireEvent[] {
  const { records } = decodePcap(readFileSync(pcapFile));
  const out: WireEvent[] = [];
  for (const r of records) {
    const f = parseFrame(r.data);
    if (f.kind === 'ip' && f.ip.protocol === 112) {
      // VRID and priority are bytes 1 and 2 of the VRRP header (RFC 3768 §5.1, RFC 5798 §5.1).
      const m = f.ip.payload;
      if (m.length >= 4 && m.length >= advertLength(m[0]! >> 4 === 2 ? 2 : 3, f.ip.family, m[3]!)) {
        out.push({ tUs: r.timestampUs, kind: 'advert', mac: formatMac(f.ethernet.sourceMac), priority: m[2]!, vrid: m[1]! });
      }
    } else if (f.kind === 'arp') {
      const arp = parseArp(f.ethernet);
      if (arp && claimsAddress(arp, arp.senderIp)) out.push({ tUs: r.timestampUs, kind: 'garp', mac: arp.senderMac });
    }
  }
  return out;
}

/** CPU time (user+system, seconds) and RSS (bytes) of processes, from /proc. */
export function procSample(pids: readonly number[]): { cpuS: number; rssBytes: number } {
  let cpuS = 0;
  let rssBytes = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpuS += (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      rssBytes += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      /* gone */
    }
  }
  return { cpuS, rssBytes };
}

/** The process and its children (keepalived forks its VRRP child). */
export function pidTree(pid: number): number[] {
  const out = [pid];
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  for (const c of r.stdout.split('\n').filter(Boolean)) out.push(...pidTree(Number(c)));
  return out;
}

/** Inter-arrival statistics (ms) of adverts from one MAC (and VRID, if given) in a capture. */
export function advertIntervals(events: readonly WireEvent[], mac: string): number[] {
  const ts = events.filter((e) => e.kind === 'advert' && e.mac === mac && (e.priority ?? 1) > 0).map((e) => e.tUs);
  const out: number[] = [];
  for (let i = 1; i < ts.length; i++) out.push((ts[i]! - ts[i - 1]!) / 1000);
  return out;
}
