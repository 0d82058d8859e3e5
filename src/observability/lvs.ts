/**
 * The LVS side's log lines and spans (src/lvs/): a line per real server going into or out of
 * service (as keepalived's "Removing service ... from VS ..."), per quorum change, per
 * ha_suspend change and per notify command; failed checks at most once per 10 s per checker (a
 * dead server checked every second must not flood the log); an `lvs.real_server.state` span per
 * real-server change (an error status when it went down).
 */
import type { Tracer } from '@opentelemetry/api';
import { SpanStatusCode } from '@opentelemetry/api';
import type { AgentBus } from '../events/index.js';
import type { Logger } from './logging.js';
import { RateLimiter } from './logging.js';
import { SPANS, SPAN_ATTRIBUTES as A } from './names.js';

export function logLvsEvents(bus: AgentBus, log: Logger, now: () => number, limiter = new RateLimiter()): void {
  bus.on('lvs-real-server', (e) => {
    const fields = { event: 'lvs-real-server', [A.lvsVirtualServer]: e.virtualServer, [A.lvsRealServer]: e.realServer, [A.lvsUp]: e.up, [A.lvsWeight]: e.weight, [A.lvsReason]: e.reason, ...(e.checker ? { [A.lvsChecker]: e.checker } : {}), ...(e.result ? { [A.lvsResult]: e.result } : {}) };
    if (e.reason === 'dynamic-weight') log.info(fields, `Weight of real server ${e.realServer} in VS ${e.virtualServer} set to ${e.weight}`);
    else if (e.up) log.info(fields, `Adding real server ${e.realServer} to VS ${e.virtualServer} (weight ${e.weight}; ${e.reason})`);
    else log.warn(fields, `Removing real server ${e.realServer} from VS ${e.virtualServer}${e.weight === 0 ? ' (kept with weight 0: inhibit_on_failure)' : ''} (${e.checker ? `${e.checker} ` : ''}${e.result ?? e.reason})`);
  });
  bus.on('lvs-check', (e) => {
    if (e.result === 'ok') return;
    const suppressed = limiter.allow(`lvs-check|${e.virtualServer}|${e.realServer}|${e.checker}|${e.checkerIndex}`, now());
    if (suppressed === undefined) return;
    log.info(
      { event: 'lvs-check', [A.lvsVirtualServer]: e.virtualServer, [A.lvsRealServer]: e.realServer, [A.lvsChecker]: e.checker, [A.lvsResult]: e.result, attempt: e.attempt, durationMs: Math.round(e.durationMs), suppressed },
      `${e.checker} of ${e.realServer} (VS ${e.virtualServer}) failed: ${e.result}${e.detail ? ` (${e.detail})` : ''}, attempt ${e.attempt}${suppressed ? ` (${suppressed} more since the last line)` : ''}`,
    );
  });
  bus.on('lvs-quorum', (e) => {
    const fields = { event: 'lvs-quorum', [A.lvsVirtualServer]: e.virtualServer, [A.lvsUp]: e.up, liveWeight: e.liveWeight, quorum: e.quorum, hysteresis: e.hysteresis, sorryServer: e.sorryServer };
    if (e.up) log.info(fields, `Gained quorum ${e.quorum}+${e.hysteresis}=${e.quorum + e.hysteresis} <= ${e.liveWeight} for VS ${e.virtualServer}`);
    else log.warn(fields, `Lost quorum ${e.quorum}-${e.hysteresis}=${e.quorum - e.hysteresis} > ${e.liveWeight} for VS ${e.virtualServer}${e.sorryServer ? ': the sorry server takes the traffic' : ''}`);
  });
  bus.on('lvs-suspend', (e) => log.info({ event: 'lvs-suspend', [A.lvsVirtualServer]: e.virtualServer, suspended: e.suspended }, `VS ${e.virtualServer}: checks ${e.suspended ? 'suspended (its VIP\'s instance is not MASTER: ha_suspend)' : 'resumed'}`));
  bus.on('lvs-notify', (e) => {
    const fields = { event: 'lvs-notify', [A.lvsVirtualServer]: e.virtualServer, ...(e.realServer ? { [A.lvsRealServer]: e.realServer } : {}), what: e.what, result: e.result, exitCode: e.exitCode, durationMs: Math.round(e.durationMs) };
    const text = `${e.what} of VS ${e.virtualServer}${e.realServer ? ` real server ${e.realServer}` : ''}: ${e.command} ${e.result}${e.exitCode !== null ? ` (exit ${e.exitCode})` : ''}`;
    if (e.result === 'ok') log.info(fields, text);
    else log.warn(fields, text);
  });
  bus.on('lvs-table', (e) => log.debug({ event: 'lvs-table', generation: e.generation, services: e.services, realServers: e.realServers }, `LVS table ${e.generation}: ${e.services} services, ${e.realServers} real servers`));
}

/** An `lvs.real_server.state` span per real-server change (error status when it went down). */
export function traceLvs(tracer: Tracer, bus: AgentBus, wallOf: (atMs: number) => number): void {
  bus.on('lvs-real-server', (e) => {
    const at = wallOf(e.atMs);
    const span = tracer.startSpan(SPANS.lvsRealServer, {
      startTime: at,
      attributes: { [A.lvsVirtualServer]: e.virtualServer, [A.lvsRealServer]: e.realServer, [A.lvsUp]: e.up, [A.lvsWeight]: e.weight, [A.lvsReason]: e.reason, ...(e.checker ? { [A.lvsChecker]: e.checker } : {}), ...(e.result ? { [A.lvsResult]: e.result } : {}) },
    });
    if (!e.up) span.setStatus({ code: SpanStatusCode.ERROR, message: e.result ?? e.reason });
    span.end(at);
  });
}
