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
 *     peer 192.168.1.12:9650     # other agents to cross-check (repeatable)
 *     detect pcap arp peer       # sources to use (default: all that are configured)
 *     alertmanager http://alertmanager:9093      # optional (also --alertmanager-url)
 * }
 * ```
 */
import { readFileSync } from 'node:fs';
import { DiagnosticSink, formatDiagnostic } from '../config/diagnostics.js';
import { lex } from '../config/lexer.js';
import { parse, type Statement } from '../config/parser.js';
import type { Diagnostic } from '../config/model.js';
import { parseIpv4 } from '../protocol/inet.js';
import type { UnknownPeerPolicy } from './arbitration.js';
import { closestMatch } from '../config/diagnostics.js';

export const DETECTION_SOURCES = ['pcap', 'arp', 'peer'] as const;
export type DetectionSource = (typeof DETECTION_SOURCES)[number];

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

/** Parses guard settings text; never throws. `readSecret` reads the secret file (injectable for tests). */
export function parseGuardConfig(text: string, file: string, readSecret: (path: string) => Buffer = (p) => readFileSync(p)): GuardConfigResult {
  const sink = new DiagnosticSink();
  const stmts = parse(lex(text, file, sink), { needsBlock: new Set(['guard']), topLevelBlocks: new Set(['guard']) }, sink);
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
            const secret = Buffer.from(readSecret(arg!.text).toString('utf8').trim(), 'utf8');
            if (secret.length < 16) sink.error(arg!.location, `secret_file ${arg!.text}: the secret must be at least 16 bytes`);
            else cfg.secret = secret;
          } catch (err) {
            sink.error(arg!.location, `cannot read secret_file ${arg!.text}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
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
          else sink.error(arg!.location, `invalid alertmanager '${arg!.text}': expected an http(s) URL`);
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
  const diagnostics = sink.items;
  if (sink.hasErrors) return { diagnostics };
  cfg = { ...cfg };
  return { config: cfg, diagnostics };
}

export function loadGuardConfig(path: string): GuardConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { diagnostics: [{ severity: 'error', message: `cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, location: { file: path, line: 1, column: 1 } }] };
  }
  return parseGuardConfig(text, path);
}

export function formatGuardErrors(r: GuardConfigResult): string {
  return r.diagnostics.map(formatDiagnostic).join('\n');
}

export type { Statement };
