/**
 * use_vmac, use_vmac_addr, vmac_xmit_base, use_ipvlan, a VIP's use_vmac and vmac_prefix /
 * vmac_addr_prefix, read as keepalived 2.2.7 reads them (vrrp_parser.c vrrp_vmac_handler,
 * vrrp_ipvlan_handler; vrrp.c vrrp_complete_instance, create_vmac_name).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic, parseConfigText, summarizeInstance, type KeepalivedConfig } from '../../../src/config/index.js';
import { defaultLinkName, devNameValid, parseVmacMac, virtualRouterMac } from '../../../src/config/vmac.js';
import { sameIdentity } from '../../../src/core/router.js';

const load = (text: string) => {
  const r = parseConfigText(text, 'v.conf');
  return { config: r.config, diags: r.diagnostics.map(formatDiagnostic) };
};
const ok = (text: string): { config: KeepalivedConfig; diags: string[] } => {
  const r = load(text);
  assert.ok(r.config, r.diags.join('\n'));
  return { config: r.config, diags: r.diags };
};
/** An instance `V` (vrid 51 on eth0) with `body` and the VIPs. */
const inst = (body: string, vips = '10.0.0.1/24', name = 'V', vrid = 51, iface = 'eth0'): string =>
  `vrrp_instance ${name} {\n    interface ${iface}\n    virtual_router_id ${vrid}\n${body}    virtual_ipaddress {\n        ${vips}\n    }\n}\n`;
const linkOf = (c: KeepalivedConfig, i = 0) => {
  const v = c.instances[i]!.vmac;
  if (!v) return undefined;
  const { location: _location, ...rest } = v;
  return rest;
};

test('the RFC 5798 virtual router MAC: 00:00:5e:00:01:VRID for IPv4, :02: for IPv6', () => {
  assert.equal(virtualRouterMac('ipv4', 51), '00:00:5e:00:01:33');
  assert.equal(virtualRouterMac('ipv6', 255), '00:00:5e:00:02:ff');
  assert.equal(virtualRouterMac('ipv4', 1), '00:00:5e:00:01:01');
});

test('use_vmac MACs as keepalived reads them: 6 octets, or 5 (the VRID is the sixth); 1-2 hex digits each', () => {
  assert.deepEqual(parseVmacMac('02:11:22:33:44:55'), { octets: [2, 0x11, 0x22, 0x33, 0x44, 0x55], vridLast: false });
  assert.deepEqual(parseVmacMac('2:a:B:c:d'), { octets: [2, 10, 11, 12, 13], vridLast: true });
  assert.deepEqual(parseVmacMac('02:11:22:33:44:'), { octets: [2, 0x11, 0x22, 0x33, 0x44], vridLast: true }, 'a trailing colon');
  assert.deepEqual(parseVmacMac('02:11:22:33:44:55:'), { octets: [2, 0x11, 0x22, 0x33, 0x44, 0x55], vridLast: false });
  for (const bad of ['02:11:22:33', '02:11:22:33:44:55:66', '02:11:22:333:44', '02::22:33:44:55', '02:11:22:33:44:5g', ':02:11:22:33:44']) {
    assert.equal(parseVmacMac(bad), undefined, bad);
  }
});

test('interface names: the kernel rule keepalived copies (dev_name_valid)', () => {
  for (const good of ['vrrp.51', 'a', 'x'.repeat(15), 'vmac-db_1']) assert.ok(devNameValid(good), good);
  for (const bad of ['', '.', '..', 'x'.repeat(16), 'a/b', 'a:b', 'a b']) assert.ok(!devNameValid(bad), bad);
});

