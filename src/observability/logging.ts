/**
 * Structured JSON logs (pino) for core events: one line per transition with the same fields as
 * the election span, and rate-limited lines for dropped adverts so a flood can't flood the log.
 * Secrets (URL credentials, OTLP exporter headers) are masked in every line (createLogger).
 */
import type { AgentBus } from '../events/index.js';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type { VrrpEvent, EventBus } from '../events/index.js';

export type { Logger };

/** What a secret becomes in a log line. */
export const REDACTED = '[REDACTED]';

/**
 * `scheme://userinfo@`: the userinfo runs to the last `@` before the authority ends (a `/`, `?`,
 * `#`, whitespace or an unescaped `"`), so a password with an unencoded `@` is covered too; JSON
 * escapes (`\"`) inside it are part of it. Bounded (32-character scheme, 512-character userinfo)
 * so a line full of `a://` costs linear time.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]{0,31}:\/\/)((?:[^\s/?#"\\]|\\.){0,512})@/gi;

/**
 * Masks the credentials of every URL in `text`: `https://alice:s3cret@am:9093` becomes
 * `https://alice:[REDACTED]@am:9093`; a bare userinfo (often a token) is masked whole.
 */
export function redactUrlCredentials(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_USERINFO, (match, scheme: string, userinfo: string) => {
    if (userinfo === '' || userinfo === REDACTED) return match;
    const colon = userinfo.indexOf(':');
    return `${scheme}${colon > 0 ? `${userinfo.slice(0, colon)}:${REDACTED}` : REDACTED}@`;
  });
}

/** The OTLP exporter header variables: they carry API keys and bearer tokens. */
export const OTEL_HEADER_VARIABLES = ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_METRICS_HEADERS', 'OTEL_EXPORTER_OTLP_LOGS_HEADERS'] as const;

/**
 * Secret strings from the environment that must never appear in a log line: each OTLP header
 * value (as written and URL-decoded) and each variable's whole text. Values shorter than 4
 * characters are left out (masking "1" everywhere would garble the log, and hide nothing).
 */
export function environmentSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  const out = new Set<string>();
  for (const name of OTEL_HEADER_VARIABLES) {
    const v = env[name]?.trim();
    if (!v) continue;
    out.add(v);
    for (const pair of v.split(',')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const raw = pair.slice(eq + 1).trim();
      out.add(raw);
      try {
        out.add(decodeURIComponent(raw));
      } catch {
        /* not URL-encoded */
      }
    }
  }
  // Longest first: a value that contains another is masked whole.
  return [...out].filter((x) => x.length >= 4).sort((a, b) => b.length - a.length);
}

/**
 * The last step before a line leaves the process: URL credentials and environment secrets are
 * masked in the serialized JSON (every field, the message, error stacks, child bindings).
 */
export function redactLine(line: string, secrets: readonly string[] = []): string {
  let out = redactUrlCredentials(line);
  for (const secret of secrets) {
    for (const form of [secret, JSON.stringify(secret).slice(1, -1)]) if (out.includes(form)) out = out.split(form).join(REDACTED);
  }
  return out;
}

/** Field names whose values are secrets whatever they hold (top level and one level down). */
const SECRET_FIELDS = ['headers', 'authorization', 'password', 'secret', 'authPass', 'auth_pass', 'cookie'];

function urlField(value: unknown): unknown {
  return typeof value === 'string' || value instanceof URL ? redactUrlCredentials(String(value)) : value;
}

