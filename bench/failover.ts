/**
 * Failover time, keepwatch vs Debian's keepalived, in the same namespace topology, measured from
 * packet timestamps captured in the client namespace: the old master's last advert → the new
 * master's first advert, and → its first gratuitous ARP. Scenarios: kill -9, SIGTERM (priority 0)
 * and link down of the master; VRRPv2 1 s, VRRPv3 0.1 s and 0.05 s. Implementations alternate
 * run by run.
 *
 *   node --import tsx bench/failover.ts [--runs 10] [--timings v2-1,v3-0.1,v3-0.05]
 *                                       [--scenarios kill,term,link] [--impls keepwatch,keepalived]
 */
import { parseArgs } from 'node:util';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsLab, cleanupStale } from '../src/lab/netns.js';
import { LabRouter, renderConfig, type InstanceSpec, type RouterKind } from '../src/lab/routers.js';
import { masterDownIntervalMs, skewTimeMs } from '../src/protocol/timing.js';
import { benchDir, settled, fmt, sleep, stats, table, teardown, wireEvents, writeResults, type Pair } from './lib.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    timings: { type: 'string', default: 'v2-1,v3-0.1,v3-0.05' },
    scenarios: { type: 'string', default: 'kill,term,link' },
    impls: { type: 'string', default: 'keepwatch,keepalived' },
  },
});
const RUNS = Number(values.runs);
const TIMINGS = values.timings!.split(',') as ('v2-1' | 'v3-0.1' | 'v3-0.05')[];
const SCENARIOS = values.scenarios!.split(',') as ('kill' | 'term' | 'link')[];
const IMPLS = values.impls!.split(',') as RouterKind[];
const VIP = '10.252.0.100';
const BACKUP_PRIORITY = 100;

function instance(timing: string, priority: number): InstanceSpec {
  const [v, int] = timing.split('-') as [string, string];
  return { priority, version: v === 'v3' ? 3 : 2, advertInt: Number(int), vips: [`${VIP}/24`], garpMasterDelay: 5, garpMasterRepeat: 1, ...(v === 'v2' ? { password: 'bench' } : {}) };
}

function makePair(impl: RouterKind, timing: string, index: number): Pair {
  const lab = NetnsLab.create('bench', [
    { name: 'r1', ipv4: '10.252.0.1' },
    { name: 'r2', ipv4: '10.252.0.2' },
    { name: 'client', ipv4: '10.252.0.10' },
  ], { unique: `${index}` });
  const dir = benchDir();
  const r1 = new LabRouter(lab, 'r1', impl, dir, { instances: [instance(timing, 150)] });
  const r2 = new LabRouter(lab, 'r2', impl, dir, { instances: [instance(timing, BACKUP_PRIORITY)] });
  r1.start();
  r2.start();
  return { impl, lab, r1, r2, dir };
}

interface Sample {
  advertMs: number;
  garpMs: number;
  refMs: number;
}

