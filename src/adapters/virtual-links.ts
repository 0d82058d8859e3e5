/**
 * The links of use_vmac / use_ipvlan, made with rtnetlink (`netlink`) and set up through
 * /proc/sys as keepalived 2.2.7 sets them up (keepalived/vrrp/vrrp_vmac.c netlink_link_add_vmac,
 * netlink_link_add_ipvlan, netlink_link_del_vmac; vrrp_if_config.c): a macvlan in private mode
 * with its MAC, or an L2 ipvlan, on the base's link and group; then its kernel settings, IPv6 on
 * or off and never an address made from its MAC, up (and all-multicast: a macvlan or ipvlan only
 * passes the multicast its own list asks for, and the capture joins no group), then its
 * addresses. Every link made or reused carries the alias `keepwatch OWNER INSTANCE`: that is how
 * a later start (after a crash) or a reload knows it, and a link without it is never changed or
 * removed. The decisions are link-messages.ts `planLinks`; this file only carries them out.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { formatMac, parseIp, parseMac } from '../protocol/inet.js';
import type { VirtualLinkChange, VirtualLinkProblem, VirtualLinkSpec, VirtualLinks } from '../ports/index.js';
import { HostError, describe, isPermissionError, privilegeError } from './errors.js';
import { addrGenModeNone, linkInfo, ownerAlias, parseLinkInfo, planLinks, readU32, u32, type HostLink, type LinkStep } from './link-messages.js';

const require = createRequire(import.meta.url);

/** What a link dump gives (the `netlink` module's LinkMessage, the parts used here). */
export interface LinkMessage {
  data: { index?: number; flags?: Record<string, boolean> };
  attrs: { ifname?: string; address?: Buffer; link?: Buffer; linkinfo?: Buffer; ifalias?: string; group?: number };
}

/** The rtnetlink calls made here (a subset of the `netlink` module's RtNetlinkSocket). */
export interface LinkSocket {
  getLinks(): Promise<LinkMessage[]>;
  getLink(data: object, attrs: object): Promise<LinkMessage[]>;
  newLink(data: object, attrs: object, options?: object): Promise<unknown>;
  delLink(data: object, attrs?: object): Promise<unknown>;
  newAddress(data: object, attrs: object, options?: object): Promise<unknown>;
  socket: { close(): void };
}

/** /proc/sys (injectable for tests): read gives undefined when the file is not there. */
export interface SysctlFiles {
  read(path: string): string | undefined;
  write(path: string, value: string): void;
  /** The interfaces under net/ipv4/conf (all and default left out). */
  ipv4Interfaces(): string[];
}

export const PROC_SYS: SysctlFiles = {
  read(path) {
    try {
      return readFileSync(`/proc/sys/${path}`, 'utf8').trim();
    } catch {
      return undefined;
    }
  },
  write(path, value) {
    writeFileSync(`/proc/sys/${path}`, value);
  },
  ipv4Interfaces() {
    try {
      return readdirSync('/proc/sys/net/ipv4/conf').filter((n) => n !== 'all' && n !== 'default');
    } catch {
      return [];
    }
  },
};

/** nlmsg flags (the `netlink` module takes them as a number). */
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const AF_INET = 2;
const AF_INET6 = 10;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;

/** A name that is safe in a /proc/sys path (the kernel's rule: no '/', not '.' or '..'). */
const pathSafe = (name: string): boolean => name !== '' && name !== '.' && name !== '..' && !name.includes('/') && name !== 'all' && name !== 'default';

/** Saved kernel settings, to put back when the links that needed them are gone. */
interface BaseSettings {
  readonly arpIgnore: string | undefined;
  readonly arpFilter: string | undefined;
  /** The links (of ours) on this base that asked for them. */
  readonly links: Set<string>;
}

/** keepalived's clear_rp_filter / restore_rp_filter: what it changed, to put back. */
interface RpFilterSaved {
  /** net.ipv4.conf.all.rp_filter as found (0: nothing was changed). */
  readonly all: number;
  readonly default?: number;
  /** Interfaces raised to `all`, with their own value. */
  readonly interfaces: ReadonlyMap<string, number>;
}

export class NetlinkVirtualLinks implements VirtualLinks {
  private readonly bases = new Map<string, BaseSettings>();
  private rpFilter: RpFilterSaved | undefined;

  constructor(
    private readonly sock: LinkSocket,
    /** This agent's key in the links' aliases (agent/virtual-links.ts linkOwner). */
    private readonly owner: string,
    private readonly sysctl: SysctlFiles = PROC_SYS,
  ) {}

