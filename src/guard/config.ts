/**
 * The split-brain guard's settings: keepwatch's own file (keepalived.conf stays keepalived's, so a
 * node can switch back), in the same syntax, read with `--guard-config FILE`
 * (default /etc/keepwatch/guard.conf when it exists). Without it the guard still runs pcap and ARP
 * detection with these defaults.
 *
 * ```
 * guard {
 *     interval 1                 # seconds between ARP probes and peer polls (default 1)
 *     hold_down 10               # seconds a re-demoted node stays out at least (default 10)
 *     unknown_peer_policy hold   # hold | yield, when the other holder's priority is unknown (default hold)
 *     witness 192.168.1.1        # optional: a node that cannot reach it (ARP) yields
 *     secret_file /etc/keepwatch/guard.secret   # shared HMAC secret for the peer cross-check
 *     peer 192.168.1.12:11200    # other agents to cross-check (repeatable)
 *     detect pcap arp peer       # sources to use (default: all that are configured)
 *     alertmanager http://alertmanager:9093      # optional (also --alertmanager-url)
 * }
 * ```
 *
 * `secret_file` is held to keepalived-like strictness (keepalived's script security refuses a
 * script a non-root user could change): it must be a regular file (a FIFO, socket or device is
 * refused without being opened), owned by root (uid 0), not group- or world-writable
 * (`mode & 0o022` is 0), and at most `MAX_SECRET_BYTES`; otherwise an error at `secret_file`.
 * Whoever could change the secret could sign peer claims that demote this node. A secret that
 * group or others can *read* is a warning, not an error: it lets local users sign claims too,
 * so `chmod 600` it (the README's example uses a 0600 file), but refusing to start over it would
 * turn a permission slip into an outage. The file is checked by `stat`, opened with O_NONBLOCK,
 * and checked again on the opened descriptor. The secret's bytes never appear in a diagnostic.
 */
import { statSync, type Stats } from 'node:fs';
import { DiagnosticSink, formatDiagnostic } from '../config/diagnostics.js';
import { FileRefusedError, formatBytes, kindOf, readRegularFile, type FileKind } from '../config/files.js';
import { lex } from '../config/lexer.js';
import { parse, type Statement } from '../config/parser.js';
import type { Diagnostic } from '../config/model.js';
import { parseIpv4 } from '../protocol/inet.js';
import type { UnknownPeerPolicy } from './arbitration.js';
import { closestMatch } from '../config/diagnostics.js';

import { DETECTION_SOURCES, type DetectionSource } from '../events/guard.js';

export { DETECTION_SOURCES, type DetectionSource };

export interface GuardPeer {
  readonly host: string;
  readonly port: number;
}

export interface GuardConfig {
  readonly intervalMs: number;
  readonly holdDownMs: number;
  readonly unknownPeerPolicy: UnknownPeerPolicy;
  readonly witness?: string;
  /** The secret's bytes (never logged). */
  readonly secret?: Buffer;
  readonly secretFile?: string;
  readonly peers: readonly GuardPeer[];
  readonly sources: ReadonlySet<DetectionSource>;
  readonly alertmanagerUrl?: string;
  /** Accepted clock difference for signed messages. */
  readonly signatureWindowMs: number;
}

export const DEFAULT_GUARD: GuardConfig = {
  intervalMs: 1000,
  holdDownMs: 10_000,
  unknownPeerPolicy: 'hold',
  peers: [],
  sources: new Set(['pcap', 'arp']),
  signatureWindowMs: 30_000,
};

const KEYWORDS = ['interval', 'hold_down', 'unknown_peer_policy', 'witness', 'secret_file', 'peer', 'detect', 'alertmanager', 'signature_window'];

export interface GuardConfigResult {
  readonly config?: GuardConfig;
  readonly diagnostics: readonly Diagnostic[];
}

/** The guard file itself: a few lines. */
export const MAX_GUARD_FILE_BYTES = 1 << 20;
/** Words of the guard file (a dozen lines in practice): bounds the parse of a hostile one. */
export const MAX_GUARD_TOKENS = 10_000;
/** The secret: 16 bytes at least; anything past a few hundred is not a secret but a mistake. */
export const MAX_SECRET_BYTES = 4096;

/** What the secret_file rules look at (symlinks followed). */
export interface SecretFileStat {
  readonly kind: FileKind;
  readonly uid: number;
  readonly mode: number;
  readonly size: number;
}

/** How the secret file is reached: the real file system, or a stand-in for tests (no root needed). */
export interface SecretFileAccess {
  /** Throws the system error (ENOENT, EACCES, ...) when there is nothing to stat. */
  stat(path: string): SecretFileStat;
  /** The secret's bytes; must not open anything but a regular file, and must not block. */
  read(path: string, maxBytes: number): Buffer;
}

