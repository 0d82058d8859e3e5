/**
 * Routes, rules and static addresses around the instances (the routers add and remove their own
 * `virtual_routes` / `virtual_rules` through the RouteManager port):
 *
 * - start: virtual routes and rules left by a crash are removed before the instances join (every
 *   instance starts as backup; an owner adds them back at once), like stale VIPs; then the
 *   `static_ipaddress`, `static_routes`, `static_rules` are set (addresses, routes, rules: keepalived's
 *   order, vrrp_daemon.c start_vrrp). Adding what is there already is no error, so a restart after
 *   a crash leaves static entries in place without a gap.
 * - reload: static entries no longer configured are removed, new ones added (unchanged ones stay).
 * - stop: static entries are removed (rules, routes, addresses), as keepalived's stop_vrrp does.
 *   After a crash (emergencyStop) the virtual ones are removed like the VIPs, the static ones stay
 *   (as a crashed keepalived leaves them; the restarted agent finds them in place).
 * - the kernel's answers: a log line per failure and a `route-result` event (metrics count them),
 *   a warning and a `route-repaired` event when a tracked entry someone deleted is put back.
 * - /v1/state: each instance's virtual routes and rules and whether the kernel holds them.
 */
import type { KeepalivedConfig, SourceLocation } from '../config/model.js';
import { routeDevices, ruleDevices } from '../config/routes.js';
import { routingEntries } from '../core/router.js';
import type { AgentBus, RoutingRef } from '../events/index.js';
import { STATIC_OWNER, type Clock, type RouteManager, type RoutingEntry } from '../ports/index.js';
import { describeEntry } from '../adapters/netlink-routes.js';
import type { Logger } from '../observability/logging.js';
import { SPAN_ATTRIBUTES as A } from '../observability/names.js';

/** The static entries of a config, in keepalived's order: addresses, routes, rules. */
export function staticEntries(config: Pick<KeepalivedConfig, 'staticAddresses' | 'staticRoutes' | 'staticRules'>): RoutingEntry[] {
  return [
    ...config.staticAddresses.map((address): RoutingEntry => ({ kind: 'address', owner: STATIC_OWNER, interface: address.device, address })),
    ...config.staticRoutes.map((route): RoutingEntry => ({ kind: 'route', owner: STATIC_OWNER, route })),
    ...config.staticRules.map((rule): RoutingEntry => ({ kind: 'rule', owner: STATIC_OWNER, rule })),
  ];
}

/** Every virtual route and rule of a config. */
export function virtualEntries(config: Pick<KeepalivedConfig, 'instances'>): RoutingEntry[] {
  return config.instances.flatMap(routingEntries);
}

function locationOf(e: RoutingEntry): SourceLocation {
  return e.kind === 'route' ? e.route.location : e.kind === 'rule' ? e.rule.location : e.address.location;
}

/** A port entry as events carry it. */
export function refOf(e: RoutingEntry): RoutingRef {
  const text = e.kind === 'route' ? e.route.text : e.kind === 'rule' ? e.rule.text : `${e.address.address}/${e.address.prefixLength} dev ${e.interface}`;
  return { kind: e.kind, owner: e.owner, text, location: locationOf(e) };
}

/** Same entry, ignoring where it was written (for a reload's diff). */
function identity(e: RoutingEntry): string {
  const strip = { location: undefined, text: undefined };
  return JSON.stringify(e.kind === 'route' ? { k: 'route', ...e.route, ...strip } : e.kind === 'rule' ? { k: 'rule', ...e.rule, ...strip } : { k: 'address', i: e.interface, ...e.address, location: undefined });
}

/**
 * `file:line:col: interface 'X' of ... does not exist on this host` for every interface a route,
 * rule or static address names that the host lacks (keepalived refuses those lines too, without
 * dynamic_interfaces).
 */
export function missingRoutingInterfaces(config: KeepalivedConfig, exists: (name: string) => boolean): string[] {
  const out: string[] = [];
  const check = (names: readonly string[], loc: SourceLocation, what: string): void => {
    for (const n of names) if (!exists(n)) out.push(`${loc.file}:${loc.line}:${loc.column}: interface '${n}' of ${what} does not exist on this host`);
  };
  for (const i of config.instances) {
    for (const r of i.virtualRoutes) check(routeDevices(r), r.location, `a virtual route of vrrp_instance ${i.name}`);
    for (const r of i.virtualRules) check(ruleDevices(r), r.location, `a virtual rule of vrrp_instance ${i.name}`);
  }
  for (const a of config.staticAddresses) check([a.device], a.location, 'a static address');
  for (const r of config.staticRoutes) check(routeDevices(r), r.location, 'a static route');
  for (const r of config.staticRules) check(ruleDevices(r), r.location, 'a static rule');
  return out;
}