test('default names: PREFIX.VRID, then PREFIXn.VRID (IPv6 tries 6 first), the prefix cut to fit 15 bytes', () => {
  const taken = (...names: string[]) => (n: string) => names.includes(n);
  assert.equal(defaultLinkName('vrrp', 51, 'ipv4', taken()), 'vrrp.51');
  assert.equal(defaultLinkName('vrrp', 51, 'ipv4', taken('vrrp.51')), 'vrrp1.51');
  assert.equal(defaultLinkName('vrrp', 51, 'ipv4', taken('vrrp.51', 'vrrp1.51')), 'vrrp2.51');
  assert.equal(defaultLinkName('vrrp', 51, 'ipv6', taken('vrrp.51')), 'vrrp6.51');
  assert.equal(defaultLinkName('vrrp', 51, 'ipv6', taken('vrrp.51', 'vrrp6.51')), 'vrrp1.51');
  assert.equal(defaultLinkName('vrrp', 51, 'ipv6', taken('vrrp.51', 'vrrp6.51', 'vrrp1.51', 'vrrp2.51', 'vrrp3.51', 'vrrp4.51', 'vrrp5.51')), 'vrrp7.51');
  assert.equal(defaultLinkName('averylongprefix', 255, 'ipv4', taken()), 'averylongpr.255');
  assert.equal(defaultLinkName('averylongprefix', 255, 'ipv4', taken('averylongpr.255')), 'averylongp1.255');
});

test("use_vmac: a private macvlan vrrp.<vrid> with the virtual router MAC; the instance's VIPs live on it", () => {
  const { config, diags } = ok(inst('    use_vmac\n', '10.0.0.1/24\n        10.0.0.2/24 dev eth0\n        10.9.0.1/24 dev eth1'));
  assert.deepEqual(diags, []);
  assert.deepEqual(linkOf(config), { kind: 'macvlan', name: 'vrrp.51', base: 'eth0', mac: '00:00:5e:00:01:33', family: 'ipv4', xmitBase: false });
  assert.deepEqual(config.instances[0]!.vmac!.location, { file: 'v.conf', line: 4, column: 5 });
  // `dev eth0` is the instance's interface: on the vmac too. Another interface stays (no use_vmac_addr).
  assert.deepEqual(config.instances[0]!.virtualAddresses.map((v) => v.device), ['vrrp.51', 'vrrp.51', 'eth1']);
  assert.equal(config.instances[0]!.interface, 'eth0', 'the instance keeps its interface');
});

test('use_vmac NAME MAC in either order; 5 octets take the VRID; IPv6 takes 00:00:5e:00:02:VRID', () => {
  const a = ok(inst('    use_vmac 02:11:22:33:44 vm51\n')).config;
  assert.deepEqual(linkOf(a), { kind: 'macvlan', name: 'vm51', base: 'eth0', mac: '02:11:22:33:44:33', family: 'ipv4', xmitBase: false });
  const b = ok(inst('    use_vmac vm51 2:11:22:33:44:55\n')).config;
  assert.equal(b.instances[0]!.vmac!.mac, '02:11:22:33:44:55');
  const v6 = ok(inst('    use_vmac\n', 'fe80::51\n        fd00::51/64', 'V', 200)).config;
  assert.deepEqual(linkOf(v6), { kind: 'macvlan', name: 'vrrp.200', base: 'eth0', mac: '00:00:5e:00:02:c8', family: 'ipv6', xmitBase: false });
});

