#!/usr/bin/env node
// The `keepwatch` executable. Runs the bundle in dist/ (`npm run build`, done by .ci/setup) when it
// is newer than every source file — no TypeScript loader thread, less memory and a faster start —
// and otherwise the TypeScript sources through tsx (KEEPWATCH_SOURCES=1 forces that). Installed
// from the Debian package (/usr/lib/keepwatch/src/cli.mjs, no sources beside it) it is the bundle.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// V8's young generation grew to 2 x 16 MiB under the agent's steady trickle of short-lived objects
// (an advert, an event, a log line): 255 instances at 1 s had RSS 131 MB on Node 24. The agent
// allocates little per second, so it keeps the smallest new space (99 MB in bench/scale.ts,
// 2026-11-30). Set before anything is loaded; an unknown flag would only be a warning.
setFlagsFromString('--semi-space-growth-factor=1');

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
