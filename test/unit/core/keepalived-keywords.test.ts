/**
 * Issue 14 point 6 on the fake LAN (simulated time, the real engine and codec): each keyword does
 * what keepalived 2.2.7 does with it — lower_prio_no_advert, higher_prio_send_advert,
 * skip_check_adv_addr, unicast_ttl, mcast_dst_ip, garp_extra_if, vrrp_min_garp,
 * dont_track_primary. Accept mode (no_accept, vrrp_strict) is a firewall: core/accept-mode.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeLan, type FakeNode } from '../../fakes/lan.js';
import { FakeClock } from '../../fakes/clock.js';
import { instance, vip } from '../../helpers/instances.js';
import { VrrpRouter } from '../../../src/core/router.js';
import { parseConfigText, formatDiagnostic } from '../../../src/config/index.js';
import { parseFrame } from '../../../src/protocol/frame.js';
import { formatIp } from '../../../src/protocol/inet.js';
import type { AcceptedAdvert } from '../../../src/protocol/check.js';
import type { AdvertReceivedEvent, GarpSentEvent, VrrpEvent } from '../../../src/events/index.js';
import type { VrrpInstanceConfig } from '../../../src/config/model.js';

const A = { ipv4: '10.0.0.1', ipv6: 'fe80::1' };
const B = { ipv4: '10.0.0.2', ipv6: 'fe80::2' };

function pair(a: VrrpInstanceConfig, b: VrrpInstanceConfig) {
  const lan = new FakeLan();
  const na = lan.addNode('a', A);
  const nb = lan.addNode('b', B);
  na.start([a]);
  nb.start([b]);
  return { lan, na, nb };
}

/** Every event of a node's bus of one type, in order. */
function record<T extends VrrpEvent['type']>(n: FakeNode, type: T): Extract<VrrpEvent, { type: T }>[] {
  const out: Extract<VrrpEvent, { type: T }>[] = [];
  n.events.on(type, (e) => out.push(e as Extract<VrrpEvent, { type: T }>));
  return out;
}

/** The VRRP packets a node put on the wire: IP destination, TTL / hop limit. */
function vrrpSent(n: FakeNode): { destination: string; ttl: number; atMs: number }[] {
  return n.sentFrames.flatMap((f) => {
    const p = parseFrame(f.frame);
    return p.kind === 'ip' && p.ip.protocol === 112 ? [{ destination: formatIp(p.ip.destination), ttl: p.ip.ttl, atMs: f.atMs }] : [];
  });
}

const lowerAdvert: AcceptedAdvert = { version: 2, vrid: 51, priority: 50, advertIntervalMs: 1000, source: '10.0.0.9', ttl: 255, addressListMismatch: false, addresses: ['10.0.0.100'] };

test('lower_prio_no_advert: a master does not answer a lower-priority advert (it still refreshes ARP caches with its lower-priority GARPs)', () => {
  for (const lowerPrioNoAdvert of [false, true]) {
    const { lan, na } = pair(instance({ priority: 150, lowerPrioNoAdvert }), instance({ priority: 100 }));
    lan.clock.advance(10_300);
    const r = na.engine!.routers.get('VI_1')!;
    assert.equal(r.state, 'master');
    const sent = record(na, 'advert-sent');
    const garps = record(na, 'garp-sent');
    r.receiveAdvert(lowerAdvert);
    assert.equal(sent.length, lowerPrioNoAdvert ? 0 : 1, `lower_prio_no_advert ${lowerPrioNoAdvert}`);
    assert.deepEqual(garps.map((g) => g.reason), ['lower-priority']);
    lan.clock.advance(1000);
    assert.equal(sent.length, lowerPrioNoAdvert ? 1 : 2, 'the scheduled advert goes out either way');
  }
});

