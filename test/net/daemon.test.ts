/**
 * The daemon on a real host (root only): unicast mode and a custom multicast group, SIGHUP
 * reload (valid and invalid), start-up reconciliation of stale VIPs, and the clear errors a user
 * gets for a missing interface, missing privileges and a broken config.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { withLab, waitFor, sleep, fastInstance, VIP, type NetEnv } from './helpers.js';
import { CLI_PATH } from '../../src/lab/routers.js';

const haveKeepalived = spawnSync('keepalived', ['--version']).status === 0;

/** Captures VRRP on the client for `ms` and returns tcpdump's one-line decodes. */
function sniff(env: NetEnv, ms: number, filter = 'ip proto 112'): string[] {
  const r = env.lab.exec('client', 'timeout', [String(ms / 1000), 'tcpdump', '-i', 'eth0', '--immediate-mode', '-n', '-l', filter]);
  return r.stdout.split('\n').filter(Boolean);
}

test('unicast mode: adverts go only to the peer, failover works, nothing multicast', async () => {
  await withLab(async (env) => {
    const uni = (src: string, peer: string) => ({ unicastSrc: src, unicastPeers: [peer] });
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150, uni('10.251.0.1', '10.251.0.2'))] });
    const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance(100, uni('10.251.0.2', '10.251.0.1'))] });
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
    // The client is on the bridge: unicast to r2 is not flooded to it once the bridge has learnt r2.
    const seen = sniff(env, 1000, 'ip proto 112 and ip multicast');
    assert.deepEqual(seen, [], 'no multicast adverts in unicast mode');
    const r2seen = env.lab.exec('r2', 'timeout', ['1', 'tcpdump', '-i', 'eth0', '--immediate-mode', '-n', '-l', 'ip proto 112']).stdout;
    assert.match(r2seen, /10\.251\.0\.1 > 10\.251\.0\.2: VRRPv3, Advertisement, vrid 51, prio 150/);
    await r1.signal('SIGKILL');
    await waitFor('r2 master', () => r2.state === 'master', 5000);
  });
});

test('unicast interop with keepalived', { skip: !haveKeepalived && 'keepalived not installed' }, async () => {
  await withLab(async (env) => {
    const kw = env.router('r1', 'keepwatch', { instances: [fastInstance(150, { unicastSrc: '10.251.0.1', unicastPeers: ['10.251.0.2'] })] });
    const ka = env.router('r2', 'keepalived', { instances: [fastInstance(100, { unicastSrc: '10.251.0.2', unicastPeers: ['10.251.0.1'] })] });
    ka.start();
    kw.start();
    await waitFor('keepwatch master, keepalived backup', () => kw.state === 'master' && ka.state === 'backup', 15_000);
    await sleep(500);
    assert.equal(ka.state, 'backup');
    await kw.signal('SIGTERM');
    await waitFor('keepalived master', () => ka.state === 'master', 5000);
  });
});

test('custom vrrp_mcast_group4: adverts go to that group, and the peers elect through it', async () => {
  await withLab(async (env) => {
    const r1 = env.router('r1', 'keepwatch', { mcastGroup4: '224.0.0.83', instances: [fastInstance(150)] });
    const r2 = env.router('r2', 'keepwatch', { mcastGroup4: '224.0.0.83', instances: [fastInstance(100)] });
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
    const seen = sniff(env, 800);
    assert.ok(seen.length > 3);
    for (const l of seen) assert.match(l, /10\.251\.0\.1 > 224\.0\.0\.83: VRRPv3/);
  });
});