test('use_vmac errors carry file:line:col; keepalived adjustments are warnings', () => {
  assert.deepEqual(load(inst('    use_vmac 03:11:22:33:44:55\n')).diags, [
    "v.conf:4:14: error: use_vmac MAC address '03:11:22:33:44:55' is a multicast address (the first octet is odd); a link needs a unicast MAC",
  ]);
  assert.deepEqual(load(inst('    use_vmac 02:11:22:33\n')).diags, [
    "v.conf:4:14: error: invalid MAC address '02:11:22:33' for use_vmac: expected 6 hex octets separated by ':', or 5 (the virtual_router_id is then the sixth)",
  ]);
  assert.deepEqual(load(inst('    use_vmac a/b\n')).diags, ["v.conf:4:14: error: invalid interface name 'a/b' for use_vmac: at most 15 characters, not . or .., without /, : or white space"]);
  assert.deepEqual(load(inst('    use_vmac one two\n')).diags, ["v.conf:4:18: error: use_vmac takes one interface name; 'two' is a second one"]);
  assert.deepEqual(load(inst('    use_vmac eth0\n')).diags, ["v.conf:4:14: error: the link's name 'eth0' is vrrp_instance V's own interface; name the new link something else"]);
  assert.deepEqual(load(inst('    use_vmac a b c\n')).diags, ["v.conf:4:18: error: unexpected extra argument 'c' for 'use_vmac'"]);
  const rfc = ok(inst('    use_vmac 00:00:5e:00:01:07\n'));
  assert.deepEqual(rfc.diags, [
    "v.conf:4:14: warning: use_vmac MAC address 00:00:5e:00:01:07 is an RFC 5798 virtual router MAC; keepalived ignores it and uses 00:00:5e:00:01:33 (the one of the instance's family and virtual_router_id)",
  ]);
  assert.equal(rfc.config.instances[0]!.vmac!.mac, '00:00:5e:00:01:33');
  const strict = ok(`global_defs {\n    vrrp_strict\n}\n${inst('    use_vmac 02:11:22:33:44:55\n    priority 100\n    version 3\n')}`);
  assert.ok(strict.diags.includes('v.conf:7:14: warning: a use_vmac MAC address cannot be set in strict mode; keepalived clears it and vrrp_instance V uses the RFC 5798 virtual router MAC'), strict.diags.join('\n'));
  assert.equal(strict.config.instances[0]!.vmac!.mac, '00:00:5e:00:01:33');
});

test('vmac_xmit_base: only with use_vmac; refused in strict mode; forced with unicast peers', () => {
  const x = ok(inst('    use_vmac\n    vmac_xmit_base\n')).config;
  assert.equal(x.instances[0]!.vmac!.xmitBase, true);
  assert.deepEqual(load(inst('    vmac_xmit_base\n')).diags, ['v.conf:4:5: warning: vmac_xmit_base is only valid with use_vmac; ignored (as keepalived does)']);
  const uni = ok(inst('    use_vmac\n    unicast_peer {\n        10.0.0.9\n    }\n'));
  assert.deepEqual(uni.diags, ['v.conf:4:5: warning: use_vmac with unicast_peer needs vmac_xmit_base; keepalived sets it (adverts go out on eth0)']);
  assert.equal(uni.config.instances[0]!.vmac!.xmitBase, true);
  const strict = ok(`global_defs {\n    vrrp_strict\n}\n${inst('    use_vmac\n    vmac_xmit_base\n    priority 100\n    version 3\n')}`);
  assert.ok(strict.diags.includes('v.conf:8:5: warning: vmac_xmit_base is not allowed in strict mode; keepalived resets it (adverts go out on the vmac)'), strict.diags.join('\n'));
  assert.equal(strict.config.instances[0]!.vmac!.xmitBase, false);
});

test('names across instances: a written name twice is an error; defaults avoid written names and each other', () => {
  const two = load(inst('    use_vmac vm\n') + inst('    use_vmac vm\n', '10.0.0.2/24', 'W', 52));
  assert.deepEqual(two.diags, ["v.conf:12:14: error: use_vmac name 'vm' is already used by vrrp_instance V (v.conf:4:14); every instance needs a link of its own"]);
  // The same VRID on two interfaces (legal): vrrp.51, then vrrp1.51. A later written name is skipped.
  const c = ok(inst('    use_vmac\n') + inst('    use_vmac\n', '10.0.1.1/24', 'W', 51, 'eth1') + inst('    use_vmac vrrp2.51\n', '10.0.2.1/24', 'X', 51, 'eth2')).config;
  assert.deepEqual(c.instances.map((i) => i.vmac!.name), ['vrrp.51', 'vrrp1.51', 'vrrp2.51']);
  const d = ok(inst('    use_vmac\n') + inst('    use_vmac\n', '10.0.1.1/24', 'W', 51, 'eth1') + inst('    use_vmac vrrp1.51\n', '10.0.2.1/24', 'X', 51, 'eth2')).config;
  assert.deepEqual(d.instances.map((i) => i.vmac!.name), ['vrrp.51', 'vrrp2.51', 'vrrp1.51'], 'a name written later is not given out');
  const p = ok(`global_defs {\n    vmac_prefix vm\n}\n${inst('    use_vmac\n')}`).config;
  assert.equal(p.instances[0]!.vmac!.name, 'vm.51');
  assert.deepEqual(load(`global_defs {\n    vmac_prefix a/b\n}\n${inst('    use_vmac\n')}`).diags, [
    "v.conf:2:17: error: invalid vmac_prefix 'a/b': it starts interface names (at most 15 characters, not . or .., without /, : or white space)",
  ]);
});

