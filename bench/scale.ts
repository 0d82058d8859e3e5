/**
 * Scale and the cost of observability: one master with 255 instances (VRIDs 1-255) at 1 s, and
 * 32 instances at 0.1 s; CPU (% of one core; warm-up and steady state), RSS and the adverts' inter-arrival p99 (per VRID,
 * packet timestamps in the client namespace). keepwatch and Debian's keepalived in the same run;
 * keepwatch also with traces exported (OTLP/HTTP to a local receiver) and the flight recorder on.
 *
 *   node --import tsx bench/scale.ts [--seconds 30]
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsLab, cleanupStale } from '../src/lab/netns.js';
import { LabRouter, type InstanceSpec, type RouterKind } from '../src/lab/routers.js';
import { advertIntervals, benchDir, fmt, pidTree, procSample, sleep, stats, table, teardown, wireEvents, writeResults, type WireEvent } from './lib.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' } } });
const SECONDS = Number(values.seconds);
const RECEIVER = fileURLToPath(new URL('../test/net/otlp-receiver.mjs', import.meta.url));

interface Variant {
  readonly name: string;
  readonly impl: RouterKind;
  readonly observability: boolean;
}
const VARIANTS: Variant[] = [
  { name: 'keepalived', impl: 'keepalived', observability: false },
  { name: 'keepwatch', impl: 'keepwatch', observability: false },
  { name: 'keepwatch + traces + flight recorder', impl: 'keepwatch', observability: true },
];

function instances(count: number, intervalS: number): InstanceSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `VI_${i + 1}`,
    vrid: i + 1,
    priority: 150,
    version: 3,
    advertInt: intervalS,
    vips: [`10.253.${Math.floor((i + 1) / 250) + 1}.${((i + 1) % 250) + 1}/32`],
    garpMasterDelay: 0,
    garpMasterRepeat: 1,
  }));
}

async function measure(v: Variant, count: number, intervalS: number, index: number): Promise<(string | number)[]> {
  const lab = NetnsLab.create('bench', [
    { name: 'r1', ipv4: '10.253.0.1' },
    { name: 'client', ipv4: '10.253.0.10' },
  ], { unique: `s${index}` });
  const dir = benchDir();
  const env: Record<string, string> = {};
  const args: string[] = [];
  if (v.observability) {
    writeFileSync(join(dir, 'otlp.jsonl'), '');
    lab.spawn('client', process.execPath, [RECEIVER, '4318', join(dir, 'otlp.jsonl')]);
    Object.assign(env, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://10.253.0.10:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
    args.push('--capture-dir', join(dir, 'flight'));
  }
  const r1 = new LabRouter(lab, 'r1', v.impl, dir, { instances: instances(count, intervalS) }, args, env);
  try {
    r1.start();
    const t0 = Date.now();
    while (lab.holders(instances(count, intervalS).at(-1)!.vips[0]!.split('/')[0]!).length === 0 && Date.now() - t0 < 60_000) await sleep(200);
    await sleep(3000);
    const pids = pidTree(r1.proc!.pid!);
    const file = join(dir, 'cap.pcap');
    // A 32 MiB capture buffer: 255 adverts due at once arrive as one burst, and tcpdump's default
    // buffer dropped ~100 of them a minute (for keepalived too), which read as missed adverts.
    const cap = lab.spawn('client', 'tcpdump', ['-i', 'eth0', '-B', '32768', '--immediate-mode', '-U', '-n', '-w', file, 'ip proto 112']);
    let capErr = '';
    cap.stderr?.on('data', (d: Buffer) => (capErr += d.toString()));
    await sleep(300);
    const a = procSample(pids);
    await sleep(SECONDS * 1000);
    const b = procSample(pids);
    await sleep(SECONDS * 1000);
    const c = procSample(pids);
    cap.kill('SIGINT');
    await new Promise((r) => cap.once('exit', r));
    const captureDrops = Number(/(\d+) packets? dropped by kernel/.exec(capErr)?.[1] ?? NaN);
    const events = wireEvents(file);
    const mac = lab.host('r1').mac;
    const byVrid = new Map<number, WireEvent[]>();
    for (const e of events) if (e.kind === 'advert' && e.vrid !== undefined) byVrid.set(e.vrid, [...(byVrid.get(e.vrid) ?? []), e]);
    const intervals = [...byVrid.values()].flatMap((list) => advertIntervals(list, mac));
    const s = stats(intervals);
    const cpuFirst = ((b.cpuS - a.cpuS) / SECONDS) * 100;
    const cpuThen = ((c.cpuS - b.cpuS) / SECONDS) * 100;
    const row = [v.name, `${count} x ${intervalS}s`, fmt(cpuFirst, 2), fmt(cpuThen, 2), fmt(c.rssBytes / 1024 / 1024, 1), byVrid.size, s.n, fmt(s.p99 - intervalS * 1000), fmt(s.max - intervalS * 1000), captureDrops];
    process.stdout.write(`${row.join(' | ')}\n`);
    return row;
  } finally {
    await teardown(lab, [r1], dir);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/scale.ts needs root');
  cleanupStale('bench');
  const rows: (string | number)[][] = [];
  let i = 0;
  for (const [count, intervalS] of [
    [255, 1],
    [32, 0.1],
  ] as const) {
    for (const v of VARIANTS) rows.push(await measure(v, count, intervalS, i++));
  }
  const body = [
    `One master, measured from 3 s after every VIP is up, in two windows of ${SECONDS} s: the first includes the warm-up (keepwatch: V8 still compiling the hot paths),`,
    'the second is the steady state. CPU = user+system time of every thread / wall time (100 % = one core); RSS of the process tree at the end (keepalived: parent + VRRP child).',
    `Advert excess = inter-arrival per VRID minus the nominal interval over both windows (packet timestamps in the client namespace).`,
    'Capture drops = packets tcpdump reports dropped by the kernel (0: every advert sent was seen; a dropped one reads as a missed advert).',
    '',
    table(['variant', 'instances', `CPU % first ${SECONDS} s`, `CPU % next ${SECONDS} s`, 'RSS MB', 'VRIDs seen', 'intervals', 'p99 excess ms', 'max excess ms', 'capture drops'], rows),
  ].join('\n');
  process.stdout.write(`\n${body}\n\nwritten to ${writeResults('scale', body)}\n`);
}

await main();
