/**
 * Advert timing and floods, keepwatch vs Debian's keepalived, same topology, runs alternating:
 *
 * 1. The master's advert inter-arrival (packet timestamps in the client namespace) over
 *    `--seconds` (default 30): p50/p99/max and the excess over nominal, at 0.1 s (and 1 s):
 *    idle, with the other core loaded (a CPU burner), and during a flood of invalid adverts.
 * 2. Floods at increasing rates aimed at the backup (each packet a priority-254 takeover attempt if
 *    it were accepted): does the backup take over while the master lives (split brain)?
 *
 *   node --import tsx bench/timing.ts [--seconds 30] [--rates 500,2000,5000,10000] [--flood-seconds 10]
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsLab, cleanupStale } from '../src/lab/netns.js';
import { CLI_PATH, LabRouter, renderConfig, type InstanceSpec, type RouterKind } from '../src/lab/routers.js';
import { advertIntervals, benchDir, fmt, sleep, stats, table, teardown, wireEvents, writeResults, type Pair } from './lib.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    rates: { type: 'string', default: '500,2000,5000,10000' },
    'flood-seconds': { type: 'string', default: '10' },
    intervals: { type: 'string', default: '0.1,1' },
    impls: { type: 'string', default: 'keepwatch,keepalived' },
  },
});
const SECONDS = Number(values.seconds);
const RATES = values.rates!.split(',').map(Number);
const FLOOD_SECONDS = Number(values['flood-seconds']);
const INTERVALS = values.intervals!.split(',').map(Number);
const IMPLS = values.impls!.split(',') as RouterKind[];
const VIP = '10.253.0.100';

function instance(intervalS: number, priority: number): InstanceSpec {
  return { priority, version: 3, advertInt: intervalS, vips: [`${VIP}/24`] };
}

let labIndex = 0;
async function withPair<T>(impl: RouterKind, intervalS: number, fn: (p: Pair) => Promise<T>): Promise<T> {
  const lab = NetnsLab.create('bench', [
    { name: 'r1', ipv4: '10.253.0.1' },
    { name: 'r2', ipv4: '10.253.0.2' },
    { name: 'client', ipv4: '10.253.0.10' },
  ], { unique: `t${labIndex++}` });
  const dir = benchDir();
  const r1 = new LabRouter(lab, 'r1', impl, dir, { instances: [instance(intervalS, 150)] });
  const r2 = new LabRouter(lab, 'r2', impl, dir, { instances: [instance(intervalS, 100)] });
  try {
    r1.start();
    r2.start();
    const t0 = Date.now();
    while (!(r1.state === 'master' && r2.state === 'backup') && Date.now() - t0 < 20_000) await sleep(50);
    if (!(r1.state === 'master' && r2.state === 'backup')) throw new Error(`${impl}: pair did not settle`);
    await sleep(1000);
    return await fn({ impl, lab, r1, r2, dir });
  } finally {
    await teardown(lab, [r1, r2], dir);
  }
}

/** Packets tcpdump lost (its buffer overflowed) in the last capture; reported with the floods. */
let lastCaptureDrops = 0;

/**
 * Captures in the client namespace for `ms`, while `during` runs. The flooder's own packets are
 * filtered out in the kernel (BPF), so a flood can't overflow the capture buffer and make the
 * master's adverts look missing; tcpdump's own drop count is kept in `lastCaptureDrops`.
 */
async function capture(p: Pair, ms: number, during?: () => Promise<unknown>): Promise<string> {
  const file = join(p.dir, `cap-${Date.now()}.pcap`);
  const cap = p.lab.spawn('client', 'tcpdump', ['-i', 'eth0', '--immediate-mode', '-U', '-n', '-w', file, 'ip proto 112 and not src host 10.253.0.10']);
  let stderr = '';
  cap.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await sleep(300);
  await Promise.all([sleep(ms), during?.()]);
  await sleep(200);
  cap.kill('SIGINT');
  await new Promise((r) => cap.once('exit', r));
  lastCaptureDrops = Number(/(\d+) packets? dropped by kernel/.exec(stderr)?.[1] ?? 0);
  return file;
}

/** Packets the kernel dropped for a full input backlog (netdev_max_backlog), all CPUs: /proc/net/softnet_stat, 2nd column. */
function softnetDrops(): number {
  return readFileSync('/proc/net/softnet_stat', 'utf8').trim().split('\n').reduce((sum, line) => sum + parseInt(line.trim().split(/\s+/)[1] ?? '0', 16), 0);
}

