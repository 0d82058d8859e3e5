/**
 * argv → config → agent; signals; exit codes. keepalived's command line works: every flag of
 * `keepalived --help` (2.2.7) is accepted (acting, or with nothing to do in keepwatch) or refused
 * with a one-line reason (KEEPALIVED_FLAGS), so a unit or script written for keepalived either
 * works or says why not.
 *
 * Fail safe: any uncaught exception or unhandled rejection is logged (fatal), then the agent
 * releases what it holds (masters send priority 0, VIPs are removed; Agent.emergencyStop, at most
 * RELEASE_BUDGET_MS) and the process exits 1, so systemd's Restart=on-failure starts it again. A
 * second error while releasing changes nothing but a log line: the exit comes by HARD_EXIT_MS
 * whatever happens. Exit status: 0 after SIGTERM/SIGINT, 1 after a crash or a failed start.
 */
import { parseArgs } from 'node:util';
import { constants as osConstants } from 'node:os';
import { closeSync, constants as fsConstants, createWriteStream, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, isAbsolute } from 'node:path';
import { loadConfig, formatDiagnostic, formatLocation, summarizeInstance, ConfigError, defaultConfigId, type KeepalivedConfig, type LoadOptions } from './config/index.js';
import { ACTED_DIFFERENTLY, migrationFails, migrationFindings, type MigrationVerdict } from './config/compat.js';
import { keywordsWritten } from './config/summary.js';
// The agent (and its native modules) is loaded only to run it: --help, -t and the subcommands
// start fast and never depend on them.
import type { Agent } from './agent/index.js';
import { HostError, describe } from './adapters/errors.js';
import { SdNotifier } from './adapters/sd-notify.js';
import { SYSLOG_SOCKET, SyslogSender, streamIsJournal } from './adapters/log-output.js';
import { createLogger, parseLogFacility, redactUrlCredentials, type Logger } from './observability/logging.js';
import { DEFAULT_RUNBOOK_BASE_URL } from './observability/names.js';
import {
  DEFAULT_DUMP_DIR,
  STATE_DUMP_FILE,
  STATS_DUMP_FILE,
  STATS_METRIC_NAMES,
  formatKeepalivedData,
  formatKeepalivedJson,
  formatKeepalivedStats,
  formatStateDump,
  formatStatsDump,
  keepalivedDumpPath,
  writeDumpFile,
  type DumpFileSettings,
  type MetricSeries,
} from './observability/state-dump.js';
import { preflightScripts } from './tracking/preflight.js';
import { SystemProcessRunner } from './adapters/process.js';
import { DEFAULT_PORT, VERSION } from './version.js';

/**
 * keepalived's flags (2.2.7's `keepalived --help`) besides -f, -t, -v, -h: what each does here.
 * `acts`: it does what keepalived's does; `no-op`: accepted, keepwatch has nothing to do for it
 * (the reason says why); `refused`: keepwatch exits 2 with the reason (doing nothing would hide
 * a difference the user relies on).
 */
interface CompatFlag {
  readonly long: string;
  readonly short?: string;
  readonly value?: boolean;
  readonly action: 'acts' | 'no-op' | 'refused';
  readonly why: string;
}

