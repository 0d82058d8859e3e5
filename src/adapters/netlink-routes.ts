/**
 * Routes, rules and static addresses through rtnetlink (`netlink`): the RouteManager port.
 *
 * - Requests run one at a time, in the order asked (a route added then removed at once is never
 *   left behind), and an add waits until the VIP changes asked for before it are answered, so a
 *   route may take a VIP as its `src`.
 * - Idempotent: adding what is there (EEXIST) and removing what is gone (ESRCH, ENOENT,
 *   EADDRNOTAVAIL) count as done. Other failures are reported with the entry (`onResult`).
 * - Routes are installed as keepalived installs them (vrrp_iproute.c `netlink_route`): protocol 18
 *   unless told otherwise, scope universe unless told, NLM_F_CREATE (+ EXCL for `add`, APPEND for
 *   `append`); removed with scope NOWHERE, so that the kernel matches any scope. Rules as
 *   vrrp_iprule.c `netlink_rule` (NLM_F_CREATE|NLM_F_EXCL).
 * - Presence and repair: every CHECK_INTERVAL_MS each tracked route and rule we hold is asked for
 *   again (EEXIST: there; added: someone had deleted it, a repair; refused: absent, reported once).
 *   Not the kernel's notifications: see NetlinkRoutes. Static addresses are set and removed only.
 *
 * rtnetlink messages are `{ data, attrs }` (netlink's rt module); enum fields of messages the
 * kernel sends come back as names ('UNICAST'), ours go out as numbers. The keys (`routeKey`,
 * `ruleKey`) identify an entry the same way in both, so a kernel message can be matched with ours.
 */
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseIp } from '../protocol/inet.js';
import type { RouteManager, RoutingEntry } from '../ports/index.js';
import { HostError, describe, isPermissionError, privilegeError } from './errors.js';

const require = createRequire(import.meta.url);

type Route = Extract<RoutingEntry, { kind: 'route' }>['route'];
type Rule = Extract<RoutingEntry, { kind: 'rule' }>['rule'];

const AF_INET = 2;
const AF_INET6 = 10;
/** NLM_F_* of a NEW request (linux/netlink.h). */
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const NLM_F_APPEND = 0x800;
const RT_SCOPE_NOWHERE = 255;
/** IPv6 routes without a metric get this one (IP6_RT_PRIO_USER). */
const IP6_RT_PRIO_USER = 1024;
const RTNH_F_ONLINK = 4;
const RTA_GATEWAY = 5;

const RTN: Readonly<Record<Route['type'], number>> = { unicast: 1, local: 2, blackhole: 6, unreachable: 7, prohibit: 8, throw: 9 };
/** netlink's RouteType names (parsed kernel messages) → RTN_* numbers. */
const RTN_BY_NAME: Readonly<Record<string, number>> = {
  UNSPEC: 0, UNICAST: 1, LOCAL: 2, BROADCAST: 3, ANYCAST: 4, MULTICAST: 5, BLACKHOLE: 6, UNREACHABLE: 7, PROHIBIT: 8, THROW: 9, NAT: 10, XRESOLVE: 11,
};
/** netlink's RouteProtocol names → RTPROT_* numbers (unknown numbers come back as numbers). */
const RTPROT_BY_NAME: Readonly<Record<string, number>> = {
  REDIRECT: 1, KERNEL: 2, BOOT: 3, STATIC: 4, GATED: 8, RA: 9, MRT: 10, ZEBRA: 11, BIRD: 12, DNROUTED: 13, XORP: 14, NTK: 15, DHCP: 16, MROUTED: 17, BABEL: 42, BGP: 186, ISIS: 187, OSPF: 188, RIP: 189, EIGRP: 192,
};
const FR_ACT: Readonly<Record<Rule['action'], number>> = { table: 1, goto: 2, nop: 3, blackhole: 6, unreachable: 7, prohibit: 8 };
const FR_ACT_BY_NAME: Readonly<Record<string, number>> = { unspec: 0, toTbl: 1, goto: 2, nop: 3, res3: 4, res4: 5, blackhole: 6, unreachable: 7, prohibit: 8 };
/** RTAX_* of the metrics keepwatch sets (linux/rtnetlink.h). */
const RTAX: Readonly<Record<string, number>> = {
  mtu: 2, window: 3, ssthresh: 6, cwnd: 7, advmss: 8, reordering: 9, hoplimit: 10, initcwnd: 11, features: 12, initrwnd: 14, quickack: 15, congctl: 16, fastopen_no_cookie: 17,
};
/** Model metric names → netlink's RouteMetrics fields. */
const METRIC_FIELD: Readonly<Record<string, string>> = {
  mtu: 'mtu', window: 'window', ssthresh: 'ssthresh', cwnd: 'cwnd', advmss: 'advmss', reordering: 'reordering', hoplimit: 'hoplimit',
  initcwnd: 'initcwnd', features: 'features', initrwnd: 'initrwnd', quickack: 'quickack', fastopen_no_cookie: 'fastopenNoCookie',
};
const SCOPES: Readonly<Record<string, number>> = { global: 0, site: 200, link: 253, host: 254, nowhere: 255 };

