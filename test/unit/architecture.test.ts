/**
 * The shape of src/, checked on the source text of every file (ARCHITECTURE.md explains it):
 * - the ground floor stays pure: nothing under src/protocol, src/events or src/core reaches the
 *   network, the kernel, an observability library or the wall clock;
 * - no import cycle between files;
 * - every import follows the layer table below: an arrow that runs up (or sideways where the
 *   table does not allow it) fails, with the file and the import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const FORBIDDEN_IMPORTS = /from\s+['"](node:)?(net|dgram|dns|http|https|child_process|fs|timers)['"]|from\s+['"](raw-socket|pcap|netlink|prom-client|@opentelemetry\/[^'"]+|express|pino)['"]|require\(/;
const FORBIDDEN_CALLS = /\bDate\.now\(|new Date\(|\bperformance\.now\(|\bsetTimeout\(|\bsetInterval\(|\bsetImmediate\(|\bprocess\.hrtime/;

/**
 * The layer table: the rooms each room may import from (besides itself). Read bottom-up: the
 * ground floor (protocol, events, config) imports nothing above it; the composition root (agent)
 * may import everything below; only the entry points (main.ts, status.ts, the lab) sit above it.
 */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  'version.ts': [],
  protocol: [],
  events: ['protocol'],
  config: ['protocol'],
  ports: ['protocol', 'events', 'config'],
  core: ['protocol', 'events', 'config', 'ports'],
  adapters: ['protocol', 'ports'],
  observability: ['protocol', 'events', 'ports', 'core'],
  guard: ['protocol', 'events', 'config', 'ports', 'core'],
  tracking: ['protocol', 'events', 'config', 'ports', 'core'],
  notify: ['protocol', 'events', 'config', 'ports', 'core', 'tracking'],
  lvs: ['protocol', 'events', 'config', 'ports', 'core', 'tracking'],
  bfd: ['protocol', 'events', 'config', 'ports'],
  http: ['protocol', 'events', 'core', 'observability'],
  agent: ['version.ts', 'protocol', 'events', 'config', 'ports', 'core', 'adapters', 'observability', 'guard', 'tracking', 'notify', 'http', 'lvs', 'bfd'],
  lab: ['version.ts', 'protocol', 'config'],
  'status.ts': ['http', 'version.ts'],
  'main.ts': ['version.ts', 'agent', 'config', 'adapters', 'observability', 'tracking', 'status.ts', 'lab'],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function code(f: string): string {
  return readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
}

/** The room of a file: its folder under src/, or the file name for files at the top. */
function room(f: string): string {
  const rel = relative(SRC, f).split('/');
  return rel.length > 1 ? rel[0]! : rel[0]!;
}

/** Relative imports of a file, resolved to the .ts files they name. */
function importsOf(f: string): string[] {
  const out: string[] = [];
  for (const m of code(f).matchAll(/(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2]!;
    const target = resolve(dirname(f), spec.replace(/\.js$/, '.ts'));
    out.push(existsSync(target) ? target : join(target, 'index.ts'));
  }
  return out;
}

const ALL = files(SRC);
const GRAPH = new Map(ALL.map((f) => [f, importsOf(f)]));

for (const layer of ['protocol', 'events', 'core']) {
  test(`src/${layer} imports no I/O, observability library or clock`, () => {
    const list = files(join(SRC, layer));
    assert.ok(list.length > 0);
    for (const f of list) {
      assert.doesNotMatch(code(f), FORBIDDEN_IMPORTS, `${f} imports something it must not`);
      assert.doesNotMatch(code(f), FORBIDDEN_CALLS, `${f} reads the clock or sets a timer itself`);
    }
  });
}

test('every room of src/ is in the layer table, and every import follows it', () => {
  const problems: string[] = [];
  for (const [f, targets] of GRAPH) {
    const from = room(f);
    const allowed = MAY_IMPORT[from];
    if (!allowed) {
      problems.push(`${relative(SRC, f)}: room '${from}' is not in the layer table (test/unit/architecture.test.ts)`);
      continue;
    }
    for (const t of targets) {
      const to = room(t);
      if (to !== from && !allowed.includes(to)) problems.push(`${relative(SRC, f)} imports ${relative(SRC, t)}: '${from}' may not import '${to}'`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the rules the issue names: nothing imports src/agent/ but main.ts; events/ imports only protocol/; observability/ only events/, protocol/, ports/ and core types; http/ no guard/', () => {
  for (const [f, targets] of GRAPH) {
    const from = room(f);
    for (const t of targets) {
      const to = room(t);
      if (to === 'agent') assert.ok(from === 'agent' || from === 'main.ts', `${relative(SRC, f)} imports src/agent/`);
      if (from === 'events') assert.ok(to === 'events' || to === 'protocol', `${relative(SRC, f)} imports ${relative(SRC, t)}`);
      if (from === 'observability') assert.ok(['observability', 'events', 'protocol', 'ports', 'core'].includes(to), `${relative(SRC, f)} imports ${relative(SRC, t)}`);
      if (from === 'http') assert.notEqual(to, 'guard', `${relative(SRC, f)} imports ${relative(SRC, t)}`);
    }
  }
  // observability/ takes only types from core/ (read-only views), never a value.
  for (const f of files(join(SRC, 'observability'))) {
    for (const m of code(f).matchAll(/import\s+(type\s+)?\{[^}]*\}\s+from\s+['"](\.\.\/core\/[^'"]+)['"]/g)) assert.ok(m[1], `${relative(SRC, f)} imports a value from ${m[2]}`);
  }
});

test('no import cycle between files of src/', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'visiting');
    stack.push(f);
    for (const t of GRAPH.get(f) ?? []) {
      if (!GRAPH.has(t)) continue;
      if (state.get(t) === 'visiting') cycles.push([...stack.slice(stack.indexOf(t)), t].map((x) => relative(SRC, x)).join(' -> '));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of ALL) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});

test('the architecture test sees the tree: every file resolved, the table covers real rooms', () => {
  const unresolved = [...GRAPH.entries()].flatMap(([f, ts]) => ts.filter((t) => !GRAPH.has(t)).map((t) => `${relative(SRC, f)} -> ${relative(SRC, t)}`));
  assert.deepEqual(unresolved, []);
  const rooms = new Set(ALL.map(room));
  for (const r of Object.keys(MAY_IMPORT)) assert.ok(rooms.has(r), `layer table names '${r}', which is not in src/`);
  assert.ok(ALL.length > 50);
});

test('test/unit mirrors src/: every folder of unit tests is a room of src/', () => {
  const UNIT = fileURLToPath(new URL('./', import.meta.url));
  const dirs = readdirSync(UNIT, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  assert.ok(dirs.length >= 8);
  for (const d of dirs) assert.ok(existsSync(join(SRC, d)), `test/unit/${d}/ has no src/${d}/`);
  // At the top: the whole-tree test, and tests of the entry points at the top of src/ (main.ts).
  const loose = readdirSync(UNIT).filter((n) => n.endsWith('.test.ts') && n !== 'architecture.test.ts');
  for (const n of loose) assert.ok(existsSync(join(SRC, n.replace(/\.test\.ts$/, '.ts'))), `test/unit/${n} has no src/${n.replace(/\.test\.ts$/, '.ts')}`);
});
