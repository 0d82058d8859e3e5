/**
 * The agent's log: pino, one structured line per event, secrets masked in every line
 * (createLogger), rate-limited lines for what a peer or a flood controls, and the subscribers
 * that turn bus events into lines (logCoreEvents, logGuardEvents, logTrackingEvents).
 *
 * Output (createLogger's options; main.ts picks them from keepalived's flags):
 * - `json` (default): one JSON object per line on stdout, for machines (LabRouter, Loki, jq);
 * - `human` (`-l`/`--log-console`): `time LEVEL message key=value ...`, for people;
 * - `journalPrefix`: stdout is journald's stream (JOURNAL_STREAM matches it): each line starts
 *   with sd-daemon(3)'s `<N>` so the journal stores its priority (`journalctl -p err` finds the
 *   errors); never on a terminal, a pipe or a file;
 * - `syslog` (`-S`/`--log-facility`): each line also goes to the local syslog socket, framed as
 *   syslog(3) does (`<facility*8+severity>Mmm dd hh:mm:ss keepwatch[pid]: ...`), so rsyslog rules
 *   on local0-7 written for keepalived keep working.
 *
 * One key scheme for every line: `event` names the line (kebab-case); a fact that has a span
 * attribute uses its name (names.ts SPAN_ATTRIBUTES: `vrrp.instance`, `vrrp.vrid`,
 * `vrrp.interface`, `vrrp.vip`, `vrrp.mac`, `vrrp.state.to`, `vrrp.cause`, `vrrp.priority`,
 * `vrrp.peer.address`, `vrrp.peer.priority`, `vrrp.guard.*`, `vrrp.capture.file`), so a line and
 * its span join on the same keys; everything else is flat camelCase with its unit in the name
 * (`durationMs`, `electionMs`); `reason`, `result`, `cause` carry the closed unions that are also
 * metric labels.
 */
import type { AgentBus } from '../events/index.js';
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';
import type { VrrpEvent, EventBus } from '../events/index.js';
import { SPAN_ATTRIBUTES as A } from './names.js';

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

export type LogFormat = 'json' | 'human';

