/**
 * The agent's side of use_vmac / use_ipvlan: the links a config asks for (with the IPv6
 * link-local address keepalived copies onto an IPv6 macvlan), made and reconciled through the
 * adapter on an in-memory kernel, a link someone deleted made again, and the owner key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, formatDiagnostic } from '../../../src/config/index.js';
import { LinkRestorer, checkLinks, eui64LinkLocal, guardFrames, linkOwner, sharedMacLinks, syncLinks, wantedLinks } from '../../../src/agent/virtual-links.js';
import { NetlinkVirtualLinks } from '../../../src/adapters/virtual-links.js';
import type { Logger } from '../../../src/observability/logging.js';
import { FakeLinkKernel } from '../../fakes/links.js';

const config = (text: string) => {
  const r = parseConfigText(text, 'v.conf');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.config;
};
const V4 = `vrrp_instance A {\n    interface eth0\n    virtual_router_id 51\n    use_vmac\n    virtual_ipaddress {\n        10.0.0.100/24\n    }\n}\n`;
const V6 = `vrrp_instance B {\n    interface eth0\n    virtual_router_id 52\n    use_vmac\n    virtual_ipaddress {\n        fe80::52\n    }\n}\n`;
const host = { primaryAddress: (i: string, f: string) => (i === 'eth0' && f === 'ipv6' ? 'fe80::1' : undefined), mac: (i: string) => (i === 'eth0' ? '02:00:00:00:00:01' : undefined) };

/** A logger that keeps the messages. */
function logger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const put = (_f: unknown, m?: string) => void lines.push(String(m));
  return { lines, info: put, warn: put, error: put, debug: put } as unknown as Logger & { lines: string[] };
}

test('wanted links: IPv4 macvlans get IPv4 settings and no IPv6; IPv6 ones the link-local address adverts come from', () => {
  const specs = wantedLinks(config(V4 + V6), host);
  assert.deepEqual(specs, [
    { name: 'vrrp.51', kind: 'macvlan', base: 'eth0', mac: '00:00:5e:00:01:33', sysctls: 'ipv4', ipv6: false, addresses: [], instance: 'A' },
    { name: 'vrrp.52', kind: 'macvlan', base: 'eth0', mac: '00:00:5e:00:02:34', sysctls: 'ipv6', ipv6: true, addresses: [{ address: 'fe80::1', prefixLength: 64 }], instance: 'B' },
  ]);
  // Without a link-local address on the base: one made from its MAC (keepalived's make_link_local_address).
  const noLl = wantedLinks(config(V6), { primaryAddress: () => undefined, mac: host.mac });
  assert.deepEqual(noLl[0]!.addresses, [{ address: 'fe80::ff:fe00:1', prefixLength: 64 }]);
  assert.equal(eui64LinkLocal('52:54:00:12:34:56'), 'fe80::5054:ff:fe12:3456');
  // vmac_xmit_base: the adverts leave from the interface, so no address on the link.
  assert.deepEqual(wantedLinks(config(V6.replace('use_vmac\n', 'use_vmac\n    vmac_xmit_base\n')), host)[0]!.addresses, []);
  assert.deepEqual([...sharedMacLinks(config(V4 + V6))], ['vrrp.51', 'vrrp.52']);
});

test('syncLinks: made at start, kept at the next start (after a crash), logged; a reload drops what the config no longer has', async () => {
  const k = new FakeLinkKernel();
  k.addLink({ name: 'eth0', mac: '02:00:00:00:00:01' });
  const log = logger();
  const view = { ...host, interfaceExists: (n: string) => !!k.byName(n), linkUp: (n: string) => k.byName(n)?.up ?? false };
  const links = new NetlinkVirtualLinks(k, 'abcd1234', k);
  const first = await syncLinks({ links, interfaces: view, log }, config(V4 + V6));
  assert.deepEqual(first.map((c) => `${c.action} ${c.name}`), ['created vrrp.51', 'created vrrp.52']);
  assert.ok(log.lines.includes('created link vrrp.51: a private macvlan on eth0 with MAC 00:00:5e:00:01:33 for vrrp_instance A'), log.lines.join('\n'));
  const restart = await syncLinks({ links: new NetlinkVirtualLinks(k, 'abcd1234', k), interfaces: view, log }, config(V4 + V6));
  assert.deepEqual(restart.map((c) => `${c.action} ${c.name}`), ['kept vrrp.51', 'kept vrrp.52']);
  const reload = await syncLinks({ links, interfaces: view, log }, config(V4));
  assert.deepEqual(reload.map((c) => `${c.action} ${c.name}`), ['removed vrrp.52', 'kept vrrp.51']);
  assert.equal(k.byName('vrrp.52'), undefined);
});

test('a wanted link someone deleted is made again, once, a moment later; an unknown one is left alone', async () => {
  const k = new FakeLinkKernel();
  k.addLink({ name: 'eth0', mac: '02:00:00:00:00:01' });
  const log = logger();
  const view = { ...host, interfaceExists: (n: string) => !!k.byName(n), linkUp: (n: string) => k.byName(n)?.up ?? false };
  const links = new NetlinkVirtualLinks(k, 'abcd1234', k);
  const c = config(V4);
  await syncLinks({ links, interfaces: view, log }, c);
  await k.delLink({ index: k.byName('vrrp.51')!.index });
  const restorer = new LinkRestorer({ links, interfaces: view, log }, () => c, 5);
  restorer.gone('vrrp.51');
  restorer.gone('vrrp.51');
  restorer.gone('eth7');
  await new Promise((r) => setTimeout(r, 60));
  assert.ok(k.byName('vrrp.51')?.up, 'made again and up');
  assert.equal(k.log.filter((x) => x === 'new vrrp.51').length, 2, 'once at start, once again');
  restorer.stop();
});

test("the owner key: from the config file's absolute path (two config files, two owners)", () => {
  assert.match(linkOwner('/etc/keepalived/keepalived.conf'), /^[0-9a-f]{8}$/);
  assert.equal(linkOwner('/etc/keepalived/keepalived.conf'), linkOwner('/etc/keepalived/../keepalived/keepalived.conf'));
  assert.notEqual(linkOwner('/etc/keepalived/a.conf'), linkOwner('/etc/keepalived/b.conf'));
});

test('the guard sends nothing on a use_vmac macvlan (every holder answers there with the one MAC); elsewhere it does', () => {
  const sent: string[] = [];
  const f = guardFrames({ inject: (iface) => void sent.push(iface) }, () => config(V4));
  f.inject('vrrp.51', new Uint8Array(42));
  f.inject('eth0', new Uint8Array(42));
  assert.deepEqual(sent, ['eth0']);
});

test('a link that can\'t be made: one line per link, with the place in the config that asks for it', async () => {
  const k = new FakeLinkKernel();
  k.addLink({ name: 'eth0', mac: '02:00:00:00:00:01' });
  k.addLink({ name: 'vrrp.51', mac: '02:00:00:00:00:09' });
  const view = { ...host, interfaceExists: (n: string) => !!k.byName(n), linkUp: () => true };
  await assert.rejects(checkLinks({ links: new NetlinkVirtualLinks(k, 'abcd1234', k), interfaces: view }, config(V4)), (e: Error) =>
    e.message === "v.conf:4:5: cannot make vrrp.51 (macvlan for vrrp_instance A): an interface of that name exists (an interface with MAC 02:00:00:00:00:09) and is not keepwatch's; it is left alone: remove it, or name the link (use_vmac NAME / use_ipvlan NAME)");
});
