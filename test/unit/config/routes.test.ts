/**
 * virtual_routes, virtual_rules, static_routes, static_rules, static_ipaddress: what each option
 * keepalived 2.2.7 reads becomes in the model (config/routes.ts), keepalived's own samples, the
 * implicit interface tracking, and keepalived's numbering of rules without a preference. The
 * refusals and warnings, with their exact places, are in test/fixtures/broken-configs
 * (routes-errors, rules-errors, routes-warnings, static-address).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic, parseConfigText, summarizeInstance, type KeepalivedConfig } from '../../../src/config/index.js';
import type { RouteConfig, RuleConfig } from '../../../src/config/model.js';
import { RTPROT_KEEPALIVED, parseUnsigned } from '../../../src/config/routes.js';

function load(text: string): { config: KeepalivedConfig; warnings: string[] } {
  const r = parseConfigText(text, 'r.conf');
  const errors = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  assert.deepEqual(errors, []);
  return { config: r.config!, warnings: r.diagnostics.filter((d) => d.severity === 'warning').map(formatDiagnostic) };
}

const INSTANCE = (body: string) => `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress { 10.0.0.100 }
${body}
}
`;

function route(line: string): RouteConfig {
  return load(`static_routes {\n  ${line}\n}\n${INSTANCE('')}`).config.staticRoutes[0]!;
}
function rule(line: string): RuleConfig {
  return load(`static_rules {\n  ${line}\n}\n${INSTANCE('')}`).config.staticRules[0]!;
}
/** The fields a line sets, without the ones every route has. */
function set(r: RouteConfig | RuleConfig): Record<string, unknown> {
  const { text: _t, location: _l, ...rest } = r;
  return rest;
}

test('a route with every common option', () => {
  assert.deepEqual(set(route('src 10.0.0.100 to 10.9.0.0/16 via 10.0.0.254 dev eth0 scope link table 100 metric 7 protocol 18 onlink tos 0x10')), {
    family: 'ipv4',
    destination: { address: '10.9.0.0', prefixLength: 16 },
    type: 'unicast',
    source: '10.0.0.100',
    via: '10.0.0.254',
    device: 'eth0',
    scope: 253,
    table: 100,
    metric: 7,
    protocol: RTPROT_KEEPALIVED,
    tos: 16,
    onlink: true,
    nexthops: [],
    metrics: {},
    locked: [],
    mode: 'prepend',
    track: true,
  });
});

test('route defaults: main table, protocol 18 (keepalived), scope left to keepwatch (universe), tracked, prepended', () => {
  const r = route('10.9.0.0/16 via 10.0.0.254');
  assert.equal(r.table, 254);
  assert.equal(r.protocol, 18);
  assert.equal(r.scope, undefined);
  assert.equal(r.track, true);
  assert.equal(r.mode, 'prepend');
  assert.equal(r.text, '10.9.0.0/16 via 10.0.0.254');
  assert.deepEqual(r.location, { file: 'r.conf', line: 2, column: 3 });
});

test('destinations: default, any, all, a type before them, `to`, IPv6', () => {
  assert.deepEqual(route('default via 10.0.0.1').destination, { address: '0.0.0.0', prefixLength: 0 });
  assert.deepEqual(route('any via 10.0.0.1').destination, { address: '0.0.0.0', prefixLength: 0 });
  assert.deepEqual(route('inet6 to default via fe80::1 dev eth0').destination, { address: '::', prefixLength: 0 });
  assert.deepEqual(route('10.9.9.9 via 10.0.0.1').destination, { address: '10.9.9.9', prefixLength: 32 }, 'no prefix: a host route');
  for (const type of ['blackhole', 'unreachable', 'prohibit', 'throw', 'local', 'unicast'] as const) {
    const r = route(`${type} 10.9.0.0/16`);
    assert.equal(r.type, type);
    assert.deepEqual(r.destination, { address: '10.9.0.0', prefixLength: 16 });
  }
  assert.equal(route('to blackhole 10.9.0.0/16').type, 'blackhole', "keepalived reads 'to' before the type");
  assert.equal(route('6 10.9.0.0/16').type, 'blackhole', 'a type by number');
  const v6 = route('2001:DB8::/32 via fe80::1 dev eth0 pref high metric 5');
  assert.equal(v6.family, 'ipv6');
  assert.deepEqual(v6.destination, { address: '2001:db8::', prefixLength: 32 });
  assert.equal(v6.pref, 1);
  assert.deepEqual(route('fd00::/64 from fd01::/64 dev eth0').from, { address: 'fd01::', prefixLength: 64 });
});

