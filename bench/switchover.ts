/**
 * Planned switchover (issue 17), keepwatch vs Debian's keepalived in the same topology: the master
 * gets SIGTERM while a client in its own namespace (a) pings the VIP every 10 ms and (b) opens a
 * TCP connection to VIP:8080 every 10 ms (a listener runs on both routers). Counted: pings lost,
 * connections refused (a TCP reset: the SYN reached a node without a listener for the VIP) or timed
 * out. keepwatch hands over make-before-break (the old master keeps the VIP until the new master
 * advertises); keepalived drops it with its priority-0 advert, as RFC 5798 §6.4.3 says.
 *
 *   node --import tsx bench/switchover.ts [--runs 5] [--timings v3-0.1,v2-1] [--impls keepwatch,keepalived]
 */
import { parseArgs } from 'node:util';
import { NetnsLab, cleanupStale } from '../src/lab/netns.js';
import { LabRouter, renderConfig, type InstanceSpec, type RouterKind } from '../src/lab/routers.js';
import { benchDir, settled, sleep, stats, table, teardown, writeResults, type Pair } from './lib.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    timings: { type: 'string', default: 'v3-0.1,v2-1' },
    impls: { type: 'string', default: 'keepwatch,keepalived' },
  },
});
const RUNS = Number(values.runs);
const TIMINGS = values.timings!.split(',');
const IMPLS = values.impls!.split(',') as RouterKind[];
const VIP = '10.253.0.100';
const PORT = 8080;
/** The probes run this long; the SIGTERM comes after 1 s. */
const PROBE_MS = 4000;

function instance(timing: string, priority: number): InstanceSpec {
  const [v, int] = timing.split('-') as [string, string];
  return { priority, version: v === 'v3' ? 3 : 2, advertInt: Number(int), vips: [`${VIP}/24`], garpMasterDelay: 5, garpMasterRepeat: 1, ...(v === 'v2' ? { password: 'bench' } : {}) };
}

/** A TCP listener on every address (the VIP included, once it is there). */
const LISTENER = `require('node:net').createServer((s) => { s.on('error', () => {}); s.end('ok'); }).listen(${PORT}, '0.0.0.0');`;

/** Opens a connection every 10 ms for PROBE_MS; prints {ok, refused, timeout}. */
const CONNECTOR = `
const net = require('node:net');
let ok = 0, refused = 0, timeout = 0, other = 0, pending = 0;
const until = Date.now() + ${PROBE_MS};
const one = () => {
  pending++;
  const s = net.connect({ host: '${VIP}', port: ${PORT} });
  const done = (k) => { if (s.doneKind) return; s.doneKind = k; if (k === 'ok') ok++; else if (k === 'refused') refused++; else if (k === 'timeout') timeout++; else other++; s.destroy(); pending--; };
  s.setTimeout(1000, () => done('timeout'));
  s.on('connect', () => done('ok'));
  s.on('error', (e) => done(e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' ? 'refused' : 'other'));
};
const t = setInterval(() => { if (Date.now() >= until) { clearInterval(t); const w = setInterval(() => { if (pending === 0) { clearInterval(w); console.log(JSON.stringify({ ok, refused, timeout, other })); } }, 20); return; } one(); }, 10);
`;

function makePair(impl: RouterKind, timing: string, index: number): Pair & { listeners: ReturnType<NetnsLab['spawn']>[] } {
  const lab = NetnsLab.create('bench', [
    { name: 'r1', ipv4: '10.253.0.1' },
    { name: 'r2', ipv4: '10.253.0.2' },
    { name: 'client', ipv4: '10.253.0.10' },
  ], { unique: `sw${index}` });
  const dir = benchDir();
  const r1 = new LabRouter(lab, 'r1', impl, dir, { instances: [instance(timing, 150)] });
  const r2 = new LabRouter(lab, 'r2', impl, dir, { instances: [instance(timing, 100)] });
  const listeners = ['r1', 'r2'].map((h) => lab.spawn(h, process.execPath, ['-e', LISTENER]));
  r1.start();
  r2.start();
  return { impl, lab, r1, r2, dir, listeners };
}

