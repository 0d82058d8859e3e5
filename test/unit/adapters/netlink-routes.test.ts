/**
 * The rtnetlink requests of routes and rules (adapters/netlink-routes.ts), pure parts: what each
 * model field becomes (rtmsg / fib_rule_hdr fields and attributes, as keepalived's netlink_route /
 * netlink_rule send them), and the kernel key that lets a notification be matched with our
 * request, kernel defaults included (test/net/routes.test.ts runs them against a kernel).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { parseConfigText } from '../../../src/config/index.js';
import type { RouteConfig, RuleConfig } from '../../../src/config/model.js';
import { multipathPayload, routeKey, routeRequest, ruleKey, ruleRequest, type NlRequest } from '../../../src/adapters/netlink-routes.js';

function routing(routes: string[], rules: string[] = []): { routes: RouteConfig[]; rules: RuleConfig[] } {
  const r = parseConfigText(`static_routes {\n${routes.join('\n')}\n}\nstatic_rules {\n${rules.join('\n')}\n}\n`, 'r.conf');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  return { routes: [...r.config!.staticRoutes], rules: [...r.config!.staticRules] };
}
const route = (line: string) => routing([line]).routes[0]!;
const rule = (line: string) => routing([], [line]).rules[0]!;
const IFINDEX: Record<string, number> = { eth0: 2, eth1: 3 };
const ifindex = (n: string) => IFINDEX[n];
const req = (r: RouteConfig, action: 'add' | 'remove' = 'add'): NlRequest => {
  const x = routeRequest(r, action, ifindex);
  assert.notEqual(typeof x, 'string');
  return x as NlRequest;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  if (endianness() === 'LE') b.writeUInt32LE(n);
  else b.writeUInt32BE(n);
  return b;
};

test('a route request carries what keepalived sends: family, prefix, table, protocol 18, scope, type, gateway, oif, prefsrc, metric', () => {
  const r = req(route('src 10.0.0.100 10.9.0.0/16 via 10.0.0.254 dev eth1 metric 7 table 100 tos 0x10 scope link onlink'));
  assert.deepEqual(r.data, { family: 2, dstLen: 16, srcLen: 0, tos: 16, table: 100, protocol: 18, scope: 253, type: 1, flags: { __unknown: 4 } });
  assert.deepEqual(r.attrs, {
    dst: Buffer.from([10, 9, 0, 0]),
    prefsrc: Buffer.from([10, 0, 0, 100]),
    gateway: Buffer.from([10, 0, 0, 254]),
    oif: 3,
    priority: 7,
  });
});

test('defaults: scope universe, main table; a table id past 255 goes in RTA_TABLE; default has no RTA_DST', () => {
  const r = req(route('default via 10.0.0.1 table 1000'));
  assert.equal(r.data.scope, 0);
  assert.equal(r.data.table, 0);
  assert.equal(r.attrs.table, 1000);
  assert.equal(r.data.dstLen, 0);
  assert.equal(r.attrs.dst, undefined);
  assert.equal(req(route('blackhole 10.9.0.0/16')).data.type, 6);
  assert.equal(req(route('unreachable 10.9.0.0/16')).data.type, 7);
  assert.equal(req(route('prohibit 10.9.0.0/16')).data.type, 8);
  assert.equal(req(route('throw 10.9.0.0/16')).data.type, 9);
});

test('removal: scope NOWHERE (the kernel matches any scope), no metrics', () => {
  const r = req(route('10.9.0.0/16 via 10.0.0.1 mtu 1400 scope link'), 'remove');
  assert.equal(r.data.scope, 255);
  assert.equal(r.attrs.metrics, undefined);
  assert.deepEqual(r.attrs.gateway, Buffer.from([10, 0, 0, 1]));
});

test('metrics and their lock bits (RTAX_*), congctl, IPv6 router preference', () => {
  const r = req(route('10.9.0.0/16 via 10.0.0.1 mtu lock 1400 advmss 1360 features ecn congctl lock cubic quickack 1'));
  const m = r.attrs.metrics as Record<string, Buffer>;
  assert.deepEqual(m.mtu, u32(1400));
  assert.deepEqual(m.advmss, u32(1360));
  assert.deepEqual(m.features, u32(1));
  assert.deepEqual(m.quickack, u32(1));
  assert.deepEqual(m.ccAlgo, Buffer.from('cubic'));
  assert.deepEqual(m.lock, u32((1 << 2) | (1 << 16)), 'RTAX_MTU and RTAX_CC_ALGO');
  assert.deepEqual(req(route('fd00::/64 via fe80::1 dev eth0 pref high')).attrs.pref, Buffer.from([1]));
});

test('multipath: one rtnexthop per hop (len, flags, hops = weight - 1, ifindex) with its RTA_GATEWAY', () => {
  const r = route('10.9.0.0/16 nexthop via 10.0.0.1 dev eth0 weight 3 onlink nexthop via 10.0.0.2');
  const mp = multipathPayload(r.nexthops, ifindex) as Buffer;
  const le = endianness() === 'LE';
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const i32 = (b: Buffer, o: number) => (le ? b.readInt32LE(o) : b.readInt32BE(o));
  assert.equal(mp.length, 32);
  assert.deepEqual([u16(mp, 0), mp[2], mp[3], i32(mp, 4), u16(mp, 8), u16(mp, 10), [...mp.subarray(12, 16)]], [16, 4, 2, 2, 8, 5, [10, 0, 0, 1]]);
  assert.deepEqual([u16(mp, 16), mp[18], mp[19], i32(mp, 20), u16(mp, 24), u16(mp, 26), [...mp.subarray(28, 32)]], [16, 0, 0, 0, 8, 5, [10, 0, 0, 2]]);
  assert.deepEqual(req(r).attrs.multipath, mp);
  assert.equal(req(r).attrs.gateway, undefined);
});

test('an interface that does not exist: no request, the reason', () => {
  assert.equal(routeRequest(route('10.9.0.0/16 dev eth9'), 'add', ifindex), 'interface eth9 does not exist');
  assert.equal(routeRequest(route('10.9.0.0/16 nexthop via 10.0.0.1 dev eth9'), 'add', ifindex), 'interface eth9 does not exist');
});

test('the route key of our request is the key of the kernel notification (names, RTA_TABLE, IPv6 metric 1024, oif left out)', () => {
  const v4 = req(route('10.9.0.0/16 via 10.0.0.254 dev eth1'));
  const note4 = {
    data: { family: 2, dstLen: 16, srcLen: 0, tos: 0, table: 254, protocol: 18, scope: 'UNIVERSE', type: 'UNICAST', flags: {} },
    attrs: { table: 254, dst: Buffer.from([10, 9, 0, 0]), gateway: Buffer.from([10, 0, 0, 254]), oif: 7 },
  };
  assert.equal(routeKey(v4), routeKey(note4));
  const v6 = req(route('fd00::/64 via fe80::1 dev eth0'));
  const note6 = {
    data: { family: 10, dstLen: 64, srcLen: 0, tos: 0, table: 254, protocol: 18, scope: 'UNIVERSE', type: 'UNICAST', flags: {} },
    attrs: { table: 254, dst: Buffer.from('fd000000000000000000000000000000', 'hex'), priority: 1024, gateway: Buffer.from('fe800000000000000000000000000001', 'hex'), oif: 2, pref: Buffer.from([0]) },
  };
  assert.equal(routeKey(v6), routeKey(note6));
  const big = req(route('default via 10.0.0.1 table 1000'));
  assert.equal(routeKey(big), routeKey({ data: { family: 2, dstLen: 0, srcLen: 0, tos: 0, table: 252, protocol: 18, type: 'UNICAST' }, attrs: { table: 1000, gateway: Buffer.from([10, 0, 0, 1]) } }));
  assert.notEqual(routeKey(v4), routeKey({ ...note4, data: { ...note4.data, protocol: 'STATIC' } }), 'another protocol: not ours');
  assert.notEqual(routeKey(v4), routeKey({ ...note4, attrs: { ...note4.attrs, priority: 5 } }), 'another metric: another route');
  assert.notEqual(routeKey(req(route('blackhole 10.9.0.0/16'))), routeKey({ ...note4, attrs: { table: 254, dst: note4.attrs.dst } }), 'another type');
});

test('a rule request as keepalived sends it, and its key matches the kernel notification', () => {
  const r = ruleRequest(rule('from 10.0.0.0/8 iif eth0 fwmark 0x10 preference 100 table 200'));
  assert.deepEqual(r.data, { family: 2, dstLen: 0, srcLen: 8, tos: 0, table: 200, action: 1 });
  assert.deepEqual(r.attrs, { priority: 100, src: Buffer.from([10, 0, 0, 0]), fwmark: 16, iifname: 'eth0', protocol: 18 });
  const note = {
    data: { family: 2, dstLen: 0, srcLen: 8, tos: 0, table: 200, action: 'toTbl', flags: {} },
    attrs: { table: 200, suppressPrefixlen: Buffer.from('ffffffff', 'hex'), protocol: 18, priority: 100, src: Buffer.from([10, 0, 0, 0]), iifname: 'eth0', fwmark: 16, fwmask: 0xffffffff },
  };
  assert.equal(ruleKey(r), ruleKey(note));
  assert.notEqual(ruleKey(r), ruleKey({ ...note, attrs: { ...note.attrs, priority: 101 } }));
  const big = ruleRequest(rule('to 10.0.0.0/8 table 5000 preference 7 not'));
  assert.equal(big.data.table, 0);
  assert.equal(big.attrs.table, 5000);
  assert.deepEqual(big.data.flags, { invert: true });
  const g = ruleRequest(rule('from 10.0.0.0/8 goto 200 preference 100'));
  assert.deepEqual([g.data.action, g.data.table, g.attrs.goto], [2, 0, 200]);
  const nt = ruleRequest(rule('from 10.0.0.0/8 table 5 preference 1 no_track'));
  assert.equal(nt.attrs.protocol, undefined, 'no_track without a protocol: none sent');
  const sel = ruleRequest(rule('sport 80-90 dport 443 ipproto udp uidrange 10-20 oif eth1 suppress_prefixlength 0 table 5 preference 3'));
  assert.deepEqual([sel.attrs.sportRange, sel.attrs.dportRange, sel.attrs.ipProto, sel.attrs.uidRange, sel.attrs.oifname, sel.attrs.suppressPrefixlen], [
    { start: 80, end: 90 },
    { start: 443, end: 443 },
    17,
    { start: 10, end: 20 },
    'eth1',
    u32(0),
  ]);
});
