/**
 * use_vmac with keepwatch on both sides (root only): a crash leaves the macvlan behind and the
 * next start reuses it (its VIP reconciled away), removes a stale link of its own and never
 * touches a link that is not its own; a link not ours holding the wanted name refuses the start
 * with the place in the config; IPv6 (VRRPv3): the neighbour advertisements carry the IPv6
 * virtual router MAC and the adverts come from the interface's link-local address; a reload that
 * adds use_vmac restarts the instance on the new link, one that drops it removes the link.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, waitFor, sleep, fastInstance, VIP, type NetEnv } from './helpers.js';
import { HOSTS6, VIP6, fastInstance6, linkLocal, pingVip6 } from './neighbours.js';
import { renderConfig, type LabRouter } from '../../src/lab/routers.js';
import { linkOwner } from '../../src/agent/virtual-links.js';

const VMAC = '00:00:5e:00:01:33';
const VMAC6 = '00:00:5e:00:02:33';

function links(env: NetEnv, host: string): { ifname: string; address: string; ifalias?: string; link?: string; linkinfo?: { info_kind?: string } }[] {
  return JSON.parse(env.lab.exec(host, 'ip', ['-d', '-j', 'link', 'show']).stdout || '[]');
}
const linkNames = (env: NetEnv, host: string) => links(env, host).map((l) => l.ifname);
function holders(env: NetEnv, address: string): string[] {
  return ['r1', 'r2'].filter((h) => env.lab.exec(h, 'ip', ['-o', 'addr', 'show']).stdout.includes(` ${address}/`));
}

test('kill -9 leaves the macvlan; the next start reuses it (VIP reconciled), removes a stale link of its own, leaves links not its own alone', async () => {
  await withLab(async (env) => {
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150, { useVmac: true })] });
    const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance(100, { useVmac: true })] });
    r1.start();
    r2.start();
    await waitFor('r1 master on vrrp.51, r2 backup', () => r1.state === 'master' && r2.state === 'backup' && holders(env, VIP).join() === 'r1' && env.lab.neighbour('client', VIP) === VMAC, 15_000);
    const before = links(env, 'r1').find((l) => l.ifname === 'vrrp.51')!;
    assert.deepEqual([before.address, before.linkinfo?.info_kind, before.ifalias], [VMAC, 'macvlan', `keepwatch ${linkOwner(r1.confPath)} VI_1`]);

    await r1.signal('SIGKILL');
    await waitFor('r2 master', () => r2.state === 'master', 5000);
    assert.ok(linkNames(env, 'r1').includes('vrrp.51') && holders(env, VIP).includes('r1'), 'the dead agent left its macvlan and VIP');
    // A link of this agent's from an older config, and a macvlan that is nobody's business.
    env.lab.exec('r1', 'ip', ['link', 'add', 'link', 'eth0', 'name', 'old.7', 'address', '02:4b:57:00:07:07', 'type', 'macvlan', 'mode', 'private']);
    env.lab.exec('r1', 'ip', ['link', 'set', 'old.7', 'alias', `keepwatch ${linkOwner(r1.confPath)} VI_OLD`]);
    env.lab.exec('r1', 'ip', ['link', 'add', 'link', 'eth0', 'name', 'other0', 'address', '02:4b:57:00:08:08', 'type', 'macvlan', 'mode', 'bridge']);
    env.lab.exec('r1', 'ip', ['link', 'set', 'other0', 'alias', 'keepwatch 00000000 another-agent']);
    env.lab.exec('r1', 'ip', ['link', 'add', 'link', 'eth0', 'name', 'mine0', 'address', '02:4b:57:00:09:09', 'type', 'macvlan', 'mode', 'vepa']);

    r1.start();
    await waitFor('r1 master again, alone, on the same link', () => r1.state === 'master' && r2.state === 'backup' && holders(env, VIP).join() === 'r1', 15_000);
    const names = linkNames(env, 'r1');
    assert.ok(names.includes('vrrp.51') && !names.includes('old.7') && names.includes('other0') && names.includes('mine0'), names.join(', '));
    assert.equal(names.filter((n) => n.startsWith('vrrp')).length, 1);
    assert.ok(r1.logLines.some((l) => l.includes('"event":"virtual-link"') && l.includes('using link vrrp.51')), 'the macvlan was reused');
    assert.ok(r1.logLines.some((l) => l.includes('removed link old.7')), 'the stale link was removed');
    assert.ok(r1.logLines.some((l) => l.includes('vip-reconciled')), 'the VIP it left was removed before joining');
    await waitFor('client on the virtual MAC', () => env.lab.neighbour('client', VIP) === VMAC, 5000);

    await r1.signal('SIGTERM');
    assert.equal(r1.proc?.exitCode, 0);
    const after = linkNames(env, 'r1');
    assert.ok(!after.includes('vrrp.51') && after.includes('other0') && after.includes('mine0'), after.join(', '));
    // Quiet: no errors from the agent's own frames, links or captures.
    assert.deepEqual(r2.logLines.filter((l) => /"level":"(error|fatal)"/.test(l)), []);
  });
});

test('a link that is not keepwatch\'s holding the name: the start is refused, with the place in the config, and the link is left alone', async () => {
  await withLab(async (env) => {
    env.lab.exec('r1', 'ip', ['link', 'add', 'link', 'eth0', 'name', 'vrrp.51', 'address', '02:4b:57:00:05:05', 'type', 'macvlan', 'mode', 'bridge']);
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150, { useVmac: true })] });
    r1.start();
    await waitFor('r1 exits', () => !r1.running, 10_000);
    assert.equal(r1.proc?.exitCode, 1);
    const line = renderConfig({ instances: [fastInstance(150, { useVmac: true })] }).split('\n').findIndex((l) => l.trim() === 'use_vmac') + 1;
    const why = r1.logLines.join('\n');
    assert.match(why, new RegExp(`${r1.confPath.replace(/[.]/g, '\\.')}:${line}:5: cannot make vrrp\\.51 \\(macvlan for vrrp_instance VI_1\\): an interface of that name exists \\(a macvlan on eth0 with MAC 02:4b:57:00:05:05\\) and is not keepwatch's`));
    const l = links(env, 'r1').find((x) => x.ifname === 'vrrp.51')!;
    assert.equal(l.address, '02:4b:57:00:05:05', 'untouched');
  });
});

test('IPv6 (VRRPv3 0.1 s) with use_vmac: adverts from the link-local address over the macvlan, NAs with the IPv6 virtual MAC, the client follows a failover', async () => {
  await withLab(async (env) => {
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance6(150, { useVmac: true })] });
    const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance6(100, { useVmac: true })] });
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup' && holders(env, VIP6).join() === 'r1', 15_000);
    pingVip6(env);
    await waitFor('client neighbour entry: the IPv6 virtual MAC', () => env.lab.neighbour('client', VIP6) === VMAC6, 5000);
    // The macvlan carries the interface's link-local address (no address made from the virtual MAC).
    const ll = linkLocal(env, 'r1');
    const onLink = env.lab.exec('r1', 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'vrrp.51']).stdout;
    assert.ok(onLink.includes(` ${ll}/64`) && !onLink.includes('fe80::200:5eff'), onLink);
    await waitFor('r2 hears r1 from its link-local address', () => r2.logLines.length > 0 && env.lab.exec('r2', 'curl', ['-s', 'http://127.0.0.1:11200/v1/state']).stdout.includes(`"address":"${ll}"`), 5000);

    await r1.signal('SIGTERM');
    await waitFor('r2 master with the VIP on its macvlan', () => r2.state === 'master' && holders(env, VIP6).join() === 'r2', 5000);
    await waitFor('client still on the virtual MAC, now at r2', () => env.lab.neighbour('client', VIP6) === VMAC6 && env.lab.exec('client', 'ping', ['-6', '-c', '1', '-W', '2', VIP6]).status === 0, 5000);
  }, HOSTS6);
});

test('reload: adding use_vmac restarts the instance on the new link; dropping it removes the link', async () => {
  await withLab(async (env) => {
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)] });
    r1.start();
    await waitFor('r1 master on eth0', () => r1.state === 'master' && env.lab.exec('r1', 'ip', ['-o', 'addr', 'show', 'dev', 'eth0']).stdout.includes(` ${VIP}/`), 10_000);
    const reload = async (r: LabRouter, n: number) => {
      r.writeConfig();
      r.proc!.kill('SIGHUP');
      await waitFor(`reload ${n}`, () => r.logLines.filter((l) => l.includes('"event":"reload"') && l.includes('"result":"success"')).length >= n, 5000, 20);
    };
    r1.config = { instances: [fastInstance(150, { useVmac: true })] };
    await reload(r1, 1);
    await waitFor('the VIP moved to vrrp.51', () => r1.state === 'master' && env.lab.exec('r1', 'ip', ['-o', 'addr', 'show', 'dev', 'vrrp.51']).stdout.includes(` ${VIP}/`) && !env.lab.exec('r1', 'ip', ['-o', 'addr', 'show', 'dev', 'eth0']).stdout.includes(` ${VIP}/`), 5000);
    assert.ok(r1.logLines.some((l) => /"restarted":\["VI_1"\]/.test(l)), 'a new link is a new identity: restarted');
    await waitFor('client on the virtual MAC', () => env.lab.neighbour('client', VIP) === VMAC, 5000);
    r1.config = { instances: [fastInstance(150)] };
    await reload(r1, 2);
    await waitFor('link removed, VIP back on eth0', () => !linkNames(env, 'r1').includes('vrrp.51') && env.lab.exec('r1', 'ip', ['-o', 'addr', 'show', 'dev', 'eth0']).stdout.includes(` ${VIP}/`), 5000);
    await sleep(200);
    assert.equal(r1.state, 'master');
  });
});
