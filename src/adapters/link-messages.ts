/**
 * Pure rtnetlink pieces of the use_vmac / use_ipvlan links (adapters/virtual-links.ts sends them):
 * the nested attributes the `netlink` module takes as raw bytes (IFLA_LINKINFO for a macvlan or
 * an ipvlan, IFLA_AF_SPEC for IPv6's address generation mode), their parsing in a link dump, and
 * the plan that turns the host's links and the wanted ones into steps. No I/O: bytes in, bytes or
 * steps out.
 *
 * Byte layouts are the kernel's (include/uapi/linux/if_link.h, rtnetlink.h) as iproute2 and
 * keepalived send them (keepalived/vrrp/vrrp_vmac.c netlink_link_add_vmac / _ipvlan): an rtattr is
 * `u16 len, u16 type` in host byte order, then the payload, padded to 4 bytes; IFLA_INFO_KIND is
 * the kind's name without a NUL.
 */
import { endianness } from 'node:os';
import type { VirtualLinkProblem, VirtualLinkSpec } from '../ports/index.js';

export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_MACVLAN_MODE = 1;
export const MACVLAN_MODE_PRIVATE = 1;
export const IFLA_IPVLAN_MODE = 1;
export const IFLA_IPVLAN_FLAGS = 2;
export const IPVLAN_MODE_L2 = 0;
/** IFLA_IPVLAN_FLAGS: bridge 0, IPVLAN_F_PRIVATE 1, IPVLAN_F_VEPA 2. */
export const IPVLAN_FLAGS: Readonly<Record<NonNullable<VirtualLinkSpec['ipvlanMode']>, number>> = { bridge: 0, private: 1, vepa: 2 };
export const AF_INET6 = 10;
export const IFLA_INET6_ADDR_GEN_MODE = 8;
export const IN6_ADDR_GEN_MODE_NONE = 1;

const LE = endianness() === 'LE';

const align4 = (n: number): number => (n + 3) & ~3;

/** One rtattr: header, payload, padding. */
export function rtattr(type: number, payload: Uint8Array): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc(align4(len));
  if (LE) {
    out.writeUInt16LE(len, 0);
    out.writeUInt16LE(type, 2);
  } else {
    out.writeUInt16BE(len, 0);
    out.writeUInt16BE(type, 2);
  }
  out.set(payload, 4);
  return out;
}

/** A u32 / u16 / u8 in host byte order (netlink's). */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(n >>> 0);
  else b.writeUInt32BE(n >>> 0);
  return b;
}
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  if (LE) b.writeUInt16LE(n & 0xffff);
  else b.writeUInt16BE(n & 0xffff);
  return b;
}
const u8 = (n: number): Buffer => Buffer.from([n & 0xff]);

function readU16(b: Uint8Array, at: number): number {
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return LE ? v.readUInt16LE(at) : v.readUInt16BE(at);
}
export function readU32(b: Uint8Array, at: number): number {
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return LE ? v.readUInt32LE(at) : v.readUInt32BE(at);
}

/** The attributes of a stream (type → payload; the last of a type wins); stops at a bad length. */
export function parseAttrs(b: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  let at = 0;
  while (at + 4 <= b.length) {
    const len = readU16(b, at);
    // NLA_F_NESTED / NLA_F_NET_BYTEORDER are the type's top bits.
    const type = readU16(b, at + 2) & 0x3fff;
    if (len < 4 || at + len > b.length) break;
    out.set(type, b.subarray(at + 4, at + len));
    at += align4(len);
  }
  return out;
}

/**
 * IFLA_LINKINFO's payload for a link: IFLA_INFO_KIND, then IFLA_INFO_DATA with the macvlan's mode
 * (private, a u32) or the ipvlan's mode (L2, a u16) and flags (a u16).
 */