test("use_vmac_addr / a VIP's use_vmac: a macvlan per interface and family for VIPs elsewhere; sharing and warnings", () => {
  const body = '    use_vmac\n    use_vmac_addr\n';
  const text = `vrrp_instance V {\n    interface eth0\n    virtual_router_id 51\n${body}    virtual_ipaddress {\n        10.0.0.1/24\n        10.1.0.1/24 dev eth1\n        10.1.0.2/24 dev eth1\n    }\n    virtual_ipaddress_excluded {\n        fd00::1/64\n    }\n}\n`;
  const { config, diags } = ok(text);
  assert.deepEqual(diags, []);
  const i = config.instances[0]!;
  assert.deepEqual([...i.virtualAddresses, ...i.virtualAddressesExcluded].map((v) => `${v.address}@${v.device}`), ['10.0.0.1@vrrp.51', '10.1.0.1@vrrp1.51', '10.1.0.2@vrrp1.51', 'fd00::1@vrrp6.51']);
  assert.deepEqual(i.extraVmacs!.map(({ location: _l, ...l }) => l), [
    { kind: 'macvlan', name: 'vrrp1.51', base: 'eth1', mac: '00:00:5e:00:01:33', family: 'ipv4', xmitBase: false },
    { kind: 'macvlan', name: 'vrrp6.51', base: 'eth0', mac: '00:00:5e:00:02:33', family: 'ipv6', xmitBase: false },
  ]);
  // A VIP's own use_vmac (no use_vmac on the instance): that VIP gets a macvlan on its interface.
  const perVip = ok(inst('', '10.0.0.1/24\n        10.1.0.1/24 dev eth1 use_vmac')).config.instances[0]!;
  assert.equal(perVip.vmac, undefined);
  assert.deepEqual(perVip.virtualAddresses.map((v) => v.device), [undefined, 'vrrp.51']);
  assert.equal(perVip.extraVmacs![0]!.base, 'eth1');
  // Redundant: warned as keepalived warns.
  assert.deepEqual(ok(inst('    use_vmac\n', '10.0.0.1/24 use_vmac')).diags, ["v.conf:6:9: warning: 'use_vmac' for 10.0.0.1 repeats the instance's use_vmac: it lives on vrrp.51 anyway (keepalived warns too)"]);
  assert.deepEqual(ok(inst('    use_vmac_addr\n', '10.0.0.1/24\n        10.1.0.1/24 dev eth1 use_vmac')).diags, [
    "v.conf:7:9: warning: 'use_vmac' for 10.1.0.1 repeats use_vmac_addr, which gives it a macvlan anyway (keepalived warns too)",
  ]);
  assert.deepEqual(load('static_ipaddress {\n    10.0.0.9/24 dev eth0 use_vmac\n}\n').diags, ["v.conf:2:26: error: 'use_vmac' is not an option of static_ipaddress (only of a VRRP instance's addresses)"]);
});

test('two instances with one VRID, family and interface MAC share the macvlan (keepalived finds the match); a second name for it is an error', () => {
  // VRID 51 IPv6 on eth0: V's use_vmac_addr macvlan for its IPv6 eVIP, then W's own vmac: one link.
  const text = `vrrp_instance V {\n    interface eth0\n    virtual_router_id 51\n    use_vmac\n    use_vmac_addr\n    virtual_ipaddress {\n        10.0.0.1/24\n    }\n    virtual_ipaddress_excluded {\n        fd00::1/64\n    }\n}\n${inst('    use_vmac\n', 'fe80::51\n        fd00::51/64', 'W')}`;
  const c = ok(text).config;
  assert.equal(c.instances[1]!.vmac!.name, c.instances[0]!.extraVmacs![0]!.name);
  const named = `vrrp_instance V {\n    interface eth0\n    virtual_router_id 51\n    use_vmac\n    use_vmac_addr\n    virtual_ipaddress {\n        10.0.0.1/24\n    }\n    virtual_ipaddress_excluded {\n        fd00::1/64\n    }\n}\n${inst('    use_vmac other\n', 'fe80::51\n        fd00::51/64', 'W')}`;
  assert.deepEqual(load(named).diags, ['v.conf:16:5: error: vrrp_instance W would make a second macvlan with MAC 00:00:5e:00:02:33 on eth0, but vrrp6.51 (vrrp_instance V) has it: the kernel allows one; drop the name to share it']);
});