export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): Logger {
  const secrets = environmentSecrets(env);
  return pino(
    {
      level,
      base: { service: 'keepwatch' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Secrets never reach the log: fields named like one are censored, url/endpoint fields lose
      // their credentials, and the finished line is scrubbed of any URL credentials and of the
      // OTLP header values (OTEL_EXPORTER_OTLP_*HEADERS), wherever they ended up.
      redact: { paths: SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]), censor: REDACTED },
      serializers: { url: urlField, endpoint: urlField },
      hooks: { streamWrite: (line) => redactLine(line, secrets) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/**
 * Allows the first line per key, then at most one per `windowMs`, reporting how many were
 * suppressed in between. Keys may carry what a peer controls (its address): at most `maxKeys`
 * are tracked; beyond that, quiet keys are forgotten and new ones share one overflow key.
 */
export class RateLimiter {
  private readonly state = new Map<string, { lastMs: number; suppressed: number }>();
  constructor(
    private readonly windowMs = 10_000,
    private readonly maxKeys = 1024,
  ) {}

  /** Returns undefined to stay silent, or the number of lines suppressed since the last one. */
  allow(key: string, nowMs: number): number | undefined {
    if (!this.state.has(key) && this.state.size >= this.maxKeys) {
      for (const [k, v] of this.state) if (nowMs - v.lastMs >= this.windowMs && (v.suppressed === 0 || nowMs - v.lastMs >= 10 * this.windowMs)) this.state.delete(k);
      if (this.state.size >= this.maxKeys) key = '*overflow*';
    }
    const s = this.state.get(key);
    if (!s) {
      this.state.set(key, { lastMs: nowMs, suppressed: 0 });
      return 0;
    }
    if (nowMs - s.lastMs < this.windowMs) {
      s.suppressed++;
      return undefined;
    }
    const suppressed = s.suppressed;
    s.lastMs = nowMs;
    s.suppressed = 0;
    return suppressed;
  }
}

/**
 * Subscribes the log to the core's events. Returns the unsubscribe function.
 * Transition lines are written after the current task (queueMicrotask): a takeover's advert and
 * GARPs go out first, then the JSON is formatted.
 */
export function logCoreEvents(bus: AgentBus, log: Logger, limiter = new RateLimiter()): () => void {
  const offs = [
    bus.on('state-changed', (e) => queueMicrotask(() => {
      log.info(
        {
          event: 'transition',
          'vrrp.instance': e.instance,
          'vrrp.vrid': e.vrid,
          'vrrp.interface': e.interface,
          'vrrp.state.from': e.from,
          'vrrp.state.to': e.to,
          'vrrp.cause': e.cause,
          'vrrp.priority': e.priority,
          ...(e.peer ? { 'vrrp.peer.address': e.peer.address, 'vrrp.peer.priority': e.peer.priority } : {}),
          ...(e.detail ? { detail: e.detail } : {}),
          electionMs: Math.round((e.atMs - e.startedAtMs) * 1000) / 1000,
        },
        `(${e.instance}) ${e.from.toUpperCase()} -> ${e.to.toUpperCase()} (${e.cause}${e.detail ? `: ${e.detail}` : ''})`,
      );
    })),
    bus.on('advert-dropped', (e) => {
      const suppressed = limiter.allow(`${e.interface}|${e.reason}`, e.atMs);
      if (suppressed === undefined) return;
      log.warn(
        { event: 'advert-dropped', interface: e.interface, reason: e.reason, source: e.source, vrid: e.vrid, instance: e.instance, suppressed },
        `dropped advert from ${e.source} on ${e.interface}${e.vrid !== undefined ? ` (vrid ${e.vrid})` : ''}: ${e.reason}${suppressed ? ` (${suppressed} similar not logged)` : ''}`,
      );
    }),
    bus.on('advert-received', (e) => {
      if (!e.addressListMismatch) return;
      const suppressed = limiter.allow(`${e.interface}|address-list|${e.instance}`, e.atMs);
      if (suppressed === undefined) return;
      log.warn(
        { event: 'address-list-mismatch', instance: e.instance, vrid: e.vrid, source: e.source, suppressed },
        `(${e.instance}) advert from ${e.source} lists other VIPs than ours: accepted (a discarded advert would cause split brain); check both configs`,
      );
    }),
    bus.on('send-failed', (e) => {
      const suppressed = limiter.allow(`send|${e.instance}|${e.reason}`, e.atMs);
      if (suppressed === undefined) return;
      log.warn({ event: 'send-failed', instance: e.instance, interface: e.interface, suppressed }, `(${e.instance}) ${e.reason}`);
    }),
    bus.on('garp-sent', (e) => {
      log.debug({ event: 'garp', instance: e.instance, interface: e.interface, vips: e.vips, mac: e.mac, count: e.count, reason: e.reason }, `(${e.instance}) sent ${e.count} gratuitous ARPs`);
    }),
    bus.on('priority-changed', (e) => {
      log.info({ event: 'priority-changed', instance: e.instance, from: e.from, to: e.to, base: e.basePriority }, `(${e.instance}) effective priority ${e.from} -> ${e.to}`);
    }),
  ];
  return () => offs.forEach((off) => off());
}

/** Logs the split-brain guard's findings and decisions. */
export function logGuardEvents(bus: AgentBus, log: Logger, limiter = new RateLimiter()): void {
  bus.on('guard-detection', (e) =>
    log.warn({ event: 'guard-detection', instance: e.instance, vrid: e.vrid, source: e.evidence.source, mac: e.evidence.mac, address: e.evidence.address, priority: e.evidence.priority }, `(${e.instance}) split-brain guard [${e.evidence.source}]: ${e.evidence.detail}`),
  );
  bus.on('guard-decision', (e) =>
    log.error(
      { event: 'guard-decision', instance: e.instance, vrid: e.vrid, decision: e.verdict.decision, reason: e.verdict.reason, source: e.evidence.source, self: e.self, other: e.other },
      `(${e.instance}) split brain on VRID ${e.vrid}: this node ${e.verdict.decision === 'keep' ? 'KEEPS' : 'YIELDS'} the VIPs (${e.verdict.reason})`,
    ),
  );
  bus.on('guard-release', (e) => log.warn({ event: 'guard-release', instance: e.instance, vrid: e.vrid, reason: e.reason }, `(${e.instance}) split-brain guard releases the hold: ${e.reason}`));
  bus.on('guard-conflict', (e) =>
    e.level === 'suspected'
      ? (e.active ? log.warn.bind(log) : log.info.bind(log))({ event: 'split-brain', level: e.level, instance: e.instance, vrid: e.vrid, active: e.active, sources: e.sources }, `(${e.instance}) split brain on VRID ${e.vrid} ${e.active ? 'SUSPECTED (unauthenticated evidence only: shown, not acted on)' : 'suspicion cleared'}`)
      : (e.active ? log.error.bind(log) : log.info.bind(log))({ event: 'split-brain', level: e.level, instance: e.instance, vrid: e.vrid, active: e.active, sources: e.sources }, `(${e.instance}) split brain on VRID ${e.vrid} ${e.active ? 'DETECTED' : 'resolved'}`),
  );
  bus.on('guard-peer', (e) => (e.up ? log.info.bind(log) : log.warn.bind(log))({ event: 'guard-peer', peer: e.peer, up: e.up }, `peer agent ${e.peer} is ${e.up ? 'reachable' : `unreachable: ${e.error ?? ''}`}`));
  bus.on('guard-witness', (e) => log.warn({ event: 'guard-witness', up: e.up }, `witness ${e.up ? 'reachable' : 'NOT reachable'}`));
  bus.on('guard-rejected', (e) => {
    const suppressed = limiter.allow(`guard-rejected|${e.reason}|${e.from}`, Date.now());
    if (suppressed === undefined) return;
    log.warn({ event: 'guard-rejected', reason: e.reason, from: e.from, suppressed }, `refused a cross-check message from ${e.from}: ${e.reason}`);
  });
}

/** Logs tracking, notify and mail outcomes (failures loud, successes at debug). */
export function logTrackingEvents(bus: AgentBus, log: Logger, limiter = new RateLimiter()): void {
  bus.on('script-status', (e) =>
    (e.status === 'failed' || e.status === 'disabled' ? log.warn.bind(log) : log.info.bind(log))({ event: 'script-status', script: e.script, status: e.status }, `vrrp_script ${e.script}: ${e.status.toUpperCase()}${e.detail ? ` (${e.detail})` : ''}`),
  );
  bus.on('script-result', (e) => {
    if (e.result === 'ok') return log.debug({ event: 'script-result', script: e.script, durationMs: e.durationMs }, `vrrp_script ${e.script} ok`);
    const suppressed = limiter.allow(`script|${e.script}|${e.result}`, Date.now());
    if (suppressed === undefined) return;
    log.warn({ event: 'script-result', script: e.script, result: e.result, exitCode: e.exitCode, durationMs: Math.round(e.durationMs), suppressed }, `vrrp_script ${e.script}: ${e.result}${e.exitCode !== null ? ` (exit ${e.exitCode})` : ''}${e.error ? `: ${e.error}` : ''}`);
  });
  bus.on('track-weight', (e) => log.debug({ event: 'track-weight', instance: e.instance, tracker: e.tracker, weight: e.weight }, `(${e.instance}) ${e.tracker} weighs ${e.weight}`));
  // A track_file's read result, when it changes (not every second).
  bus.on('track-file-read', (e) => {
    if (e.result === (e.previous ?? 'ok')) return;
    (e.result === 'ok' ? log.info.bind(log) : log.warn.bind(log))({ event: 'track-file', tracker: e.tracker, file: e.file, result: e.result, value: e.value }, e.result === 'ok' ? `${e.tracker}: ${e.file} is readable again (${e.value})` : `${e.tracker}: ${e.detail ?? e.result}; counts as 0`);
  });
  bus.on('notify-run', (e) =>
    (e.result === 'ok' ? log.info.bind(log) : log.warn.bind(log))(
      { event: 'notify', scope: e.scope, name: e.name, state: e.state, command: e.command, result: e.result, exitCode: e.exitCode, durationMs: Math.round(e.durationMs), lateMs: Math.max(0, e.startedWallMs - e.transitionWallMs) },
      `notify ${e.scope} ${e.name} ${e.state}: ${e.command} -> ${e.result}${e.exitCode !== null ? ` (exit ${e.exitCode})` : ''}${e.error && e.result !== 'ok' ? `: ${e.error}` : ''}`,
    ),
  );
  bus.on('mail-sent', (e) => (e.result === 'sent' ? log.info.bind(log) : log.warn.bind(log))({ event: 'mail', instance: e.instance, state: e.state, result: e.result, durationMs: e.durationMs }, `mail alert for ${e.instance} ${e.state}: ${e.result}${e.error ? ` (${e.error})` : ''}`));
}
