/**
 * OpenTelemetry traces: a `vrrp.election` span per election, from the event that started it to
 * the moment the instance settled, with `vrrp.vip.add` / `vrrp.vip.remove` (netlink) and
 * `vrrp.garp` children and an event for the last advert heard. Configured by the standard
 * OTEL_* variables (OTLP over HTTP by default). With no endpoint and no exporter set, nothing
 * is started: no export, no connection errors in the log.
 */
import type { AgentBus } from '../events/index.js';
import { hostname } from 'node:os';
import { context, trace, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import type { VrrpEvent, EventBus, GarpSentEvent, StateChangedEvent } from '../events/index.js';
import type { Election } from './elections.js';
import type { ElectionTracker } from './elections.js';
import { SPANS, SPAN_ATTRIBUTES as A } from './names.js';

export interface Tracing {
  readonly enabled: boolean;
  readonly tracer: Tracer;
  shutdown(): Promise<void>;
}

/** Whether the environment asks for trace export at all. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER) return env.OTEL_TRACES_EXPORTER !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** Starts the SDK (loaded only when asked for: it is most of the agent's memory otherwise). */
export async function startTracing(opts: { version: string; routerId?: string }): Promise<Tracing> {
  if (!tracingRequested()) {
    return { enabled: false, tracer: trace.getTracer('keepwatch', opts.version), shutdown: async () => {} };
  }
  // Only traces: metrics are Prometheus' job here, logs go to stdout.
  process.env.OTEL_METRICS_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  const [{ NodeSDK }, { resourceFromAttributes }] = await Promise.all([import('@opentelemetry/sdk-node'), import('@opentelemetry/resources')]);
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      'service.name': process.env.OTEL_SERVICE_NAME ?? 'keepwatch',
      'service.version': opts.version,
      'host.name': hostname(),
      ...(opts.routerId ? { 'vrrp.router_id': opts.routerId } : {}),
    }),
    instrumentations: [],
  });
  sdk.start();
  return {
    enabled: true,
    tracer: trace.getTracer('keepwatch', opts.version),
    shutdown: () => sdk.shutdown(),
  };
}

/** Monotonic ms → wall-clock ms, anchored on a transition (which carries both). */
function wallOf(t: StateChangedEvent, monoMs: number): number {
  return t.wallMs - (t.atMs - monoMs);
}

export interface TraceHooks {
  /** The flight-recorder file written for this transition, if any. */
  captureFileFor?: (t: StateChangedEvent) => string | undefined;
}

/** Subscribes the tracer to elections and GARP bursts. */
export function traceElections(tracer: Tracer, bus: AgentBus, elections: ElectionTracker, hooks: TraceHooks = {}): void {
  let lastTransition: StateChangedEvent | undefined;
  const inElection = new WeakSet<GarpSentEvent>();
  elections.onSettled((el: Election) => {
    const t = el.transition;
    lastTransition = t;
    const attrs = {
      [A.instance]: t.instance,
      [A.vrid]: t.vrid,
      [A.interface]: t.interface,
      [A.stateFrom]: t.from,
      [A.stateTo]: t.to,
      [A.cause]: t.cause,
      [A.priority]: t.priority,
      ...(t.peer ? { [A.peerAddress]: t.peer.address, [A.peerPriority]: t.peer.priority } : {}),
      ...(t.detail ? { 'vrrp.detail': t.detail } : {}),
      'vrrp.settled_by': el.endedBy,
    };
    const file = hooks.captureFileFor?.(t);
    const span = tracer.startSpan(SPANS.election, { startTime: wallOf(t, t.startedAtMs), attributes: { ...attrs, ...(file ? { [A.captureFile]: file } : {}) } });
    if (el.lastAdvert) {
      span.addEvent('vrrp.advert.last_heard', { [A.peerAddress]: el.lastAdvert.source, [A.peerPriority]: el.lastAdvert.priority }, wallOf(t, el.lastAdvert.atMs));
    }
    span.addEvent('vrrp.transition', { [A.stateFrom]: t.from, [A.stateTo]: t.to, [A.cause]: t.cause }, t.wallMs);
    const ctx = trace.setSpan(context.active(), span);
    for (const v of el.vips) {
      const child = tracer.startSpan(v.action === 'add' ? SPANS.vipAdd : SPANS.vipRemove, { startTime: wallOf(t, v.atMs - v.durationMs), attributes: { [A.instance]: t.instance, [A.vip]: v.vip, [A.interface]: v.interface } }, ctx);
      if (v.error) child.setStatus({ code: SpanStatusCode.ERROR, message: v.error.message });
      child.end(wallOf(t, v.atMs));
    }
    for (const g of el.garps) {
      inElection.add(g);
      garpSpan(tracer, g, wallOf(t, g.atMs), ctx).end(wallOf(t, g.atMs));
    }
    if (el.vips.some((v) => v.error)) span.setStatus({ code: SpanStatusCode.ERROR, message: 'a VIP change failed' });
    span.end(wallOf(t, el.settledAtMs));
  });
  // Later bursts (garp_master_delay, refresh, lower-priority answers) are spans of their own.
  bus.on('garp-sent', (g) => {
    if (g.reason === 'become-master') return;
    queueMicrotask(() => {
      if (inElection.has(g)) return;
      const wall = lastTransition ? wallOf(lastTransition, g.atMs) : Date.now();
      garpSpan(tracer, g, wall).end(wall);
    });
  });
}

function garpSpan(tracer: Tracer, g: GarpSentEvent, wallMs: number, ctx = context.active()): Span {
  return tracer.startSpan(
    SPANS.garp,
    { startTime: wallMs, attributes: { [A.instance]: g.instance, [A.vrid]: g.vrid, [A.interface]: g.interface, [A.vip]: g.vips.join(','), [A.mac]: g.mac, [A.count]: g.count, 'vrrp.garp.reason': g.reason } },
    ctx,
  );
}

/** A `vrrp.guard.conflict` span for every guard decision: source, evidence, decision. */
export function traceGuard(tracer: Tracer, bus: AgentBus): void {
  bus.on('guard-decision', (e) => {
    const span = tracer.startSpan(SPANS.guardConflict, {
      startTime: e.wallMs - (e.atMs - e.evidence.atMs),
      attributes: {
        [A.instance]: e.instance,
        [A.vrid]: e.vrid,
        [A.guardSource]: e.evidence.source,
        [A.guardDecision]: e.verdict.decision,
        [A.guardReason]: e.verdict.reason,
        [A.guardEvidence]: e.evidence.detail,
        [A.priority]: e.self.priority ?? -1,
        ...(e.other.priority !== undefined ? { [A.peerPriority]: e.other.priority } : {}),
        ...(e.other.address ? { [A.peerAddress]: e.other.address } : {}),
        ...(e.evidence.mac ? { [A.guardPeerMac]: e.evidence.mac } : {}),
      },
    });
    span.end(e.wallMs);
  });
}

/** A `vrrp.notify` span per notify script: command, state, exit status, duration. */
export function traceNotify(tracer: Tracer, bus: AgentBus): void {
  bus.on('notify-run', (e) => {
    const span = tracer.startSpan(SPANS.notify, {
      startTime: e.startedWallMs,
      attributes: { 'vrrp.notify.scope': e.scope, [A.instance]: e.name, 'vrrp.notify.state': e.state, 'vrrp.notify.command': e.command, 'vrrp.notify.result': e.result, ...(e.exitCode !== null ? { 'process.exit.code': e.exitCode } : {}) },
    });
    if (e.result !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: e.error ?? e.result });
    span.end(e.startedWallMs + e.durationMs);
  });
}
