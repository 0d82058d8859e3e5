/**
 * `virtual_routes`, `virtual_rules`, `static_routes` and `static_rules` lines: keepalived's
 * `ip route` / `ip rule` syntax (keepalived 2.2.7 keepalived/vrrp/vrrp_iproute.c `alloc_route`,
 * vrrp_iprule.c `alloc_rule`, lib/rttables.c for names) → `RouteConfig` / `RuleConfig`, with every
 * finding as a diagnostic at the word it is about.
 *
 * Every option keepalived 2.2.7 accepts is known here. Those keepwatch installs are read fully;
 * the others are refused with "not supported by keepwatch: <why>" (an error: a route installed
 * without what its line asks for would be a silent difference). Where keepalived adjusts a line
 * and logs (`gw`, `or`, a tracked route with another `protocol`, a rule without a preference),
 * the finding is a warning that says what keepalived does, and keepwatch does the same.
 * Stricter than keepalived, as errors: a value missing at the end of a line, an IPv4 destination
 * with host bits set (the kernel refuses it), a second destination, a prefix length out of range
 * (keepalived logs and uses the full length).
 *
 * Names: tables `main`, `local`, `default`; scopes and protocols as keepalived knows them without
 * /etc/iproute2 (which keepwatch does not read: other names are refused, numbers always work).
 * Pure: tokens in, model out.
 */
import type {
  AddressFamily,
  PortRange,
  PrefixConfig,
  RouteAddMode,
  RouteConfig,
  RouteMetricName,
  RouteNextHopConfig,
  RouteType,
  RuleAction,
  RuleConfig,
  SourceLocation,
} from './model.js';
import type { DiagnosticSink } from './diagnostics.js';
import type { Token } from './lexer.js';
import { addressKind, parseAddress, type ParsedAddress } from './schema.js';

/** rtnetlink's protocol number keepalived installs its routes and rules with (RTPROT_KEEPALIVED). */
export const RTPROT_KEEPALIVED = 18;
/** The main routing table (RT_TABLE_MAIN). */
export const RT_TABLE_MAIN = 254;
/** keepalived numbers rules written without a preference from here down, per family (vrrp_iprule.c). */
export const RULE_START_PRIORITY = 16384;

/** lib/rttables.c `rttable_default`. */
export const TABLE_NAMES: Readonly<Record<string, number>> = { default: 253, main: 254, local: 255 };
/** lib/rttables.c `rtscope_default`. */
export const SCOPE_NAMES: Readonly<Record<string, number>> = { global: 0, site: 200, link: 253, host: 254, nowhere: 255 };
/** lib/rttables.c `rtprot_default`. */
export const PROTOCOL_NAMES: Readonly<Record<string, number>> = {
  none: 0, redirect: 1, kernel: 2, boot: 3, static: 4, gated: 8, ra: 9, mrt: 10, zebra: 11, bird: 12, dnrouted: 13, xorp: 14, ntk: 15, dhcp: 16, babel: 42,
};
/** lib/rttables.c `rtntypes`: every type name keepalived reads, and its RTN_* number. */
const RTN_TYPES: Readonly<Record<string, number>> = {
  unicast: 1, local: 2, broadcast: 3, brd: 3, anycast: 4, multicast: 5, blackhole: 6, unreachable: 7, prohibit: 8, throw: 9, nat: 10, xresolve: 11,
};
const RTN_NAME: Readonly<Record<number, RouteType | undefined>> = { 1: 'unicast', 2: 'local', 6: 'blackhole', 7: 'unreachable', 8: 'prohibit', 9: 'throw' };
/** Why keepwatch does not install the other route types. */
const TYPE_REFUSED: Readonly<Record<number, string>> = {
  3: 'broadcast routes belong to the kernel, which makes them for each address',
  4: 'anycast routes belong to the kernel, which makes them for IPv6 anycast addresses',
  5: 'multicast routes belong to multicast routing daemons',
  10: 'the kernel no longer supports NAT routes (removed in Linux 2.6)',
  11: 'xresolve routes are not used by Linux',
};
/** IP protocol names for `ipproto` (keepalived asks getprotobyname; these are /etc/protocols'). */
const IP_PROTOCOLS: Readonly<Record<string, number>> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, icmpv6: 58, sctp: 132, udplite: 136 };

