/**
 * Command lines as keepalived reads them (src/config/script-line.ts, src/config/scripts.ts):
 * quotes and escapes (alloc_strvec_quoted_escaped), the command split again into argv, the words
 * after it `[user [group]]` on notify lines, `vrrp_script`'s `script` refusing trailing words,
 * the notify_fifo family, and errors at their place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import { splitQuotedEscaped } from '../../../src/config/script-line.js';

const words = (src: string) => {
  const r = splitQuotedEscaped(src);
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.words.map((w) => w.text);
};

test('splitQuotedEscaped: quotes group (and may be glued to text), escapes as keepalived, refusals', () => {
  assert.deepEqual(words(`/bin/x.sh a 'b c' "d e"`), ['/bin/x.sh', 'a', 'b c', 'd e']);
  assert.deepEqual(words(`ab"c d"e  f`), ['abc de', 'f']);
  assert.deepEqual(words(String.raw`a\ b c\"d \\ \x41\101\n`), ['a b', 'c"d', '\\', 'AA\n']);
  assert.deepEqual(words(`"it's"  'say "hi"'`), [`it's`, 'say "hi"']);
  assert.deepEqual(words('   '), []);
  assert.deepEqual(splitQuotedEscaped(`"open`), { ok: false, message: 'missing terminating "', at: 0 });
  assert.equal(splitQuotedEscaped(String.raw`a\0`).ok, false, 'NUL');
  assert.equal(splitQuotedEscaped(String.raw`\xff`).ok, false, 'above 0x7f');
  assert.equal(splitQuotedEscaped('a\\').ok, false, 'a trailing backslash');
});

const INSTANCE = (lines: string[]) => `vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n${lines.map((l) => `    ${l}\n`).join('')}}\n`;

test("notify lines: 'notify x.sh nobody' runs x.sh as nobody (not with nobody as $1); a quoted command keeps its arguments", () => {
  const r = parseConfigText(INSTANCE(['notify_master /etc/x.sh nobody', `notify "/etc/n.sh --tag 'a b'" root wheel`, 'notify_deleted', 'notify_master_rx_lower_pri /bin/reclaim']), 'v.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  const i = r.config.instances[0]!;
  assert.deepEqual([i.notify.master?.argv, i.notify.master?.user, i.notify.master?.group], [['/etc/x.sh'], 'nobody', undefined]);
  assert.deepEqual([i.notify.generic?.argv, i.notify.generic?.user, i.notify.generic?.group], [['/etc/n.sh', '--tag', 'a b'], 'root', 'wheel']);
  assert.equal(i.notifyDeleted, true);
  assert.equal(i.notify.deleted, undefined, '`notify_deleted` alone: no command, notifies say DELETED');
  assert.deepEqual(i.notify.masterRxLowerPri?.argv, ['/bin/reclaim']);
});

test('vrrp_script: the command split into argv; words after an unquoted command are refused with the quoted form', () => {
  const ok = parseConfigText(`vrrp_script chk {\n    script "/usr/bin/pgrep -x nginx"\n}\n` + INSTANCE([]), 'v.conf');
  assert.deepEqual(ok.config?.scripts[0]?.argv, ['/usr/bin/pgrep', '-x', 'nginx']);
  const bad = parseConfigText(`vrrp_script chk {\n    script /usr/bin/pgrep nginx\n}\n` + INSTANCE([]), 'v.conf');
  assert.equal(bad.config, undefined);
  const e = bad.diagnostics.find((d) => d.severity === 'error')!;
  assert.deepEqual([e.location.line, e.location.column], [2, 27]);
  assert.match(e.message, /keepalived runs only '\/usr\/bin\/pgrep' and ignores 'nginx'.*script "\/usr\/bin\/pgrep nginx"/);
});

test('an unterminated quote inside the command is an error at its place', () => {
  const r = parseConfigText(INSTANCE([`notify_master "/bin/x 'a b"`]), 'v.conf');
  assert.equal(r.config, undefined);
  const e = r.diagnostics.find((d) => d.severity === 'error')!;
  assert.equal(e.location.line, 8);
  assert.match(e.message, /notify_master of .*missing terminating '/);
});

test('the notify_fifo family: path, owner, reader; a relative path, one path for both, and a script without its FIFO', () => {
  const g = (lines: string[]) => `global_defs {\n${lines.map((l) => `    ${l}\n`).join('')}}\n` + INSTANCE([]);
  const r = parseConfigText(g(['notify_fifo /run/kw.fifo nobody nogroup', 'notify_fifo_script "/usr/bin/reader -v" nobody', 'vrrp_notify_fifo /run/vrrp.fifo', 'vrrp_notify_priority_changes', 'fifo_write_vrrp_states_on_reload']), 'v.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  const [a, b] = r.config.global.notifyFifos;
  assert.deepEqual([a?.keyword, a?.path, a?.user, a?.group, a?.script?.argv, a?.script?.user], ['notify_fifo', '/run/kw.fifo', 'nobody', 'nogroup', ['/usr/bin/reader', '-v'], 'nobody']);
  assert.deepEqual([b?.keyword, b?.path, b?.user, b?.script], ['vrrp_notify_fifo', '/run/vrrp.fifo', undefined, undefined]);
  assert.deepEqual([r.config.global.vrrpNotifyPriorityChanges, r.config.global.fifoWriteVrrpStatesOnReload], [true, true]);
  const rel = parseConfigText(g(['notify_fifo kw.fifo']), 'v.conf');
  assert.match(rel.diagnostics.map((d) => d.message).join('\n'), /notify_fifo 'kw.fifo' must be an absolute path/);
  const same = parseConfigText(g(['notify_fifo /run/a', 'vrrp_notify_fifo /run/a']), 'v.conf');
  assert.match(same.diagnostics.map((d) => d.message).join('\n'), /is the FIFO of notify_fifo too/);
  const orphan = parseConfigText(g(['vrrp_notify_fifo_script /bin/r']), 'v.conf');
  assert.ok(orphan.config);
  assert.match(orphan.diagnostics.map((d) => d.message).join('\n'), /vrrp_notify_fifo_script without vrrp_notify_fifo: it is not run/);
});