  static open(owner: string): NetlinkVirtualLinks {
    const nl = require('netlink') as { createRtNetlink(): LinkSocket };
    try {
      return new NetlinkVirtualLinks(nl.createRtNetlink(), owner);
    } catch (err) {
      throw new HostError('netlink', `cannot open rtnetlink: ${describe(err)}`, { cause: err });
    }
  }

  async reconcile(wanted: readonly VirtualLinkSpec[]): Promise<readonly VirtualLinkChange[]> {
    const existing = await this.dump();
    const plan = planLinks(existing, wanted, this.owner);
    if (plan.problems.length > 0) throw new HostError('interface', plan.problems.map((p) => p.message).join('\n'));
    const changes: VirtualLinkChange[] = [];
    const groups = new Map(existing.map((l) => [l.index, l.group ?? 0]));
    for (const step of plan.steps) changes.push(...(await this.carryOut(step, groups)));
    return changes;
  }

  async check(wanted: readonly VirtualLinkSpec[]): Promise<readonly VirtualLinkProblem[]> {
    return planLinks(await this.dump(), wanted, this.owner).problems;
  }

  async removeAll(): Promise<readonly VirtualLinkChange[]> {
    const changes: VirtualLinkChange[] = [];
    for (const l of (await this.dump()).filter((x) => x.alias?.startsWith(`keepwatch ${this.owner} `))) {
      await this.remove(l);
      changes.push({ name: l.name, action: 'removed', detail: 'the agent stops' });
    }
    // Links we set up that are gone already (deleted by someone) still hold their bases' settings.
    for (const [base, s] of this.bases) for (const name of [...s.links]) this.releaseBase(base, name);
    this.restoreRpFilter();
    return changes;
  }

  close(): void {
    try {
      this.sock.socket.close();
    } catch {
      /* best effort */
    }
  }

  private async carryOut(step: LinkStep, groups: ReadonlyMap<number, number>): Promise<VirtualLinkChange[]> {
    switch (step.op) {
      case 'remove':
        await this.remove(step.link);
        return step.why === 'stale' ? [{ name: step.link.name, action: 'removed', detail: `left over (${describeLink(step.link)}); not in the configuration` }] : [];
      case 'keep': {
        await this.setUp(step.spec, step.link.index);
        return [{ name: step.spec.name, action: step.adopted ? 'adopted' : 'kept', detail: `${describeSpec(step.spec)}${step.adopted ? ', left by an earlier run' : ''}` }];
      }
      case 'create': {
        const index = await this.create(step.spec, step.baseIndex, groups.get(step.baseIndex) ?? 0);
        await this.setUp(step.spec, index, false);
        return [{ name: step.spec.name, action: step.replaced ? 'replaced' : 'created', detail: describeSpec(step.spec) }];
      }
    }
  }

  private async dump(): Promise<(HostLink & { group?: number })[]> {
    const msgs = await this.sock.getLinks();
    const out: (HostLink & { group?: number })[] = [];
    for (const m of msgs) {
      const index = m.data.index;
      const name = m.attrs.ifname;
      if (index === undefined || !name) continue;
      const link = m.attrs.link && m.attrs.link.length >= 4 ? readU32(m.attrs.link, 0) : undefined;
      out.push({
        index,
        name,
        ...parseLinkInfo(m.attrs.linkinfo),
        ...(link !== undefined && link !== index ? { baseIndex: link } : {}),
        ...(m.attrs.address?.length === 6 ? { mac: formatMac(m.attrs.address) } : {}),
        ...(m.attrs.ifalias ? { alias: m.attrs.ifalias.replace(/\0+$/, '') } : {}),
        ...(m.attrs.group !== undefined ? { group: m.attrs.group } : {}),
      });
    }
    return out;
  }

  /** RTM_NEWLINK (create, exclusive) on the base, in its group; then the alias that marks it ours. */
  private async create(spec: VirtualLinkSpec, baseIndex: number, group: number): Promise<number> {
    const attrs: Record<string, unknown> = { ifname: spec.name, link: u32(baseIndex), linkinfo: linkInfo(spec), group };
    if (spec.kind === 'macvlan') attrs.address = Buffer.from(parseMac(spec.mac!)!);
    await this.talk(`making ${spec.name}, ${describeSpec(spec)},`, () => this.sock.newLink({}, attrs, { flags: NLM_F_CREATE | NLM_F_EXCL }));
    const made = await this.talk(`finding ${spec.name} after making it`, () => this.sock.getLink({}, { ifname: spec.name }));
    const index = made[0]?.data.index;
    if (index === undefined) throw new HostError('netlink', `${spec.name} was made but the kernel does not list it`);
    await this.talk(`marking ${spec.name} as keepwatch's`, () => this.sock.newLink({ index }, { ifalias: ownerAlias(this.owner, spec.instance) }));
    return index;
  }

