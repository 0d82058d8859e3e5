/**
 * The LVS room's entry point: keepalived's check module without the kernel. From the model's
 * `virtual_server` blocks and the checkers' results on the injected clock it keeps each real
 * server's state and computes the desired data-plane table (src/ports/data-plane.ts); the agent
 * applies it (an adapter: nftables or IPVS) when the `lvs-table` event says it changed.
 *
 * Each checker runs on its own schedule, as keepalived's (check_api.c, check_*.c epilogs):
 * - the first check comes 1 s + `warmup` × random after start (warmup defaults to delay_loop);
 * - a pass: the checker is up (at once, even after failures), next check after delay_loop;
 * - a failure: retried `retry` times, `delay_before_retry` apart (up or down, as keepalived's
 *   epilogs do); still failing, the checker is down, next check after delay_loop.
 * A real server is up while all its checkers are (none: always up); with `alpha` its checkers
 * start down. Down, it leaves the table, or stays with weight 0 with `inhibit_on_failure`.
 * MISC_CHECK's misc_dynamic and FILE_CHECK change its weight. `notify_up` / `notify_down` run on
 * its transitions.
 *
 * Quorum (check_daemon/ipwrapper.c): the live weight is the sum of the weights of the real
 * servers up; quorum is lost when it falls below quorum − hysteresis and gained when it reaches
 * quorum + hysteresis (`quorum_down` / `quorum_up` run). It starts up and is weighed at start
 * (keepalived's "Starting with quorum down" runs quorum_down: `alpha` servers start down). While lost, a `sorry_server` (if any)
 * is the service's only server; with `sorry_server_inhibit` it stays in the table with weight 0
 * while not needed. `omega`: on stop, notify_down and quorum_down run as if everything went down.
 *
 * ha_suspend: the virtual server's checks run only while the vrrp_instance holding its address
 * as a VIP is MASTER (the service listens to `state-changed` on the bus); suspended, the real
 * servers keep the state they had.
 *
 * Pure apart from its ports: clock, probes, process runner, bus, random source.
 */
import type { KeepalivedConfig, LvsCheckerConfig, RealServerConfig, VirtualServerConfig } from '../config/model.js';
import type { AgentBus, CheckResult, CheckerKind, LvsEvent, RealServerReason } from '../events/index.js';
import type { Clock, DataPlaneService, DataPlaneTable, LvsProbes, ProcessRunner, RunAs, TimerHandle } from '../ports/index.js';
import { CHECKERS, bfdOutcome, type CheckOutcome } from './checkers/index.js';
import { interfaceHolding, realServerKey, serviceHeads, tableRealServer, virtualServerKey } from './table.js';

export interface LvsServiceDeps {
  readonly config: KeepalivedConfig;
  readonly clock: Clock;
  readonly probes: LvsProbes;
  readonly processes: ProcessRunner;
  readonly bus: AgentBus;
  /** [0, 1): spreads the first checks over `warmup` (default Math.random). */
  readonly random?: () => number;
  /** DR: the director's interface toward an address (the service's, or its first real server's for fwmark), when no vrrp_instance holds the VIP. */
  readonly interfaceFor?: (address: string) => string | undefined;
  /** The ids a MISC_CHECK `user` (or the script user, `undefined`) runs as; absent: as ourselves. */
  /**
   * Who runs a MISC_CHECK (its `user [group]`) or a notify_up/down / quorum_up/down (the default
   * script user): `ok: false` when that user could not be resolved: then nothing runs (never as
   * root in its place). Absent: the agent's own user.
   */
  readonly runAs?: (user: string | undefined, group: string | undefined) => { readonly ok: true; readonly runAs?: RunAs } | { readonly ok: false };
  /** Bound on notify_up/down and quorum_up/down runs (default 30 s). */
  readonly notifyTimeoutMs?: number;
  /**
   * ha_suspend: whether a vrrp_instance is MASTER now (asked at start; `state-changed` events
   * after). Absent: every instance counts as not MASTER until an event says otherwise.
   */
  readonly isMaster?: (instance: string) => boolean;
  /**
   * A reload: the state of the service this one replaces (`previous.state()`). Real servers and
   * checkers that are still configured (same virtual server, real server, checker kind and place)
   * keep whether they are up and the weight a checker set, and the quorum state, so an unchanged
   * server is not taken out and put back (keepalived keeps them across a reload too).
   */
  readonly restore?: LvsState;
}

