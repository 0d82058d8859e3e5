/**
 * The composition root: the one file that wires config, core, adapters and observability.
 *
 *   pcap capture ──frames──▶ VrrpEngine ──ports──▶ raw-socket (adverts), pcap (GARP), netlink (VIPs)
 *        ▲                      │ events
 *   netlink (links, addresses)  ▼
 *                        logs, metrics, traces, health, guard (subscribers)
 */
import { isDeepStrictEqual } from 'node:util';
import { loadConfig, formatDiagnostic } from './config/index.js';
import type { KeepalivedConfig, VrrpInstanceConfig, Diagnostic } from './config/model.js';
import { VrrpEngine, type FrameOutcome } from './core/engine.js';
import { EventBus, type CoreEvent } from './core/events.js';
import type { VrrpRouter } from './core/router.js';
import type { VipAssignment } from './ports/index.js';
import { SystemClock } from './adapters/clock.js';
import { RawSocketTransport } from './adapters/raw-transport.js';
import { PcapCapture } from './adapters/pcap-capture.js';
import { NetlinkHost } from './adapters/netlink-host.js';
import { HostError, describe } from './adapters/errors.js';
import { logCoreEvents, RateLimiter, type Logger } from './observability/logging.js';
import { ElectionTracker } from './observability/elections.js';
import { AgentMetrics } from './observability/metrics.js';
import { startTracing, traceElections, type Tracing } from './observability/tracing.js';
import { FlightRecorder } from './observability/flight-recorder.js';
import { startHttp, parseListen, DEFAULT_HTTP_LIMITS } from './http/server.js';
import type { HealthReason } from './observability/health.js';
import { SplitBrainGuard, type GuardEvent } from './guard/guard.js';
import { DEFAULT_GUARD, loadGuardConfig, type GuardConfig } from './guard/config.js';
import { createGuardEndpoint, createPeerClient, type GuardEndpoint } from './guard/peer-http.js';
import { AlertmanagerPusher } from './guard/alertmanager.js';
import { GuardAlerts } from './guard/alerts.js';
import { GuardView } from './guard/view.js';
import type { RejectReason } from './guard/signing.js';
import { traceGuard } from './observability/tracing.js';
import { logGuardEvents } from './observability/logging.js';
import { existsSync } from 'node:fs';
import { TrackerSet, type TrackEvent } from './tracking/trackers.js';
import { Notifier, type NotifyRunEvent } from './notify/notifier.js';
import { Mailer, type MailEvent } from './notify/mailer.js';
import { SyncGroups } from './core/sync-groups.js';
import { resolveScriptUsers, resolveScriptUsersAsync, type ScriptUsers, type UserResolution } from './tracking/users.js';
import { traceNotify } from './observability/tracing.js';
import { logTrackingEvents } from './observability/logging.js';
import { hostname } from 'node:os';
import { VERSION } from './version.js';

/** Events of the host side (adapters and the agent), next to the core's. */
export type HostEvent =
  | { readonly type: 'vip-result'; readonly assignment: VipAssignment; readonly action: 'add' | 'remove'; readonly error?: Error; readonly durationMs: number; readonly atMs: number }
  | { readonly type: 'vip-repaired'; readonly assignment: VipAssignment; readonly atMs: number }
  | { readonly type: 'link-changed'; readonly interface: string; readonly up: boolean; readonly atMs: number }
  | { readonly type: 'frame'; readonly interface: string; readonly frame: Uint8Array; readonly wallUs: number; readonly outcome: FrameOutcome }
  | { readonly type: 'reload'; readonly result: 'success' | 'failure'; readonly diagnostics: readonly Diagnostic[]; readonly atMs: number }
  | { readonly type: 'agent-error'; readonly error: Error; readonly atMs: number };

export class ConfigLoadError extends Error {
  override readonly name = 'ConfigLoadError';
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n'));
  }
}

