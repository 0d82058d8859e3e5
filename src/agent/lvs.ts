/**
 * The LVS side in the running agent (composition only): the LVS room's service (src/lvs/: the
 * checkers and the desired table), the data plane chosen at start (IPVS when the kernel has
 * `ip_vs`, else nftables), and the applies between them.
 *
 * - Every node programs the table, whatever its VRRP state: keepalived's checker process programs
 *   IPVS on both directors regardless of VRRP (only `ha_suspend` ties checks to MASTER), so a
 *   failover finds the backup's table ready and the service keeps running.
 * - Each `lvs-table` event schedules an apply of the newest table: coalesced (one apply at a
 *   time; a change during it is applied after it, once), bounded by the adapter's timeouts. A
 *   refused table keeps the previous one in force and is retried with backoff (1 s doubling to
 *   30 s). DR tables are re-rendered every REFRESH_MS (a real server's MAC may change; the adapter
 *   runs nft only when the ruleset differs).
 * - Start: the first table replaces any leftover (nftables: one transaction); without any
 *   virtual_server, leftovers are removed. Stop (and crash release): the table is removed.
 */
import { existsSync } from 'node:fs';
import type { KeepalivedConfig } from '../config/model.js';
import type { AgentBus } from '../events/index.js';
import type { Clock, DataPlane, DataPlaneService, LvsProbes, ProcessRunner, TimerHandle } from '../ports/index.js';
import { LvsService, type LvsServiceDeps, type LvsState } from '../lvs/service.js';
import { NodeLvsProbes } from '../adapters/lvs-probes.js';
import { NftLvsDataPlane, SystemNeighbours, nftSchedulerEffect, type LvsNote } from '../adapters/nft-lvs.js';
import { IpvsDataPlane, ipvsAvailable } from '../adapters/ipvs.js';
import { SystemNftRunner } from '../adapters/nft.js';
import { describe } from '../adapters/errors.js';
import type { Logger } from '../observability/logging.js';
import type { Observability } from '../observability/index.js';
import type { LvsMetricsView } from '../observability/metrics.js';
import { logLvsEvents, traceLvs } from '../observability/lvs.js';

/** Coalescing window: the burst of table changes at start (or a reload) is one apply. */
export const APPLY_DEBOUNCE_MS = 20;
export const RETRY_MIN_MS = 1000;
export const RETRY_MAX_MS = 30_000;
/** DR: how often the MACs are looked up again. */
export const REFRESH_MS = 10_000;
/** A DR real server without a neighbour entry yet: looked up again this soon. */
export const NOTE_RETRY_MS = 2000;

export interface LvsAgentDeps {
  readonly log: Logger;
  readonly clock: Clock;
  readonly bus: AgentBus;
  readonly processes: ProcessRunner;
  readonly runAs?: LvsServiceDeps['runAs'];
  /** The data plane (tests); default: chosen from the kernel at start (chooseDataPlane). */
  readonly dataPlane?: DataPlane;
  /** The checkers' sockets (tests); default: NodeLvsProbes. */
  readonly probes?: LvsProbes;
  /** Whether a vrrp_instance is MASTER now (ha_suspend after a reload or a late start). */
  readonly isMaster?: (instance: string) => boolean;
  /** false with `-P` (VRRP only): every config is read as if it had no virtual_server. */
  readonly enabled?: boolean;
}

/** IPVS where the kernel has it (/proc/net/ip_vs), else nftables. */
export function chooseDataPlane(hasIpvs = ipvsAvailable()): DataPlane {
  return hasIpvs ? new IpvsDataPlane() : new NftLvsDataPlane({ nft: new SystemNftRunner(), neighbours: new SystemNeighbours() });
}

export class LvsAgent {
  private config: KeepalivedConfig;
  private service: LvsService | undefined;
  private dp: DataPlane | undefined;
  private timer: TimerHandle | undefined;
  private refreshTimer: TimerHandle | undefined;
  private applying = false;
  private pending = false;
  private failing = false;
  private retryMs = RETRY_MIN_MS;
  private lastError: string | undefined;
  private appliedGeneration = 0;
  private lastApplyWallMs: number | undefined;
  private lastNotes = '';
  private running = false;
  private observability: Observability | undefined;

  constructor(
    private readonly deps: LvsAgentDeps,
    config: KeepalivedConfig,
  ) {
    this.config = this.side(config);
    deps.bus.on('lvs-table', () => this.kick(APPLY_DEBOUNCE_MS));
  }

  /** Logs, spans and metrics (call once, after observe()). */
  observe(o: Observability): void {
    this.observability = o;
    logLvsEvents(this.deps.bus, this.deps.log, () => this.deps.clock.now(), o.limiter);
    if (o.tracing.enabled) traceLvs(o.tracing.tracer, this.deps.bus, (atMs) => this.deps.clock.wallNow() - (this.deps.clock.now() - atMs));
    o.metrics.subscribeLvs(this.deps.bus, () => this.metricsView());
  }