  /**
   * keepalived's order: the kernel settings, IPv6 on or off and its address generation mode, up
   * (with all-multicast), then the addresses. The alias is (re)set on a link reused (`mark`): a
   * leftover is ours from now on.
   */
  private async setUp(spec: VirtualLinkSpec, index: number, mark = true): Promise<void> {
    if (mark) await this.talk(`marking ${spec.name} as keepwatch's`, () => this.sock.newLink({ index }, { ifalias: ownerAlias(this.owner, spec.instance) }));
    this.applySysctls(spec);
    if (pathSafe(spec.name)) this.trySysctl(`net/ipv6/conf/${spec.name}/disable_ipv6`, spec.ipv6 ? '0' : '1');
    try {
      await this.sock.newLink({ index }, { afSpec: addrGenModeNone() });
    } catch (err) {
      // No IPv6 on this host or link: nothing to generate an address either.
      if (spec.ipv6) throw new HostError('netlink', `setting IPv6 address generation off on ${spec.name} failed: ${describe(err)}`, { cause: err });
    }
    await this.talk(`bringing ${spec.name} up`, () => this.sock.newLink({ index, flags: { up: true, allmulti: true }, change: { up: true, allmulti: true } }, {}));
    for (const a of spec.addresses) {
      const ip = parseIp(a.address);
      if (!ip) continue;
      const bytes = Buffer.from(ip.bytes);
      const v4 = ip.family === 'ipv4';
      const linkLocal = !v4 && ip.bytes[0] === 0xfe && (ip.bytes[1]! & 0xc0) === 0x80;
      const data = { family: v4 ? AF_INET : AF_INET6, prefixlen: a.prefixLength, index, scope: linkLocal ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE, ...(v4 ? {} : { flags: { nodad: true } }) };
      try {
        await this.sock.newAddress(data, v4 ? { local: bytes, address: bytes } : { address: bytes }, { flags: NLM_F_CREATE | NLM_F_EXCL });
      } catch (err) {
        if (!/EEXIST/.test(describe(err))) throw this.hostError(`adding ${a.address}/${a.prefixLength} to ${spec.name}`, err);
      }
    }
  }

  private async remove(l: HostLink): Promise<void> {
    try {
      await this.sock.delLink({ index: l.index });
    } catch (err) {
      if (!/ENODEV|No such device/i.test(describe(err))) throw this.hostError(`removing ${l.name}`, err);
    }
    for (const base of [...this.bases.keys()]) this.releaseBase(base, l.name);
  }

  // --- kernel settings (keepalived/vrrp/vrrp_if_config.c) ----------------------------------

  private applySysctls(spec: VirtualLinkSpec): void {
    if (spec.sysctls === 'none' || !pathSafe(spec.name)) return;
    const conf = (iface: string, key: string) => `net/ipv4/conf/${iface}/${key}`;
    if (spec.sysctls === 'ipv6') {
      // keepalived after 2.2.7: an IPv6 VMAC answers no ARP for the interface's addresses.
      this.trySysctl(conf(spec.name, 'arp_ignore'), '1');
      return;
    }
    this.clearRpFilter();
    for (const [key, value] of [['arp_ignore', '1'], ['accept_local', '1'], ['rp_filter', '0'], ['promote_secondaries', '1']] as const) {
      this.trySysctl(conf(spec.name, key), value);
    }
    if (!pathSafe(spec.base)) return;
    const held = this.bases.get(spec.base);
    if (held) {
      held.links.add(spec.name);
      return;
    }
    // The base answers no ARP for the VIPs (they are on the link) nor for its own addresses from
    // the link (arp_filter): the virtual MAC is the only answer for a VIP.
    const arpIgnore = this.sysctl.read(conf(spec.base, 'arp_ignore'));
    const arpFilter = this.sysctl.read(conf(spec.base, 'arp_filter'));
    if (arpIgnore !== '1') this.trySysctl(conf(spec.base, 'arp_ignore'), '1');
    if (arpFilter !== '1') this.trySysctl(conf(spec.base, 'arp_filter'), '1');
    this.bases.set(spec.base, { arpIgnore, arpFilter, links: new Set([spec.name]) });
  }