const statOf = (st: Stats): SecretFileStat => ({ kind: kindOf(st), uid: st.uid, mode: st.mode & 0o7777, size: st.size });

/** The findings about a secret file; an empty `error` means it may be read. */
export function checkSecretFile(path: string, st: SecretFileStat): { readonly error?: string; readonly warning?: string } {
  const mode = `mode ${st.mode.toString(8).padStart(4, '0')}`;
  /** 'its group', 'others' or both, for the group and other bits of `mask` (e.g. 0o022). */
  const by = (mask: number): string => [st.mode & mask & 0o070 ? 'its group' : '', st.mode & mask & 0o007 ? 'others' : ''].filter(Boolean).join(' and ');
  if (st.kind !== 'regular file') return { error: `secret_file ${path} is a ${st.kind}, not a regular file; not opened` };
  if (st.uid !== 0) return { error: `secret_file ${path} is owned by uid ${st.uid}; it must be owned by root (uid 0), or its owner could rewrite the guard's secret` };
  if (st.mode & 0o022) return { error: `secret_file ${path} is writable by ${by(0o022)} (${mode}); it must be writable by root only: chmod go-w ${path}` };
  if (st.size > MAX_SECRET_BYTES) return { error: `secret_file ${path} is larger than ${formatBytes(MAX_SECRET_BYTES)}: not a secret keepwatch reads` };
  if (st.mode & 0o044) return { warning: `secret_file ${path} is readable by ${by(0o044)} (${mode}); whoever reads it can sign peer claims: chmod 600 ${path}` };
  return {};
}

/** A secret file that failed `checkSecretFile` on the opened descriptor (it changed after the stat). */
class SecretFileRefused extends Error {}

export const nodeSecretFile: SecretFileAccess = {
  stat: (path) => statOf(statSync(path)),
  read: (path, maxBytes) =>
    readRegularFile(path, maxBytes, (st) => {
      const { error } = checkSecretFile(path, statOf(st));
      if (error) throw new SecretFileRefused(error);
    }).bytes,
};

