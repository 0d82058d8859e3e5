/**
 * Prometheus metrics (prom-client, its own Registry plus the default process/Node collectors).
 * Counters follow core and host events; gauges that describe "now" (state, priorities, VIP
 * presence, pcap counters) are read from the agent at scrape time, so they are never stale.
 * Names, types and labels come from names.ts, the contract dashboards and alerts check.
 */
import type { AgentBus } from '../events/index.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import type { VrrpEvent, EventBus } from '../events/index.js';
import { VRRP_STATES } from '../events/index.js';
import type { VrrpRouter } from '../core/router.js';
import type { HostEvent } from '../events/index.js';
import { DROP_REASONS } from '../protocol/check.js';
import { PRIORITY_STOP } from '../protocol/constants.js';
import type { ElectionTracker } from './elections.js';
import { METRICS, type MetricSpec } from './names.js';
import { DETECTION_SOURCES, FIFO_LINE_RESULTS, MAIL_RESULTS, NOTIFY_RESULTS, REJECT_REASONS, RUN_RESULTS } from '../events/index.js';
import { BFD_STATES } from '../events/bfd.js';

/** What libpcap counts per interface (adapters/pcap-capture.ts keeps it). */
export interface CaptureStats {
  readonly received: number;
  readonly dropped: number;
  readonly interfaceDropped: number;
}

export interface MetricsSource {
  routers(): readonly VrrpRouter[];
  vipPresent(iface: string, address: string): boolean;
  captureStats(): ReadonlyMap<string, CaptureStats>;
  readonly version: string;
}

type Labels = LabelValues<string>;

interface InstanceIds {
  readonly instance: string;
  readonly vrid: number;
  readonly interface: string;
}

function ids(r: InstanceIds): Labels {
  return { vrrp_instance: r.instance, vrid: String(r.vrid), interface: r.interface };
}

function routerIds(r: VrrpRouter): Labels {
  return { vrrp_instance: r.name, vrid: String(r.config.vrid), interface: r.config.interface };
}