/** The TCP metrics of a route: its `RTAX_*` number (for `lock`) and whether `lock` may precede it. */
const METRIC_OPTIONS: Readonly<Record<string, { readonly name: RouteMetricName; readonly rtax: number; readonly lockable: boolean; readonly max: number }>> = {
  mtu: { name: 'mtu', rtax: 2, lockable: true, max: 0xffffffff },
  window: { name: 'window', rtax: 3, lockable: false, max: 0xffffffff },
  ssthresh: { name: 'ssthresh', rtax: 6, lockable: true, max: 0xffffffff },
  cwnd: { name: 'cwnd', rtax: 7, lockable: true, max: 0xffffffff },
  advmss: { name: 'advmss', rtax: 8, lockable: true, max: 0xffffffff },
  reordering: { name: 'reordering', rtax: 9, lockable: true, max: 0xffffffff },
  hoplimit: { name: 'hoplimit', rtax: 10, lockable: false, max: 255 },
  initcwnd: { name: 'initcwnd', rtax: 11, lockable: false, max: 0xffffffff },
  initrwnd: { name: 'initrwnd', rtax: 14, lockable: false, max: 0xffffffff },
  quickack: { name: 'quickack', rtax: 15, lockable: false, max: 1 },
  fastopen_no_cookie: { name: 'fastopen_no_cookie', rtax: 17, lockable: false, max: 1 },
};
/** `RTAX_*` of every metric that may be locked (`lock` bits), `congctl` included. */
export const RTAX: Readonly<Record<RouteMetricName | 'congctl', number>> = {
  ...(Object.fromEntries(Object.values(METRIC_OPTIONS).map((m) => [m.name, m.rtax])) as Record<RouteMetricName, number>),
  features: 12,
  congctl: 16,
};

/** Options keepalived 2.2.7 accepts on a route line that keepwatch refuses, and why. */
const ROUTE_REFUSED: Readonly<Record<string, string>> = {
  encap: 'lightweight tunnel encapsulation (encap mpls/ip/ip6/ila) is not implemented',
  as: "'as [to]' is MPLS only, and keepalived ignores it too",
  expires: 'a route that expires would vanish while the instance holds it',
  realms: 'routing realms are not implemented',
  rtt: 'per-route TCP timing metrics (rtt, rttvar, rto_min) are not implemented',
  rttvar: 'per-route TCP timing metrics (rtt, rttvar, rto_min) are not implemented',
  rto_min: 'per-route TCP timing metrics (rtt, rttvar, rto_min) are not implemented',
  'ttl-propagate': 'MPLS TTL propagation is not implemented',
  vrf: "VRF devices are not looked up; write the VRF's routing table with 'table N'",
  track_group: 'static track groups (track_group) are not implemented',
};
/** Options keepalived 2.2.7 accepts on a rule line that keepwatch refuses, and why. */
const RULE_REFUSED: Readonly<Record<string, string>> = {
  realms: 'routing realms are not implemented',
  suppress_ifgroup: 'interface groups (suppress_ifgroup) are not implemented',
  sup_group: 'interface groups (suppress_ifgroup) are not implemented',
  'tunnel-id': 'tunnel-id matching (metadata tunnels) is not implemented',
  track_group: 'static track groups (track_group) are not implemented',
};
/** Route options that take a value (for messages and did-you-mean). */
const ROUTE_OPTIONS = [
  'inet', 'inet6', 'src', 'to', 'via', 'gw', 'from', 'tos', 'dsfield', 'table', 'protocol', 'scope', 'metric', 'priority', 'preference', 'dev', 'oif',
  'onlink', 'features', 'congctl', 'pref', 'add', 'prepend', 'append', 'or', 'nexthop', 'no_track', ...Object.keys(METRIC_OPTIONS), ...Object.keys(ROUTE_REFUSED),
  ...Object.keys(RTN_TYPES),
];
const RULE_OPTIONS = [
  'inet', 'inet6', 'from', 'to', 'table', 'lookup', 'not', 'preference', 'order', 'priority', 'tos', 'dsfield', 'fwmark', 'suppress_prefixlength', 'sup_pl',
  'dev', 'iif', 'oif', 'uidrange', 'l3mdev', 'protocol', 'ipproto', 'sport', 'dport', 'no_track', 'type', 'goto', 'nop', 'blackhole', 'unreachable',
  'prohibit', ...Object.keys(RULE_REFUSED),
];

/** What the parser of one line needs besides the words. */
export interface LineContext {
  readonly sink: DiagnosticSink;
  /** `virtual_routes`, `static_rules`, ...: for messages. */
  readonly list: string;
  /** static_routes / static_rules / static_ipaddress (top level) rather than an instance's. */
  readonly isStatic: boolean;
  /** The closest known word, or undefined (none close, or nobody would read it). */
  guess(word: string, candidates: readonly string[]): string | undefined;
}

/** keepalived's per-family counters for rules without a preference (one per configuration read). */
export class RulePriorities {
  private readonly next: Record<AddressFamily, number> = { ipv4: RULE_START_PRIORITY, ipv6: RULE_START_PRIORITY };
  take(family: AddressFamily): number {
    return this.next[family]--;
  }
}