test('lower_prio_no_advert on the wire: after a partition heals, the lower master yields only at the higher one\'s next scheduled advert', () => {
  // Partitioned, both become master, b's adverts 400 ms after a's (a: 3414 ms + k s; b starts at
  // 205 ms and becomes master 3609 ms later; keepwatch answers at most every quarter interval).
  // When the LAN heals just after a's advert, b's comes first: answered at once without the
  // setting, ignored with it (b yields at a's next advert, ~1 s after the heal).
  const delays: number[] = [];
  for (const lowerPrioNoAdvert of [false, true]) {
    const lan = new FakeLan();
    const na = lan.addNode('a', A);
    const nb = lan.addNode('b', B);
    lan.partition(['a'], ['b']);
    na.start([instance({ priority: 150, lowerPrioNoAdvert })]);
    lan.clock.advance(205);
    nb.start([instance({ priority: 100 })]);
    lan.clock.advance(10_000);
    assert.deepEqual(lan.masters().sort(), ['a', 'b']);
    const lastOfA = vrrpSent(na).at(-1)!.atMs;
    lan.clock.advance(lastOfA + 1000 + 1 - lan.clock.now());
    const healedAt = lan.clock.now();
    lan.heal();
    lan.clock.advance(2_000);
    assert.deepEqual(lan.masters(), ['a']);
    delays.push(nb.transitions.at(-1)!.atMs - healedAt);
  }
  const [answered, waited] = delays as [number, number];
  assert.ok(answered < 450 && waited > 950, `yield after heal: ${answered.toFixed(1)} ms answered, ${waited.toFixed(1)} ms with lower_prio_no_advert`);
});

test('higher_prio_send_advert: a master that hears a higher priority sends one advert of its own, then becomes backup', () => {
  for (const higherPrioSendAdvert of [false, true]) {
    const { lan, na } = pair(instance({ priority: 150, higherPrioSendAdvert }), instance({ priority: 100 }));
    lan.clock.advance(10_300);
    const r = na.engine!.routers.get('VI_1')!;
    const order: string[] = [];
    na.events.on('advert-sent', (e) => order.push(`advert ${e.priority}`));
    na.events.on('state-changed', (e) => order.push(`${e.to} ${e.cause}`));
    r.receiveAdvert({ ...lowerAdvert, priority: 200 });
    assert.deepEqual(order, higherPrioSendAdvert ? ['advert 150', 'backup higher-priority-advert'] : ['backup higher-priority-advert']);
    // Equal priority, higher address: the same.
    const { lan: lan2, na: na2 } = pair(instance({ priority: 150, higherPrioSendAdvert }), instance({ priority: 100 }));
    lan2.clock.advance(10_300);
    const sent = record(na2, 'advert-sent');
    na2.engine!.routers.get('VI_1')!.receiveAdvert({ ...lowerAdvert, priority: 150, source: '10.0.0.200' });
    assert.equal(sent.length, higherPrioSendAdvert ? 1 : 0);
    assert.equal(na2.state(), 'backup');
  }
});

test('skip_check_adv_addr: a backup does not compare the address list of adverts from the master it follows (a new master, or another count, is still flagged)', () => {
  for (const skipCheckAdvAddr of [false, true]) {
    // Same count, other addresses: a mismatch keepalived >= 2.3.3 accepts and counts.
    const { lan, nb } = pair(instance({ priority: 150, vips: ['10.0.0.100', '10.0.0.101'] }), instance({ priority: 100, vips: ['10.0.0.100', '10.0.0.102'], skipCheckAdvAddr }));
    const received = record(nb, 'advert-received');
    lan.clock.advance(10_300);
    const flagged = received.filter((e) => e.addressListMismatch).length;
    assert.ok(received.length >= 6);
    assert.equal(flagged, skipCheckAdvAddr ? 1 : received.length, 'only the first advert, from a master not yet followed');
    const r = nb.engine!.routers.get('VI_1')!;
    const last = (): AdvertReceivedEvent => received.at(-1)!;
    r.receiveAdvert({ ...lowerAdvert, priority: 200, source: '10.0.0.1', addressListMismatch: true, addresses: ['10.0.0.100'] });
    assert.equal(last().addressListMismatch, true, 'another count is seen without comparing');
    r.receiveAdvert({ ...lowerAdvert, priority: 200, source: '10.0.0.7', addressListMismatch: true, addresses: ['10.0.0.100', '10.0.0.109'] });
    assert.equal(last().addressListMismatch, true, 'a new master is compared');
  }
});