/** /v1/state: one checker. */
export interface LvsCheckerState {
  readonly kind: CheckerKind;
  readonly up: boolean;
  readonly lastResult?: CheckResult;
  readonly lastDetail?: string;
  readonly lastDurationMs?: number;
  readonly lastCheckWallMs?: number;
  /** The last failure's result, kept while later checks pass (a metric label). */
  readonly lastFailure?: CheckResult;
  readonly checks: number;
  readonly failures: number;
  /** The weight this checker set (misc_dynamic, FILE_CHECK), if any. */
  readonly setWeight?: number;
}

export interface LvsRealServerState {
  readonly realServer: string;
  readonly up: boolean;
  /** The weight in the table (0 when inhibited), or the weight it would have when not in it. */
  readonly weight: number;
  readonly inTable: boolean;
  readonly checkers: readonly LvsCheckerState[];
}

export interface LvsVirtualServerState {
  readonly virtualServer: string;
  readonly services: readonly string[];
  readonly quorumUp: boolean;
  readonly liveWeight: number;
  readonly quorum: number;
  readonly hysteresis: number;
  readonly sorryServerActive: boolean;
  readonly suspended: boolean;
  readonly realServers: readonly LvsRealServerState[];
}

export interface LvsState {
  readonly generation: number;
  readonly virtualServers: readonly LvsVirtualServerState[];
}

const NOTIFY_TIMEOUT_MS = 30_000;
/** keepalived's BOOTSTRAP_DELAY: no check in the first second after start. */
export const BOOTSTRAP_DELAY_MS = 1000;
/** FILE_CHECK reads its file this often (as the VRRP side's track_file). */
export const FILE_POLL_MS = 1000;
/** A checker whose run has not ended this long after its bound is given up on (a port that never answers). */
const RUN_GRACE_MS = 5_000;

interface CheckerRun {
  readonly cfg: LvsCheckerConfig;
  readonly index: number;
  up: boolean;
  retries: number;
  timer?: TimerHandle;
  running: boolean;
  /** Bumped on stop/suspend: a run that ends after it is ignored. */
  epoch: number;
  lastResult?: CheckResult;
  lastDetail?: string;
  lastDurationMs?: number;
  lastCheckWallMs?: number;
  lastFailure?: CheckResult;
  checks: number;
  failures: number;
  /** misc_dynamic / FILE_CHECK: the weight it sets. */
  weight?: number;
}

interface RsState {
  readonly cfg: RealServerConfig;
  readonly key: string;
  readonly checkers: CheckerRun[];
  up: boolean;
}

interface VsState {
  readonly cfg: VirtualServerConfig;
  readonly key: string;
  readonly heads: ReturnType<typeof serviceHeads>;
  readonly rs: RsState[];
  readonly iface?: string;
  /** ha_suspend: the instance whose MASTER state lets the checks run. */
  readonly holder?: string;
  quorumUp: boolean;
  suspended: boolean;
}

export class LvsService {
  private readonly vs: VsState[];
  private readonly random: () => number;
  private started = false;
  private stopped = false;
  private gen = 0;
  private lastTableJson = '';
  private current: DataPlaneTable = { services: [] };
  private unsubscribe: (() => void) | undefined;
  /** Scripts refused by keepalived's checks (missing, not executable, insecure under enable_script_security): by argv[0]. */
  private readonly refused = new Map<string, string>();

