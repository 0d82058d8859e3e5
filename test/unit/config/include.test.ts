/** `include` with globs, relative to the including file, in sorted order; over real and fake file systems. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  expandBraces,
  expandGlob,
  formatDiagnostic,
  loadConfig,
  parseConfigText,
  type ConfigFs,
} from '../../../src/config/index.js';

/** An in-memory ConfigFs: `files` maps paths to contents; directories are implied by the paths. */
function memFs(files: Record<string, string | Error>): ConfigFs {
  const fail = (code: string): Error => Object.assign(new Error(code), { code });
  return {
    readFile(p) {
      const f = files[p];
      if (f === undefined) throw fail('ENOENT');
      if (f instanceof Error) throw f;
      return f;
    },
    listDir(d) {
      const prefix = d === '.' ? '' : d.endsWith('/') ? d : `${d}/`;
      const names = new Set<string>();
      for (const p of Object.keys(files)) if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split('/')[0]!);
      if (names.size === 0) throw fail('ENOENT');
      return [...names];
    },
    isFile: (p) => Object.hasOwn(files, p),
  };
}

const INSTANCE = (name: string, vrid: number): string =>
  `vrrp_instance ${name} {\n interface eth0\n virtual_router_id ${vrid}\n virtual_ipaddress {\n  10.0.0.${vrid}\n }\n}\n`;

test('fixture: globs relative to the including file, sorted, hidden files skipped, no-match warning', () => {
  const r = loadConfig('test/fixtures/include-configs/main.conf');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  const base = 'test/fixtures/include-configs';
  assert.deepEqual(r.config.files, [
    `${base}/main.conf`,
    `${base}/conf.d/10-global.conf`,
    `${base}/conf.d/20-scripts.conf`,
    `${base}/scripts/chk-a.conf`,
    `${base}/scripts/chk-b.conf`,
    `${base}/instances/vi-1.conf`,
    `${base}/instances/vi-1.vips`,
    `${base}/instances/vi-2.conf`,
  ]);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    `${base}/main.conf:5:9: warning: include pattern 'missing/*.conf' matched no files`,
  ]);
  const c = r.config;
  assert.equal(c.global.routerId, 'INC_TEST');
  assert.deepEqual(c.instances.map((i) => i.name), ['VI_1', 'VI_2']);
  assert.deepEqual(c.instances.map((i) => i.mcastGroup), ['224.0.0.19', '224.0.0.19']);
  assert.deepEqual(c.scripts.map((s) => [s.name, s.script, s.intervalMs]), [
    ['chk_a', '/usr/local/bin/check-a', 3000],
    ['chk_b', '/usr/local/bin/check b', 1000],
  ]);
  const vi1 = c.instances[0]!;
  assert.deepEqual(vi1.virtualAddresses.map((v) => [v.address, v.prefixLength, v.label, v.location.file, v.location.line]), [
    ['10.1.0.1', 24, 'eth0:1', `${base}/instances/vi-1.vips`, 1],
    ['10.1.0.11', 24, undefined, `${base}/instances/vi-1.vips`, 2],
  ]);
  assert.deepEqual(vi1.trackScripts.map((t) => [t.name, t.weight]), [['chk_a', 20]]);
});

test('matches are read in sorted (byte) order, whatever the directory order', () => {
  const fs = memFs({
    'etc/main.conf': 'include d/*.conf\n',
    'etc/d/b.conf': INSTANCE('B', 2),
    'etc/d/a.conf': INSTANCE('a', 1),
    'etc/d/A.conf': INSTANCE('A', 3),
    'etc/d/10.conf': INSTANCE('ten', 10),
    'etc/d/9.conf': INSTANCE('nine', 9),
  });
  const r = loadConfig('etc/main.conf', fs);
  assert.ok(r.config);
  assert.deepEqual(r.config.instances.map((i) => i.name), ['ten', 'nine', 'A', 'a', 'B']);
});

