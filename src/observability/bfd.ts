/**
 * BFD's log lines and spans (src/bfd/): a line per session state change (warn when a session
 * that was Up goes Down), a debug line when the agreed timers move, rate-limited lines for
 * dropped packets (a flood of forged packets must not flood the log), and a `bfd.session.state`
 * span per change.
 */
import type { Tracer } from '@opentelemetry/api';
import { SpanStatusCode } from '@opentelemetry/api';
import type { AgentBus } from '../events/index.js';
import type { Logger } from './logging.js';
import { RateLimiter } from './logging.js';
import { SPANS, SPAN_ATTRIBUTES as A } from './names.js';

const STATE_TEXT = { 'admin-down': 'AdminDown', down: 'Down', init: 'Init', up: 'Up' } as const;
/** RFC 5880 §4.1 (keepalived BFD_DIAG_STR). */
export const DIAG_TEXT = ['No Diagnostic', 'Control Detection Time Expired', 'Echo Function Failed', 'Neighbor Signaled Session Down', 'Forwarding Plane Reset', 'Path Down', 'Concatenated Path Down', 'Administratively Down', 'Reverse Concatenated Path Down'];

export function logBfdEvents(bus: AgentBus, log: Logger, now: () => number, limiter = new RateLimiter()): void {
  bus.on('bfd-state-changed', (e) => {
    const fields = { event: 'bfd-state', [A.bfdInstance]: e.bfdInstance, [A.bfdNeighbor]: e.neighbor, [A.bfdStateFrom]: e.from, [A.bfdStateTo]: e.to, [A.bfdCause]: e.cause, localDiag: e.localDiag, remoteDiag: e.remoteDiag, detectionTimeMs: e.detectionTimeMs, ...(e.silentMs !== undefined ? { silentMs: Math.round(e.silentMs * 10) / 10 } : {}) };
    const silent = e.silentMs !== undefined ? `, silent for ${e.silentMs.toFixed(1)} ms` : '';
    const text = `BFD_Instance(${e.bfdInstance}) ${STATE_TEXT[e.from]} -> ${STATE_TEXT[e.to]} (${e.cause}; local diagnostic: ${DIAG_TEXT[e.localDiag] ?? e.localDiag}, remote: ${DIAG_TEXT[e.remoteDiag] ?? e.remoteDiag}${silent})`;
    if (e.from === 'up') log.warn(fields, text);
    else log.info(fields, text);
  });
  bus.on('bfd-timers-changed', (e) =>
    log.debug({ event: 'bfd-timers', [A.bfdInstance]: e.bfdInstance, txIntervalMs: e.txIntervalMs, detectionTimeMs: e.detectionTimeMs, remoteMinRxMs: e.remoteMinRxMs, remoteMinTxMs: e.remoteMinTxMs, remoteDetectMult: e.remoteDetectMult }, `BFD_Instance(${e.bfdInstance}) transmit every ${e.txIntervalMs} ms, detection time ${e.detectionTimeMs} ms (neighbour: min_rx ${e.remoteMinRxMs} ms, min_tx ${e.remoteMinTxMs} ms, multiplier ${e.remoteDetectMult})`),
  );
  bus.on('bfd-packet-dropped', (e) => {
    const suppressed = limiter.allow(`bfd-drop|${e.bfdInstance}|${e.reason}`, now());
    if (suppressed === undefined) return;
    log.warn({ event: 'bfd-dropped', [A.bfdInstance]: e.bfdInstance, reason: e.reason, [A.bfdSource]: e.source, ttl: e.ttl, suppressed }, `BFD packet from ${e.source} (ttl ${e.ttl}) discarded: ${e.reason}${e.bfdInstance ? ` (bfd_instance ${e.bfdInstance})` : ''}${suppressed ? ` (${suppressed} more since the last line)` : ''}`);
  });
  bus.on('bfd-send-failed', (e) => {
    const suppressed = limiter.allow(`bfd-send|${e.bfdInstance}`, now());
    if (suppressed === undefined) return;
    log.warn({ event: 'bfd-send-failed', [A.bfdInstance]: e.bfdInstance, suppressed }, `BFD_Instance(${e.bfdInstance}) send failed: ${e.error}`);
  });
}

/** A `bfd.session.state` span per state change (an error status when an Up session went Down). */
export function traceBfd(tracer: Tracer, bus: AgentBus, wallOf: (atMs: number) => number): void {
  bus.on('bfd-state-changed', (e) => {
    const end = wallOf(e.atMs);
    const span = tracer.startSpan(SPANS.bfdState, {
      startTime: e.silentMs !== undefined ? end - e.silentMs : end,
      attributes: { [A.bfdInstance]: e.bfdInstance, [A.bfdNeighbor]: e.neighbor, [A.bfdStateFrom]: e.from, [A.bfdStateTo]: e.to, [A.bfdCause]: e.cause, [A.bfdDiag]: e.localDiag },
    });
    if (e.from === 'up' && e.to !== 'up') span.setStatus({ code: SpanStatusCode.ERROR, message: e.cause });
    span.end(end);
  });
}
