/**
 * `keepwatch lab`: a LAN in network namespaces (a bridge, routers r1 and r2, a client), a
 * keepalived.conf per router, two agents (or keepwatch + Debian's keepalived with
 * `--peer keepalived`), and a live view of who holds the VIP and where the client's ARP entry
 * points. On a terminal, keys fail the master; without one (or with `--demo`) a scripted tour
 * runs kill -9, SIGTERM and link-down failovers and prints what it measured. Everything is
 * cleaned up on exit, Ctrl-C, or by the next run after a crash.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { NetnsLab, cleanupStale } from './netns.js';
import { existsSync } from 'node:fs';
import { LabRouter, renderConfig, type RouterKind } from './routers.js';
import { LAB_REAL_SERVERS, LvsLab, labVirtualServer } from './lvs.js';

const VIP = '10.250.0.100';
const HOSTS = [
  { name: 'r1', ipv4: '10.250.0.1' },
  { name: 'r2', ipv4: '10.250.0.2' },
  { name: 'client', ipv4: '10.250.0.10' },
];
/** `--ipv6`: a VRRPv3 IPv6 VIP in fd00:250::/64, where every host also has an address (nodad). */
const VIP6 = 'fd00:250::100';
const IPV6_OF: Readonly<Record<string, string>> = { r1: 'fd00:250::1', r2: 'fd00:250::2', client: 'fd00:250::10' };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface LabOptions {
  peer: RouterKind;
  demo: boolean;
  version: 2 | 3;
  advertInt: number;
  /** An IPv6 VIP (VRRPv3): unsolicited neighbour advertisements move the client's neighbour entry. */
  ipv6: boolean;
  /** `--lvs`: two real servers with a web server behind the VIP (LVS DR), balanced by both routers. */
  lvs: boolean;
}

function color(code: number, s: string): string {
  return process.stdout.isTTY ? `\x1b[${code}m${s}\x1b[0m` : s;
}

class Lab {
  readonly routers: LabRouter[];
  private ping: ChildProcess | undefined;
  private pingLost = 0;
  private pingOk = 0;
  private readonly dir: string;
  private readonly started = Date.now();
  /** The VIP the routers move (IPv4, or IPv6 with --ipv6). */
  readonly vip: string;
  /** `--lvs`: the real servers and the client's requests. */
  readonly lvs: LvsLab | undefined;