/** A number as keepalived's `strtoul(s, 0)` reads it when `base0` (0x.. hex, 0.. octal), else decimal. */
export function parseUnsigned(text: string, base0: boolean): number | undefined {
  let n: number;
  if (base0 && /^0x[0-9a-f]+$/i.test(text)) n = parseInt(text.slice(2), 16);
  else if (base0 && /^0[0-7]+$/.test(text)) n = parseInt(text.slice(1), 8);
  else if (/^\d+$/.test(text)) n = Number(text);
  else return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Reads the words of one line; `error` reports and stops the line. */
class Words {
  i = 0;
  failed = false;
  constructor(
    readonly toks: readonly Token[],
    readonly ctx: LineContext,
    readonly what: string,
  ) {}
  get done(): boolean {
    return this.failed || this.i >= this.toks.length;
  }
  peek(): Token | undefined {
    return this.toks[this.i];
  }
  next(): Token {
    return this.toks[this.i++]!;
  }
  error(at: Token | SourceLocation, message: string): undefined {
    if (!this.failed) this.ctx.sink.error('location' in at ? at.location : at, message);
    this.failed = true;
    return undefined;
  }
  /** The value after option `opt`, or an error that says what it needs. */
  value(opt: Token, needs: string): Token | undefined {
    const t = this.toks[this.i];
    if (!t) return this.error(opt, `'${opt.text}' needs a value in ${this.ctx.list}: ${needs}`);
    this.i++;
    return t;
  }
  refuse(opt: Token, why: string): undefined {
    return this.error(opt, `'${opt.text}' in ${this.ctx.list} is not supported by keepwatch: ${why}`);
  }
  number(opt: Token, needs: string, max: number, base0 = false, min = 0): number | undefined {
    const t = this.value(opt, needs);
    if (!t) return undefined;
    const n = parseUnsigned(t.text, base0);
    if (n === undefined || n < min || n > max) return this.error(t, `invalid ${opt.text} '${t.text}' in ${this.ctx.list}: expected ${needs}`);
    return n;
  }
  /** A number or a name of `names`; a name keepwatch does not know is refused with `unknownName`. */
  named(opt: Token, needs: string, names: Readonly<Record<string, number>>, max: number, unknownName: string): number | undefined {
    const t = this.value(opt, needs);
    if (!t) return undefined;
    if (Object.hasOwn(names, t.text)) return names[t.text]!;
    const n = parseUnsigned(t.text, true);
    if (n !== undefined && n <= max) return n;
    if (n !== undefined || /^[\d]/.test(t.text)) return this.error(t, `invalid ${opt.text} '${t.text}' in ${this.ctx.list}: expected ${needs}`);
    const guess = this.ctx.guess(t.text, Object.keys(names));
    if (guess) return this.error(t, `unknown ${opt.text} '${t.text}' in ${this.ctx.list}; did you mean '${guess}'?`);
    return this.error(t, `${opt.text} '${t.text}' in ${this.ctx.list} is not supported by keepwatch: ${unknownName}`);
  }
  /** An address without prefix. */
  address(opt: Token, family: Family): ParsedAddress | undefined {
    const t = this.value(opt, 'an address');
    if (!t) return undefined;
    const a = parseAddress(t.text);
    if (!a) return this.error(t, `invalid ${addressKind(t.text)} '${t.text}' after '${opt.text}' in ${this.ctx.list}`);
    if (!family.set(a.family, t, this)) return undefined;
    return a;
  }
  /** A prefix (`ADDR[/LEN]`, `default`, `any`, `all`); `undefined` address for the specials. */
  prefix(t: Token, family: Family, what: string): { special: boolean; address?: ParsedAddress; prefixLength: number; token: Token } | undefined {
    if (t.text === 'default' || t.text === 'any' || t.text === 'all') return { special: true, prefixLength: 0, token: t };
    if (t.text === 'default6') {
      this.ctx.sink.warning(t.location, `'default6' is deprecated: write 'inet6 default' (keepalived says so too)`);
      if (!family.set('ipv6', t, this)) return undefined;
      return { special: true, prefixLength: 0, token: t };
    }
    const slash = t.text.indexOf('/');
    const addrText = slash < 0 ? t.text : t.text.slice(0, slash);
    const a = parseAddress(addrText);
    if (!a) return this.error(t, `invalid ${addressKind(addrText)} '${addrText}' as ${what} in ${this.ctx.list}`);
    const max = a.family === 'ipv4' ? 32 : 128;
    let prefixLength = max;
    if (slash >= 0) {
      const p = parseUnsigned(t.text.slice(slash + 1), false);
      if (p === undefined || p > max) {
        return this.error({ ...t.location, column: t.location.column + Array.from(addrText).length }, `invalid prefix length '${t.text.slice(slash)}' for ${a.address} in ${this.ctx.list}: expected 0-${max}`);
      }
      prefixLength = p;
    }
    if (!family.set(a.family, t, this)) return undefined;
    return { special: false, address: a, prefixLength, token: t };
  }
}

/** The family of a line: set by `inet`/`inet6` or its first address; mixing is an error. */
class Family {
  value: AddressFamily | undefined;
  set(f: AddressFamily, at: Token, w: Words): boolean {
    if (this.value === undefined) this.value = f;
    else if (this.value !== f) {
      w.error(at, `${w.what} mixes IPv4 and IPv6 in ${w.ctx.list}: '${at.text}' is ${f === 'ipv4' ? 'IPv4' : 'IPv6'} but the line is ${this.value === 'ipv4' ? 'IPv4' : 'IPv6'}`);
      return false;
    }
    return true;
  }
}

/** A prefix in canonical form; for IPv4 with host bits set, an error (the kernel refuses it). */
function toPrefix(
  p: { special: boolean; address?: ParsedAddress; prefixLength: number; token: Token },
  family: AddressFamily,
  w: Words,
): PrefixConfig | undefined {
  if (p.special || !p.address) return { address: family === 'ipv4' ? '0.0.0.0' : '::', prefixLength: 0 };
  const bytes = p.address.bytes;
  const masked = bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, p.prefixLength - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
  if (masked.some((b, i) => b !== bytes[i])) {
    if (family === 'ipv4') {
      const net = masked.join('.');
      return w.error(p.token, `'${p.token.text}' in ${w.ctx.list} has host bits set: the kernel refuses it; write ${net}/${p.prefixLength}`);
    }
    // IPv6: the kernel clears the host bits itself; keep what it will hold.
    const net = parseAddress(formatV6(masked))!;
    w.ctx.sink.warning(p.token.location, `'${p.token.text}' in ${w.ctx.list} has host bits set; the kernel installs ${net.address}/${p.prefixLength}`);
    return { address: net.address, prefixLength: p.prefixLength };
  }
  return { address: p.address.address, prefixLength: p.prefixLength };
}

function formatV6(bytes: readonly number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

function lineText(toks: readonly Token[]): string {
  return toks.map((t) => t.text).join(' ');
}

/**
 * keepalived 2.2.7 (and later, so far) steps over the word after `inet` / `inet6` in a route or
 * rule (its parser advances twice), so the line means something else there: say so, unless the
 * word is one it may lose without harm (`harmless`).
 */
function skippedByKeepalived(w: Words, t: Token, harmless?: string): void {
  const next = w.peek();
  if (!next || next.text === harmless || w.failed) return;
  w.ctx.sink.warning(t.location, `keepalived skips the word after '${t.text}' ('${next.text}'), so this line means something else to it; keepwatch reads it as written`);
}

/** The closest option name, as `; did you mean 'X'?`, or the empty string. */
function suggest(w: Words, word: string, options: readonly string[]): string {
  const g = w.ctx.guess(word, options);
  return g ? `; did you mean '${g}'?` : '';
}

/** One `virtual_routes` / `static_routes` line (`toks`: every word of it). */
export function parseRouteLine(toks: readonly Token[], ctx: LineContext): RouteConfig | undefined {
  const w = new Words(toks, ctx, 'route');
  const family = new Family();
  const at = toks[0]!.location;
  let dest: { special: boolean; address?: ParsedAddress; prefixLength: number; token: Token } | undefined;
  let type: RouteType = 'unicast';
  let source: string | undefined;
  let from: { special: boolean; address?: ParsedAddress; prefixLength: number; token: Token } | undefined;
  let via: string | undefined;
  let device: string | undefined;
  let scope: number | undefined;
  let table = RT_TABLE_MAIN;
  let metric: number | undefined;
  let protocol: { value: number; token: Token } | undefined;
  let tos: number | undefined;
  let onlink = false;
  const metrics: Partial<Record<RouteMetricName, number>> = {};
  const locked: (RouteMetricName | 'congctl')[] = [];
  let congctl: string | undefined;
  let pref: number | undefined;
  let mode: RouteAddMode = 'prepend';
  let track = true;
  let nexthops: RouteNextHopConfig[] = [];

  while (!w.done) {
    const t = w.next();
    const o = t.text;
    if (o === 'inet' || o === 'inet6') {
      family.set(o === 'inet' ? 'ipv4' : 'ipv6', t, w);
      skippedByKeepalived(w, t, 'to');
    } else if (o === 'src') {
      source = w.address(t, family)?.address;
    } else if (o === 'via' || o === 'gw') {
      if (o === 'gw') ctx.sink.warning(t.location, `"gw" for routes is deprecated: write "via" (keepalived says so too)`);
      const f = w.peek()?.text;
      if (f === 'inet' || f === 'inet6') {
        const ft = w.next();
        if (!family.set(f === 'inet' ? 'ipv4' : 'ipv6', ft, w)) break;
      }
      via = w.address(t, family)?.address;
    } else if (o === 'from') {
      const v = w.value(t, 'an IPv6 prefix');
      if (!v) break;
      from = w.prefix(v, family, 'source prefix');
      if (from && !from.special && from.address?.family !== 'ipv6') w.error(v, `'from' in ${ctx.list} is for IPv6 routes only (source routing); '${v.text}' is IPv4`);
    } else if (o === 'tos' || o === 'dsfield') {
      const v = w.peek();
      if (v && !/^\d/.test(v.text)) {
        w.next();
        w.error(v, `${o} '${v.text}' in ${ctx.list} is not supported by keepwatch: names from /etc/iproute2/rt_dsfield are not read; write the number (0-255)`);
      } else tos = w.number(t, 'a number from 0 to 255', 255, true);
    } else if (o === 'table') {
      table = w.named(t, 'a table number from 1 to 4294967295, main, local or default', TABLE_NAMES, 0xffffffff, "names from /etc/iproute2/rt_tables are not read; write the table's number") ?? table;
      if (table === 0) w.error(toks[w.i - 1]!, `table 0 in ${ctx.list} is not a routing table: expected 1-4294967295`);
    } else if (o === 'protocol') {
      const v = w.named(t, 'a protocol number from 0 to 255 or a name such as static or bird', PROTOCOL_NAMES, 255, 'names from /etc/iproute2/rt_protos are not read; write the number');
      if (v !== undefined) protocol = { value: v, token: t };
    } else if (o === 'scope') {
      scope = w.named(t, 'global, site, link, host, nowhere or a number from 0 to 255', SCOPE_NAMES, 255, 'names from /etc/iproute2/rt_scopes are not read; write the number');
    } else if (o === 'metric' || o === 'priority' || o === 'preference') {
      metric = w.number(t, 'a number from 0 to 4294967295', 0xffffffff);
    } else if (o === 'dev' || o === 'oif') {
      device = w.value(t, 'an interface name')?.text;
    } else if (o === 'onlink') {
      onlink = true;
    } else if (Object.hasOwn(METRIC_OPTIONS, o)) {
      const m = METRIC_OPTIONS[o]!;
      if (m.lockable && w.peek()?.text === 'lock') {
        w.next();
        locked.push(m.name);
      }
      const v = w.number(t, `a number from 0 to ${m.max}`, m.max);
      if (v !== undefined) metrics[m.name] = v;
    } else if (o === 'features') {
      const v = w.value(t, "'ecn'");
      if (v && v.text !== 'ecn') w.error(v, `feature '${v.text}' in ${ctx.list} is not supported: the only route feature is 'ecn' (keepalived refuses it too)`);
      else if (v) metrics.features = 1;
    } else if (o === 'congctl') {
      if (w.peek()?.text === 'lock') {
        w.next();
        locked.push('congctl');
      }
      congctl = w.value(t, 'a congestion control algorithm name')?.text;
    } else if (o === 'pref') {
      const v = w.value(t, 'low, medium, high or a number from 0 to 255');
      if (!v) break;
      const named: Record<string, number> = { low: 3, medium: 0, high: 1 };
      const n = Object.hasOwn(named, v.text) ? named[v.text] : parseUnsigned(v.text, false);
      if (n === undefined || n > 255) w.error(v, `invalid pref '${v.text}' in ${ctx.list}: expected low, medium, high or a number from 0 to 255`);
      else if (family.set('ipv6', t, w)) pref = n;
    } else if (o === 'add' || o === 'prepend' || o === 'append') {
      mode = o;
    } else if (o === 'or') {
      ctx.sink.warning(t.location, `"or" for routes is deprecated: write "nexthop via A nexthop via B" (keepalived says so too)`);
      const other = w.address(t, family);
      if (!other) break;
      if (nexthops.length > 0) {
        ctx.sink.warning(t.location, `a second "or" in ${ctx.list} is ignored (as keepalived does)`);
        continue;
      }
      if (via === undefined) {
        w.error(t, `"or" in ${ctx.list} needs a 'via' address before it`);
        break;
      }
      nexthops = [{ via, onlink: false }, { via: other.address, onlink: false }];
      via = undefined;
    } else if (o === 'nexthop') {
      if (nexthops.length > 0) {
        w.error(t, `'nexthop' in ${ctx.list} cannot follow "or"`);
        break;
      }
      w.i--;
      nexthops = parseNexthops(w, family) ?? [];
    } else if (o === 'no_track') {
      track = false;
    } else if (Object.hasOwn(ROUTE_REFUSED, o)) {
      if (o === 'track_group' && !ctx.isStatic) w.error(t, `'track_group' in ${ctx.list} is only for static routes (keepalived refuses it here too)`);
      else w.refuse(t, ROUTE_REFUSED[o]!);
    } else {
      // `[to] [TYPE] PREFIX`: keepalived's last branch.
      let d = t;
      if (d.text === 'to') {
        const v = w.value(d, 'a destination prefix');
        if (!v) break;
        d = v;
      }
      const typeNumber = Object.hasOwn(RTN_TYPES, d.text) ? RTN_TYPES[d.text] : /^\d+$/.test(d.text) && Number(d.text) <= 255 ? Number(d.text) : undefined;
      if (typeNumber !== undefined) {
        const name = RTN_NAME[typeNumber];
        if (!name) {
          w.error(d, `route type '${d.text}' in ${ctx.list} is not supported by keepwatch: ${TYPE_REFUSED[typeNumber] ?? 'not a route type keepwatch installs'}`);
          break;
        }
        type = name;
        const v = w.value(d, 'a destination prefix');
        if (!v) break;
        d = v;
      }
      const looksLikeAddress = /^[\d.:/a-f]+$/i.test(d.text) && /[\d]/.test(d.text) && /[.:]/.test(d.text);
      if (!looksLikeAddress && !['default', 'any', 'all', 'default6'].includes(d.text)) {
        w.error(d, `unknown option '${d.text}' in ${ctx.list}${suggest(w, d.text, ROUTE_OPTIONS)}`);
        break;
      }
      if (dest) {
        w.error(d, `a second destination '${d.text}' in ${ctx.list} (the first is '${dest.token.text}'); keepalived would use the last one`);
        break;
      }
      dest = w.prefix(d, family, 'destination');
    }
  }
  if (w.failed) return undefined;
  if (!dest) return w.error(at, `route '${lineText(toks)}' in ${ctx.list} has no destination (a prefix such as 10.0.0.0/8, or default)`);
  const fam = family.value ?? 'ipv4';
  const destination = toPrefix(dest, fam, w);
  const fromPrefix = from ? toPrefix(from, fam, w) : undefined;
  if (!destination || (from && !fromPrefix)) return undefined;
  if (track && protocol && protocol.value !== RTPROT_KEEPALIVED) {
    ctx.sink.warning(protocol.token.location, `a tracked route has protocol ${RTPROT_KEEPALIVED} (keepalived): protocol ${protocol.value} is reset, as keepalived does; add no_track to keep it`);
  }
  const route: RouteConfig = {
    family: fam,
    destination,
    type,
    nexthops,
    table,
    protocol: track || !protocol ? RTPROT_KEEPALIVED : protocol.value,
    onlink,
    metrics,
    locked,
    mode,
    track,
    text: lineText(toks),
    location: at,
    ...(source !== undefined ? { source } : {}),
    ...(fromPrefix ? { from: fromPrefix } : {}),
    ...(via !== undefined ? { via } : {}),
    ...(device !== undefined ? { device } : {}),
    ...(scope !== undefined ? { scope } : {}),
    ...(metric !== undefined ? { metric } : {}),
    ...(tos !== undefined ? { tos } : {}),
    ...(congctl !== undefined ? { congctl } : {}),
    ...(pref !== undefined ? { pref } : {}),
  };
  return route;
}

/** `nexthop via IP [dev IF] [weight W] [onlink] nexthop ...` to the end of the line. */
function parseNexthops(w: Words, family: Family): RouteNextHopConfig[] | undefined {
  const hops: RouteNextHopConfig[] = [];
  while (!w.done) {
    const t = w.next();
    if (t.text !== 'nexthop') return w.error(t, `unexpected '${t.text}' after the nexthops in ${w.ctx.list}: only 'nexthop ...' may follow the first nexthop`);
    let via: string | undefined;
    let device: string | undefined;
    let weight: number | undefined;
    let onlink = false;
    while (!w.done && w.peek()!.text !== 'nexthop') {
      const o = w.next();
      if (o.text === 'via') {
        const f = w.peek()?.text;
        if (f === 'inet' || f === 'inet6') {
          const ft = w.next();
          if (!family.set(f === 'inet' ? 'ipv4' : 'ipv6', ft, w)) return undefined;
        }
        via = w.address(o, family)?.address;
      } else if (o.text === 'dev') device = w.value(o, 'an interface name')?.text;
      else if (o.text === 'weight') weight = w.number(o, 'a number from 1 to 256', 256, false, 1);
      else if (o.text === 'onlink') onlink = true;
      else if (o.text === 'encap') return w.refuse(o, ROUTE_REFUSED.encap!);
      else if (o.text === 'realms') return w.refuse(o, ROUTE_REFUSED.realms!);
      else if (o.text === 'as') return w.refuse(o, ROUTE_REFUSED.as!);
      else return w.error(o, `unknown nexthop option '${o.text}' in ${w.ctx.list}: expected via, dev, weight or onlink${suggest(w, o.text, ['via', 'dev', 'weight', 'onlink'])}`);
    }
    if (via === undefined && device === undefined) return w.error(t, `'nexthop' in ${w.ctx.list} needs 'via ADDRESS' or 'dev IF'`);
    hops.push({ onlink, ...(via !== undefined ? { via } : {}), ...(device !== undefined ? { device } : {}), ...(weight !== undefined ? { weight } : {}) });
  }
  return w.failed ? undefined : hops;
}

/** One `virtual_rules` / `static_rules` line. */
export function parseRuleLine(toks: readonly Token[], ctx: LineContext, priorities: RulePriorities): RuleConfig | undefined {
  const w = new Words(toks, ctx, 'rule');
  const family = new Family();
  const at = toks[0]!.location;
  let from: ReturnType<Words['prefix']>;
  let to: ReturnType<Words['prefix']>;
  let invert = false;
  let priority: number | undefined;
  let tos: number | undefined;
  let fwmark: number | undefined;
  let fwmask: number | undefined;
  let iif: string | undefined;
  let oif: string | undefined;
  let action: { value: RuleAction; token: Token } | undefined;
  let table: number | undefined;
  let gotoTarget: number | undefined;
  let l3mdev = false;
  let suppress: { value: number; token: Token } | undefined;
  let protocol: { value: number; token: Token } | undefined;
  let ipProto: number | undefined;
  let sport: PortRange | undefined;
  let dport: PortRange | undefined;
  let uidRange: PortRange | undefined;
  let track = true;
  const setAction = (a: RuleAction, t: Token): void => {
    if (action) w.error(t, `a rule in ${ctx.list} takes one action: '${t.text}' after '${action.token.text}' (one of table, goto, nop, blackhole, unreachable, prohibit, l3mdev)`);
    else action = { value: a, token: t };
  };
  const range = (o: Token, max: number, needs: string): PortRange | undefined => {
    const v = w.value(o, needs);
    if (!v) return undefined;
    const m = /^(\d+)(?:-(\d+))?$/.exec(v.text);
    const start = m ? Number(m[1]) : NaN;
    const end = m?.[2] !== undefined ? Number(m[2]) : start;
    if (!m || start > max || end > max || end < start) return w.error(v, `invalid ${o.text} '${v.text}' in ${ctx.list}: expected ${needs}`);
    return { start, end };
  };

  while (!w.done) {
    const t = w.next();
    const o = t.text;
    if (o === 'inet' || o === 'inet6') {
      family.set(o === 'inet' ? 'ipv4' : 'ipv6', t, w);
      skippedByKeepalived(w, t);
    } else if (o === 'from' || o === 'to') {
      const v = w.value(t, 'a prefix, or all');
      if (!v) break;
      const p = w.prefix(v, family, o === 'from' ? 'source prefix' : 'destination prefix');
      if (o === 'from') from = p;
      else to = p;
    } else if (o === 'table' || o === 'lookup') {
      const n = w.named(t, 'a table number from 1 to 4294967295, main, local or default', TABLE_NAMES, 0xffffffff, "names from /etc/iproute2/rt_tables are not read; write the table's number");
      if (n === 0) w.error(toks[w.i - 1]!, `table 0 in ${ctx.list} is not valid (keepalived refuses it too): expected 1-4294967295`);
      else if (n !== undefined) {
        table = n;
        setAction('table', t);
      }
    } else if (o === 'not') invert = true;
    else if (o === 'preference' || o === 'order' || o === 'priority') priority = w.number(t, 'a number from 0 to 4294967295', 0xffffffff, true);
    else if (o === 'tos' || o === 'dsfield') {
      const v = w.peek();
      if (v && !/^\d/.test(v.text)) {
        w.next();
        w.error(v, `${o} '${v.text}' in ${ctx.list} is not supported by keepwatch: names from /etc/iproute2/rt_dsfield are not read; write the number (0-255)`);
      } else tos = w.number(t, 'a number from 0 to 255', 255, true);
    } else if (o === 'fwmark') {
      const v = w.value(t, 'a mark, optionally /MASK (numbers; 0x... for hex)');
      if (!v) break;
      const [m, k, extra] = v.text.split('/');
      const mark = parseUnsigned(m!, true);
      const mask = k === undefined ? undefined : parseUnsigned(k, true);
      if (mark === undefined || mark > 0xffffffff || extra !== undefined || (k !== undefined && (mask === undefined || mask > 0xffffffff))) {
        w.error(v, `invalid fwmark '${v.text}' in ${ctx.list}: expected a mark, optionally /MASK (numbers up to 0xffffffff)`);
        break;
      }
      fwmark = mark;
      fwmask = mask;
    } else if (o === 'suppress_prefixlength' || o === 'sup_pl') {
      const n = w.number(t, 'a prefix length from 0 to 2147483647', 0x7fffffff);
      if (n !== undefined) suppress = { value: n, token: t };
    } else if (o === 'dev' || o === 'iif') iif = w.value(t, 'an interface name')?.text;
    else if (o === 'oif') oif = w.value(t, 'an interface name')?.text;
    else if (o === 'uidrange') uidRange = range(t, 0xffffffff, 'a range of user ids START-END');
    else if (o === 'l3mdev') {
      l3mdev = true;
      setAction('table', t);
    } else if (o === 'protocol') {
      const n = w.number(t, 'a number from 0 to 255', 255);
      if (n !== undefined) protocol = { value: n, token: t };
    } else if (o === 'ipproto') {
      const v = w.value(t, 'an IP protocol number or name (tcp, udp, icmp, ...)');
      if (!v) break;
      const n = Object.hasOwn(IP_PROTOCOLS, v.text) ? IP_PROTOCOLS[v.text] : parseUnsigned(v.text, false);
      if (n === undefined || n > 255) {
        if (/^\d/.test(v.text)) w.error(v, `invalid ipproto '${v.text}' in ${ctx.list}: expected a number from 0 to 255`);
        else w.error(v, `ipproto '${v.text}' in ${ctx.list} is not supported by keepwatch: /etc/protocols is not read; write the number (or one of ${Object.keys(IP_PROTOCOLS).join(', ')})`);
      } else ipProto = n;
    } else if (o === 'sport') sport = range(t, 65535, 'a port or a range START-END (0-65535)');
    else if (o === 'dport') dport = range(t, 65535, 'a port or a range START-END (0-65535)');
    else if (o === 'no_track') track = false;
    else if (Object.hasOwn(RULE_REFUSED, o)) {
      if (o === 'track_group' && !ctx.isStatic) w.error(t, `'track_group' in ${ctx.list} is only for static rules`);
      else w.refuse(t, RULE_REFUSED[o]!);
    } else {
      let a = t;
      if (a.text === 'type') {
        const v = w.value(a, 'goto, nop, blackhole, unreachable or prohibit');
        if (!v) break;
        a = v;
      }
      if (a.text === 'goto') {
        const n = w.number(a, 'a rule preference from 0 to 4294967295', 0xffffffff);
        if (n !== undefined) {
          gotoTarget = n;
          setAction('goto', a);
        }
      } else if (a.text === 'nop') setAction('nop', a);
      else if (a.text === 'blackhole' || a.text === 'unreachable' || a.text === 'prohibit') setAction(a.text, a);
      else if (Object.hasOwn(RTN_TYPES, a.text)) w.error(a, `invalid rule action '${a.text}' in ${ctx.list}: expected table, goto, nop, blackhole, unreachable or prohibit`);
      else w.error(a, `unknown rule option '${a.text}' in ${ctx.list}${suggest(w, a.text, RULE_OPTIONS)}`);
    }
  }
  if (w.failed) return undefined;
  const fam = family.value ?? 'ipv4';
  if (!action) return w.error(at, `rule '${lineText(toks)}' in ${ctx.list} has no action: add table N, goto N, nop, blackhole, unreachable or prohibit (keepalived drops such a rule)`);
  const act: { value: RuleAction; token: Token } = action;
  if (act.value === 'goto') {
    if (priority === undefined) return w.error(act.token, `'goto ${gotoTarget}' in ${ctx.list} needs a preference (keepalived refuses it too)`);
    if (priority >= gotoTarget!) return w.error(act.token, `'goto ${gotoTarget}' in ${ctx.list} must jump forward: the preference ${priority} is not below it`);
  }
  if (suppress && act.value !== 'table') return w.error(suppress.token, `'${suppress.token.text}' in ${ctx.list} needs a table action (keepalived refuses it too)`);
  if (l3mdev && table !== undefined) return w.error(act.token, `'l3mdev' in ${ctx.list} cannot go with a table (keepalived refuses it too)`);
  const fromPrefix = from ? toPrefix(from, fam, w) : undefined;
  const toPrefixed = to ? toPrefix(to, fam, w) : undefined;
  if ((from && !fromPrefix) || (to && !toPrefixed)) return undefined;
  if (track && protocol && protocol.value !== RTPROT_KEEPALIVED) {
    ctx.sink.warning(protocol.token.location, `a tracked rule has protocol ${RTPROT_KEEPALIVED} (keepalived): protocol ${protocol.value} is reset, as keepalived does; add no_track to keep it`);
  }
  if (priority === undefined) {
    priority = priorities.take(fam);
    ctx.sink.warning(at, `rule '${lineText(toks)}' has no preference: keepalived gives it ${priority}, and so does keepwatch; write 'preference N' so that rules stay in the order you mean`);
  }
  const prefixOrNothing = (p: PrefixConfig | undefined): PrefixConfig | undefined => (p && p.prefixLength > 0 ? p : undefined);
  const f = prefixOrNothing(fromPrefix);
  const d = prefixOrNothing(toPrefixed);
  const rule: RuleConfig = {
    family: fam,
    invert,
    priority,
    action: act.value,
    l3mdev,
    track,
    text: lineText(toks),
    location: at,
    ...(f ? { from: f } : {}),
    ...(d ? { to: d } : {}),
    ...(tos !== undefined ? { tos } : {}),
    ...(fwmark !== undefined ? { fwmark } : {}),
    ...(fwmask !== undefined ? { fwmask } : {}),
    ...(iif !== undefined ? { iif } : {}),
    ...(oif !== undefined ? { oif } : {}),
    ...(table !== undefined ? { table } : {}),
    ...(gotoTarget !== undefined ? { goto: gotoTarget } : {}),
    ...(suppress ? { suppressPrefixLength: suppress.value } : {}),
    ...(track ? { protocol: RTPROT_KEEPALIVED } : protocol ? { protocol: protocol.value } : {}),
    ...(ipProto !== undefined ? { ipProto } : {}),
    ...(sport ? { sport } : {}),
    ...(dport ? { dport } : {}),
    ...(uidRange ? { uidRange } : {}),
  };
  return rule;
}

/** The interfaces a route or rule names (`dev`, nexthop `dev`; `iif`, `oif`). */
export function routeDevices(r: RouteConfig): string[] {
  return [...new Set([...(r.device ? [r.device] : []), ...r.nexthops.flatMap((h) => (h.device ? [h.device] : []))])];
}
export function ruleDevices(r: RuleConfig): string[] {
  return [...new Set([...(r.iif ? [r.iif] : []), ...(r.oif ? [r.oif] : [])])];
}