function output(proc: ReturnType<NetnsLab['spawn']>): Promise<string> {
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((r) => proc.once('exit', () => r(out)));
}

interface Sample {
  pingsSent: number;
  pingsLost: number;
  connects: number;
  refused: number;
  timedOut: number;
}

async function measure(p: Pair, timing: string): Promise<Sample> {
  await settled(p, VIP);
  const intervalMs = Number(timing.split('-')[1]) * 1000;
  await sleep(3 * intervalMs + 300);
  const count = PROBE_MS / 10;
  const ping = p.lab.spawn('client', 'ping', ['-n', '-q', '-i', '0.01', '-W', '1', '-c', String(count), VIP]);
  const tcp = p.lab.spawn('client', process.execPath, ['-e', CONNECTOR]);
  const [pingOut, tcpOut] = [output(ping), output(tcp)];
  await sleep(1000);
  await p.r1.signal('SIGTERM');
  const pingText = await pingOut;
  const tcpResult = JSON.parse((await tcpOut).trim().split('\n').at(-1) ?? '{}') as { ok: number; refused: number; timeout: number; other: number };
  const m = /(\d+) packets transmitted, (\d+) received/.exec(pingText);
  if (!m) throw new Error(`${p.impl}: no ping summary: ${pingText.slice(-200)}`);
  p.r1.start();
  return {
    pingsSent: Number(m[1]),
    pingsLost: Number(m[1]) - Number(m[2]),
    connects: tcpResult.ok + tcpResult.refused + tcpResult.timeout + tcpResult.other,
    refused: tcpResult.refused,
    timedOut: tcpResult.timeout + tcpResult.other,
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/switchover.ts needs root (network namespaces)');
  cleanupStale('bench');
  const results = new Map<string, Sample[]>();
  let index = 0;
  for (const timing of TIMINGS) {
    const pairs = IMPLS.map((impl) => makePair(impl, timing, index++));
    try {
      for (let run = 0; run < RUNS; run++) {
        for (const p of run % 2 === 0 ? pairs : [...pairs].reverse()) {
          const s = await measure(p, timing);
          const k = `${p.impl}|${timing}`;
          results.set(k, [...(results.get(k) ?? []), s]);
          process.stdout.write(`${timing} ${p.impl} run ${run + 1}/${RUNS}: ${s.pingsLost}/${s.pingsSent} pings lost, ${s.refused} connections reset, ${s.timedOut} timed out of ${s.connects}\n`);
        }
      }
    } finally {
      for (const p of pairs) {
        for (const l of p.listeners) l.kill('SIGKILL');
        await teardown(p.lab, [p.r1, p.r2], p.dir);
      }
    }
  }
  const rows: (string | number)[][] = [];
  for (const timing of TIMINGS) {
    for (const impl of IMPLS) {
      const list = results.get(`${impl}|${timing}`) ?? [];
      const lost = stats(list.map((s) => s.pingsLost));
      const reset = stats(list.map((s) => s.refused));
      const to = stats(list.map((s) => s.timedOut));
      rows.push([timing, impl, list.length, lost.p50, lost.max, reset.p50, reset.max, to.p50, to.max]);
    }
  }
  const body = [
    `Planned switchover: SIGTERM of the master (priority 150) 1 s into ${PROBE_MS / 1000} s of probes from the client namespace:`,
    `ping every 10 ms (-W 1), and a new TCP connection to VIP:${PORT} every 10 ms (1 s timeout; a listener on both routers).`,
    '"reset": the SYN reached a node that no longer (or not yet) had the VIP and answered RST or nothing matched; "timed out": no answer in 1 s.',
    '',
    table(['timing', 'impl', 'runs', 'pings lost p50', 'pings lost max', 'TCP resets p50', 'TCP resets max', 'TCP timeouts p50', 'TCP timeouts max'], rows),
    '',
    'Configs (r1 priority 150, r2 priority 100):',
    '',
    ...TIMINGS.map((t) => `\`\`\`\n${renderConfig({ instances: [instance(t, 100)] })}\`\`\``),
  ].join('\n');
  process.stdout.write(`\n${body}\n`);
  process.stdout.write(`\nwritten to ${writeResults('switchover', body)}\n`);
}

await main();