export interface AgentOptions {
  readonly configPath: string;
  readonly log: Logger;
  /** `HOST:PORT` for /metrics, /healthz, /v1/state; undefined = no HTTP server. */
  readonly listen?: string;
  /** Flight-recorder directory; undefined = off. */
  readonly captureDir?: string;
  /** Split-brain guard settings (default /etc/keepwatch/guard.conf when it exists). */
  readonly guardConfigPath?: string;
  /** `/metrics` renders at most once per this many ms (default 1000). */
  readonly metricsMinIntervalMs?: number;
  /** Push split-brain alerts to this Alertmanager (overrides the guard file's `alertmanager`). */
  readonly alertmanagerUrl?: string;
}

export const DEFAULT_GUARD_CONFIG = '/etc/keepwatch/guard.conf';

/** Everything but `location`s: two instances are "the same" for reload if this is equal. */
function comparable(c: VrrpInstanceConfig): unknown {
  return JSON.parse(JSON.stringify(c, (k, v) => (k === 'location' || k === 'scriptLocation' ? undefined : v)));
}

export class Agent {
  readonly clock = new SystemClock();
  readonly events = new EventBus<CoreEvent>();
  readonly hostEvents = new EventBus<HostEvent>();
  readonly transport: RawSocketTransport;
  readonly capture: PcapCapture;
  engine!: VrrpEngine;
  config!: KeepalivedConfig;
  private netlink!: NetlinkHost;
  private readonly limiter = new RateLimiter();
  private stopping = false;
  metrics!: AgentMetrics;
  elections!: ElectionTracker;
  private tracing: Tracing | undefined;
  private recorder: FlightRecorder | undefined;
  private http: { close(): Promise<void> } | undefined;
  /** Health reasons contributed by other parts (the split-brain guard). */
  readonly healthReasons: (() => HealthReason[])[] = [];
  readonly startedAt = new Date();
  readonly guardEvents = new EventBus<GuardEvent>();
  readonly trackEvents = new EventBus<TrackEvent>();
  readonly notifyEvents = new EventBus<NotifyRunEvent>();
  readonly mailEvents = new EventBus<MailEvent>();
  trackers!: TrackerSet;
  notifier!: Notifier;
  guard!: SplitBrainGuard;
  guardConfig: GuardConfig = DEFAULT_GUARD;
  private guardEndpoint: GuardEndpoint | undefined;
  private alerts: GuardAlerts | undefined;
  guardView!: GuardView;

  private constructor(private readonly opts: AgentOptions) {
    const log = opts.log;
    this.events.onListenerError = (err, e) => log.error({ err, event: e.type }, `event subscriber failed on ${e.type}: ${describe(err)}`);
    this.hostEvents.onListenerError = (err, e) => log.error({ err, event: e.type }, `event subscriber failed on ${e.type}: ${describe(err)}`);
    this.transport = new RawSocketTransport((advert, destination, error) => {
      this.events.emit({ type: 'send-failed', instance: advert.instance, interface: advert.interface, reason: `advert to ${destination} failed: ${describe(error)}`, atMs: this.clock.now() });
    });
    this.capture = new PcapCapture(
      (iface, frame, wallUs) => this.onFrame(iface, frame, wallUs),
      (message) => log.debug({ event: 'libpcap' }, message.trim()),
      (iface) => this.captureOptions(iface),
    );
  }

  /** Loads the config, checks the host, reconciles leftover VIPs and starts every instance. */
  static async start(opts: AgentOptions): Promise<Agent> {
    const agent = new Agent(opts);
    await agent.boot();
    return agent;
  }

  get log(): Logger {
    return this.opts.log;
  }

  get routers(): VrrpRouter[] {
    return [...this.engine.routers.values()];
  }

  /** Whether a VIP is on its interface right now (netlink's view). */
  vipPresent(iface: string, address: string): boolean {
    return this.netlink.hasAddress(iface, address);
  }

  private loadOrThrow(): KeepalivedConfig {
    const result = loadConfig(this.opts.configPath);
    for (const d of result.diagnostics) if (d.severity === 'warning') this.log.warn({ event: 'config-warning', location: `${d.location.file}:${d.location.line}:${d.location.column}` }, d.message);
    if (!result.config) throw new ConfigLoadError(result.diagnostics);
    return result.config;
  }