/** What the LVS metrics read at scrape time (agent/lvs.ts builds it from the LVS room's state). */
export interface LvsMetricsView {
  readonly dataPlane: string;
  readonly applyFailing: boolean;
  readonly virtualServers: readonly {
    readonly virtualServer: string;
    readonly quorumUp: boolean;
    readonly liveWeight: number;
    readonly quorum: number;
    readonly sorryServerActive: boolean;
    readonly realServers: readonly {
      readonly realServer: string;
      readonly up: boolean;
      readonly weight: number;
      readonly checkers: readonly { readonly kind: string; readonly up: boolean; readonly lastFailure?: string }[];
    }[];
  }[];
}

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly histograms = new Map<string, Histogram>();
  /** Last advert seen on the wire per instance (monotonic ms), for inter-arrival. */
  private readonly lastArrival = new Map<string, number>();
  private readonly arrivalChildren = new Map<string, { vrid: number; interface: string; observe: { observe(v: number): void } }>();

  constructor(private readonly source: MetricsSource) {
    // The event-loop delay monitor is a libuv timer at this period: at 10 ms (100 wake-ups/s) it
    // cost ~1 % of a core on its own here, more than 255 VRRP instances at 1 s. Lag that matters
    // to VRRP (a stall of several ms) still shows at 50 ms.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 50 });
    for (const spec of Object.values(METRICS) as MetricSpec[]) this.create(spec);
    this.gauge(METRICS.buildInfo.name).set({ version: source.version, nodejs_version: process.version }, 1);
    // Collect-time views of "now".
    this.onCollect(METRICS.state.name, (g) => {
      for (const r of this.source.routers()) for (const s of VRRP_STATES) g.set({ ...routerIds(r), state: s }, r.state === s ? 1 : 0);
    });
    this.onCollect(METRICS.priority.name, (g) => this.source.routers().forEach((r) => g.set(routerIds(r), r.effectivePriority)));
    this.onCollect(METRICS.basePriority.name, (g) => this.source.routers().forEach((r) => g.set(routerIds(r), r.basePriority)));
    this.onCollect(METRICS.masterPriority.name, (g) => this.source.routers().forEach((r) => g.set(routerIds(r), r.snapshot().master?.priority ?? 0)));
    this.onCollect(METRICS.masterDownInterval.name, (g) => this.source.routers().forEach((r) => g.set(routerIds(r), r.masterDownIntervalMs / 1000)));
    this.onCollect(METRICS.advertIntervalConfig.name, (g) => this.source.routers().forEach((r) => g.set(routerIds(r), r.config.advertIntervalMs / 1000)));
    this.onCollect(METRICS.vipPresent.name, (g) => {
      for (const r of this.source.routers()) {
        for (const v of [...r.config.virtualAddresses, ...r.config.virtualAddressesExcluded]) {
          g.set({ ...routerIds(r), vip: v.address }, this.source.vipPresent(v.device ?? r.config.interface, v.address) ? 1 : 0);
        }
      }
    });
    // libpcap keeps these counters; we copy them at scrape time (they only grow: PcapCapture keeps
    // the totals of closed sessions).
    this.onCollectCounter(METRICS.capturePackets.name, () => [...this.source.captureStats()].map(([iface, s]) => [{ interface: iface }, s.received]));
    this.onCollectCounter(METRICS.captureDropped.name, () => [...this.source.captureStats()].map(([iface, s]) => [{ interface: iface }, s.dropped + s.interfaceDropped]));
  }

  /** Starts counting. `routers` lets series exist at 0 from the start (no absent-vs-zero gaps). */
  subscribe(bus: AgentBus, elections: ElectionTracker): void {
    this.primeSeries();
    const sent = this.hotCounter(METRICS.advertsSent.name);
    const received = this.hotCounter(METRICS.advertsReceived.name);
    bus.on('advert-sent', (e) => {
      sent.bump(e);
      if (e.priority === PRIORITY_STOP) this.counter(METRICS.priorityZeroSent.name).inc(ids(e));
    });
    bus.on('advert-received', (e) => {
      received.bump(e);
      if (e.priority === PRIORITY_STOP) this.counter(METRICS.priorityZeroReceived.name).inc(ids(e));
      if (e.addressListMismatch) this.counter(METRICS.addressListMismatch.name).inc(ids(e));
      if (e.state === 'backup') this.observeArrival(e, e.atMs);
    });
    bus.on('advert-dropped', (e) => {
      this.counter(METRICS.advertsDropped.name).inc({ vrrp_instance: e.instance ?? '', vrid: e.vrid === undefined ? '' : String(e.vrid), interface: e.interface, reason: e.reason });
    });
    bus.on('state-changed', (e) => {
      this.counter(METRICS.transitions.name).inc({ ...ids(e), from: e.from, to: e.to, cause: e.cause });
      this.gauge(METRICS.lastTransition.name).set(ids(e), e.wallMs / 1000);
      this.lastArrival.delete(e.instance);
    });
    bus.on('garp-sent', (e) => this.counter(METRICS.garpSent.name).inc(ids(e), e.count));
    bus.on('send-failed', (e) => {
      const r = this.source.routers().find((x) => x.name === e.instance);
      if (r) this.counter(METRICS.sendErrors.name).inc(routerIds(r));
    });
    bus.on('vip-repaired', (e) => {
      const r = this.source.routers().find((x) => x.name === e.assignment.instance);
      if (r) this.counter(METRICS.vipRepairs.name).inc(routerIds(r));
    });
    bus.on('vip-result', (e) => {
      if (!e.error) return;
      const r = this.source.routers().find((x) => x.name === e.assignment.instance);
      if (r) this.counter(METRICS.vipErrors.name).inc({ ...routerIds(r), action: e.action });
    });
    bus.on('route-result', (e) => {
      if (e.error) this.counter(METRICS.routeErrors.name).inc({ vrrp_instance: e.entry.owner, kind: e.entry.kind, action: e.action });
    });
    bus.on('route-repaired', (e) => this.counter(METRICS.routeRepairs.name).inc({ vrrp_instance: e.entry.owner, kind: e.entry.kind }));
    bus.on('reload', (e) => this.counter(METRICS.configReloads.name).inc({ result: e.result }));
    bus.on('frame', (e) => {
      // A master's own adverts, as pcap timestamped them on their way out (the engine says whose).
      const o = e.outcome;
      if (o.kind !== 'own' || o.instance === undefined) return;
      const r = this.source.routers().find((x) => x.name === o.instance);
      if (r && r.state === 'master') this.observeArrival({ instance: r.name, vrid: r.config.vrid, interface: r.config.interface }, e.wallUs / 1000);
    });
    elections.onSettled((el) => {
      const t = el.transition;
      this.histogram(METRICS.electionDuration.name).observe({ ...ids(t), to: t.to }, Math.max(0, el.settledAtMs - t.startedAtMs) / 1000);
      const firstGarp = el.garps[0];
      if (t.to === 'master' && t.lastAdvertAtMs !== undefined && firstGarp) {
        this.histogram(METRICS.failoverDuration.name).observe(ids(t), Math.max(0, firstGarp.atMs - t.lastAdvertAtMs) / 1000);
      }
    });
  }

  httpRequest(handler: string, code: number): void {
    this.counter(METRICS.httpRequests.name).inc({ handler, code: String(code) });
  }

  /** The split-brain guard's metrics. */
  subscribeGuard(bus: AgentBus, guard: { conflict(instance: string): boolean; suspected(instance: string): boolean }, witness: boolean): void {
    const idOf = (e: { instance: string; vrid: number }) => ({ vrrp_instance: e.instance, vrid: String(e.vrid) });
    for (const source of DETECTION_SOURCES) this.counter(METRICS.splitBrainDetections.name).inc({ source }, 0);
    for (const reason of REJECT_REASONS) this.counter(METRICS.guardRejected.name).inc({ reason }, 0);
    for (const r of this.source.routers()) this.counter(METRICS.guardDemotions.name).inc({ vrrp_instance: r.name, vrid: String(r.config.vrid) }, 0);
    this.onCollect(METRICS.splitBrain.name, (g) => this.source.routers().forEach((r) => g.set({ vrrp_instance: r.name, vrid: String(r.config.vrid) }, guard.conflict(r.name) ? 1 : 0)));
    this.onCollect(METRICS.splitBrainSuspected.name, (g) => this.source.routers().forEach((r) => g.set({ vrrp_instance: r.name, vrid: String(r.config.vrid) }, guard.suspected(r.name) ? 1 : 0)));
    this.onCollect(METRICS.guardHeld.name, (g) => this.source.routers().forEach((r) => g.set({ vrrp_instance: r.name, vrid: String(r.config.vrid) }, r.held !== undefined ? 1 : 0)));
    bus.on('guard-detection', (e) => this.counter(METRICS.splitBrainDetections.name).inc({ source: e.evidence.source }));
    bus.on('guard-decision', (e) => {
      if (e.verdict.decision === 'yield') this.counter(METRICS.guardDemotions.name).inc(idOf(e));
    });
    bus.on('guard-peer', (e) => this.gauge(METRICS.guardPeerUp.name).set({ peer: e.peer }, e.up ? 1 : 0));
    bus.on('guard-rejected', (e) => this.counter(METRICS.guardRejected.name).inc({ reason: e.reason }));
    if (witness) {
      this.gauge(METRICS.guardWitnessUp.name).set(0);
      bus.on('guard-witness', (e) => this.gauge(METRICS.guardWitnessUp.name).set(e.up ? 1 : 0));
    }
  }

  /** Tracking, notify scripts and mail. */
  subscribeTracking(bus: AgentBus, scripts: () => { name: string; status: string }[]): void {
    for (const result of NOTIFY_RESULTS) this.counter(METRICS.notifyRuns.name).inc({ result }, 0);
    for (const result of MAIL_RESULTS) this.counter(METRICS.mailSends.name).inc({ result }, 0);
    for (const s of scripts()) for (const result of RUN_RESULTS) this.counter(METRICS.scriptRuns.name).inc({ script: s.name, result }, 0);
    this.onCollect(METRICS.scriptStatus.name, (g) => scripts().forEach((s) => g.set({ script: s.name }, s.status === 'good' || s.status === 'init' ? 1 : 0)));
    bus.on('script-result', (e) => {
      this.counter(METRICS.scriptRuns.name).inc({ script: e.script, result: e.result });
      this.histogram(METRICS.scriptDuration.name).observe({ script: e.script }, e.durationMs / 1000);
    });
    bus.on('track-weight', (e) => this.gauge(METRICS.trackWeight.name).set({ vrrp_instance: e.instance, tracker: e.tracker }, e.weight));
    bus.on('track-file-read', (e) => {
      if (e.result !== 'ok') this.counter(METRICS.trackFileReadFailures.name).inc({ tracker: e.tracker, reason: e.result });
    });
    bus.on('notify-run', (e) => this.counter(METRICS.notifyRuns.name).inc({ result: e.result }));
    bus.on('track-process', (e) => {
      this.gauge(METRICS.trackProcessCount.name).set({ track_process: e.process }, e.count);
      this.gauge(METRICS.trackProcessQuorum.name).set({ track_process: e.process }, e.up ? 1 : 0);
    });
    bus.on('process-scan-truncated', () => this.counter(METRICS.processScansTruncated.name).inc({}));
    bus.on('notify-fifo', (e) => {
      if (e.what === 'opened') for (const result of FIFO_LINE_RESULTS) this.counter(METRICS.notifyFifoLines.name).inc({ fifo: e.fifo, result }, 0);
    });
    bus.on('notify-fifo-line', (e) => this.counter(METRICS.notifyFifoLines.name).inc({ fifo: e.fifo, result: e.result }));
    bus.on('mail-sent', (e) => this.counter(METRICS.mailSends.name).inc({ result: e.result }));
  }

  /**
   * BFD (src/bfd/, wired by agent/bfd.ts): states and detection times read at scrape time,
   * packets and transitions counted from the bus. Series exist at 0 from the start.
   */
  subscribeBfd(bus: AgentBus, sessions: () => readonly { name: string; neighbor: string; state: string; detectionTimeMs: number }[]): void {
    for (const s of sessions()) {
      this.counter(METRICS.bfdPacketsSent.name).inc({ bfd_instance: s.name }, 0);
      this.counter(METRICS.bfdPacketsReceived.name).inc({ bfd_instance: s.name }, 0);
    }
    this.onCollect(METRICS.bfdSessionState.name, (g) => {
      for (const s of sessions()) for (const state of BFD_STATES) g.set({ bfd_instance: s.name, neighbor: s.neighbor, state }, s.state === state ? 1 : 0);
    });
    this.onCollect(METRICS.bfdDetectionTime.name, (g) => sessions().forEach((s) => g.set({ bfd_instance: s.name }, s.detectionTimeMs / 1000)));
    bus.on('bfd-packet-sent', (e) => this.counter(METRICS.bfdPacketsSent.name).inc({ bfd_instance: e.bfdInstance }));
    bus.on('bfd-packet-received', (e) => this.counter(METRICS.bfdPacketsReceived.name).inc({ bfd_instance: e.bfdInstance }));
    bus.on('bfd-packet-dropped', (e) => this.counter(METRICS.bfdPacketsDropped.name).inc({ bfd_instance: e.bfdInstance, reason: e.reason }));
    bus.on('bfd-send-failed', (e) => this.counter(METRICS.bfdSendErrors.name).inc({ bfd_instance: e.bfdInstance }));
    bus.on('bfd-state-changed', (e) => {
      this.counter(METRICS.bfdTransitions.name).inc({ bfd_instance: e.bfdInstance, from: e.from, to: e.to, cause: e.cause });
      if (e.cause === 'expired' && e.silentMs !== undefined) this.histogram(METRICS.bfdDetection.name).observe({ bfd_instance: e.bfdInstance }, e.silentMs / 1000);
    });
  }

  /**
   * LVS (issue 16): gauges read from the LVS view at scrape time, check counters and durations and
   * real-server transitions from the bus, data-plane outcomes from the agent (lvsApplied).
   */
  subscribeLvs(bus: AgentBus, view: () => LvsMetricsView): void {
    for (const result of ['ok', 'failed']) this.counter(METRICS.lvsDataPlaneApplies.name).inc({ result }, 0);
    for (const kind of ['apply', 'remove', 'reconcile']) this.counter(METRICS.lvsDataPlaneErrors.name).inc({ kind }, 0);
    const each = (fill: (vs: LvsMetricsView['virtualServers'][number], rs: LvsMetricsView['virtualServers'][number]['realServers'][number]) => void) => {
      for (const vs of view().virtualServers) for (const rs of vs.realServers) fill(vs, rs);
    };
    this.onCollect(METRICS.lvsDataPlaneInfo.name, (g) => g.set({ data_plane: view().dataPlane }, 1));
    this.onCollect(METRICS.lvsDataPlaneFailing.name, (g) => g.set({}, view().applyFailing ? 1 : 0));
    this.onCollect(METRICS.lvsRealServerUp.name, (g) => each((vs, rs) => g.set({ virtual_server: vs.virtualServer, real_server: rs.realServer }, rs.up ? 1 : 0)));
    this.onCollect(METRICS.lvsRealServerWeight.name, (g) => each((vs, rs) => g.set({ virtual_server: vs.virtualServer, real_server: rs.realServer }, rs.weight)));
    this.onCollect(METRICS.lvsCheckerUp.name, (g) => each((vs, rs) => rs.checkers.forEach((c) => g.set({ virtual_server: vs.virtualServer, real_server: rs.realServer, checker: c.kind }, c.up ? 1 : 0))));
    this.onCollect(METRICS.lvsCheckLastFailure.name, (g) =>
      each((vs, rs) => rs.checkers.forEach((c) => c.lastFailure && g.set({ virtual_server: vs.virtualServer, real_server: rs.realServer, checker: c.kind, reason: c.lastFailure }, 1))),
    );
    this.onCollect(METRICS.lvsQuorumUp.name, (g) => view().virtualServers.forEach((vs) => g.set({ virtual_server: vs.virtualServer }, vs.quorumUp ? 1 : 0)));
    this.onCollect(METRICS.lvsLiveWeight.name, (g) => view().virtualServers.forEach((vs) => g.set({ virtual_server: vs.virtualServer }, vs.liveWeight)));
    this.onCollect(METRICS.lvsQuorum.name, (g) => view().virtualServers.forEach((vs) => g.set({ virtual_server: vs.virtualServer }, vs.quorum)));
    this.onCollect(METRICS.lvsSorryServerActive.name, (g) => view().virtualServers.forEach((vs) => g.set({ virtual_server: vs.virtualServer }, vs.sorryServerActive ? 1 : 0)));
    bus.on('lvs-check', (e) => {
      const l = { virtual_server: e.virtualServer, real_server: e.realServer, checker: e.checker };
      this.counter(METRICS.lvsChecks.name).inc({ ...l, result: e.result });
      this.histogram(METRICS.lvsCheckDuration.name).observe(l, e.durationMs / 1000);
    });
    bus.on('lvs-real-server', (e) => this.counter(METRICS.lvsRealServerTransitions.name).inc({ virtual_server: e.virtualServer, real_server: e.realServer, to: e.up ? 'up' : 'down', reason: e.reason }));
  }

  /** One data-plane apply (or removal, reconcile at start) and how it ended. */
  lvsApplied(ok: boolean, kind: 'apply' | 'remove' | 'reconcile'): void {
    if (kind === 'apply') this.counter(METRICS.lvsDataPlaneApplies.name).inc({ result: ok ? 'ok' : 'failed' });
    if (!ok) this.counter(METRICS.lvsDataPlaneErrors.name).inc({ kind });
  }

  alertPush(ok: boolean): void {
    this.counter(METRICS.guardAlertPushes.name).inc({ result: ok ? 'ok' : 'failed' });
  }

  /** Records a flight-recorder outcome. */
  flightRecording(result: 'written' | 'failed' | 'skipped'): void {
    this.counter(METRICS.flightRecordings.name).inc({ result });
  }

  /**
   * The exposition text, as `registry.metrics()` writes it, one metric at a time with a turn of
   * the event loop between metrics: with hundreds of instances a render is tens of ms of CPU, and
   * VRRP timers must not wait for all of it (the HTTP server also renders at most once a second).
   */
  async render(): Promise<{ contentType: string; body: string }> {
    const parts: string[] = [];
    for (const m of this.registry.getMetricsAsArray()) {
      parts.push(await this.registry.getSingleMetricAsString(m.name));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return { contentType: this.registry.contentType, body: `${parts.join('\n\n')}\n` };
  }

  /** Zero-valued series for every instance and drop reason, so rate() and alerts see them at once. */
  private primeSeries(): void {
    for (const r of this.source.routers()) {
      const l = routerIds(r);
      for (const key of ['advertsSent', 'advertsReceived', 'priorityZeroSent', 'priorityZeroReceived', 'addressListMismatch', 'garpSent', 'vipRepairs', 'sendErrors'] as const) {
        this.counter(METRICS[key].name).inc(l, 0);
      }
      for (const reason of DROP_REASONS) this.counter(METRICS.advertsDropped.name).inc({ ...l, reason }, 0);
      const kinds = [...(r.config.virtualRoutes.length > 0 ? ['route'] : []), ...(r.config.virtualRules.length > 0 ? ['rule'] : [])];
      for (const kind of kinds) {
        for (const action of ['add', 'remove']) this.counter(METRICS.routeErrors.name).inc({ vrrp_instance: r.name, kind, action }, 0);
        this.counter(METRICS.routeRepairs.name).inc({ vrrp_instance: r.name, kind }, 0);
      }
    }
    for (const result of ['success', 'failure']) this.counter(METRICS.configReloads.name).inc({ result }, 0);
  }

  /** New instances after a reload get their zero series too. */
  reprime(): void {
    this.primeSeries();
  }

  private observeArrival(ref: InstanceIds, atMs: number): void {
    const prev = this.lastArrival.get(ref.instance);
    this.lastArrival.set(ref.instance, atMs);
    if (prev === undefined || atMs <= prev) return;
    // One observation per advert: keep the labelled child per instance (prom-client hashes the
    // labels on every call otherwise).
    let child = this.arrivalChildren.get(ref.instance);
    if (!child || child.vrid !== ref.vrid || child.interface !== ref.interface) {
      child = { vrid: ref.vrid, interface: ref.interface, observe: this.histogram(METRICS.advertInterval.name).labels(ids(ref)) };
      this.arrivalChildren.set(ref.instance, child);
    }
    child.observe.observe((atMs - prev) / 1000);
  }

  /**
   * A counter bumped once per advert: counted in plain numbers per instance and handed to
   * prom-client at scrape time, so the hot path does no label hashing or validation.
   */
  private hotCounter(name: string): { bump(ref: InstanceIds): void } {
    const c = this.counter(name);
    const counts = new Map<string, { vrid: number; interface: string; n: number }>();
    const flush = (): void => {
      for (const [instance, e] of counts) {
        if (e.n > 0) c.inc(ids({ instance, vrid: e.vrid, interface: e.interface }), e.n);
        e.n = 0;
      }
    };
    (c as unknown as { collect: () => void }).collect = flush;
    return {
      bump: (ref) => {
        const e = counts.get(ref.instance);
        if (e && e.vrid === ref.vrid && e.interface === ref.interface) {
          e.n++;
          return;
        }
        if (e) flush();
        counts.set(ref.instance, { vrid: ref.vrid, interface: ref.interface, n: 1 });
      },
    };
  }

  private create(spec: MetricSpec): void {
    const common = { name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [this.registry] };
    if (spec.type === 'counter') this.counters.set(spec.name, new Counter(common));
    else if (spec.type === 'gauge') this.gauges.set(spec.name, new Gauge(common));
    else this.histograms.set(spec.name, new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] }));
  }

  private onCollect(name: string, fill: (g: Gauge) => void): void {
    const g = this.gauge(name);
    // prom-client calls collect() on scrape; reset first so vanished instances disappear.
    (g as unknown as { collect: () => void }).collect = () => {
      g.reset();
      fill(g);
    };
  }

  private onCollectCounter(name: string, read: () => [Labels, number][]): void {
    const c = this.counter(name);
    (c as unknown as { collect: () => void }).collect = () => {
      c.reset();
      for (const [labels, value] of read()) c.inc(labels, value);
    };
  }

  private counter(name: string): Counter {
    return this.counters.get(name)!;
  }
  private gauge(name: string): Gauge {
    return this.gauges.get(name)!;
  }
  private histogram(name: string): Histogram {
    return this.histograms.get(name)!;
  }
}
