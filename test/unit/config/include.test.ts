/** `include` with globs, relative to the including file, in sorted order; over real and fake file systems. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
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

test('an explicit include that cannot be read is an error at the include', () => {
  const denied = Object.assign(new Error('EACCES'), { code: 'EACCES' });
  const fs = memFs({ 'k/main.conf': 'global_defs {\n  include secret.conf\n}\ninclude gone.conf\n', 'k/secret.conf': denied });
  const r = loadConfig('k/main.conf', fs);
  assert.equal(r.config, undefined);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    "k/main.conf:2:11: error: cannot read 'k/secret.conf': permission denied",
    "k/main.conf:4:9: error: cannot read 'k/gone.conf': no such file",
  ]);
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