test('gateways: via inet6, gw (deprecated), "or" (two nexthops), nexthop with dev, weight and onlink', () => {
  assert.equal(route('fd00::/64 via inet6 fe80::1 dev eth0').via, 'fe80::1');
  assert.equal(route('10.9.0.0/16 gw 10.0.0.1').via, '10.0.0.1');
  assert.deepEqual(route('10.9.0.0/16 via 10.0.0.1 or 10.0.0.2').nexthops, [
    { via: '10.0.0.1', onlink: false },
    { via: '10.0.0.2', onlink: false },
  ]);
  const mp = route('10.9.0.0/16 table 7 nexthop via 10.0.0.1 dev eth0 weight 2 onlink nexthop via 10.0.0.2 dev eth1 nexthop dev eth2');
  assert.equal(mp.via, undefined);
  assert.equal(mp.table, 7);
  assert.deepEqual(mp.nexthops, [
    { via: '10.0.0.1', device: 'eth0', weight: 2, onlink: true },
    { via: '10.0.0.2', device: 'eth1', onlink: false },
    { device: 'eth2', onlink: false },
  ]);
});

test('named tables, scopes and protocols keepalived knows without /etc/iproute2; numbers in hex', () => {
  assert.equal(route('10.9.0.0/16 via 10.0.0.1 table main').table, 254);
  assert.equal(route('10.9.0.0/16 via 10.0.0.1 table local').table, 255);
  assert.equal(route('10.9.0.0/16 via 10.0.0.1 table default').table, 253);
  assert.equal(route('10.9.0.0/16 via 10.0.0.1 table 0x100').table, 256);
  assert.equal(route('10.9.0.0/16 via 10.0.0.1 table 4294967295').table, 4294967295);
  for (const [name, n] of [['global', 0], ['site', 200], ['link', 253], ['host', 254], ['nowhere', 255], ['17', 17]] as const) {
    assert.equal(route(`10.9.0.0/16 dev eth0 scope ${name}`).scope, n);
  }
  assert.equal(route('10.9.0.0/16 via 10.0.0.1 protocol bird no_track').protocol, 12, 'kept with no_track');
  assert.equal(route('10.9.0.0/16 via 10.0.0.1 protocol 99 no_track').protocol, 99);
  assert.equal(route('10.9.0.0/16 via 10.0.0.1 protocol bird').protocol, 18, 'reset when tracked, as keepalived does');
  assert.equal(route('10.9.0.0/16 via 10.0.0.1 no_track').track, false);
});

test('metrics: mtu/advmss/cwnd/... with lock where keepalived allows it, features ecn, congctl, quickack, fastopen_no_cookie', () => {
  const r = route(
    '10.9.0.0/16 via 10.0.0.1 mtu lock 1400 advmss 1360 hoplimit 64 window 65535 cwnd lock 10 ssthresh 20 reordering 3 initcwnd 30 initrwnd 40 quickack 1 fastopen_no_cookie 1 features ecn congctl lock cubic',
  );
  assert.deepEqual(r.metrics, { mtu: 1400, advmss: 1360, hoplimit: 64, window: 65535, cwnd: 10, ssthresh: 20, reordering: 3, initcwnd: 30, initrwnd: 40, quickack: 1, fastopen_no_cookie: 1, features: 1 });
  assert.deepEqual(r.locked, ['mtu', 'cwnd', 'congctl']);
  assert.equal(r.congctl, 'cubic');
});

test('add, prepend, append', () => {
  assert.equal(route('10.9.0.0/16 via 10.0.0.1 add').mode, 'add');
  assert.equal(route('10.9.0.0/16 via 10.0.0.1 append').mode, 'append');
  assert.equal(route('10.9.0.0/16 via 10.0.0.1 append prepend').mode, 'prepend', 'the last one wins');
});

