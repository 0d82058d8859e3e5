/**
 * The guard's trust model on the in-memory LAN: what an attacker without the VRRP password or the
 * guard secret can make it do (nothing), what a peer with the secret can make it do (no more than
 * its own ARP answers justify), and what stays bounded under a flood.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeLan, type FakeNode } from '../../fakes/lan.js';
import { instance } from '../../helpers/instances.js';
import { withGuard, peerOf, run, isVrrp, PEER_GUARD } from '../../helpers/guarded.js';
import { DEFAULT_GUARD, type GuardConfig } from '../../../src/guard/config.js';
import type { PeerInstance } from '../../../src/guard/guard.js';
import { encodeAdvert, passwordAuthData } from '../../../src/protocol/advert.js';
import { buildEthernetFrame, buildIpv4Header, multicastMac, parseEthernet } from '../../../src/protocol/frame.js';
import { buildGratuitousArp, parseArp } from '../../../src/protocol/arp.js';
import { AUTH_PASS } from '../../../src/protocol/constants.js';
import { ipBytes, parseMac } from '../../../src/protocol/inet.js';
import { prng } from '../../helpers/prng.js';

const VIP = '10.0.0.100';

function forgedAdvert(evil: FakeNode, opts: { source?: string; mac?: string; priority?: number; password?: string } = {}): Uint8Array {
  const source = opts.source ?? evil.init.ipv4;
  const msg = encodeAdvert(
    { version: 2, vrid: 51, priority: opts.priority ?? 254, advertIntervalMs: 1000, addresses: [VIP], authType: AUTH_PASS, authData: passwordAuthData(opts.password ?? 'evil') },
    { family: 'ipv4', source, destination: '224.0.0.18' },
  );
  const ip = buildIpv4Header({ source: ipBytes(source), destination: ipBytes('224.0.0.18'), payloadLength: msg.length, id: 1 });
  return buildEthernetFrame(multicastMac(ipBytes('224.0.0.18')), parseMac(opts.mac ?? evil.mac)!, 0x0800, Uint8Array.from([...ip, ...msg]));
}

/** ARP frames a node sent that announce `mac` for the VIP (GARPs pointing the VIP somewhere). */
function garpsFor(node: FakeNode, mac: string): number {
  return node.sentFrames.filter(({ frame }) => {
    const eth = parseEthernet(frame);
    const arp = eth && eth.etherType === 0x0806 ? parseArp(eth) : undefined;
    return arp !== undefined && arp.senderIp === VIP && arp.senderMac === mac;
  }).length;
}

function pair(password = 'secret1') {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  const nb = lan.addNode('b', { ipv4: '10.0.0.2' });
  const evil = lan.addNode('evil', { ipv4: '10.0.0.66' });
  evil.alive = true;
  na.start([instance({ priority: 150, password })]);
  nb.start([instance({ priority: 100, password })]);
  return { lan, na, nb, evil };
}

test('attack from the issue: a bad-auth advert at priority 254 every 10 s and a GARP "VIP is-at <attacker>" every second for 120 s change nothing', () => {
  const { lan, na, nb, evil } = pair();
  const ga = withGuard(na);
  const gb = withGuard(nb);
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  const before = na.transitions.length + nb.transitions.length;
  let twoHolders = 0;
  let noHolder = 0;
  for (let t = 0; t < 120_000; t += 100) {
    if (t % 10_000 === 0) lan.transmit(evil, forgedAdvert(evil));
    if (t % 1000 === 0) lan.transmit(evil, buildGratuitousArp(evil.mac, VIP));
    lan.clock.advance(100);
    const holders = lan.holders(VIP).filter((h) => h !== 'evil');
    if (holders.length > 1) twoHolders++;
    if (holders.length === 0) noHolder++;
  }
  assert.equal(na.transitions.length + nb.transitions.length, before, 'no transition');
  assert.deepEqual([twoHolders, noHolder], [0, 0], 'exactly one holder throughout');
  assert.deepEqual(lan.masters(), ['a']);
  assert.equal(garpsFor(na, evil.mac) + garpsFor(nb, evil.mac), 0, 'never a GARP for the attacker MAC');
  assert.ok(!ga.events.some((e) => e.type === 'guard-decision' && e.verdict.decision === 'yield'));
  assert.ok(ga.guard.suspected('VI_1'), 'the master shows the suspected conflict');
  assert.equal(ga.guard.conflict('VI_1'), false, 'not a confirmed one');
  assert.deepEqual(ga.view.healthReasons(), [], '/healthz stays green');
  assert.ok(garpsFor(na, na.mac) > 0, 'the master reclaims the neighbours with its own MAC');
  void gb;
});

test('a 100k-packet flood of forged adverts with random source MAC and IP: the evidence book stays capped, nobody moves', () => {
  const { lan, na, nb, evil } = pair();
  const ga = withGuard(na);
  withGuard(nb);
  lan.clock.advance(10_000);
  const rnd = prng(11);
  const hex = () => Math.floor(rnd() * 256).toString(16).padStart(2, '0');
  let maxEntries = 0;
  for (let i = 0; i < 100_000; i++) {
    const mac = `02:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}`;
    const source = `10.${1 + Math.floor(rnd() * 250)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 250)}`;
    lan.transmit(evil, forgedAdvert(evil, { mac, source, password: i % 2 ? 'evil' : 'secret1x' }));
    if (i % 100 === 0) {
      lan.clock.advance(10);
      maxEntries = Math.max(maxEntries, ga.guard.snapshot('VI_1')!.entries);
    }
  }
  lan.clock.advance(5000);
  assert.ok(maxEntries <= 32 + 64 + 256 + 64 + 64, `evidence entries ${maxEntries}`);
  assert.deepEqual(lan.masters(), ['a']);
  assert.ok(!ga.events.some((e) => e.type === 'guard-decision' && e.verdict.decision === 'yield'));
});

