/**
 * The use_vmac / use_ipvlan links: the rtnetlink attributes (golden bytes: what iproute2 6.1
 * sends for `ip link add ... type macvlan mode private`, `type ipvlan mode l2 private|vepa|bridge`
 * and `ip link set ... addrgenmode none`, read with strace), the plan from the host's links to the
 * wanted ones, and the adapter carrying it out on an in-memory kernel (test/fakes/links.ts):
 * reuse, replacement, leftovers, links that are not ours, and keepalived's sysctls put back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addrGenModeNone, linkInfo, ownerAlias, parseLinkInfo, planLinks, rtattr, type HostLink } from '../../../src/adapters/link-messages.js';
import { NetlinkVirtualLinks } from '../../../src/adapters/virtual-links.js';
import { HostError } from '../../../src/adapters/errors.js';
import type { VirtualLinkSpec } from '../../../src/ports/index.js';
import { FakeLinkKernel } from '../../fakes/links.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** IFLA_LINKINFO as iproute2 sends it (strace), with its own 4-byte header (len, type 18). */
const IPROUTE2 = {
  macvlan: '1c001200' + '0b0001006d6163766c616e00' + '0c000200' + '0800010001000000',
  ipvlanPrivate: '24001200' + '0a000100697076' + '6c616e0000' + '14000200' + '0600010000000000' + '0600020001000000',
  ipvlanVepa: '24001200' + '0a000100697076' + '6c616e0000' + '14000200' + '0600010000000000' + '0600020002000000',
  ipvlanBridge: '24001200' + '0a000100697076' + '6c616e0000' + '14000200' + '0600010000000000' + '0600020000000000',
  /** IFLA_AF_SPEC's AF_INET6 entry: IFLA_INET6_ADDR_GEN_MODE = IN6_ADDR_GEN_MODE_NONE. */
  addrGenNone: '0c000a00' + '0500080001000000',
};

test('IFLA_LINKINFO for a private macvlan and an L2 ipvlan: the bytes iproute2 sends', () => {
  assert.equal(hex(rtattr(18, linkInfo({ kind: 'macvlan' }))), IPROUTE2.macvlan);
  assert.equal(hex(rtattr(18, linkInfo({ kind: 'ipvlan', ipvlanMode: 'private' }))), IPROUTE2.ipvlanPrivate);
  assert.equal(hex(rtattr(18, linkInfo({ kind: 'ipvlan', ipvlanMode: 'vepa' }))), IPROUTE2.ipvlanVepa);
  assert.equal(hex(rtattr(18, linkInfo({ kind: 'ipvlan' }))), IPROUTE2.ipvlanBridge);
  const entries = [...addrGenModeNone()];
  assert.equal(entries.length, 1);
  assert.equal(hex(rtattr(entries[0]![0], entries[0]![1])), IPROUTE2.addrGenNone);
});

test('IFLA_LINKINFO of a dumped link: kind and mode; garbage and truncation give what can be read', () => {
  assert.deepEqual(parseLinkInfo(linkInfo({ kind: 'macvlan' })), { kind: 'macvlan', macvlanMode: 1 });
  assert.deepEqual(parseLinkInfo(linkInfo({ kind: 'ipvlan', ipvlanMode: 'vepa' })), { kind: 'ipvlan', ipvlanMode: 0, ipvlanFlags: 2 });
  assert.deepEqual(parseLinkInfo(Buffer.from('0b0001006d6163766c616e00', 'hex')), { kind: 'macvlan' }, 'no IFLA_INFO_DATA');
  assert.deepEqual(parseLinkInfo(Buffer.from('0900010076657468000000000c0002', 'hex')), { kind: 'veth' }, 'truncated data ignored');
  assert.deepEqual(parseLinkInfo(Buffer.from('ffff0100', 'hex')), {}, 'a length past the end');
  assert.deepEqual(parseLinkInfo(undefined), {});
});

const OWNER = 'abcd1234';
const spec = (name: string, extra: Partial<VirtualLinkSpec> = {}): VirtualLinkSpec => ({
  name,
  kind: 'macvlan',
  base: 'eth0',
  mac: '00:00:5e:00:01:33',
  sysctls: 'ipv4',
  ipv6: false,
  addresses: [],
  instance: 'VI_1',
  ...extra,
});
const macvlan = (index: number, name: string, mac: string, alias?: string, base = 1): HostLink => ({ index, name, kind: 'macvlan', macvlanMode: 1, baseIndex: base, mac, ...(alias ? { alias } : {}) });
const eth0: HostLink = { index: 1, name: 'eth0', mac: '02:00:00:00:00:01' };