  private loadGuard(): GuardConfig {
    const path = this.opts.guardConfigPath ?? (existsSync(DEFAULT_GUARD_CONFIG) ? DEFAULT_GUARD_CONFIG : undefined);
    if (!path) return DEFAULT_GUARD;
    const r = loadGuardConfig(path);
    for (const d of r.diagnostics) if (d.severity === 'warning') this.log.warn({ event: 'guard-config-warning' }, d.message);
    if (!r.config) throw new ConfigLoadError(r.diagnostics);
    this.log.info({ event: 'guard-config', file: path, peers: r.config.peers.length, sources: [...r.config.sources], witness: r.config.witness ?? null }, `split-brain guard settings from ${path}`);
    return r.config;
  }

  private async boot(): Promise<void> {
    this.config = this.loadOrThrow();
    this.guardConfig = this.loadGuard();
    this.netlink = await NetlinkHost.open({
      onLinkChange: (name, up) => this.onLinkChange(name, up),
      onVipRepaired: (assignment) => {
        this.log.warn({ event: 'vip-repaired', instance: assignment.instance, vip: assignment.vip.address, interface: assignment.interface }, `(${assignment.instance}) VIP ${assignment.vip.address} was removed from ${assignment.interface} by someone else: put back`);
        this.hostEvents.emit({ type: 'vip-repaired', assignment, atMs: this.clock.now() });
      },
      onVipResult: (assignment, action, error, durationMs) => {
        if (error) this.log.error({ event: 'vip-failed', instance: assignment.instance, vip: assignment.vip.address, action }, error.message);
        this.hostEvents.emit({ type: 'vip-result', assignment, action, ...(error ? { error } : {}), durationMs, atMs: this.clock.now() });
      },
      onError: (error) => this.hostEvents.emit({ type: 'agent-error', error, atMs: this.clock.now() }),
    });
    this.checkInterfaces(this.config);
    this.netlink.setVipAddresses(this.allVips(this.config).map((v) => v.vip.address));
    await this.reconcile(this.config.instances);
    logCoreEvents(this.events, this.log, this.limiter);
    this.engine = new VrrpEngine(this.config.instances, {
      clock: this.clock,
      transport: this.transport,
      addresses: this.netlink,
      frames: this.capture,
      interfaces: this.netlink,
      events: this.events,
      drainInput: () => this.capture.drain(),
    });
    await this.observe();
    this.setupGuard();
    this.setupTracking();
    await this.startHttp();
    this.openSockets(this.config.instances);
    for (const r of this.engine.routers.values()) this.applyLinkState(r);
    this.trackers.apply();
    this.engine.start();
    this.trackers.start();
    this.guard.start();
    this.log.info({ event: 'started', instances: this.config.instances.length, interfaces: this.engine.interfaces }, `keepwatch started: ${this.config.instances.map((i) => `${i.name} (vrid ${i.vrid} on ${i.interface})`).join(', ')}`);
  }

  /** Subscribes metrics, traces and the flight recorder before the first transition. */
  private async observe(): Promise<void> {
    this.elections = new ElectionTracker(this.events, this.hostEvents, () => this.clock.now());
    this.metrics = new AgentMetrics({
      routers: () => this.routers,
      vipPresent: (iface, address) => this.vipPresent(iface, address),
      captureStats: () => this.capture.stats(),
      version: VERSION,
    });
    this.metrics.subscribe(this.events, this.hostEvents, this.elections);
    if (this.opts.captureDir) {
      const recorder = new FlightRecorder({ dir: this.opts.captureDir }, (file, error) => {
        this.metrics.flightRecording(error ? 'failed' : 'written');
        if (error) this.log.error({ event: 'flight-recorder', file }, `flight recorder could not write ${file}: ${error.message}`);
        else this.log.info({ event: 'flight-recorder', file }, `flight recording written: ${file}`);
      });
      this.hostEvents.on('frame', (e) => recorder.record(e.interface, e.frame, e.wallUs));
      this.events.on('state-changed', (e) => recorder.onTransition(e));
      this.recorder = recorder;
    }
    this.tracing = await startTracing({ version: VERSION, ...(this.config.global.routerId ? { routerId: this.config.global.routerId } : {}) });
    if (this.tracing.enabled) {
      const recorder = this.recorder;
      traceElections(this.tracing.tracer, this.events, this.elections, recorder ? { captureFileFor: (t) => recorder.fileFor(t) } : {});
      this.log.info({ event: 'tracing' }, 'OpenTelemetry trace export enabled (OTEL_* environment)');
    }
  }

