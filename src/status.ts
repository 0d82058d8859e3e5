/** `keepwatch status`: the running agent's /v1/state as a table, like keepalived's `show vrrp`. */
import { parseArgs } from 'node:util';
import { request } from 'node:http';
import { parseListen } from './http/listen.js';
import { DEFAULT_PORT } from './version.js';

export const STATUS_USAGE = `Usage: keepwatch status [--listen HOST:PORT] [--json]

The running agent's instances as a table (like keepalived's 'show vrrp'), from its /v1/state.
  --listen HOST:PORT   where the agent serves HTTP (default 127.0.0.1:${DEFAULT_PORT}; 0.0.0.0 and ::
                       mean this host)
  --json               /v1/state as it is, pretty-printed
  -h, --help           this text
Exit status: 0 shown, 1 no agent answering (or it answered an error), 2 bad arguments.`;

interface InstanceView {
  name: string;
  vrid: number;
  interface: string;
  version: number;
  state: string;
  basePriority: number;
  effectivePriority: number;
  advertIntervalMs: number;
  master: { address: string; priority: number; self: boolean; lastAdvertAgeMs?: number } | null;
  vips: { address: string; prefixLength: number; present: boolean }[];
  lastTransition: { time: string; from: string; to: string; cause: string } | null;
  [k: string]: unknown;
}

function get(host: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host, port, path, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

export function renderTable(instances: InstanceView[]): string {
  const header = ['INSTANCE', 'VRID', 'IF', 'VER', 'STATE', 'PRIO', 'BASE', 'ADVERT', 'MASTER', 'VIPS', 'LAST TRANSITION'];
  const rows = instances.map((i) => [
    i.name,
    String(i.vrid),
    i.interface,
    `v${i.version}`,
    i.state.toUpperCase(),
    String(i.effectivePriority),
    String(i.basePriority),
    `${i.advertIntervalMs / 1000}s`,
    i.master ? (i.master.self ? 'this node' : `${i.master.address} (prio ${i.master.priority}${i.master.lastAdvertAgeMs !== undefined ? `, ${i.master.lastAdvertAgeMs} ms ago` : ''})`) : '-',
    i.vips.map((v) => `${v.address}/${v.prefixLength}${v.present ? '*' : ''}`).join(' '),
    i.lastTransition ? `${i.lastTransition.from.toUpperCase()}->${i.lastTransition.to.toUpperCase()} ${i.lastTransition.cause} at ${i.lastTransition.time}` : '-',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((x, c) => x.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line), '', '* = VIP present on the interface now'].join('\n');
}

export async function runStatus(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { listen: { type: 'string', default: `127.0.0.1:${DEFAULT_PORT}` }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    process.stderr.write(`keepwatch status: ${(err as Error).message}\n\n${STATUS_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${STATUS_USAGE}\n`);
    return 0;
  }
  let addr;
  try {
    addr = parseListen(values.listen!);
  } catch (err) {
    process.stderr.write(`keepwatch status: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const r = await get(addr.host, addr.port, '/v1/state');
    if (r.status !== 200) {
      process.stderr.write(`keepwatch status: the agent answered ${r.status}: ${r.body}\n`);
      return 1;
    }
    const state = JSON.parse(r.body) as { instances: InstanceView[] };
    process.stdout.write(values.json ? `${JSON.stringify(state, null, 2)}\n` : `${renderTable(state.instances)}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`keepwatch status: no agent answering on ${addr.host}:${addr.port} (${(err as Error).message}); is keepwatch running with --listen?\n`);
    return 1;
  }
}