export const KEEPALIVED_FLAGS: readonly CompatFlag[] = [
  { long: 'vrrp', short: 'P', action: 'acts', why: "VRRP only: the virtual_server blocks are not run (no checks, no data-plane table), as keepalived's -P runs no checker process" },
  { long: 'check', short: 'C', action: 'refused', why: 'keepwatch runs VRRP and the LVS checkers in one process and has no checkers-only mode: run it without -C (or with -P beside keepalived -C)' },
  { long: 'no_bfd', short: 'B', action: 'no-op', why: 'BFD runs inside keepwatch\'s one process, only for the bfd_instance blocks of the file: remove them to run without BFD' },
  { long: 'all', action: 'no-op', why: 'keepwatch is one process: there are no child processes to force' },
  { long: 'log-console', short: 'l', action: 'acts', why: 'human-readable lines (time level message key=value) on stdout instead of JSON' },
  { long: 'log-detail', short: 'D', action: 'acts', why: 'detail: debug lines (GARPs, script runs, tracker weights), error stacks in -l lines, CPU time at stop' },
  { long: 'log-facility', short: 'S', value: true, action: 'acts', why: 'log through syslog (/dev/log) with facility local0-7 (0-7), user or daemon, as keepalived does' },
  { long: 'no-syslog', short: 'G', action: 'acts', why: 'no syslog output (cancels -S); the log stays on stdout' },
  { long: 'umask', short: 'u', value: true, action: 'acts', why: 'the umask for files keepwatch creates (octal)' },
  { long: 'release-vips', short: 'X', action: 'no-op', why: 'keepwatch always removes its VIPs when an instance leaves MASTER' },
  { long: 'dont-release-vrrp', short: 'V', action: 'refused', why: 'keepwatch always releases its VIPs when it stops (priority 0, VIPs removed): a stopped node that keeps a VIP is a split brain' },
  { long: 'dont-release-ipvs', short: 'I', action: 'no-op', why: 'keepwatch always removes its LVS table at exit (nftables or IPVS), and the next start programs it again' },
  { long: 'dont-respawn', short: 'R', action: 'no-op', why: "keepwatch has no child processes; systemd's Restart= restarts it" },
  { long: 'dont-fork', short: 'n', action: 'no-op', why: 'keepwatch never forks (its unit is Type=notify)' },
  { long: 'dump-conf', short: 'd', action: 'acts', why: "logs each instance's settings at start" },
  { long: 'pid', short: 'p', value: true, action: 'acts', why: 'writes the PID file (removed at exit; a file naming a running process stops the start); default with use_pid_dir/instance: /run/keepalived/keepalived[_NAME].pid' },
  { long: 'vrrp_pid', short: 'r', value: true, action: 'acts', why: "writes the PID file: keepwatch's one process is the VRRP process (default with use_pid_dir/instance: /run/keepalived/vrrp[_NAME].pid)" },
  { long: 'genhash', short: 'T', action: 'refused', why: "genhash is keepalived's HTTP-checker digest tool, not part of keepwatch" },
  { long: 'checkers_pid', short: 'c', value: true, action: 'no-op', why: 'there is no checker process' },
  { long: 'address-monitoring', short: 'a', action: 'no-op', why: 'changes to keepwatch\'s own VIPs are always logged (vip-repaired); other addresses are not its business' },
  { long: 'bfd_pid', short: 'b', value: true, action: 'no-op', why: 'there is no BFD process' },
  { long: 'snmp', short: 'x', action: 'refused', why: 'keepwatch has no SNMP agent: the same facts are on /metrics (Prometheus) and /v1/state (JSON; also `keepwatch status --json`)' },
  { long: 'snmp-agent-socket', short: 'A', value: true, action: 'refused', why: 'keepwatch has no SNMP agent (see -x)' },
  { long: 'namespace', short: 's', value: true, action: 'refused', why: "run keepwatch inside the namespace instead: 'ip netns exec NAME keepwatch ...' or NetworkNamespacePath= in the unit" },
  { long: 'core-dump', short: 'm', action: 'no-op', why: "a crash is a logged JavaScript error with its stack; core files are systemd-coredump's (LimitCORE=)" },
  { long: 'core-dump-pattern', short: 'M', value: true, action: 'refused', why: 'it rewrites the system-wide /proc/sys/kernel/core_pattern: set that with sysctl' },
  { long: 'all-config', short: 'e', action: 'acts', why: 'every include check: a missing, unmatched or unreadable include is an error (plain `include` only warns)' },
  { long: 'config-id', short: 'i', value: true, action: 'acts', why: "the config id: which '@ID' / '@^ID' lines apply, and ${_INSTANCE} (default: the host name up to its first '.'); as in keepalived 2.2.7 it does not name the pid or dump files (the 'instance' keyword does)" },
  { long: 'signum', value: true, action: 'acts', why: 'prints the signal number for STOP, RELOAD, DATA, STATS or JSON (SIGUSR1, which writes keepalived.json too) and exits' },
];

/**
 * `--signum=` (keepalived): the signal of each function keepwatch has. keepalived's JSON signal is
 * SIGRTMIN+2, which Node cannot catch (a real-time signal would kill the process): keepwatch
 * writes keepalived.json with SIGUSR1, so `kill -s $(keepwatch --signum=JSON) PID` gets it.
 */
const SIGNAL_FUNCTIONS: Readonly<Record<string, NodeJS.Signals>> = { STOP: 'SIGTERM', RELOAD: 'SIGHUP', DATA: 'SIGUSR1', STATS: 'SIGUSR2', JSON: 'SIGUSR1' };

const flagText = (f: CompatFlag) => `${f.short ? `-${f.short}, ` : '    '}--${f.long}${f.value ? ' X' : ''}`;

