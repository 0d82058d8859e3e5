/**
 * The agent's life: load and check what it needs, build it (compose.ts), start the parts in
 * order, stop them within a budget (SIGTERM), release everything after a crash, reload (SIGHUP,
 * reload.ts), and show its state (SIGUSR1).
 *
 * Start order: config, guard settings and script users (any error: nothing is built) → adapters
 * and subscribers (compose) → every interface checked → VIPs left by a crash removed → HTTP →
 * sockets and captures → link states → trackers' initial weights → instances → trackers → guard
 * → READY=1 to the service manager (service.ts: then STATUS= on transitions, WATCHDOG=1).
 */
import { existsSync } from 'node:fs';
import { uptime } from 'node:os';
import { loadConfig, ConfigError, summarizeInstance } from '../config/index.js';
import { SPAN_ATTRIBUTES as A } from '../observability/names.js';
import type { KeepalivedConfig, OperationsConfig } from '../config/model.js';
import type { KeepalivedInstanceView } from '../observability/state-dump.js';
import type { VrrpRouter } from '../core/router.js';
import { describe } from '../adapters/errors.js';
import { applyProcessSettings, checkNetNamespace, keepalivedView, startupDelayMs } from './operations.js';
import { DEFAULT_GUARD, loadGuardConfig, type GuardConfig } from '../guard/config.js';
import type { AgentMetrics } from '../observability/metrics.js';
import { startHttp, parseListen, DEFAULT_HTTP_LIMITS } from '../http/listen.js';
import { resolveScriptUsers } from '../tracking/users.js';
import { systemGetent } from '../adapters/process.js';
import { VERSION } from '../version.js';
import { compose, type AgentOptions, type Parts } from './compose.js';
import { HostWatch, allVips, reconcileStaleVips } from './host-watch.js';
import { Reloader, type ReloadResult } from './reload.js';
import { ServiceManagerLink } from './service.js';
import { scriptUsersOrThrow } from './users.js';
import { removeLinks, syncLinks } from './virtual-links.js';
import { NO_SERVICE_MANAGER } from '../adapters/sd-notify.js';

export type { AgentOptions };

export const DEFAULT_GUARD_CONFIG = '/etc/keepwatch/guard.conf';

function loadOrThrow(opts: AgentOptions): KeepalivedConfig {
  const result = loadConfig(opts.configPath, undefined, opts.configLoad);
  for (const d of result.diagnostics) if (d.severity === 'warning') opts.log.warn({ event: 'config-warning', location: `${d.location.file}:${d.location.line}:${d.location.column}` }, d.message);
  if (!result.config) throw new ConfigError(result.diagnostics);
  return result.config;
}

function loadGuard(opts: AgentOptions): GuardConfig {
  const path = opts.guardConfigPath ?? (existsSync(DEFAULT_GUARD_CONFIG) ? DEFAULT_GUARD_CONFIG : undefined);
  if (!path) return DEFAULT_GUARD;
  const r = loadGuardConfig(path);
  for (const d of r.diagnostics) if (d.severity === 'warning') opts.log.warn({ event: 'guard-config-warning' }, d.message);
  if (!r.config) throw new ConfigError(r.diagnostics);
  opts.log.info({ event: 'guard-config', file: path, peers: r.config.peers.length, sources: [...r.config.sources], witness: r.config.witness ?? null }, `split-brain guard settings from ${path}`);
  return r.config;
}

/** What main.ts hears while the agent starts, and what it tells it (Agent.start). */
export interface StartHooks {
  /**
   * The configuration is read and checked; nothing on the host has changed yet (pid files go here:
   * `use_pid_dir` and `instance` name them). A throw stops the start.
   */
  configured?(config: KeepalivedConfig): void;
  /** `-u` was given: the configuration's `umask` is not applied (keepalived: the command line wins). */
  readonly umaskFromCommandLine?: boolean;
}

export class Agent {
  private stopping = false;
  /** The planned stop's handover, while masters wait for their successors (stop()). */
  private handingOver: Promise<void> | undefined;
  /** vrrp_startup_delay / vrrp_delay_after_boot: the instances start when this fires. */
  private startTimer: ReturnType<typeof setTimeout> | undefined;
  private http: { close(): Promise<void> } | undefined;
  private readonly reloader: Reloader;
  /** systemd: READY, STATUS, WATCHDOG, RELOADING, STOPPING (service.ts). */
  private readonly service: ServiceManagerLink;

