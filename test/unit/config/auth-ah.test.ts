/** `auth_type AH` in keepalived.conf: accepted for VRRPv2 as keepalived does, ignored for VRRPv3. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic, parseConfigText, summarizeInstance } from '../../../src/config/index.js';

const CLI = fileURLToPath(new URL('../../../src/cli.mjs', import.meta.url));
const conf = (body: string, vips = '10.0.0.1'): string =>
  `vrrp_instance V {\n    interface eth0\n    virtual_router_id 9\n${body}    virtual_ipaddress {\n        ${vips}\n    }\n}\n`;
const AH = (pass = '1111') => `    authentication {\n        auth_type AH\n        auth_pass ${pass}\n    }\n`;

function load(text: string) {
  const r = parseConfigText(text, 'v.conf');
  return { config: r.config, diags: r.diagnostics.map(formatDiagnostic) };
}

test('auth_type AH is accepted for VRRPv2, with the password as written (the key is its first 8 bytes)', () => {
  const { config, diags } = load(conf(`    state BACKUP\n    priority 100\n${AH('secretpw')}`));
  assert.deepEqual(diags, []);
  const i = config!.instances[0]!;
  assert.equal(i.authentication?.type, 'AH');
  assert.equal(i.authentication?.password, 'secretpw');
  assert.match(summarizeInstance(i), /auth AH/);
  assert.doesNotMatch(summarizeInstance(i), /secretpw/, 'the summary never shows the password');
});

test('AH with state MASTER (not the owner): started as BACKUP with a warning, as keepalived "clearing"', () => {
  const { config, diags } = load(conf(`    state MASTER\n    priority 100\n${AH()}`));
  assert.equal(config!.instances[0]!.initialState, 'BACKUP');
  assert.deepEqual(diags, ['v.conf:4:11: warning: state MASTER does not go with auth_type AH: vrrp_instance V starts as BACKUP to learn the AH sequence number first (as keepalived does)']);
  // keepalived checks preempt_delay against the cleared state: it keeps it.
  const pd = load(conf(`    state MASTER\n    priority 100\n    preempt_delay 5\n${AH()}`));
  assert.equal(pd.config!.instances[0]!.preemptDelayMs, 5000);
  // The address owner stays MASTER.
  const owner = load(conf(`    state MASTER\n    priority 255\n${AH()}`));
  assert.deepEqual(owner.diags, []);
  assert.equal(owner.config!.instances[0]!.initialState, 'MASTER');
});

test('AH needs a password; longer than 8 characters warns; VRRPv3 and strict mode ignore it', () => {
  assert.deepEqual(load(conf(`    priority 100\n    authentication {\n        auth_type AH\n    }\n`)).diags, ['v.conf:6:19: error: auth_type AH needs a non-empty auth_pass']);
  assert.deepEqual(load(conf(`    priority 100\n${AH('abcdefghijk')}`)).diags, ['v.conf:7:19: warning: auth_pass is longer than 8 characters; only the first 8 are used (as keepalived does)']);
  const v3 = load(conf(`    version 3\n    priority 100\n${AH()}`));
  assert.equal(v3.config!.instances[0]!.authentication, undefined);
  assert.deepEqual(v3.diags, ['v.conf:6:5: warning: authentication is not part of VRRPv3; ignored (as keepalived does)']);
  const strict = load(`global_defs {\n    vrrp_strict\n}\n${conf(`    version 2\n    priority 100\n${AH()}`)}`);
  assert.equal(strict.config!.instances[0]!.authentication, undefined);
  assert.ok(strict.diags.some((d) => /authentication is not supported in strict mode/.test(d)), strict.diags.join('\n'));
});

test("keepwatch -t on keepalived's sample keepalived.conf.SSL_GET: AH is no longer refused", () => {
  // doc/samples/keepalived.conf.SSL_GET (keepalived's own sample), its VRRP part verbatim.
  const sample = `! Configuration File for keepalived

global_defs {
   notification_email {
     acassen
   }
   notification_email_from Alexandre.Cassen@firewall.loc
   smtp_server 192.168.200.1
   smtp_connect_timeout 30
   router_id LVS_DEVEL
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type AH
        auth_pass 1111
    }
    virtual_ipaddress {
        192.168.200.16
        192.168.200.17
        192.168.200.18
    }
}
`;
  const dir = mkdtempSync(join(tmpdir(), 'kw-ah-'));
  try {
    writeFileSync(join(dir, 'keepalived.conf'), sample);
    let out = '';
    let status = 0;
    try {
      out = execFileSync(process.execPath, [CLI, '-t', '-f', join(dir, 'keepalived.conf')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      status = e.status;
      out = e.stdout + e.stderr;
    }
    assert.doesNotMatch(out, /error|not supported|not acted on/i, out);
    assert.match(out, /VI_1: vrid 51 on eth0, VRRPv2, BACKUP prio 100, advert 1s, auth AH/);
    // keepalived -t exits 5 on this sample too: "Initial state master is incompatible with AH".
    assert.equal(status, 5, out);
    assert.match(out, /state MASTER does not go with auth_type AH/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