const USAGE = `Usage:
  keepwatch [-f FILE] [options]          run the VRRP agent in the foreground
  keepwatch -t [-f FILE]                 check a keepalived.conf: exit 0 (clean), 5 (warnings), 1 (errors)
  keepwatch -t --migrate [-f FILE]       a keepalived.conf moving to keepwatch: per keyword, what keepwatch
                                         does differently; exit 0 (same behaviour), 4 (behaviour changes), 1 (refused)
  keepwatch status [--listen HOST:PORT] [--json]
                                         the agent's instances as a table (like 'show vrrp')
  keepwatch lab [--peer keepalived] [--demo]
                                         a two-router LAN in network namespaces: watch a failover
  keepwatch flood --source ADDR [options] lab tool: invalid adverts at a rate (inside a lab namespace)
  keepwatch --version
  keepwatch COMMAND --help               a command's own options

Options:
  -f, --use-file FILE      keepalived.conf to use (default /etc/keepalived/keepalived.conf)
  -t, --config-test[=LOG]  check the configuration and exit; with LOG, the findings go to that file
      --listen HOST:PORT   serve /metrics, /healthz, /v1/state (default 0.0.0.0:${DEFAULT_PORT}; 'off' for none)
      --capture-dir DIR    flight recorder: write the last 30 s of VRRP/ARP frames to DIR at every election
      --guard-config FILE  split-brain guard settings (default /etc/keepwatch/guard.conf if present)
      --alertmanager-url URL  push split-brain alerts to this Alertmanager (v2 API)
      --runbook-base-url URL  where the pushed alert's runbook link points
                           (default ${DEFAULT_RUNBOOK_BASE_URL})
      --log-level LEVEL    trace|debug|info|warn|error (default info; debug with -D)
      --metrics-cache-ms MS  /metrics renders at most once per MS, scrapes in between get that body (default 1000)
      --dump-dir DIR       where the signal dumps go (keepalived's tmp dir: default $TMPDIR, else /tmp)
  Traces: set OTEL_EXPORTER_OTLP_ENDPOINT (and other OTEL_* variables) to export OTLP/HTTP.
  -h, --help               this text
  -v, --version            the version

Logs: one JSON object per line on stdout. Under systemd (stdout is the journal) each line starts
with its priority (<3> error, <4> warning, <6> info, <7> debug), so 'journalctl -p err' works.

keepalived's other flags:
${KEEPALIVED_FLAGS.map((f) => `  ${flagText(f).padEnd(27)}${f.action === 'refused' ? 'REFUSED: ' : f.action === 'no-op' ? 'accepted, nothing to do: ' : ''}${f.why}`).join('\n')}

Signals (the agent):
  SIGTERM, SIGINT  stop: masters send priority 0 and remove their VIPs; exit 0
  SIGHUP           reload the configuration (an invalid file is refused; the running config stays)
  SIGUSR1          state dump: DIR/keepalived.data (keepalived's text) and DIR/keepalived.json
                   (keepalived's JSON; its own signal, SIGRTMIN+2, would kill a Node process), plus
                   DIR/keepwatch.data (instances, priorities, master, VIPs, timers, guard view) and
                   one JSON log line; files 0600, replaced atomically. global_defs state_dump_file,
                   json_dump_file and data_use_instance name them as keepalived's do
  SIGUSR2          statistics dump: DIR/keepalived.stats (keepalived's text), DIR/keepwatch.stats
                   (adverts sent/received/dropped per reason, transitions), one JSON log line
  SIGPIPE          ignored
  Never Node's inspector: SIGUSR1 does not open a debugger port.
  A crash (uncaught error) logs the error, releases priority and VIPs and exits 1.
systemd: with NOTIFY_SOCKET set (Type=notify) the agent sends READY=1 once every instance has
started, STATUS= with the instances' states, WATCHDOG=1 (WatchdogSec=), RELOADING=1 and STOPPING=1.`;

/**
 * Exit codes, the one table: what systemd and scripts see.
 * - ok: SIGTERM/SIGINT handled, `-t` with a clean config, `--help`, `--version`;
 * - failure: a config with errors (`-t` or start), a host problem at start (interface, privileges,
 *   libpcap, script users), a crash (after releasing priority and VIPs), a stop that hung;
 * - usage: bad command-line arguments, or a keepalived flag keepwatch refuses;
 * - configWarnings: `-t` found only warnings: the agent would run this file, but keepalived 2.2.7
 *   exits 5 (KEEPALIVED_EXIT_CONFIG_TEST) whenever its config test reports anything, and scripts
 *   written for it (`keepalived -t || fail`) must see the same.
 */
const EXIT = { ok: 0, failure: 1, usage: 2, migrationChanges: 4, configWarnings: 5 } as const;

const DEFAULT_CONFIG = '/etc/keepalived/keepalived.conf';

/** `-t`: every finding with its place (to `out`), the summary on stdout; the exit code (EXIT). */
function configTest(file: string, load: LoadOptions, out: NodeJS.WritableStream = process.stderr): number {
  const result = loadConfig(file, undefined, load);
  for (const d of result.diagnostics) out.write(`${formatDiagnostic(d)}\n`);
  if (!result.config) {
    const n = result.diagnostics.filter((d) => d.severity === 'error').length;
    out.write(`${file}: ${n} error${n === 1 ? '' : 's'}; configuration rejected\n`);
    return EXIT.failure;
  }
  // Scripts: keepalived checks them when it starts; so do we, here, with their place.
  const scriptIssues = preflightScripts(result.config, new SystemProcessRunner());
  for (const d of scriptIssues) out.write(`${formatDiagnostic(d)}\n`);
  if (scriptIssues.some((d) => d.severity === 'error')) {
    out.write(`${file}: script problems (missing, unsafe or unknown users); configuration rejected\n`);
    return EXIT.failure;
  }
  for (const i of result.config.instances) process.stdout.write(`${summarizeInstance(i)}\n`);
  const w = result.diagnostics.length + scriptIssues.length;
  process.stdout.write(`${file}: configuration OK (${result.config.instances.length} instance${result.config.instances.length === 1 ? '' : 's'}${w ? `, ${w} warning${w === 1 ? '' : 's'}: exit ${EXIT.configWarnings}, as keepalived -t` : ''})\n`);
  return w ? EXIT.configWarnings : EXIT.ok;
}

/** How `-t --migrate` names each kind of finding (compat.ts MigrationVerdict). */
const VERDICT_TEXT: Readonly<Record<MigrationVerdict, string>> = {
  refused: 'REFUSED',
  'changes-behaviour': 'CHANGES BEHAVIOUR',
  'same-behaviour': 'same behaviour',
  'acted-differently': 'acted on differently',
  warning: 'warning',
};

/**
 * `-t --migrate`: the config test of a keepalived.conf that is moving to keepwatch, told per
 * keyword: what keepwatch refuses, what it accepts without acting on it (and whether that changes
 * what the node does), and what it acts on its own way. Exit 1 when refused, 4 when something
 * changes behaviour, 0 otherwise (warnings that change nothing included).
 */
