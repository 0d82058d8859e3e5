/**
 * The guard's Neighbor Discovery counterpart of ARP, on the in-memory LAN with IPv6 VIPs: it
 * probes with neighbour solicitations, takes neighbour advertisements as sightings (the
 * `arp-claim` kind, `arp` source), and follows the same trust rules: only a MAC authenticated by
 * accepted adverts (or a signed peer) can make a node yield, and only such a MAC is ever announced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeLan, type FakeNode } from '../../fakes/lan.js';
import { instance, type InstanceInit } from '../../helpers/instances.js';
import { withGuard } from '../../helpers/guarded.js';
import { DEFAULT_GUARD, type GuardConfig } from '../../../src/guard/config.js';
import { parseFrame } from '../../../src/protocol/frame.js';
import { buildNeighbourAdvert, buildUnsolicitedNa, parseNeighbourAdvert } from '../../../src/protocol/ndp.js';
import { formatIpv6 } from '../../../src/protocol/inet.js';

const VIP6 = 'fd00::100';
const v6 = (init: InstanceInit = {}) => instance({ version: 3, advertIntervalMs: 100, vips: [VIP6], garpMasterDelayMs: 0, ...init });
const isVrrp6 = (f: Uint8Array) => f[12] === 0x86 && f[13] === 0xdd && f[20] === 112;

/** NAs a node sent for the VIP that announce `mac` (unsolicited: meant for every neighbour). */
function nasFor(node: FakeNode, mac: string): number {
  return node.sentFrames.filter(({ frame }) => {
    const p = parseFrame(frame);
    const na = p.kind === 'ip' ? parseNeighbourAdvert(p.ethernet, p.ip) : undefined;
    return na !== undefined && !na.solicited && na.target === VIP6 && na.targetMac === mac;
  }).length;
}

/** Neighbour solicitations a node sent for the VIP, with where they went. */
function probes(node: FakeNode): { source: string; destination: string }[] {
  return node.sentFrames.flatMap(({ frame }) => {
    const p = parseFrame(frame);
    if (p.kind !== 'ip' || p.ip.protocol !== 58 || p.ip.payload[0] !== 135) return [];
    return [{ source: formatIpv6(p.ip.source), destination: formatIpv6(p.ip.destination) }];
  });
}

function pair() {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1', ipv6: 'fe80::1' });
  const nb = lan.addNode('b', { ipv4: '10.0.0.2', ipv6: 'fe80::2' });
  na.start([v6({ priority: 150 })]);
  nb.start([v6({ priority: 100 })]);
  const ga = withGuard(na);
  const gb = withGuard(nb);
  return { lan, na, nb, ga, gb };
}

