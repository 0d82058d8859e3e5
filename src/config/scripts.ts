/**
 * Pass 2 for the commands keepalived runs and the processes it watches: `notify*` lines (with
 * their `[user [group]]`), `vrrp_script`'s `script`, the `notify_fifo` family, and
 * `vrrp_track_process` blocks. Each line is read again as keepalived reads it
 * (config/script-line.ts); the findings are diagnostics with the place of the word concerned.
 */
import type { NotifyConfig, NotifyFifoConfig, NotifyScripts, ParamMatch, SourceLocation, TrackProcessConfig } from './model.js';
import type { DiagnosticSink } from './diagnostics.js';
import type { Section } from './interpret.js';
import { readScriptLine } from './script-line.js';

/** Where a user name is looked up: the words keepalived reads as `[user [group]]`. */
interface Account {
  readonly user?: string;
  readonly group?: string;
  readonly userLocation?: SourceLocation;
}

/** Microseconds (pass 1's `secs` values) → milliseconds. */
const usToMs = (us: number): number => us / 1000;

/**
 * One `notify*` / `notify_fifo_script` statement of `s` (undefined when absent or broken, with an
 * error). After the command come `[user [group]]` (keepalived `set_script_uid_gid`); keepalived
 * ignores more words: so do we, with a warning.
 */
export function notifyCommand(s: Section, keyword: string, sink: DiagnosticSink): NotifyConfig | undefined {
  const set = s.get<unknown>(keyword);
  if (!set || set.stmt.args.length === 0) return undefined;
  const line = readScriptLine(set.stmt);
  if (!line.ok) {
    sink.error(line.location, `${keyword} of ${s.label}: ${line.message}`);
    return undefined;
  }
  const [user, group, ...extra] = line.rest;
  if (extra[0]) {
    sink.warning(
      extra[0].location,
      `${keyword}: '${extra.map((w) => w.text).join(' ')}' after the user and group is ignored (as keepalived ignores it); a command with arguments is written in quotes: ${keyword} "${line.command} ${line.rest.map((w) => w.text).join(' ')}"`,
    );
  }
  const account: Account = user ? { user: user.text, ...(group ? { group: group.text } : {}), userLocation: user.location } : {};
  return { command: line.command, argv: line.argv, ...account, location: line.commandLocation };
}

const NOTIFY_KEYWORDS = [
  ['notify_master', 'master'],
  ['notify_backup', 'backup'],
  ['notify_fault', 'fault'],
  ['notify_stop', 'stop'],
  ['notify', 'generic'],
  ['notify_master_rx_lower_pri', 'masterRxLowerPri'],
  ['notify_deleted', 'deleted'],
] as const satisfies readonly (readonly [string, keyof NotifyScripts])[];

/** The keyword of each NotifyScripts field, for messages. */
export const NOTIFY_KEYWORD: Readonly<Record<keyof NotifyScripts, string>> = Object.fromEntries(NOTIFY_KEYWORDS.map(([k, f]) => [f, k])) as Record<keyof NotifyScripts, string>;

/**
 * `notify_master`, `notify_backup`, `notify_fault`, `notify_stop`, `notify` (vrrp_instance,
 * vrrp_sync_group) and, in an instance, `notify_master_rx_lower_pri` and `notify_deleted CMD`.
 */
export function notifyScripts(s: Section, sink: DiagnosticSink): NotifyScripts {
  const out: Partial<Record<keyof NotifyScripts, NotifyConfig>> = {};
  for (const [keyword, field] of NOTIFY_KEYWORDS) {
    const n = notifyCommand(s, keyword, sink);
    if (n) out[field] = n;
  }
  return out;
}

/**
 * `script` of a vrrp_script: the command (first word or quoted string) split into argv. keepalived
 * reads nothing after it and runs the command without those words (`script /usr/bin/pgrep nginx`
 * runs `pgrep` alone, which always fails): keepwatch refuses that line instead, since the check
 * would silently not be the one written.
 */
export function vrrpScriptCommand(s: Section, sink: DiagnosticSink): { script: string; argv: readonly string[]; location: SourceLocation } | undefined {
  const set = s.get<unknown>('script');
  if (!set) return undefined;
  const line = readScriptLine(set.stmt);
  if (!line.ok) {
    sink.error(line.location, `script of ${s.label}: ${line.message}`);
    return undefined;
  }
  const extra = line.rest[0];
  if (extra) {
    const all = [line.command, ...line.rest.map((w) => w.text)].join(' ');
    sink.error(
      extra.location,
      `script of ${s.label}: keepalived runs only '${line.command}' and ignores '${line.rest.map((w) => w.text).join(' ')}' (a vrrp_script's user is its 'user' keyword); write the command with its arguments in quotes: script "${all}"`,
    );
    return undefined;
  }
  return { script: line.command, argv: line.argv, location: line.commandLocation };
}

/**
 * `notify_fifo` / `vrrp_notify_fifo PATH [user [group]]` and their `..._script` (global_defs,
 * keepalived global_parser.c `notify_fifo`, `notify_fifo_script`). A script without its FIFO is
 * not run (keepalived starts it only when the FIFO is there): a warning. The two FIFOs must be
 * different files (keepalived.conf(5): "the FIFO names must all be different"); keepwatch wants
 * an absolute path (it is made and opened whatever the working directory).
 */