test('absolute patterns, a file with no directory part, and explicit files', () => {
  const fs = memFs({
    'keepalived.conf': 'include local.conf\ninclude /etc/kw/*.conf\n',
    'local.conf': INSTANCE('L', 1),
    '/etc/kw/x.conf': INSTANCE('X', 2),
  });
  const r = loadConfig('keepalived.conf', fs);
  assert.ok(r.config);
  assert.deepEqual(r.config.files, ['keepalived.conf', 'local.conf', '/etc/kw/x.conf']);
});

test("an include that cannot be read: 'include' warns and runs without it (as keepalived), includer/includem make it an error", () => {
  const denied = Object.assign(new Error('EACCES'), { code: 'EACCES' });
  const files = (kw: string, kw2: string) => ({ 'k/main.conf': `global_defs {\n  ${kw} secret.conf\n}\n${kw2} gone.conf\n${INSTANCE('K', 1)}`, 'k/secret.conf': denied });
  const lax = loadConfig('k/main.conf', memFs(files('include', 'include')));
  assert.ok(lax.config, 'warnings only: keepalived runs without the files');
  assert.deepEqual(lax.diagnostics.map(formatDiagnostic), [
    "k/main.conf:2:11: warning: cannot read 'k/secret.conf': permission denied; not included (keepalived logs this for 'include' and runs without it; 'includer' makes it an error)",
    "k/main.conf:4:9: warning: cannot read 'k/gone.conf': no such file; not included (keepalived logs this for 'include' and runs without it; 'includem' makes it an error)",
  ]);
  const strict = loadConfig('k/main.conf', memFs(files('includer', 'includem')));
  assert.equal(strict.config, undefined);
  assert.deepEqual(strict.diagnostics.map(formatDiagnostic), [
    "k/main.conf:2:12: error: cannot read 'k/secret.conf': permission denied",
    "k/main.conf:4:10: error: cannot read 'k/gone.conf': no such file",
  ]);
  // includer checks readability, not existence (keepalived's INCLUDE_R): a missing file stays a warning.
  const r = loadConfig('k/main.conf', memFs(files('includem', 'includer')));
  assert.deepEqual(r.diagnostics.map((d) => `${d.location.line}:${d.severity}`), ['2:error', '4:warning']);
  // -e (--all-config) and `include_check` put every check in force for plain includes too.
  const all = loadConfig('k/main.conf', memFs(files('include', 'include')), { allConfig: true });
  assert.deepEqual(all.diagnostics.map((d) => `${d.location.line}:${d.severity}`), ['2:error', '4:error']);
});

test('include_check (global_defs) governs the includes after it; an included file\'s setting ends with it', () => {
  const fs = memFs({
    'q/main.conf': 'include a.conf\nglobal_defs {\n  include_check match\n}\ninclude gone1.conf\ninclude sub.conf\ninclude gone3.conf\n',
    'q/a.conf': 'include gone0.conf\n',
    'q/sub.conf': 'global_defs {\n  include_check -match\n}\ninclude gone2.conf\n',
  });
  const r = loadConfig('q/main.conf', fs);
  assert.deepEqual(r.diagnostics.map((d) => `${d.location.file}:${d.location.line}:${d.severity}`), [
    'q/main.conf:5:error', // after include_check match
    'q/main.conf:7:error', // sub.conf's -match ended with sub.conf
    'q/a.conf:1:warning', // before it
    'q/sub.conf:4:warning', // -match inside sub.conf
  ]);
  const bad = loadConfig('q/m.conf', memFs({ 'q/m.conf': 'global_defs {\n  include_check mach wildcard_match +readable\n}\n' }));
  assert.deepEqual(bad.diagnostics.map(formatDiagnostic), [
    "q/m.conf:2:17: error: unknown include_check 'mach': expected read, match, wildcard_match or brace_match; did you mean 'match'?",
    "q/m.conf:2:22: error: include_check 'wildcard_match': only the first word sets the checks; '+wildcard_match' adds one, '-wildcard_match' removes one",
    "q/m.conf:2:37: error: unknown include_check 'readable': expected read, match, wildcard_match or brace_match (keepalived.conf(5) says 'readable', but keepalived reads 'read' and refuses 'readable')",
  ]);
});