export interface RoutingDeps {
  readonly log: Logger;
  readonly clock: Pick<Clock, 'now'>;
  readonly bus: AgentBus;
}

/** The RouteManager with what the agent needs besides (adapters/netlink-routes.ts NetlinkRoutes). */
export interface RoutingPort extends RouteManager {
  /** Whether the kernel holds a route or rule now. */
  present(entry: RoutingEntry): boolean | undefined;
  /** Resolves once every request asked for so far is answered. */
  settle(): Promise<void>;
  close(): void;
}

export class Routing {
  /** Set while start() removes leftovers: a removal that changed something is logged. */
  private reconciling = false;
  private routes: RoutingPort | undefined;

  constructor(private readonly deps: RoutingDeps) {}

  /** The adapter (compose.ts opens it after NetlinkHost, whose callbacks land here). */
  attach(routes: RoutingPort): void {
    this.routes = routes;
  }

  /** The RouteManager the routers use. */
  get port(): RoutingPort {
    if (!this.routes) throw new Error('routing: no RouteManager attached');
    return this.routes;
  }

  /** The kernel's answer to one request. */
  onResult(entry: RoutingEntry, action: 'add' | 'remove', error: Error | undefined, durationMs: number, changed: boolean): void {
    const { log, bus, clock } = this.deps;
    const ref = refOf(entry);
    const fields = { [A.instance]: entry.owner || undefined, kind: entry.kind, route: ref.text, action, location: `${ref.location.file}:${ref.location.line}:${ref.location.column}` };
    if (error) log.error({ event: 'route-failed', ...fields }, `${entry.owner ? `(${entry.owner}) ` : ''}${error.message}`);
    else if (this.reconciling && action === 'remove' && changed) log.warn({ event: 'route-reconciled', ...fields }, `(${entry.owner}) removing ${describeEntry(entry)} left (by a crash?) before joining`);
    bus.emit({ type: 'route-result', entry: ref, action, ...(error ? { error } : {}), durationMs, atMs: clock.now() });
  }

  onRepaired(entry: RoutingEntry): void {
    const ref = refOf(entry);
    this.deps.log.warn({ event: 'route-repaired', [A.instance]: entry.owner || undefined, kind: entry.kind, route: ref.text }, `${entry.owner ? `(${entry.owner}) ` : ''}${describeEntry(entry)} was deleted by someone else: put back`);
    this.deps.bus.emit({ type: 'route-repaired', entry: ref, atMs: this.deps.clock.now() });
  }

  onError(error: Error): void {
    this.deps.bus.emit({ type: 'agent-error', error, atMs: this.deps.clock.now() });
  }

  /** Before the instances start: leftovers of ours removed, static entries set. */
  async start(config: KeepalivedConfig): Promise<void> {
    const port = this.port;
    this.reconciling = true;
    try {
      for (const e of virtualEntries(config).reverse()) port.remove(e);
      await port.settle();
    } finally {
      this.reconciling = false;
    }
    for (const e of staticEntries(config)) port.add(e);
    await port.settle();
  }

  /** SIGHUP: static entries follow the new config (virtual ones follow their instances). */
  reload(before: KeepalivedConfig, after: KeepalivedConfig): void {
    const port = this.port;
    const next = new Set(staticEntries(after).map(identity));
    const prev = new Set(staticEntries(before).map(identity));
    for (const e of staticEntries(before).reverse()) if (!next.has(identity(e))) port.remove(e);
    for (const e of staticEntries(after)) if (!prev.has(identity(e))) port.add(e);
  }

  /** SIGTERM, after the instances stopped: the static entries go (rules, routes, addresses). */
  stopStatic(config: KeepalivedConfig): void {
    for (const e of staticEntries(config).reverse()) this.port.remove(e);
  }

  /** After a crash: every virtual route and rule of the config goes, whatever the routers did. */
  releaseVirtual(config: KeepalivedConfig): void {
    for (const e of virtualEntries(config).reverse()) this.port.remove(e);
  }

  close(): void {
    this.routes?.close();
  }

  /** Resolves once every request asked for so far is answered. */
  settle(): Promise<void> {
    return this.routes?.settle() ?? Promise.resolve();
  }

  /** /v1/state: an instance's virtual routes and rules, and whether the kernel holds them now. */
  stateOf(config: KeepalivedConfig, instance: string): Record<string, unknown> {
    const i = config.instances.find((x) => x.name === instance);
    if (!i || (i.virtualRoutes.length === 0 && i.virtualRules.length === 0)) return {};
    const present = (e: RoutingEntry): boolean => this.routes?.present(e) ?? false;
    return {
      virtualRoutes: i.virtualRoutes.map((route) => ({ route: route.text, present: present({ kind: 'route', owner: i.name, route }) })),
      virtualRules: i.virtualRules.map((rule) => ({ rule: rule.text, present: present({ kind: 'rule', owner: i.name, rule }) })),
    };
  }
}
