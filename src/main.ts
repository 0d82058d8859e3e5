/**
 * argv → config → agent; signals. keepalived's own flags are accepted where they make sense
 * (`-f`, `-t`, `-n`, `-l`, `-D`, `-P`), so a systemd unit or script written for keepalived works.
 *
 * Fail safe: any uncaught exception or unhandled rejection is logged (fatal), then the agent
 * releases what it holds (masters send priority 0, VIPs are removed; Agent.emergencyStop, at most
 * RELEASE_BUDGET_MS) and the process exits 1, so systemd's Restart=on-failure starts it again. A
 * second error while releasing changes nothing but a log line: the exit comes by HARD_EXIT_MS
 * whatever happens. Exit status: 0 after SIGTERM/SIGINT, 1 after a crash or a failed start.
 */
import { parseArgs } from 'node:util';
import { loadConfig, formatDiagnostic, summarizeInstance, ConfigError } from './config/index.js';
import { Agent } from './agent/index.js';
import { HostError, describe } from './adapters/errors.js';
import { createLogger, redactUrlCredentials, type Logger } from './observability/logging.js';
import { DEFAULT_DUMP_DIR, STATE_DUMP_FILE, STATS_DUMP_FILE, STATS_METRIC_NAMES, formatStateDump, formatStatsDump, writeDumpFile, type MetricSeries } from './observability/state-dump.js';
import { preflightScripts } from './tracking/preflight.js';
import { SystemProcessRunner } from './adapters/process.js';
import { VERSION } from './version.js';

const USAGE = `Usage:
  keepwatch [-f FILE] [options]          run the VRRP agent in the foreground
  keepwatch -t [-f FILE]                 check a keepalived.conf: exit 0, or 1 with every error
  keepwatch lab [--peer keepalived] [--demo]
                                         a two-router LAN in network namespaces: watch a failover
  keepwatch status [--listen HOST:PORT]  the agent's instances as a table (like 'show vrrp')
  keepwatch flood --source ADDR [--interface IF] [--vrid N] [--version 2|3] [--only REASON]
                [--rate PPS] [--seconds S]
                                         lab tool: invalid adverts at a rate (run inside a lab namespace)
  keepwatch --version

Options:
  -f, --use-file FILE      keepalived.conf to use (default /etc/keepalived/keepalived.conf)
  -t, --config-test        check the configuration and exit
      --listen HOST:PORT   serve /metrics, /healthz, /v1/state (default 0.0.0.0:9650; 'off' for none)
      --capture-dir DIR    flight recorder: write the last 30 s of VRRP/ARP frames to DIR at every election
      --guard-config FILE  split-brain guard settings (default /etc/keepwatch/guard.conf if present)
      --alertmanager-url URL  push split-brain alerts to this Alertmanager (v2 API)
      --log-level LEVEL    trace|debug|info|warn|error (default info)
      --metrics-cache-ms MS  /metrics renders at most once per MS, scrapes in between get that body (default 1000)
      --dump-dir DIR       where SIGUSR1/SIGUSR2 write keepwatch.data and keepwatch.stats (default /tmp)
  Traces: set OTEL_EXPORTER_OTLP_ENDPOINT (and other OTEL_* variables) to export OTLP/HTTP.
  -h, --help               this text
  Accepted for keepalived compatibility and ignored: -n/--dont-fork, -l/--log-console,
  -D/--log-detail, -P/--vrrp, -S/--log-facility N, -p/--pid FILE, -r/--vrrp_pid FILE

Signals (the agent):
  SIGTERM, SIGINT  stop: masters send priority 0 and remove their VIPs; exit 0
  SIGHUP           reload the configuration (an invalid file is refused; the running config stays)
  SIGUSR1          state dump (instances, states, priorities, master, VIPs, timers, guard view):
                   one JSON log line and DIR/keepwatch.data (0600, replaced atomically)
  SIGUSR2          statistics dump (adverts sent/received/dropped per reason, transitions):
                   one JSON log line and DIR/keepwatch.stats
  SIGPIPE          ignored
  Never Node's inspector: SIGUSR1 does not open a debugger port.
  A crash (uncaught error) logs the error, releases priority and VIPs and exits 1.`;

/**
 * Exit codes, the one table: what systemd and scripts see.
 * - ok: SIGTERM/SIGINT handled, `-t` with a valid config, `--help`, `--version`;
 * - failure: a config with errors (`-t` or start), a host problem at start (interface, privileges,
 *   libpcap, script users), a crash (after releasing priority and VIPs), a stop that hung;
 * - usage: bad command-line arguments.
 */
const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

const DEFAULT_CONFIG = '/etc/keepalived/keepalived.conf';


function configTest(file: string): number {
  const result = loadConfig(file);
  for (const d of result.diagnostics) (d.severity === 'error' ? process.stderr : process.stderr).write(`${formatDiagnostic(d)}\n`);
  if (!result.config) {
    const n = result.diagnostics.filter((d) => d.severity === 'error').length;
    process.stderr.write(`${file}: ${n} error${n === 1 ? '' : 's'}; configuration rejected\n`);
    return EXIT.failure;
  }
  // Scripts: keepalived checks them when it starts; so do we, here, with their place.
  const scriptIssues = preflightScripts(result.config, new SystemProcessRunner());
  for (const d of scriptIssues) process.stderr.write(`${formatDiagnostic(d)}\n`);
  if (scriptIssues.some((d) => d.severity === 'error')) {
    process.stderr.write(`${file}: script problems (missing, unsafe or unknown users); configuration rejected\n`);
    return EXIT.failure;
  }
  for (const i of result.config.instances) process.stdout.write(`${summarizeInstance(i)}\n`);
  const w = result.diagnostics.length + scriptIssues.length;
  process.stdout.write(`${file}: configuration OK (${result.config.instances.length} instance${result.config.instances.length === 1 ? '' : 's'}${w ? `, ${w} warning${w === 1 ? '' : 's'}` : ''})\n`);
  return EXIT.ok;
}

