/**
 * Script users (src/tracking/users.ts): strict parsing of getent's answers, keepalived's default
 * (script_user, else keepalived_script, else root), errors with the keyword's place, and never a
 * fall-back to root when a lookup fails. A fake getent keeps these independent of the host's
 * users; two tests ask the real host (root is 0/0; a random name does not exist).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseConfigText } from '../../../src/config/index.js';
import type { KeepalivedConfig } from '../../../src/config/model.js';
import {
  assembleUsers,
  lookupsFor,
  parseGroupEntry,
  parsePasswdEntry,
  resolveScriptUsers,
  resolveScriptUsersAsync,
  type Getent,
  type GetentAnswer,
} from '../../../src/tracking/users.js';
import { preflightScripts } from '../../../src/tracking/preflight.js';
import { systemGetent, systemGetentAsync } from '../../../src/adapters/process.js';
import { FakeProcessRunner } from '../../fakes/process.js';

const INSTANCE = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.100
    }
}
`;

function config(text: string): KeepalivedConfig {
  const r = parseConfigText(text, 'test.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  return r.config;
}

/** A fake NSS: `passwd` and `group` lines by name; everything else is "not found". */
function fakeGetent(db: { passwd?: Record<string, string>; group?: Record<string, string> }, calls: string[] = []): Getent {
  return (kind, key) => {
    calls.push(`${kind}:${key}`);
    const line = db[kind]?.[key];
    return line === undefined ? { status: 'not-found' } : { status: 'found', stdout: `${line}\n` };
  };
}

const USERS = {
  passwd: { alice: 'alice:x:1001:1002:Alice:/home/alice:/bin/sh', keepalived_script: 'keepalived_script:x:998:997::/nonexistent:/usr/sbin/nologin', bob: 'bob:x:1003:1003::/home/bob:/bin/sh' },
  group: { staff: 'staff:x:50:alice,bob' },
};

test('passwd and group answers are parsed strictly', () => {
  assert.deepEqual(parsePasswdEntry('alice:x:1001:1002:Alice:/home/alice:/bin/sh\n', 'alice'), { ok: true, value: { uid: 1001, gid: 1002 } });
  assert.deepEqual(parseGroupEntry('staff:x:50:alice,bob\n', 'staff'), { ok: true, value: 50 });
  for (const [stdout, why] of [
    ['', 'empty'],
    ['alice:x::1002:Alice:/home/alice:/bin/sh\n', 'empty uid (Number("") === 0)'],
    ['alice:x:1001:1002:Alice:/home/alice\n', 'six fields'],
    ['alice:x:1001:1002:A:B:C:D\n', 'eight fields'],
    ['alice:x:-1:1002:Alice:/home/alice:/bin/sh\n', 'negative uid'],
    ['alice:x:0x10:1002:Alice:/home/alice:/bin/sh\n', 'hex uid'],
    ['alice:x:1e3:1002:Alice:/home/alice:/bin/sh\n', 'exponent uid'],
    ['alice:x:4294967295:1002:Alice:/home/alice:/bin/sh\n', '(uid_t)-1'],
    ['alice:x:99999999999:1002:Alice:/home/alice:/bin/sh\n', 'too large'],
    ['alice:x:1001:1002:Alice:/home/alice:/bin/sh\nalice:x:0:0:Alice:/root:/bin/sh\n', 'two lines'],
    ['root:x:0:0:root:/root:/bin/bash\n', 'another name (getent answers numeric keys by uid)'],
  ] as const) {
    const r = parsePasswdEntry(stdout, 'alice');
    assert.equal(r.ok, false, why);
  }
  assert.equal(parseGroupEntry('staff:x::\n', 'staff').ok, false, 'empty gid');
  assert.equal(parseGroupEntry('wheel:x:10:\n', 'staff').ok, false, 'another group');
  assert.equal(parseGroupEntry('staff:x:50\n', 'staff').ok, false, 'three fields');
});

