/**
 * IPv6 in the network tests: hosts with addresses in fd00:251::/64 (the lab adds them with nodad
 * and skips DAD on the link-local ones), the VRRPv3 IPv6 VIP, and a watch on the client's
 * neighbour table (`ip -ts monitor neigh`) that says when its entry for the VIP changed to a MAC —
 * the kernel's own timestamp, so a figure does not depend on how often a test polls.
 */
import type { ChildProcess } from 'node:child_process';
import type { HostSpec } from '../../src/lab/netns.js';
import type { InstanceSpec } from '../../src/lab/routers.js';
import { HOSTS, type NetEnv } from './helpers.js';

export const VIP6 = 'fd00:251::100';
const IPV6_OF: Readonly<Record<string, string>> = { r1: 'fd00:251::1', r2: 'fd00:251::2', client: 'fd00:251::10' };
export const HOSTS6: HostSpec[] = HOSTS.map((h) => ({ ...h, ipv6: IPV6_OF[h.name]! }));

/** VRRPv3 at 0.1 s with the IPv6 VIP (IPv6 needs VRRPv3). */
export function fastInstance6(priority: number, extra: Partial<InstanceSpec> = {}): InstanceSpec {
  return { priority, version: 3, advertInt: 0.1, vips: [`${VIP6}/64`], garpMasterDelay: 1, garpMasterRepeat: 2, ...extra };
}

/** A host's IPv6 link-local address on eth0 (the source of its VRRPv3 adverts). */
export function linkLocal(env: NetEnv, host: string): string {
  const out = env.lab.exec(host, 'ip', ['-j', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link']).stdout;
  // iproute2 leaves an empty object where it filtered an address out.
  const parsed = JSON.parse(out || '[]') as { addr_info?: { local?: string }[] }[];
  const a = parsed[0]?.addr_info?.find((i) => i.local?.startsWith('fe80:'))?.local;
  if (!a) throw new Error(`no link-local address on ${host}`);
  return a;
}

/** The client pings the VIP once: its neighbour entry exists from then on (NAs only update entries). */
export function pingVip6(env: NetEnv): void {
  env.lab.exec('client', 'ping', ['-c', '1', '-W', '1', VIP6]);
}

export interface NeighbourEvent {
  /** Wall-clock ms (the kernel event as `ip -ts` stamps it). */
  readonly atMs: number;
  readonly mac: string | undefined;
  readonly line: string;
}

/** `ip -ts -6 monitor neigh` in the client namespace, kept to the lines for one address. */
export class NeighbourWatch {
  readonly events: NeighbourEvent[] = [];
  private constructor(private readonly proc: ChildProcess) {}

  static start(env: NetEnv, address: string, host = 'client'): NeighbourWatch {
    const proc = env.lab.spawn(host, 'ip', ['-ts', '-6', 'monitor', 'neigh']);
    const w = new NeighbourWatch(proc);
    let rest = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        // [2026-11-30T15:53:37.261864] fd00:251::100 dev eth0 lladdr 02:4b:57:00:00:02 STALE
        const m = /^\[([\d-]+T[\d:.]+)\]\s+(?:Deleted\s+|Miss\s+)?(\S+)\s/.exec(line);
        if (!m || m[2] !== address) continue;
        // `ip -ts` prints local time with microseconds, no zone: JavaScript reads such a date as
        // local time too (to the millisecond; the microseconds are added).
        const micros = Number(m[1]!.slice(23, 26).padEnd(3, '0'));
        w.events.push({ atMs: new Date(m[1]!.slice(0, 23)).getTime() + micros / 1000, mac: /lladdr\s+(\S+)/.exec(line)?.[1]?.toLowerCase(), line });
      }
    });
    return w;
  }

  /** When the entry first pointed at `mac` at or after `sinceMs`; undefined if it has not. */
  changedTo(mac: string, sinceMs: number): number | undefined {
    return this.events.find((e) => e.atMs >= sinceMs && e.mac === mac.toLowerCase())?.atMs;
  }

  stop(): void {
    this.proc.kill('SIGTERM');
  }
}

/**
 * The VRRP adverts the client sees (`tcpdump -l -tt -e`, kernel capture times): where a takeover
 * shows on the wire — the new master's first advert — on the same clock as NeighbourWatch.
 */
export class AdvertWatch {
  readonly adverts: { readonly atMs: number; readonly mac: string; readonly priority: number }[] = [];
  private constructor(private readonly proc: ChildProcess) {}

  static start(env: NetEnv, host = 'client'): AdvertWatch {
    const proc = env.lab.spawn(host, 'tcpdump', ['-l', '-n', '-tt', '-e', '-i', 'eth0', '--immediate-mode', 'ip6 proto 112']);
    const w = new AdvertWatch(proc);
    let rest = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        // 1796054386.929926 02:4b:57:00:00:02 > 33:33:00:00:00:12, ethertype IPv6 ..., prio 100, intvl 10cs, length 24
        const m = /^(\d+)\.(\d{6}) (\S+) > .*VRRPv3, Advertisement, vrid \d+, prio (\d+)/.exec(line);
        if (m) w.adverts.push({ atMs: Number(m[1]) * 1000 + Number(m[2]) / 1000, mac: m[3]!.toLowerCase(), priority: Number(m[4]) });
      }
    });
    return w;
  }

  /** The first advert (priority > 0) from `mac` at or after `sinceMs`: its takeover on the wire. */
  takeoverOf(mac: string, sinceMs: number): number | undefined {
    return this.adverts.find((a) => a.atMs >= sinceMs && a.mac === mac.toLowerCase() && a.priority > 0)?.atMs;
  }

  stop(): void {
    this.proc.kill('SIGTERM');
  }
}