test('plan: make what is missing, keep what is right (ours or an exact leftover), replace ours when wrong, remove our stale links first', () => {
  const ours = ownerAlias(OWNER, 'VI_1');
  assert.deepEqual(planLinks([eth0], [spec('vrrp.51')], OWNER).steps.map((s) => s.op), ['create']);
  const kept = planLinks([eth0, macvlan(2, 'vrrp.51', '00:00:5e:00:01:33', ours)], [spec('vrrp.51')], OWNER);
  assert.deepEqual(kept.steps.map((s) => [s.op, s.op === 'keep' && s.adopted]), [['keep', false]]);
  const leftover = planLinks([eth0, macvlan(2, 'vrrp.51', '00:00:5e:00:01:33')], [spec('vrrp.51')], OWNER);
  assert.deepEqual(leftover.steps.map((s) => [s.op, s.op === 'keep' && s.adopted]), [['keep', true]], "keepalived's own leftover, exactly right: reused");
  const wrong = planLinks([eth0, macvlan(2, 'vrrp.51', '00:00:5e:00:01:34', ours)], [spec('vrrp.51')], OWNER);
  assert.deepEqual(wrong.steps.map((s) => `${s.op}${s.op === 'remove' ? ` ${s.why}` : ''}`), ['remove replace', 'create']);
  const stale = planLinks([eth0, macvlan(2, 'old.51', '00:00:5e:00:01:33', ours), macvlan(3, 'theirs', '02:aa:00:00:00:01', 'keepwatch ffffffff VI_9')], [spec('vrrp.51')], OWNER);
  assert.deepEqual(stale.steps.map((s) => `${s.op} ${s.op === 'remove' ? s.link.name : s.spec.name}`), ['remove old.51', 'create vrrp.51'], "another agent's link is not stale for us");
  assert.deepEqual(stale.problems, [], 'the MAC of a stale link of ours is free once it goes');
});

test('plan: links that are not ours are never touched; a missing base; a MAC held by another macvlan', () => {
  const foreignSameName = planLinks([eth0, { index: 2, name: 'vrrp.51', kind: 'veth', mac: '02:00:00:00:00:09' }], [spec('vrrp.51')], OWNER);
  assert.deepEqual(foreignSameName.steps, []);
  assert.deepEqual(foreignSameName.problems.map((p) => p.message), [
    "cannot make vrrp.51 (macvlan for vrrp_instance VI_1): an interface of that name exists (a veth with MAC 02:00:00:00:00:09) and is not keepwatch's; it is left alone: remove it, or name the link (use_vmac NAME / use_ipvlan NAME)",
  ]);
  const foreignWrongMac = planLinks([eth0, macvlan(2, 'vrrp.51', '02:00:00:00:00:09')], [spec('vrrp.51')], OWNER);
  assert.equal(foreignWrongMac.problems.length, 1);
  assert.match(foreignWrongMac.problems[0]!.message, /a macvlan on eth0 with MAC 02:00:00:00:00:09\) and is not keepwatch's/);
  const macTaken = planLinks([eth0, macvlan(2, 'kavmac', '00:00:5e:00:01:33')], [spec('vrrp.51')], OWNER);
  assert.deepEqual(macTaken.problems.map((p) => p.message), ["cannot make vrrp.51 (macvlan for vrrp_instance VI_1): kavmac already has MAC 00:00:5e:00:01:33 on eth0 and is not keepwatch's; the kernel allows one macvlan per MAC on an interface"]);
  assert.deepEqual(planLinks([], [spec("vrrp.51")], OWNER).problems.map((p) => p.message), ['cannot make vrrp.51 (macvlan for vrrp_instance VI_1): its interface eth0 does not exist']);
});

test('the adapter: made in order (link, alias, settings, IPv6, up, addresses), marked ours, kept on a second run, removed at stop', async () => {
  const k = new FakeLinkKernel();
  k.addLink({ name: 'eth0', mac: '02:00:00:00:00:01', group: 7 });
  const links = new NetlinkVirtualLinks(k, OWNER, k);
  const v6 = spec('vrrp6.51', { mac: '00:00:5e:00:02:33', sysctls: 'ipv6', ipv6: true, addresses: [{ address: 'fe80::1', prefixLength: 64 }] });
  const changes = await links.reconcile([spec('vrrp.51'), v6]);
  assert.deepEqual(changes.map((c) => `${c.action} ${c.name}`), ['created vrrp.51', 'created vrrp6.51']);
  assert.deepEqual(k.log, [
    'new vrrp.51', 'set vrrp.51 alias', 'set vrrp.51 afspec', 'set vrrp.51 up',
    'new vrrp6.51', 'set vrrp6.51 alias', 'set vrrp6.51 afspec', 'set vrrp6.51 up', 'addr vrrp6.51',
  ]);
  const l = k.byName('vrrp.51')!;
  assert.deepEqual([l.mac, l.alias, l.group, l.up, l.allmulti, k.kindOf('vrrp.51')], ['00:00:5e:00:01:33', 'keepwatch abcd1234 VI_1', 7, true, true, 'macvlan']);
  assert.equal(hex(rtattr(10, l.afSpec!.get(10)!)), IPROUTE2.addrGenNone);
  // keepalived's settings: on the IPv4 link and its base; IPv6 off there; the IPv6 link only arp_ignore.
  const sys = (p: string) => k.sysctls.get(p);
  assert.deepEqual(['arp_ignore', 'accept_local', 'rp_filter', 'promote_secondaries'].map((x) => sys(`net/ipv4/conf/vrrp.51/${x}`)), ['1', '1', '0', '1']);
  assert.deepEqual([sys('net/ipv4/conf/eth0/arp_ignore'), sys('net/ipv4/conf/eth0/arp_filter')], ['1', '1']);
  assert.equal(sys('net/ipv6/conf/vrrp.51/disable_ipv6'), '1');
  assert.deepEqual([sys('net/ipv4/conf/vrrp6.51/arp_ignore'), sys('net/ipv4/conf/vrrp6.51/accept_local'), sys('net/ipv6/conf/vrrp6.51/disable_ipv6')], ['1', '0', '0']);
  const ll = k.byName('vrrp6.51')!.addresses[0]!;
  assert.deepEqual([ll.address.toString('hex'), ll.prefixlen, ll.scope, ll.nodad], ['fe800000000000000000000000000001', 64, 253, true]);

  // A second start (after a crash): nothing made again.
  k.log.length = 0;
  const again = await new NetlinkVirtualLinks(k, OWNER, k).reconcile([spec('vrrp.51'), v6]);
  assert.deepEqual(again.map((c) => `${c.action} ${c.name}`), ['kept vrrp.51', 'kept vrrp6.51']);
  assert.ok(!k.log.some((x) => x.startsWith('new') || x.startsWith('del')), k.log.join(', '));

  const removed = await links.removeAll();
  assert.deepEqual(removed.map((c) => `${c.action} ${c.name}`), ['removed vrrp.51', 'removed vrrp6.51']);
  assert.deepEqual([...k.links.values()].map((x) => x.name), ['eth0']);
  assert.deepEqual([sys('net/ipv4/conf/eth0/arp_ignore'), sys('net/ipv4/conf/eth0/arp_filter')], ['0', '0'], "the base's settings put back");
});