interface RunOptions {
  readonly listen?: string;
  readonly captureDir?: string;
  readonly guardConfigPath?: string;
  readonly alertmanagerUrl?: string;
  readonly metricsMinIntervalMs?: number;
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

async function runAgent(file: string, logLevel: string, run: RunOptions, dumpDir: string): Promise<void> {
  const log = createLogger(logLevel as 'info');
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
      const body =
        signal === 'SIGUSR1'
          ? formatStateDump(agent.dumpState())
          : formatStatsDump({
              version: VERSION,
              pid: process.pid,
              wallMs: Date.now(),
              instances: agent.routers.map((r) => ({ name: r.name, vrid: r.config.vrid, interface: r.config.interface })),
              metrics: await statsMetrics(agent),
            });
      let written: string | undefined;
      try {
        written = await writeDumpFile(dumpDir, signal === 'SIGUSR1' ? STATE_DUMP_FILE : STATS_DUMP_FILE, `${JSON.stringify(body, null, 2)}\n`);
      } catch (err) {
        log.error({ event: 'dump', signal }, `${signal}: could not write the ${what} dump: ${describe(err)}`);
      }
      log.info({ event: signal === 'SIGUSR1' ? 'state-dump' : 'stats-dump', signal, ...(written ? { file: written } : {}), dump: body }, `${signal}: ${what} dump${written ? ` written to ${written}` : ''}`);
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
    agent = await Agent.start({ configPath: file, log, ...run });
  } catch (err) {
    log.flush?.();
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.report}\nkeepwatch: configuration has errors; not starting\n`);
    } else if (err instanceof HostError) {
      process.stderr.write(`keepwatch: ${redactUrlCredentials(err.message)}\n`);
    } else {
      process.stderr.write(`keepwatch: cannot start: ${redactUrlCredentials(describe(err))}\n`);
    }
    process.exit(EXIT.failure);
  }
  if ((phase as Phase) === 'crashed') return; // a crash while starting: its handler exits
  phase = 'running';
  // Native handles (netlink, pcap) do not all keep the event loop alive: an instance in FAULT
  // has no timer running, and the process must still wait for its link to come back.
  keepAlive = setInterval(() => {}, 1 << 30);
  if (fault) armFaultInjection(fault, log);
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'status') {
    const { runStatus } = await import('./status.js');
    process.exitCode = await runStatus(argv.slice(1));
    return;
  }
  if (argv[0] === 'flood') {
    const { runFlood } = await import('./lab/flood.js');
    process.exitCode = await runFlood(argv.slice(1));
    return;
  }
  if (argv[0] === 'lab') {
    const { runLab } = await import('./lab/lab.js');
    process.exitCode = await runLab(argv.slice(1));
    return;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        'use-file': { type: 'string', short: 'f' },
        'config-test': { type: 'boolean', short: 't' },
        'log-level': { type: 'string' },
        listen: { type: 'string' },
        'capture-dir': { type: 'string' },
        'guard-config': { type: 'string' },
        'alertmanager-url': { type: 'string' },
        'dump-dir': { type: 'string' },
        'metrics-cache-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        'dont-fork': { type: 'boolean', short: 'n' },
        'log-console': { type: 'boolean', short: 'l' },
        'log-detail': { type: 'boolean', short: 'D' },
        vrrp: { type: 'boolean', short: 'P' },
        'log-facility': { type: 'string', short: 'S' },
        pid: { type: 'string', short: 'p' },
        vrrp_pid: { type: 'string', short: 'r' },
      },
    });
  } catch (err) {
    process.stderr.write(`keepwatch: ${describe(err)}\n\n${USAGE}\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (v.version) {
    process.stdout.write(`keepwatch ${VERSION}\n`);
    return;
  }
  const file = v['use-file'] ?? DEFAULT_CONFIG;
  if (v['config-test']) {
    process.exitCode = configTest(file);
    return;
  }
  const listen = v.listen === 'off' ? undefined : (v.listen ?? '0.0.0.0:9650');
  const cacheText = v['metrics-cache-ms'];
  if (cacheText !== undefined && !/^\d{1,5}$/.test(cacheText)) {
    process.stderr.write(`keepwatch: --metrics-cache-ms '${cacheText}': expected milliseconds, 0-99999\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  await runAgent(
    file,
    v['log-level'] ?? 'info',
    {
      ...(listen ? { listen } : {}),
      ...(v['capture-dir'] ? { captureDir: v['capture-dir'] } : {}),
      ...(v['guard-config'] ? { guardConfigPath: v['guard-config'] } : {}),
      ...(v['alertmanager-url'] ? { alertmanagerUrl: v['alertmanager-url'] } : {}),
      ...(cacheText !== undefined ? { metricsMinIntervalMs: Number(cacheText) } : {}),
    },
    v['dump-dir'] ?? DEFAULT_DUMP_DIR,
  );
}

await main(process.argv.slice(2));