export function linkInfo(spec: Pick<VirtualLinkSpec, 'kind' | 'ipvlanMode'>): Buffer {
  const kind = rtattr(IFLA_INFO_KIND, Buffer.from(spec.kind, 'ascii'));
  const data =
    spec.kind === 'macvlan'
      ? rtattr(IFLA_MACVLAN_MODE, u32(MACVLAN_MODE_PRIVATE))
      : Buffer.concat([rtattr(IFLA_IPVLAN_MODE, u16(IPVLAN_MODE_L2)), rtattr(IFLA_IPVLAN_FLAGS, u16(IPVLAN_FLAGS[spec.ipvlanMode ?? 'bridge']))]);
  return Buffer.concat([kind, rtattr(IFLA_INFO_DATA, data)]);
}

/** What a dumped link's IFLA_LINKINFO says: its kind and, for a macvlan or ipvlan, its mode. */
export interface ParsedLinkInfo {
  readonly kind?: string;
  readonly macvlanMode?: number;
  readonly ipvlanMode?: number;
  readonly ipvlanFlags?: number;
}

export function parseLinkInfo(b: Uint8Array | undefined): ParsedLinkInfo {
  if (!b) return {};
  const attrs = parseAttrs(b);
  const kindBytes = attrs.get(IFLA_INFO_KIND);
  const kind = kindBytes ? Buffer.from(kindBytes).toString('ascii').replace(/\0+$/, '') : undefined;
  const data = attrs.get(IFLA_INFO_DATA);
  if (!kind || !data) return kind ? { kind } : {};
  const d = parseAttrs(data);
  if (kind === 'macvlan') {
    const m = d.get(IFLA_MACVLAN_MODE);
    return { kind, ...(m && m.length >= 4 ? { macvlanMode: readU32(m, 0) } : {}) };
  }
  if (kind === 'ipvlan') {
    const m = d.get(IFLA_IPVLAN_MODE);
    const f = d.get(IFLA_IPVLAN_FLAGS);
    return { kind, ...(m && m.length >= 2 ? { ipvlanMode: readU16(m, 0) } : {}), ...(f && f.length >= 2 ? { ipvlanFlags: readU16(f, 0) } : {}) };
  }
  return { kind };
}

/**
 * IFLA_AF_SPEC's entries (the netlink module's `afSpec` map) that set IPv6's address generation
 * mode to none: no link-local address made from the virtual MAC (RFC 5798 §7.4; keepalived).
 */
export function addrGenModeNone(): Map<number, Buffer> {
  return new Map([[AF_INET6, rtattr(IFLA_INET6_ADDR_GEN_MODE, u8(IN6_ADDR_GEN_MODE_NONE))]]);
}

// --- the plan --------------------------------------------------------------------------------

/** A link of the host as the plan needs it (from an RTM_GETLINK dump). */
export interface HostLink extends ParsedLinkInfo {
  readonly index: number;
  readonly name: string;
  /** IFLA_LINK: the index of the link it sits on. */
  readonly baseIndex?: number;
  readonly mac?: string;
  /** IFLA_IFALIAS. */
  readonly alias?: string;
}

/** The alias every link of ours carries: `keepwatch OWNER INSTANCE` (at most 255 bytes, IFALIASZ). */
export function ownerAlias(owner: string, instance: string): string {
  let alias = `keepwatch ${owner} ${instance}`;
  while (Buffer.byteLength(alias) > 255) alias = alias.slice(0, -1);
  return alias;
}

/** Made by this agent (its owner key in the alias). */
export const isOurs = (l: HostLink, owner: string): boolean => l.alias?.startsWith(`keepwatch ${owner} `) ?? false;
/** Made by a keepwatch agent (this one or another, e.g. with another config file). */
export const isKeepwatch = (l: HostLink): boolean => l.alias?.startsWith('keepwatch ') ?? false;

/** Whether an existing link is exactly what `spec` asks for on base `baseIndex`. */
export function linkMatches(l: HostLink, spec: VirtualLinkSpec, baseIndex: number): boolean {
  if (l.kind !== spec.kind || l.baseIndex !== baseIndex) return false;
  if (spec.kind === 'macvlan') return l.macvlanMode === MACVLAN_MODE_PRIVATE && l.mac === spec.mac;
  return (l.ipvlanMode ?? IPVLAN_MODE_L2) === IPVLAN_MODE_L2 && (l.ipvlanFlags ?? 0) === IPVLAN_FLAGS[spec.ipvlanMode ?? 'bridge'];
}

