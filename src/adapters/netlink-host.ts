/**
 * The host's interfaces and addresses through rtnetlink (`netlink`): a cache of links and
 * addresses kept current by the kernel's multicast notifications, VIP add/remove (idempotent:
 * EEXIST and EADDRNOTAVAIL count as done), and the events the agent acts on: a link going down
 * or up, and a VIP we hold being removed by someone else (put back, and reported).
 *
 * rtnetlink messages are `{ data, attrs }`: a link's index is `link.data.index`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { formatIp, formatMac, parseIp, type IpFamily } from '../protocol/inet.js';
import type { AddressManager, InterfaceInfo, VipAssignment } from '../ports/index.js';
import { HostError, isPermissionError, privilegeError, describe } from './errors.js';

const require = createRequire(import.meta.url);

interface NlMessage {
  kind: string;
  data: { family?: number; prefixlen?: number; index?: number; scope?: number; flags?: Record<string, boolean> };
  attrs: { ifname?: string; address?: Buffer; local?: Buffer; label?: string; operstate?: number };
}
/** Netlink request flags (linux/netlink.h): the module takes the number, not an object. */
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;

interface RtSocket {
  getLinks(): Promise<NlMessage[]>;
  getAddresses(): Promise<NlMessage[]>;
  newAddress(data: object, attrs: object, options?: object): Promise<unknown>;
  delAddress(data: object, attrs: object, options?: object): Promise<unknown>;
  addMembership(group: string): void;
  socket: { on(event: 'message', fn: (msgs: { type: number; data: Buffer }[]) => void): void; close(): void; setRecvBufferSize(size: number): void };
  on(event: 'invalid', fn: (err: unknown) => void): void;
}
interface NetlinkModule {
  createRtNetlink(): RtSocket;
  rt: { parseMessage(type: number, data: Buffer): NlMessage };
}

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const AF_INET = 2;
const AF_INET6 = 10;

const SCOPES: Record<string, number> = { global: 0, site: 200, link: 253, host: 254, nowhere: 255 };

interface LinkInfo {
  index: number;
  name: string;
  mac: string | undefined;
  up: boolean;
}

interface AddrInfo {
  family: IpFamily;
  address: string;
  prefixLength: number;
  label?: string;
}

export interface NetlinkEvents {
  /** A link appeared, went up or down, or vanished (`up` false). */
  onLinkChange(name: string, up: boolean): void;
  /** A VIP we hold was removed by someone else and was put back. */
  onVipRepaired(assignment: VipAssignment): void;
  /** Outcome of each add/remove (for spans, metrics and logs). */
  onVipResult(assignment: VipAssignment, action: 'add' | 'remove', error: Error | undefined, durationMs: number): void;
  onError(error: Error): void;
}

function vipKey(iface: string, address: string): string {
  return `${iface}/${address}`;
}

export class NetlinkHost implements InterfaceInfo, AddressManager {
  private readonly links = new Map<number, LinkInfo>();
  private readonly byName = new Map<string, LinkInfo>();
  private readonly addrs = new Map<number, AddrInfo[]>();
  /** VIPs we hold (master): put back when someone removes them. */
  private readonly wanted = new Map<string, VipAssignment>();
  /** Addresses configured as VIPs anywhere: never a source address. */
  private vipAddresses = new Set<string>();

  private constructor(
    private readonly cmd: RtSocket,
    private readonly watch: RtSocket,
    private readonly nl: NetlinkModule,
    private readonly events: NetlinkEvents,
  ) {}

  static async open(events: NetlinkEvents): Promise<NetlinkHost> {
    const nl = require('netlink') as NetlinkModule;
    let cmd: RtSocket;
    let watch: RtSocket;
    try {
      cmd = nl.createRtNetlink();
      watch = nl.createRtNetlink();
      for (const g of ['LINK', 'IPV4_IFADDR', 'IPV6_IFADDR']) watch.addMembership(g);
      // The netlink module aborts the process when this socket's queue overflows (a burst of
      // address or link changes while the loop is busy): give it room (capped by rmem_max).
      try {
        watch.socket.setRecvBufferSize(4 * 1024 * 1024);
      } catch {
        /* the default size still works */
      }
    } catch (err) {
      throw new HostError('netlink', `cannot open rtnetlink: ${describe(err)}`, { cause: err });
    }
    const host = new NetlinkHost(cmd, watch, nl, events);
    watch.socket.on('message', (msgs) => {
      for (const m of msgs) host.onNotification(m.type, m.data);
    });
    watch.on('invalid', (err) => events.onError(new Error(`unparseable rtnetlink message: ${describe(err)}`)));
    await host.refresh();
    return host;
  }

