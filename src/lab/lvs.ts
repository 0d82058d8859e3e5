/**
 * LVS real servers in a NetnsLab: a small web server per host (it answers its own name), set up
 * for DR as seed 003's real-server script does (the VIP on `lo` as a /32, arp_ignore=1 and
 * arp_announce=2, so only the director answers ARP for the VIP) or for NAT (the director is the
 * gateway back to the clients). A client that requests the VIP from many source addresses, to
 * see the distribution. Shared by `keepwatch lab --lvs` and test/net/lvs.test.ts.
 */
import type { ChildProcess } from 'node:child_process';
import type { NetnsLab } from './netns.js';

/** The web server: Node's http module, one line per request (the host's name). */
const WEB_SERVER = `const h=require('http');const name=process.argv[1];const port=Number(process.argv[2]);h.createServer((q,s)=>{s.setHeader('connection','close');s.end(name+'\\n')}).listen(port,'0.0.0.0')`;

function must(net: NetnsLab, host: string, cmd: string, args: readonly string[]): void {
  const r = net.exec(host, cmd, args);
  if (r.status !== 0) throw new Error(`${host}: ${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
}

/** DR: the VIP on lo (/32) and the ARP settings of seed 003's real-server script. */
export function setupDrRealServer(net: NetnsLab, host: string, vips: readonly string[]): void {
  for (const [k, v] of [
    ['net.ipv4.conf.all.arp_ignore', '1'],
    ['net.ipv4.conf.all.arp_announce', '2'],
    ['net.ipv4.conf.lo.arp_ignore', '1'],
    ['net.ipv4.conf.lo.arp_announce', '2'],
    ['net.ipv4.conf.eth0.arp_ignore', '1'],
    ['net.ipv4.conf.eth0.arp_announce', '2'],
  ] as const) {
    must(net, host, 'sysctl', ['-q', '-w', `${k}=${v}`]);
  }
  for (const vip of vips) must(net, host, 'ip', ['addr', 'add', `${vip}/32`, 'dev', 'lo']);
}

/** NAT: replies go back through the director (`gateway`: an address the directors hold). */
export function setupNatRealServer(net: NetnsLab, host: string, gateway: string): void {
  must(net, host, 'ip', ['route', 'replace', 'default', 'via', gateway]);
  // The director and the clients share the LAN: no ICMP redirect may send replies around it.
  must(net, host, 'sysctl', ['-q', '-w', 'net.ipv4.conf.all.accept_redirects=0', 'net.ipv4.conf.eth0.accept_redirects=0']);
}

/** A director for NAT: it forwards, and sends no redirects (clients and servers share the LAN). */
export function setupNatDirector(net: NetnsLab, host: string, clientNet: string): void {
  must(net, host, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0']);
  must(net, host, 'ip', ['route', 'replace', clientNet, 'dev', 'eth0']);
}

/** A client in another subnet on the same LAN (NAT: the real servers must route back through the director). */
export function moveClient(net: NetnsLab, host: string, address: string, prefixLength: number, lanNet: string): void {
  must(net, host, 'ip', ['addr', 'flush', 'dev', 'eth0']);
  must(net, host, 'ip', ['addr', 'add', `${address}/${prefixLength}`, 'dev', 'eth0']);
  must(net, host, 'ip', ['route', 'replace', lanNet, 'dev', 'eth0']);
}

/** Extra client addresses (`base` + 0..count-1 in the last octet), so a source hash sees many clients. */
export function addClientAddresses(net: NetnsLab, host: string, prefix: string, first: number, count: number, prefixLength: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = `${prefix}.${first + i}`;
    must(net, host, 'ip', ['addr', 'add', `${a}/${prefixLength}`, 'dev', 'eth0', 'noprefixroute']);
    out.push(a);
  }
  return out;
}

/** Starts the web server in a host (killed with the lab, or by the caller to fail it). */
export function startWebServer(net: NetnsLab, host: string, port = 80): ChildProcess {
  return net.spawn(host, process.execPath, ['-e', WEB_SERVER, host, String(port)]);
}

/** Whether the host's web server answers on its own address. */
export function webServerUp(net: NetnsLab, from: string, address: string, port = 80): boolean {
  return net.exec(from, 'curl', ['-s', '--max-time', '1', `http://${address}:${port}/`]).status === 0;
}

/**
 * `count` requests to `url` from the client, each a new connection (from each of `sources` in
 * turn, when given): how many each real server answered (`failed`: no answer within 1 s).
 */
export function requests(net: NetnsLab, client: string, url: string, count: number, sources: readonly string[] = []): Map<string, number> {
  // One curl for all: a shell loop in the namespace (spawning per request costs ~20 ms each).
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const src = sources.length ? `--interface ${sources[i % sources.length]} ` : '';
    lines.push(`curl -s --max-time 1 ${src}${url} || echo failed`);
  }
  const r = net.exec(client, 'sh', ['-c', lines.join('\n')]);
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const k = line.trim();
    if (k) out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

/** The lab's real servers (`keepwatch lab --lvs`): on the lab LAN, behind the VIP. */
export const LAB_REAL_SERVERS = [
  { name: 'rs1', ipv4: '10.250.0.21' },
  { name: 'rs2', ipv4: '10.250.0.22' },
] as const;

/**
 * The lab's virtual_server (seed 003's layout, DR, with short delays so a failure shows within
 * seconds): wlc without persistence, so one client's connections spread over both servers.
 */
export function labVirtualServer(vip: string): string {
  const rs = LAB_REAL_SERVERS.map((r) =>
    [`    real_server ${r.ipv4} 80 {`, `        weight 3`, `        TCP_CHECK {`, `            connect_timeout 1`, `            retry 1`, `            delay_before_retry 1`, `        }`, `    }`].join('\n'),
  );
  return [`virtual_server ${vip} 80 {`, `    delay_loop 2`, `    lb_algo wlc`, `    lb_kind DR`, `    protocol TCP`, ...rs, `}`, ``].join('\n');
}

/**
 * The LVS part of `keepwatch lab --lvs`: the real servers' web servers, a client requesting the
 * VIP five times a second (the last answers show where traffic goes), and what each director's
 * agent says about the real servers (/v1/lvs).
 */
export class LvsLab {
  private readonly web = new Map<string, ChildProcess>();
  private loop: ChildProcess | undefined;
  /** The last answers (a real server's name, or `failed`), newest last. */
  readonly recent: string[] = [];
  answered = 0;
  failed = 0;

  constructor(
    private readonly net: NetnsLab,
    private readonly vip: string,
  ) {
    for (const r of LAB_REAL_SERVERS) setupDrRealServer(net, r.name, [vip]);
  }

  start(): void {
    for (const r of LAB_REAL_SERVERS) this.startWeb(r.name);
    this.loop = this.net.spawn('client', 'sh', ['-c', `while true; do curl -s --max-time 0.5 http://${this.vip}/ || echo failed; sleep 0.2; done`]);
    let buf = '';
    this.loop.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines.map((x) => x.trim()).filter(Boolean)) {
        if (l === 'failed') this.failed++;
        else this.answered++;
        this.recent.push(l);
        if (this.recent.length > 20) this.recent.shift();
      }
    });
  }

  webRunning(host: string): boolean {
    const p = this.web.get(host);
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  startWeb(host: string): void {
    if (!this.webRunning(host)) this.web.set(host, startWebServer(this.net, host));
  }

  stopWeb(host: string): void {
    this.web.get(host)?.kill('SIGKILL');
  }

  toggleWeb(host: string): string {
    if (this.webRunning(host)) {
      this.stopWeb(host);
      return `web server on ${host} killed`;
    }
    this.startWeb(host);
    return `web server on ${host} started`;
  }

  /** Who answered the last `n` requests: `rs1 7, rs2 3`. */
  lastAnswers(n = 10): string {
    const counts = new Map<string, number>();
    for (const a of this.recent.slice(-n)) counts.set(a, (counts.get(a) ?? 0) + 1);
    return [...counts].sort().map(([k, v]) => `${k} ${v}`).join(', ') || 'none yet';
  }

  /** A director's view of the real servers (its agent's /v1/lvs): `rs1 UP w3, rs2 DOWN`. */
  directorView(host: string): string {
    const r = this.net.exec(host, 'curl', ['-s', '--max-time', '1', 'http://127.0.0.1:11200/v1/lvs']);
    try {
      const v = JSON.parse(r.stdout) as { dataPlane: string; virtualServers: { realServers: { realServer: string; up: boolean; weight: number }[] }[] };
      const name = (rs: string) => LAB_REAL_SERVERS.find((x) => rs.startsWith(`${x.ipv4}:`))?.name ?? rs;
      return `${v.dataPlane}: ${v.virtualServers.flatMap((vs) => vs.realServers.map((x) => `${name(x.realServer)} ${x.up ? `UP w${x.weight}` : 'DOWN'}`)).join(', ')}`;
    } catch {
      return 'no answer';
    }
  }

  /** Whether the director's table holds exactly these real servers (by lab name). */
  directorHas(host: string, names: readonly string[]): boolean {
    const view = this.directorView(host);
    return LAB_REAL_SERVERS.every((x) => view.includes(`${x.name} ${names.includes(x.name) ? 'UP' : 'DOWN'}`));
  }

  statusLines(routers: readonly string[]): string[] {
    const lines = [`  real servers: ${LAB_REAL_SERVERS.map((r) => `${r.name} ${r.ipv4} web ${this.webRunning(r.name) ? 'running' : 'STOPPED'}`).join(', ')} (VIP on lo, arp_ignore 1, arp_announce 2)`];
    for (const h of routers) lines.push(`  ${h} LVS table (${this.directorView(h)})`);
    lines.push(`  client → http://${this.vip}/: last 10 answers ${this.lastAnswers()}; total ok ${this.answered}, failed ${this.failed}`);
    return lines;
  }
}