test('SIGHUP: a valid change restarts only the changed instance; an invalid file keeps the running config', async () => {
  await withLab(async (env) => {
    const vi2 = fastInstance(150, { name: 'VI_2', vrid: 52, vips: ['10.251.0.102/24'] });
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150), vi2] });
    r1.start();
    await waitFor('both instances master', () => env.lab.holders(VIP).includes('r1') && env.lab.holders('10.251.0.102').includes('r1'), 10_000);
    await waitFor('both master transitions logged', () => ['(VI_1)', '(VI_2)'].every((n) => r1.transitions.some((t) => t.line.startsWith(n) && t.to === 'master')), 3000);
    const transitionsBefore = r1.transitions.length;
    // Change VI_2's VIP only.
    r1.config = { instances: [fastInstance(150), { ...vi2, vips: ['10.251.0.103/24'] }] };
    r1.writeConfig();
    r1.proc!.kill('SIGHUP');
    await waitFor('VI_2 moved to .103', () => env.lab.holders('10.251.0.103').includes('r1') && !env.lab.holders('10.251.0.102').includes('r1'), 5000);
    assert.ok(env.lab.holders(VIP).includes('r1'), 'VI_1 kept its VIP');
    const vi1Moves = r1.transitions.slice(transitionsBefore).filter((t) => t.line.startsWith('(VI_1)'));
    assert.deepEqual(vi1Moves, [], 'VI_1 kept its state');
    await waitFor('reload success logged', () => r1.logLines.some((l) => l.includes('"event":"reload"') && l.includes('"result":"success"')), 2000);

    writeFileSync(r1.confPath, 'vrrp_instance VI_1 {\n  state Master\n');
    r1.proc!.kill('SIGHUP');
    await waitFor('reload failure logged', () => r1.logLines.some((l) => l.includes('"result":"failure"')), 3000);
    assert.ok(r1.logLines.some((l) => l.includes("invalid state 'Master'")), 'the errors are logged with their place');
    await sleep(500);
    assert.ok(r1.running);
    assert.ok(env.lab.holders(VIP).includes('r1') && env.lab.holders('10.251.0.103').includes('r1'), 'the running config stays');
  });
});

test('start-up: VIPs of ours left on the interface are removed before joining as backup', async () => {
  await withLab(async (env) => {
    const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance(150)] });
    r2.start();
    await waitFor('r2 master', () => r2.state === 'master', 10_000);
    // r1 has the VIP from an earlier crash; it has the lower priority, so it must not keep it.
    env.lab.exec('r1', 'ip', ['addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(100)] });
    r1.start();
    await waitFor('r1 backup', () => r1.state === 'backup', 10_000);
    assert.ok(!env.lab.holders(VIP).includes('r1'));
    assert.ok(r1.logLines.some((l) => l.includes('vip-reconciled')));
  });
});

test('clear errors: missing interface, missing privileges, broken config (exit 1, no stack trace)', async () => {
  await withLab(async (env) => {
    const conf = join(env.dir, 'x.conf');
    writeFileSync(conf, 'vrrp_instance VI_1 {\n  interface nosuch0\n  virtual_router_id 9\n  virtual_ipaddress {\n    10.251.0.99\n  }\n}\n');
    const missing = env.lab.exec('r1', process.execPath, [CLI_PATH, '-f', conf]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /x\.conf:1:\d+: interface 'nosuch0' of vrrp_instance VI_1 does not exist on this host/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /, 'no stack trace');

    writeFileSync(conf, 'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 9\n  virtual_ipaddress {\n    10.251.0.99\n  }\n}\n');
    const setpriv = spawnSync('setpriv', ['--help']).status === 0;
    if (setpriv) {
      chmodSync(env.dir, 0o755);
      chmodSync(conf, 0o644);
      const unpriv = env.lab.exec('r1', 'setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath, CLI_PATH, '-f', conf]);
      assert.equal(unpriv.status, 1);
      assert.match(unpriv.stderr, /CAP_NET_(RAW|ADMIN)/);
      assert.doesNotMatch(unpriv.stderr, /\n\s+at /, 'no stack trace');
    }

    writeFileSync(conf, 'vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 9\n');
    const broken = env.lab.exec('r1', process.execPath, [CLI_PATH, '-f', conf]);
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /x\.conf:1:\d+: error: unclosed '\{'/);
  });
});