test('brace globs: alternatives in the order written, each sorted, nested; a missing alternative warns (includeb: error, none read)', () => {
  const fs = memFs({
    'b/main.conf': 'include {z,a}/*.conf\ninclude x-{1,{2,3}}.conf\ninclude "y {q,r}.conf"\n',
    'b/z/2.conf': INSTANCE('z2', 2),
    'b/z/1.conf': INSTANCE('z1', 1),
    'b/a/1.conf': INSTANCE('a1', 3),
    'b/x-1.conf': INSTANCE('x1', 4),
    'b/x-3.conf': INSTANCE('x3', 5),
    'b/y q.conf': INSTANCE('yq', 6),
  });
  const r = loadConfig('b/main.conf', fs);
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.deepEqual(r.config.instances.map((i) => i.name), ['z1', 'z2', 'a1', 'x1', 'x3', 'yq']);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    "b/main.conf:2:9: warning: include pattern 'x-{1,{2,3}}.conf': 'b/x-2.conf' not found; the files that exist are read (keepalived does the same for 'include'; 'includeb' makes it an error)",
    "b/main.conf:3:9: warning: include pattern 'y {q,r}.conf': 'b/y r.conf' not found; the files that exist are read (keepalived does the same for 'include'; 'includeb' makes it an error)",
  ]);
  const strict = loadConfig('b/s.conf', memFs({ 'b/s.conf': `includeb x-{1,2}.conf\n${INSTANCE('s', 9)}`, 'b/x-1.conf': INSTANCE('x1', 4) }));
  assert.deepEqual(strict.diagnostics.map(formatDiagnostic), ["b/s.conf:1:10: error: include pattern 'x-{1,2}.conf': 'b/x-2.conf' not found"]);
  assert.deepEqual(strict.config, undefined);
  // A '{' alone (after a blank) is still a block: `include x {` is the error it was.
  const block = loadConfig('b/k.conf', memFs({ 'b/k.conf': 'include x-1.conf {\n}\n', 'b/x-1.conf': '' }));
  assert.deepEqual(block.diagnostics.map(formatDiagnostic), ["b/k.conf:1:18: error: 'include' does not take a '{' block"]);
});

test('expandBraces: glob(3) GLOB_BRACE semantics, bounded', () => {
  assert.deepEqual(expandBraces('a{b,c}d'), ['abd', 'acd']);
  assert.deepEqual(expandBraces('{x,y}{1,2}'), ['x1', 'x2', 'y1', 'y2']);
  assert.deepEqual(expandBraces('a{b,{c,d}e}f'), ['abf', 'acef', 'adef']);
  assert.deepEqual(expandBraces('{}x'), ['x']);
  assert.deepEqual(expandBraces('a{b'), ['a{b'], 'unbalanced: the pattern as it is');
  assert.deepEqual(expandBraces('a\\{b,c}'), ['a\\{b,c}'], 'an escaped brace is literal');
  assert.throws(() => expandBraces('{a,b}'.repeat(11)), /more than 1000 brace alternatives/);
  assert.throws(() => expandBraces(`${'{'.repeat(100)}x${'}'.repeat(100)}`), /nests braces more than 64 deep/);
});

test('the main file that cannot be read is an error at FILE:1:1', () => {
  const r = loadConfig('nowhere/keepalived.conf', memFs({}));
  assert.equal(r.config, undefined);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), ["nowhere/keepalived.conf:1:1: error: cannot read 'nowhere/keepalived.conf': no such file"]);
});

test('includes nested more than 20 deep are an error', () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 25; i++) files[`n/f${i}.conf`] = `include f${i + 1}.conf\n`;
  files['n/f25.conf'] = INSTANCE('deep', 1);
  const r = loadConfig('n/f0.conf', memFs(files));
  assert.equal(r.config, undefined);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    "n/f20.conf:1:9: error: includes are nested more than 20 deep; 'f21.conf' is not read",
  ]);
  assert.equal(r.diagnostics.length, 1);
});

test('a file including itself is a cycle', () => {
  const r = loadConfig('c/self.conf', memFs({ 'c/self.conf': 'include *.conf\n' }));
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    "c/self.conf:1:9: error: include cycle: 'c/self.conf' is already being read (c/self.conf -> c/self.conf)",
  ]);
});