async function measure(p: Pair, scenario: string, timing: string): Promise<Sample> {
  await settled(p, VIP);
  const [v, int] = timing.split('-') as [string, string];
  const version = v === 'v3' ? 3 : 2;
  const intervalMs = Number(int) * 1000;
  await sleep(3 * intervalMs + 200);
  const file = join(p.dir, `cap-${Date.now()}.pcap`);
  const cap = p.lab.spawn('client', 'tcpdump', ['-i', 'eth0', '--immediate-mode', '-U', '-n', '-w', file, 'ip proto 112 or arp']);
  // The capture must hold the old master's last advert: start it more than an interval ahead.
  await sleep(Math.max(400, 1.5 * intervalMs + 200));
  const before = p.r2.transitions.length;
  if (scenario === 'kill') await p.r1.signal('SIGKILL');
  else if (scenario === 'term') await p.r1.signal('SIGTERM');
  else p.lab.setLink('r1', false);
  const t0 = Date.now();
  while (!(p.r2.transitions.length > before && p.r2.state === 'master') && Date.now() - t0 < 15_000) await sleep(20);
  await sleep(300);
  cap.kill('SIGINT');
  await new Promise((r) => cap.once('exit', r));
  // Heal for the next run.
  if (scenario === 'link') p.lab.setLink('r1', true);
  else p.r1.start();
  const events = wireEvents(file);
  rmSync(file, { force: true });
  const oldMac = p.lab.host('r1').mac;
  const newMac = p.lab.host('r2').mac;
  const firstNew = events.find((e) => e.kind === 'advert' && e.mac === newMac);
  if (!firstNew) throw new Error(`${p.impl} ${scenario}: no advert from the new master captured`);
  const lastOld = [...events].reverse().find((e) => e.kind === 'advert' && e.mac === oldMac && e.tUs < firstNew.tUs);
  const garp = events.find((e) => e.kind === 'garp' && e.mac === newMac && e.tUs > (lastOld?.tUs ?? Infinity));
  if (!lastOld || !garp) throw new Error(`${p.impl} ${scenario}: capture lacks the old master's last advert or the new GARP: ${JSON.stringify(events.slice(-30))}`);
  const refMs = scenario === 'term' ? skewTimeMs(version, BACKUP_PRIORITY, intervalMs) : masterDownIntervalMs(version, BACKUP_PRIORITY, intervalMs);
  return { advertMs: (firstNew.tUs - lastOld.tUs) / 1000, garpMs: (garp.tUs - lastOld.tUs) / 1000, refMs };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/failover.ts needs root (network namespaces)');
  cleanupStale('bench');
  const results = new Map<string, Sample[]>();
  const failures = new Map<string, number>();
  const key = (impl: string, timing: string, scenario: string) => `${impl}|${timing}|${scenario}`;
  let index = 0;
  for (const timing of TIMINGS) {
    const pairs = IMPLS.map((impl) => makePair(impl, timing, index++));
    try {
      for (let run = 0; run < RUNS; run++) {
        for (const scenario of SCENARIOS) {
          for (const p of run % 2 === 0 ? pairs : [...pairs].reverse()) {
            let s: Sample | undefined;
            for (let attempt = 1; attempt <= 2 && !s; attempt++) {
              try {
                s = await measure(p, scenario, timing);
              } catch (err) {
                // One bad run (a capture that missed a packet) must not lose the whole bench.
                process.stdout.write(`${timing} ${scenario} ${p.impl} run ${run + 1}: FAILED (${(err as Error).message.slice(0, 160)})${attempt === 1 ? '; retrying once' : '; skipped'}\n`);
                failures.set(key(p.impl, timing, scenario), (failures.get(key(p.impl, timing, scenario)) ?? 0) + 1);
                if (scenario === 'link') p.lab.setLink('r1', true);
                else p.r1.start();
              }
            }
            if (!s) continue;
            const k = key(p.impl, timing, scenario);
            results.set(k, [...(results.get(k) ?? []), s]);
            process.stdout.write(`${timing} ${scenario} ${p.impl} run ${run + 1}/${RUNS}: advert +${fmt(s.advertMs)} ms (ref ${fmt(s.refMs)}), GARP +${fmt(s.garpMs)} ms\n`);
          }
        }
      }
    } finally {
      for (const p of pairs) await teardown(p.lab, [p.r1, p.r2], p.dir);
    }
  }
  const rows: (string | number)[][] = [];
  for (const timing of TIMINGS) {
    for (const scenario of SCENARIOS) {
      const per = IMPLS.map((impl) => {
        const list = results.get(key(impl, timing, scenario)) ?? [];
        return { impl, over: stats(list.map((s) => s.advertMs - s.refMs)), garp: stats(list.map((s) => s.garpMs - s.advertMs)), ref: list[0]?.refMs ?? NaN };
      });
      for (const x of per) {
        const other = per.find((y) => y.impl !== x.impl);
        rows.push([
          timing,
          scenario,
          x.impl,
          x.over.n,
          fmt(x.ref),
          fmt(x.over.p50),
          fmt(x.over.p99),
          fmt(x.over.max),
          fmt(x.garp.p50, 3),
          fmt(x.garp.max, 3),
          other && x.impl === 'keepwatch' ? `${fmt((x.ref + x.over.p50) / (other.ref + other.over.p50), 3)}` : '',
        ]);
      }
    }
  }
  const body = [
    'Failover measured from packet timestamps in the client namespace (tcpdump, immediate mode).',
    '"over" = (old master\'s last advert → new master\'s first advert) − reference; the reference is',
    'Master_Down_Interval (kill -9, link down) or Skew_Time (SIGTERM: priority-0 advert) of the backup (priority 100).',
    '"GARP after advert" = new master\'s first gratuitous ARP − its first advert (negative: the GARP came first). Both pairs run at once in',
    'separate namespace LANs; runs alternate between implementations.',
    '',
    table(['timing', 'scenario', 'impl', 'n', 'ref ms', 'over p50 ms', 'over p99 ms', 'over max ms', 'GARP after advert p50 ms', 'GARP max ms', 'total p50 ratio kw/ka'], rows),
    '',
    failures.size ? `Runs that failed to measure (retried once, then skipped): ${[...failures].map(([k, n]) => `${k.replace(/\|/g, ' ')}: ${n}`).join('; ')}` : 'Every run measured.',
    '',
    'Configs (r1 priority 150, r2 priority 100):',
    '',
    ...TIMINGS.map((t) => `\`\`\`\n${renderConfig({ instances: [instance(t, BACKUP_PRIORITY)] })}\`\`\``),
  ].join('\n');
  process.stdout.write(`\n${body}\n`);
  process.stdout.write(`\nwritten to ${writeResults('failover', body)}\n`);
}

await main();