function migrationCheck(file: string, load: LoadOptions, out: NodeJS.WritableStream = process.stdout): number {
  const result = loadConfig(file, undefined, load);
  const names = new Set(Object.keys(ACTED_DIFFERENTLY));
  const acted = (result.config?.files ?? [file]).flatMap((f) => {
    try {
      return keywordsWritten(readFileSync(f, 'utf8'), f, names);
    } catch {
      return [];
    }
  });
  const findings = migrationFindings(result.diagnostics, acted);
  for (const f of findings) out.write(`${formatLocation(f.location)}: ${VERDICT_TEXT[f.verdict]}: ${f.keyword ? `${f.keyword}: ` : ''}${f.text}\n`);
  const count = (v: MigrationVerdict) => findings.filter((f) => f.verdict === v).length;
  const summary = `${file}: migration check: ${count('refused')} refused, ${count('changes-behaviour')} changing behaviour, ${count('acted-differently')} acted on differently, ${count('same-behaviour')} not acted on without effect, ${count('warning')} other warnings`;
  if (!result.config || count('refused') > 0) {
    out.write(`${summary}; keepwatch refuses this configuration\n`);
    return EXIT.failure;
  }
  if (migrationFails(findings)) {
    out.write(`${summary}; a node running this file under keepwatch behaves differently (exit ${EXIT.migrationChanges})\n`);
    return EXIT.migrationChanges;
  }
  out.write(`${summary}; keepwatch runs it as keepalived would (apart from what is listed)\n`);
  return EXIT.ok;
}

interface RunOptions {
  readonly listen?: string;
  readonly captureDir?: string;
  readonly guardConfigPath?: string;
  readonly alertmanagerUrl?: string;
  readonly runbookBaseUrl?: string;
  readonly metricsMinIntervalMs?: number;
  readonly logDetail?: boolean;
  readonly dumpConfig?: boolean;
  readonly lvs?: boolean;
}

/** How the log is written (keepalived's -l, -D, -S, -G; --log-level). */
interface LogSettings {
  readonly level: string;
  readonly human: boolean;
  readonly detail: boolean;
  /** syslog facility code (-S), unless -G. */
  readonly facility?: number;
}

/**
 * The logger main.ts runs with: JSON (or -l human lines) on stdout, with sd-daemon priority
 * prefixes when stdout is this unit's journal stream; with -S through the local syslog socket
 * instead (and on stdout too with -l, as keepalived's -l -S). A line the syslog socket refuses
 * goes to stderr, so nothing is lost silently.
 */
function makeLogger(settings: LogSettings): Logger {
  const journalPrefix = streamIsJournal(process.env, 1);
  let syslog: { facility: number; send(frame: string): unknown } | undefined;
  if (settings.facility !== undefined) {
    if (!existsSync(SYSLOG_SOCKET)) {
      process.stderr.write(`keepwatch: -S: no syslog socket at ${SYSLOG_SOCKET}; logging to stdout\n`);
    } else {
      try {
        const sender = new SyslogSender();
        const facility = settings.facility;
        syslog = { facility, send: (frame: string) => sender.send(frame) || process.stderr.write(`${frame.replace(/^<\d+>/, '')}\n`) };
      } catch (err) {
        process.stderr.write(`keepwatch: -S: ${describe(err)}; logging to stdout\n`);
      }
    }
  }
  return createLogger({
    level: settings.level as 'info',
    format: settings.human ? 'human' : 'json',
    detail: settings.detail,
    journalPrefix,
    ...(syslog ? { syslog, ...(settings.human ? {} : { console: null }) } : {}),
  });
}

/** keepalived's pid directory (`use_pid_dir`, `instance`, `net_namespace`): RUNSTATEDIR/keepalived/. */
const PID_DIR = '/run/keepalived';

/**
 * The pid files to write (keepalived main.c): `-p`/`--pid` and `-r`/`--vrrp_pid` as given; else,
 * with use_pid_dir (or `instance`, or `net_namespace`), /run/keepalived/keepalived[_INSTANCE].pid
 * and /run/keepalived/vrrp[_INSTANCE].pid. Without either, none: systemd (Type=notify) knows the pid.
 */
function pidFilesFor(flags: { pid?: string; vrrpPid?: string }, config: Pick<KeepalivedConfig, 'global'>): string[] {
  const ops = config.global.operations;
  const suffix = ops.instanceName ? `_${ops.instanceName}` : '';
  const main = flags.pid ?? (ops.usePidDir ? `${PID_DIR}/keepalived${suffix}.pid` : undefined);
  const vrrp = flags.vrrpPid ?? (ops.usePidDir ? `${PID_DIR}/vrrp${suffix}.pid` : undefined);
  return [...new Set([main, vrrp].filter((x): x is string => x !== undefined))];
}

/** The pid a pid file names, if that process is alive (kill 0: alive, EPERM: alive and not ours). */
function livePid(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = /^\s*(\d{1,10})\s*$/.exec(text)?.[1];
  if (!pid || Number(pid) === process.pid || Number(pid) <= 1) return undefined;
  try {
    process.kill(Number(pid), 0);
    return Number(pid);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? Number(pid) : undefined;
  }
}

/**
 * Writes `PID\n` to each pid file (0644; the directory made 0755 if missing), refusing to start
 * when one names a live process (another keepwatch or keepalived on the same files: two VRRP
 * speakers for the same instances). A stale one (its process gone) is replaced. Removed at exit,
 * only if it still names us.
 */