test('unicast_ttl: unicast adverts carry it (IPv4 TTL, IPv6 hop limit) and are accepted; without it IPv4 sends 255 and IPv6 the kernel default (64)', () => {
  const cases: [string, VrrpInstanceConfig, VrrpInstanceConfig, number][] = [
    ['ipv4 ttl 7', instance({ priority: 150, unicastPeers: ['10.0.0.2'], unicastTtl: 7 }), instance({ unicastPeers: ['10.0.0.1'] }), 7],
    ['ipv4 default', instance({ priority: 150, unicastPeers: ['10.0.0.2'] }), instance({ unicastPeers: ['10.0.0.1'] }), 255],
    ['ipv6 ttl 9', instance({ priority: 150, version: 3, vips: ['fe80::100'], unicastPeers: ['fe80::2'], unicastTtl: 9 }), instance({ version: 3, vips: ['fe80::100'], unicastPeers: ['fe80::1'] }), 9],
    ['ipv6 default', instance({ priority: 150, version: 3, vips: ['fe80::100'], unicastPeers: ['fe80::2'] }), instance({ version: 3, vips: ['fe80::100'], unicastPeers: ['fe80::1'] }), 64],
  ];
  for (const [what, a, b, ttl] of cases) {
    const { lan, na, nb } = pair(a, b);
    lan.clock.advance(10_000);
    assert.deepEqual(lan.masters(), ['a'], what);
    const sent = vrrpSent(na);
    assert.ok(sent.length >= 5 && sent.every((p) => p.ttl === ttl), `${what}: ${sent.map((p) => p.ttl).join(',')}`);
    assert.ok(nb.outcomes.filter((o) => o.kind === 'accepted').length >= 5, `${what}: accepted`);
  }
  // A multicast instance ignores it (assemble.ts leaves it out; the router only applies it to unicast).
  const { lan, na } = pair(instance({ priority: 150, unicastTtl: 7 }), instance());
  lan.clock.advance(5_000);
  assert.ok(vrrpSent(na).every((p) => p.ttl === 255));
});

test('mcast_dst_ip: adverts go to the instance group, and only adverts to it count (two groups, one VRID, one LAN: two elections)', () => {
  const g19 = { mcastGroup: '224.0.0.19' };
  const { lan, na, nb } = pair(instance({ priority: 150, ...g19 }), instance({ priority: 100, ...g19 }));
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.ok(vrrpSent(na).every((p) => p.destination === '224.0.0.19'));
  const dst = na.sentFrames.find((f) => parseFrame(f.frame).kind === 'ip')!.frame.subarray(0, 6);
  assert.deepEqual([...dst], [0x01, 0x00, 0x5e, 0x00, 0x00, 0x13], 'the group MAC');
  assert.equal(nb.state(), 'backup');

  // The other node listens on another group: it hears nothing of a's and becomes master too.
  const split = pair(instance({ priority: 150, ...g19 }), instance({ priority: 100 }));
  const drops = record(split.nb, 'advert-dropped');
  split.lan.clock.advance(10_000);
  assert.deepEqual(split.lan.masters().sort(), ['a', 'b']);
  assert.ok(drops.length >= 5 && drops.every((d) => d.reason === 'multicast-group-mismatch' && d.instance === undefined), JSON.stringify(drops.slice(0, 2)));

  // One VRID, two groups, two instances per node: each group elects its own master.
  const lan3 = new FakeLan();
  const x = lan3.addNode('x', A);
  const y = lan3.addNode('y', B);
  const g = (name: string, group: string, priority: number, v: string) => instance({ name, priority, mcastGroup: group, vips: [v] });
  x.start([g('G19', '224.0.0.19', 150, '10.0.0.119'), g('G20', '224.0.0.20', 100, '10.0.0.120')]);
  y.start([g('G19', '224.0.0.19', 100, '10.0.0.119'), g('G20', '224.0.0.20', 150, '10.0.0.120')]);
  lan3.clock.advance(10_000);
  assert.deepEqual([lan3.masters('G19'), lan3.masters('G20')], [['x'], ['y']]);
  assert.ok(x.outcomes.every((o) => o.kind !== 'dropped'), 'every advert went to its instance');
});

