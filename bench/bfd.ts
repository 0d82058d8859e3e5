/**
 * BFD-driven failover, keepwatch vs Debian's keepalived, in the same namespace topology: r1
 * (master, priority 150) tracks a BFD session to the gateway (`track_bfd`, weight 0), r2 is the
 * backup (100), the gateway runs keepalived's BFD; VRRPv3 at 0.1 s, BFD 50 ms × 3 (a 150 ms
 * detection time). The bridge starts dropping BFD (UDP 3784); measured from one capture on r1's
 * bridge port (what reaches r1 and what it sends): from the last BFD packet of the gateway that
 * reached r1 (the cut as r1 lived it) to r1's priority-0 advert (it went FAULT) and to r2's first
 * gratuitous ARP (the backup holds the VIP). Then the drop is lifted and the pair settles back
 * before the next run. Implementations alternate run by run.
 *
 *   node --import tsx bench/bfd.ts [--runs 10] [--impls keepwatch,keepalived]
 */
import { parseArgs } from 'node:util';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { decodePcap } from '../src/protocol/pcapfile.js';
import { parseBfdDatagram } from '../src/bfd/datagram.js';
import { join } from 'node:path';
import { NetnsLab, cleanupStale } from '../src/lab/netns.js';
import { LabRouter, type InstanceSpec, type RouterKind } from '../src/lab/routers.js';
import { benchDir, fmt, sleep, stats, table, teardown, wireEvents, writeResults } from './lib.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, impls: { type: 'string', default: 'keepwatch,keepalived' } } });
const RUNS = Number(values.runs);
const IMPLS = values.impls!.split(',') as RouterKind[];
const VIP = '10.252.0.100';
const R1 = '10.252.0.1';
const GW = '10.252.0.254';
const BFD = { minRx: 50, minTx: 50, multiplier: 3 };
const DETECT_MS = 150;

interface Setup {
  impl: RouterKind;
  lab: NetnsLab;
  r1: LabRouter;
  r2: LabRouter;
  gw: LabRouter;
  dir: string;
}

function setup(impl: RouterKind, index: number): Setup {
  const lab = NetnsLab.create('bench', [
    { name: 'r1', ipv4: R1 },
    { name: 'r2', ipv4: '10.252.0.2' },
    { name: 'gw', ipv4: GW },
    { name: 'client', ipv4: '10.252.0.10' },
  ], { unique: `bfd${index}` });
  const dir = benchDir();
  const inst = (priority: number, extra: string[] = []): InstanceSpec => ({ priority, version: 3, advertInt: 0.1, vips: [`${VIP}/24`], garpMasterDelay: 5, garpMasterRepeat: 1, extra });
  const gw = new LabRouter(lab, 'gw', 'keepalived', dir, { bfd: [{ name: 'r1', neighbor: R1, source: GW, ...BFD }], instances: [] });
  const r1 = new LabRouter(lab, 'r1', impl, dir, { bfd: [{ name: 'gw', neighbor: GW, source: R1, ...BFD }], instances: [inst(150, ['track_bfd {', '    gw', '}'])] });
  const r2 = new LabRouter(lab, 'r2', impl, dir, { instances: [inst(100)] });
  gw.start();
  r1.start();
  r2.start();
  return { impl, lab, r1, r2, gw, dir };
}

function bridgeCut(lab: NetnsLab, cut: boolean): void {
  const nft = (args: string[]) => spawnSync('ip', ['netns', 'exec', lab.switchNs, 'nft', ...args], { encoding: 'utf8' });
  nft(['delete', 'table', 'bridge', 'kwbfdcut']);
  if (!cut) return;
  for (const args of [
    ['add', 'table', 'bridge', 'kwbfdcut'],
    ['add', 'chain', 'bridge', 'kwbfdcut', 'cut', '{ type filter hook forward priority 0; policy accept; }'],
    ['add', 'rule', 'bridge', 'kwbfdcut', 'cut', 'ether', 'type', 'ip', 'udp', 'dport', '3784', 'drop'],
  ]) {
    const r = nft(args);
    if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
  }
}

async function settled(s: Setup, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (s.r1.state === 'master' && s.r2.state === 'backup' && s.lab.holders(VIP).join() === 'r1') return;
    await sleep(50);
  }
  throw new Error(`${s.impl}: did not settle (r1 ${s.r1.state}, r2 ${s.r2.state}, holders ${s.lab.holders(VIP)})`);
}

interface Sample {
  faultMs: number;
  holdsMs: number;
}