test("the adapter: rp_filter as keepalived clears it (all to 0, no interface filtering less) and puts it back", async () => {
  const k = new FakeLinkKernel();
  k.addLink({ name: 'eth0', mac: '02:00:00:00:00:01' });
  k.addLink({ name: 'eth1', mac: '02:00:00:00:00:02' });
  k.sysctls.set('net/ipv4/conf/all/rp_filter', '2');
  k.sysctls.set('net/ipv4/conf/default/rp_filter', '1');
  k.sysctls.set('net/ipv4/conf/eth0/rp_filter', '0');
  k.sysctls.set('net/ipv4/conf/eth1/rp_filter', '2');
  const links = new NetlinkVirtualLinks(k, OWNER, k);
  await links.reconcile([spec('vrrp.51')]);
  const rp = (i: string) => k.sysctls.get(`net/ipv4/conf/${i}/rp_filter`);
  assert.deepEqual(['all', 'default', 'eth0', 'eth1', 'vrrp.51'].map(rp), ['0', '2', '2', '2', '0']);
  await links.removeAll();
  assert.deepEqual(['all', 'default', 'eth0', 'eth1'].map(rp), ['2', '1', '0', '2']);
});

test('the adapter: refusals change nothing; a kernel without ipvlan; stale links of ours go, base settings follow the last link', async () => {
  const k = new FakeLinkKernel();
  k.addLink({ name: 'eth0', mac: '02:00:00:00:00:01' });
  k.addLink({ name: 'vrrp.51', mac: '02:00:00:00:00:09' });
  const links = new NetlinkVirtualLinks(k, OWNER, k);
  await assert.rejects(links.reconcile([spec('vrrp.51')]), (e: unknown) => e instanceof HostError && e.kind === 'interface' && /is not keepwatch's; it is left alone/.test(e.message));
  assert.deepEqual(k.log, [], 'nothing changed');
  assert.deepEqual(await links.check([spec('vrrp.51')]), [
    {
      name: 'vrrp.51',
      message: "cannot make vrrp.51 (macvlan for vrrp_instance VI_1): an interface of that name exists (an interface with MAC 02:00:00:00:00:09) and is not keepwatch's; it is left alone: remove it, or name the link (use_vmac NAME / use_ipvlan NAME)",
    },
  ]);

  k.unsupported.add('ipvlan');
  await assert.rejects(links.reconcile([spec('iv0', { kind: 'ipvlan', sysctls: 'none', ipvlanMode: 'private' })]), /making iv0, an L2 ipvlan \(private\) on eth0 for vrrp_instance VI_1, failed: this kernel cannot make that kind of link/);

  // Two links of ours on eth0: the base's settings stay until the last one goes.
  const two = [spec('a.51'), spec('b.52', { mac: '00:00:5e:00:01:34' })];
  await links.reconcile(two);
  assert.equal(k.sysctls.get('net/ipv4/conf/eth0/arp_ignore'), '1');
  const changes = await links.reconcile([two[1]!]);
  assert.deepEqual(changes.map((c) => `${c.action} ${c.name}`), ['removed a.51', 'kept b.52']);
  assert.equal(k.sysctls.get('net/ipv4/conf/eth0/arp_ignore'), '1', 'b.52 still needs it');
  await links.reconcile([]);
  assert.equal(k.sysctls.get('net/ipv4/conf/eth0/arp_ignore'), '0');
  assert.ok(k.byName('vrrp.51'), 'the link that is not ours is still there');
});
