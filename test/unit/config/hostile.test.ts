/**
 * Hostile keepalived.conf and guard files: loading refuses what is not a regular file without
 * opening it, include expansion and globbing are bounded, lexing/parsing/validation cost is linear
 * in the input, diagnostics are capped, and no secret reaches a diagnostic or `keepwatch -t`.
 *
 * Whatever could block (a FIFO) runs in a child process with a time limit, so a regression fails
 * the test instead of hanging the suite.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MAX_BLOCK_DEPTH,
  MAX_FILE_READS,
  MAX_GLOB_MATCHES,
  MAX_REPORTED_ERRORS,
  MAX_REPORTED_WARNINGS,
  MAX_TOKENS,
  expandGlob,
  formatDiagnostic,
  loadConfig,
  parseConfigText,
  segmentMatcher,
  type ConfigFs,
  type ConfigLoadResult,
} from '../../../src/config/index.js';
import { checkSecretFile, loadGuardConfig, parseGuardConfig, type SecretFileAccess, type SecretFileStat } from '../../../src/guard/config.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const lines = (r: { diagnostics: readonly Parameters<typeof formatDiagnostic>[0][] }): string[] => r.diagnostics.map(formatDiagnostic);
const errors = (r: ConfigLoadResult): string[] => r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);

/** An in-memory ConfigFs; directories are implied by the paths. */
function memFs(files: Record<string, string>, listDir?: (d: string) => string[]): ConfigFs {
  return {
    readFile(p) {
      const f = files[p];
      if (f === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return f;
    },
    listDir:
      listDir ??
      ((d) => {
        const prefix = d === '.' ? '' : d.endsWith('/') ? d : `${d}/`;
        const names = new Set<string>();
        for (const p of Object.keys(files)) if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split('/')[0]!);
        return [...names];
      }),
    isFile: (p) => Object.hasOwn(files, p),
  };
}

const INSTANCE = (name: string, vrid: number): string =>
  `vrrp_instance ${name} {\n interface eth0\n virtual_router_id ${vrid}\n virtual_ipaddress {\n  10.0.0.${vrid}\n }\n}\n`;

// ---------------------------------------------------------------------------------------------
// Files that are not regular files.

