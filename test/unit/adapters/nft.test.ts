/**
 * SystemNftRunner (adapters/nft.ts) with stand-ins for nft: the ruleset reaches its standard
 * input, and a missing command, a failure (with its message, capped) and a hang (killed) are
 * results, never exceptions. The real nft runs in test/net/strict.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemNftRunner } from '../../../src/adapters/nft.js';

const dir = mkdtempSync(join(tmpdir(), 'kw-nft-'));
function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

test('the ruleset goes to `-f -` on standard input; exit 0 is ok', async () => {
  const out = join(dir, 'got');
  const r = await new SystemNftRunner(script('ok', `[ "$1 $2" = "-f -" ] || exit 9\ncat > ${out}`)).apply('table inet keepwatch {}\n', { timeoutMs: 5000 });
  assert.equal(r.ok, true);
  assert.equal(readFileSync(out, 'utf8'), 'table inet keepwatch {}\n');
});

test('missing, failed (nft\'s message, capped), timeout', async () => {
  const missing = await new SystemNftRunner(join(dir, 'no-such-nft')).apply('', { timeoutMs: 5000 });
  assert.deepEqual([missing.ok, !missing.ok && missing.reason], [false, 'missing']);
  const failed = await new SystemNftRunner(script('fail', 'cat >/dev/null\necho "Error: Could not process rule: Operation not permitted" >&2\nexit 1')).apply('x', { timeoutMs: 5000 });
  assert.ok(!failed.ok && failed.reason === 'failed' && failed.message === 'Error: Could not process rule: Operation not permitted', JSON.stringify(failed));
  const loud = await new SystemNftRunner(script('loud', 'head -c 100000 /dev/zero | tr "\\0" x >&2\nexit 1')).apply('x', { timeoutMs: 5000 });
  assert.ok(!loud.ok && loud.message.length <= 4096);
  const hang = await new SystemNftRunner(script('hang', 'exec sleep 30')).apply('x', { timeoutMs: 200 });
  assert.ok(!hang.ok && hang.reason === 'timeout' && hang.durationMs < 2000, JSON.stringify(hang));
});