  /** Reloads links and addresses from the kernel. */
  async refresh(): Promise<void> {
    // One dump at a time: concurrent multipart dumps on one socket interleave.
    const links = await this.cmd.getLinks();
    const addrs = await this.cmd.getAddresses();
    this.links.clear();
    this.byName.clear();
    this.addrs.clear();
    for (const l of links) this.updateLink(l, false);
    for (const a of addrs) this.updateAddress(a, true);
  }

  setVipAddresses(addresses: Iterable<string>): void {
    this.vipAddresses = new Set(addresses);
  }

  interfaceExists(name: string): boolean {
    return this.byName.has(name);
  }

  linkUp(name: string): boolean {
    return this.byName.get(name)?.up ?? false;
  }

  /** The interface's index, for requests that name it by index (routes: netlink-routes.ts). */
  ifindex(name: string): number | undefined {
    return this.byName.get(name)?.index;
  }

  mac(iface: string): string | undefined {
    return this.byName.get(iface)?.mac;
  }

  /** keepalived: the first non-VIP IPv4 address of the interface, or its IPv6 link-local one. */
  primaryAddress(iface: string, family: IpFamily): string | undefined {
    const link = this.byName.get(iface);
    if (!link) return undefined;
    for (const a of this.addrs.get(link.index) ?? []) {
      if (a.family !== family || this.vipAddresses.has(a.address)) continue;
      if (family === 'ipv6' && !a.address.startsWith('fe80:')) continue;
      return a.address;
    }
    return undefined;
  }

  /** Interface → [forwarding, when read (ms)]: re-read after 5 s, as keepalived rechecks it. */
  private readonly forwarding = new Map<string, [boolean, number]>();

  /** net.ipv6.conf.IFACE.forwarding (the Router flag of our unsolicited NAs); false if unreadable. */
  ipv6Forwarding(iface: string): boolean {
    const now = performance.now();
    const cached = this.forwarding.get(iface);
    if (cached && now - cached[1] < 5000) return cached[0];
    let on = false;
    // An interface name never holds a '/' (the kernel refuses it), so the path stays in conf/.
    if (!iface.includes('/') && iface !== '.' && iface !== '..') {
      try {
        on = readFileSync(`/proc/sys/net/ipv6/conf/${iface}/forwarding`, 'utf8').trim() !== '0';
      } catch {
        /* no IPv6 on it, or gone: no Router flag */
      }
    }
    if (this.forwarding.size > 1024) this.forwarding.clear();
    this.forwarding.set(iface, [on, now]);
    return on;
  }

  /** Whether the address is on the interface now (the truth for `vip_present`). */
  hasAddress(iface: string, address: string): boolean {
    const link = this.byName.get(iface);
    return !!link && (this.addrs.get(link.index) ?? []).some((a) => a.address === address);
  }

  add(assignment: VipAssignment): void {
    this.wanted.set(vipKey(assignment.interface, assignment.vip.address), assignment);
    void this.apply(assignment, 'add');
  }

  remove(assignment: VipAssignment): void {
    this.wanted.delete(vipKey(assignment.interface, assignment.vip.address));
    void this.apply(assignment, 'remove');
  }

  /** Removes an address whatever holds it (start-up reconciliation). Resolves when done. */
  async removeNow(assignment: VipAssignment): Promise<void> {
    this.wanted.delete(vipKey(assignment.interface, assignment.vip.address));
    await this.apply(assignment, 'remove');
  }