export type LinkStep =
  /** A link of ours nobody wants (stale), or one of ours to make again (`replace`). */
  | { readonly op: 'remove'; readonly link: HostLink; readonly why: 'stale' | 'replace' }
  | { readonly op: 'create'; readonly spec: VirtualLinkSpec; readonly baseIndex: number; readonly replaced: boolean }
  /** Already right: reused (`adopted`: it was not ours yet, e.g. left by keepalived). */
  | { readonly op: 'keep'; readonly spec: VirtualLinkSpec; readonly link: HostLink; readonly adopted: boolean };

export interface LinkPlan {
  /** Removals first, then the wanted links in the order given. */
  readonly steps: readonly LinkStep[];
  /** Why a wanted link can't be made; when any, nothing should be done. */
  readonly problems: readonly VirtualLinkProblem[];
}

/**
 * From the host's links to the wanted ones (`owner`: this agent's key in the aliases). A link is
 * ours when its alias says so; a wanted name held by a link of another kind or base that is not
 * keepwatch's, or a MAC held on the base by another macvlan that is not ours, is a problem: such
 * links are never touched. A leftover that is exactly right is reused even when not ours (the
 * name and MAC keepalived's own `use_vmac` gives: keepalived reuses it the same way).
 */
export function planLinks(existing: readonly HostLink[], wanted: readonly VirtualLinkSpec[], owner: string): LinkPlan {
  const byName = new Map(existing.map((l) => [l.name, l]));
  const wantedNames = new Set(wanted.map((w) => w.name));
  const removals: LinkStep[] = [];
  const steps: LinkStep[] = [];
  const problems: VirtualLinkProblem[] = [];
  const removed = new Set<number>();
  for (const l of existing) {
    if (isOurs(l, owner) && !wantedNames.has(l.name)) {
      removals.push({ op: 'remove', link: l, why: 'stale' });
      removed.add(l.index);
    }
  }
  for (const spec of wanted) {
    const what = `${spec.name} (${spec.kind} for vrrp_instance ${spec.instance})`;
    const base = byName.get(spec.base);
    if (!base) {
      problems.push({ name: spec.name, message: `cannot make ${what}: its interface ${spec.base} does not exist` });
      continue;
    }
    const cur = byName.get(spec.name);
    let replaced = false;
    if (cur) {
      if (linkMatches(cur, spec, base.index)) {
        steps.push({ op: 'keep', spec, link: cur, adopted: !isOurs(cur, owner) });
        continue;
      }
      if (!isKeepwatch(cur)) {
        const was = cur.kind ? `a ${cur.kind}${cur.baseIndex !== undefined ? ` on ${existing.find((l) => l.index === cur.baseIndex)?.name ?? `link ${cur.baseIndex}`}` : ''}${cur.mac ? ` with MAC ${cur.mac}` : ''}` : `an interface${cur.mac ? ` with MAC ${cur.mac}` : ''}`;
        problems.push({ name: spec.name, message: `cannot make ${what}: an interface of that name exists (${was}) and is not keepwatch's; it is left alone: remove it, or name the link (use_vmac NAME / use_ipvlan NAME)` });
        continue;
      }
      removals.push({ op: 'remove', link: cur, why: 'replace' });
      removed.add(cur.index);
      replaced = true;
    }
    if (spec.kind === 'macvlan') {
      const clash = existing.find((l) => l.name !== spec.name && !removed.has(l.index) && l.kind === 'macvlan' && l.baseIndex === base.index && l.mac === spec.mac);
      if (clash) {
        problems.push({ name: spec.name, message: `cannot make ${what}: ${clash.name} already has MAC ${spec.mac} on ${spec.base}${isKeepwatch(clash) ? ' (made by another keepwatch)' : " and is not keepwatch's"}; the kernel allows one macvlan per MAC on an interface` });
        continue;
      }
    }
    steps.push({ op: 'create', spec, baseIndex: base.index, replaced });
  }
  return { steps: [...removals, ...steps], problems };
}