  constructor(
    readonly net: NetnsLab,
    readonly opts: LabOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'keepwatch-lab-'));
    this.vip = opts.ipv6 ? VIP6 : VIP;
    const inst = (priority: number, state: 'MASTER' | 'BACKUP') => ({
      state,
      priority,
      vrid: 51,
      version: opts.ipv6 ? (3 as const) : opts.version,
      advertInt: opts.advertInt,
      password: 'lab-pass',
      vips: [opts.ipv6 ? `${VIP6}/64 dev eth0` : `${VIP}/24 dev eth0 label eth0:vip`],
      garpMasterDelay: 1,
      garpMasterRepeat: 2,
    });
    // --lvs: both routers balance the VIP's port 80 over rs1 and rs2 (every director programs the table).
    const conf = (spec: Parameters<typeof renderConfig>[0]) => (opts.lvs ? `${renderConfig(spec)}\n${labVirtualServer(VIP)}` : spec);
    this.routers = [
      new LabRouter(net, 'r1', 'keepwatch', this.dir, conf({ routerId: 'r1', instances: [inst(150, 'MASTER')] })),
      new LabRouter(net, 'r2', opts.peer, this.dir, conf({ routerId: 'r2', instances: [inst(100, 'BACKUP')] })),
    ];
    this.lvs = opts.lvs ? new LvsLab(net, VIP) : undefined;
  }

  start(): void {
    for (const r of this.routers) r.start();
    this.lvs?.start();
    // The client pings the VIP 5 times a second; lost replies show the failover gap.
    this.ping = this.net.spawn('client', 'stdbuf', ['-oL', 'ping', '-n', '-O', '-i', '0.2', '-W', '0.2', this.vip]);
    this.ping.stdout?.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (/bytes from/.test(line)) this.pingOk++;
        else if (/no answer yet/.test(line)) this.pingLost++;
      }
    });
  }

  router(name: string): LabRouter {
    return this.routers.find((r) => r.host === name)!;
  }

  holders(): string[] {
    return this.net.holders(this.vip).filter((h) => h !== 'client');
  }

  /** The router whose agent is running, says MASTER and holds the VIP. */
  master(): LabRouter | undefined {
    return this.routers.find((r) => r.running && r.state === 'master' && this.holders().includes(r.host));
  }

  /** r1 (the higher priority) is master, r2 backup, and the client's ARP entry points at r1. */
  settled(): boolean {
    const [r1, r2] = this.routers as [LabRouter, LabRouter];
    return this.master() === r1 && r2.running && r2.state === 'backup' && this.net.hostByMac(this.net.neighbour('client', this.vip)) === 'r1';
  }

  clientArp(): string {
    const mac = this.net.neighbour('client', this.vip);
    return mac ? `${mac} (${this.net.hostByMac(mac) ?? '?'})` : 'no entry';
  }

  statusLines(): string[] {
    const holders = this.holders();
    const lines = [`keepwatch lab — VIP ${this.vip} on a bridge: r1 (keepwatch, prio 150), r2 (${this.opts.peer}, prio 100), client   [logs: ${this.dir}]`];
    for (const r of this.routers) {
      const link = this.net.exec(r.host, 'cat', ['/sys/class/net/eth0/operstate']).stdout.trim();
      const state = r.running ? (r.state ?? 'starting').toUpperCase() : 'STOPPED';
      const holds = holders.includes(r.host) ? color(32, 'holds VIP') : '         ';
      const last = r.transitions.at(-1);
      lines.push(`  ${r.host} ${r.kind.padEnd(10)} ${state.padEnd(8)} link ${link.padEnd(5)} ${holds}  ${last ? `last: ${last.line}` : ''}`);
    }
    lines.push(`  client ${this.opts.ipv6 ? 'neighbour entry' : 'ARP'} for ${this.vip}: ${this.clientArp()}   pings ok ${this.pingOk}, lost ${this.pingLost}`);
    if (this.lvs) lines.push(...this.lvs.statusLines(this.routers.map((r) => r.host)));
    return lines;
  }

  async waitFor(cond: () => boolean, timeoutMs: number): Promise<number | undefined> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      if (cond()) return Date.now() - t0;
      await sleep(20);
    }
    return undefined;
  }

  async destroy(): Promise<void> {
    for (const r of this.routers) {
      await r.signal('SIGTERM', 1500);
      r.close();
    }
    this.ping?.kill('SIGKILL');
    this.net.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function demo(lab: Lab): Promise<number> {
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const show = () => say(lab.statusLines().map((l) => `    ${l}`).join('\n'));
  const results: [string, string][] = [];
  say(color(1, '\n1. Start: both routers come up as BACKUP; the higher priority (r1) takes over after Master_Down_Interval.'));
  const t = await lab.waitFor(() => lab.settled(), 20_000);
  if (t === undefined) {
    say('r1 did not become master with r2 as backup within 20 s; logs:');
    for (const r of lab.routers) say(r.logLines.slice(-20).join('\n'));
    return 1;
  }
  show();
  if (lab.lvs) {
    const lvs = lab.lvs;
    const both = LAB_REAL_SERVERS.map((r) => r.name);
    say(color(1, '\nLVS: the client requests http://' + VIP + '/ five times a second; both routers check rs1 and rs2 (TCP_CHECK every 2 s) and forward (nftables DR).'));
    await lab.waitFor(() => lab.routers.every((r) => lvs.directorHas(r.host, both)), 20_000);
    await sleep(2500);
    say(`    last 10 answers: ${lvs.lastAnswers()}`);
    say(color(1, '\nLVS: killing the web server on rs2: its TCP_CHECK fails (1 retry, 1 s apart) and rs2 leaves the table.'));
    const failedAtKill = lvs.failed;
    lvs.stopWeb('rs2');
    const out = await lab.waitFor(() => lvs.directorHas('r1', ['rs1']), 20_000);
    const failedBefore = lvs.failed;
    await sleep(2500);
    const r1 =
      out === undefined
        ? 'rs2 still in the table after 20 s'
        : `rs2 out of the table ${out} ms after the kill (${failedBefore - failedAtKill} requests failed meanwhile); then the last 10 answers: ${lvs.lastAnswers()} (${lvs.failed - failedBefore} failed)`;
    results.push(['LVS: web server killed', r1]);
    say(`    ${r1}`);
    show();
    say(color(1, '\nLVS: starting it again: the next check passes and rs2 takes traffic again.'));
    lvs.startWeb('rs2');
    const back = await lab.waitFor(() => lvs.directorHas('r1', both), 20_000);
    await sleep(2500);
    const r2 = back === undefined ? 'rs2 not back after 20 s' : `rs2 back ${back} ms after its restart; last 10 answers: ${lvs.lastAnswers()}`;
    results.push(['LVS: web server restarted', r2]);
    say(`    ${r2}`);
  }
  const scenarios: [string, (m: LabRouter) => Promise<void> | void, (m: LabRouter) => Promise<void> | void][] = [
    ['kill -9 of the master agent (no goodbye: the backup waits Master_Down_Interval; the dead agent cannot remove its VIP, the kernel keeps it until the agent restarts and reconciles)', (m) => m.signal('SIGKILL'), (m) => m.start()],
    ['SIGTERM of the master (priority-0 advert: the backup waits only Skew_Time)', (m) => m.signal('SIGTERM'), (m) => m.start()],
    ['link down on the master (FAULT)', (m) => lab.net.setLink(m.host, false), (m) => lab.net.setLink(m.host, true)],
  ];
  let step = 2;
  for (const [what, fail, heal] of scenarios) {
    const old = lab.master();
    if (!old) break;
    say(color(1, `\n${step++}. ${what}: failing ${old.host}.`));
    const lostBefore = (lab as unknown as { pingLost: number }).pingLost;
    const t0 = Date.now();
    await fail(old);
    const other = lab.routers.find((r) => r !== old)!;
    const took = await lab.waitFor(() => lab.holders().includes(other.host) && lab.net.hostByMac(lab.net.neighbour('client', lab.vip)) === other.host, 15_000);
    const lost = (lab as unknown as { pingLost: number }).pingLost - lostBefore;
    const res = took === undefined ? 'no takeover within 15 s' : `${other.host} holds the VIP and the client's ${lab.opts.ipv6 ? 'neighbour' : 'ARP'} entry ${took} ms after the failure (client lost ~${lost} pings)`;
    results.push([what.split(' (')[0]!, res]);
    say(`    ${res}`);
    show();
    say(`    Healing ${old.host}: it comes back and preempts (higher priority).`);
    await heal(old);
    if ((await lab.waitFor(() => lab.settled(), 20_000)) === undefined) {
      say('    the lab did not settle back (r1 master, r2 backup) within 20 s; last log lines:');
      for (const r of lab.routers) say(r.logLines.slice(-8).map((l) => `      [${r.host}] ${l.slice(0, 200)}`).join('\n'));
      return 1;
    }
    show();
    void t0;
  }
  say(color(1, '\nSummary (wall-clock, from this lab; see bench/ for packet-timestamp measurements):'));
  for (const [k, v] of results) say(`  ${k.padEnd(28)} ${v}`);
  return results.every(([, v]) => !v.startsWith('no takeover')) ? 0 : 1;
}

async function interactive(lab: Lab): Promise<number> {
  const stdin = process.stdin;
  stdin.setRawMode?.(true);
  stdin.resume();
  let message = `keys: [k] kill -9 master  [s] SIGTERM master  [d] link down master  [u] links up  [r] restart stopped${lab.lvs ? '  [1]/[2] kill/start the web server on rs1/rs2' : ''}  [q] quit`;
  let quit = false;
  stdin.on('data', (buf: Buffer) => {
    const key = buf.toString();
    const m = lab.master();
    if (key === 'q' || key === '\u0003') quit = true;
    else if (key === 'k' && m) void m.signal('SIGKILL').then(() => (message = `killed ${m.host} with SIGKILL`));
    else if (key === 's' && m) void m.signal('SIGTERM').then(() => (message = `stopped ${m.host} with SIGTERM`));
    else if (key === 'd' && m) {
      lab.net.setLink(m.host, false);
      message = `link of ${m.host} down`;
    } else if (key === 'u') {
      for (const r of lab.routers) lab.net.setLink(r.host, true);
      message = 'all links up';
    } else if ((key === '1' || key === '2') && lab.lvs) {
      message = lab.lvs.toggleWeb(`rs${key}`);
    } else if (key === 'r') {
      for (const r of lab.routers) if (!r.running) r.start();
      message = 'restarted stopped routers';
    }
  });
  while (!quit) {
    process.stdout.write(`\x1b[2J\x1b[H${lab.statusLines().join('\n')}\n\n${message}\n`);
    await sleep(300);
  }
  stdin.setRawMode?.(false);
  stdin.pause();
  return 0;
}

export const LAB_USAGE = `Usage: keepwatch lab [--peer keepwatch|keepalived] [--demo] [--version 2|3] [--advert-int SECONDS] [--ipv6] [--lvs]

A two-router LAN in network namespaces (r1, r2 and a client on a bridge; VIP 10.250.0.100, VRID 51,
r1 priority 150, r2 100) to watch a failover. Root. On a terminal, keys fail the master: k kill -9,
s SIGTERM, d link down, u links up, r restart, q quit; without one (or with --demo) it runs a tour
and prints what it measured. The namespaces are removed on exit.
  --peer KIND        r2 runs keepwatch (default) or Debian's keepalived
  --demo             the tour, even on a terminal
  --version 2|3      VRRP version (default 2)
  --advert-int S     advert interval in seconds (default 1; e.g. 0.1 with --version 3)
  --ipv6             an IPv6 VIP (fd00:250::100, VRRPv3; hosts get fd00:250::/64 addresses):
                     the client's neighbour entry follows the unsolicited neighbour advertisements
  --lvs              LVS: two real servers (rs1 10.250.0.21, rs2 .22) with a web server behind the
                     VIP's port 80, seed 003's DR layout (VIP on their lo, arp_ignore/arp_announce);
                     both routers check them (TCP_CHECK) and balance (nftables, or IPVS when the
                     kernel has it). Keys 1/2 kill or start a web server: watch it leave the table
                     and the client's requests move; the tour does it too
  -h, --help         this text
Exit status: 0 done, 1 not root or keepalived missing, 2 bad arguments.`;

export async function runLab(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        peer: { type: 'string', default: 'keepwatch' },
        demo: { type: 'boolean', default: false },
        version: { type: 'string', default: '2' },
        'advert-int': { type: 'string', default: '1' },
        ipv6: { type: 'boolean', default: false },
        lvs: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`keepwatch lab: ${(err as Error).message}\n\n${LAB_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${LAB_USAGE}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('keepwatch lab: needs root (it creates network namespaces)\n');
    return 1;
  }
  const peer = values.peer === 'keepalived' ? 'keepalived' : 'keepwatch';
  if (peer === 'keepalived' && spawnSync('keepalived', ['--version']).status !== 0) {
    process.stderr.write('keepwatch lab: --peer keepalived needs Debian\'s keepalived (apt-get install keepalived)\n');
    return 1;
  }
  const stale = cleanupStale('lab');
  if (stale.length) process.stdout.write(`removed ${stale.length} namespaces left by an earlier lab run\n`);
  const opts: LabOptions = { peer, demo: values.demo || !process.stdin.isTTY, version: values.version === '3' ? 3 : 2, advertInt: Number(values['advert-int']) || 1, ipv6: values.ipv6, lvs: values.lvs };
  if (opts.lvs && opts.ipv6) {
    process.stderr.write('keepwatch lab: --lvs uses the IPv4 VIP (it cannot be combined with --ipv6)\n');
    return 2;
  }
  if (opts.lvs && peer === 'keepalived' && !existsSync('/proc/net/ip_vs')) {
    process.stderr.write("keepwatch lab: --lvs with --peer keepalived needs ip_vs in the kernel (keepalived programs only IPVS); this one has none\n");
    return 1;
  }
  const hosts = opts.lvs ? [...HOSTS, ...LAB_REAL_SERVERS] : HOSTS;
  const net = NetnsLab.create('lab', opts.ipv6 ? hosts.map((h) => ({ ...h, ipv6: IPV6_OF[h.name]! })) : hosts);
  const lab = new Lab(net, opts);
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= lab.destroy());
  const onSignal = () => void cleanup().then(() => process.exit(130));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    lab.start();
    return opts.demo ? await demo(lab) : await interactive(lab);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
