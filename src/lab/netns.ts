/**
 * A small Ethernet LAN built from network namespaces: one "switch" namespace with a bridge, and
 * one namespace per host, each with an `eth0` veth plugged into the bridge. Used by
 * `keepwatch lab` and the network tests. Everything it makes carries a prefix with the owner's
 * PID, so a later run can remove what a crashed run left behind (and only that).
 *
 * Traffic stays inside these namespaces: no address outside them is ever used.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface HostSpec {
  readonly name: string;
  readonly ipv4: string;
  /** Prefix length of the LAN, default 24. */
  readonly prefixLength?: number;
  readonly ipv6?: string;
}

export interface LabHost extends HostSpec {
  readonly ns: string;
  readonly iface: 'eth0';
  readonly mac: string;
}

export interface ExecResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Namespace prefixes: `kw<tag><pid>-`; the tag tells lab and test runs apart. */
const PREFIX_RE = /^kw([a-z]+)(\d+)-/;

function run(cmd: string, args: readonly string[], input?: string): ExecResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 20_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

function must(cmd: string, args: readonly string[]): string {
  const r = run(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function listNamespaces(): string[] {
  const r = run('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!.trim())
    .filter(Boolean);
}

/** Deletes namespaces left by runs (of this tag) whose process is gone. Returns what it removed. */
export function cleanupStale(tag: string): string[] {
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    const m = PREFIX_RE.exec(ns);
    if (!m || m[1] !== tag || pidAlive(Number(m[2]))) continue;
    killNamespaceProcesses(ns);
    if (run('ip', ['netns', 'del', ns]).status === 0) removed.push(ns);
    rmSync(join('/etc/netns', ns), { recursive: true, force: true });
  }
  return removed;
}

/** Kills what runs inside a namespace we made (only used for namespaces of dead runs). */
function killNamespaceProcesses(ns: string): void {
  const pids = run('ip', ['netns', 'pids', ns]).stdout.split('\n').map(Number).filter((p) => p > 1);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

export class NetnsLab {
  readonly hosts = new Map<string, LabHost>();
  readonly switchNs: string;
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  private constructor(readonly prefix: string) {
    this.switchNs = `${prefix}sw`;
  }

  /**
   * Builds the LAN. `tag` names the kind of run (`lab`, `test`); the prefix adds the PID and a
   * counter, so several labs of one process never collide.
   */
  static create(tag: string, hosts: readonly HostSpec[], opts: { unique?: string } = {}): NetnsLab {
    const lab = new NetnsLab(`kw${tag}${process.pid}-${opts.unique ?? ''}`);
    try {
      lab.build(hosts);
    } catch (err) {
      lab.destroy();
      throw err;
    }
    return lab;
  }

  private build(hosts: readonly HostSpec[]): void {
    must('ip', ['netns', 'add', this.switchNs]);
    must('ip', ['-n', this.switchNs, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    // No multicast snooping: VRRP multicast must reach every port at once.
    must('ip', ['-n', this.switchNs, 'link', 'set', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    must('ip', ['-n', this.switchNs, 'link', 'set', 'br0', 'up']);
    must('ip', ['-n', this.switchNs, 'link', 'set', 'lo', 'up']);
    hosts.forEach((h, i) => {
      const ns = `${this.prefix}${h.name}`;
      const mac = `02:4b:57:00:00:${(i + 1).toString(16).padStart(2, '0')}`;
      const port = `p${i}`;
      must('ip', ['netns', 'add', ns]);
      must('ip', ['link', 'add', 'eth0', 'netns', ns, 'address', mac, 'type', 'veth', 'peer', 'name', port, 'netns', this.switchNs]);
      must('ip', ['-n', this.switchNs, 'link', 'set', port, 'master', 'br0']);
      must('ip', ['-n', this.switchNs, 'link', 'set', port, 'up']);
      must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      must('ip', ['-n', ns, 'addr', 'add', `${h.ipv4}/${h.prefixLength ?? 24}`, 'dev', 'eth0']);
      if (h.ipv6) {
        must('ip', ['-n', ns, 'addr', 'add', `${h.ipv6}/64`, 'dev', 'eth0', 'nodad']);
        // The link-local address (VRRPv3 adverts and neighbour solicitations come from it) is
        // usable at link up, not after a second of duplicate address detection.
        must('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.eth0.accept_dad=0']);
      }
      // Let gratuitous ARP create neighbour entries too (RFC 5227 §3 announcements).
      must('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_accept=1', 'net.ipv4.conf.eth0.arp_accept=1']);
      must('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      this.hosts.set(h.name, { ...h, ns, iface: 'eth0', mac });
    });
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name} in ${this.prefix}`);
    return h;
  }

  exec(host: string, cmd: string, args: readonly string[] = [], input?: string): ExecResult {
    return run('ip', ['netns', 'exec', this.host(host).ns, cmd, ...args], input);
  }

  /** Starts a process in a host's namespace; it is killed (by PID) on destroy(). */
  spawn(host: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.host(host).ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  setLink(host: string, up: boolean): void {
    must('ip', ['-n', this.host(host).ns, 'link', 'set', 'eth0', up ? 'up' : 'down']);
  }

  /**
   * Drops VRRP (IP protocol 112) between all hosts on the bridge, as a firewall would — ARP,
   * ICMP and the agents' HTTP still pass. An nft table in the switch namespace (gone with it).
   */
  setVrrpCut(cut: boolean): void {
    this.bridgeDrop('kwcut', cut ? ['ether', 'type', 'ip', 'ip', 'protocol', '112'] : undefined);
  }

  /**
   * Drops ARP frames from host `from` to host `to` on the bridge (`to` stops hearing `from`'s ARP
   * replies: to it, `from` is unreachable), or lifts that. Its own nft table in the switch namespace.
   */
  setArpCut(from: string, to: string, cut: boolean): void {
    this.bridgeDrop('kwarpcut', cut ? ['ether', 'saddr', this.host(from).mac, 'ether', 'type', 'arp', 'ether', 'daddr', this.host(to).mac] : undefined);
  }

  /** (Re)creates bridge table `table` dropping forwarded frames that match `match`; none: no table. */
  private bridgeDrop(table: string, match: readonly string[] | undefined): void {
    const nft = (...args: string[]) => run('ip', ['netns', 'exec', this.switchNs, 'nft', ...args]);
    nft('delete', 'table', 'bridge', table);
    if (!match) return;
    for (const cmd of [
      ['add', 'table', 'bridge', table],
      ['add', 'chain', 'bridge', table, 'cut', '{ type filter hook forward priority 0; policy accept; }'],
      ['add', 'rule', 'bridge', table, 'cut', ...match, 'counter', 'drop'],
    ]) {
      const r = nft(...cmd);
      if (r.status !== 0) throw new Error(`nft ${cmd.join(' ')} failed: ${r.stderr.trim()}`);
    }
  }

  /**
   * Writes a file that processes in the host's namespace see under /etc (`ip netns exec` bind
   * mounts /etc/netns/NS/X over /etc/X; the top directory, e.g. /etc/keepalived, must exist on the
   * machine). Lets a keepalived.conf with `/etc/keepalived/check.sh` run unchanged.
   */
  writeEtc(host: string, path: string, content: string, mode = 0o755): string {
    const file = join('/etc/netns', this.host(host).ns, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content, { mode });
    chmodSync(file, mode);
    return file;
  }

  /** IPv4/IPv6 addresses on a host's eth0. */
  addresses(host: string): string[] {
    const r = run('ip', ['-n', this.host(host).ns, '-j', 'addr', 'show', 'dev', 'eth0']);
    if (r.status !== 0) return [];
    const parsed = JSON.parse(r.stdout || '[]') as { addr_info?: { local: string }[] }[];
    return parsed.flatMap((l) => (l.addr_info ?? []).map((a) => a.local));
  }

  /** Which hosts hold an address right now. */
  holders(address: string): string[] {
    return [...this.hosts.keys()].filter((h) => this.addresses(h).includes(address));
  }

  /** The MAC a host's neighbour table has for an address (any state but FAILED/INCOMPLETE). */
  neighbour(host: string, address: string): string | undefined {
    const r = run('ip', ['-n', this.host(host).ns, '-j', 'neigh', 'show', 'to', address]);
    if (r.status !== 0) return undefined;
    const parsed = JSON.parse(r.stdout || '[]') as { lladdr?: string; state?: string[] }[];
    const e = parsed.find((n) => n.lladdr && !(n.state ?? []).some((s) => s === 'FAILED' || s === 'INCOMPLETE'));
    return e?.lladdr;
  }

  /** The name of the host owning a MAC. */
  hostByMac(mac: string | undefined): string | undefined {
    return [...this.hosts.values()].find((h) => h.mac === mac?.toLowerCase())?.name;
  }

  /** Kills our children (by PID), then deletes the namespaces. Safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.children) {
      try {
        if (c.pid) process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const ns of [...[...this.hosts.values()].map((h) => h.ns), this.switchNs]) {
      // Processes still inside (an agent's child spawned through `ip netns exec`) are ours.
      killNamespaceProcesses(ns);
      run('ip', ['netns', 'del', ns]);
      rmSync(join('/etc/netns', ns), { recursive: true, force: true });
    }
    // Anything half-built by a failed create().
    for (const ns of listNamespaces()) if (ns.startsWith(this.prefix)) run('ip', ['netns', 'del', ns]);
  }
}
