/**
 * The long robustness runs: the advert-decoder fuzz at 1M cases, the config-parser fuzz at 10k
 * mutations per seed config, and the soak at 10 minutes (VRRPv3 0.05 s, the other core busy).
 * The suite runs short versions of the same tests.
 *
 *   node --import tsx bench/robustness.ts [--soak-seconds 600] [--fuzz-cases 1000000]
 */
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table, writeResults } from './lib.js';

const { values } = parseArgs({ options: { 'soak-seconds': { type: 'string', default: '600' }, 'fuzz-cases': { type: 'string', default: '1000000' }, 'config-rounds': { type: 'string', default: '10000' } } });
const root = fileURLToPath(new URL('..', import.meta.url));

function run(what: string, file: string, env: Record<string, string>): (string | number)[] {
  // A moved test file ran nothing and printed '?' here once: refuse instead.
  if (!existsSync(join(root, file))) throw new Error(`bench/robustness.ts: ${file} does not exist`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', file], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const out = `${r.stdout}${r.stderr}`;
  const pass = / pass (\d+)/.exec(out)?.[1] ?? '?';
  const fail = / fail (\d+)/.exec(out)?.[1] ?? '?';
  const detail = out.split('\n').filter((l) => /^(# )?(fuzz outcomes|soak:)/.test(l.trim())).join(' ').slice(0, 400);
  process.stdout.write(`${what}: pass ${pass} fail ${fail} in ${((Date.now() - t0) / 1000).toFixed(0)} s ${detail}\n`);
  return [what, Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' '), pass, fail, `${((Date.now() - t0) / 1000).toFixed(0)} s`, detail || '-'];
}

const rows = [
  run('advert decoder fuzz', 'test/unit/protocol/fuzz.test.ts', { KW_FUZZ_CASES: values['fuzz-cases']! }),
  run('config parser fuzz', 'test/unit/config/fuzz.test.ts', { KW_FUZZ_ROUNDS: values['config-rounds']! }),
  ...(process.getuid?.() === 0 ? [run('soak', 'test/net/soak.test.ts', { KW_SOAK_SECONDS: values['soak-seconds']! })] : []),
];
const body = table(['run', 'setting', 'pass', 'fail', 'time', 'detail'], rows);
process.stdout.write(`\n${body}\n\nwritten to ${writeResults('robustness', body)}\n`);