  /**
   * Who scripts run as (src/tracking/users.ts): a vrrp_script's `user`, else `script_user`, else
   * keepalived_script if it exists, else root. A user or group that does not resolve refuses the
   * config with its place (HostError 'user'): scripts never run as root by accident.
   */
  private runAs(config: KeepalivedConfig = this.config, resolved: UserResolution = resolveScriptUsers(config)): ScriptUsers {
    for (const d of resolved.diagnostics) if (d.severity === 'warning') this.log.warn({ event: 'config-warning', location: `${d.location.file}:${d.location.line}:${d.location.column}` }, d.message);
    if (!resolved.users) throw new HostError('user', resolved.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n'));
    return resolved.users;
  }

  private makeTrackers(users: ScriptUsers): TrackerSet {
    return new TrackerSet({
      config: this.config,
      routers: () => this.routers,
      linkUp: (iface) => (this.netlink.interfaceExists(iface) ? this.netlink.linkUp(iface) : undefined),
      events: this.trackEvents,
      users,
    });
  }

  /** vrrp_script / track_* / notify / mail / sync groups, and their metrics, logs and spans. */
  private setupTracking(): void {
    this.trackers = this.makeTrackers(this.runAs());
    this.notifier = new Notifier({ config: () => this.config, routers: () => this.routers, core: this.events, events: this.notifyEvents, runAs: () => this.trackers.users?.default });
    new Mailer(() => this.config, this.events, this.mailEvents);
    new SyncGroups(() => this.config.syncGroups, () => this.engine.routers, this.events);
    this.metrics.subscribeTracking(this.trackEvents, this.notifyEvents, this.mailEvents, () => this.trackers.allScripts());
    logTrackingEvents(this.trackEvents, this.notifyEvents, this.mailEvents, this.log, this.limiter);
    if (this.tracing?.enabled) traceNotify(this.tracing.tracer, this.notifyEvents);
  }

  /** The split-brain guard and what listens to it: metrics, health, logs, traces, Alertmanager. */
  private setupGuard(): void {
    const cfg = this.guardConfig;
    const rejected = (reason: RejectReason, from: string) => this.guardEvents.emit({ type: 'guard-rejected', reason, from });
    const node = this.config.global.routerId ?? hostname();
    this.guard = new SplitBrainGuard({
      config: cfg,
      routers: () => this.routers,
      router: (name) => this.engine.routers.get(name),
      core: this.events,
      host: this.hostEvents,
      events: this.guardEvents,
      clock: this.clock,
      frames: this.capture,
      interfaces: this.netlink,
      ...(cfg.secret && cfg.peers.length > 0 ? { peers: createPeerClient(cfg.secret, cfg.signatureWindowMs, rejected, node) } : {}),
    });
    this.guardView = new GuardView(this.guard, () => this.routers, this.netlink);
    const view = this.guardView;
    this.guardEndpoint = createGuardEndpoint(cfg.secret, cfg.signatureWindowMs, () => view.localView(), rejected, node);
    this.metrics.subscribeGuard(this.guardEvents, this.guard, cfg.witness !== undefined);
    this.healthReasons.push(() => view.healthReasons());
    logGuardEvents(this.guardEvents, this.log, this.limiter);
    if (this.tracing?.enabled) traceGuard(this.tracing.tracer, this.guardEvents);
    const url = this.opts.alertmanagerUrl ?? cfg.alertmanagerUrl;
    if (url) {
      const pusher = new AlertmanagerPusher(url, (ok, error) => {
        this.metrics.alertPush(ok);
        if (!ok) this.log.warn({ event: 'alertmanager', url }, `could not push the split-brain alert to ${url}: ${error}`);
      });
      this.alerts = new GuardAlerts(this.guardEvents, pusher, node, this.clock);
    }
  }

  private async startHttp(): Promise<void> {
    if (!this.opts.listen) return;
    const listen = parseListen(this.opts.listen);
    this.http = await startHttp(listen, {
      metrics: this.metrics,
      snapshots: () => this.routers.map((r) => r.snapshot()),
      vipPresent: (iface, address) => this.vipPresent(iface, address),
      healthReasons: () => this.healthReasons.flatMap((f) => f()),
      stateExtra: (instance) => this.guardView.stateOf(instance),
      ...(this.guardEndpoint ? { guard: this.guardEndpoint } : {}),
      now: () => this.clock.now(),
      startedAt: this.startedAt,
      version: VERSION,
    }, { ...DEFAULT_HTTP_LIMITS, ...(this.opts.metricsMinIntervalMs !== undefined ? { metricsMinIntervalMs: this.opts.metricsMinIntervalMs } : {}) });
    this.log.info({ event: 'http', listen: `${listen.host}:${listen.port}` }, `serving /metrics, /healthz and /v1/state on ${listen.host}:${listen.port}`);
  }

  private checkInterfaces(config: KeepalivedConfig): void {
    const missing = config.instances.filter((i) => !this.netlink.interfaceExists(i.interface));
    if (missing.length > 0) {
      throw new HostError(
        'interface',
        missing.map((i) => `${i.location.file}:${i.location.line}:${i.location.column}: interface '${i.interface}' of vrrp_instance ${i.name} does not exist on this host`).join('\n'),
      );
    }
  }

  /** Without the flight recorder, our own frames stay in the kernel (see PcapCapture.open). */
  private captureOptions(iface: string): { excludeSourceMac?: string } {
    const mac = this.opts.captureDir ? undefined : this.netlink?.mac(iface);
    return mac ? { excludeSourceMac: mac } : {};
  }

  private openSockets(instances: readonly VrrpInstanceConfig[]): void {
    for (const i of instances) {
      this.transport.open(i.interface, i.family);
      if (this.netlink.linkUp(i.interface)) this.capture.open(i.interface);
    }
  }

  private allVips(config: KeepalivedConfig): VipAssignment[] {
    return config.instances.flatMap((i) =>
      [...i.virtualAddresses, ...i.virtualAddressesExcluded].map((vip) => ({ instance: i.name, interface: vip.device ?? i.interface, vip })),
    );
  }

  /**
   * VIPs of ours left on an interface (a crash, kill -9) are removed before the instance joins:
   * every instance starts as backup (an owner re-adds them at once). keepalived does the same.
   */
  private async reconcile(instances: readonly VrrpInstanceConfig[]): Promise<void> {
    const stale = this.allVips({ ...this.config, instances }).filter((a) => this.netlink.hasAddress(a.interface, a.vip.address));
    for (const a of stale) {
      this.log.warn({ event: 'vip-reconciled', instance: a.instance, vip: a.vip.address, interface: a.interface }, `(${a.instance}) removing VIP ${a.vip.address} left on ${a.interface} (by a crash?) before joining`);
      await this.netlink.removeNow(a);
    }
  }

  private applyLinkState(r: VrrpRouter): void {
    const name = r.config.interface;
    const up = this.netlink.linkUp(name);
    r.setFault(`interface:${name}`, up ? undefined : `interface ${name} down`, { linkDown: !up });
  }

  private onLinkChange(name: string, up: boolean): void {
    if (this.stopping || !this.engine) return;
    this.hostEvents.emit({ type: 'link-changed', interface: name, up, atMs: this.clock.now() });
    this.log.info({ event: 'link', interface: name, up }, `interface ${name} is ${up ? 'up' : 'down'}`);
    // libpcap sessions die with their link (ENETDOWN): close on down, reopen on up.
    if (!up) this.capture.close(name);
    if (up) {
      this.transport.reset(name);
      if (this.engine.interfaces.includes(name)) {
        try {
          this.capture.open(name);
        } catch (err) {
          this.log.error({ event: 'capture-failed', interface: name }, describe(err));
        }
      }
    }
    for (const r of this.engine.routers.values()) if (r.config.interface === name) r.setFault(`interface:${name}`, up ? undefined : `interface ${name} down`, { linkDown: !up });
    this.trackers.onLinkChange();
  }

  private onFrame(iface: string, frame: Uint8Array, wallUs: number): void {
    if (this.stopping) return;
    const outcome = this.engine.handleFrame(iface, frame, this.clock.monotonicFromWallUs(wallUs));
    this.hostEvents.emit({ type: 'frame', interface: iface, frame, wallUs, outcome });
  }

  /**
   * SIGHUP: the new config is validated first; an invalid one is logged with its errors and the
   * running config stays. Unchanged instances keep their state and VIPs; changed ones restart.
   */
  async reload(): Promise<{ ok: boolean; diagnostics: readonly Diagnostic[] }> {
    // One reload at a time, and at most one waiting: SIGHUPs during a reload coalesce into one
    // more reload that reads the file as it is then.
    if (this.pendingReload) return this.pendingReload;
    const run = this.reloading.then(() => {
      this.pendingReload = undefined;
      return this.reloadNow();
    });
    this.pendingReload = run;
    this.reloading = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private reloading: Promise<void> = Promise.resolve();
  private pendingReload: Promise<{ ok: boolean; diagnostics: readonly Diagnostic[] }> | undefined;

  private async reloadNow(): Promise<{ ok: boolean; diagnostics: readonly Diagnostic[] }> {
    const result = loadConfig(this.opts.configPath);
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    if (!result.config) {
      for (const d of errors) this.log.error({ event: 'reload-error' }, formatDiagnostic(d));
      this.log.error({ event: 'reload', result: 'failure', errors: errors.length }, `reload refused: ${errors.length} error(s) in ${this.opts.configPath}; the running config stays`);
      this.hostEvents.emit({ type: 'reload', result: 'failure', diagnostics: result.diagnostics, atMs: this.clock.now() });
      return { ok: false, diagnostics: result.diagnostics };
    }
    const next = result.config;
    let users: ScriptUsers;
    try {
      this.checkInterfaces(next);
      users = this.runAs(next, await resolveScriptUsersAsync(next));
    } catch (err) {
      this.log.error({ event: 'reload', result: 'failure' }, `reload refused: ${describe(err)}`);
      this.hostEvents.emit({ type: 'reload', result: 'failure', diagnostics: result.diagnostics, atMs: this.clock.now() });
      return { ok: false, diagnostics: result.diagnostics };
    }
    const before = new Map(this.config.instances.map((i) => [i.name, i]));
    const after = new Map(next.instances.map((i) => [i.name, i]));
    const kept: string[] = [];
    const restarted: string[] = [];
    for (const [name, old] of before) {
      const now = after.get(name);
      if (now && isDeepStrictEqual(comparable(old), comparable(now))) {
        kept.push(name);
        continue;
      }
      this.engine.routers.get(name)?.stop();
      this.engine.removeInstance(name);
      if (now) restarted.push(name);
    }
    this.config = next;
    this.netlink.setVipAddresses(this.allVips(next).map((v) => v.vip.address));
    const added = next.instances.filter((i) => !kept.includes(i.name));
    await this.netlink.settle();
    for (const c of added) {
      const r = this.engine.addInstance(c);
      this.openSockets([c]);
      this.applyLinkState(r);
      r.start();
    }
    for (const iface of this.capture.interfaces) if (!this.engine.interfaces.includes(iface)) this.capture.close(iface);
    this.metrics.reprime();
    // Trackers follow the new config (scripts restart their rise/fall counting).
    this.trackers.stop();
    const previous = this.trackers;
    this.trackers = this.makeTrackers(users);
    this.trackers.adopt(previous);
    this.trackers.start();
    this.log.info({ event: 'reload', result: 'success', kept, restarted, added: added.filter((c) => !restarted.includes(c.name)).map((c) => c.name) }, `config reloaded: ${kept.length} kept, ${restarted.length} restarted, ${added.length - restarted.length} added`);
    this.hostEvents.emit({ type: 'reload', result: 'success', diagnostics: result.diagnostics, atMs: this.clock.now() });
    return { ok: true, diagnostics: result.diagnostics };
  }

  /**
   * SIGTERM/SIGINT: masters send priority 0 and remove their VIPs; resolves when the kernel has
   * answered (or after `budgetMs`).
   */
  async stop(budgetMs = 800): Promise<void> {
    if (this.stopping) return;
    this.guard?.stop();
    this.alerts?.stop();
    this.trackers?.stop();
    this.engine?.stop();
    this.stopping = true;
    const settled = this.netlink?.settle() ?? Promise.resolve();
    // Raw sends complete on the next poll of the socket; give them a moment too.
    await Promise.race([Promise.all([settled, new Promise((r) => setTimeout(r, 20))]), new Promise((r) => setTimeout(r, budgetMs))]);
    // notify_stop scripts get a short grace period; the exit must stay under a second.
    await Promise.race([this.notifier?.idle(), new Promise((r) => setTimeout(r, 150))]);
    // Flush the election spans of the shutdown, within what is left of the budget.
    await Promise.race([Promise.allSettled([this.tracing?.shutdown(), this.http?.close()]), new Promise((r) => setTimeout(r, 300))]);
    this.capture.close();
    this.transport.close();
    this.netlink?.close();
    this.log.info({ event: 'stopped' }, 'keepwatch stopped');
  }

  /**
   * Fail-safe release after a crash (main.ts: uncaught exception, unhandled rejection): every
   * master sends priority 0 and leaves, and every VIP of ours still on an interface is removed,
   * each step on its own (an error in one skips none of the others), all within `budgetMs`.
   * Safe after, or in the middle of, stop(). The process exits after this.
   */
  async emergencyStop(reason: string, budgetMs = 1000): Promise<void> {
    const step = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        this.log.error({ err, event: 'emergency-stop', step: what }, `emergency stop: ${what} failed: ${describe(err)}`);
      }
    };
    this.log.warn({ event: 'emergency-stop', reason }, `emergency stop (${reason}): masters send priority 0, VIPs are removed`);
    const release = async () => {
      step('guard', () => this.guard?.stop());
      step('trackers', () => this.trackers?.stop());
      for (const r of this.engine ? [...this.engine.routers.values()] : []) step(`instance ${r.name}`, () => r.stop());
      this.stopping = true;
      // Raw sends complete on the next poll of the socket; netlink answers the removals.
      await Promise.all([this.netlink?.settle(), new Promise((r) => setTimeout(r, 20))]);
      // What is still there (an instance that threw before releasing) goes directly.
      const left = this.netlink && this.config ? this.allVips(this.config).filter((a) => this.netlink.hasAddress(a.interface, a.vip.address)) : [];
      await Promise.allSettled(left.map((a) => this.netlink.removeNow(a)));
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      release().catch((err: unknown) => this.log.error({ err, event: 'emergency-stop' }, `emergency stop failed: ${describe(err)}`)),
      new Promise((r) => (timer = setTimeout(r, budgetMs))),
    ]);
    clearTimeout(timer);
    step('capture', () => this.capture.close());
    step('transport', () => this.transport.close());
  }

  /** SIGUSR1: what the state dump shows (observability/state-dump.ts formats it). */
  dumpState() {
    return {
      version: VERSION,
      pid: process.pid,
      configPath: this.opts.configPath,
      startedAt: this.startedAt,
      nowMs: this.clock.now(),
      wallMs: Date.now(),
      instances: this.routers.map((r) => {
        const snapshot = r.snapshot();
        return {
          snapshot,
          vips: snapshot.vips.map((v) => ({ address: v.address, interface: v.device ?? snapshot.interface, present: this.vipPresent(v.device ?? snapshot.interface, v.address) })),
          guard: this.guardView?.stateOf(snapshot.name) ?? {},
        };
      }),
    };
  }
}