/** Runs `code` (ESM, TypeScript through tsx) in a child with a time limit; its stdout is JSON. */
function inChild(code: string, env: Record<string, string>, timeoutMs = 30_000): unknown {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    input: '', // stdin is a pipe (a FIFO to stat)
    timeout: timeoutMs,
    encoding: 'utf8',
  });
  assert.equal(r.signal, null, `the child was killed after ${timeoutMs} ms: something blocked (stderr: ${r.stderr})`);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('a FIFO, socket, device or directory is refused without being opened: as the config, through a glob, a symlink, /dev/stdin, and as guard file or secret', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-hostile-'));
  const server = createServer();
  try {
    mkdirSync(join(dir, 'conf.d/sub.conf'), { recursive: true }); // a directory a glob matches: skipped
    mkdirSync(join(dir, 'real'));
    execFileSync('mkfifo', [join(dir, 'fifo.conf'), join(dir, 'conf.d/b.conf'), join(dir, 'guard-fifo.conf'), join(dir, 'secret-fifo')]);
    await new Promise<void>((resolve) => server.listen(join(dir, 'conf.d/c.conf'), resolve));
    writeFileSync(join(dir, 'conf.d/a.conf'), INSTANCE('A', 1));
    writeFileSync(join(dir, 'real/e.conf'), INSTANCE('E', 5));
    symlinkSync('../fifo.conf', join(dir, 'conf.d/d.conf')); // symlink to a FIFO: refused
    symlinkSync('../real/e.conf', join(dir, 'conf.d/e.conf')); // symlink to a regular file: read
    writeFileSync(join(dir, 'main.conf'), 'include conf.d/*.conf\n');
    // keepalived's include checks: 'include' skips what is not a regular file (and logs it);
    // 'includer' makes it an error. Either way nothing of it is opened.
    writeFileSync(join(dir, 'strict.conf'), 'includer conf.d/*.conf\n');
    writeFileSync(join(dir, 'dev.conf'), 'includer /dev/null\nincluder /dev/stdin\n');
    writeFileSync(join(dir, 'guard.conf'), `guard {\n  secret_file ${join(dir, 'secret-fifo')}\n}\n`);
    const started = Date.now();
    const out = inChild(
      `import { loadConfig, formatDiagnostic } from './src/config/index.js';
       import { loadGuardConfig, formatGuardErrors } from './src/guard/config.js';
       const d = process.env.KW_DIR;
       const show = (r) => r.diagnostics.map(formatDiagnostic);
       const main = loadConfig(d + '/main.conf');
       console.log(JSON.stringify({
         fifo: show(loadConfig(d + '/fifo.conf')),
         dir: show(loadConfig(d)),
         glob: show(main),
         files: main.config ? main.config.files.map((f) => f.slice(d.length)) : 'no config',
         strict: show(loadConfig(d + '/strict.conf')),
         dev: show(loadConfig(d + '/dev.conf')),
         guardFifo: formatGuardErrors(loadGuardConfig(d + '/guard-fifo.conf')),
         secretFifo: formatGuardErrors(loadGuardConfig(d + '/guard.conf')),
       }));`,
      { KW_DIR: dir },
    ) as Record<string, string[] | string>;
    assert.ok(Date.now() - started < 30_000);
    const fifo = 'it is a FIFO, not a regular file; not opened';
    assert.deepEqual(out.fifo, [`${dir}/fifo.conf:1:1: error: cannot read '${dir}/fifo.conf': ${fifo}`]);
    assert.deepEqual(out.dir, [`${dir}:1:1: error: cannot read '${dir}': it is a directory, not a regular file; not opened`]);
    const skipped = "; not included (keepalived logs this for 'include' and runs without it; 'includer' makes it an error)";
    assert.deepEqual(out.glob, [
      `${dir}/main.conf:1:9: warning: cannot read '${dir}/conf.d/b.conf': ${fifo}${skipped}`,
      `${dir}/main.conf:1:9: warning: cannot read '${dir}/conf.d/c.conf': it is a socket, not a regular file; not opened${skipped}`,
      `${dir}/main.conf:1:9: warning: cannot read '${dir}/conf.d/d.conf': ${fifo}${skipped}`,
    ], 'a.conf and the symlinked e.conf are read; the directory sub.conf is skipped');
    assert.deepEqual(out.files, ['/main.conf', '/conf.d/a.conf', '/conf.d/e.conf']);
    assert.deepEqual(out.strict, [
      `${dir}/strict.conf:1:10: error: cannot read '${dir}/conf.d/sub.conf': it is a directory, not a regular file; not opened`,
      `${dir}/strict.conf:1:10: error: cannot read '${dir}/conf.d/b.conf': ${fifo}`,
      `${dir}/strict.conf:1:10: error: cannot read '${dir}/conf.d/c.conf': it is a socket, not a regular file; not opened`,
      `${dir}/strict.conf:1:10: error: cannot read '${dir}/conf.d/d.conf': ${fifo}`,
    ]);
    assert.equal(out.dev![0], `${dir}/dev.conf:1:10: error: cannot read '/dev/null': it is a character device, not a regular file; not opened`);
    // Standard input is a pipe here (a FIFO or a socket, as Node sets it up): never read by an include.
    assert.match(out.dev![1]!, new RegExp(`^${dir}/dev.conf:2:10: error: cannot read '/dev/stdin': it is a (FIFO|socket), not a regular file; not opened$`));
    assert.equal(out.dev!.length, 2);
    assert.equal(out.guardFifo, `${dir}/guard-fifo.conf:1:1: error: cannot read '${dir}/guard-fifo.conf': ${fifo}`);
    assert.equal(out.secretFifo, `${dir}/guard.conf:2:3: error: secret_file ${dir}/secret-fifo is a FIFO, not a regular file; not opened`);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a symlinked regular file is read; the glob result lists it with the plain files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-hostile-'));
  try {
    mkdirSync(join(dir, 'conf.d'));
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'conf.d/a.conf'), INSTANCE('A', 1));
    writeFileSync(join(dir, 'real/b.conf'), INSTANCE('B', 2));
    symlinkSync('../real/b.conf', join(dir, 'conf.d/b.conf'));
    writeFileSync(join(dir, 'main.conf'), 'include conf.d/*.conf\n');
    const r = loadConfig(join(dir, 'main.conf'));
    assert.deepEqual(lines(r), []);
    assert.deepEqual(r.config!.instances.map((i) => i.name), ['A', 'B']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Include expansion: bounded and linear.

test('an include bomb (2^20 reads) is stopped after the file-read cap, fast, with one error at the include', () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 20; i++) files[`b/f${i}.conf`] = `include f${i + 1}.conf\ninclude f${i + 1}.conf\n`;
  files['b/f20.conf'] = 'global_defs {\n router_id BOMB\n}\n';
  const t0 = performance.now();
  const r = loadConfig('b/f0.conf', memFs(files));
  const ms = performance.now() - t0;
  assert.ok(ms < 5000, `took ${ms} ms`);
  assert.equal(r.config, undefined);
  const e = errors(r);
  assert.equal(e.length, 1, e.join('\n'));
  assert.match(e[0]!, new RegExp(`^b/f\\d+\\.conf:\\d+:9: error: 'b/f\\d+\\.conf' is not read: one configuration reads at most ${MAX_FILE_READS} files, and this one was read \\d+ times already \\(included over and over\\?\\); no further file is read$`));
});

