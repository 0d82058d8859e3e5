/** Validation details not covered by the seed and broken corpora. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  closestMatch,
  editDistance,
  formatDiagnostic,
  parseConfigText,
  summarizeInstance,
  type ConfigLoadResult,
  type KeepalivedConfig,
} from '../../../src/config/index.js';
import { parseAddress, parseDecimalSecondsUs } from '../../../src/config/schema.js';
import { formatIpv6 } from '../../../src/protocol/inet.js';

const ok = (text: string): { config: KeepalivedConfig; diags: string[] } => {
  const r = parseConfigText(text, 'v.conf');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  return { config: r.config, diags: r.diagnostics.map(formatDiagnostic) };
};
const diags = (text: string): string[] => parseConfigText(text, 'v.conf').diagnostics.map(formatDiagnostic);
const inst = (body: string, vips = '10.0.0.1'): string =>
  `vrrp_instance V {\n    interface eth0\n    virtual_router_id 9\n${body}    virtual_ipaddress {\n        ${vips}\n    }\n}\n`;

test('Damerau-Levenshtein distance and did-you-mean thresholds', () => {
  assert.equal(editDistance('advent_int', 'advert_int'), 1);
  assert.equal(editDistance('intreval', 'interval'), 1, 'transposition counts 1');
  assert.equal(editDistance('notification_emial', 'notification_email'), 1);
  assert.equal(editDistance('virtual_routr_id', 'virtual_router_id'), 1);
  assert.equal(editDistance('abc', 'xyz'), 3);
  assert.equal(closestMatch('priorty', ['priority', 'preempt']), 'priority');
  assert.equal(closestMatch('stat', ['state']), 'state', 'short word, distance 1');
  assert.equal(closestMatch('sate', ['state', 'stat']), 'state');
  assert.equal(closestMatch('stae', ['preempt']), undefined);
  assert.equal(closestMatch('prio', ['priority']), undefined, 'short word: distance must be <= 1');
  assert.equal(closestMatch('Master', ['MASTER', 'BACKUP']), 'MASTER', 'case-only difference wins');
});

test('addresses: strict syntax, canonical IPv6 text', () => {
  assert.equal(parseAddress('FD00:0:0:0:0:0:0:1')?.address, 'fd00::1');
  assert.equal(parseAddress('2001:0db8:0:0:1:0:0:1')?.address, '2001:db8::1:0:0:1');
  assert.equal(parseAddress('::')?.address, '::');
  assert.equal(parseAddress('::1')?.address, '::1');
  assert.equal(parseAddress('fe80::')?.address, 'fe80::');
  assert.equal(parseAddress('::ffff:10.0.0.1')?.address, '::ffff:10.0.0.1');
  assert.equal(parseAddress('1:2:3:4:5:6:7::')?.address, '1:2:3:4:5:6:7:0');
  assert.equal(formatIpv6(Uint8Array.of(0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1)), '1:0:1:1:1:1:1:1', 'a single zero group is not compressed');
  assert.equal(formatIpv6(Uint8Array.of(0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1)), '1:0:0:1::1', 'the longest run is compressed');
  for (const bad of ['1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', '1.2.3.-4', ':::', '1::2::3', 'fe80::1%eth0', 'g::1', '1:2:3:4:5:6:7:8:9', '12345::', '', ' ']) {
    assert.equal(parseAddress(bad), undefined, bad);
  }
});

test('decimal seconds are exact', () => {
  assert.equal(parseDecimalSecondsUs('0.1', 6), 100000);
  assert.equal(parseDecimalSecondsUs('.5', 6), 500000);
  assert.equal(parseDecimalSecondsUs('3.', 6), 3000000);
  assert.equal(parseDecimalSecondsUs('0.0000001', 6), undefined);
  assert.equal(parseDecimalSecondsUs('1e3', 6), undefined);
  assert.equal(parseDecimalSecondsUs('-1', 6), undefined);
  assert.equal(parseDecimalSecondsUs('.', 6), undefined);
});

test('IPv6 instances are VRRPv3 with ff02::12; IPv6 text is canonical in the model', () => {
  const { config } = ok(inst('    advert_int 0.1\n', 'FE80::0:1\n        2001:DB8::10/64'));
  const v = config.instances[0]!;
  assert.deepEqual([v.family, v.version, v.advertIntervalMs, v.mcastGroup], ['ipv6', 3, 100, 'ff02::12']);
  assert.deepEqual(v.virtualAddresses.map((a) => [a.address, a.prefixLength]), [['fe80::1', 128], ['2001:db8::10', 64]]);
  assert.equal(
    summarizeInstance(v),
    'V: vrid 9 on eth0, VRRPv3, BACKUP prio 100, advert 0.1s, no auth, 2 VIPs (fe80::1, 2001:db8::10/64), multicast ff02::12',
  );
});

test('version: global vrrp_version, overridden by the instance', () => {
  const g = 'global_defs {\n    vrrp_version 3\n}\n';
  assert.equal(ok(g + inst('    advert_int 0.25\n')).config.instances[0]!.version, 3);
  assert.equal(ok(g + inst('    version 2\n')).config.instances[0]!.version, 2);
});

test('virtual_ipaddress options: brd + and -, scope, dev, label', () => {
  const { config } = ok(inst('', '10.0.0.3/24 brd + dev eth1 scope link label eth1:vip\n        10.0.0.4/22 broadcast -\n        10.0.0.5/24 brd 10.0.0.127 scope 200'));
  assert.deepEqual(
    config.instances[0]!.virtualAddresses.map((a) => [a.address, a.prefixLength, a.broadcast, a.device, a.scope, a.label]),
    [
      ['10.0.0.3', 24, '10.0.0.255', 'eth1', 'link', 'eth1:vip'],
      ['10.0.0.4', 22, '10.0.0.0', undefined, 'global', undefined],
      ['10.0.0.5', 24, '10.0.0.127', undefined, '200', undefined],
    ],
  );
});

test("notify commands as keepalived reads them: the command (a word or a quoted string, split again into argv), then [user [group]]", () => {
  const { config, diags: d } = ok(
    inst(`    notify_master "/path/x.sh arg 'b c'"\n    notify_backup /bin/b.sh  nobody nogroup extra\n    notify /bin/all.sh root\n    notify_stop /s\n    notify_fault "/f" nobody\n`),
  );
  const n = config.instances[0]!.notify;
  assert.deepEqual(
    [n.master, n.backup, n.generic, n.stop, n.fault].map((c) => [c?.command, c?.argv, c?.user, c?.group]),
    [
      ["/path/x.sh arg 'b c'", ['/path/x.sh', 'arg', 'b c'], undefined, undefined],
      ['/bin/b.sh', ['/bin/b.sh'], 'nobody', 'nogroup'],
      ['/bin/all.sh', ['/bin/all.sh'], 'root', undefined],
      ['/s', ['/s'], undefined, undefined],
      ['/f', ['/f'], 'nobody', undefined],
    ],
  );
  assert.deepEqual([n.master?.location.line, n.master?.location.column], [4, 19]);
  assert.deepEqual([n.backup?.userLocation?.line, n.backup?.userLocation?.column], [5, 30]);
  // A fourth word is ignored, as keepalived ignores it, with the quoted form to write instead.
  assert.equal(d.length, 1);
  assert.match(d[0]!, /^v\.conf:5:45: warning: notify_backup: 'extra' after the user and group is ignored .*notify_backup "\/bin\/b\.sh nobody nogroup extra"/);
});

test('a keyword given twice: a warning, the last one wins (notify*: the first, as keepalived)', () => {
  const { config, diags: d } = ok(inst('    priority 10\n    priority 20\n    notify_master /a\n    notify_master /b\n'));
  assert.equal(config.instances[0]!.priority, 20);
  assert.equal(config.instances[0]!.notify.master?.command, '/a');
  assert.deepEqual(d, [
    "v.conf:5:5: warning: 'priority' is given more than once in vrrp_instance V (first at v.conf:4:5); keepalived uses the last one",
    "v.conf:7:5: warning: 'notify_master' is given more than once in vrrp_instance V (first at v.conf:6:5); keepalived uses the first one",
  ]);
});

test('booleans: bare, true/false/on/off/yes/no; preempt after nopreempt', () => {
  const g = 'global_defs {\n    vrrp_skip_check_adv_addr off\n    vrrp_check_unicast_src\n    v3_checksum_as_v2 yes\n    smtp_alert true\n}\n';
  const { config } = ok(g + inst('    skip_check_adv_addr\n    nopreempt\n    preempt\n    smtp_alert no\n    dont_track_primary\n'));
  const v = config.instances[0]!;
  assert.deepEqual([config.global.vrrpSkipCheckAdvAddr, config.global.vrrpCheckUnicastSrc, config.global.v3ChecksumAsV2, config.global.smtpAlert], [false, true, true, true]);
  assert.deepEqual([v.skipCheckAdvAddr, v.checkUnicastSrc, v.v3ChecksumAsV2, v.nopreempt, v.smtpAlert, v.dontTrackPrimary], [true, true, true, false, false, true]);
});

test('GARP settings: global defaults flow into instances; instance values win', () => {
  const g = `global_defs {
    vrrp_garp_master_delay 10
    vrrp_garp_master_repeat 3
    vrrp_garp_master_refresh 60
    vrrp_garp_master_refresh_repeat 2
    vrrp_garp_interval 0.001
    vrrp_gna_interval 0.000250
    vrrp_garp_lower_prio_repeat 1
}
`;
  const { config } = ok(g + inst('    garp_master_delay 1\n    garp_interval 0.5\n') + inst('').replace('vrrp_instance V', 'vrrp_instance W').replace('_id 9', '_id 10'));
  const [v, w] = config.instances;
  assert.deepEqual([config.global.vrrpGarpIntervalMs, config.global.vrrpGnaIntervalMs], [1, 0.25]);
  assert.deepEqual(
    [v!.garpMasterDelayMs, v!.garpMasterRepeat, v!.garpMasterRefreshMs, v!.garpMasterRefreshRepeat, v!.garpIntervalMs, v!.garpLowerPrioDelayMs, v!.garpLowerPrioRepeat],
    [1000, 3, 60000, 2, 500, 10000, 1],
  );
  assert.deepEqual([w!.garpMasterDelayMs, w!.garpIntervalMs, w!.garpLowerPrioDelayMs], [10000, 1, 10000]);
  // vrrp_gna_interval spaces the unsolicited NAs of every instance (keepalived has no instance keyword for it).
  assert.deepEqual([v!.gnaIntervalMs, w!.gnaIntervalMs], [0.25, 0.25]);
});

test('tracking: scripts, track files and interfaces with weights; sync groups', () => {
  const text = `vrrp_script chk {
    script "/bin/chk --x"
    weight 10 reverse
    init_fail
    user nobody nogroup
}
track_file maint {
    file /run/maint
    weight -3
    init_file 5 overwrite
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress { 10.0.0.1 }
    track_script { chk weight -20 reverse }
    track_file { maint }
    track_interface {
        eth1 weight 5
        eth2
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    virtual_ipaddress { 10.0.0.2 }
}
vrrp_sync_group G {
    group { A B }
    notify_master "/bin/g master"
    track_script { chk }
    smtp_alert
    sync_group_tracking_weight
}
`;
  const { config, diags: d } = ok(text);
  assert.deepEqual(d, []);
  const s = config.scripts[0]!;
  assert.deepEqual([s.script, s.weight, s.weightReverse, s.initFail, s.user, s.group], ['/bin/chk --x', 10, true, true, 'nobody', 'nogroup']);
  assert.deepEqual(config.trackFiles.map((t) => [t.name, t.file, t.weight, t.initFile]), [['maint', '/run/maint', -3, { value: 5, overwrite: true }]]);
  const a = config.instances[0]!;
  assert.deepEqual(a.trackScripts.map((t) => [t.name, t.weight, t.reverse]), [['chk', -20, true]]);
  assert.deepEqual(a.trackFiles.map((t) => t.name), ['maint']);
  assert.deepEqual(a.trackInterfaces.map((t) => [t.name, t.weight]), [['eth1', 5], ['eth2', undefined]]);
  const g = config.syncGroups[0]!;
  assert.deepEqual([g.name, g.members.map((m) => m.name), g.notify.master?.command, g.trackScripts.map((t) => t.name), g.smtpAlert], [
    'G', ['A', 'B'], '/bin/g master', ['chk'], true,
  ]);
});

test('sync groups without sync_group_tracking_weight: weighted trackers of members are ignored as keepalived ignores them (#2105), each with a warning', () => {
  const text = `vrrp_script chk {
    script /bin/true
    weight 10
}
vrrp_script fatal {
    script /bin/true
}
track_file maint {
    file /run/maint
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress { 10.0.0.1 }
    track_script { chk
        fatal }
    track_file { maint }
    track_interface { eth1 weight 5
        eth2 }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    virtual_ipaddress { 10.0.0.2 }
}
vrrp_sync_group G {
    group { A B }
}
`;
  const { config, diags: d } = ok(text);
  const why = 'sync_group_tracking_weight in the group keeps it (keepalived ignores it there too)';
  assert.deepEqual(d, [
    `v.conf:15:20: warning: vrrp_instance A is in vrrp_sync_group G: track_script chk (weight 10) is not tracked; ${why}`,
    `v.conf:17:18: warning: vrrp_instance A is in vrrp_sync_group G: track_file maint is tracked with weight 0 (non-zero: FAULT), not its default weight 1; ${why}`,
    `v.conf:18:23: warning: vrrp_instance A is in vrrp_sync_group G: track_interface eth1 is tracked with weight 0 (down: FAULT), not weight 5; ${why}`,
  ]);
  const a = config.instances[0]!;
  assert.deepEqual(a.trackScripts.map((t) => t.name), ['fatal'], 'an unweighted script still puts the instance (and group) in FAULT');
  assert.deepEqual(a.trackFiles.map((t) => [t.name, t.weight]), [['maint', 0]]);
  assert.deepEqual(a.trackInterfaces.map((t) => [t.name, t.weight]), [['eth1', 0], ['eth2', undefined]]);
  assert.equal(config.syncGroups[0]!.trackingWeight, undefined);
  const kept = ok(text.replace('    group { A B }\n', '    group { A B }\n    global_tracking\n'));
  assert.deepEqual(kept.diags, []);
  assert.equal(kept.config.syncGroups[0]!.trackingWeight, true);
  assert.deepEqual(kept.config.instances[0]!.trackScripts.map((t) => t.name), ['chk', 'fatal']);
});

test('state MASTER without priority becomes the address owner, with a warning', () => {
  const { config, diags: d } = ok(inst('    state MASTER\n'));
  assert.equal(config.instances[0]!.priority, 255);
  assert.deepEqual(d, [
    "v.conf:4:11: warning: state MASTER without 'priority': keepalived makes such an instance the address owner (priority 255); write the priority you mean",
  ]);
  assert.equal(ok(inst('    priority 255\n')).config.instances[0]!.initialState, 'MASTER', 'no state: priority 255 means MASTER');
});

test('duplicate VRID: same interface and family conflict; unicast instances only with a shared peer', () => {
  const two = (a: string, b: string): string[] =>
    diags(inst(a).replace('vrrp_instance V', 'vrrp_instance A') + inst(b).replace('vrrp_instance V', 'vrrp_instance B').replace('10.0.0.1', '10.0.0.2'));
  assert.equal(two('', '').length, 1);
  assert.deepEqual(two('    unicast_peer {\n        10.0.0.7\n    }\n', ''), [], 'unicast vs multicast');
  assert.deepEqual(two('    unicast_peer {\n        10.0.0.7\n    }\n', '    unicast_peer {\n        10.0.0.8\n    }\n'), []);
  assert.equal(two('    unicast_peer {\n        10.0.0.7\n    }\n', '    unicast_peer {\n        10.0.0.7\n    }\n').length, 1);
});

test('ConfigError carries every diagnostic; the message is the first error', () => {
  const r: ConfigLoadResult = parseConfigText('vrrp_instance V {\n  priorty 1\n  bogus 2\n}\n', 'e.conf');
  assert.equal(r.config, undefined);
  const e = new ConfigError(r.diagnostics);
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'ConfigError');
  assert.equal(e.diagnostics, r.diagnostics);
  assert.equal(e.message, "e.conf:1:15: error: vrrp_instance V has no 'interface' (and 3 more errors)");
  assert.deepEqual([e.file, e.line, e.column], ['e.conf', 1, 15]);
});

test('an empty file is a valid, empty configuration', () => {
  const r = parseConfigText('', 'empty.conf');
  assert.ok(r.config);
  assert.deepEqual([r.config.instances, r.diagnostics], [[], []]);
});