test('a rule with every common selector', () => {
  assert.deepEqual(set(rule('from 10.0.0.0/8 to 192.168.0.0/16 not iif eth0 oif eth1 fwmark 0x10/0xff tos 4 preference 100 table 200 sport 80-90 dport 443 ipproto tcp uidrange 1000-1999 suppress_prefixlength 0')), {
    family: 'ipv4',
    from: { address: '10.0.0.0', prefixLength: 8 },
    to: { address: '192.168.0.0', prefixLength: 16 },
    invert: true,
    iif: 'eth0',
    oif: 'eth1',
    fwmark: 16,
    fwmask: 255,
    tos: 4,
    priority: 100,
    action: 'table',
    table: 200,
    sport: { start: 80, end: 90 },
    dport: { start: 443, end: 443 },
    ipProto: 6,
    uidRange: { start: 1000, end: 1999 },
    suppressPrefixLength: 0,
    l3mdev: false,
    protocol: RTPROT_KEEPALIVED,
    track: true,
  });
});

test('rule actions and their synonyms', () => {
  assert.equal(rule('from 10.0.0.0/8 lookup main priority 5').table, 254);
  assert.deepEqual([rule('from 10.0.0.0/8 goto 200 order 100')].map((r) => [r.action, r.goto, r.priority]), [['goto', 200, 100]]);
  for (const a of ['nop', 'blackhole', 'unreachable', 'prohibit'] as const) {
    assert.equal(rule(`from 10.0.0.0/8 ${a} priority 9`).action, a);
    assert.equal(rule(`from 10.0.0.0/8 type ${a} priority 9`).action, a);
  }
  const l3 = rule('l3mdev priority 1000');
  assert.equal(l3.action, 'table');
  assert.equal(l3.l3mdev, true);
  assert.equal(rule('from all table 5 priority 9').from, undefined, "'all' selects everything: no prefix");
  assert.equal(rule('dev eth0 table 5 priority 9').iif, 'eth0');
  assert.equal(rule('from fd00::/64 table 5 priority 9').family, 'ipv6');
  assert.equal(rule('fwmark 7 table 5 priority 9').fwmask, undefined, 'no mask: the kernel matches all bits');
  assert.equal(rule('from 10.0.0.0/8 table 5 priority 9 protocol 4 no_track').protocol, 4);
  assert.equal(rule('from 10.0.0.0/8 table 5 priority 9 no_track').protocol, undefined);
});

test("rules without a preference get keepalived's numbers: 16384 down, per family, in file order, statics and instances alike", () => {
  const { config, warnings } = load(`static_rules {
  from 10.1.0.0/16 table 5
  from fd00::/64 table 5
  from 10.2.0.0/16 table 5 priority 7
  from 10.3.0.0/16 table 5
}
${INSTANCE('  virtual_rules {\n    from 10.0.0.100 table 6\n  }')}`);
  assert.deepEqual(config.staticRules.map((r) => r.priority), [16384, 16384, 7, 16383]);
  assert.deepEqual(config.instances[0]!.virtualRules.map((r) => r.priority), [16382]);
  assert.equal(warnings.length, 4);
});

test('static_ipaddress: addresses with their dev (static entries of the model)', () => {
  const { config } = load(`static_ipaddress {\n  192.168.200.16/24 dev eth1 scope link\n  fd00::16 dev eth1\n}\n${INSTANCE('')}`);
  assert.deepEqual(config.staticAddresses.map((a) => [a.address, a.prefixLength, a.device, a.scope]), [
    ['192.168.200.16', 24, 'eth1', 'link'],
    ['fd00::16', 128, 'eth1', 'global'],
  ]);
});