function writePidFiles(files: readonly string[], log: Logger): void {
  for (const f of files) {
    const other = livePid(f);
    if (other !== undefined) throw new HostError('pid-file', `pid file ${f} names process ${other}, which is running: another keepalived or keepwatch uses these files; not starting (stop it, or give this one other files with -p/-r)`);
  }
  const mine = `${process.pid}\n`;
  const written: string[] = [];
  for (const f of files) {
    try {
      mkdirSync(dirname(f), { recursive: true, mode: 0o755 });
      try {
        unlinkSync(f); // a stale file (or a symlink planted in its place) goes; we create ours afresh
      } catch {
        /* not there */
      }
      const fd = openSync(f, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o644);
      try {
        writeSync(fd, mine);
      } finally {
        closeSync(fd);
      }
      written.push(f);
    } catch (err) {
      throw new HostError('pid-file', `cannot write the pid file ${f}: ${describe(err)}`);
    }
  }
  log.info({ event: 'pid-file', files: written }, `pid file${written.length === 1 ? '' : 's'} ${written.join(', ')}`);
  process.on('exit', () => {
    for (const f of written) {
      try {
        if (readFileSync(f, 'utf8') === mine) unlinkSync(f);
      } catch {
        /* gone already */
      }
    }
  });
}

/** keepalived's tmp_dir: $TMPDIR when it is an absolute path, else /tmp (lib/utils.c set_tmp_dir). */
function defaultDumpDir(env: NodeJS.ProcessEnv = process.env): string {
  const t = env.TMPDIR;
  return t && isAbsolute(t) ? t : DEFAULT_DUMP_DIR;
}

/** How long a crash may spend releasing priority and VIPs (Agent.emergencyStop). */
const RELEASE_BUDGET_MS = 1000;
/** After a crash the process is gone by then, whatever hangs or throws while releasing. */
const HARD_EXIT_MS = 1500;
/** SIGTERM/SIGINT: Agent.stop bounds itself (~1.3 s); past this, something is wrong: exit 1. */
const STOP_LIMIT_MS = 4000;

/**
 * TEST HOOK (fault injection) for the fail-safe tests (test/net/hostile-process.test.ts). Inert
 * unless the KEEPWATCH_FAULT_INJECT environment variable is set; then, once the agent runs:
 *   throw-after-ms:N        an exception thrown from a timer after N ms (uncaughtException)
 *   reject-after-ms:N       a promise rejected with nobody to catch it (unhandledRejection)
 *   throw-twice-after-ms:N  a throw, and another 5 ms later while the first is being released
 * Any other value refuses to start (a typo must not silently test nothing).
 */
const FAULT_ENV = 'KEEPWATCH_FAULT_INJECT';
interface FaultInjection {
  readonly kind: 'throw' | 'reject' | 'throw-twice';
  readonly afterMs: number;
}

function parseFaultInjection(text: string | undefined): FaultInjection | undefined {
  if (text === undefined || text === '') return undefined;
  const m = /^(throw|reject|throw-twice)-after-ms:(\d{1,9})$/.exec(text.trim());
  if (!m) throw new Error(`${FAULT_ENV}=${text}: expected throw-after-ms:N, reject-after-ms:N or throw-twice-after-ms:N (a test hook)`);
  return { kind: m[1] as FaultInjection['kind'], afterMs: Number(m[2]) };
}

function armFaultInjection(fault: FaultInjection, log: Logger): void {
  log.warn({ event: 'fault-injection', kind: fault.kind, afterMs: fault.afterMs }, `TEST HOOK ${FAULT_ENV}: a ${fault.kind} fault in ${fault.afterMs} ms`);
  const what = `injected fault (${FAULT_ENV}=${fault.kind}-after-ms:${fault.afterMs})`;
  setTimeout(() => {
    if (fault.kind === 'reject') {
      void Promise.reject(new Error(what));
      return;
    }
    if (fault.kind === 'throw-twice') {
      setTimeout(() => {
        throw new Error(`${what}, the second one`);
      }, 5);
    }
    throw new Error(what);
  }, fault.afterMs);
}

type Phase = 'starting' | 'running' | 'stopping' | 'crashed';

/** The counters the statistics dump reads, one at a time (the event loop turns in between). */
async function statsMetrics(agent: Agent): Promise<MetricSeries[]> {
  const out: MetricSeries[] = [];
  for (const name of STATS_METRIC_NAMES) {
    const m = agent.metrics.registry.getSingleMetric(name);
    if (m) out.push(await m.get());
  }
  return out;
}

interface ProcessFlags {
  /** --dump-dir, else $TMPDIR, else /tmp. */
  readonly dumpDir: string;
  /** -p / -r. */
  readonly pid?: string;
  readonly vrrpPid?: string;
  /** -u was given (the configuration's umask then does not apply). */
  readonly umask: boolean;
}