test('script_user naming an unknown user is an error at the keyword, and nothing resolves to root', () => {
  const c = config(`global_defs {\n    script_user nosuchuser\n}\n${INSTANCE}`);
  const r = resolveScriptUsers(c, fakeGetent(USERS));
  assert.equal(r.users, undefined, 'no users: the agent must not start');
  assert.equal(r.diagnostics.length, 1);
  const d = r.diagnostics[0]!;
  assert.equal(d.severity, 'error');
  assert.deepEqual(d.location, { file: 'test.conf', line: 2, column: 5 });
  assert.match(d.message, /script_user nosuchuser: no user 'nosuchuser' on this host; scripts are not run as root in its place/);
});

test('script_user USER GROUP: the group decides the gid; an unknown group is an error', () => {
  const ok = resolveScriptUsers(config(`global_defs {\n    script_user alice staff\n}\n${INSTANCE}`), fakeGetent(USERS));
  assert.deepEqual(ok.users?.default, { uid: 1001, gid: 50 });
  assert.equal(ok.users?.defaultFrom, 'script_user');
  const bad = resolveScriptUsers(config(`global_defs {\n    script_user alice nogroup\n}\n${INSTANCE}`), fakeGetent(USERS));
  assert.equal(bad.users, undefined);
  assert.match(bad.diagnostics[0]!.message, /no group 'nogroup'/);
  const own = resolveScriptUsers(config(`global_defs {\n    script_user alice\n}\n${INSTANCE}`), fakeGetent(USERS));
  assert.deepEqual(own.users?.default, { uid: 1001, gid: 1002 }, "the user's own group");
});

test('a lookup that fails (NSS down, timeout, getent missing) is an error, never root', () => {
  const failing: Getent = () => ({ status: 'failed', message: 'getent did not answer within 2000 ms' });
  const r = resolveScriptUsers(config(`global_defs {\n    script_user alice\n}\n${INSTANCE}`), failing);
  assert.equal(r.users, undefined);
  assert.match(r.diagnostics[0]!.message, /cannot look up user 'alice': getent did not answer/);
  // Without script_user, not knowing whether keepalived_script exists is an error as well.
  const withScript = config(`vrrp_script chk {\n    script "/bin/true"\n}\n${INSTANCE}`);
  const d = resolveScriptUsers(withScript, failing);
  assert.equal(d.users, undefined);
  assert.match(d.diagnostics[0]!.message, /cannot tell whether user keepalived_script exists/);
  assert.deepEqual(d.diagnostics[0]!.location, { file: 'test.conf', line: 2, column: 12 });
});

test('names that are not user names are refused before any lookup (no option injection into getent)', () => {
  const calls: string[] = [];
  for (const name of ['-s', '0', '../etc']) {
    const c = config(`global_defs {\n    script_user ${name}\n}\n${INSTANCE}`);
    const r = resolveScriptUsers(c, fakeGetent({ passwd: { [name]: `${name}:x:0:0::/:/bin/sh` } }, calls));
    if (name === '0') {
      // A numeric name is a name to NSS (getpwnam); getent would answer it by uid: the answer
      // must carry the name asked for, so uid 0's line ("root:...") is refused.
      const viaUid = resolveScriptUsers(c, () => ({ status: 'found', stdout: 'root:x:0:0:root:/root:/bin/bash\n' }));
      assert.equal(viaUid.users, undefined, 'script_user 0 is not root by the back door');
      continue;
    }
    assert.equal(r.users, undefined, name);
    assert.match(r.diagnostics[0]!.message, /is not a valid user name/);
  }
  assert.deepEqual(calls.filter((c) => !c.endsWith(':0')), [], 'no lookup of an invalid name');
});

