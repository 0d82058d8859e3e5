/**
 * argv → config → agent; signals. keepalived's own flags are accepted where they make sense
 * (`-f`, `-t`, `-n`, `-l`, `-D`, `-P`), so a systemd unit or script written for keepalived works.
 */
import { parseArgs } from 'node:util';
import { loadConfig, formatDiagnostic, summarizeInstance } from './config/index.js';
import { Agent, ConfigLoadError } from './agent.js';
import { HostError, describe } from './adapters/errors.js';
import { createLogger } from './observability/logging.js';
import { preflightScripts } from './tracking/preflight.js';
import { VERSION } from './version.js';

const USAGE = `Usage:
  keepwatch [-f FILE] [options]          run the VRRP agent in the foreground
  keepwatch -t [-f FILE]                 check a keepalived.conf: exit 0, or 1 with every error
  keepwatch lab [--peer keepalived] [--demo]
                                         a two-router LAN in network namespaces: watch a failover
  keepwatch status [--listen HOST:PORT]  the agent's instances as a table (like 'show vrrp')
  keepwatch flood --source ADDR [--interface IF] [--vrid N] [--rate PPS] [--seconds S]
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
  Traces: set OTEL_EXPORTER_OTLP_ENDPOINT (and other OTEL_* variables) to export OTLP/HTTP.
  -h, --help               this text
  Accepted for keepalived compatibility and ignored: -n/--dont-fork, -l/--log-console,
  -D/--log-detail, -P/--vrrp, -S/--log-facility N, -p/--pid FILE, -r/--vrrp_pid FILE`;

const DEFAULT_CONFIG = '/etc/keepalived/keepalived.conf';


function configTest(file: string): number {
  const result = loadConfig(file);
  for (const d of result.diagnostics) (d.severity === 'error' ? process.stderr : process.stderr).write(`${formatDiagnostic(d)}\n`);
  if (!result.config) {
    const n = result.diagnostics.filter((d) => d.severity === 'error').length;
    process.stderr.write(`${file}: ${n} error${n === 1 ? '' : 's'}; configuration rejected\n`);
    return 1;
  }
  // Scripts: keepalived checks them when it starts; so do we, here, with their place.
  const scriptIssues = preflightScripts(result.config);
  for (const d of scriptIssues) process.stderr.write(`${formatDiagnostic(d)}\n`);
  if (scriptIssues.some((d) => d.severity === 'error')) {
    process.stderr.write(`${file}: unsafe scripts with enable_script_security; configuration rejected\n`);
    return 1;
  }
  for (const i of result.config.instances) process.stdout.write(`${summarizeInstance(i)}\n`);
  const w = result.diagnostics.length + scriptIssues.length;
  process.stdout.write(`${file}: configuration OK (${result.config.instances.length} instance${result.config.instances.length === 1 ? '' : 's'}${w ? `, ${w} warning${w === 1 ? '' : 's'}` : ''})\n`);
  return 0;
}

interface RunOptions {
  readonly listen?: string;
  readonly captureDir?: string;
  readonly guardConfigPath?: string;
  readonly alertmanagerUrl?: string;
}

async function runAgent(file: string, logLevel: string, run: RunOptions): Promise<void> {
  const log = createLogger(logLevel as 'info');
  let agent: Agent;
  try {
    agent = await Agent.start({ configPath: file, log, ...run });
  } catch (err) {
    log.flush?.();
    if (err instanceof ConfigLoadError) {
      process.stderr.write(`${err.message}\nkeepwatch: configuration has errors; not starting\n`);
    } else if (err instanceof HostError) {
      process.stderr.write(`keepwatch: ${err.message}\n`);
    } else {
      process.stderr.write(`keepwatch: cannot start: ${describe(err)}\n`);
    }
    process.exit(1);
  }
  // Native handles (netlink, pcap) do not all keep the event loop alive: an instance in FAULT
  // has no timer running, and the process must still wait for its link to come back.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'signal', signal }, `${signal}: shutting down`);
    void agent.stop().then(() => {
      clearInterval(keepAlive);
      log.flush?.();
      setTimeout(() => process.exit(0), 10);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    log.info({ event: 'signal', signal: 'SIGHUP' }, 'SIGHUP: reloading configuration');
    void agent.reload().catch((err: unknown) => log.error({ event: 'reload', result: 'failure' }, `reload failed: ${describe(err)}`));
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err, event: 'crash' }, `uncaught exception: ${err.message}`);
    stop('crash');
  });
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
    process.exitCode = 2;
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
  await runAgent(file, v['log-level'] ?? 'info', {
    ...(listen ? { listen } : {}),
    ...(v['capture-dir'] ? { captureDir: v['capture-dir'] } : {}),
    ...(v['guard-config'] ? { guardConfigPath: v['guard-config'] } : {}),
    ...(v['alertmanager-url'] ? { alertmanagerUrl: v['alertmanager-url'] } : {}),
  });
}

await main(process.argv.slice(2));