  constructor(private readonly deps: LvsServiceDeps) {
    this.random = deps.random ?? Math.random;
    this.vs = deps.config.virtualServers.map((cfg) => {
      const heads = serviceHeads(cfg, deps.config);
      const firstAddress = heads.find((h) => h.address !== undefined)?.address;
      const holder = interfaceHolding(deps.config, firstAddress);
      // DR: the interface of the instance holding the VIP; else (a fwmark service, a VIP not held) the route's toward the address or the first real server.
      const toward = firstAddress ?? cfg.realServers[0]?.address;
      const iface = cfg.method === 'dr' ? holder?.iface ?? (toward !== undefined ? deps.interfaceFor?.(toward) : undefined) : undefined;
      const rs = cfg.realServers.map((r) => ({
        cfg: r,
        key: realServerKey(r),
        checkers: r.checkers.map((c, index): CheckerRun => ({ cfg: c, index, up: !c.alpha, retries: 0, running: false, epoch: 0, checks: 0, failures: 0 })),
        up: false,
      }));
      const before = deps.restore?.virtualServers.find((x) => x.virtualServer === virtualServerKey(cfg));
      for (const r of rs) {
        const was = before?.realServers.find((x) => x.realServer === r.key);
        for (const c of r.checkers) {
          const wc = was?.checkers[c.index];
          if (wc?.kind !== c.cfg.kind) continue;
          c.up = wc.up;
          if (wc.setWeight !== undefined) c.weight = wc.setWeight;
        }
        r.up = r.checkers.every((c) => c.up);
      }
      const state: VsState = {
        cfg,
        key: virtualServerKey(cfg),
        heads,
        rs,
        ...(iface !== undefined ? { iface } : {}),
        ...(cfg.haSuspend && holder ? { holder: holder.instance } : {}),
        quorumUp: before?.quorumUp ?? true,
        suspended: cfg.haSuspend && holder !== undefined && !(deps.isMaster?.(holder.instance) ?? false),
      };
      return state;
    });
  }

  get generation(): number {
    return this.gen;
  }

  /** Arms the checkers and publishes the first table (generation 1). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.checkScripts();
    const offState = this.deps.bus.on('state-changed', (e) => {
      for (const v of this.vs) if (v.holder === e.instance) this.setSuspended(v, e.to !== 'master');
    });
    const offBfd = this.deps.bus.on('bfd-state-changed', (e) => {
      if (this.stopped) return;
      for (const v of this.vs) {
        if (v.suspended) continue;
        for (const r of v.rs) for (const c of r.checkers) if (c.cfg.kind === 'BFD_CHECK' && c.cfg.bfdName === e.bfdInstance) this.onOutcome(v, r, c, bfdOutcome(e.to, e.cause), 0);
      }
    });
    this.unsubscribe = () => {
      offState();
      offBfd();
    };
    // keepalived starts with quorum up and weighs it at once: "Starting with quorum down" runs quorum_down.
    for (const v of this.vs) this.updateQuorum(v);
    this.publish();
    for (const v of this.vs) if (!v.suspended) this.arm(v, true);
  }

  /** Cancels every timer; checks in flight are ignored when they end. `omega`: the down scripts run. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    for (const v of this.vs) {
      for (const r of v.rs) for (const c of r.checkers) this.disarm(c);
      if (v.cfg.omega && this.started) {
        for (const r of v.rs) if (r.up && r.cfg.notifyDown) this.notify(v, 'notify_down', r.cfg.notifyDown, r.cfg.notifyDownText ?? '', r.key);
        if (v.quorumUp && v.cfg.quorumDown) this.notify(v, 'quorum_down', v.cfg.quorumDown, v.cfg.quorumDownText ?? '');
      }
    }
  }

  /** The desired table now. */
  table(): DataPlaneTable {
    return this.current;
  }

  state(): LvsState {
    return {
      generation: this.gen,
      virtualServers: this.vs.map((v) => ({
        virtualServer: v.key,
        services: v.heads.map((h) => h.key),
        quorumUp: v.quorumUp,
        liveWeight: this.liveWeight(v),
        quorum: v.cfg.quorum,
        hysteresis: v.cfg.hysteresis,
        sorryServerActive: !v.quorumUp && v.cfg.sorryServer !== undefined,
        suspended: v.suspended,
        realServers: v.rs.map((r) => {
          const w = this.weightOf(r);
          return {
            realServer: r.key,
            up: r.up,
            weight: r.up ? w : 0,
            inTable: this.inTable(v, r),
            checkers: r.checkers.map((c) => ({
              kind: c.cfg.kind,
              up: c.up,
              checks: c.checks,
              failures: c.failures,
              ...(c.lastResult !== undefined ? { lastResult: c.lastResult } : {}),
              ...(c.lastDetail !== undefined ? { lastDetail: c.lastDetail } : {}),
              ...(c.lastDurationMs !== undefined ? { lastDurationMs: c.lastDurationMs } : {}),
              ...(c.lastCheckWallMs !== undefined ? { lastCheckWallMs: c.lastCheckWallMs } : {}),
              ...(c.lastFailure !== undefined ? { lastFailure: c.lastFailure } : {}),
              ...(c.weight !== undefined ? { setWeight: c.weight } : {}),
            })),
          };
        }),
      })),
    };
  }

