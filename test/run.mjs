#!/usr/bin/env node
// Runs the whole suite with Node's test runner: unit tests, then (as root) the network tests.
// Usage: node test/run.mjs [unit|net|robust|all] [file filter substring]
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [which = 'all', filter = ''] = process.argv.slice(2);
const suites = which === 'all' ? ['unit', 'net'] : which.split(',');

function list(dir) {
  const out = [];
  let entries = [];
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return out; }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...list(p));
    else if (e.name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out.sort();
}

let files = suites.flatMap((s) => list(join(root, 'test', s))).filter((f) => f.includes(filter));
if (suites.includes('net') && process.getuid?.() !== 0) {
  console.error('test: not root, skipping the network tests (test/net) - run as root for the full suite');
  files = files.filter((f) => !f.startsWith('test/net/'));
}
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