  private constructor(private readonly parts: Parts) {
    this.service = new ServiceManagerLink({ notifier: parts.opts.notifier ?? NO_SERVICE_MANAGER, clock: parts.clock, bus: parts.bus, routers: () => parts.routers() });
    this.reloader = new Reloader(parts, { started: () => this.service.reloading(), ended: (ok, why) => this.service.reloaded(ok, why) });
  }

  /** Loads the config, checks the host, reconciles leftover VIPs and starts every instance. */
  static async start(opts: AgentOptions, hooks: StartHooks = {}): Promise<Agent> {
    const config = loadOrThrow(opts);
    const guardConfig = loadGuard(opts);
    const users = scriptUsersOrThrow(opts.log, resolveScriptUsers(config, systemGetent));
    const ops = config.global.operations;
    checkNetNamespace(ops.netNamespace);
    applyProcessSettings(ops, opts.log, { umaskFromCommandLine: hooks.umaskFromCommandLine === true });
    // Pid files and the like (main.ts), with the umask above, before anything changes on the host.
    hooks.configured?.(config);
    const parts = await compose(opts, { config, guardConfig, users });
    const agent = new Agent(parts);
    await agent.boot();
    return agent;
  }

  private async boot(): Promise<void> {
    const { parts } = this;
    const { opts, log, netlink, engine, host } = parts;
    const { config } = parts.live;
    const ops = config.global.operations;
    // dynamic_interfaces: an instance whose interface does not exist yet starts in FAULT and waits
    // for it (its link appearing ends the fault: host-watch.ts); without it, the start stops here.
    const waiting = HostWatch.checkInterfaces(netlink, config);
    for (const i of waiting) {
      log.warn({ event: 'interface-missing', [A.instance]: i.name, [A.interface]: i.interface }, `(${i.name}) interface ${i.interface} does not exist: the instance starts in FAULT and waits for it (dynamic_interfaces)`);
    }
    if (opts.dumpConfig) for (const i of config.instances) log.info({ event: 'config-dump', [A.instance]: i.name }, summarizeInstance(i));
    // The notify FIFOs are made and opened (their readers started) before any instance runs; the
    // ones we made go when the process ends, whichever way (keepalived removes them at stop).
    parts.notifyFifos.sync();
    process.once('exit', () => parts.notifyFifos.close());
    // use_vmac / use_ipvlan links before any VIP goes on them (a crash's leftovers reused or removed).
    await syncLinks({ links: parts.links, interfaces: netlink, log }, config);
    netlink.setVipAddresses(allVips(config).map((v) => v.vip.address));
    await reconcileStaleVips(netlink, log, config.instances);
    // Accept mode: the nftables table before any VIP can be added (a crash's leftover replaced).
    await parts.firewall.start(config.instances);
    // Virtual routes and rules left by a crash go too; static_* are set (routing.ts).
    await parts.routing.start(config);
    if (opts.listen) {
      const listen = parseListen(opts.listen);
      this.http = await startHttp(listen, parts.http, { ...DEFAULT_HTTP_LIMITS, ...(opts.metricsMinIntervalMs !== undefined ? { metricsMinIntervalMs: opts.metricsMinIntervalMs } : {}) });
      log.info({ event: 'http', listen: `${listen.host}:${listen.port}` }, `serving /metrics, /healthz and /v1/state on ${listen.host}:${listen.port}`);
    }
    host.openSockets(config.instances);
    await parts.bfd.open();
    // virtual_server: checks and the data-plane table, on every node whatever its VRRP state (lvs.ts).
    await parts.lvs.start();
    const startInstances = () => {
      this.startTimer = undefined;
      if (this.stopping) return;
      for (const r of engine.routers.values()) host.applyLinkState(r);
      parts.live.trackers.apply();
      parts.bfd.apply();
      engine.start();
      parts.live.trackers.start();
      parts.bfd.start();
      parts.guard.start();
      log.info({ event: 'started', instances: config.instances.length, interfaces: engine.interfaces }, `keepwatch started: ${config.instances.map((i) => `${i.name} (vrid ${i.vrid} on ${i.interface})`).join(', ')}`);
    };
    // vrrp_startup_delay / vrrp_delay_after_boot (the first start only; a reload starts at once):
    // the instances stay in INIT meanwhile, sending and taking over nothing.
    const delayMs = startupDelayMs(ops, uptime() * 1000);
    if (delayMs > 0) {
      log.info({ event: 'startup-delay', delayMs: Math.round(delayMs) }, `the instances start in ${(delayMs / 1000).toFixed(3)} s (${ops.startupDelayMs >= delayMs ? 'vrrp_startup_delay' : 'vrrp_delay_after_boot'}); they stay in INIT until then`);
      this.startTimer = setTimeout(startInstances, delayMs);
    } else startInstances();
    // The process is up (HTTP, sockets, dumps): the service manager may consider us started; the
    // instances have started too, unless a start-up delay holds them in INIT.
    this.service.ready();
  }