async function measure(s: Setup): Promise<Sample> {
  await settled(s);
  await sleep(1500);
  const file = join(s.dir, `cap-${Date.now()}.pcap`);
  // r1 is the lab's first host: its veth's bridge end is p0 in the switch namespace.
  const cap = spawn('ip', ['netns', 'exec', s.lab.switchNs, 'tcpdump', '-i', 'p0', '--immediate-mode', '-U', '-n', '-w', file, 'ip proto 112 or arp or udp port 3784'], { stdio: 'ignore' });
  await sleep(500);
  const before = Date.now() * 1000;
  bridgeCut(s.lab, true);
  const t0 = Date.now();
  while (!(s.lab.holders(VIP).join() === 'r2') && Date.now() - t0 < 15_000) await sleep(10);
  await sleep(300);
  cap.kill('SIGINT');
  await new Promise((r) => cap.once('exit', r));
  bridgeCut(s.lab, false);
  const events = wireEvents(file);
  // The last BFD packet from the gateway that reached r1 (p0 egress: dropped ones never do).
  let lastBfdUs = 0;
  for (const r of decodePcap(readFileSync(file)).records) {
    const d = parseBfdDatagram(r.data, 'ethernet');
    if (d && d.source === GW && d.destinationPort === 3784 && r.timestampUs < t0 * 1000 + 1_000_000) lastBfdUs = Math.max(lastBfdUs, r.timestampUs);
  }
  rmSync(file, { force: true });
  if (lastBfdUs < before - 1_000_000) throw new Error(`${s.impl}: no BFD packet of the gateway captured before the cut`);
  const cutUs = lastBfdUs;
  const r1Mac = s.lab.host('r1').mac;
  const r2Mac = s.lab.host('r2').mac;
  const stop = events.find((e) => e.kind === 'advert' && e.mac === r1Mac && e.priority === 0 && e.tUs > cutUs);
  const garp = events.find((e) => e.kind === 'garp' && e.mac === r2Mac && e.tUs > cutUs);
  if (!stop || !garp) throw new Error(`${s.impl}: capture lacks r1's priority-0 advert or r2's GARP`);
  return { faultMs: (stop.tUs - cutUs) / 1000, holdsMs: (garp.tUs - cutUs) / 1000 };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/bfd.ts needs root (network namespaces)');
  cleanupStale('bench');
  const setups = IMPLS.map((impl, i) => setup(impl, i));
  const results = new Map<RouterKind, Sample[]>();
  const failures = new Map<RouterKind, number>();
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const s of run % 2 === 0 ? setups : [...setups].reverse()) {
        try {
          const m = await measure(s);
          results.set(s.impl, [...(results.get(s.impl) ?? []), m]);
          process.stdout.write(`${s.impl} run ${run + 1}/${RUNS}: last BFD packet → r1 priority 0 ${fmt(m.faultMs)} ms, → r2 GARP ${fmt(m.holdsMs)} ms\n`);
        } catch (err) {
          failures.set(s.impl, (failures.get(s.impl) ?? 0) + 1);
          bridgeCut(s.lab, false);
          process.stdout.write(`${s.impl} run ${run + 1}: FAILED (${(err as Error).message.slice(0, 200)})\n`);
        }
      }
    }
  } finally {
    for (const s of setups) await teardown(s.lab, [s.r1, s.r2, s.gw], s.dir);
  }
  const rows: (string | number)[][] = [];
  for (const impl of IMPLS) {
    const ms = results.get(impl) ?? [];
    const f = stats(ms.map((m) => m.faultMs));
    const h = stats(ms.map((m) => m.holdsMs));
    rows.push([impl, ms.length, failures.get(impl) ?? 0, fmt(f.p50), fmt(f.max), fmt(h.min), fmt(h.p50), fmt(h.mean), fmt(h.max)]);
  }
  const body = `BFD-driven failover: r1 (master) tracks a BFD session to the gateway (track_bfd weight 0; the gateway runs keepalived's BFD), r2 is the backup. VRRPv3 0.1 s (Skew_Time of r2 ≈ 0.06 s), BFD ${BFD.minRx} ms × ${BFD.multiplier} (detection ${DETECT_MS} ms). The bridge drops UDP 3784; times from the last BFD packet of the gateway that reached r1 (captured on r1's bridge port) to r1's priority-0 advert (FAULT) and to r2's first gratuitous ARP (the backup holds the VIP). Expected: ${DETECT_MS} ms + a timer's lateness, then Skew_Time.\n\n${table(['impl', 'runs', 'failed', 'silence → r1 prio 0 p50 ms', 'max', 'silence → r2 GARP min ms', 'p50', 'mean', 'max'], rows)}\n`;
  process.stdout.write(`\n${body}`);
  process.stdout.write(`\nwritten: ${writeResults('bfd', body)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