/** Where and how lines are written (main.ts: keepalived's -l, -D, -S and the journal check). */
export interface LogOptions {
  readonly level?: LevelWithSilent;
  /** json (default) or human (`-l`). */
  readonly format?: LogFormat;
  /** `-D`: human lines carry error stacks too (JSON lines always do). */
  readonly detail?: boolean;
  /** Start each console line with sd-daemon's `<N>` priority (stdout is journald's stream). */
  readonly journalPrefix?: boolean;
  /** Console output: default stdout (asynchronous); null for none (`-S` without `-l`). */
  readonly console?: NodeJS.WritableStream | null;
  /** `-S`: every line also goes to syslog, with this facility code (see parseLogFacility). */
  readonly syslog?: { readonly facility: number; send(frame: string): unknown };
  /** Where secrets to mask are read from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/** syslog severities (RFC 5424 §6.2.1) of pino's levels: what `<N>` and the syslog PRI carry. */
export const LEVEL_SEVERITY: Readonly<Record<string, number>> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

/** syslog facility codes keepalived's `-S` accepts: 0-7 / local0-7 (16-23), user (1), daemon (3). */
export function parseLogFacility(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  const m = /^(?:local)?([0-7])$/.exec(t);
  if (m) return 16 + Number(m[1]);
  if (t === 'user') return 1;
  if (t === 'daemon') return 3;
  return undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** syslog(3)'s timestamp: `Mmm dd hh:mm:ss`, local time, day padded with a space. */
function syslogTime(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** Fields a human line leaves out: shown otherwise, or the same on every line. */
const HUMAN_SKIP = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

function humanValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (typeof v === 'string') return /^[^\s"=\\]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/**
 * One JSON log line as a human line: `2026-11-30T15:31:43.123Z WARN  message key=value ...`.
 * Errors show their type and message (`detail`: and their stack, as one quoted value).
 */
export function humanLine(record: Record<string, unknown>, detail = false): string {
  const level = String(record.level ?? 'info').toUpperCase().padEnd(5);
  // One entry, one line (journald would split the rest off with the default priority).
  const msg = String(record.msg ?? '').replace(/\r?\n/g, '\\n');
  const parts = [`${String(record.time ?? '')} ${level} ${msg}`];
  for (const [k, v] of Object.entries(record)) {
    if (HUMAN_SKIP.has(k) || v === undefined) continue;
    if (k === 'err' && v && typeof v === 'object') {
      const e = v as { type?: string; message?: string; stack?: string };
      parts.push(`err=${humanValue(`${e.type ?? 'Error'}: ${e.message ?? ''}`)}`);
      if (detail && e.stack) parts.push(`stack=${JSON.stringify(e.stack)}`);
      continue;
    }
    parts.push(`${k}=${humanValue(v)}`);
  }
  return parts.join(' ');
}

/** The level label of a serialized line (pino writes `"level":"..."` first). */
function levelOf(line: string): string {
  return /"level":"(\w+)"/.exec(line)?.[1] ?? 'info';
}

/**
 * Reformats the finished (already redacted) JSON lines for the console and syslog. Not used for
 * the default (JSON to stdout, not the journal): there, pino writes straight to stdout.
 */
class LineWriter implements DestinationStream {
  constructor(
    private readonly out: { write(s: string): unknown; flush?: (cb?: (err?: Error | null) => void) => void } | null,
    private readonly opts: LogOptions,
  ) {}

  write(line: string): void {
    const level = levelOf(line);
    const severity = LEVEL_SEVERITY[level] ?? 6;
    let text = line.endsWith('\n') ? line.slice(0, -1) : line;
    if (this.opts.format === 'human') {
      try {
        text = humanLine(JSON.parse(text) as Record<string, unknown>, this.opts.detail);
      } catch {
        /* not JSON (never from pino): as it is */
      }
    }
    if (this.out) this.out.write(`${this.opts.journalPrefix ? `<${severity}>` : ''}${text}\n`);
    const syslog = this.opts.syslog;
    if (syslog) syslog.send(`<${syslog.facility * 8 + severity}>${syslogTime(new Date())} keepwatch[${process.pid}]: ${text}`);
  }

  flush(cb?: (err?: Error | null) => void): void {
    if (this.out?.flush) this.out.flush(cb);
    else cb?.();
  }
}

/**
 * The agent's logger. `createLogger(level, destination, env)` (the old form) is
 * `createLogger({ level, console: destination, env })`.
 */
export function createLogger(levelOrOptions: LevelWithSilent | LogOptions = 'info', destination?: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): Logger {
  const opts: LogOptions = typeof levelOrOptions === 'string' ? { level: levelOrOptions, ...(destination ? { console: destination } : {}), env } : levelOrOptions;
  const secrets = environmentSecrets(opts.env ?? process.env);
  const stdout = (): DestinationStream => pino.destination({ fd: 1, sync: false });
  const plain = (opts.format ?? 'json') === 'json' && !opts.journalPrefix && !opts.syslog;
  const out = opts.console === null ? null : (opts.console ?? stdout());
  const dest: DestinationStream = plain && out ? (out as DestinationStream) : new LineWriter(out as LineWriter['out'], opts);
  return pino(
    {
      level: opts.level ?? 'info',
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
    dest,
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
          [A.instance]: e.instance,
          [A.vrid]: e.vrid,
          [A.interface]: e.interface,
          [A.stateFrom]: e.from,
          [A.stateTo]: e.to,
          [A.cause]: e.cause,
          [A.priority]: e.priority,
          ...(e.peer ? { [A.peerAddress]: e.peer.address, [A.peerPriority]: e.peer.priority } : {}),
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
        { event: 'advert-dropped', [A.interface]: e.interface, reason: e.reason, [A.peerAddress]: e.source, [A.vrid]: e.vrid, [A.instance]: e.instance, suppressed },
        `dropped advert from ${e.source} on ${e.interface}${e.vrid !== undefined ? ` (vrid ${e.vrid})` : ''}: ${e.reason}${suppressed ? ` (${suppressed} similar not logged)` : ''}`,
      );
    }),
    bus.on('advert-received', (e) => {
      if (!e.addressListMismatch) return;
      const suppressed = limiter.allow(`${e.interface}|address-list|${e.instance}`, e.atMs);
      if (suppressed === undefined) return;
      log.warn(
        { event: 'address-list-mismatch', [A.instance]: e.instance, [A.vrid]: e.vrid, [A.peerAddress]: e.source, suppressed },
        `(${e.instance}) advert from ${e.source} lists other VIPs than ours: accepted (a discarded advert would cause split brain); check both configs`,
      );
    }),
    bus.on('send-failed', (e) => {
      const suppressed = limiter.allow(`send|${e.instance}|${e.reason}`, e.atMs);
      if (suppressed === undefined) return;
      log.warn({ event: 'send-failed', [A.instance]: e.instance, [A.interface]: e.interface, suppressed }, `(${e.instance}) ${e.reason}`);
    }),
    bus.on('garp-sent', (e) => {
      log.debug({ event: 'garp', [A.instance]: e.instance, [A.interface]: e.interface, [A.vip]: e.vips, [A.mac]: e.mac, [A.count]: e.count, reason: e.reason }, `(${e.instance}) sent ${e.count} gratuitous ARPs`);
    }),
    bus.on('priority-changed', (e) => {
      log.info({ event: 'priority-changed', [A.instance]: e.instance, [A.priority]: e.to, previousPriority: e.from, basePriority: e.basePriority }, `(${e.instance}) effective priority ${e.from} -> ${e.to}`);
    }),
  ];
  return () => offs.forEach((off) => off());
}

/** Logs the split-brain guard's findings and decisions. */
export function logGuardEvents(bus: AgentBus, log: Logger, limiter = new RateLimiter()): void {
  bus.on('guard-detection', (e) =>
    log.warn(
      { event: 'guard-detection', [A.instance]: e.instance, [A.vrid]: e.vrid, [A.guardSource]: e.evidence.source, [A.guardPeerMac]: e.evidence.mac, [A.peerAddress]: e.evidence.address, [A.peerPriority]: e.evidence.priority },
      `(${e.instance}) split-brain guard [${e.evidence.source}]: ${e.evidence.detail}`,
    ),
  );
  bus.on('guard-decision', (e) =>
    log.error(
      { event: 'guard-decision', [A.instance]: e.instance, [A.vrid]: e.vrid, [A.guardDecision]: e.verdict.decision, [A.guardReason]: e.verdict.reason, [A.guardSource]: e.evidence.source, self: e.self, other: e.other },
      `(${e.instance}) split brain on VRID ${e.vrid}: this node ${e.verdict.decision === 'keep' ? 'KEEPS' : 'YIELDS'} the VIPs (${e.verdict.reason})`,
    ),
  );
  bus.on('guard-release', (e) => log.warn({ event: 'guard-release', [A.instance]: e.instance, [A.vrid]: e.vrid, [A.guardReason]: e.reason }, `(${e.instance}) split-brain guard releases the hold: ${e.reason}`));
  bus.on('guard-conflict', (e) =>
    e.level === 'suspected'
      ? (e.active ? log.warn.bind(log) : log.info.bind(log))({ event: 'split-brain', conflict: e.level, [A.instance]: e.instance, [A.vrid]: e.vrid, active: e.active, sources: e.sources }, `(${e.instance}) split brain on VRID ${e.vrid} ${e.active ? 'SUSPECTED (unauthenticated evidence only: shown, not acted on)' : 'suspicion cleared'}`)
      : (e.active ? log.error.bind(log) : log.info.bind(log))({ event: 'split-brain', conflict: e.level, [A.instance]: e.instance, [A.vrid]: e.vrid, active: e.active, sources: e.sources }, `(${e.instance}) split brain on VRID ${e.vrid} ${e.active ? 'DETECTED' : 'resolved'}`),
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
  bus.on('track-weight', (e) => log.debug({ event: 'track-weight', [A.instance]: e.instance, tracker: e.tracker, weight: e.weight }, `(${e.instance}) ${e.tracker} weighs ${e.weight}`));
  // A track_file's read result, when it changes (not every second).
  bus.on('track-file-read', (e) => {
    if (e.result === (e.previous ?? 'ok')) return;
    (e.result === 'ok' ? log.info.bind(log) : log.warn.bind(log))({ event: 'track-file', tracker: e.tracker, file: e.file, result: e.result, value: e.value }, e.result === 'ok' ? `${e.tracker}: ${e.file} is readable again (${e.value})` : `${e.tracker}: ${e.detail ?? e.result}; counts as 0`);
  });
  bus.on('notify-run', (e) =>
    (e.result === 'ok' ? log.info.bind(log) : log.warn.bind(log))(
      { event: 'notify', scope: e.scope, name: e.name, [A.stateTo]: e.state, command: e.command, result: e.result, exitCode: e.exitCode, durationMs: Math.round(e.durationMs), lateMs: Math.max(0, e.startedWallMs - e.transitionWallMs) },
      `notify ${e.scope} ${e.name} ${e.state}: ${e.command} -> ${e.result}${e.exitCode !== null ? ` (exit ${e.exitCode})` : ''}${e.error && e.result !== 'ok' ? `: ${e.error}` : ''}`,
    ),
  );
  // track_process (keepalived logs "Quorum gained/lost for tracked process"); count changes at debug.
  bus.on('track-process', (e) =>
    (e.up ? log.info.bind(log) : log.warn.bind(log))(
      { event: 'track-process', process: e.process, count: e.count, up: e.up },
      `track_process ${e.process}: ${e.count} running, quorum ${e.up ? 'held' : 'lost'} (${e.quorum}${e.quorumMax < Number.MAX_SAFE_INTEGER ? `-${e.quorumMax}` : '+'})`,
    ),
  );
  bus.on('process-scan-truncated', (e) => {
    const suppressed = limiter.allow('process-scan-truncated', Date.now());
    if (suppressed !== undefined) log.warn({ event: 'process-scan-truncated', read: e.read, suppressed }, `track_process: more processes than the scan reads (${e.read}); the rest were not looked at`);
  });
  bus.on('notify-fifo', (e) =>
    (e.what === 'opened' || e.what === 'reader-started' ? log.info.bind(log) : log.warn.bind(log))({ event: 'notify-fifo', fifo: e.fifo, path: e.path, what: e.what }, `${e.fifo} ${e.path}: ${e.what}${e.detail ? ` (${e.detail})` : ''}`),
  );
  bus.on('notify-fifo-line', (e) => {
    if (e.result === 'written') return;
    const suppressed = limiter.allow(`notify-fifo-line|${e.fifo}`, Date.now());
    if (suppressed !== undefined) log.warn({ event: 'notify-fifo-line', fifo: e.fifo, result: e.result, suppressed }, `${e.fifo}: line dropped (the reader is slow or absent): ${e.line.trim()}`);
  });
  bus.on('mail-sent', (e) => (e.result === 'sent' ? log.info.bind(log) : log.warn.bind(log))({ event: 'mail', [A.instance]: e.instance, [A.stateTo]: e.state, result: e.result, durationMs: e.durationMs }, `mail alert for ${e.instance} ${e.state}: ${e.result}${e.error ? ` (${e.error})` : ''}`));
}
