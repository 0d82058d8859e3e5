/**
 * The links an instance's addresses live on: `use_vmac` (a macvlan in private mode with the
 * virtual router MAC), `use_ipvlan` (an L2 ipvlan), `vmac_xmit_base`, `use_vmac_addr` and a VIP's
 * `use_vmac` (a macvlan for VIPs on another interface or of the other family), and the global
 * `vmac_prefix` / `vmac_addr_prefix` — read as keepalived 2.2.7 reads them
 * (keepalived/vrrp/vrrp_parser.c `vrrp_vmac_handler`, `vrrp_ipvlan_handler`, `dev_name_valid`;
 * keepalived/vrrp/vrrp.c `vrrp_complete_instance`, `create_vmac_name`).
 *
 * Input: the instance's `Section` (pass 1), its interface, VRID, family and VIPs. Output: the
 * `VirtualLinkConfig`s of the model, and the VIPs with `device` set to the link they live on (as
 * keepalived sets `ip_addr->ifp`), so every room that puts a VIP somewhere follows it unchanged.
 * Names are settled across the whole config: written names first (a name used twice is an
 * error), then keepalived's default names in instance order (`vrrp.<vrid>`, else `vrrp1.<vrid>`,
 * ...; IPv6 tries `vrrp6.<vrid>` second). Whether a name is free on the host is the agent's
 * concern at start (agent/virtual-links.ts).
 *
 * Where keepalived refuses a setting and goes on without it, keepwatch reports an error (an
 * unusable MAC or name); where it adjusts one and logs, a warning that says what it does.
 */
import type { AddressFamily, GlobalDefs, SourceLocation, VirtualAddressConfig, VirtualLinkConfig, IpvlanMode } from './model.js';
import { formatLocation, type DiagnosticSink } from './diagnostics.js';
import { FAMILY_NAME, type Section } from './interpret.js';
import type { Statement } from './parser.js';
import { parseAddress, parseWhole } from './schema.js';

/** A `use_vmac` / `use_ipvlan` setting as pass 1 holds it: its words, and the statement (for places). */
interface WordsSetting {
  readonly value: readonly string[];
  readonly stmt: Statement;
}

/** Linux's IFNAMSIZ: an interface name has at most 15 bytes. */
export const IFNAMSIZ = 16;

/** RFC 5798 §7.3: the virtual router MAC, 00-00-5E-00-01-{VRID} (IPv4) / 00-00-5E-00-02-{VRID} (IPv6). */
export function virtualRouterMac(family: AddressFamily, vrid: number): string {
  return `00:00:5e:00:0${family === 'ipv4' ? 1 : 2}:${hex(vrid)}`;
}

const hex = (b: number): string => b.toString(16).padStart(2, '0');

/**
 * A MAC written after `use_vmac`, as keepalived reads it: 6 octets, or 5 (the VRID is the sixth),
 * each one or two hex digits, separated by `:` (a trailing `:` is allowed). Undefined: not a MAC.
 */
export function parseVmacMac(text: string): { readonly octets: readonly number[]; readonly vridLast: boolean } | undefined {
  const m = /^((?:[0-9a-f]{1,2}:){4,5}[0-9a-f]{1,2}):?$/i.exec(text);
  if (!m) return undefined;
  const octets = m[1]!.split(':').map((o) => parseInt(o, 16));
  return { octets, vridLast: octets.length === 5 };
}

/**
 * keepalived's `dev_name_valid` (a copy of the kernel's): not empty, at most 15 bytes, not `.` or
 * `..`, no `/`, `:` or white space.
 */