  /**
   * keepalived's script checks before anything runs (check_misc.c, check_data.c
   * check_notify_script_secure): a refused MISC_CHECK fails every check with the reason (the
   * server goes down, visibly), a refused notify script is not run (its lvs-notify says error).
   */
  private checkScripts(): void {
    const scriptSecurity = this.deps.config.global.enableScriptSecurity;
    const exes = new Set<string>();
    for (const v of this.vs) {
      for (const a of [v.cfg.quorumUp, v.cfg.quorumDown]) if (a?.[0]) exes.add(a[0]);
      for (const r of v.rs) {
        for (const a of [r.cfg.notifyUp, r.cfg.notifyDown]) if (a?.[0]) exes.add(a[0]);
        for (const c of r.checkers) if (c.cfg.miscPath?.[0]) exes.add(c.cfg.miscPath[0]);
      }
    }
    for (const exe of exes) {
      const p = this.deps.processes.checkExecutable(exe, { scriptSecurity });
      if (p) this.refused.set(exe, `${p.kind}: ${p.message}`);
    }
  }

  // --- scheduling ------------------------------------------------------------------------------

  /**
   * Each checker's first check: keepalived's BOOTSTRAP_DELAY (1 s) at start, plus a random part of
   * its warmup (check_api.c register_checkers_thread); on resuming (ha_suspend) the warmup part only.
   */
  private arm(v: VsState, atStart = false): void {
    const boot = atStart ? BOOTSTRAP_DELAY_MS : 0;
    for (const r of v.rs) for (const c of r.checkers) if (c.cfg.kind !== 'BFD_CHECK') this.schedule(v, r, c, boot + (c.cfg.kind === 'FILE_CHECK' ? 0 : c.cfg.warmupMs * this.random()));
  }

  private disarm(c: CheckerRun): void {
    if (c.timer) this.deps.clock.clearTimer(c.timer);
    c.timer = undefined;
    c.epoch++;
    c.running = false;
    c.retries = 0;
  }

  private schedule(v: VsState, r: RsState, c: CheckerRun, delayMs: number): void {
    if (this.stopped || v.suspended) return;
    if (c.timer) this.deps.clock.clearTimer(c.timer);
    c.timer = this.deps.clock.setTimer(delayMs, () => {
      c.timer = undefined;
      void this.runCheck(v, r, c);
    });
  }

  private setSuspended(v: VsState, suspended: boolean): void {
    if (v.suspended === suspended) return;
    v.suspended = suspended;
    this.emit({ type: 'lvs-suspend', virtualServer: v.key, suspended });
    if (suspended) for (const r of v.rs) for (const c of r.checkers) this.disarm(c);
    else if (this.started && !this.stopped) this.arm(v);
  }

  private async runCheck(v: VsState, r: RsState, c: CheckerRun): Promise<void> {
    const kind = c.cfg.kind;
    if (this.stopped || v.suspended || c.running || kind === 'BFD_CHECK') return;
    c.running = true;
    const epoch = c.epoch;
    const started = this.deps.clock.now();
    const checker = CHECKERS[kind];
    const tf = c.cfg.trackFile !== undefined ? this.deps.config.trackFiles.find((t) => t.name === c.cfg.trackFile) : undefined;
    const account = c.cfg.kind === 'MISC_CHECK' ? this.deps.runAs?.(c.cfg.user, c.cfg.group) : undefined;
    const runAs = account?.ok ? account.runAs : undefined;
    // A last bound on the run itself (each checker bounds its own I/O; this catches a port that never answers).
    const boundMs = (c.cfg.kind === 'MISC_CHECK' ? c.cfg.miscTimeoutMs ?? c.cfg.delayLoopMs : c.cfg.connectTimeoutMs * Math.max(1, c.cfg.urls?.length ?? 1)) + RUN_GRACE_MS;
    let guard: TimerHandle | undefined;
    const refused = account && !account.ok ? `its user ${c.cfg.user ?? ''} is not resolved` : c.cfg.miscPath?.[0] !== undefined ? this.refused.get(c.cfg.miscPath[0]) : undefined;
    const outcome = refused !== undefined ? { result: 'error' as const, detail: `misc_path not run: ${refused}` } : await Promise.race([
      checker(c.cfg, { address: r.cfg.address, ...(r.cfg.port !== undefined ? { port: r.cfg.port } : {}), weight: r.cfg.effectiveWeight }, {
        probes: this.deps.probes,
        processes: this.deps.processes,
        clock: this.deps.clock,
        ...(runAs ? { runAs } : {}),
        ...(tf ? { trackFile: { path: tf.file, weight: tf.weight, reverse: tf.weightReverse } } : {}),
      }).catch((e: unknown): CheckOutcome => ({ result: 'error', detail: e instanceof Error ? e.message : String(e) })),
      new Promise<CheckOutcome>((resolve) => {
        guard = this.deps.clock.setTimer(boundMs, () => resolve({ result: 'timeout', detail: `no outcome within ${boundMs} ms` }));
      }),
    ]);
    if (guard) this.deps.clock.clearTimer(guard);
    if (epoch !== c.epoch || this.stopped) return;
    c.running = false;
    this.onOutcome(v, r, c, outcome, this.deps.clock.now() - started);
  }