test('a file over 4 MiB is refused, and a configuration over 16 MiB in all stops at the include that passes it', () => {
  const comment = (bytes: number): string => `${'#'.repeat(1023)}\n`.repeat(Math.ceil(bytes / 1024));
  const big = memFs({ 'm/main.conf': 'include big.conf\n', 'm/big.conf': comment((4 << 20) + 1024) });
  assert.deepEqual(lines(loadConfig('m/main.conf', big)), [
    "m/main.conf:1:9: error: cannot read 'm/big.conf': it is larger than 4 MiB, the most keepwatch reads from one file",
  ]);
  const parts: Record<string, string> = { 'm/main.conf': [1, 2, 3, 4, 5, 6].map((i) => `include p${i}.conf\n`).join('') };
  for (let i = 1; i <= 6; i++) parts[`m/p${i}.conf`] = comment(3.5 * (1 << 20));
  assert.deepEqual(lines(loadConfig('m/main.conf', memFs(parts))), [
    "m/main.conf:5:9: error: 'm/p5.conf' is not read: one configuration is at most 16 MiB in all its files; no further file is read",
  ]);
  // The real file system stops reading at the cap too.
  const dir = mkdtempSync(join(tmpdir(), 'kw-hostile-'));
  try {
    writeFileSync(join(dir, 'big.conf'), comment(5 << 20));
    assert.deepEqual(lines(loadConfig(join(dir, 'big.conf'))), [
      `${dir}/big.conf:1:1: error: cannot read '${dir}/big.conf': it is larger than 4 MiB, the most keepwatch reads from one file`,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(lines(parseConfigText(comment((4 << 20) + 1024), 'mem.conf', memFs({}))), [
    "mem.conf:1:1: error: cannot read 'mem.conf': it is larger than 4 MiB, the most keepwatch reads from one file",
  ]);
});

test('a glob matching more than 1000 paths, or reading more than 100k directory entries, reads nothing', () => {
  const files: Record<string, string> = { 'g/main.conf': 'include d/*.conf\n' };
  for (let i = 0; i <= MAX_GLOB_MATCHES; i++) files[`g/d/${i}.conf`] = '';
  assert.deepEqual(lines(loadConfig('g/main.conf', memFs(files))), [
    `g/main.conf:1:9: error: include pattern 'd/*.conf' matches more than ${MAX_GLOB_MATCHES} paths; none is read, and no further file`,
  ]);
  const huge = Array.from({ length: 100_001 }, (_, i) => `n${i}`);
  const fs = memFs({ 'h/main.conf': 'include d/*.conf\n' }, () => huge);
  assert.deepEqual(lines(loadConfig('h/main.conf', fs)), [
    "h/main.conf:1:9: error: include pattern 'd/*.conf' reads more than 100000 directory entries (in 'h/d'); none is read, and no further file",
  ]);
  // Exactly 1000 matches are fine.
  delete files[`g/d/${MAX_GLOB_MATCHES}.conf`];
  assert.equal(expandGlob(memFs(files), 'd/*.conf', 'g').length, MAX_GLOB_MATCHES);
});

test('glob matching has no regular-expression backtracking: *a*a*a*a*a*a*a*a*b against a 255-character name is instant', () => {
  const name = 'a'.repeat(255);
  const t0 = performance.now();
  assert.equal(segmentMatcher('*a*a*a*a*a*a*a*a*b')(name), false);
  assert.equal(segmentMatcher('*a*a*a*a*a*a*a*a*')(name), true);
  assert.ok(performance.now() - t0 < 500);
  assert.deepEqual(expandGlob(memFs({ [`r/${name}`]: '' }), '*a*a*a*a*a*a*a*a*b', 'r'), []);
  // The matcher's rules (the regular expression it replaced had them).
  const m = (p: string, n: string): boolean => segmentMatcher(p)(n);
  assert.ok(m('*.conf', 'x.conf') && !m('*.conf', 'x.confx') && m('a?c', 'abc') && !m('a?c', 'ac'));
  assert.ok(m('[ab]1', 'b1') && !m('[!a]1', 'a1') && m('[^a]1', 'c1') && m('[a-c]x', 'bx') && !m('[a-c]x', 'dx'));
  assert.ok(m('[]a]', ']') && m('x\\*y', 'x*y') && !m('x\\*y', 'xzy') && m('[a', '[a') && m('😀?', '😀é'));
  assert.ok(!m('[z-a]', 'z') && m('[z-a]', '[z-a]'), 'a reversed range matches only itself');
});

// ---------------------------------------------------------------------------------------------
// Parser and diagnostics: nesting and counts are capped.

test(`blocks nested more than ${MAX_BLOCK_DEPTH} deep: one error at the first '{' too deep, the rest skipped to its '}'`, () => {
  const depth = 100;
  const text = `linkbeat_interfaces {\n${'x {\n'.repeat(depth)}${'}\n'.repeat(depth)}}\nglobal_defs {\n router_id AFTER\n}\n`;
  const r = parseConfigText(text, 'n.conf', memFs({}));
  assert.deepEqual(errors(r), [`n.conf:${MAX_BLOCK_DEPTH + 1}:3: error: blocks are nested more than ${MAX_BLOCK_DEPTH} deep; the contents of this one are not read`]);
  assert.equal(r.config, undefined);
  // Braces still pair up: what follows is read at the top level.
  const ok = parseConfigText(text.replace('x {\n'.repeat(depth), 'x {\n'.repeat(10)).replace('}\n'.repeat(depth), '}\n'.repeat(10)), 'n.conf', memFs({}));
  assert.equal(ok.config?.global.routerId, 'AFTER');
  const deep = parseConfigText(`${'{'.repeat(200_000)}${'}'.repeat(200_000)}`, 'd.conf', memFs({}));
  assert.ok(deep.diagnostics.some((d) => d.message.startsWith('blocks are nested more than')), 'no stack overflow, no internal error');
  assert.ok(!deep.diagnostics.some((d) => d.message.includes('internal error')));
});

test(`at most ${MAX_REPORTED_ERRORS} errors and ${MAX_REPORTED_WARNINGS} warnings are reported, then one line with the count of the rest`, () => {
  const r = parseConfigText(Array.from({ length: 1000 }, (_, i) => `bogus_${i}`).join('\n'), 'e.conf', memFs({}));
  assert.equal(r.diagnostics.length, MAX_REPORTED_ERRORS + 1);
  assert.equal(formatDiagnostic(r.diagnostics.at(-1)!), `e.conf:101:1: error: 900 more errors not shown (keepwatch reports the first 100 errors and 100 warnings it finds; this is where the first one left out is)`);
  assert.equal(formatDiagnostic(r.diagnostics[0]!), "e.conf:1:1: error: unknown keyword 'bogus_0' at top level");
  const w = parseConfigText(`${'linkbeat_use_polling\n'.repeat(300)}${INSTANCE('V', 1)}`, 'w.conf', memFs({}));
  assert.ok(w.config, 'warnings only: the configuration is still good');
  assert.equal(w.diagnostics.length, MAX_REPORTED_WARNINGS + 1);
  assert.match(w.diagnostics.at(-1)!.message, /^200 more warnings not shown/);
  assert.equal(w.diagnostics.at(-1)!.severity, 'warning');
  const g = parseGuardConfig(`guard {\n${'  bogus 1\n'.repeat(500)}}\n`, 'g.conf', () => Buffer.alloc(0));
  assert.equal(g.diagnostics.length, MAX_REPORTED_ERRORS + 1);
  assert.match(g.diagnostics.at(-1)!.message, /^400 more errors not shown/);
});

test(`a configuration of more than ${MAX_TOKENS} words is refused at the word that passes the cap`, () => {
  const r = parseConfigText('x\n'.repeat(MAX_TOKENS + 10), 'w.conf', memFs({}));
  assert.equal(r.config, undefined);
  assert.equal(
    formatDiagnostic(r.diagnostics.find((d) => d.message.includes('words'))!),
    `w.conf:${MAX_TOKENS + 1}:1: error: more than ${MAX_TOKENS} words in this configuration; nothing from here on is read`,
  );
  // Counted across files: an include past the cap is not read.
  const fs = memFs({ 'c/main.conf': `${'x\n'.repeat(MAX_TOKENS - 2)}include more.conf\n`, 'c/more.conf': 'y z\n' });
  const c = loadConfig('c/main.conf', fs);
  assert.ok(c.diagnostics.some((d) => d.location.file === 'c/more.conf' && d.message.startsWith(`more than ${MAX_TOKENS} words`)));
});

// ---------------------------------------------------------------------------------------------
// Linear cost.

/** Pathological shapes; `n` is the 1x size. The 8x input stays under every cap (4 MiB, 250k words). */
const SHAPES: Record<string, { n: number; make: (n: number) => string }> = {
  'very long line': { n: 400_000, make: (n) => `global_defs {\n router_id ${'a'.repeat(n)}\n}\n` },
  'long quoted string': { n: 400_000, make: (n) => `global_defs {\n router_id "${'a b '.repeat(n / 4)}"\n}\n` },
  'unterminated quotes': { n: 10_000, make: (n) => 'global_defs {\n router_id "abc\n}\n'.repeat(n / 2) },
  'many tokens': { n: 25_000, make: (n) => `vrrp_instance V {\n${' priority 1\n'.repeat(n / 2)}}\n` },
  'many tokens on one line': { n: 25_000, make: (n) => `global_defs {\n notification_email {\n${'x '.repeat(n)}\n}\n}\n` },
  'deeply nested braces': { n: 12_000, make: (n) => `${'{'.repeat(n)}${'}'.repeat(n)}` },
  'unknown keywords': { n: 25_000, make: (n) => `vrrp_instance V {\n${Array.from({ length: n }, (_, i) => ` prioritx${i % 10}\n`).join('')}}\n` },
  'escaped comment characters': { n: 40_000, make: (n) => `global_defs {\n router_id ${'a\\#'.repeat(n)}\n}\n` },
  'astral characters': { n: 10_000, make: (n) => `global_defs {\n notification_email {\n${'😀 '.repeat(n)}\n}\n}\n` },
  'many instances': {
    n: 1_000,
    make: (n) => Array.from({ length: n }, (_, i) => INSTANCE(`V${i}`, 1 + (i % 255)).replace('10.0.0.', `10.${i >> 8}.${i & 255}.`)).join(''),
  },
};

/**
 * Times 1x and 8x parses in a child whose young generation is large enough that no garbage
 * collection runs during a parse: what is timed is then the code's own work. (With Node's default
 * small nursery a 1x parse fits in it and an 8x parse pays for promotions and marking, which
 * swings the ratio by 2-5x from run to run; that is the runtime's cost curve, not this code's.)
 * Interleaved 1x/8x runs, the best of each; `extra` more runs when the ratio looks bad.
 */
const CHILD = `
  import { readFileSync } from 'node:fs';
  import { parseConfigText } from './src/config/index.js';
  const fs = { readFile() { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); }, listDir: () => [], isFile: () => false };
  for (const name of JSON.parse(process.env.KW_SHAPES)) {
    const one = readFileSync(process.env.KW_DIR + '/' + name + '.1', 'utf8');
    const eight = readFileSync(process.env.KW_DIR + '/' + name + '.8', 'utf8');
    const time = (text) => { gc(); const t0 = performance.now(); parseConfigText(text, 'lin.conf', fs); return performance.now() - t0; };
    for (let i = 0; i < 2; i++) time(one); // warm up
    const capped = parseConfigText(eight, 'lin.conf', fs).diagnostics.some((d) => d.message.includes('words in this configuration'));
    let c1 = Infinity, c8 = Infinity;
    for (let r = 0; r < 8 && (r < 2 || c8 >= 15 * Math.max(c1, 0.5)); r++) {
      c1 = Math.min(c1, time(one));
      c8 = Math.min(c8, time(eight));
    }
    console.log(JSON.stringify([name, c1, c8, capped])); // one line per shape, as it is done
  }
`;

test('lexing, parsing and validation are linear: 8x the input costs less than 20x the time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-linear-'));
  try {
    const names = Object.keys(SHAPES);
    names.forEach((name, i) => {
      const { n, make } = SHAPES[name]!;
      const eight = make(8 * n);
      assert.ok(Buffer.byteLength(eight) < 4 << 20, `${name}: the 8x input stays under the file cap`);
      writeFileSync(join(dir, `${i}.1`), make(n));
      writeFileSync(join(dir, `${i}.8`), eight);
    });
    const r = spawnSync(
      process.execPath,
      ['--max-semi-space-size=256', '--min-semi-space-size=256', '--expose-gc', '--import', 'tsx', '--input-type=module', '-e', CHILD],
      { cwd: ROOT, env: { ...process.env, KW_DIR: dir, KW_SHAPES: JSON.stringify(names.map((_, i) => String(i))) }, encoding: 'utf8', timeout: 120_000 },
    );
    const done = new Map(r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as [string, number, number, boolean]).map((x) => [x[0], x] as const));
    const stuck = names[done.size];
    assert.equal(r.signal, null, `the timing child was killed after 120 s while parsing '${stuck}': far from linear`);
    assert.equal(r.status, 0, r.stderr);
    const report = names.map((name, i) => {
      const [, c1, c8, capped] = done.get(String(i))!;
      assert.equal(capped, false, `${name}: the 8x input stays under the word cap`);
      // Below 0.5 ms a parse is too short to time: the floor keeps timer noise out of the ratio.
      return { name, c1, c8, ratio: c8 / Math.max(c1, 0.5) };
    });
    const text = report.map((x) => `${x.name}: 1x ${x.c1.toFixed(2)} ms, 8x ${x.c8.toFixed(2)} ms (${x.ratio.toFixed(1)}x)`).join('\n');
    console.log(text);
    for (const x of report) assert.ok(x.ratio < 20, `${x.name} is not linear:\n${text}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Secrets stay out of diagnostics and of `keepwatch -t`.

const SECRETS = ['hunter2', 'mellon', 'friend', 'correcthorse', 'batterystaple', 'staplebattery', 'quoted passwords', 'tr0ub4dor', 's3cr3t', 'sslsecret', 'am-password'];
const noSecret = (text: string, what: string): void => {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${what} shows '${s}':\n${text}`);
};

test('auth_pass and every token of an authentication block stay out of diagnostics', () => {
  const r = loadConfig('test/fixtures/broken-configs/auth-pass-hidden.conf');
  const text = lines(r).join('\n');
  noSecret(text, 'the diagnostics');
  assert.match(text, /:9:26: error: 'auth_pass' takes one value \(the password; not shown\)/);
  assert.match(text, /unclosed '\{' opened here for auth_pass \(value not shown\)/);
  // A near miss of a keyword is still named (its did-you-mean would say as much).
  assert.deepEqual(lines(parseConfigText(`vrrp_instance V {\n authentication {\n  auth_tpye PASS\n  auth_type pass\n }\n}\n`, 'a.conf', memFs({}))).filter((l) => /^a\.conf:[34]:/.test(l)), [
    "a.conf:3:3: error: unknown keyword 'auth_tpye' in authentication; did you mean 'auth_type'?",
    "a.conf:4:13: error: invalid auth_type 'pass': expected PASS or AH; did you mean 'PASS'?",
  ]);
  // The SSL block's password, and an `authentication` written without its brace.
  const ssl = parseConfigText('SSL {\n  password sslsecret {\n', 's.conf', memFs({}));
  noSecret(lines(ssl).join('\n'), 'SSL');
  assert.ok(lines(ssl).includes("s.conf:2:22: error: unclosed '{' opened here for password (value not shown)"));
  const brace = parseConfigText('vrrp_instance V {\n authentication s3cr3t\n}\n', 'b.conf', memFs({}));
  noSecret(lines(brace).join('\n'), 'authentication');
  assert.ok(lines(brace).includes("b.conf:2:2: error: expected '{' after 'authentication (value not shown)'"));
});

test('keepwatch -t shows no password: neither in its errors nor in the summary of a good configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-hostile-'));
  try {
    const good = join(dir, 'good.conf');
    writeFileSync(good, INSTANCE('V', 7).replace(' interface eth0\n', ' interface eth0\n authentication {\n  auth_type PASS\n  auth_pass tr0ub4dor\n }\n'));
    const run = (file: string) => spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '-t', '-f', file], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const bad = run('test/fixtures/broken-configs/auth-pass-hidden.conf');
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, /configuration rejected/);
    noSecret(bad.stdout + bad.stderr, 'keepwatch -t (errors)');
    const ok = run(good);
    // A 9-character auth_pass is cut to 8 (a warning): warnings only exit 5, as keepalived -t.
    assert.equal(ok.status, 5, ok.stderr);
    assert.match(ok.stdout, /auth PASS/);
    noSecret(ok.stdout + ok.stderr, 'keepwatch -t (good)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('guard config: no secret bytes and no URL credentials in its diagnostics', () => {
  const r = parseGuardConfig('guard {\n  secret_file /s\n  alertmanager ftp://kw:am-password@am:9093\n}\n', 'g.conf', () => Buffer.from('hunter2'));
  assert.deepEqual(lines(r), [
    'g.conf:2:15: error: secret_file /s: the secret must be at least 16 bytes',
    "g.conf:3:16: error: invalid alertmanager 'ftp://(credentials not shown)@am:9093': expected an http(s) URL",
  ]);
  noSecret(lines(r).join('\n'), 'the guard diagnostics');
});