test('diagnostics are sorted by file (in reading order), line, column', () => {
  const fs = memFs({
    'o/main.conf': 'include z.conf\ninclude a.conf\nvrrp_instance M {\n priorty 1\n}\n',
    'o/z.conf': 'bogus_z\n',
    'o/a.conf': 'bogus_a1\nbogus_a2\n',
  });
  const r = loadConfig('o/main.conf', fs);
  assert.deepEqual(
    r.diagnostics.map((d) => `${d.location.file}:${d.location.line}`),
    ['o/main.conf:3', 'o/main.conf:3', 'o/main.conf:3', 'o/main.conf:4', 'o/z.conf:1', 'o/a.conf:1', 'o/a.conf:2'],
  );
});

test('expandGlob: *, ?, [...], [!...], escapes and several wildcard segments', () => {
  const fs = memFs({
    'g/a1.conf': '', 'g/a2.conf': '', 'g/b1.conf': '', 'g/.h.conf': '', 'g/x*y.conf': '', 'g/sub1/k.conf': '', 'g/sub2/k.conf': '', 'g/sub2/k.txt': '',
  });
  assert.deepEqual(expandGlob(fs, '*.conf', 'g'), ['g/a1.conf', 'g/a2.conf', 'g/b1.conf', 'g/x*y.conf']);
  assert.deepEqual(expandGlob(fs, '.*.conf', 'g'), ['g/.h.conf']);
  assert.deepEqual(expandGlob(fs, 'a?.conf', 'g'), ['g/a1.conf', 'g/a2.conf']);
  assert.deepEqual(expandGlob(fs, '[ab]1.conf', 'g'), ['g/a1.conf', 'g/b1.conf']);
  assert.deepEqual(expandGlob(fs, '[!a]*.conf', 'g'), ['g/b1.conf', 'g/x*y.conf']);
  assert.deepEqual(expandGlob(fs, 'x\\*y.conf', 'g'), ['g/x*y.conf']);
  assert.deepEqual(expandGlob(fs, 'sub*/k.*', 'g'), ['g/sub1/k.conf', 'g/sub2/k.conf', 'g/sub2/k.txt']);
  assert.deepEqual(expandGlob(fs, '*/k.conf', 'g'), ['g/sub1/k.conf', 'g/sub2/k.conf'], 'directories are walked, not returned');
  assert.deepEqual(expandGlob(fs, '[z-a].conf', 'g'), [], 'a reversed range matches nothing and does not throw');
  assert.deepEqual(expandGlob(fs, 'nope/*.conf', 'g'), []);
});

test('parseConfigText resolves includes against the given file name', () => {
  const fs = memFs({ 'p/inc.conf': INSTANCE('I', 4) });
  const r = parseConfigText('include inc.conf\n', 'p/main.conf', fs);
  assert.ok(r.config);
  assert.deepEqual(r.config.files, ['p/main.conf', 'p/inc.conf']);
});

test('an executable configuration file is not read, as keepalived refuses it (check_glob_file): the main file, includer, include', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-exec-'));
  try {
    writeFileSync(join(dir, 'x.conf'), INSTANCE('X', 1));
    chmodSync(join(dir, 'x.conf'), 0o755);
    writeFileSync(join(dir, 'main.conf'), 'include x.conf\nincluder x.conf\n');
    const why = "it is executable (mode 0755); keepalived reads no executable configuration file, nor does keepwatch (chmod a-x)";
    assert.deepEqual(loadConfig(join(dir, 'x.conf')).diagnostics.map(formatDiagnostic), [`${dir}/x.conf:1:1: error: cannot read '${dir}/x.conf': ${why}`]);
    assert.deepEqual(loadConfig(join(dir, 'main.conf')).diagnostics.map(formatDiagnostic), [
      `${dir}/main.conf:1:9: warning: cannot read '${dir}/x.conf': ${why}; not included (keepalived logs this for 'include' and runs without it; 'includer' makes it an error)`,
      `${dir}/main.conf:2:10: error: cannot read '${dir}/x.conf': ${why}`,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