  private onOutcome(v: VsState, r: RsState, c: CheckerRun, o: CheckOutcome, durationMs: number): void {
    c.checks++;
    c.lastResult = o.result;
    c.lastDurationMs = durationMs;
    c.lastCheckWallMs = this.deps.clock.wallNow();
    if (o.detail !== undefined) c.lastDetail = o.detail;
    else delete c.lastDetail;
    this.emit({
      type: 'lvs-check',
      virtualServer: v.key,
      realServer: r.key,
      checker: c.cfg.kind,
      checkerIndex: c.index,
      result: o.result,
      durationMs,
      attempt: c.retries + 1,
      ...(o.detail !== undefined ? { detail: o.detail } : {}),
    });
    // FILE_CHECK follows its file (keepalived watches it with inotify): read every second, no retries.
    // BFD_CHECK follows its session's events: no retries, nothing scheduled.
    const isFile = c.cfg.kind === 'FILE_CHECK';
    const isBfd = c.cfg.kind === 'BFD_CHECK';
    let next = isFile ? FILE_POLL_MS : c.cfg.delayLoopMs;
    const retry = isFile || isBfd ? 0 : c.cfg.retry;
    const beforeWeight = this.weightOf(r);
    if (o.result === 'ok') {
      c.retries = 0;
      c.up = true;
      if (o.weight !== undefined) c.weight = o.weight;
    } else {
      c.failures++;
      c.lastFailure = o.result;
      // keepalived's epilogs retry whatever the checker's state; only the last failure counts.
      if (c.retries < retry) {
        c.retries++;
        next = c.cfg.delayBeforeRetryMs;
      } else {
        c.retries = 0;
        c.up = false;
      }
    }
    this.update(v, r, c, o.result, beforeWeight);
    if (!isBfd) this.schedule(v, r, c, next);
  }

  // --- state -----------------------------------------------------------------------------------

  /** A real server's weight now: the lowest weight a checker set (misc_dynamic, FILE_CHECK), else its own. */
  private weightOf(r: RsState): number {
    let w = r.cfg.effectiveWeight;
    for (const c of r.checkers) if (c.weight !== undefined) w = c.cfg.kind === 'FILE_CHECK' || c.weight < w ? c.weight : w;
    return w;
  }

  private liveWeight(v: VsState): number {
    return v.rs.reduce((n, r) => n + (r.up ? this.weightOf(r) : 0), 0);
  }

  private inTable(v: VsState, r: RsState): boolean {
    if (!v.quorumUp && v.cfg.sorryServer) return false;
    return r.up || r.cfg.inhibitOnFailure;
  }

  private update(v: VsState, r: RsState, c: CheckerRun, result: CheckResult, beforeWeight: number): void {
    const up = r.checkers.every((x) => x.up);
    const weight = this.weightOf(r);
    // Nothing the table or the quorum depends on changed (the common case: a pass while up).
    if (up === r.up && weight === beforeWeight) return;
    if (up !== r.up) {
      r.up = up;
      const reason: RealServerReason = up ? 'check-ok' : 'check-failed';
      this.emit({
        type: 'lvs-real-server',
        virtualServer: v.key,
        realServer: r.key,
        up,
        weight: up ? weight : 0,
        reason,
        checker: c.cfg.kind,
        ...(up ? {} : { result }),
        atMs: this.deps.clock.now(),
        wallMs: this.deps.clock.wallNow(),
      });
      const cmd = up ? r.cfg.notifyUp : r.cfg.notifyDown;
      if (cmd) this.notify(v, up ? 'notify_up' : 'notify_down', cmd, (up ? r.cfg.notifyUpText : r.cfg.notifyDownText) ?? '', r.key);
    } else if (up && weight !== beforeWeight) {
      this.emit({ type: 'lvs-real-server', virtualServer: v.key, realServer: r.key, up, weight, reason: 'dynamic-weight', checker: c.cfg.kind, atMs: this.deps.clock.now(), wallMs: this.deps.clock.wallNow() });
    }
    this.updateQuorum(v);
    this.publish();
  }