  get kind(): DataPlane['kind'] {
    return this.dp?.kind ?? 'none';
  }

  /** Chooses the data plane, removes leftovers when there is nothing to run, starts the checks (the first table applies at once). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const vs = this.config.virtualServers.length;
    if (vs === 0 && !this.dp) {
      // Nothing to run: only a crash's leftover table could be there.
      const dp = this.deps.dataPlane ?? chooseDataPlane();
      try {
        await dp.removeAll();
      } catch (err) {
        this.observability?.metrics.lvsApplied(false, 'reconcile');
        this.deps.log.warn({ err, event: 'lvs-data-plane', action: 'reconcile' }, `LVS: could not remove a leftover ${dp.kind} table: ${describe(err)}`);
      }
      return;
    }
    this.dp ??= this.deps.dataPlane ?? chooseDataPlane();
    this.deps.log.info({ event: 'lvs-started', dataPlane: this.dp.kind, virtualServers: vs }, `LVS: ${vs} virtual server${vs === 1 ? '' : 's'}, data plane ${this.dp.kind}${this.dp.kind === 'nftables' ? ' (this kernel has no ip_vs)' : ''}`);
    this.service = this.makeService(this.config);
    this.service.start();
  }

  /** Stops the checks and removes the table (bounded by the adapter's timeout). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.service?.stop();
    this.service = undefined;
    for (const t of [this.timer, this.refreshTimer]) if (t) this.deps.clock.clearTimer(t);
    this.timer = this.refreshTimer = undefined;
    const dp = this.dp;
    if (!dp) return;
    try {
      await dp.removeAll();
      this.deps.log.info({ event: 'lvs-data-plane', action: 'remove' }, `LVS: ${dp.kind} table removed`);
    } catch (err) {
      this.observability?.metrics.lvsApplied(false, 'remove');
      this.deps.log.error({ err, event: 'lvs-data-plane', action: 'remove' }, `LVS: could not remove the ${dp.kind} table: ${describe(err)} (the next start replaces it)`);
    }
  }

  /** A reload: the checks restart for the new config (real servers start as keepalived's: up unless `alpha`). */
  async reconfigure(full: KeepalivedConfig): Promise<void> {
    const next = this.side(full);
    const same = JSON.stringify(strip(this.config.virtualServers)) === JSON.stringify(strip(next.virtualServers)) && JSON.stringify(strip(this.config.virtualServerGroups ?? [])) === JSON.stringify(strip(next.virtualServerGroups ?? []));
    this.config = next;
    if (same || !this.running) return;
    // Real servers that stay keep their state (a down one stays out until it passes its checks).
    const restore = this.service?.state();
    this.service?.stop();
    this.service = undefined;
    if (next.virtualServers.length === 0) {
      this.running = false;
      this.service = undefined;
      if (this.dp) {
        try {
          await this.dp.removeAll();
        } catch (err) {
          this.observability?.metrics.lvsApplied(false, 'remove');
          this.deps.log.error({ err, event: 'lvs-data-plane', action: 'remove' }, `LVS: could not remove the ${this.dp.kind} table: ${describe(err)}`);
        }
      }
      this.running = true;
      return;
    }
    this.dp ??= this.deps.dataPlane ?? chooseDataPlane();
    this.service = this.makeService(next, restore);
    this.service.start();
  }

  /** The part of a config this agent runs: none of it with `-P`. */
  private side(config: KeepalivedConfig): KeepalivedConfig {
    return this.deps.enabled === false ? { ...config, virtualServers: [], virtualServerGroups: [] } : config;
  }