test("keepalived's default: keepalived_script if it exists, else root (a warning with enable_script_security)", () => {
  const text = `global_defs {\n    enable_script_security\n}\nvrrp_script chk {\n    script "/bin/true"\n}\n${INSTANCE}`;
  const withUser = resolveScriptUsers(config(text), fakeGetent(USERS));
  assert.deepEqual(withUser.users?.default, { uid: 998, gid: 997 });
  assert.equal(withUser.users?.defaultFrom, 'keepalived_script');
  assert.deepEqual(withUser.diagnostics, []);
  const without = resolveScriptUsers(config(text), fakeGetent({}));
  assert.deepEqual(without.users?.default, { uid: 0, gid: 0 });
  assert.equal(without.users?.defaultFrom, 'root');
  assert.equal(without.diagnostics.length, 1);
  assert.equal(without.diagnostics[0]!.severity, 'warning');
  assert.match(without.diagnostics[0]!.message, /scripts run as root: no script_user and no user 'keepalived_script'/);
  // Without enable_script_security: root, quietly (keepalived's behaviour).
  const quiet = resolveScriptUsers(config(`vrrp_script chk {\n    script "/bin/true"\n}\n${INSTANCE}`), fakeGetent({}));
  assert.equal(quiet.users?.defaultFrom, 'root');
  assert.deepEqual(quiet.diagnostics, []);
  // No script at all: nothing to look up.
  assert.deepEqual(lookupsFor(config(INSTANCE)), []);
});

test("a vrrp_script's own `user` is resolved and wins over the default; an unknown one is an error at its keyword", () => {
  const text = `global_defs {\n    script_user alice\n}\nvrrp_script chk {\n    script "/bin/true"\n    user bob staff\n}\nvrrp_script other {\n    script "/bin/true"\n}\n${INSTANCE}`;
  const r = resolveScriptUsers(config(text), fakeGetent(USERS));
  assert.deepEqual(r.users?.default, { uid: 1001, gid: 1002 });
  assert.deepEqual(r.users?.scripts.get('chk'), { uid: 1003, gid: 50 });
  assert.equal(r.users?.scripts.has('other'), false);
  const bad = resolveScriptUsers(config(text.replace('user bob staff', 'user carol')), fakeGetent(USERS));
  assert.equal(bad.users, undefined);
  assert.deepEqual(bad.diagnostics[0]!.location, { file: 'test.conf', line: 6, column: 5 });
  assert.match(bad.diagnostics[0]!.message, /user carol of vrrp_script chk: no user 'carol'/);
});

test('lookups are made once per name; assembleUsers treats a missing answer as a failure', () => {
  const c = config(`global_defs {\n    script_user alice staff\n}\nvrrp_script a {\n    script "/bin/true"\n    user alice staff\n}\n${INSTANCE}`);
  assert.deepEqual(lookupsFor(c), [
    ['passwd', 'alice'],
    ['group', 'staff'],
  ]);
  const r = assembleUsers(c, new Map<string, GetentAnswer>());
  assert.equal(r.users, undefined);
});

test('keepwatch -t (preflight) reports an unknown script_user as an error with its place', () => {
  const c = config(`global_defs {\n    script_user nosuchuser\n}\n${INSTANCE}`);
  const d = preflightScripts(c, new FakeProcessRunner({ getent: fakeGetent(USERS) }));
  assert.equal(d.length, 1);
  assert.equal(d[0]!.severity, 'error');
  assert.deepEqual(d[0]!.location, { file: 'test.conf', line: 2, column: 5 });
});

test('the real host: root is 0/0; a random name does not exist (sync and async)', async () => {
  assert.equal(systemGetent('passwd', 'root').status, 'found');
  const root = resolveScriptUsers(config(`global_defs {\n    script_user root root\n}\n${INSTANCE}`), systemGetent);
  assert.deepEqual(root.users?.default, { uid: 0, gid: 0 });
  const name = `kw${randomBytes(6).toString('hex')}`;
  assert.deepEqual(systemGetent('passwd', name), { status: 'not-found' });
  assert.deepEqual(await systemGetentAsync('passwd', name), { status: 'not-found' });
  const missing = await resolveScriptUsersAsync(config(`global_defs {\n    script_user ${name}\n}\n${INSTANCE}`), systemGetentAsync);
  assert.equal(missing.users, undefined);
  assert.match(missing.diagnostics[0]!.message, new RegExp(`no user '${name}'`));
  const rootAsync = await resolveScriptUsersAsync(config(`global_defs {\n    script_user root\n}\n${INSTANCE}`), systemGetentAsync);
  assert.deepEqual(rootAsync.users?.default, { uid: 0, gid: 0 });
});
