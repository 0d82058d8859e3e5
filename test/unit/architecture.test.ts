/**
 * The core stays pure: nothing under src/core or src/protocol reaches the network, the kernel,
 * an observability library or the wall clock. Checked on the source text of every file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const FORBIDDEN_IMPORTS = /from\s+['"](node:)?(net|dgram|dns|http|https|child_process|fs|timers)['"]|from\s+['"](raw-socket|pcap|netlink|prom-client|@opentelemetry\/[^'"]+|express|pino)['"]|require\(/;
const FORBIDDEN_CALLS = /\bDate\.now\(|new Date\(|\bperformance\.now\(|\bsetTimeout\(|\bsetInterval\(|\bsetImmediate\(|\bprocess\.hrtime/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

for (const layer of ['core', 'protocol']) {
  test(`src/${layer} imports no I/O, observability library or clock`, () => {
    const list = files(join(SRC, layer));
    assert.ok(list.length > 0);
    for (const f of list) {
      const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      assert.doesNotMatch(code, FORBIDDEN_IMPORTS, `${f} imports something it must not`);
      assert.doesNotMatch(code, FORBIDDEN_CALLS, `${f} reads the clock or sets a timer itself`);
    }
  });
}