  /** The last link of ours on `base` is gone: its arp_ignore / arp_filter go back. */
  private releaseBase(base: string, link: string): void {
    const held = this.bases.get(base);
    if (!held || !held.links.delete(link) || held.links.size > 0) return;
    this.bases.delete(base);
    if (held.arpIgnore !== undefined && held.arpIgnore !== '1') this.trySysctl(`net/ipv4/conf/${base}/arp_ignore`, held.arpIgnore);
    if (held.arpFilter !== undefined && held.arpFilter !== '1') this.trySysctl(`net/ipv4/conf/${base}/arp_filter`, held.arpFilter);
  }

  /**
   * rp_filter 0 on the link only counts with net.ipv4.conf.all.rp_filter 0 (the kernel takes the
   * larger). So, as keepalived: default and every interface are raised to all's value where lower,
   * then all goes to 0 — no interface filters less than before.
   */
  private clearRpFilter(): void {
    if (this.rpFilter) return;
    const all = Number(this.sysctl.read('net/ipv4/conf/all/rp_filter') ?? '0');
    if (!(all > 0)) {
      this.rpFilter = { all: 0, interfaces: new Map() };
      return;
    }
    const def = Number(this.sysctl.read('net/ipv4/conf/default/rp_filter') ?? String(all));
    if (def < all) this.trySysctl('net/ipv4/conf/default/rp_filter', String(all));
    const interfaces = new Map<string, number>();
    for (const name of this.sysctl.ipv4Interfaces()) {
      if (!pathSafe(name)) continue;
      const v = Number(this.sysctl.read(`net/ipv4/conf/${name}/rp_filter`));
      if (Number.isInteger(v) && v < all) {
        this.trySysctl(`net/ipv4/conf/${name}/rp_filter`, String(all));
        interfaces.set(name, v);
      }
    }
    this.trySysctl('net/ipv4/conf/all/rp_filter', '0');
    this.rpFilter = { all, ...(def < all ? { default: def } : {}), interfaces };
  }

  /** keepalived's restore_rp_filter: each value back, where it is still what we set. */
  private restoreRpFilter(): void {
    const saved = this.rpFilter;
    this.rpFilter = undefined;
    if (!saved || saved.all === 0) return;
    const all = String(saved.all);
    if (this.sysctl.read('net/ipv4/conf/all/rp_filter') === '0') this.trySysctl('net/ipv4/conf/all/rp_filter', all);
    if (saved.default !== undefined && this.sysctl.read('net/ipv4/conf/default/rp_filter') === all) this.trySysctl('net/ipv4/conf/default/rp_filter', String(saved.default));
    for (const [name, v] of saved.interfaces) {
      if (this.sysctl.read(`net/ipv4/conf/${name}/rp_filter`) === all) this.trySysctl(`net/ipv4/conf/${name}/rp_filter`, String(v));
    }
  }

  /** A setting that can't be written (no IPv6, a read-only /proc/sys) is not fatal: keepalived goes on too. */
  private trySysctl(path: string, value: string): void {
    try {
      this.sysctl.write(path, value);
    } catch {
      /* keepalived logs and goes on */
    }
  }

  private async talk<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.hostError(what, err);
    }
  }

  private hostError(what: string, err: unknown): HostError {
    if (isPermissionError(err)) return privilegeError('CAP_NET_ADMIN', what, err);
    const m = describe(err);
    if (/EOPNOTSUPP|Unknown device type|not supported/i.test(m)) return new HostError('interface', `${what} failed: this kernel cannot make that kind of link (${m})`, { cause: err });
    if (/EADDRINUSE|Address already in use/i.test(m)) return new HostError('interface', `${what} failed: another link on the same interface has that MAC (${m})`, { cause: err });
    return new HostError('netlink', `${what} failed: ${m}`, { cause: err });
  }
}

function describeSpec(s: VirtualLinkSpec): string {
  return s.kind === 'macvlan' ? `a private macvlan on ${s.base} with MAC ${s.mac} for vrrp_instance ${s.instance}` : `an L2 ipvlan (${s.ipvlanMode ?? 'bridge'}) on ${s.base} for vrrp_instance ${s.instance}`;
}

function describeLink(l: HostLink): string {
  return `${l.kind ?? 'link'}${l.mac ? ` ${l.mac}` : ''}${l.alias ? `, alias '${l.alias}'` : ''}`;
}