  get routers(): VrrpRouter[] {
    return this.parts.routers();
  }

  get metrics(): AgentMetrics {
    return this.parts.observability.metrics;
  }

  /** Whether a VIP is on its interface right now (netlink's view). */
  vipPresent(iface: string, address: string): boolean {
    return this.parts.netlink.hasAddress(iface, address);
  }

  /** SIGHUP (reload.ts). */
  reload(): Promise<ReloadResult> {
    return this.reloader.reload();
  }

  /**
   * SIGTERM/SIGINT: masters send priority 0 and remove their VIPs; resolves when the kernel has
   * answered (or after `budgetMs`).
   */
  async stop(budgetMs = 800): Promise<void> {
    if (this.stopping || this.handingOver) return;
    const p = this.parts;
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = undefined;
    this.service.stopping('stopping: masters send priority 0 and remove their VIPs');
    p.guard.stop();
    p.alerts?.stop();
    p.live.trackers.stop();
    p.bfd.stop();
    // Make-before-break (issue 17): each master sends priority 0 but keeps its VIPs until its
    // successor advertises (at most Skew_Time of a priority-1 backup plus an interval); capture
    // and transport stay open for that. A second SIGTERM meanwhile waits for the same handover.
    this.handingOver ??= new Promise<void>((r) => p.engine.handOver(r));
    await this.handingOver;
    // static_ipaddress / static_routes / static_rules go at exit, as keepalived's do.
    p.routing.stopStatic(p.live.config);
    this.stopping = true;
    p.host.stopping = true;
    const settled = Promise.all([p.netlink.settle(), p.routing.settle()]);
    // Raw sends complete on the next poll of the socket; give them a moment too.
    await Promise.race([Promise.all([settled, new Promise((r) => setTimeout(r, 20))]), new Promise((r) => setTimeout(r, budgetMs))]);
    // The VIPs are gone: their drop rules may go (accept mode; ~20 ms).
    await Promise.race([p.firewall.remove(), new Promise((r) => setTimeout(r, 300))]);
    await Promise.race([p.lvs.stop(), new Promise((r) => setTimeout(r, 300))]);
    // notify_stop scripts get a short grace period; the exit must stay under a second.
    await Promise.race([p.notifier.idle(), new Promise((r) => setTimeout(r, 150))]);
    // The FIFOs got their STOP lines (written on the transitions): closed, and ours removed.
    p.notifyFifos.close();
    // Flush the election spans of the shutdown, within what is left of the budget.
    await Promise.race([Promise.allSettled([p.observability.shutdown(), this.http?.close()]), new Promise((r) => setTimeout(r, 300))]);
    p.capture.close();
    p.transport.close();
    // The priority-0 adverts went out on the use_vmac links and their VIPs are gone: the links go.
    p.linkRestorer.stop();
    await Promise.race([removeLinks({ links: p.links, log: p.log }), new Promise((r) => setTimeout(r, 300))]);
    p.links.close();
    p.netlink.close();
    p.routing.close();
    if (p.opts.logDetail) {
      // keepalived -D: "Stopped - used 0.123456 user time, 0.012345 system time".
      const cpu = process.cpuUsage();
      p.log.info({ event: 'stopped', cpuUserMs: Math.round(cpu.user / 1000), cpuSystemMs: Math.round(cpu.system / 1000) }, `keepwatch stopped - used ${(cpu.user / 1e6).toFixed(3)} s user time, ${(cpu.system / 1e6).toFixed(3)} s system time`);
    } else p.log.info({ event: 'stopped' }, 'keepwatch stopped');
  }