test('VRRP cut on an IPv6 LAN: the neighbour solicitations find the other holder, the lower priority yields and hands the client back', () => {
  const { lan, na, nb, ga, gb } = pair();
  lan.clock.advance(5000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.equal(lan.clientArp.get(VIP6), na.mac);
  // The master probes its IPv6 VIP: from its link-local address to the solicited-node group.
  assert.ok(probes(na).length >= 4);
  assert.deepEqual(probes(na)[0], { source: 'fe80::1', destination: 'ff02::1:ff00:100' });

  lan.dropIf = (_f, _t, frame) => isVrrp6(frame);
  lan.clock.advance(7000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.deepEqual(lan.holders(VIP6), ['a']);
  const rb = nb.engine!.routers.get('VI_1')!;
  assert.match(rb.held ?? '', /priority 100 < 150/);
  const d = gb.events.find((e) => e.type === 'guard-decision');
  assert.ok(d && d.type === 'guard-decision' && d.verdict.decision === 'yield');
  assert.equal(d.evidence.source, 'arp', "neighbour discovery reports as the 'arp' source");
  assert.equal(d.evidence.authenticated, true);
  assert.match(d.evidence.detail, /neighbour advertisement: fd00::100 is at 02:00:00:00:00:01 \(fe80::1, priority 150, known from its accepted adverts\)/);
  assert.ok(gb.guard.conflict('VI_1'));
  const keep = ga.events.find((e) => e.type === 'guard-decision');
  assert.ok(keep && keep.type === 'guard-decision' && keep.verdict.decision === 'keep');
  // b's takeover NAs pointed the client at b; its hand-back NA points it at the winner again.
  assert.ok(nasFor(nb, nb.mac) > 0);
  assert.ok(nasFor(nb, na.mac) > 0, 'a hand-back NA announcing the authenticated winner');
  assert.equal(lan.clientArp.get(VIP6), na.mac);

  // b stays out while a answers; when VRRP returns, the hold ends.
  lan.clock.advance(20_000);
  assert.ok(rb.held);
  assert.deepEqual(lan.holders(VIP6), ['a']);
  lan.dropIf = undefined;
  lan.clock.advance(3000);
  assert.equal(rb.held, undefined);
  assert.equal(rb.state, 'backup');
  assert.ok(gb.events.some((e) => e.type === 'guard-release' && /received again/.test(e.reason)));
});

test('the winner dies while a node is held out: its answers stop, the held node takes over and the client follows', () => {
  const { lan, na, nb } = pair();
  lan.clock.advance(5000);
  lan.dropIf = (_f, _t, frame) => isVrrp6(frame);
  lan.clock.advance(7000);
  const rb = nb.engine!.routers.get('VI_1')!;
  assert.ok(rb.held);
  const gone = lan.clock.now();
  na.kill();
  na.linkUp = false;
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['b']);
  const took = nb.transitions.at(-1)!;
  assert.ok(took.atMs - gone < 6000, `took over ${took.atMs - gone} ms after the winner left`);
  assert.equal(lan.clientArp.get(VIP6), nb.mac);
});

test('an attacker announcing the IPv6 VIP (unsolicited and "solicited" NAs, every second for a minute) moves nobody and is never announced', () => {
  const { lan, na, nb, ga } = pair();
  const evil = lan.addNode('evil', { ipv4: '10.0.0.66', ipv6: 'fe80::66' });
  evil.alive = true;
  lan.clock.advance(5000);
  const before = na.transitions.length + nb.transitions.length;
  for (let t = 0; t < 60_000; t += 100) {
    if (t % 1000 === 0) lan.transmit(evil, buildUnsolicitedNa(evil.mac, VIP6, { router: false }));
    if (t % 1000 === 500) lan.transmit(evil, buildNeighbourAdvert({ sourceMac: evil.mac, destinationMac: na.mac, source: VIP6, destination: 'fe80::1', target: VIP6, router: false, solicited: true, override: true, targetMac: evil.mac }));
    lan.clock.advance(100);
    assert.deepEqual(lan.holders(VIP6).filter((h) => h !== 'evil'), ['a']);
  }
  assert.equal(na.transitions.length + nb.transitions.length, before, 'no transition');
  assert.ok(!ga.events.some((e) => e.type === 'guard-decision' && e.verdict.decision === 'yield'));
  assert.ok(ga.guard.suspected('VI_1'), 'shown as suspected');
  assert.equal(ga.guard.conflict('VI_1'), false, 'never confirmed');
  assert.deepEqual(ga.view.healthReasons(), []);
  assert.equal(nasFor(na, evil.mac) + nasFor(nb, evil.mac), 0, 'never an NA for the attacker MAC');
  assert.ok(nasFor(na, na.mac) > 1, 'the master reclaims the neighbours with its own MAC');
});

test("unknown_peer_policy yield (opt-in): yields to an unknown MAC's NAs but never announces it; back once they stop", () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1', ipv6: 'fe80::1' });
  const evil = lan.addNode('evil', { ipv4: '10.0.0.66', ipv6: 'fe80::66' });
  evil.alive = true;
  na.start([v6({ priority: 150 })]);
  const cfg: GuardConfig = { ...DEFAULT_GUARD, unknownPeerPolicy: 'yield' };
  const ga = withGuard(na, cfg);
  lan.clock.advance(5000);
  for (let t = 0; t < 5000; t += 500) {
    lan.transmit(evil, buildUnsolicitedNa(evil.mac, VIP6, { router: false }));
    lan.clock.advance(500);
  }
  const d = ga.events.find((e) => e.type === 'guard-decision' && e.verdict.decision === 'yield');
  assert.ok(d && d.type === 'guard-decision' && /not authenticated/.test(d.verdict.reason));
  assert.equal(nasFor(na, evil.mac), 0, 'no NA for a MAC only seen in ND');
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
});

test('no false alarm on a normal IPv6 failover and preemption', () => {
  const { lan, na, nb, ga, gb } = pair();
  lan.clock.advance(5000);
  na.stop();
  lan.clock.advance(3000);
  assert.deepEqual(lan.masters(), ['b']);
  na.start([v6({ priority: 150 })]);
  lan.clock.advance(5000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.equal(lan.clientArp.get(VIP6), na.mac);
  for (const g of [ga, gb]) {
    assert.equal(g.guard.conflict('VI_1'), false);
    assert.ok(!g.events.some((e) => e.type === 'guard-decision'));
  }
});