/** `ENOENT`-style code, or the refusal's own sentence. */
function readError(err: unknown): string {
  if (err instanceof FileRefusedError || err instanceof SecretFileRefused) return err.message;
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/**
 * Parses guard settings text; never throws. `secrets` reaches the secret file: by default the
 * real file system with every check above. A bare function (tests that only care about the
 * contents) is called for the bytes, with no file checks.
 */
export function parseGuardConfig(text: string, file: string, secrets: SecretFileAccess | ((path: string) => Buffer) = nodeSecretFile): GuardConfigResult {
  const sink = new DiagnosticSink();
  const lines = lex(text, file, sink, { budget: { maxTokens: MAX_GUARD_TOKENS, used: 0 }, dropEmpty: true });
  const stmts = parse(lines, { needsBlock: new Set(['guard']), topLevelBlocks: new Set(['guard']) }, sink);
  const peers: GuardPeer[] = [];
  const sources = new Set<DetectionSource>();
  let cfg: { -readonly [K in keyof GuardConfig]: GuardConfig[K] } = { ...DEFAULT_GUARD, peers, sources };
  let explicitSources = false;
  for (const top of stmts) {
    if (top.keyword.text !== 'guard') {
      sink.error(top.keyword.location, `unknown keyword '${top.keyword.text}' at top level; expected 'guard { ... }'`);
      continue;
    }
    for (const s of top.block?.statements ?? []) {
      const kw = s.keyword.text;
      const arg = s.args[0];
      const need = (n: number): boolean => {
        if (s.args.length !== n) {
          sink.error(s.keyword.location, `'${kw}' takes ${n === 1 ? 'one value' : `${n} values`}`);
          return false;
        }
        return true;
      };
      const seconds = (min: number): number | undefined => {
        const v = Number(arg?.text);
        if (!arg || !/^\d+(\.\d+)?$/.test(arg.text) || v < min) {
          sink.error((arg ?? s.keyword).location, `invalid ${kw} '${arg?.text ?? ''}': expected seconds >= ${min}`);
          return undefined;
        }
        return v * 1000;
      };
      switch (kw) {
        case 'interval':
          if (need(1)) cfg.intervalMs = seconds(0.05) ?? cfg.intervalMs;
          break;
        case 'hold_down':
          if (need(1)) cfg.holdDownMs = seconds(0) ?? cfg.holdDownMs;
          break;
        case 'signature_window':
          if (need(1)) cfg.signatureWindowMs = seconds(1) ?? cfg.signatureWindowMs;
          break;
        case 'unknown_peer_policy':
          if (!need(1)) break;
          if (arg!.text === 'hold' || arg!.text === 'yield') cfg.unknownPeerPolicy = arg!.text;
          else sink.error(arg!.location, `invalid unknown_peer_policy '${arg!.text}': expected hold or yield`);
          break;
        case 'witness':
          if (!need(1)) break;
          if (parseIpv4(arg!.text)) cfg.witness = arg!.text;
          else sink.error(arg!.location, `invalid witness '${arg!.text}': expected an IPv4 address on the instances' LAN`);
          break;
        case 'secret_file':
          if (!need(1)) break;
          cfg.secretFile = arg!.text;
          try {
            let bytes: Buffer;
            if (typeof secrets === 'function') bytes = secrets(arg!.text);
            else {
              const found = checkSecretFile(arg!.text, secrets.stat(arg!.text));
              if (found.error) {
                sink.error(s.keyword.location, found.error);
                break;
              }
              if (found.warning) sink.warning(s.keyword.location, found.warning);
              bytes = secrets.read(arg!.text, MAX_SECRET_BYTES);
            }
            const secret = Buffer.from(bytes.toString('utf8').trim(), 'utf8');
            if (secret.length < 16) sink.error(arg!.location, `secret_file ${arg!.text}: the secret must be at least 16 bytes`);
            else cfg.secret = secret;
          } catch (err) {
            sink.error(arg!.location, `cannot read secret_file ${arg!.text}: ${readError(err)}`);
          }
          break;
        case 'peer': {
          if (!need(1)) break;
          const m = /^(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(arg!.text);
          if (!m || Number(m[2]) > 65535) sink.error(arg!.location, `invalid peer '${arg!.text}': expected HOST:PORT of another keepwatch agent`);
          else peers.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) });
          break;
        }
        case 'detect':
          explicitSources = true;
          if (s.args.length === 0) sink.error(s.keyword.location, `'detect' needs one or more of ${DETECTION_SOURCES.join(', ')}`);
          for (const a of s.args) {
            if ((DETECTION_SOURCES as readonly string[]).includes(a.text)) sources.add(a.text as DetectionSource);
            else sink.error(a.location, `unknown detection source '${a.text}': expected ${DETECTION_SOURCES.join(', ')}`);
          }
          break;
        case 'alertmanager':
          if (!need(1)) break;
          if (/^https?:\/\/[^\s]+$/.test(arg!.text)) cfg.alertmanagerUrl = arg!.text.replace(/\/+$/, '');
          else sink.error(arg!.location, `invalid alertmanager '${arg!.text.replace(/\/\/[^/]*@/, '//(credentials not shown)@')}': expected an http(s) URL`);
          break;
        default: {
          const near = closestMatch(kw, KEYWORDS);
          sink.error(s.keyword.location, `unknown keyword '${kw}' in guard${near ? `; did you mean '${near}'?` : ''}`);
        }
      }
    }
  }
  if (!explicitSources) cfg.sources = new Set(['pcap', 'arp', ...(cfg.peers.length > 0 ? (['peer'] as const) : [])]);
  if (cfg.sources.has('peer') && cfg.peers.length === 0) sink.warning({ file, line: 1, column: 1 }, "detection source 'peer' has no 'peer' to poll");
  if (cfg.peers.length > 0 && !cfg.secret) sink.error({ file, line: 1, column: 1 }, "'peer' needs a 'secret_file': cross-check messages are always signed");
  const more = sink.overflow();
  const diagnostics = more ? [...sink.items, more] : sink.items;
  if (sink.hasErrors) return { diagnostics };
  cfg = { ...cfg };
  return { config: cfg, diagnostics };
}

/**
 * Reads and parses the guard file: a regular file of at most `MAX_GUARD_FILE_BYTES` (a FIFO is
 * refused without being opened, so a reload cannot hang on it). `secrets` as for parseGuardConfig.
 */
export function loadGuardConfig(path: string, secrets: SecretFileAccess = nodeSecretFile): GuardConfigResult {
  let text: string;
  try {
    text = readRegularFile(path, MAX_GUARD_FILE_BYTES).bytes.toString('utf8');
  } catch (err) {
    return { diagnostics: [{ severity: 'error', message: `cannot read '${path}': ${readError(err)}`, location: { file: path, line: 1, column: 1 } }] };
  }
  return parseGuardConfig(text, path, secrets);
}

export function formatGuardErrors(r: GuardConfigResult): string {
  return r.diagnostics.map(formatDiagnostic).join('\n');
}

export type { Statement };