  /**
   * Fail-safe release after a crash (main.ts: uncaught exception, unhandled rejection): every
   * master sends priority 0 and leaves, and every VIP of ours still on an interface is removed,
   * each step on its own (an error in one skips none of the others), all within `budgetMs`.
   * Safe after, or in the middle of, stop(). The process exits after this.
   */
  async emergencyStop(reason: string, budgetMs = 1000): Promise<void> {
    const p = this.parts;
    const step = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        p.log.error({ err, event: 'emergency-stop', step: what }, `emergency stop: ${what} failed: ${describe(err)}`);
      }
    };
    p.log.warn({ event: 'emergency-stop', reason }, `emergency stop (${reason}): masters send priority 0, VIPs are removed`);
    // A start-up delay still running: the instances never start.
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = undefined;
    step('service manager', () => this.service.stopping(`crashed (${reason}): releasing priority and VIPs, then exiting`));
    const release = async () => {
      step('guard', () => p.guard.stop());
      step('alerts', () => p.alerts?.stop());
      step('trackers', () => p.live.trackers.stop());
      step('bfd', () => p.bfd.stop());
      // use_vmac links stay (the next start reuses them, as keepalived's); nothing makes them again.
      step('links', () => p.linkRestorer.stop());
      for (const r of [...p.engine.routers.values()]) step(`instance ${r.name}`, () => r.stop());
      this.stopping = true;
      p.host.stopping = true;
      // Raw sends complete on the next poll of the socket; netlink answers the removals.
      await Promise.all([p.netlink.settle(), new Promise((r) => setTimeout(r, 20))]);
      // What is still there (an instance that threw before releasing) goes directly.
      const left = allVips(p.live.config).filter((a) => p.netlink.hasAddress(a.interface, a.vip.address));
      await Promise.allSettled(left.map((a) => p.netlink.removeNow(a)));
      await p.firewall.remove(300);
      await Promise.race([p.lvs.stop(), new Promise((r) => setTimeout(r, 300))]);
      // Virtual routes and rules too (removing what is gone is no error); static ones stay.
      step('routes', () => p.routing.releaseVirtual(p.live.config));
      await p.routing.settle();
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      release().catch((err: unknown) => p.log.error({ err, event: 'emergency-stop' }, `emergency stop failed: ${describe(err)}`)),
      new Promise((r) => (timer = setTimeout(r, budgetMs))),
    ]);
    clearTimeout(timer);
    step('capture', () => p.capture.close());
    step('transport', () => p.transport.close());
  }

  /** The process's settings from the running configuration (pid files, dumps, start-up). */
  get operations(): OperationsConfig {
    return this.parts.live.config.global.operations;
  }

  /** keepalived's per-instance fields of its data and JSON dumps (state-dump.ts formats them). */
  keepalivedViews(): Map<string, KeepalivedInstanceView> {
    const config = this.parts.live.config;
    return new Map(config.instances.map((i) => [i.name, keepalivedView(config, i)]));
  }

  /** SIGUSR1: what the state dump shows (observability/state-dump.ts formats it). */
  dumpState() {
    const p = this.parts;
    return {
      version: VERSION,
      pid: process.pid,
      configPath: p.opts.configPath,
      startedAt: p.startedAt,
      nowMs: p.clock.now(),
      wallMs: Date.now(),
      instances: this.routers.map((r) => {
        const snapshot = r.snapshot();
        return {
          snapshot,
          vips: snapshot.vips.map((v) => ({ address: v.address, interface: v.device ?? snapshot.interface, present: this.vipPresent(v.device ?? snapshot.interface, v.address) })),
          guard: p.guardView.stateOf(snapshot.name),
        };
      }),
    };
  }
}
