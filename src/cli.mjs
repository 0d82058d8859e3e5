#!/usr/bin/env node
// The `keepwatch` executable. Runs the bundle in dist/ (`npm run build`, done by .ci/setup) when it
// is newer than every source file — no TypeScript loader thread, less memory and a faster start —
// and otherwise the TypeScript sources through tsx (KEEPWATCH_SOURCES=1 forces that). Installed
// from the Debian package (/usr/lib/keepwatch/src/cli.mjs, no sources beside it) it is the bundle.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const bundle = join(here, '..', 'dist', 'keepwatch.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

let useBundle = !existsSync(join(here, 'main.ts'));
if (!useBundle && !process.env.KEEPWATCH_SOURCES) {
  try {
    useBundle = statSync(bundle).mtimeMs >= newestSource(here);
  } catch {
    useBundle = false;
  }
}
if (useBundle) {
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
}