test('garp_extra_if: while master, one GARP (or NA) every interval on each other interface of its VIPs, for its first VIP there; none before the first interval', () => {
  const clock = new FakeClock();
  const frames: { atMs: number; iface: string; frame: Uint8Array }[] = [];
  const events: VrrpEvent[] = [];
  const macs: Record<string, string> = { eth0: '02:00:00:00:00:01', eth1: '02:00:00:00:01:01', eth2: '02:00:00:00:02:01' };
  const config = instance({
    priority: 255,
    vips: ['10.0.0.100'],
    garpMasterDelayMs: 0,
    garpExtraIf: { intervalMs: 60_000, all: true, interfaces: ['eth1', 'eth2'] },
  });
  const withExtra: VrrpInstanceConfig = {
    ...config,
    virtualAddresses: [...config.virtualAddresses, vip('10.1.0.1', { device: 'eth1' }), vip('10.1.0.2', { device: 'eth1' })],
    virtualAddressesExcluded: [vip('fd00:2::1', { device: 'eth2' })],
  };
  const r = new VrrpRouter(withExtra, {
    clock,
    transport: { send: () => {} },
    addresses: { add: () => {}, remove: () => {} },
    frames: { inject: (iface, frame) => frames.push({ atMs: clock.now(), iface, frame }) },
    interfaces: { mac: (i) => macs[i], primaryAddress: () => '10.0.0.1' },
    events: { emit: (e) => events.push(e) },
  });
  r.start();
  assert.equal(r.state, 'master');
  const extra = () => events.filter((e): e is GarpSentEvent => e.type === 'garp-sent' && e.reason === 'extra-interface');
  clock.advance(59_999);
  assert.equal(extra().length, 0);
  clock.advance(1);
  assert.deepEqual(extra().map((e) => [e.interface, e.vips, e.count, e.protocol]), [['eth1', ['10.1.0.1'], 1, 'arp'], ['eth2', ['fd00:2::1'], 1, 'ndp']]);
  const at60 = frames.filter((f) => f.atMs === 60_000);
  assert.deepEqual(at60.map((f) => f.iface), ['eth1', 'eth2']);
  clock.advance(60_000);
  assert.equal(extra().length, 4, 'again every interval');
  r.setInterfaceUp(false);
  clock.advance(120_000);
  assert.equal(extra().length, 4, 'not once it left master');
});

/** keepalived.conf text → instances, through the real parser. */
function configured(text: string): VrrpInstanceConfig[] {
  const r = parseConfigText(text, 'k.conf');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  return [...r.config.instances];
}

test('vrrp_min_garp: one gratuitous ARP when becoming master, no second burst 5 s later (keepalived default: 5 now, 5 after 5 s)', () => {
  const conf = (global: string, prio: number) =>
    `global_defs {\n${global}}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority ${prio}\n virtual_ipaddress {\n  10.0.0.100\n }\n}\n`;
  for (const [global, counts] of [['', [5, 5]], [' vrrp_min_garp\n', [1]]] as const) {
    const { lan, na } = pair(configured(conf(global, 150))[0]!, configured(conf(global, 100))[0]!);
    const garps = record(na, 'garp-sent');
    lan.clock.advance(30_000);
    assert.deepEqual(garps.map((g) => g.count), counts, global || 'defaults');
    assert.equal(lan.clientArp.get('10.0.0.100'), na.mac);
  }
});

test('dont_track_primary: the instance interface going down is no FAULT: a master keeps its state and VIPs (keepalived VRRP_NOT_TRACK_IF)', () => {
  for (const dontTrackPrimary of [false, true]) {
    const { lan, na, nb } = pair(instance({ priority: 150, dontTrackPrimary }), instance({ priority: 100 }));
    lan.clock.advance(10_000);
    na.setLink(false);
    lan.clock.advance(10_000);
    assert.equal(na.state(), dontTrackPrimary ? 'master' : 'fault');
    assert.equal(na.vips.has('eth0/10.0.0.100'), dontTrackPrimary);
    // The backup no longer hears adverts either way (the link is down): it takes over.
    assert.equal(nb.state(), 'master');
    na.setLink(true);
    lan.clock.advance(10_000);
    assert.deepEqual(lan.masters(), ['a'], 'a outranks b once the link is back');
    assert.deepEqual(na.engine!.routers.get('VI_1')!.faultSources(), []);
  }
});