// ---------------------------------------------------------------------------------------------
// secret_file: a regular file, owned by root, not group/world-writable.

function fakeSecret(st: Partial<SecretFileStat>, bytes = 'a-shared-secret-of-32-characters'): SecretFileAccess & { reads: number } {
  const access = {
    reads: 0,
    stat: (): SecretFileStat => ({ kind: 'regular file', uid: 0, mode: 0o600, size: bytes.length, ...st }),
    read: (): Buffer => {
      access.reads++;
      return Buffer.from(bytes);
    },
  };
  return access;
}

const GUARD = 'guard {\n  secret_file /etc/keepwatch/guard.secret\n  peer 10.0.0.2:11200\n}\n';

test('secret_file: root-owned 0600 is read; 0640/0644 warn; group/world-writable, other owners, non-regular and oversized files are errors at secret_file', () => {
  const ok = fakeSecret({});
  const good = parseGuardConfig(GUARD, 'g.conf', ok);
  assert.deepEqual(lines(good), []);
  assert.equal(good.config?.secret?.toString(), 'a-shared-secret-of-32-characters');
  assert.equal(ok.reads, 1);

  const warn = parseGuardConfig(GUARD, 'g.conf', fakeSecret({ mode: 0o644 }));
  assert.ok(warn.config, 'readable by others is a warning, not an error');
  assert.deepEqual(lines(warn), [
    'g.conf:2:3: warning: secret_file /etc/keepwatch/guard.secret is readable by its group and others (mode 0644); whoever reads it can sign peer claims: chmod 600 /etc/keepwatch/guard.secret',
  ]);
  assert.match(lines(parseGuardConfig(GUARD, 'g.conf', fakeSecret({ mode: 0o640 })))[0]!, /readable by its group \(mode 0640\)/);
  assert.match(lines(parseGuardConfig(GUARD, 'g.conf', fakeSecret({ mode: 0o604 })))[0]!, /readable by others \(mode 0604\)/);

  const refused: [Partial<SecretFileStat>, string][] = [
    [{ mode: 0o664 }, 'is writable by its group (mode 0664); it must be writable by root only: chmod go-w /etc/keepwatch/guard.secret'],
    [{ mode: 0o602 }, 'is writable by others (mode 0602); it must be writable by root only: chmod go-w /etc/keepwatch/guard.secret'],
    [{ mode: 0o666 }, 'is writable by its group and others (mode 0666); it must be writable by root only: chmod go-w /etc/keepwatch/guard.secret'],
    [{ uid: 1000 }, "is owned by uid 1000; it must be owned by root (uid 0), or its owner could rewrite the guard's secret"],
    [{ kind: 'FIFO' }, 'is a FIFO, not a regular file; not opened'],
    [{ kind: 'directory' }, 'is a directory, not a regular file; not opened'],
    [{ size: 5000 }, 'is larger than 4 KiB: not a secret keepwatch reads'],
  ];
  for (const [st, message] of refused) {
    const access = fakeSecret(st);
    const r = parseGuardConfig(GUARD, 'g.conf', access);
    assert.equal(r.config, undefined);
    assert.equal(lines(r)[0], `g.conf:2:3: error: secret_file /etc/keepwatch/guard.secret ${message}`);
    assert.equal(access.reads, 0, `${message}: the file is not read`);
  }
  assert.deepEqual(checkSecretFile('/s', { kind: 'regular file', uid: 0, mode: 0o400, size: 20 }), {});
});

test('secret_file on the real file system: missing, and a file written by this process (root-owned when run as root)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-hostile-'));
  try {
    const secret = join(dir, 'guard.secret');
    const guard = join(dir, 'guard.conf');
    writeFileSync(guard, `guard {\n  secret_file ${secret}\n}\n`);
    assert.deepEqual(lines(loadGuardConfig(guard)), [`${guard}:2:15: error: cannot read secret_file ${secret}: ENOENT`]);
    writeFileSync(secret, 'a-shared-secret-of-32-characters\n', { mode: 0o600 });
    const r = loadGuardConfig(guard);
    if (process.getuid?.() === 0) {
      assert.deepEqual(lines(r), []);
      assert.equal(r.config?.secret?.toString(), 'a-shared-secret-of-32-characters');
    } else {
      assert.deepEqual(lines(r), [`${guard}:2:3: error: secret_file ${secret} is owned by uid ${process.getuid?.()}; it must be owned by root (uid 0), or its owner could rewrite the guard's secret`]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