test('a signed peer that lies (MASTER at priority 254, held, a MAC nobody answers with) demotes nobody and keeps /healthz green', async () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  na.start([instance({ priority: 150 })]);
  const lie: PeerInstance[] = [{ name: 'VI_1', vrid: 51, family: 'ipv4', state: 'master', priority: 254, address: '10.0.0.9', mac: '02:00:00:00:00:99', vips: [VIP], held: true, conflict: true }];
  const ga = withGuard(na, PEER_GUARD, peerOf(() => lie));
  await run(lan, 30_000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.ok(!ga.events.some((e) => e.type === 'guard-decision' && e.verdict.decision === 'yield'), 'a claim alone never demotes');
  assert.ok(ga.events.some((e) => e.type === 'guard-decision' && /never demote/.test(e.verdict.reason)));
  assert.ok(ga.guard.conflict('VI_1'), 'a signed claim is shown as a conflict');
  assert.deepEqual(ga.view.healthReasons(), [], "a peer's word alone never turns /healthz red");
});

test('a held node is released when its own probes no longer see the winner, whatever the peer keeps claiming', async () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  const nb = lan.addNode('b', { ipv4: '10.0.0.2' });
  na.start([instance({ priority: 150, password: 'aaaa' })]);
  nb.start([instance({ priority: 100, password: 'bbbb' })]);
  let frozen: PeerInstance[] | undefined;
  const ga = withGuard(na, PEER_GUARD, peerOf(() => gb.view.localView()));
  const gb = withGuard(nb, PEER_GUARD, peerOf(() => frozen ?? ga.view.localView()));
  await run(lan, 15_000);
  const rb = nb.engine!.routers.get('VI_1')!;
  assert.ok(rb.held, 'b held out');
  // a's host drops off the LAN, but b's cross-check keeps hearing "MASTER, 150" from a.
  frozen = ga.view.localView();
  const lost = lan.clock.now();
  na.linkUp = false;
  await run(lan, 10_000);
  assert.equal(rb.held, undefined, 'released');
  assert.equal(rb.state, 'master');
  const took = nb.transitions.at(-1)!;
  assert.ok(took.atMs - lost < 6000, `took over ${took.atMs - lost} ms after the winner left`);
  assert.ok(gb.events.some((e) => e.type === 'guard-release' && /no longer seen/.test(e.reason)));
});

test("unknown_peer_policy yield (opt-in, unsafe): yields to an unknown MAC's ARP, but never announces that MAC", () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  const evil = lan.addNode('evil', { ipv4: '10.0.0.66' });
  evil.alive = true;
  na.start([instance({ priority: 150 })]);
  const cfg: GuardConfig = { ...DEFAULT_GUARD, unknownPeerPolicy: 'yield' };
  const ga = withGuard(na, cfg);
  lan.clock.advance(10_000);
  for (let t = 0; t < 5000; t += 500) {
    lan.transmit(evil, buildGratuitousArp(evil.mac, VIP));
    lan.clock.advance(500);
  }
  const d = ga.events.find((e) => e.type === 'guard-decision' && e.verdict.decision === 'yield');
  assert.ok(d && d.type === 'guard-decision' && /not authenticated/.test(d.verdict.reason));
  assert.equal(garpsFor(na, evil.mac), 0, 'no GARP for a MAC only seen in ARP');
  // The attacker stops: the hold ends and a takes the VIP back.
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
});

test('a keepalived-like peer cut off by a firewall: its priority known from accepted adverts before the cut still makes the lower one yield', () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  const nb = lan.addNode('b', { ipv4: '10.0.0.2' });
  na.start([instance({ priority: 150 })]);
  nb.start([instance({ priority: 100 })]);
  // a has no guard (plain keepalived); b runs keepwatch's.
  const gb = withGuard(nb);
  lan.clock.advance(10_000);
  lan.dropIf = (_f, _t, frame) => isVrrp(frame);
  lan.clock.advance(10_000);
  assert.deepEqual(lan.holders(VIP), ['a']);
  const d = gb.events.find((e) => e.type === 'guard-decision' && e.verdict.decision === 'yield');
  assert.ok(d && d.type === 'guard-decision' && d.evidence.authenticated === true && /priority 100 < 150/.test(d.verdict.reason));
  assert.ok(garpsFor(nb, na.mac) > 0, 'hands the neighbours back to the authenticated winner');
});

test('a long hold keeps the level it yielded on: confirmed throughout, never both flags', () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  const nb = lan.addNode('b', { ipv4: '10.0.0.2' });
  na.start([instance({ priority: 150 })]);
  nb.start([instance({ priority: 100 })]);
  withGuard(na);
  const gb = withGuard(nb);
  lan.clock.advance(10_000);
  lan.dropIf = (_f, _t, frame) => isVrrp(frame);
  for (let t = 0; t < 180_000; t += 10_000) {
    lan.clock.advance(10_000);
    if (t < 10_000) continue;
    assert.ok(nb.engine!.routers.get('VI_1')!.held, `held at +${t} ms`);
    assert.deepEqual([gb.guard.conflict('VI_1'), gb.guard.suspected('VI_1')], [true, false], `flags at +${t} ms`);
  }
});