  /** The `lvs` section of /v1/state. */
  state(): Record<string, unknown> {
    const s: LvsState | undefined = this.service?.state();
    const services = new Map<string, DataPlaneService>((this.service?.table().services ?? []).map((x) => [x.key, x]));
    const notes = this.dp instanceof NftLvsDataPlane ? this.dp.notes : [];
    return {
      dataPlane: this.kind,
      generation: s?.generation ?? 0,
      appliedGeneration: this.appliedGeneration,
      applyFailing: this.failing,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.lastApplyWallMs !== undefined ? { lastApply: new Date(this.lastApplyWallMs).toISOString() } : {}),
      ...(notes.length ? { notes: notes.map((n) => n.message) } : {}),
      virtualServers: (s?.virtualServers ?? []).map((v) => ({
        ...v,
        table: v.services.map((k) => {
          const t = services.get(k);
          if (!t) return { key: k };
          return {
            key: k,
            method: t.method,
            scheduler: t.scheduler,
            ...(this.kind === 'nftables' ? { nftables: nftSchedulerEffect(t) } : {}),
            persistenceTimeoutS: t.persistenceTimeoutS,
            ...(t.interface ? { interface: t.interface } : {}),
            realServers: t.realServers.map((r) => ({ address: r.address, ...(r.port !== undefined ? { port: r.port } : {}), weight: r.weight })),
          };
        }),
      })),
    };
  }

  private metricsView(): LvsMetricsView {
    const s = this.service?.state();
    return {
      dataPlane: this.kind,
      applyFailing: this.failing,
      virtualServers: (s?.virtualServers ?? []).map((v) => ({
        virtualServer: v.virtualServer,
        quorumUp: v.quorumUp,
        liveWeight: v.liveWeight,
        quorum: v.quorum,
        sorryServerActive: v.sorryServerActive,
        realServers: v.realServers.map((r) => ({ realServer: r.realServer, up: r.up, weight: r.weight, checkers: r.checkers.map((c) => ({ kind: c.kind, up: c.up, ...(c.lastFailure ? { lastFailure: c.lastFailure } : {}) })) })),
      })),
    };
  }

  private makeService(config: KeepalivedConfig, restore?: LvsState): LvsService {
    return new LvsService({
      config,
      clock: this.deps.clock,
      probes: this.deps.probes ?? new NodeLvsProbes((what) => this.deps.log.warn({ event: 'lvs-probe' }, `LVS: ${what}`)),
      ...(restore ? { restore } : {}),
      ...(this.deps.isMaster ? { isMaster: this.deps.isMaster } : {}),
      processes: this.deps.processes,
      bus: this.deps.bus,
      ...(this.deps.runAs ? { runAs: this.deps.runAs } : {}),
    });
  }

  /** An apply of the newest table in `delayMs` (an earlier one already scheduled stands). */
  private kick(delayMs: number): void {
    if (!this.running || this.timer) return;
    this.timer = this.deps.clock.setTimer(delayMs, () => {
      this.timer = undefined;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.applying) {
      this.pending = true;
      return;
    }
    const service = this.service;
    const dp = this.dp;
    if (!service || !dp || !this.running) return;
    this.applying = true;
    const generation = service.generation;
    const table = service.table();
    const t0 = this.deps.clock.now();
    try {
      await dp.apply(table);
      this.observability?.metrics.lvsApplied(true, 'apply');
      if (this.failing) this.deps.log.info({ event: 'lvs-data-plane', action: 'apply', generation }, `LVS: the ${dp.kind} table applies again`);
      this.failing = false;
      this.lastError = undefined;
      this.retryMs = RETRY_MIN_MS;
      this.appliedGeneration = generation;
      this.lastApplyWallMs = this.deps.clock.wallNow();
      this.deps.log.debug({ event: 'lvs-data-plane', action: 'apply', generation, durationMs: Math.round(this.deps.clock.now() - t0) }, `LVS: table ${generation} applied (${dp.kind})`);
      this.reportNotes(dp);
    } catch (err) {
      this.observability?.metrics.lvsApplied(false, 'apply');
      const first = !this.failing;
      this.failing = true;
      this.lastError = describe(err);
      if (first || this.retryMs >= RETRY_MAX_MS) this.deps.log.error({ err, event: 'lvs-data-plane', action: 'apply', generation }, `LVS: the kernel refused table ${generation} (${dp.kind}): ${describe(err)}; the previous table stays in force, retrying in ${this.retryMs / 1000} s`);
      const retry = this.retryMs;
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
      this.applying = false;
      this.kick(retry);
      return;
    }
    this.applying = false;
    if (this.pending) {
      this.pending = false;
      this.kick(0);
      return;
    }
    this.armRefresh(table.services.some((s) => s.method === 'dr'), dp);
  }

  private armRefresh(dr: boolean, dp: DataPlane): void {
    if (this.refreshTimer) this.deps.clock.clearTimer(this.refreshTimer);
    this.refreshTimer = undefined;
    if (!dr || dp.kind !== 'nftables' || !this.running) return;
    const unresolved = dp instanceof NftLvsDataPlane && dp.notes.some((n) => n.kind === 'mac-unresolved');
    this.refreshTimer = this.deps.clock.setTimer(unresolved ? NOTE_RETRY_MS : REFRESH_MS, () => {
      this.refreshTimer = undefined;
      this.kick(0);
    });
  }

  private reportNotes(dp: DataPlane): void {
    if (!(dp instanceof NftLvsDataPlane)) return;
    const notes: readonly LvsNote[] = dp.notes;
    const key = notes.map((n) => n.message).join('\n');
    if (key === this.lastNotes) return;
    this.lastNotes = key;
    for (const n of notes) this.deps.log.warn({ event: 'lvs-data-plane-note', kind: n.kind, virtualServer: n.service, ...(n.realServer ? { realServer: n.realServer } : {}) }, `LVS (nftables): ${n.message}`);
  }
}

/** A config block without its locations (a reload that only moved lines changes nothing). */
function strip(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'location' ? undefined : x))) as unknown;
}
