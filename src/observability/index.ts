/**
 * One call wires everything that watches the agent: metrics, logs, traces, the election tracker
 * and the flight recorder, each subscribed to the one bus and reading the agent only through the
 * read-only views handed in. Nothing here changes VRRP: observers are isolated from each other's
 * errors by the bus, and the core never imports any of this.
 */
import type { AgentBus } from '../events/index.js';
import type { VrrpRouter } from '../core/router.js';
import type { Clock } from '../ports/index.js';
import { ElectionTracker } from './elections.js';
import { FlightRecorder } from './flight-recorder.js';
import { logCoreEvents, logGuardEvents, logTrackingEvents, RateLimiter, type Logger } from './logging.js';
import { AgentMetrics, type CaptureStats } from './metrics.js';
import { startTracing, traceElections, traceGuard, traceNotify, type Tracing } from './tracing.js';
import { SPAN_ATTRIBUTES as A } from './names.js';

/** What observers may read of the agent (never change). */
export interface ObservedViews {
  routers(): readonly VrrpRouter[];
  /** Whether a VIP is on its interface right now (netlink's view). */
  vipPresent(iface: string, address: string): boolean;
  captureStats(): ReadonlyMap<string, CaptureStats>;
  /** The split-brain guard's flags per instance. */
  readonly guard: { conflict(instance: string): boolean; suspected(instance: string): boolean };
  /** Whether a guard witness is configured (its gauge exists only then). */
  readonly witness: boolean;
  /** The vrrp_scripts and their status (their series exist from the start). */
  scripts(): { name: string; status: string }[];
}

export interface ObserveOptions {
  readonly log: Logger;
  readonly clock: Clock;
  readonly version: string;
  readonly routerId?: string;
  /** Flight-recorder directory; undefined = off. */
  readonly captureDir?: string;
}

export interface Observability {
  readonly metrics: AgentMetrics;
  readonly elections: ElectionTracker;
  readonly recorder: FlightRecorder | undefined;
  readonly tracing: Tracing;
  /** Rate limits for repeated log lines (shared by every logging subscriber). */
  readonly limiter: RateLimiter;
  /** Flushes the spans of the shutdown (bounded by the caller). */
  shutdown(): Promise<void>;
}

/**
 * Subscribes every observer. Call it before the first transition: the election tracker, metrics
 * and traces must see the start-up.
 */
export async function observe(bus: AgentBus, views: ObservedViews, opts: ObserveOptions): Promise<Observability> {
  const { log } = opts;
  const limiter = new RateLimiter();
  logCoreEvents(bus, log, limiter);
  logGuardEvents(bus, log, limiter);
  logTrackingEvents(bus, log, limiter);
  const elections = new ElectionTracker(bus, opts.clock);
  const metrics = new AgentMetrics({ routers: views.routers, vipPresent: views.vipPresent, captureStats: views.captureStats, version: opts.version });
  metrics.subscribe(bus, elections);
  metrics.subscribeGuard(bus, views.guard, views.witness);
  metrics.subscribeTracking(bus, views.scripts);
  let recorder: FlightRecorder | undefined;
  if (opts.captureDir) {
    const r = new FlightRecorder({ dir: opts.captureDir }, (file, error) => {
      metrics.flightRecording(error ? 'failed' : 'written');
      if (error) log.error({ event: 'flight-recorder', [A.captureFile]: file }, `flight recorder could not write ${file}: ${error.message}`);
      else log.info({ event: 'flight-recorder', [A.captureFile]: file }, `flight recording written: ${file}`);
    });
    bus.on('frame', (e) => r.record(e.interface, e.frame, e.wallUs));
    bus.on('state-changed', (e) => r.onTransition(e));
    recorder = r;
  }
  const tracing = await startTracing({ version: opts.version, ...(opts.routerId ? { routerId: opts.routerId } : {}) });
  if (tracing.enabled) {
    traceElections(tracing.tracer, bus, elections, recorder ? { captureFileFor: (t) => recorder.fileFor(t) } : {});
    traceGuard(tracing.tracer, bus);
    traceNotify(tracing.tracer, bus);
    log.info({ event: 'tracing' }, 'OpenTelemetry trace export enabled (OTEL_* environment)');
  }
  return { metrics, elections, recorder, tracing, limiter, shutdown: () => tracing.shutdown() };
}