export function notifyFifos(g: Section, sink: DiagnosticSink): NotifyFifoConfig[] {
  const out: NotifyFifoConfig[] = [];
  for (const keyword of ['notify_fifo', 'vrrp_notify_fifo'] as const) {
    const set = g.get<string[]>(keyword);
    const script = notifyCommand(g, `${keyword}_script`, sink);
    if (!set) {
      const s = g.get<unknown>(`${keyword}_script`);
      if (s) sink.warning(s.stmt.keyword.location, `${keyword}_script without ${keyword}: it is not run (keepalived runs it only with its FIFO)`);
      continue;
    }
    const [path, user, group] = set.value;
    const [pathTok, userTok] = set.stmt.args;
    if (!path!.startsWith('/')) {
      sink.error(pathTok!.location, `${keyword} '${path}' must be an absolute path`);
      continue;
    }
    const other = out.find((f) => f.path === path);
    if (other) {
      sink.error(pathTok!.location, `${keyword} '${path}' is the FIFO of ${other.keyword} too; the FIFOs must be different files (as keepalived.conf(5) says)`);
      continue;
    }
    out.push({
      keyword,
      path: path!,
      ...(user ? { user, userLocation: userTok!.location } : {}),
      ...(group ? { group } : {}),
      location: pathTok!.location,
      ...(script ? { script } : {}),
    });
  }
  return out;
}

/**
 * One `vrrp_track_process` (keepalived vrrp_parser.c `vrrp_tprocess_*_handler`): `process NAME
 * [PARAM ...]` (parameters imply `full_command` and an exact match unless `param_match` says
 * otherwise), `param_match [initial|partial]`, `weight N [reverse]` (default 0: FAULT), `quorum`
 * (1), `quorum_max` (unlimited; 0 means "up while none runs"), `delay` / `fork_delay` /
 * `terminate_delay`, `full_command`. keepalived ignores a line that conflicts (a quorum above
 * quorum_max) with an error; keepwatch refuses it.
 */
export function assembleTrackProcess(s: Section, sink: DiagnosticSink): TrackProcessConfig | undefined {
  const proc = s.get<string[]>('process');
  if (!proc) {
    if (s.lacks('process')) sink.error(s.nameLoc, `vrrp_track_process ${s.name} has no 'process' (keepalived drops a vrrp_track_process without one)`);
    return undefined;
  }
  const [name, ...params] = proc.value;
  if (name === '') {
    sink.error(proc.loc, `vrrp_track_process ${s.name}: the process name is empty`);
    return undefined;
  }
  let paramMatch: ParamMatch = params.length > 0 ? 'exact' : 'none';
  const pm = s.get<string[]>('param_match');
  if (pm) {
    const w = pm.value[0];
    if (w === undefined) paramMatch = 'exact';
    else if (w === 'initial' || w === 'partial') paramMatch = w;
    else {
      sink.error(pm.loc, `invalid param_match '${w}': expected 'initial', 'partial' or nothing (an exact match)`);
      return undefined;
    }
  }
  const fullCommand = params.length > 0 || pm !== undefined || s.val<boolean>('full_command') === true;
  const weight = s.val<{ weight: number; reverse: boolean }>('weight');
  const quorumSet = s.get<number>('quorum');
  const maxSet = s.get<number>('quorum_max');
  const quorumMax = maxSet?.value ?? Number.MAX_SAFE_INTEGER;
  // keepalived: quorum_max 0 means "up while none runs" and sets quorum to 0.
  const quorum = quorumMax === 0 ? 0 : (quorumSet?.value ?? 1);
  if (quorumMax !== 0 && quorum > quorumMax) {
    sink.error((quorumSet ?? maxSet)!.loc, `vrrp_track_process ${s.name}: quorum ${quorum} is above quorum_max ${quorumMax}; the quorum could never be reached`);
    return undefined;
  }
  if (quorumMax === 0 && quorumSet) sink.warning(quorumSet.loc, `vrrp_track_process ${s.name}: quorum_max 0 means "up while no such process runs"; quorum ${quorumSet.value} is ignored (as keepalived does)`);
  // keepalived reads the delay lines in order: `delay` sets both, the others one each.
  let forkUs = 0;
  let terminateUs = 0;
  const delays = (['delay', 'fork_delay', 'terminate_delay'] as const)
    .map((k) => ({ k, set: s.get<number>(k) }))
    .filter((d): d is { k: 'delay' | 'fork_delay' | 'terminate_delay'; set: NonNullable<typeof d.set> } => d.set !== undefined)
    .sort((a, b) => a.set.stmt.keyword.location.line - b.set.stmt.keyword.location.line || a.set.stmt.keyword.location.column - b.set.stmt.keyword.location.column);
  for (const { k, set } of delays) {
    if (k !== 'fork_delay') terminateUs = set.value;
    if (k !== 'terminate_delay') forkUs = set.value;
  }
  if (!fullCommand && [...name!].length > 15) {
    sink.warning(
      proc.loc,
      `vrrp_track_process ${s.name}: '${name}' is longer than 15 characters, and a process name (comm) never is: it can only match with full_command (keepalived has the same limit)`,
    );
  }
  return {
    name: s.name,
    location: s.nameLoc,
    process: name!,
    params,
    paramMatch,
    fullCommand,
    weight: weight?.weight ?? 0,
    weightReverse: weight?.reverse ?? false,
    quorum,
    quorumMax,
    forkDelayMs: usToMs(forkUs),
    terminateDelayMs: usToMs(terminateUs),
  };
}
