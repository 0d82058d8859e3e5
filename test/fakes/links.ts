/**
 * An in-memory kernel for the use_vmac / use_ipvlan links (src/adapters/virtual-links.ts): the
 * rtnetlink calls it makes (links made, found, changed, removed; addresses added) and /proc/sys.
 * Links are kept as the kernel would list them in a dump, with IFLA_LINKINFO as bytes, so the
 * adapter's parsing runs too. Refusals can be scripted (a kind the kernel lacks, a MAC in use).
 */
import type { LinkMessage, LinkSocket, SysctlFiles } from '../../src/adapters/virtual-links.js';
import { parseLinkInfo, readU32 } from '../../src/adapters/link-messages.js';
import { formatMac } from '../../src/protocol/inet.js';

export interface FakeLink {
  index: number;
  name: string;
  mac?: string;
  /** IFLA_LINK. */
  link?: number;
  linkinfo?: Buffer;
  alias?: string;
  group: number;
  up: boolean;
  allmulti: boolean;
  /** IFLA_AF_SPEC sent to it (address generation mode). */
  afSpec?: Map<number, Buffer>;
  addresses: { address: Buffer; prefixlen: number; scope?: number; nodad: boolean }[];
}

export class FakeLinkKernel implements LinkSocket, SysctlFiles {
  readonly links = new Map<number, FakeLink>();
  readonly sysctls = new Map<string, string>();
  /** Every request, in order: `new NAME`, `set NAME`, `del NAME`, `addr NAME ADDRESS`. */
  readonly log: string[] = [];
  /** Kinds the kernel can't make (`Unknown device type`). */
  readonly unsupported = new Set<string>();
  private nextIndex = 1;
  closed = false;
  readonly socket = { close: () => void (this.closed = true) };

  /** A link that exists before the agent (a physical interface, a leftover). */
  addLink(l: Partial<FakeLink> & { name: string }): FakeLink {
    const link: FakeLink = { index: this.nextIndex++, group: 0, up: true, allmulti: false, addresses: [], ...l };
    this.links.set(link.index, link);
    for (const key of ['arp_ignore', 'arp_filter', 'rp_filter', 'accept_local', 'promote_secondaries']) {
      if (!this.sysctls.has(`net/ipv4/conf/${l.name}/${key}`)) this.sysctls.set(`net/ipv4/conf/${l.name}/${key}`, '0');
    }
    this.sysctls.set(`net/ipv6/conf/${l.name}/disable_ipv6`, '0');
    return link;
  }

  byName(name: string): FakeLink | undefined {
    return [...this.links.values()].find((l) => l.name === name);
  }

  kindOf(name: string): string | undefined {
    return parseLinkInfo(this.byName(name)?.linkinfo).kind;
  }

  private message(l: FakeLink): LinkMessage {
    return {
      data: { index: l.index, flags: { up: l.up, running: l.up, allmulti: l.allmulti } },
      attrs: {
        ifname: l.name,
        ...(l.mac ? { address: Buffer.from(l.mac.split(':').map((h) => parseInt(h, 16))) } : {}),
        ...(l.link !== undefined ? { link: Buffer.from(new Uint32Array([l.link]).buffer) } : {}),
        ...(l.linkinfo ? { linkinfo: l.linkinfo } : {}),
        ...(l.alias !== undefined ? { ifalias: l.alias } : {}),
        group: l.group,
      },
    };
  }

  async getLinks(): Promise<LinkMessage[]> {
    return [...this.links.values()].map((l) => this.message(l));
  }

  async getLink(_data: object, attrs: { ifname?: string }): Promise<LinkMessage[]> {
    const l = attrs.ifname ? this.byName(attrs.ifname) : undefined;
    if (!l) throw new Error('Request rejected: ENODEV');
    return [this.message(l)];
  }

  async newLink(data: { index?: number; flags?: Record<string, boolean>; change?: Record<string, boolean> }, attrs: Record<string, unknown>, options?: { flags?: number }): Promise<unknown> {
    if (data.index) {
      const l = this.links.get(data.index);
      if (!l) throw new Error('Request rejected: ENODEV');
      this.log.push(`set ${l.name}${attrs.ifalias !== undefined ? ' alias' : ''}${attrs.afSpec ? ' afspec' : ''}${data.change?.up ? ' up' : ''}`);
      if (typeof attrs.ifalias === 'string') l.alias = attrs.ifalias.replace(/\0+$/, '');
      if (attrs.afSpec) l.afSpec = attrs.afSpec as Map<number, Buffer>;
      if (data.change?.up) l.up = !!data.flags?.up;
      if (data.change?.allmulti) l.allmulti = !!data.flags?.allmulti;
      return [];
    }
    const name = attrs.ifname as string;
    if (!((options?.flags ?? 0) & 0x400)) throw new Error('Request rejected: ENODEV');
    if (this.byName(name)) throw new Error('Request rejected: EEXIST');
    const linkinfo = attrs.linkinfo as Buffer;
    const kind = parseLinkInfo(linkinfo).kind!;
    if (this.unsupported.has(kind)) throw new Error('Request rejected: EOPNOTSUPP');
    const base = readU32(attrs.link as Buffer, 0);
    if (!this.links.has(base)) throw new Error('Request rejected: ENODEV');
    const mac = attrs.address ? formatMac(attrs.address as Buffer) : this.links.get(base)!.mac;
    this.log.push(`new ${name}`);
    this.addLink({ name, mac, link: base, linkinfo, group: (attrs.group as number) ?? 0, up: false });
    return [];
  }

  async delLink(data: { index?: number }): Promise<unknown> {
    const l = data.index !== undefined ? this.links.get(data.index) : undefined;
    if (!l) throw new Error('Request rejected: ENODEV');
    this.log.push(`del ${l.name}`);
    this.links.delete(l.index);
    for (const k of [...this.sysctls.keys()]) if (k.includes(`/conf/${l.name}/`)) this.sysctls.delete(k);
    return [];
  }

  async newAddress(data: { index: number; prefixlen: number; scope?: number; flags?: { nodad?: boolean } }, attrs: { address: Buffer }): Promise<unknown> {
    const l = this.links.get(data.index);
    if (!l) throw new Error('Request rejected: ENODEV');
    if (l.addresses.some((a) => a.address.equals(attrs.address))) throw new Error('Request rejected: EEXIST');
    this.log.push(`addr ${l.name}`);
    l.addresses.push({ address: attrs.address, prefixlen: data.prefixlen, ...(data.scope !== undefined ? { scope: data.scope } : {}), nodad: !!data.flags?.nodad });
    return [];
  }

  // --- /proc/sys ----------------------------------------------------------------------------

  read(path: string): string | undefined {
    return this.sysctls.get(path);
  }

  write(path: string, value: string): void {
    if (!this.sysctls.has(path) && !/\/(all|default)\//.test(path)) throw new Error(`ENOENT: ${path}`);
    this.sysctls.set(path, value);
  }

  ipv4Interfaces(): string[] {
    return [...this.links.values()].map((l) => l.name);
  }
}