test("a tracked virtual route's dev and a tracked virtual rule's iif/oif are tracked interfaces of the instance (down: FAULT), as in keepalived", () => {
  const { config } = load(
    INSTANCE(`  track_interface { eth3 }
  virtual_routes {
    default via 10.0.0.254 dev eth1
    10.9.0.0/16 via 10.0.0.254 dev eth2 no_track
    10.8.0.0/16 via 10.0.0.254 dev eth0
    10.7.0.0/16 via 10.0.0.254 dev eth3
  }
  virtual_rules {
    iif eth4 oif eth5 table 5 priority 10
  }`),
  );
  const i = config.instances[0]!;
  assert.deepEqual(i.trackInterfaces.map((t) => [t.name, t.weight]), [['eth3', undefined], ['eth1', undefined], ['eth4', undefined], ['eth5', undefined]]);
  assert.equal(i.virtualRoutes.length, 4);
  assert.equal(i.virtualRules.length, 1);
  assert.match(summarizeInstance(i), /, 4 virtual routes and 1 rule$/, 'keepwatch -t says so');
});

test("keepalived's own samples (doc/samples, 2.2.7) load; the rules sample's two malformed prefixes are errors, as in keepalived", () => {
  const routes = load(`static_routes {
    src 192.168.100.1 192.168.209.0/24 via 192.168.200.254 dev eth0
    192.168.210.0/24 via 192.168.200.254 dev eth0
    192.168.212.0/24 dev eth3 scope site
    192.168.213.0/24 dev eth1 scope link
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.200.16
    }
    virtual_routes {
        src 192.168.100.1 192.168.109.0/24 via 192.168.200.254 dev eth1
        192.168.110.0/24 via 192.168.200.254 dev eth1
        192.168.111.0/24 dev eth2
        192.168.112.0/24 via 192.168.100.254
        192.168.113.0/24 via 192.168.100.252 or 192.168.100.253
\tblackhole 192.168.113.1/32
        0.0.0.0/0 gw 192.168.0.1 table 100  # To set a default gateway into table 100.
    }
}`);
  assert.equal(routes.config.staticRoutes.length, 4);
  assert.deepEqual(routes.config.instances[0]!.virtualRoutes.map((r) => r.text), [
    'src 192.168.100.1 192.168.109.0/24 via 192.168.200.254 dev eth1',
    '192.168.110.0/24 via 192.168.200.254 dev eth1',
    '192.168.111.0/24 dev eth2',
    '192.168.112.0/24 via 192.168.100.254',
    '192.168.113.0/24 via 192.168.100.252 or 192.168.100.253',
    'blackhole 192.168.113.1/32',
    '0.0.0.0/0 gw 192.168.0.1 table 100',
  ]);
  assert.ok(!routes.warnings.some((w) => w.includes('not acted on')), routes.warnings.join('\n'));
  assert.deepEqual(routes.warnings.map((w) => w.replace(/^r\.conf:(\d+:\d+): warning: (.{20}).*/, '$1 $2')), ['20:46 "or" for routes is d', '22:19 "gw" for routes is d']);

  const rules = parseConfigText(`static_rules {
    from 192.168.100.0/24 table 1
    to 192.168.100./24 table 1
}
${INSTANCE('    virtual_rules {\n        from 192.168.200.0/24 table 2\n        to 192.168.200./24 table 2\n    }')}`, 'r.conf');
  assert.deepEqual(rules.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), [
    "r.conf:3:8: error: invalid IPv4 address '192.168.100.' as destination prefix in static_rules",
    "r.conf:12:12: error: invalid IPv4 address '192.168.200.' as destination prefix in virtual_rules",
  ]);
});

test('numbers as keepalived reads them: base 0 where it uses strtoul(s, 0)', () => {
  assert.equal(parseUnsigned('0x1f', true), 31);
  assert.equal(parseUnsigned('010', true), 8);
  assert.equal(parseUnsigned('010', false), 10);
  assert.equal(parseUnsigned('0x1f', false), undefined);
  assert.equal(parseUnsigned('-1', true), undefined);
  assert.equal(parseUnsigned('1e3', true), undefined);
});

test('a reload that changes a route is seen as a change of the instance; repeated static blocks merge', () => {
  const a = load(`static_routes {\n  10.1.0.0/16 via 10.0.0.1\n}\nstatic_routes {\n  10.2.0.0/16 via 10.0.0.1\n}\n${INSTANCE('')}`);
  assert.deepEqual(a.config.staticRoutes.map((r) => r.text), ['10.1.0.0/16 via 10.0.0.1', '10.2.0.0/16 via 10.0.0.1']);
});