  /** Resolves once every add/remove sent so far has been answered (shutdown waits for it). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  close(): void {
    for (const s of [this.cmd, this.watch]) {
      try {
        s.socket.close();
      } catch {
        /* best effort */
      }
    }
  }

  private readonly inflight = new Set<Promise<void>>();

  private apply(a: VipAssignment, action: 'add' | 'remove'): Promise<void> {
    const p = this.request(a, action).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
    return p;
  }

  private async request(a: VipAssignment, action: 'add' | 'remove'): Promise<void> {
    const started = performance.now();
    const link = this.byName.get(a.interface);
    if (!link) {
      this.events.onVipResult(a, action, new HostError('interface', `interface ${a.interface} does not exist`), 0);
      return;
    }
    const parsed = parseIp(a.vip.address);
    if (!parsed) return;
    const v4 = parsed.family === 'ipv4';
    const bytes = Buffer.from(parsed.bytes);
    const scope = SCOPES[a.vip.scope] ?? (Number.isInteger(Number(a.vip.scope)) ? Number(a.vip.scope) : 0);
    const data = { family: v4 ? AF_INET : AF_INET6, prefixlen: a.vip.prefixLength, index: link.index, scope, ...(v4 ? {} : { flags: { nodad: true } }) };
    const attrs: Record<string, unknown> = v4 ? { local: bytes, address: bytes } : { address: bytes };
    if (action === 'add') {
      if (v4 && a.vip.broadcast) attrs.broadcast = Buffer.from(parseIp(a.vip.broadcast)!.bytes);
      if (v4 && a.vip.label) attrs.label = a.vip.label;
    }
    let error: Error | undefined;
    try {
      if (action === 'add') await this.cmd.newAddress(data, attrs, { flags: NLM_F_CREATE | NLM_F_EXCL });
      else await this.cmd.delAddress(data, attrs);
    } catch (err) {
      const m = describe(err);
      const done = action === 'add' ? /EEXIST/.test(m) : /EADDRNOTAVAIL|ENOENT|ENODEV/.test(m);
      if (!done) {
        error = isPermissionError(err)
          ? privilegeError('CAP_NET_ADMIN', `${action === 'add' ? 'adding' : 'removing'} ${a.vip.address} on ${a.interface}`, err)
          : new HostError('netlink', `${action === 'add' ? 'adding' : 'removing'} ${a.vip.address}/${a.vip.prefixLength} on ${a.interface} failed: ${m}`, { cause: err });
      }
    }
    this.events.onVipResult(a, action, error, performance.now() - started);
  }

  private onNotification(type: number, data: Buffer): void {
    let msg: NlMessage;
    try {
      msg = this.nl.rt.parseMessage(type, data);
    } catch (err) {
      this.events.onError(new Error(`unparseable rtnetlink message type ${type}: ${describe(err)}`));
      return;
    }
    if (type === RTM_NEWLINK) this.updateLink(msg, true);
    else if (type === RTM_DELLINK) this.deleteLink(msg);
    else if (type === RTM_NEWADDR) this.updateAddress(msg, true);
    else if (type === RTM_DELADDR) this.deleteAddress(msg);
  }

  private updateLink(m: NlMessage, notify: boolean): void {
    const index = m.data.index;
    const name = m.attrs.ifname;
    if (index === undefined || !name) return;
    const flags = m.data.flags ?? {};
    const up = !!flags.up && !!flags.running;
    const before = this.links.get(index);
    if (before && before.name !== name) this.byName.delete(before.name);
    const info: LinkInfo = { index, name, mac: m.attrs.address && m.attrs.address.length === 6 ? formatMac(m.attrs.address) : before?.mac, up };
    this.links.set(index, info);
    this.byName.set(name, info);
    if (notify && (!before || before.up !== up || before.name !== name)) this.events.onLinkChange(name, up);
  }

  private deleteLink(m: NlMessage): void {
    const index = m.data.index;
    if (index === undefined) return;
    const before = this.links.get(index);
    this.links.delete(index);
    this.addrs.delete(index);
    if (before) {
      this.byName.delete(before.name);
      this.events.onLinkChange(before.name, false);
    }
  }

  private addrFrom(m: NlMessage): { index: number; info: AddrInfo } | undefined {
    const index = m.data.index;
    const raw = m.attrs.local ?? m.attrs.address;
    if (index === undefined || !raw || (raw.length !== 4 && raw.length !== 16)) return undefined;
    return {
      index,
      info: { family: raw.length === 4 ? 'ipv4' : 'ipv6', address: formatIp(raw), prefixLength: m.data.prefixlen ?? 0, ...(m.attrs.label ? { label: m.attrs.label } : {}) },
    };
  }

  private updateAddress(m: NlMessage, _notify: boolean): void {
    const a = this.addrFrom(m);
    if (!a) return;
    const list = this.addrs.get(a.index) ?? [];
    if (!list.some((x) => x.address === a.info.address)) list.push(a.info);
    this.addrs.set(a.index, list);
  }

  private deleteAddress(m: NlMessage): void {
    const a = this.addrFrom(m);
    if (!a) return;
    const list = (this.addrs.get(a.index) ?? []).filter((x) => x.address !== a.info.address);
    this.addrs.set(a.index, list);
    const link = this.links.get(a.index);
    if (!link) return;
    const want = this.wanted.get(vipKey(link.name, a.info.address));
    if (want && link.up) {
      // Someone removed a VIP we hold as master: put it back and tell the agent.
      void this.apply(want, 'add');
      this.events.onVipRepaired(want);
    }
  }
}
