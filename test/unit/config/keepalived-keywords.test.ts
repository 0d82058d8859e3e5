/**
 * What issue 14 point 6's keywords mean once read (keepalived 2.2.7's vrrp_parser.c,
 * global_parser.c and vrrp_complete_instance are the reference): the model's values, keepalived's
 * defaults and strict-mode rules, and the warnings where keepalived adjusts or ignores a setting.
 * The behaviour they drive is tested in test/unit/core/keepalived-keywords.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic, parseConfigText, type KeepalivedConfig } from '../../../src/config/index.js';
import type { VrrpInstanceConfig } from '../../../src/config/model.js';

const read = (text: string): { config: KeepalivedConfig | undefined; diags: string[] } => {
  const r = parseConfigText(text, 'k.conf');
  return { config: r.config, diags: r.diagnostics.map(formatDiagnostic) };
};
const ok = (text: string): { config: KeepalivedConfig; diags: string[] } => {
  const r = read(text);
  assert.ok(r.config, r.diags.join('\n'));
  return { config: r.config, diags: r.diags };
};
const inst = (body: string, { name = 'V', vrid = 9, vips = '10.0.0.1' } = {}): string =>
  `vrrp_instance ${name} {\n    interface eth0\n    virtual_router_id ${vrid}\n${body}    virtual_ipaddress {\n        ${vips}\n    }\n}\n`;
const one = (text: string): { i: VrrpInstanceConfig; diags: string[] } => {
  const { config, diags } = ok(text);
  return { i: config.instances[0]!, diags };
};
const global = (body: string): string => `global_defs {\n${body}}\n`;

test('accept mode: on by default, off with no_accept or in strict mode, always on for an address owner; the last of accept/no_accept wins', () => {
  assert.equal(one(inst('')).i.accept, true);
  assert.equal(one(inst('    no_accept\n')).i.accept, false);
  assert.equal(one(inst('    no_accept\n    accept\n')).i.accept, true);
  assert.equal(one(inst('    accept\n    no_accept\n')).i.accept, false);
  assert.equal(one(global('    vrrp_strict\n') + inst('')).i.accept, false, 'strict: no_accept unless written');
  assert.equal(one(inst('    strict_mode\n    version 3\n    accept\n')).i.accept, true, 'VRRPv3 in strict mode may accept');
  assert.equal(one(inst('    priority 255\n    no_accept\n')).i.accept, true, 'an owner takes its own traffic (keepalived skips the rules)');
  const v2 = one(inst('    strict_mode\n    accept\n'));
  assert.equal(v2.i.accept, false);
  assert.deepEqual(v2.diags, ['k.conf:5:5: warning: accept mode for VRRPv2 does not comply with RFC 3768; keepalived resets it in strict mode (no_accept)']);
});

test('lower_prio_no_advert and higher_prio_send_advert: off by default, global defaults, strict mode forces them', () => {
  const d = one(inst('')).i;
  assert.deepEqual([d.lowerPrioNoAdvert, d.higherPrioSendAdvert], [false, false]);
  const g = one(global('    vrrp_lower_prio_no_advert\n    vrrp_higher_prio_send_advert true\n') + inst('')).i;
  assert.deepEqual([g.lowerPrioNoAdvert, g.higherPrioSendAdvert], [true, true]);
  const own = one(global('    vrrp_lower_prio_no_advert\n    vrrp_higher_prio_send_advert\n') + inst('    lower_prio_no_advert off\n    higher_prio_send_advert no\n')).i;
  assert.deepEqual([own.lowerPrioNoAdvert, own.higherPrioSendAdvert], [false, false], 'the instance wins');
  const strict = one(global('    vrrp_strict\n    vrrp_higher_prio_send_advert\n') + inst('')).i;
  assert.deepEqual([strict.lowerPrioNoAdvert, strict.higherPrioSendAdvert], [true, false], 'strict: the RFC behaviour');
  const written = one(inst('    strict_mode\n    lower_prio_no_advert false\n    higher_prio_send_advert\n'));
  assert.deepEqual([written.i.lowerPrioNoAdvert, written.i.higherPrioSendAdvert], [true, false]);
  assert.deepEqual(written.diags, [
    'k.conf:5:26: warning: strict mode requires lower_prio_no_advert; keepalived turns it back on',
    'k.conf:6:5: warning: strict mode requires higher_prio_send_advert to be off; keepalived turns it off',
  ]);
});

test('mcast_dst_ip: the instance group; ignored with a warning for the other family, a non-multicast or non-link-local IPv6 group, or unicast', () => {
  assert.equal(one(inst('    mcast_dst_ip 224.0.0.19\n')).i.mcastGroup, '224.0.0.19');
  assert.equal(one(global('    vrrp_mcast_group4 224.0.0.20\n') + inst('')).i.mcastGroup, '224.0.0.20', 'the global group stays the default');
  assert.equal(one(global('    vrrp_mcast_group4 224.0.0.20\n') + inst('    mcast_dst_ip 224.0.0.21\n')).i.mcastGroup, '224.0.0.21');
  assert.equal(one(inst('    mcast_dst_ip ff02::19\n', { vips: 'fe80::9' })).i.mcastGroup, 'ff02::19');
  const cases: [string, string, string][] = [
    [inst('    mcast_dst_ip 10.0.0.9\n'), '224.0.0.18', 'k.conf:4:18: warning: mcast_dst_ip 10.0.0.9 is not a multicast address (224.0.0.0/4); ignored, adverts go to 224.0.0.18 (as keepalived does)'],
    [inst('    mcast_dst_ip ff02::19\n'), '224.0.0.18', 'k.conf:4:18: warning: mcast_dst_ip ff02::19 is IPv6 but vrrp_instance V is IPv4; ignored, adverts go to 224.0.0.18 (as keepalived does)'],
    [inst('    mcast_dst_ip ff05::19\n', { vips: 'fe80::9' }), 'ff02::12', 'k.conf:4:18: warning: mcast_dst_ip ff05::19 is not a link-local multicast address (ffX2::/16); ignored, adverts go to ff02::12 (as keepalived does)'],
    [inst('    mcast_dst_ip 224.0.0.19\n    unicast_peer {\n        10.0.0.3\n    }\n'), '224.0.0.18', 'k.conf:4:18: warning: mcast_dst_ip 224.0.0.19 has no effect with unicast_peer; ignored, adverts go to the unicast peers (as keepalived does)'],
  ];
  for (const [text, group, warning] of cases) {
    const r = one(text);
    assert.equal(r.i.mcastGroup, group);
    assert.deepEqual(r.diags, [warning]);
  }
});

test('mcast_dst_ip lets two instances share a VRID on one interface (keepalived check_vrid_conflicts)', () => {
  const { config } = ok(inst('    mcast_dst_ip 224.0.0.19\n', { name: 'A' }) + inst('    mcast_dst_ip 224.0.0.20\n', { name: 'B', vips: '10.0.0.2' }));
  assert.deepEqual(config.instances.map((i) => i.mcastGroup), ['224.0.0.19', '224.0.0.20']);
  const same = read(inst('', { name: 'A' }) + inst('    mcast_dst_ip 224.0.0.18\n', { name: 'B', vips: '10.0.0.2' }));
  assert.equal(same.config, undefined);
  assert.match(same.diags.join('\n'), /virtual_router_id 9 is already used on eth0 \(IPv4\) by vrrp_instance A/);
});

test('unicast_ttl: with unicast peers only; without them ignored with a warning (keepalived would stop sending)', () => {
  const peers = '    unicast_peer {\n        10.0.0.3\n    }\n';
  assert.equal(one(inst(`    unicast_ttl 7\n${peers}`)).i.unicastTtl, 7);
  assert.equal(one(inst(peers)).i.unicastTtl, undefined);
  assert.equal(one(inst(`    unicast_ttl 0\n${peers}`)).i.unicastTtl, 0);
  const lone = one(inst('    unicast_ttl 7\n'));
  assert.equal(lone.i.unicastTtl, undefined);
  assert.deepEqual(lone.diags, [
    'k.conf:4:17: warning: unicast_ttl has no effect without unicast_peer; ignored (keepalived says "resetting" but sets the TTL to 0 and its IPv4 adverts then never leave the host)',
  ]);
  assert.match(read(inst(`    unicast_ttl 256\n${peers}`)).diags.join('\n'), /k\.conf:4:17: error: invalid unicast_ttl '256': expected a whole number from 0 to 255/);
});

test('vrrp_min_garp: one GARP round, no second, where the settings still hold their defaults when it is read', () => {
  const g = (body: string) => ok(global(body) + inst('')).config;
  const plain = g('    vrrp_min_garp\n');
  assert.deepEqual([plain.global.vrrpGarpMasterRepeat, plain.global.vrrpGarpMasterDelayMs, plain.global.vrrpGarpMasterRefreshMs, plain.global.vrrpGarpMasterRefreshRepeat], [1, 0, 0, 0]);
  const i = plain.instances[0]!;
  assert.deepEqual([i.garpMasterRepeat, i.garpMasterDelayMs, i.garpLowerPrioRepeat, i.garpLowerPrioDelayMs], [1, 0, 1, 0], 'the instances and the lower-priority defaults follow');
  assert.equal(g('    vrrp_min_garp false\n').global.vrrpGarpMasterRepeat, 5);
  // keepalived compares with the default when vrrp_min_garp is read: a value written before it
  // that differs stays, one equal to the default is replaced, one written after it wins.
  assert.equal(g('    vrrp_garp_master_repeat 3\n    vrrp_min_garp\n').global.vrrpGarpMasterRepeat, 3);
  assert.equal(g('    vrrp_garp_master_repeat 5\n    vrrp_min_garp\n').global.vrrpGarpMasterRepeat, 1);
  assert.equal(g('    vrrp_min_garp\n    vrrp_garp_master_repeat 5\n').global.vrrpGarpMasterRepeat, 5);
  assert.equal(g('    vrrp_min_garp\n    vrrp_garp_master_delay 2\n').global.vrrpGarpMasterDelayMs, 2000);
  const own = ok(global('    vrrp_min_garp\n') + inst('    garp_master_repeat 3\n')).config.instances[0]!;
  assert.equal(own.garpMasterRepeat, 3, 'an instance setting still wins');
});

test('garp_extra_if: [all] N in either order, instance over global (0 = off), kept only with an interface to send on', () => {
  const vips = '10.0.0.1\n        10.1.0.1 dev eth1\n        10.1.0.2 dev eth1\n        10.2.0.1 dev eth2';
  const a = one(inst('    garp_extra_if all 60\n', { vips })).i;
  assert.deepEqual(a.garpExtraIf, { intervalMs: 60_000, all: true, interfaces: ['eth1', 'eth2'] });
  assert.deepEqual(one(inst('    garp_extra_if 30 all\n', { vips })).i.garpExtraIf?.intervalMs, 30_000);
  const fromGlobal = one(global('    vrrp_garp_extra_if all 100\n') + inst('', { vips })).i;
  assert.deepEqual(fromGlobal.garpExtraIf, { intervalMs: 100_000, all: true, interfaces: ['eth1', 'eth2'] });
  assert.equal(one(global('    vrrp_garp_extra_if all 100\n') + inst('    garp_extra_if 0\n', { vips })).i.garpExtraIf, undefined, 'the instance turns it off');
  // Without 'all' keepalived sends only on VIPs' macvlans; without another interface, nothing.
  const noAll = one(inst('    garp_extra_if 60\n', { vips }));
  assert.equal(noAll.i.garpExtraIf, undefined);
  assert.match(noAll.diags.join('\n'), /k\.conf:4:5: warning: garp_extra_if without 'all' sends only on the macvlans of VIPs \(use_vmac\), and vrrp_instance V has none on another interface: nothing is sent \(keepalived turns it off too\)/);
  const own = one(inst('    garp_extra_if all 60\n'));
  assert.equal(own.i.garpExtraIf, undefined);
  assert.deepEqual(own.diags, ['k.conf:4:5: warning: garp_extra_if: every VIP of vrrp_instance V is on its own link, so there is nothing to send (keepalived turns it off too)']);
  const old = one(inst('    vmac_garp_intvl all 60\n', { vips }));
  assert.equal(old.i.garpExtraIf?.intervalMs, 60_000);
  assert.deepEqual(old.diags, ["k.conf:4:5: warning: 'vmac_garp_intvl' is deprecated (keepalived 2.2.2); write 'garp_extra_if'"]);
  assert.deepEqual(read(inst('    garp_extra_if all\n', { vips })).diags, ['k.conf:4:5: error: garp_extra_if needs an interval in seconds (keepalived ignores it without one)']);
  assert.deepEqual(read(inst('    garp_extra_if all 86401\n', { vips })).diags, ["k.conf:4:23: error: invalid garp_extra_if '86401': expected 'all' or a whole number of seconds from 0 to 86400"]);
  assert.deepEqual(read(global('    vrrp_garp_extra_if 0\n') + inst('', { vips })).diags, ["k.conf:2:24: error: invalid vrrp_garp_extra_if '0': expected 'all' or a whole number of seconds from 1 to 86400"]);
});

test('dont_track_primary and skip_check_adv_addr are read into the model (their effect: core tests)', () => {
  const i = one(global('    vrrp_skip_check_adv_addr\n') + inst('    dont_track_primary\n')).i;
  assert.deepEqual([i.dontTrackPrimary, i.skipCheckAdvAddr], [true, true]);
  assert.equal(one(global('    vrrp_skip_check_adv_addr\n') + inst('    skip_check_adv_addr off\n')).i.skipCheckAdvAddr, false);
});

test('none of these keywords is "not acted on"', () => {
  const text =
    global('    vrrp_min_garp\n    vrrp_lower_prio_no_advert\n    vrrp_higher_prio_send_advert\n    vrrp_garp_extra_if all 60\n    vrrp_strict\n    vrrp_skip_check_adv_addr\n') +
    inst('    dont_track_primary\n    skip_check_adv_addr\n    mcast_dst_ip 224.0.0.19\n    accept\n    no_accept\n    lower_prio_no_advert\n    higher_prio_send_advert off\n    garp_extra_if all 60\n', {
      vips: '10.0.0.1\n        10.1.0.1 dev eth1',
    }) +
    inst('    unicast_ttl 9\n    unicast_peer {\n        10.0.0.3\n    }\n', { name: 'U', vrid: 10, vips: '10.0.0.2' }).replace('interface eth0', 'interface eth0\n    strict_mode off');
  const r = read(text);
  assert.ok(r.config, r.diags.join('\n'));
  assert.deepEqual(r.diags.filter((d) => /not acted on/.test(d)), []);
});