test('use_ipvlan [NAME] [ADDRESS[/PREFIX]] [bridge|private|vepa]: the adverts use it, the VIPs stay on the interface', () => {
  const { config } = ok(inst('    use_ipvlan 10.0.0.5/24 private iv0\n'));
  assert.deepEqual(linkOf(config), { kind: 'ipvlan', name: 'iv0', base: 'eth0', family: 'ipv4', xmitBase: false, ipvlanMode: 'private', address: { address: '10.0.0.5', prefixLength: 24 } });
  assert.deepEqual(config.instances[0]!.virtualAddresses.map((v) => v.device), [undefined]);
  const v6 = ok(inst('    use_ipvlan\n', 'fe80::51\n        fd00::51/64')).config;
  assert.deepEqual(linkOf(v6), { kind: 'ipvlan', name: 'vrrp.51', base: 'eth0', family: 'ipv6', xmitBase: false, ipvlanMode: 'bridge' });
  assert.deepEqual(load(inst('    use_ipvlan iv0\n')).diags, [
    'v.conf:4:5: error: use_ipvlan on an IPv4 instance needs an address for the ipvlan (its adverts\' source); keepalived puts vrrp_instance V in FAULT without one',
  ]);
  assert.deepEqual(load(inst('    use_ipvlan fd00::5 bridge\n')).diags, [
    "v.conf:4:5: error: use_ipvlan on an IPv4 instance needs an address for the ipvlan (its adverts' source); keepalived puts vrrp_instance V in FAULT without one",
    'v.conf:4:16: error: use_ipvlan address fd00::5 is IPv6 but vrrp_instance V is IPv4 (keepalived skips it)',
  ]);
  assert.deepEqual(load(inst('    use_ipvlan 10.0.0.5 vepa private\n')).diags, ["v.conf:4:30: error: use_ipvlan takes one mode (bridge, private or vepa); 'private' is a second one"]);
  assert.deepEqual(load(inst('    use_vmac\n    use_ipvlan 10.0.0.5\n')).diags, ['v.conf:5:5: error: use_vmac and use_ipvlan cannot both be used in vrrp_instance V (use_vmac is at v.conf:4:5)']);
});

test('a changed link is a change of identity (the instance restarts on reload); an unchanged one is not', () => {
  const a = ok(inst('    use_vmac\n')).config.instances[0]!;
  const b = ok(inst('    use_vmac\n    priority 120\n')).config.instances[0]!;
  const c = ok(inst('    use_vmac other\n')).config.instances[0]!;
  const d = ok(inst('')).config.instances[0]!;
  assert.ok(sameIdentity(a, b));
  assert.ok(!sameIdentity(a, c));
  assert.ok(!sameIdentity(a, d));
});

test('keepwatch -t shows the link: vmac NAME (MAC), where adverts go with vmac_xmit_base, or the ipvlan', () => {
  assert.match(summarizeInstance(ok(inst('    use_vmac\n')).config.instances[0]!), /, vmac vrrp\.51 \(00:00:5e:00:01:33\)$/);
  assert.match(summarizeInstance(ok(inst('    use_vmac\n    vmac_xmit_base\n')).config.instances[0]!), /, vmac vrrp\.51 \(00:00:5e:00:01:33\), adverts on eth0$/);
  assert.match(summarizeInstance(ok(inst('    use_ipvlan iv0 10.0.0.5/24\n')).config.instances[0]!), /, ipvlan iv0 \(10\.0\.0\.5\/24\)$/);
});
