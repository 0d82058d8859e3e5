/**
 * Network-test scaffolding: a fresh namespace LAN per test (unique prefix per run and test),
 * routers in it, and cleanup of namespaces and processes in `finally`, even when the test fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab, cleanupStale, type HostSpec } from '../../src/lab/netns.js';
import { LabRouter, type RouterConfigSpec, type RouterKind } from '../../src/lab/routers.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let counter = 0;
cleanupStale('test');

export const HOSTS: HostSpec[] = [
  { name: 'r1', ipv4: '10.251.0.1' },
  { name: 'r2', ipv4: '10.251.0.2' },
  { name: 'client', ipv4: '10.251.0.10' },
];
export const VIP = '10.251.0.100';

export interface NetEnv {
  readonly lab: NetnsLab;
  readonly dir: string;
  router(host: string, kind: RouterKind, config: RouterConfigSpec | string, extraArgs?: string[], env?: Record<string, string>): LabRouter;
  readonly routers: LabRouter[];
}

/** Runs `fn` with a new LAN; tears everything down afterwards, whatever happens. */
export async function withLab<T>(fn: (env: NetEnv) => Promise<T>, hosts: HostSpec[] = HOSTS): Promise<T> {
  const lab = NetnsLab.create('test', hosts, { unique: String(counter++) });
  const dir = mkdtempSync(join(tmpdir(), 'kwtest-'));
  const routers: LabRouter[] = [];
  const env: NetEnv = {
    lab,
    dir,
    routers,
    router(host, kind, config, extraArgs = [], env = {}) {
      // Tests read counters right after an action: a fresh /metrics on every scrape, unless a test
      // exercises the production cache (1 s) itself.
      const args = kind === 'keepwatch' && !extraArgs.includes('--metrics-cache-ms') ? ['--metrics-cache-ms', '0', ...extraArgs] : extraArgs;
      const r = new LabRouter(lab, host, kind, dir, config, args, env);
      routers.push(r);
      return r;
    },
  };
  try {
    return await fn(env);
  } catch (err) {
    // Show the routers' last words with the failure.
    for (const r of routers) process.stderr.write(`--- ${r.host} (${r.kind}) log tail ---\n${r.logLines.slice(-25).join('\n')}\n`);
    throw err;
  } finally {
    for (const r of routers) {
      await r.signal('SIGKILL', 1000);
      r.close();
    }
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls `cond` every `everyMs` until true; returns the elapsed ms, or throws with `what`. */
export async function waitFor(what: string, cond: () => boolean, timeoutMs: number, everyMs = 25): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (cond()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(everyMs);
  }
}

/** VRRPv3 at 0.1 s: a Master_Down_Interval under 0.4 s keeps the suite fast. */
export function fastInstance(priority: number, extra: Partial<RouterConfigSpec['instances'][number]> = {}): RouterConfigSpec['instances'][number] {
  return { priority, version: 3, advertInt: 0.1, vips: [`${VIP}/24`], garpMasterDelay: 1, garpMasterRepeat: 2, ...extra };
}

/**
 * The sum of a metric's series on a host's agent that carry `labels` (NaN when none do), read
 * from a live scrape of http://127.0.0.1:11200/metrics inside its namespace.
 */
export function metric(env: NetEnv, host: string, name: string, labels: Record<string, string> = {}): number {
  const out = env.lab.exec(host, 'curl', ['-s', '--max-time', '2', 'http://127.0.0.1:11200/metrics']).stdout;
  let sum = 0;
  let found = false;
  for (const line of out.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    found = true;
  }
  return found ? sum : NaN;
}

/** Whether a backup's agent has heard `master` (its /v1/state names it as the current master). */
export function hears(env: NetEnv, host: string, master: string): boolean {
  const r = env.lab.exec(host, 'curl', ['-s', '--max-time', '2', 'http://127.0.0.1:11200/v1/state']);
  try {
    const s = JSON.parse(r.stdout) as { instances: { state: string; master: { address: string; self: boolean } | null }[] };
    return s.instances.every((i) => i.state === 'backup' && i.master?.address === master && !i.master.self);
  } catch {
    return false;
  }
}

/**
 * Two keepwatch agents on VRRPv3 at `advertIntS` (r1 priority 150, r2 100), started and settled:
 * r1 master, r2 backup, one second on.
 */
export async function keepwatchPair(env: NetEnv, advertIntS: number): Promise<[LabRouter, LabRouter]> {
  const inst = (p: number) => ({ priority: p, version: 3 as const, advertInt: advertIntS, vips: [`${VIP}/24`] });
  const r1 = env.router('r1', 'keepwatch', { instances: [inst(150)] });
  const r2 = env.router('r2', 'keepwatch', { instances: [inst(100)] });
  r1.start();
  r2.start();
  await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
  await sleep(1000);
  return [r1, r2];
}

/**
 * tcpdump on the client's eth0 (immediate mode) into `<name>.pcap` of the test's directory;
 * `stop` ends it and gives the file. A moment before SIGINT: tcpdump drops what it has not read yet.
 */
export async function captureClient(env: NetEnv, name: string, filter = 'ip proto 112 or arp'): Promise<{ stop: () => Promise<string> }> {
  const file = join(env.dir, `${name}.pcap`);
  const proc = env.lab.spawn('client', 'tcpdump', ['-i', 'eth0', '--immediate-mode', '-U', '-n', '-w', file, filter]);
  await sleep(300);
  return {
    stop: async () => {
      await sleep(300);
      proc.kill('SIGINT');
      await new Promise((r) => proc.once('exit', r));
      return file;
    },
  };
}

/** The `fields` of every frame of `file` matching the display `filter`, as tshark decodes them. */
export function tsharkRows(file: string, filter: string, ...fields: string[]): string[][] {
  return spawnSync('tshark', ['-r', file, '-Y', filter, '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('|'));
}

/**
 * A lone router's whole life on a notify-watching test: master, its link down (FAULT) and up
 * (master again), then SIGTERM — every state a notify script or FIFO is told of, in order.
 */
export async function masterFaultMasterStop(env: NetEnv, r: LabRouter): Promise<void> {
  r.start();
  await waitFor(`${r.host} master`, () => r.state === 'master', 10_000);
  env.lab.setLink(r.host, false);
  await waitFor(`${r.host} fault`, () => r.state === 'fault', 3000);
  env.lab.setLink(r.host, true);
  await waitFor(`${r.host} master again`, () => r.state === 'master', 5000);
  await r.signal('SIGTERM');
}