async function runAgent(file: string, load: LoadOptions, logSettings: LogSettings, run: RunOptions, flags: ProcessFlags): Promise<void> {
  const log = makeLogger(logSettings);
  // The service manager (systemd, Type=notify): told READY/STATUS/WATCHDOG/RELOADING/STOPPING.
  // Its variables are ours alone: taken out of the environment so no child inherits them.
  const notifier = SdNotifier.fromEnvironment(process.env, { pid: process.pid, onError: (message) => log.warn({ event: 'service-manager' }, message) });
  for (const name of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete process.env[name];
  let agent: Agent | undefined;
  let phase: Phase = 'starting';
  let keepAlive: ReturnType<typeof setInterval> | undefined;

  // --- Fail safe: log, release, exit 1 ----------------------------------------------------------
  const crash = (kind: 'uncaughtException' | 'unhandledRejection' | 'stop-failed', err: unknown) => {
    process.exitCode = EXIT.failure;
    if (phase === 'crashed') {
      try {
        log.fatal({ err, event: 'crash', kind, double: true }, `${kind} while releasing after a crash: ${describe(err)} (the exit comes anyway)`);
      } catch {
        /* nothing more to do */
      }
      return;
    }
    phase = 'crashed';
    try {
      log.fatal({ err, event: 'crash', kind }, `${kind}: ${describe(err)}; releasing priority and VIPs, then exiting 1`);
    } catch {
      process.stderr.write(`keepwatch: ${kind}: ${redactUrlCredentials(describe(err))}\n`);
    }
    // Whatever happens from here on (a hang, another error), the process ends in time.
    setTimeout(() => {
      log.fatal({ event: 'crash', kind: 'release-timeout' }, `release did not finish within ${HARD_EXIT_MS} ms: exiting 1`);
      process.exit(EXIT.failure);
    }, HARD_EXIT_MS);
    // A crash during start-up: nothing is held yet (instances start as backups, last).
    if (!agent) process.exit(EXIT.failure);
    void agent
      .emergencyStop(`${kind}: ${describe(err)}`, RELEASE_BUDGET_MS)
      .catch(() => {})
      .finally(() => process.exit(EXIT.failure));
  };
  process.on('uncaughtException', (err) => crash('uncaughtException', err));
  process.on('unhandledRejection', (reason) => crash('unhandledRejection', reason));

  // --- Signals, installed before the (slow) start so none of them finds Node's default ------------
  const stop = (signal: string) => {
    if (phase === 'stopping' || phase === 'crashed') return;
    if (phase === 'starting' || !agent) {
      // Nothing is held yet: the instances start last, in the same turn that ends the start.
      log.info({ event: 'signal', signal }, `${signal} while starting: exiting`);
      notifier.stopping(`${signal} while starting: exiting`);
      process.exitCode = EXIT.ok;
      process.exit(EXIT.ok);
    }
    phase = 'stopping';
    log.info({ event: 'signal', signal }, `${signal}: shutting down`);
    const limit = setTimeout(() => {
      if (phase !== 'stopping') return;
      log.error({ event: 'stop', result: 'timeout' }, `stop did not finish within ${STOP_LIMIT_MS} ms: exiting 1`);
      process.exit(EXIT.failure);
    }, STOP_LIMIT_MS);
    agent.stop().then(
      () => {
        clearTimeout(limit);
        if (phase !== 'stopping') return; // a crash took over while stopping
        if (keepAlive) clearInterval(keepAlive);
        process.exitCode = EXIT.ok;
        log.flush?.();
        setTimeout(() => process.exit(EXIT.ok), 10);
      },
      (err: unknown) => {
        clearTimeout(limit);
        crash('stop-failed', err);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    if (phase !== 'running' || !agent) {
      log.warn({ event: 'signal', signal: 'SIGHUP', phase }, `SIGHUP while ${phase}: ignored`);
      return;
    }
    log.info({ event: 'signal', signal: 'SIGHUP' }, 'SIGHUP: reloading configuration');
    void agent.reload().catch((err: unknown) => log.error({ event: 'reload', result: 'failure' }, `reload failed: ${describe(err)}`));
  });
  // A listener on SIGUSR1 also keeps Node from opening its inspector (127.0.0.1:9229) on it.
  // One dump of each kind at a time: a burst of signals coalesces instead of piling up.
  const dumping = new Set<string>();
  const dump = async (signal: 'SIGUSR1' | 'SIGUSR2') => {
    const what = signal === 'SIGUSR1' ? 'state' : 'statistics';
    if (dumping.has(signal)) {
      log.info({ event: 'dump', signal }, `${signal}: the ${what} dump is being written already; skipped`);
      return;
    }
    if (phase !== 'running' || !agent) {
      log.info({ event: 'dump', signal, phase }, `${signal}: no ${what} to dump while ${phase}`);
      return;
    }
    dumping.add(signal);
    try {
      const ops = agent.operations;
      const settings: DumpFileSettings = {
        dir: flags.dumpDir,
        ...(ops.stateDumpFile ? { stateDumpFile: ops.stateDumpFile } : {}),
        ...(ops.statsDumpFile ? { statsDumpFile: ops.statsDumpFile } : {}),
        ...(ops.jsonDumpFile ? { jsonDumpFile: ops.jsonDumpFile } : {}),
        dataUseInstance: ops.dataUseInstance,
        ...(ops.instanceName ? { instanceName: ops.instanceName } : {}),
        ...(ops.netNamespace ? { netNamespace: ops.netNamespace.name } : {}),
      };
      const stats = formatStatsDump({
        version: VERSION,
        pid: process.pid,
        wallMs: Date.now(),
        instances: agent.routers.map((r) => ({ name: r.name, vrid: r.config.vrid, interface: r.config.interface })),
        metrics: await statsMetrics(agent),
      });
      const files: { path: string; text: string }[] = [];
      let body: unknown;
      if (signal === 'SIGUSR1') {
        const input = agent.dumpState();
        const views = agent.keepalivedViews();
        body = formatStateDump(input);
        const data = keepalivedDumpPath('data', settings);
        files.push(
          { path: data, text: formatKeepalivedData(input, views) },
          { path: keepalivedDumpPath('json', settings), text: `${JSON.stringify(formatKeepalivedJson(input, views, stats), null, 2)}\n` },
          { path: `${dirname(data)}/${STATE_DUMP_FILE}`, text: `${JSON.stringify(body, null, 2)}\n` },
        );
      } else {
        body = stats;
        const path = keepalivedDumpPath('stats', settings);
        files.push({ path, text: formatKeepalivedStats(stats) }, { path: `${dirname(path)}/${STATS_DUMP_FILE}`, text: `${JSON.stringify(body, null, 2)}\n` });
      }
      const written: string[] = [];
      for (const f of files) {
        try {
          written.push(await writeDumpFile(dirname(f.path), basename(f.path), f.text));
        } catch (err) {
          log.error({ event: 'dump', signal, file: f.path }, `${signal}: could not write the ${what} dump ${f.path}: ${describe(err)}`);
        }
      }
      log.info({ event: signal === 'SIGUSR1' ? 'state-dump' : 'stats-dump', signal, ...(written.length ? { file: written.at(-1), files: written } : {}), dump: body }, `${signal}: ${what} dump${written.length ? ` written to ${written.join(', ')}` : ''}`);
    } catch (err) {
      log.error({ err, event: 'dump', signal }, `${signal}: ${what} dump failed: ${describe(err)}`);
    } finally {
      dumping.delete(signal);
    }
  };
  process.on('SIGUSR1', () => void dump('SIGUSR1'));
  process.on('SIGUSR2', () => void dump('SIGUSR2'));
  // Node ignores SIGPIPE already; said here so it stays so (a closed stdout must not kill us).
  process.on('SIGPIPE', () => {});

  let fault: FaultInjection | undefined;
  try {
    fault = parseFaultInjection(process.env[FAULT_ENV]);
    const { Agent } = await import('./agent/index.js');
    agent = await Agent.start(
      { configPath: file, configLoad: load, log, notifier, ...run },
      {
        // Pid files once the file is read (use_pid_dir and instance name them), before anything changes on the host.
        configured: (config) => {
          const pidFiles = pidFilesFor({ ...(flags.pid ? { pid: flags.pid } : {}), ...(flags.vrrpPid ? { vrrpPid: flags.vrrpPid } : {}) }, config);
          if (pidFiles.length > 0) writePidFiles(pidFiles, log);
        },
        umaskFromCommandLine: flags.umask,
      },
    );
  } catch (err) {
    log.flush?.();
    let why: string;
    if (err instanceof ConfigError) {
      why = 'configuration has errors; not starting';
      process.stderr.write(`${err.report}\nkeepwatch: ${why}\n`);
    } else if (err instanceof HostError) {
      why = redactUrlCredentials(err.message);
      process.stderr.write(`keepwatch: ${why}\n`);
    } else {
      why = `cannot start: ${redactUrlCredentials(describe(err))}`;
      process.stderr.write(`keepwatch: ${why}\n`);
    }
    // `systemctl status` shows the reason next to the failure.
    notifier.status(`failed to start: ${why.split('\n')[0]}`);
    process.exit(EXIT.failure);
  }
  if ((phase as Phase) === 'crashed') return; // a crash while starting: its handler exits
  phase = 'running';
  // Native handles (netlink, pcap) do not all keep the event loop alive: an instance in FAULT
  // has no timer running, and the process must still wait for its link to come back.
  keepAlive = setInterval(() => {}, 1 << 30);
  if (fault) armFaultInjection(fault, log);
}

/** A subcommand's own options: a usage error or --help never becomes a stack trace. */
async function subcommand(name: string, argv: string[]): Promise<number> {
  if (name === 'status') return (await import('./status.js')).runStatus(argv);
  if (name === 'flood') return (await import('./lab/flood.js')).runFlood(argv);
  return (await import('./lab/lab.js')).runLab(argv);
}

function usageError(message: string): number {
  process.stderr.write(`keepwatch: ${message}\nRun 'keepwatch --help' for the options.\n`);
  return EXIT.usage;
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  if (command === 'status' || command === 'flood' || command === 'lab') return subcommand(command, argv.slice(1));
  // keepalived's `-t` takes an optional log file (`--config-test=FILE`): parseArgs has no
  // optional values, so that form is taken out first.
  let testLog: string | undefined;
  const args = argv.filter((a) => {
    const m = /^--config-test=(.*)$/.exec(a);
    if (!m) return true;
    testLog = m[1];
    return false;
  });
  const compat = Object.fromEntries(KEEPALIVED_FLAGS.map((f) => [f.long, { type: f.value ? ('string' as const) : ('boolean' as const), ...(f.short ? { short: f.short } : {}), ...(f.long === 'log-detail' ? { multiple: true } : {}) }]));
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      options: {
        ...compat,
        'use-file': { type: 'string', short: 'f' },
        'config-test': { type: 'boolean', short: 't' },
        'log-level': { type: 'string' },
        listen: { type: 'string' },
        'capture-dir': { type: 'string' },
        'guard-config': { type: 'string' },
        'alertmanager-url': { type: 'string' },
        'runbook-base-url': { type: 'string' },
        'dump-dir': { type: 'string' },
        migrate: { type: 'boolean' },
        'metrics-cache-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    return usageError(describe(err));
  }
  const v = parsed.values as Record<string, string | boolean | boolean[] | undefined>;
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (v.version) {
    process.stdout.write(`keepwatch ${VERSION}\n`);
    return EXIT.ok;
  }
  for (const f of KEEPALIVED_FLAGS) if (f.action === 'refused' && v[f.long] !== undefined) return usageError(`${f.short ? `-${f.short}/` : ''}--${f.long}: not supported: ${f.why}`);
  const signum = str('signum');
  if (signum !== undefined) {
    const signal = SIGNAL_FUNCTIONS[signum.toUpperCase()];
    if (!signal) {
      process.stderr.write(`keepwatch: --signum=${signum}: keepwatch has ${Object.keys(SIGNAL_FUNCTIONS).join(', ')} (no STATS_CLEAR: its counters are Prometheus counters, never cleared)\n`);
      return EXIT.failure;
    }
    process.stdout.write(`${osConstants.signals[signal]}\n`);
    return EXIT.ok;
  }
  const umask = str('umask');
  if (umask !== undefined) {
    if (!/^0?[0-7]{1,3}$/.test(umask)) return usageError(`-u/--umask '${umask}': expected an octal mask such as 022`);
    process.umask(parseInt(umask, 8));
  }
  const file = str('use-file') ?? DEFAULT_CONFIG;
  const listenText = str('listen');
  const listen = listenText === 'off' ? undefined : (listenText ?? `0.0.0.0:${DEFAULT_PORT}`);
  const cacheText = str('metrics-cache-ms');
  if (cacheText !== undefined && !/^\d{1,5}$/.test(cacheText)) return usageError(`--metrics-cache-ms '${cacheText}': expected milliseconds, 0-99999`);
  const runbookBaseUrl = str('runbook-base-url');
  if (runbookBaseUrl !== undefined && !/^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(runbookBaseUrl)) return usageError(`--runbook-base-url '${runbookBaseUrl}': expected an absolute URL (https://..., file:///...)`);
  const facilityText = str('log-facility');
  const facility = facilityText === undefined ? undefined : parseLogFacility(facilityText);
  if (facilityText !== undefined && facility === undefined) return usageError(`-S/--log-facility '${facilityText}': expected 0-7, local0-7, user or daemon`);
  const level = str('log-level');
  if (level !== undefined && !['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) return usageError(`--log-level '${level}': expected trace, debug, info, warn or error`);
  const detail = Array.isArray(v['log-detail']) && v['log-detail'].length > 0;
  const noSyslog = v['no-syslog'] === true;
  if (noSyslog && facility !== undefined) process.stderr.write('keepwatch: -G/--no-syslog: the -S facility is not used; the log stays on stdout\n');
  // -i: keepalived's config id (default the short host name); -e: every include check.
  const load: LoadOptions = { configId: str('config-id') ?? defaultConfigId(), ...(v['all-config'] === true ? { allConfig: true } : {}) };
  if (v.migrate === true && !v['config-test'] && testLog === undefined) return usageError('--migrate goes with -t (keepwatch -t --migrate -f keepalived.conf)');
  if (v['config-test'] || testLog !== undefined) {
    if (v.migrate === true) {
      if (!testLog) return migrationCheck(file, load);
      const out = createWriteStream(testLog, { flags: 'w' });
      const code = migrationCheck(file, load, out);
      await new Promise<void>((resolve) => out.end(resolve));
      return code;
    }
    if (!testLog) return configTest(file, load);
    const out = createWriteStream(testLog, { flags: 'w' });
    const code = configTest(file, load, out);
    await new Promise<void>((resolve) => out.end(resolve));
    return code;
  }
  await runAgent(
    file,
    load,
    { level: level ?? (detail ? 'debug' : 'info'), human: v['log-console'] === true, detail, ...(facility !== undefined && !noSyslog ? { facility } : {}) },
    {
      ...(listen ? { listen } : {}),
      ...(str('capture-dir') ? { captureDir: str('capture-dir')! } : {}),
      ...(str('guard-config') ? { guardConfigPath: str('guard-config')! } : {}),
      ...(str('alertmanager-url') ? { alertmanagerUrl: str('alertmanager-url')! } : {}),
      ...(runbookBaseUrl ? { runbookBaseUrl } : {}),
      ...(cacheText !== undefined ? { metricsMinIntervalMs: Number(cacheText) } : {}),
      ...(detail ? { logDetail: true } : {}),
      ...(v['dump-conf'] === true ? { dumpConfig: true } : {}),
      ...(v.vrrp === true ? { lvs: false } : {}),
    },
    { dumpDir: str('dump-dir') ?? defaultDumpDir(), ...(str('pid') ? { pid: str('pid')! } : {}), ...(str('vrrp_pid') ? { vrrpPid: str('vrrp_pid')! } : {}), umask: umask !== undefined },
  );
  return EXIT.ok;
}

try {
  const code = await main(process.argv.slice(2));
  // The agent sets its own exit code and exits from its signal handlers.
  if (code !== EXIT.ok) process.exitCode = code;
} catch (err) {
  process.stderr.write(`keepwatch: ${redactUrlCredentials(describe(err))}\n`);
  process.exitCode = EXIT.failure;
}