const LE = endianness() === 'LE';
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  if (LE) b.writeUInt32LE(n >>> 0);
  else b.writeUInt32BE(n >>> 0);
  return b;
}
function ip(text: string): Buffer {
  return Buffer.from(parseIp(text)!.bytes);
}
const familyNumber = (f: 'ipv4' | 'ipv6'): number => (f === 'ipv4' ? AF_INET : AF_INET6);

/** One request: rtmsg / fib_rule_hdr / ifaddrmsg fields and attributes, as netlink's rt module takes them. */
export interface NlRequest {
  readonly data: Record<string, unknown>;
  readonly attrs: Record<string, unknown>;
}

/** Interface names to indexes (NetlinkHost's cache). */
export type IfIndex = (name: string) => number | undefined;

/** `struct rtnexthop` + RTA_GATEWAY, one per hop (RTA_MULTIPATH's payload). */
export function multipathPayload(hops: Route['nexthops'], ifindex: IfIndex): Buffer | string {
  const parts: Buffer[] = [];
  for (const h of hops) {
    const gw = h.via ? ip(h.via) : undefined;
    const attrLen = gw ? 4 + gw.length : 0;
    const len = 8 + ((attrLen + 3) & ~3);
    const b = Buffer.alloc(len);
    const index = h.device ? ifindex(h.device) : 0;
    if (index === undefined) return `interface ${h.device} does not exist`;
    if (LE) {
      b.writeUInt16LE(len, 0);
      b.writeInt32LE(index, 4);
    } else {
      b.writeUInt16BE(len, 0);
      b.writeInt32BE(index, 4);
    }
    b[2] = h.onlink ? RTNH_F_ONLINK : 0;
    b[3] = h.weight !== undefined ? h.weight - 1 : 0;
    if (gw) {
      if (LE) {
        b.writeUInt16LE(attrLen, 8);
        b.writeUInt16LE(RTA_GATEWAY, 10);
      } else {
        b.writeUInt16BE(attrLen, 8);
        b.writeUInt16BE(RTA_GATEWAY, 10);
      }
      gw.copy(b, 12);
    }
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/**
 * The RTM_NEWROUTE / RTM_DELROUTE request for a route, or why it can't be made (an interface
 * that does not exist).
 */
export function routeRequest(r: Route, action: 'add' | 'remove', ifindex: IfIndex): NlRequest | string {
  const family = familyNumber(r.family);
  const data: Record<string, unknown> = {
    family,
    dstLen: r.destination.prefixLength,
    srcLen: r.from?.prefixLength ?? 0,
    tos: r.tos ?? 0,
    table: r.table < 256 ? r.table : 0,
    protocol: r.protocol,
    scope: action === 'remove' ? RT_SCOPE_NOWHERE : (r.scope ?? 0),
    type: RTN[r.type],
    ...(r.onlink ? { flags: { __unknown: RTNH_F_ONLINK } } : {}),
  };
  const attrs: Record<string, unknown> = {};
  if (r.destination.prefixLength > 0) attrs.dst = ip(r.destination.address);
  if (r.from && r.from.prefixLength > 0) attrs.src = ip(r.from.address);
  if (r.table >= 256) attrs.table = r.table;
  if (r.source) attrs.prefsrc = ip(r.source);
  if (r.via) attrs.gateway = ip(r.via);
  if (r.device) {
    const index = ifindex(r.device);
    if (index === undefined) return `interface ${r.device} does not exist`;
    attrs.oif = index;
  }
  if (r.metric !== undefined) attrs.priority = r.metric;
  if (r.nexthops.length > 0) {
    const mp = multipathPayload(r.nexthops, ifindex);
    if (typeof mp === 'string') return mp;
    attrs.multipath = mp;
  }
  if (action === 'add') {
    const metrics: Record<string, Buffer> = {};
    for (const [name, value] of Object.entries(r.metrics)) if (value !== undefined) metrics[METRIC_FIELD[name]!] = u32(value);
    if (r.congctl) metrics.ccAlgo = Buffer.from(r.congctl);
    const lock = r.locked.reduce((bits, name) => bits | (1 << RTAX[name]!), 0);
    if (lock) metrics.lock = u32(lock);
    if (Object.keys(metrics).length > 0) attrs.metrics = metrics;
    if (r.pref !== undefined) attrs.pref = Buffer.from([r.pref]);
  }
  return { data, attrs };
}

/** The RTM_NEWRULE / RTM_DELRULE request for a rule (vrrp_iprule.c `netlink_rule`). */
export function ruleRequest(r: Rule): NlRequest {
  const table = r.action === 'table' && !r.l3mdev ? (r.table ?? 254) : 0;
  const data: Record<string, unknown> = {
    family: familyNumber(r.family),
    dstLen: r.to?.prefixLength ?? 0,
    srcLen: r.from?.prefixLength ?? 0,
    tos: r.tos ?? 0,
    table: table < 256 ? table : 0,
    action: FR_ACT[r.action],
    ...(r.invert ? { flags: { invert: true } } : {}),
  };
  const attrs: Record<string, unknown> = { priority: r.priority };
  if (table >= 256) attrs.table = table;
  if (r.from) attrs.src = ip(r.from.address);
  if (r.to) attrs.dst = ip(r.to.address);
  if (r.fwmark !== undefined) attrs.fwmark = r.fwmark;
  if (r.fwmask !== undefined) attrs.fwmask = r.fwmask;
  if (r.iif !== undefined) attrs.iifname = r.iif;
  if (r.oif !== undefined) attrs.oifname = r.oif;
  if (r.goto !== undefined) attrs.goto = r.goto;
  if (r.l3mdev) attrs.l3Mdev = 1;
  if (r.suppressPrefixLength !== undefined) attrs.suppressPrefixlen = u32(r.suppressPrefixLength);
  if (r.protocol !== undefined) attrs.protocol = r.protocol;
  if (r.ipProto !== undefined) attrs.ipProto = r.ipProto;
  if (r.sport) attrs.sportRange = { start: r.sport.start, end: r.sport.end };
  if (r.dport) attrs.dportRange = { start: r.dport.start, end: r.dport.end };
  if (r.uidRange) attrs.uidRange = { start: r.uidRange.start, end: r.uidRange.end };
  return { data, attrs };
}

/** The RTM_NEWADDR / RTM_DELADDR request for a static address (as NetlinkHost's for a VIP). */
export function addressRequest(e: Extract<RoutingEntry, { kind: 'address' }>, action: 'add' | 'remove', ifindex: IfIndex): NlRequest | string {
  const a = e.address;
  const index = ifindex(e.interface);
  if (index === undefined) return `interface ${e.interface} does not exist`;
  const v4 = a.family === 'ipv4';
  const bytes = ip(a.address);
  const scope = SCOPES[a.scope] ?? (Number.isInteger(Number(a.scope)) ? Number(a.scope) : 0);
  const data = { family: v4 ? AF_INET : AF_INET6, prefixlen: a.prefixLength, index, scope, ...(v4 ? {} : { flags: { nodad: true } }) };
  const attrs: Record<string, unknown> = v4 ? { local: bytes, address: bytes } : { address: bytes };
  if (action === 'add' && v4 && a.broadcast) attrs.broadcast = ip(a.broadcast);
  if (action === 'add' && v4 && a.label) attrs.label = a.label;
  return { data, attrs };
}

interface Parsed {
  data: Record<string, unknown>;
  attrs: Record<string, unknown>;
}

const hex = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString('hex') : '');
const num = (v: unknown, names: Readonly<Record<string, number>>): number => (typeof v === 'number' ? v : typeof v === 'string' ? (names[v] ?? -1) : 0);

/**
 * What identifies a route in the kernel (table, destination, source prefix, tos, metric, type,
 * protocol, gateway), the same from our request and from a notification: kernel defaults filled
 * in (an IPv6 metric of 0 is 1024; the table of a long id is in the attribute).
 */
export function routeKey(m: Parsed): string {
  const d = m.data;
  const a = m.attrs;
  const family = Number(d.family);
  const table = (a.table as number | undefined) ?? Number(d.table);
  const prio = (a.priority as number | undefined) || (family === AF_INET6 ? IP6_RT_PRIO_USER : 0);
  const gw = a.gateway ? hex(a.gateway) : a.multipath ? 'multipath' : '';
  return `r|${family}|${table}|${hex(a.dst)}/${Number(d.dstLen)}|${hex(a.src)}/${Number(d.srcLen)}|${Number(d.tos)}|${prio}|${num(d.type, RTN_BY_NAME)}|${num(d.protocol, RTPROT_BY_NAME)}|${gw}`;
}

/** What identifies a rule (priority, action, table, selectors, protocol), from a request or a notification. */
export function ruleKey(m: Parsed): string {
  const d = m.data;
  const a = m.attrs;
  const table = (a.table as number | undefined) ?? Number(d.table);
  const mark = (a.fwmark as number | undefined) ?? 0;
  const mask = (a.fwmask as number | undefined) ?? (mark ? 0xffffffff : 0);
  const invert = (d.flags as { invert?: boolean } | undefined)?.invert ? 1 : 0;
  return `u|${Number(d.family)}|${(a.priority as number | undefined) ?? 0}|${num(d.action, FR_ACT_BY_NAME)}|${table}|${(a.goto as number | undefined) ?? ''}|${hex(a.src)}/${Number(d.srcLen)}|${hex(a.dst)}/${Number(d.dstLen)}|${(a.iifname as string | undefined) ?? ''}|${(a.oifname as string | undefined) ?? ''}|${mark}/${mask}|${Number(d.tos)}|${invert}|${(a.protocol as number | undefined) ?? 0}`;
}

interface RtSocket {
  newRoute(data: object, attrs: object, options?: object): Promise<unknown>;
  delRoute(data: object, attrs: object, options?: object): Promise<unknown>;
  newRule(data: object, attrs: object, options?: object): Promise<unknown>;
  delRule(data: object, attrs: object, options?: object): Promise<unknown>;
  newAddress(data: object, attrs: object, options?: object): Promise<unknown>;
  delAddress(data: object, attrs: object, options?: object): Promise<unknown>;
  socket: { on(event: 'error', fn: (err: unknown) => void): void; close(): void };
}
interface NetlinkModule {
  createRtNetlink(): RtSocket;
}

export interface NetlinkRoutesDeps {
  readonly ifindex: IfIndex;
  /** Whether an interface's link is up (a tracked entry on a link that is down is not checked). */
  linkUp(name: string): boolean;
  /** Resolves once the VIP changes asked for so far are answered. */
  addressesSettled(): Promise<void>;
  /** `changed`: the kernel did something (not "already there" / "already gone", nor a failure). */
  onResult(entry: RoutingEntry, action: 'add' | 'remove', error: Error | undefined, durationMs: number, changed: boolean): void;
  onRepaired(entry: RoutingEntry): void;
  onError(error: Error): void;
  /** How often the tracked entries we hold are checked (default CHECK_INTERVAL_MS). */
  readonly checkIntervalMs?: number;
}

/** What the kernel may answer that means "already done". */
const DONE_ADD = /EEXIST/;
const DONE_REMOVE = /ESRCH|ENOENT|EADDRNOTAVAIL|ENODEV/;
/** The tracked routes and rules we hold are checked this often (one request each)... */
export const CHECK_INTERVAL_MS = 2000;
/** ...or less often with many: at most one check per this many ms on average (1000 routes: every 5 s, ~1 % of a core). */
export const CHECK_SPACING_MS = 5;

/**
 * The RouteManager on rtnetlink. Why a check and not the kernel's notifications: the `netlink`
 * module aborts the process when a socket's receive queue overflows (libuv reports POLLERR; its
 * native handler then throws in C++), and a socket joined to the route groups overflows whenever a
 * routing daemon loads a table. A check is the add request again: EEXIST says the entry is there,
 * success says it was missing and is back (a repair).
 */
export class NetlinkRoutes implements RouteManager {
  private chain: Promise<void> = Promise.resolve();
  /** Entries we hold (added, not removed since), by kernel key. */
  private readonly wanted = new Map<string, RoutingEntry>();
  /** Kernel keys of every route and rule we were asked about, and whether the kernel held it at our last request. */
  private readonly presentByKey = new Map<string, boolean>();
  /** Keys whose last check failed (its error reported once, until it succeeds). */
  private readonly failing = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  private constructor(
    private readonly cmd: RtSocket,
    private readonly deps: NetlinkRoutesDeps,
  ) {}

  static open(deps: NetlinkRoutesDeps): NetlinkRoutes {
    const nl = require('netlink') as NetlinkModule;
    let cmd: RtSocket;
    try {
      cmd = nl.createRtNetlink();
    } catch (err) {
      throw new HostError('netlink', `cannot open rtnetlink for routes and rules: ${describe(err)}`, { cause: err });
    }
    cmd.socket.on('error', (err) => deps.onError(new HostError('netlink', `rtnetlink (routes and rules): ${describe(err)}`, { cause: err })));
    return new NetlinkRoutes(cmd, deps);
  }

  add(entry: RoutingEntry): void {
    const key = this.keyOf(entry);
    if (key) {
      this.wanted.set(key, entry);
      this.failing.delete(key);
      this.startChecks();
    }
    this.enqueue(entry, 'add');
  }

  remove(entry: RoutingEntry): void {
    const key = this.keyOf(entry);
    if (key) {
      this.wanted.delete(key);
      this.failing.delete(key);
    }
    this.enqueue(entry, 'remove');
  }

  /**
   * Whether the kernel holds the route or rule: as of the last check for a tracked one we hold
   * (at most a check interval old), as of our last request otherwise; false when never asked.
   * Static addresses: undefined (not watched).
   */
  present(entry: RoutingEntry): boolean | undefined {
    if (entry.kind === 'address') return undefined;
    const key = this.keyOf(entry);
    return key ? (this.presentByKey.get(key) ?? false) : false;
  }

  /** Resolves once every request asked for so far is answered. */
  settle(): Promise<void> {
    return this.chain;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      this.cmd.socket.close();
    } catch {
      /* best effort */
    }
  }

  /** The kernel key of a route or rule (undefined for static addresses). */
  private keyOf(entry: RoutingEntry): string | undefined {
    if (entry.kind === 'rule') return ruleKey(ruleRequest(entry.rule));
    if (entry.kind === 'address') return undefined;
    // The key leaves the interface out: resolve it to anything.
    const req = routeRequest(entry.route, 'add', () => 0);
    return typeof req === 'string' ? undefined : routeKey(req);
  }

  private enqueue(entry: RoutingEntry, action: 'add' | 'remove'): void {
    const run = async (): Promise<void> => {
      if (this.closed) return;
      if (action === 'add') await this.deps.addressesSettled();
      const r = await this.request(entry, action);
      // A failed add is reported here; the checks that follow stay quiet until it is back.
      const key = action === 'add' ? this.keyOf(entry) : undefined;
      if (key && r.error) this.failing.add(key);
      else if (key) this.failing.delete(key);
      this.deps.onResult(entry, action, r.error, r.durationMs, r.changed);
    };
    this.chain = this.chain.then(run).catch((err: unknown) => this.deps.onError(new Error(`routes and rules: ${describe(err)}`)));
  }

  /** One request; the presence it implies is recorded. */
  private async request(entry: RoutingEntry, action: 'add' | 'remove'): Promise<{ error: Error | undefined; changed: boolean; durationMs: number }> {
    const started = performance.now();
    const req = entry.kind === 'route' ? routeRequest(entry.route, action, this.deps.ifindex) : entry.kind === 'rule' ? ruleRequest(entry.rule) : addressRequest(entry, action, this.deps.ifindex);
    const key = this.keyOf(entry);
    if (typeof req === 'string') {
      // A missing interface: nothing of ours can be there.
      if (key) this.presentByKey.set(key, false);
      return { error: action === 'add' ? new HostError('interface', `${describeEntry(entry)}: ${req}`) : undefined, changed: false, durationMs: 0 };
    }
    let error: Error | undefined;
    let changed = true;
    try {
      const flags = NLM_F_CREATE | (entry.kind === 'rule' || entry.kind === 'address' || entry.route.mode === 'add' ? NLM_F_EXCL : entry.route.mode === 'append' ? NLM_F_APPEND : 0);
      const opts = { flags };
      if (entry.kind === 'route') await (action === 'add' ? this.cmd.newRoute(req.data, req.attrs, opts) : this.cmd.delRoute(req.data, req.attrs));
      else if (entry.kind === 'rule') await (action === 'add' ? this.cmd.newRule(req.data, req.attrs, opts) : this.cmd.delRule(req.data, req.attrs));
      else await (action === 'add' ? this.cmd.newAddress(req.data, req.attrs, opts) : this.cmd.delAddress(req.data, req.attrs));
    } catch (err) {
      const m = describe(err);
      changed = false;
      if (!(action === 'add' ? DONE_ADD : DONE_REMOVE).test(m)) {
        const what = `${action === 'add' ? 'adding' : 'removing'} ${describeEntry(entry)}`;
        error = isPermissionError(err) ? privilegeError('CAP_NET_ADMIN', what, err) : new HostError('netlink', `${what} failed: ${m}`, { cause: err });
      }
    }
    if (key) this.presentByKey.set(key, action === 'add' ? !error : false);
    return { error, changed, durationMs: performance.now() - started };
  }

  /** The next check, unless one is due already (a check runs after the one before has ended). */
  private startChecks(): void {
    if (this.timer || this.closed) return;
    const delayMs = Math.max(this.deps.checkIntervalMs ?? CHECK_INTERVAL_MS, this.wanted.size * CHECK_SPACING_MS);
    this.timer = setTimeout(() => this.checkAll(), delayMs);
    this.timer.unref();
  }

  /**
   * Every tracked route and rule we hold is asked for again, in the request order: there
   * (EEXIST) → present; missing and added back → a repair; refused → absent, its error reported
   * once (not at every check) until it is back. An entry whose interface is down is skipped: the
   * kernel flushed it with the link, the instance's interface tracking takes over, and it comes
   * back at the first check after the link does.
   */
  private checkAll(): void {
    this.timer = undefined;
    if (this.closed) return;
    const entries = [...this.wanted.entries()].filter(([, e]) => (e.kind === 'route' ? e.route.track : e.kind === 'rule' ? e.rule.track : false));
    if (entries.length === 0) return;
    const run = async (): Promise<void> => {
      for (const [key, entry] of entries) {
        // Removed (or replaced) since: no longer ours to check.
        if (this.closed || this.wanted.get(key) !== entry) continue;
        const devices = entry.kind === 'route' ? [entry.route.device, ...entry.route.nexthops.map((h) => h.device)] : entry.kind === 'rule' ? [] : [];
        if (devices.some((d) => d !== undefined && !this.deps.linkUp(d))) {
          this.presentByKey.set(key, false);
          continue;
        }
        const r = await this.request(entry, 'add');
        if (r.error) {
          if (!this.failing.has(key)) this.deps.onResult(entry, 'add', r.error, r.durationMs, false);
          this.failing.add(key);
        } else if (r.changed) {
          this.failing.delete(key);
          this.deps.onRepaired(entry);
        } else this.failing.delete(key);
      }
    };
    this.chain = this.chain
      .then(run)
      .catch((err: unknown) => this.deps.onError(new Error(`routes and rules check: ${describe(err)}`)))
      .finally(() => this.startChecks());
  }
}

/** `route 10.0.0.0/8 via 10.1.1.1 (file:line)` for messages. */
export function describeEntry(e: RoutingEntry): string {
  if (e.kind === 'address') return `static address ${e.address.address}/${e.address.prefixLength} on ${e.interface}`;
  const x = e.kind === 'route' ? e.route : e.rule;
  return `${e.kind} '${x.text}'`;
}