export function devNameValid(name: string): boolean {
  return name !== '' && Buffer.byteLength(name) < IFNAMSIZ && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

const NAME_RULE = 'at most 15 characters, not . or .., without /, : or white space';

/**
 * keepalived's `create_vmac_name`: `PREFIX.VRID`, else `PREFIXn.VRID` for n = 1, 2, ... (IPv6
 * tries 6 first, then 1, 2, 3, 4, 5, 7, ...), the first one `taken` does not refuse. A prefix too
 * long for IFNAMSIZ is cut so that the name fits.
 */
export function defaultLinkName(prefix: string, vrid: number, family: AddressFamily, taken: (name: string) => boolean): string {
  const make = (n: string): string => {
    const tail = `${n}.${vrid}`;
    const room = IFNAMSIZ - 1 - Buffer.byteLength(tail);
    let p = prefix;
    while (Buffer.byteLength(p) > room) p = p.slice(0, -1);
    return `${p}${tail}`;
  };
  let num = 0;
  // 256 tries: a name per possible VRID and family, and more (a config holds at most a few).
  for (let i = 0; i < 256; i++) {
    const name = make(num === 0 ? '' : String(num));
    if (!taken(name)) return name;
    if (family === 'ipv6') num = num === 0 ? 6 : num === 6 ? 1 : num + 1 === 6 ? 7 : num + 1;
    else num++;
  }
  return make(String(num));
}

/** A name some instance claimed, with where. */
interface Claim {
  readonly instance: string;
  readonly location: SourceLocation;
}

/**
 * The link names of a whole config: the names written with `use_vmac NAME` / `use_ipvlan NAME`
 * (read first, as keepalived's parser has them all before it completes any instance), then the
 * default names given out in instance order, and the macvlans by base and MAC (two VIPs that need
 * the same macvlan share it, as keepalived's `if_get_by_vmac` finds the first).
 */
export class LinkNames {
  /** Written names → who wrote them. */
  private readonly written = new Map<string, Claim>();
  /** Names given out (written ones included) and the interfaces instances are configured on. */
  private readonly used = new Set<string>();
  /** `base|mac` → the macvlan's name. */
  private readonly byBaseMac = new Map<string, { name: string; instance: string }>();

  /**
   * Reads the written names of every instance (in file order). A name written twice is reported
   * at its second place; `interfaces` are the interfaces instances and VIPs are configured on (a
   * default name never takes one).
   */
  static collect(sections: readonly Section[], sink: DiagnosticSink): LinkNames {
    const names = new LinkNames();
    for (const s of sections) {
      const iface = s.val<string>('interface');
      if (iface) names.used.add(iface);
      for (const v of [...s.list<VirtualAddressConfig>('virtual_ipaddress'), ...s.list<VirtualAddressConfig>('virtual_ipaddress_excluded')]) {
        if (v.device) names.used.add(v.device);
      }
    }
    for (const s of sections) {
      for (const kw of ['use_vmac', 'use_ipvlan'] as const) {
        const set = s.get<string[]>(kw);
        if (!set) continue;
        for (const [i, word] of set.value.entries()) {
          if (!isLinkName(kw, word)) continue;
          const loc = set.stmt.args[i]!.location;
          const prev = names.written.get(word);
          if (prev) {
            sink.error(loc, `${kw} name '${word}' is already used by vrrp_instance ${prev.instance} (${formatLocation(prev.location)}); every instance needs a link of its own`);
          } else if (devNameValid(word)) {
            names.written.set(word, { instance: s.name, location: loc });
          }
        }
      }
    }
    for (const n of names.written.keys()) names.used.add(n);
    return names;
  }

  /** Whether `name` was written by `instance` (it may use it). */
  ownsWritten(name: string, instance: string): boolean {
    return this.written.get(name)?.instance === instance;
  }

  /** A new default name (keepalived's `create_vmac_name`), taken from now on. */
  fresh(prefix: string, vrid: number, family: AddressFamily): string {
    const name = defaultLinkName(prefix, vrid, family, (n) => this.used.has(n));
    this.used.add(name);
    return name;
  }

  /** The macvlan already planned on `base` with `mac`, if any. */
  macvlanOn(base: string, mac: string): { name: string; instance: string } | undefined {
    return this.byBaseMac.get(`${base}|${mac}`);
  }

  planMacvlan(base: string, mac: string, name: string, instance: string): void {
    this.byBaseMac.set(`${base}|${mac}`, { name, instance });
  }
}

/**
 * Whether a word after `use_vmac` / `use_ipvlan` is the link's name (the rest are a MAC, an
 * address or an ipvlan mode).
 */
function isLinkName(kw: 'use_vmac' | 'use_ipvlan', word: string): boolean {
  if (kw === 'use_vmac') return !word.includes(':');
  return !IPVLAN_MODES.includes(word as IpvlanMode) && !parseAddress(word.split('/')[0]!);
}

const IPVLAN_MODES: readonly IpvlanMode[] = ['bridge', 'private', 'vepa'];

/** What `instanceLinks` needs of the instance being assembled. */
export interface LinkContext {
  readonly s: Section;
  /** `vrrp_instance NAME`, for messages. */
  readonly who: string;
  readonly g: GlobalDefs;
  readonly strict: boolean;
  readonly sink: DiagnosticSink;
  readonly iface: string | undefined;
  readonly vrid: number | undefined;
  readonly family: AddressFamily;
  /** `unicast_peer` given. */
  readonly unicast: boolean;
  readonly names: LinkNames;
}

/** The links of one instance and its VIPs placed on them. */
export interface InstanceLinks {
  readonly vmac?: VirtualLinkConfig;
  readonly extraVmacs: readonly VirtualLinkConfig[];
  readonly vips: VirtualAddressConfig[];
  readonly excluded: VirtualAddressConfig[];
}

/** The words of `use_vmac [NAME] [MAC]`, checked. */
interface VmacWords {
  readonly name?: string;
  readonly mac?: string;
}

/** `use_vmac [NAME] [MAC]` (either order; at most one of each). */
function readUseVmac(c: LinkContext, set: WordsSetting): VmacWords & { readonly macWritten: boolean } {
  const { sink, who } = c;
  let name: string | undefined;
  let mac: string | undefined;
  let macLoc: SourceLocation | undefined;
  let vridLast = false;
  for (const [i, word] of set.value.entries()) {
    const loc = set.stmt.args[i]!.location;
    if (word.includes(':')) {
      // keepalived: "It's a MAC address - interface names cannot include a ':'".
      if (mac !== undefined) {
        sink.error(loc, `use_vmac takes one MAC address; '${word}' is a second one`);
        continue;
      }
      const parsed = parseVmacMac(word);
      if (!parsed) {
        sink.error(loc, `invalid MAC address '${word}' for use_vmac: expected 6 hex octets separated by ':', or 5 (the virtual_router_id is then the sixth)`);
        continue;
      }
      if (parsed.octets[0]! & 1) {
        sink.error(loc, `use_vmac MAC address '${word}' is a multicast address (the first octet is odd); a link needs a unicast MAC`);
        continue;
      }
      mac = parsed.octets.map(hex).join(':');
      macLoc = loc;
      vridLast = parsed.vridLast;
    } else {
      if (name !== undefined) {
        sink.error(loc, `use_vmac takes one interface name; '${word}' is a second one`);
        continue;
      }
      if (!devNameValid(word)) {
        sink.error(loc, `invalid interface name '${word}' for use_vmac: ${NAME_RULE}`);
        continue;
      }
      name = word;
    }
  }
  if (mac !== undefined && vridLast && c.vrid !== undefined) mac = `${mac}:${hex(c.vrid)}`;
  if (mac !== undefined && macLoc) {
    const o = mac.split(':');
    if (o.slice(0, 4).join(':') === '00:00:5e:00' && (o[4] === '01' || o[4] === '02')) {
      sink.warning(macLoc, `use_vmac MAC address ${mac} is an RFC 5798 virtual router MAC; keepalived ignores it and uses ${c.vrid === undefined ? 'the one of the virtual_router_id' : virtualRouterMac(c.family, c.vrid)} (the one of the instance's family and virtual_router_id)`);
      mac = undefined;
    } else if (c.strict) {
      sink.warning(macLoc, `a use_vmac MAC address cannot be set in strict mode; keepalived clears it and ${who} uses the RFC 5798 virtual router MAC`);
      mac = undefined;
    }
  }
  return { ...(name !== undefined ? { name } : {}), ...(mac !== undefined ? { mac } : {}), macWritten: mac !== undefined };
}

/** The words of `use_ipvlan [NAME] [ADDRESS[/PREFIX]] [bridge|private|vepa]`. */
interface IpvlanWords {
  readonly name?: string;
  readonly mode: IpvlanMode;
  readonly address?: { readonly address: string; readonly prefixLength: number; readonly family: AddressFamily; readonly location: SourceLocation };
}

function readUseIpvlan(c: LinkContext, set: WordsSetting): IpvlanWords {
  const { sink } = c;
  let name: string | undefined;
  let mode: IpvlanMode | undefined;
  let address: IpvlanWords['address'];
  for (const [i, word] of set.value.entries()) {
    const loc = set.stmt.args[i]!.location;
    if (IPVLAN_MODES.includes(word as IpvlanMode)) {
      if (mode !== undefined) sink.error(loc, `use_ipvlan takes one mode (bridge, private or vepa); '${word}' is a second one`);
      else mode = word as IpvlanMode;
      continue;
    }
    const [addrText, prefixText] = word.split('/');
    const ip = parseAddress(addrText!);
    if (ip) {
      const max = ip.family === 'ipv4' ? 32 : 128;
      const prefix = prefixText === undefined ? max : parseWhole(prefixText);
      if (prefix === undefined || prefix > max) {
        sink.error(loc, `invalid prefix length in '${word}' for use_ipvlan: expected 0-${max}`);
      } else if (address !== undefined) {
        sink.error(loc, `use_ipvlan takes one address; '${word}' is a second one`);
      } else if (ip.family !== c.family) {
        sink.error(loc, `use_ipvlan address ${ip.address} is ${FAMILY_NAME[ip.family]} but ${c.who} is ${FAMILY_NAME[c.family]} (keepalived skips it)`);
      } else {
        address = { address: ip.address, prefixLength: prefix, family: ip.family, location: loc };
      }
      continue;
    }
    if (name !== undefined) {
      sink.error(loc, `use_ipvlan takes one interface name; '${word}' is a second one (or not a mode: bridge, private or vepa)`);
    } else if (!devNameValid(word)) {
      sink.error(loc, `invalid interface name '${word}' for use_ipvlan: ${NAME_RULE}`);
    } else {
      name = word;
    }
  }
  return { ...(name !== undefined ? { name } : {}), mode: mode ?? 'bridge', ...(address ? { address } : {}) };
}

/**
 * An instance's links (keepalived's `vrrp_complete_instance`, its VMAC part) and its VIPs placed
 * on them:
 * - `use_vmac`: a macvlan on the instance's interface with the virtual router MAC; the VIPs of the
 *   instance's family without another `dev` live on it. Adverts go out and are heard on it, or
 *   on the interface with `vmac_xmit_base` (forced with unicast peers; refused in strict mode).
 * - `use_ipvlan`: an L2 ipvlan on the instance's interface that carries the adverts from its own
 *   address (required for IPv4); the VIPs stay on the interface, as keepalived places them.
 * - `use_vmac_addr`, or `use_vmac` on a VIP line: a VIP on another interface (`dev`), or of the
 *   other family, lives on a macvlan of its own on that interface (one per interface, family and
 *   MAC), named with `vmac_addr_prefix` (else `vmac_prefix`, else `vrrp`).
 */
export function instanceLinks(c: LinkContext, vipsIn: readonly VirtualAddressConfig[], excludedIn: readonly VirtualAddressConfig[]): InstanceLinks {
  const { s, sink, who, g, iface, vrid, family, names } = c;
  const useVmac = s.get<string[]>('use_vmac');
  const useIpvlan = s.get<string[]>('use_ipvlan');
  const xmit = s.get<boolean>('vmac_xmit_base');
  const vmacAddr = s.val<boolean>('use_vmac_addr') ?? false;
  const nameLoc = (k: WordsSetting): SourceLocation => k.stmt.keyword.location;

  if (useVmac && useIpvlan) {
    sink.error(nameLoc(useIpvlan), `use_vmac and use_ipvlan cannot both be used in ${who} (use_vmac is at ${formatLocation(nameLoc(useVmac))})`);
    return { extraVmacs: [], vips: [...vipsIn], excluded: [...excludedIn] };
  }

  const prefix = g.vmacPrefix ?? 'vrrp';
  let vmac: VirtualLinkConfig | undefined;
  /** `use_vmac NAME MAC`: the extra macvlans of VIPs take that MAC too (keepalived). */
  let writtenMac: string | undefined;
  if (useVmac) {
    const words = readUseVmac(c, useVmac);
    if (words.macWritten) writtenMac = words.mac;
    let xmitBase = xmit?.value ?? false;
    if (xmitBase && c.strict) {
      sink.warning(xmit!.stmt.keyword.location, `vmac_xmit_base is not allowed in strict mode; keepalived resets it (adverts go out on the vmac)`);
      xmitBase = false;
    }
    if (c.unicast && !xmitBase) {
      sink.warning(nameLoc(useVmac), `use_vmac with unicast_peer needs vmac_xmit_base; keepalived sets it (adverts go out on ${iface ?? 'the interface'})`);
      xmitBase = true;
    }
    if (iface !== undefined && vrid !== undefined) {
      const mac = words.mac ?? virtualRouterMac(family, vrid);
      // keepalived finds "a matching interface" (same base and MAC) before it makes one: the
      // macvlan an earlier instance planned with this MAC is shared; the kernel allows one.
      const taken = names.macvlanOn(iface, mac);
      const name = taken && (words.name === undefined || words.name === taken.name) ? taken.name : taken ? undefined : linkName(c, words.name, useVmac, prefix);
      if (taken && name === undefined) {
        sink.error(nameLoc(useVmac), `${who} would make a second macvlan with MAC ${mac} on ${iface}, but ${taken.name} (vrrp_instance ${taken.instance}) has it: the kernel allows one; drop the name to share it`);
      } else if (name !== undefined) {
        if (!taken) names.planMacvlan(iface, mac, name, s.name);
        vmac = { kind: 'macvlan', name, base: iface, mac, family, xmitBase, location: nameLoc(useVmac) };
      }
    }
  } else if (xmit?.value) {
    sink.warning(xmit.stmt.keyword.location, `vmac_xmit_base is only valid with use_vmac; ignored (as keepalived does)`);
  }

  if (useIpvlan) {
    const words = readUseIpvlan(c, useIpvlan);
    if (family === 'ipv4' && !words.address) {
      sink.error(nameLoc(useIpvlan), `use_ipvlan on an IPv4 instance needs an address for the ipvlan (its adverts' source); keepalived puts ${who} in FAULT without one`);
    } else if (iface !== undefined && vrid !== undefined) {
      const name = linkName(c, words.name, useIpvlan, prefix);
      if (name !== undefined) {
        vmac = {
          kind: 'ipvlan',
          name,
          base: iface,
          family,
          xmitBase: false,
          ipvlanMode: words.mode,
          ...(words.address ? { address: { address: words.address.address, prefixLength: words.address.prefixLength } } : {}),
          location: nameLoc(useIpvlan),
        };
      }
    }
  }

  // The VIPs, placed as vrrp_complete_instance places them.
  const extraVmacs: VirtualLinkConfig[] = [];
  const place = (v: VirtualAddressConfig): VirtualAddressConfig => {
    if (iface === undefined || vrid === undefined) return v;
    const onIface = v.device === undefined || v.device === iface;
    let perVip = v.useVmac === true;
    if (perVip && onIface && vmac?.kind === 'macvlan' && v.family === family) {
      sink.warning(v.location, `'use_vmac' for ${v.address} repeats the instance's use_vmac: it lives on ${vmac.name} anyway (keepalived warns too)`);
      perVip = false;
    } else if (perVip && (!onIface || v.family !== family) && vmacAddr) {
      sink.warning(v.location, `'use_vmac' for ${v.address} repeats use_vmac_addr, which gives it a macvlan anyway (keepalived warns too)`);
      perVip = false;
    }
    if (onIface && vmac?.kind === 'macvlan' && v.family === family) return { ...v, device: vmac.name };
    const needs = onIface ? perVip || (vmacAddr && v.family !== family) : perVip || vmacAddr;
    if (!needs) return v;
    const base = v.device ?? iface;
    const mac = writtenMac ?? virtualRouterMac(v.family, vrid);
    const planned = names.macvlanOn(base, mac);
    if (planned) return { ...v, device: planned.name };
    const name = names.fresh(g.vmacAddrPrefix ?? prefix, vrid, v.family);
    names.planMacvlan(base, mac, name, s.name);
    extraVmacs.push({ kind: 'macvlan', name, base, mac, family: v.family, xmitBase: false, location: v.location });
    return { ...v, device: name };
  };
  const vips = vipsIn.map(place);
  const excluded = excludedIn.map(place);
  return { ...(vmac ? { vmac } : {}), extraVmacs, vips, excluded };
}

/**
 * The link's name: the one written (unless it is the instance's own interface), else keepalived's
 * default (`create_vmac_name`). Undefined after an error.
 */
function linkName(c: LinkContext, written: string | undefined, set: WordsSetting, prefix: string): string | undefined {
  if (written !== undefined) {
    const loc = set.stmt.args[set.value.indexOf(written)]!.location;
    if (written === c.iface) {
      c.sink.error(loc, `the link's name '${written}' is ${c.who}'s own interface; name the new link something else`);
      return undefined;
    }
    // A name written twice was reported (LinkNames.collect): only its first writer has it.
    return c.names.ownsWritten(written, c.s.name) ? written : undefined;
  }
  return c.names.fresh(prefix, c.vrid!, c.family);
}

/** `vmac_prefix` / `vmac_addr_prefix`: usable in an interface name. Undefined after an error. */
export function linkPrefix(s: Section, k: 'vmac_prefix' | 'vmac_addr_prefix', sink: DiagnosticSink): string | undefined {
  const set = s.get<string>(k);
  if (!set) return undefined;
  if (set.value === '' || /[/:\s]/.test(set.value) || Buffer.byteLength(set.value) >= IFNAMSIZ) {
    sink.error(set.loc, `invalid ${k} '${set.value}': it starts interface names (${NAME_RULE})`);
    return undefined;
  }
  return set.value;
}