  private updateQuorum(v: VsState): void {
    const live = this.liveWeight(v);
    const { quorum, hysteresis } = v.cfg;
    let to = v.quorumUp;
    if (v.quorumUp && (live === 0 || live < quorum - hysteresis)) to = false;
    else if (!v.quorumUp && live >= quorum + hysteresis) to = true;
    if (to === v.quorumUp) return;
    v.quorumUp = to;
    this.emit({ type: 'lvs-quorum', virtualServer: v.key, up: to, liveWeight: live, quorum, hysteresis, sorryServer: !to && v.cfg.sorryServer !== undefined, atMs: this.deps.clock.now() });
    const cmd = to ? v.cfg.quorumUp : v.cfg.quorumDown;
    if (cmd) this.notify(v, to ? 'quorum_up' : 'quorum_down', cmd, (to ? v.cfg.quorumUpText : v.cfg.quorumDownText) ?? '');
  }

  /** Builds the table; emits `lvs-table` when it differs from the last one. */
  private publish(): void {
    const services: DataPlaneService[] = [];
    for (const v of this.vs) {
      const sorry = v.cfg.sorryServer;
      const servers = [];
      if (!v.quorumUp && sorry) {
        servers.push({ address: sorry.address, ...(sorry.port !== undefined ? { port: sorry.port } : {}), weight: 1, ...(sorry.method ? { method: sorry.method } : {}) });
      } else {
        for (const r of v.rs) if (this.inTable(v, r)) servers.push(tableRealServer(r.cfg, r.up ? this.weightOf(r) : 0));
        if (sorry && v.cfg.sorryServerInhibit) servers.push({ address: sorry.address, ...(sorry.port !== undefined ? { port: sorry.port } : {}), weight: 0, ...(sorry.method ? { method: sorry.method } : {}) });
      }
      for (const h of v.heads) services.push({ ...h, realServers: servers, ...(v.iface !== undefined ? { interface: v.iface } : {}) });
    }
    const table: DataPlaneTable = { services };
    const json = JSON.stringify(table);
    if (json === this.lastTableJson) return;
    this.lastTableJson = json;
    this.current = table;
    this.gen++;
    this.emit({ type: 'lvs-table', generation: this.gen, services: services.length, realServers: services.reduce((n, s) => n + s.realServers.length, 0) });
  }

  private notify(v: VsState, what: 'notify_up' | 'notify_down' | 'quorum_up' | 'quorum_down', argv: readonly string[], command: string, realServer?: string): void {
    const refused = argv[0] !== undefined ? this.refused.get(argv[0]) : undefined;
    if (refused !== undefined) {
      this.emit({ type: 'lvs-notify', virtualServer: v.key, ...(realServer !== undefined ? { realServer } : {}), what, command, result: 'error', exitCode: null, durationMs: 0, error: `not run: ${refused}` });
      return;
    }
    const account = this.deps.runAs?.(undefined, undefined);
    if (account && !account.ok) {
      this.emit({ type: 'lvs-notify', virtualServer: v.key, ...(realServer !== undefined ? { realServer } : {}), what, command, result: 'error', exitCode: null, durationMs: 0, error: 'not run: the script user is not resolved' });
      return;
    }
    const runAs = account?.runAs;
    void this.deps.processes.run(argv, { timeoutMs: this.deps.notifyTimeoutMs ?? NOTIFY_TIMEOUT_MS, ...(runAs ? { runAs } : {}) }).then((o) => {
      this.emit({ type: 'lvs-notify', virtualServer: v.key, ...(realServer !== undefined ? { realServer } : {}), what, command, result: o.result, exitCode: o.exitCode, durationMs: o.durationMs, ...(o.error !== undefined ? { error: o.error } : {}) });
    });
  }

  private emit(e: LvsEvent): void {
    this.deps.bus.emit(e);
  }
}
