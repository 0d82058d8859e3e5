/**
 * `bfd_instance` and `track_bfd` (src/config/bfd.ts) with keepalived 2.2.7's keywords, defaults
 * and ranges (keepalived/bfd/bfd_parser.c); errors at the value's file:line:col; `-t` gives no
 * "not acted on" warning for any of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic, parseConfigText } from '../../../src/config/index.js';

const load = (text: string) => {
  const r = parseConfigText(text, 'b.conf');
  return { config: r.config, diags: r.diagnostics.map(formatDiagnostic) };
};
const inst = (extra = '') => `vrrp_instance V {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    10.0.0.100/24\n  }\n${extra}}\n`;

test('defaults: min_rx/min_tx 10 ms, idle_tx 1 s, multiplier 5, ttl 255 (IPv4) / 64 (IPv6), max_hops 0, weight 0', () => {
  const { config, diags } = load(`bfd_instance a {\n  neighbor_ip 10.0.0.1\n}\nbfd_instance b {\n  neighbour_ip fe80::1\n}\n${inst()}`);
  assert.deepEqual(diags, []);
  const [a, b] = config!.bfdInstances!;
  assert.deepEqual(
    { n: a!.neighbor, rx: a!.minRxUs, tx: a!.minTxUs, idle: a!.idleTxUs, m: a!.multiplier, ttl: a!.ttl, mh: a!.maxHops, w: a!.weight, p: a!.passive, multihop: a!.multihop, vrrp: a!.forVrrp },
    { n: '10.0.0.1', rx: 10_000, tx: 10_000, idle: 1_000_000, m: 5, ttl: 255, mh: 0, w: 0, p: false, multihop: false, vrrp: true },
  );
  assert.equal(b!.ttl, 64);
  assert.equal(b!.family, 'ipv6');
});

test('every keyword: ms with 3 decimals, max_hops -1, multihop, passive, weight reverse, source_ip; no warnings', () => {
  const text = `bfd_instance gw {
  neighbor_ip 10.0.0.1
  source_ip 10.0.0.2
  min_rx 20.5
  min_tx 30
  idle_tx 2000
  multiplier 3
  passive
  ttl 255
  max_hops -1
  multihop yes
  weight -20 reverse
  vrrp
}
${inst('  track_bfd {\n    gw weight 10\n  }\n')}`;
  const { config, diags } = load(text);
  assert.deepEqual(diags, []);
  const g = config!.bfdInstances![0]!;
  assert.deepEqual([g.source, g.minRxUs, g.minTxUs, g.idleTxUs, g.multiplier, g.passive, g.ttl, g.maxHops, g.multihop, g.weight, g.weightReverse], ['10.0.0.2', 20_500, 30_000, 2_000_000, 3, true, 255, 255, true, -20, true]);
  assert.deepEqual(config!.instances[0]!.trackBfd!.map((r) => [r.name, r.weight, r.reverse]), [['gw', 10, false]]);
});

test('errors at file:line:col: no neighbour, bad ms, idle_tx below 1 s, max_hops out of range, family mismatch, undefined track_bfd', () => {
  const cases: [string, RegExp][] = [
    [`bfd_instance x {\n  min_rx 10\n}\n${inst()}`, /^b\.conf:1:14: error: bfd_instance x has no 'neighbor_ip'/],
    [`bfd_instance x {\n  neighbor_ip 10.0.0.1\n  min_rx 1.2345\n}\n${inst()}`, /^b\.conf:3:10: error: min_rx '1\.2345' is not valid/],
    [`bfd_instance x {\n  neighbor_ip 10.0.0.1\n  idle_tx 500\n}\n${inst()}`, /^b\.conf:3:11: error: idle_tx '500' is not valid: milliseconds \(up to 3 decimals\) from 1000/],
    [`bfd_instance x {\n  neighbor_ip 10.0.0.1\n  max_hops -2\n}\n${inst()}`, /^b\.conf:3:12: error: max_hops '-2'/],
    [`bfd_instance x {\n  neighbor_ip 10.0.0.1\n  source_ip fe80::1\n}\n${inst()}`, /^b\.conf:3:13: error: bfd_instance x: source_ip fe80::1 and neighbor_ip 10\.0\.0\.1 are not of the same family/],
    [`bfd_instance gw {\n  neighbor_ip 10.0.0.1\n}\n${inst('  track_bfd {\n    gx\n  }\n')}`, /^b\.conf:\d+:5: error: track_bfd 'gx' refers to an undefined bfd_instance; did you mean 'gw'\?/],
    [`bfd_instance gw {\n  neighbor_ip 10.0.0.1\n  checker\n}\n${inst('  track_bfd {\n    gw\n  }\n')}`, /error: track_bfd 'gw': that bfd_instance is for 'checker' only/],
    [`bfd_instance a {\n  neighbor_ip 10.0.0.1\n}\nbfd_instance b {\n  neighbor_ip 10.0.0.1\n}\n${inst()}`, /^b\.conf:4:14: error: bfd_instance b has the same neighbour address as bfd_instance a/],
  ];
  for (const [text, re] of cases) {
    const { config, diags } = load(text);
    assert.equal(config, undefined, text);
    assert.ok(diags.some((d) => re.test(d)), `${re}\n${diags.join('\n')}`);
  }
});

test('max_hops above ttl is lowered to ttl with a warning (as keepalived); track_bfd in a sync group', () => {
  const { config, diags } = load(`bfd_instance gw {\n  neighbor_ip 10.0.0.1\n  ttl 10\n  max_hops 20\n}\n${inst()}vrrp_sync_group G {\n  group {\n    V\n  }\n  track_bfd {\n    gw weight -5\n  }\n}\n`);
  assert.ok(diags.some((d) => /b\.conf:4:12: warning: max_hops 20 exceeds ttl\/hoplimit 10: set to 10/.test(d)), diags.join('\n'));
  assert.equal(config!.bfdInstances![0]!.maxHops, 10);
  // keepalived stores -1 as 255 before comparing: with a ttl below 255 it is lowered too.
  const m1 = load(`bfd_instance gw {\n  neighbor_ip 10.0.0.1\n  ttl 10\n  max_hops -1\n}\n${inst()}`);
  assert.equal(m1.config!.bfdInstances![0]!.maxHops, 10);
  assert.deepEqual(config!.syncGroups[0]!.trackBfd!.map((r) => [r.name, r.weight]), [['gw', -5]]);
});

test('-t: no BFD keyword is "accepted but not acted on"', () => {
  const { diags } = load(`bfd_instance gw {\n  neighbor_ip 10.0.0.1\n  source_ip 10.0.0.2\n  min_rx 10\n  min_tx 10\n  idle_tx 1000\n  multiplier 5\n  passive\n  hoplimit 255\n  max_hops 0\n  multihop no\n  weight 0\n}\n${inst('  track_bfd {\n    gw\n  }\n')}`);
  assert.deepEqual(diags.filter((d) => /not acted on/.test(d)), []);
});