function floodIn(p: Pair, rate: number, seconds: number): Promise<void> {
  return new Promise((resolve) => {
    const proc = p.lab.spawn('client', process.execPath, [CLI_PATH, 'flood', '--source', '10.253.0.10', '--vrid', '51', '--vip', VIP, '--version', '3', '--rate', String(rate), '--seconds', String(seconds)]);
    proc.once('exit', () => resolve());
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/timing.ts needs root');
  cleanupStale('bench');
  const timingRows: (string | number)[][] = [];
  for (const intervalS of INTERVALS) {
    const nominal = intervalS * 1000;
    for (const mode of ['idle', 'cpu-loaded', `flood-${Math.max(...RATES)}pps`] as const) {
      const per: Record<string, ReturnType<typeof stats>> = {};
      for (const impl of IMPLS) {
        per[impl] = await withPair(impl, intervalS, async (p) => {
          let burner;
          if (mode === 'cpu-loaded') burner = p.lab.spawn('client', process.execPath, ['-e', 'for(;;){}']);
          const file = await capture(p, SECONDS * 1000, mode.startsWith('flood') ? () => floodIn(p, Math.max(...RATES), SECONDS) : undefined);
          burner?.kill('SIGKILL');
          const s = stats(advertIntervals(wireEvents(file), p.lab.host('r1').mac));
          process.stdout.write(`timing ${intervalS}s ${mode} ${impl}: n=${s.n} p50 ${fmt(s.p50)} p99 ${fmt(s.p99)} max ${fmt(s.max)} ms\n`);
          return s;
        });
      }
      for (const impl of IMPLS) {
        const s = per[impl]!;
        const other = IMPLS.find((x) => x !== impl);
        timingRows.push([`${intervalS}s`, mode, impl, s.n, fmt(s.p50 - nominal), fmt(s.p99 - nominal), fmt(s.max - nominal), impl === 'keepwatch' && other ? fmt((per.keepwatch!.p99 - nominal) / Math.max(0.001, per[other]!.p99 - nominal), 2) : '']);
      }
    }
  }

  const floodRows: (string | number)[][] = [];
  for (const rate of RATES) {
    for (const impl of IMPLS) {
      const row = await withPair(impl, 0.1, async (p) => {
        const before = p.r2.transitions.length;
        const backlogBefore = softnetDrops();
        const file = await capture(p, FLOOD_SECONDS * 1000, () => floodIn(p, rate, FLOOD_SECONDS));
        const backlogDrops = softnetDrops() - backlogBefore;
        await sleep(500);
        const takeovers = p.r2.transitions.slice(before).filter((t) => t.to === 'master').length;
        const s = stats(advertIntervals(wireEvents(file), p.lab.host('r1').mac));
        process.stdout.write(`flood ${rate} pps ${impl}: backup takeovers ${takeovers}, master advert p99 ${fmt(s.p99)} max ${fmt(s.max)} ms, capture drops ${lastCaptureDrops}, kernel backlog drops ${backlogDrops}\n`);
        return [rate, impl, takeovers, takeovers > 0 ? 'SPLIT BRAIN (backup took the VIP while the master lived)' : 'none', fmt(s.p99 - 100), fmt(s.max - 100), lastCaptureDrops, backlogDrops];
      });
      floodRows.push(row);
    }
  }

  const body = [
    '## Advert timing',
    '',
    `The master's advert inter-arrival, from packet timestamps in the client namespace, over ${SECONDS} s; VRRPv3; excess over the nominal interval.`,
    '"cpu-loaded": a busy-loop process on the other core. "flood": invalid adverts (every kind) at the backup at the highest rate below.',
    '',
    table(['interval', 'mode', 'impl', 'n', 'p50 excess ms', 'p99 excess ms', 'max excess ms', 'p99 excess ratio kw/ka'], timingRows),
    '',
    '## Floods of invalid adverts',
    '',
    `${FLOOD_SECONDS} s of invalid adverts from a third namespace (wrong TTL, checksum, version, type, VRID, VRRPv2-at-v3; each priority 254), VRRPv3 0.1 s, master priority 150, backup 100.`,
    '',
    table(['rate pps', 'impl', 'backup takeovers', 'false takeover?', "master's advert p99 excess ms", 'max excess ms', 'capture drops', 'kernel backlog drops'], floodRows),
    '',
    '"capture drops": packets the measuring tcpdump lost (the flood itself is filtered out of it in the kernel). "kernel backlog drops": packets the kernel dropped on this machine during the flood because a CPU\'s input backlog (net.core.netdev_max_backlog) was full — every namespace shares it, so a missing advert then says nothing about the agent.',
    '',
    'Config (r2; r1 has priority 150):',
    '',
    '```',
    renderConfig({ instances: [instance(0.1, 100)] }),
    '```',
  ].join('\n');
  process.stdout.write(`\n${body}\n\nwritten to ${writeResults('timing', body)}\n`);
}

await main();
