/**
 * The `[user [group]]` of notify lines, `notify_fifo_script`s and FIFO owners
 * (src/tracking/users.ts): looked up like `script_user`, resolved to ids (a user without a group
 * has its primary group, as keepalived's set_script_uid_gid), an unknown one is an error at its
 * own place (never root in its place), and the notifier runs each command as its own user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import type { KeepalivedConfig } from '../../../src/config/model.js';
import { AgentBus, type NotifyRunEvent, type StateChangedEvent } from '../../../src/events/index.js';
import { Notifier } from '../../../src/notify/notifier.js';
import { accountKey, lookupsFor, resolveScriptUsers, runAsFor, type Getent } from '../../../src/tracking/users.js';
import { FakeClock } from '../../fakes/clock.js';
import { FakeProcessRunner } from '../../fakes/process.js';

const INSTANCE = (lines: string[]) => `vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n${lines.map((l) => `    ${l}\n`).join('')}}\n`;

function config(text: string): KeepalivedConfig {
  const r = parseConfigText(text, 'test.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  return r.config;
}

const NSS: Getent = (db, key) => {
  const passwd: Record<string, string> = { nobody: 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin', www: 'www:x:33:33::/var/www:/bin/false' };
  const group: Record<string, string> = { adm: 'adm:x:4:', nogroup: 'nogroup:x:65534:' };
  const line = (db === 'passwd' ? passwd : group)[key];
  return line === undefined ? { status: 'not-found' } : { status: 'found', stdout: `${line}\n` };
};

test('notify users are looked up and resolved: a user alone has its primary group; user and group as written', () => {
  const c = config(
    'global_defs {\n    script_user www\n    notify_fifo /run/f.fifo nobody adm\n    notify_fifo_script /bin/reader www\n}\n' + INSTANCE(['notify_master /bin/m nobody', 'notify "/bin/n arg" nobody adm', 'notify_backup /bin/b']),
  );
  assert.deepEqual(
    lookupsFor(c).map(([db, k]) => `${db}:${k}`),
    ['passwd:www', 'passwd:nobody', 'group:adm'],
  );
  const r = resolveScriptUsers(c, NSS);
  assert.deepEqual(r.diagnostics, []);
  assert.ok(r.users);
  assert.deepEqual(runAsFor(r.users, { user: 'nobody' }), { ok: true, runAs: { uid: 65534, gid: 65534 } });
  assert.deepEqual(runAsFor(r.users, { user: 'nobody', group: 'adm' }), { ok: true, runAs: { uid: 65534, gid: 4 } });
  assert.deepEqual(runAsFor(r.users, {}), { ok: true, runAs: { uid: 33, gid: 33 } }, 'no user on the line: the default script user');
  assert.deepEqual(runAsFor(r.users, { user: 'ghost' }), { ok: false }, 'never the default or root for a name that did not resolve');
  assert.equal(accountKey('nobody', 'adm'), 'nobody:adm');
});

test('an unknown notify user is an error at its place, and no users are handed out', () => {
  const c = config(INSTANCE(['notify_master /bin/m nobdy', 'notify_fault /bin/f nobody nogrp']));
  const r = resolveScriptUsers(c, NSS);
  assert.equal(r.users, undefined);
  const errors = r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.location.line}:${d.location.column} ${d.message}`);
  assert.deepEqual(errors, [
    "8:26 user nobdy of notify_master of vrrp_instance VI_1: no user 'nobdy' on this host; scripts are not run as root in its place",
    "9:25 user nobody nogrp of notify_fault of vrrp_instance VI_1: no group 'nogrp' on this host; scripts are not run as root in its place",
  ]);
});

test('the notifier runs each command as its own user, the others as the default; a user missing from the map is not run', async () => {
  const c = config(INSTANCE(['notify_master /bin/m nobody', 'notify /bin/n', 'notify_backup /bin/b ghost']));
  const clock = new FakeClock();
  const processes = new FakeProcessRunner({ clock });
  const bus = new AgentBus();
  const runs: NotifyRunEvent[] = [];
  bus.on('notify-run', (e) => runs.push(e));
  const notifier = new Notifier({ config: () => c, routers: () => [], bus, clock, processes, runAs: () => ({ uid: 900, gid: 900 }), accounts: () => new Map([['nobody', { uid: 65534, gid: 65534 }]]) });
  const emit = (to: 'master' | 'backup') => bus.emit({ type: 'state-changed', instance: 'VI_1', vrid: 51, interface: 'eth0', family: 'ipv4', version: 2, from: 'init', to, cause: 'master-down-timer', atMs: 0, wallMs: 0, startedAtMs: 0, priority: 100, basePriority: 100 } satisfies StateChangedEvent);
  emit('master');
  await notifier.idle();
  emit('backup');
  await notifier.idle();
  assert.deepEqual(
    processes.runs.map((r) => [r.argv[0], r.opts.runAs]),
    [
      ['/bin/m', { uid: 65534, gid: 65534 }],
      ['/bin/n', { uid: 900, gid: 900 }],
      ['/bin/n', { uid: 900, gid: 900 }],
    ],
  );
  const refused = runs.find((r) => r.command === '/bin/b');
  assert.equal(refused?.result, 'error');
  assert.match(refused?.error ?? '', /user ghost is not resolved: not run/);
});
