/**
 * The split-brain guard: arbitration symmetry (both sides' decisions over the facts each side has),
 * signed cross-check messages, its config, and the whole guard on an in-memory LAN where VRRP is
 * cut between two nodes while ARP still flows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeLan, type FakeNode } from '../../fakes/lan.js';
import { instance } from '../../helpers/instances.js';
import { arbitrate, type NodeFacts } from '../../../src/guard/arbitration.js';
import { SplitBrainGuard, type GuardEvent, type PeerClient, type PeerInstance } from '../../../src/guard/guard.js';
import { GuardView } from '../../../src/guard/view.js';
import { withGuard, peerOf, run, isVrrp, PEER_GUARD } from '../../helpers/guarded.js';
import { buildGratuitousArp, parseArp } from '../../../src/protocol/arp.js';
import { parseEthernet } from '../../../src/protocol/frame.js';
import { DEFAULT_GUARD, parseGuardConfig, type GuardConfig } from '../../../src/guard/config.js';
import { ReplayCache, newNonce, signRequest, signResponse, verifyRequest, verifyResponse } from '../../../src/guard/signing.js';
import { EventBus } from '../../../src/events/index.js';
import { masterDownIntervalMs } from '../../../src/protocol/timing.js';
import { formatDiagnostic } from '../../../src/config/diagnostics.js';
import { encodeAdvert, passwordAuthData } from '../../../src/protocol/advert.js';
import { buildEthernetFrame, buildIpv4Header, multicastMac } from '../../../src/protocol/frame.js';
import { AUTH_PASS } from '../../../src/protocol/constants.js';
import { ipBytes, parseMac } from '../../../src/protocol/inet.js';
import { prng } from '../../helpers/prng.js';


test('arbitration is symmetric: with the same facts on both sides, exactly one node keeps the VIP', () => {
  const rnd = prng(7);
  for (let i = 0; i < 20_000; i++) {
    const pa = [100, 150, 200, 254][Math.floor(rnd() * 4)]!;
    const pb = rnd() < 0.3 ? pa : [100, 150, 200, 254][Math.floor(rnd() * 4)]!;
    const a = { priority: pa, address: `10.0.0.${1 + Math.floor(rnd() * 100)}` };
    let b = { priority: pb, address: `10.0.0.${101 + Math.floor(rnd() * 100)}` };
    if (rnd() < 0.5) b = { ...b, address: `10.0.0.${Math.floor(rnd() * 100)}` };
    if (a.address === b.address) continue;
    const witness = rnd() < 0.3 ? { a: rnd() < 0.7, b: rnd() < 0.7 } : undefined;
    const A: NodeFacts & typeof a = { ...a, ...(witness ? { witnessUp: witness.a } : {}) };
    const B: NodeFacts & typeof b = { ...b, ...(witness ? { witnessUp: witness.b } : {}) };
    for (const policy of ['hold', 'yield'] as const) {
      const da = arbitrate(A, B, policy).decision;
      const db = arbitrate(B, A, policy).decision;
      if (witness && !witness.a && !witness.b) {
        assert.deepEqual([da, db], ['yield', 'yield'], 'both isolated: both yield');
        continue;
      }
      assert.notEqual(da, db, `exactly one keeps: ${JSON.stringify({ A, B, policy, da, db })}`);
      const keeper = da === 'keep' ? A : B;
      const other = da === 'keep' ? B : A;
      if (!witness || (witness.a && witness.b)) assert.ok(keeper.priority > other.priority || (keeper.priority === other.priority && keeper.address > other.address) || keeper.address.split('.').map(Number)[3]! > other.address.split('.').map(Number)[3]!);
    }
  }
  // Facts missing on one side: the policy decides, and says so.
  assert.deepEqual(arbitrate({ priority: 100, address: '10.0.0.1' }, {}, 'hold'), { decision: 'keep', reason: "the other node's priority is unknown (policy: hold)" });
  assert.equal(arbitrate({ priority: 100, address: '10.0.0.1' }, {}, 'yield').decision, 'yield');
  assert.equal(arbitrate({ priority: 100, address: '10.0.0.1', witnessUp: false }, { priority: 50 }, 'hold').decision, 'yield');
});

test('cross-check signatures: good ones pass; unsigned, forged, stale and replayed ones are refused', () => {
  const secret = Buffer.from('0123456789abcdef0123456789abcdef');
  const other = Buffer.from('fedcba9876543210fedcba9876543210');
  const now = 1_800_000_000_000;
  const replay = new ReplayCache(30_000);
  const nonce = newNonce();
  const sig = signRequest(secret, 'GET', '/v1/guard', now, nonce);
  const req = (parts: object, at = now) => verifyRequest(secret, 'GET', '/v1/guard', parts, at, 30_000, replay);
  assert.deepEqual(req({}), { ok: false, reason: 'unsigned' });
  assert.deepEqual(req({ timestamp: String(now), nonce, signature: signRequest(other, 'GET', '/v1/guard', now, nonce) }), { ok: false, reason: 'bad-signature' });
  assert.deepEqual(req({ timestamp: String(now), nonce, signature: signRequest(secret, 'GET', '/v1/state', now, nonce) }), { ok: false, reason: 'bad-signature' });
  assert.deepEqual(req({ timestamp: String(now), nonce: 'zz', signature: sig }), { ok: false, reason: 'malformed' });
  assert.deepEqual(req({ timestamp: String(now), nonce, signature: sig }, now + 31_000), { ok: false, reason: 'stale' });
  assert.deepEqual(req({ timestamp: String(now), nonce, signature: sig }), { ok: true });
  assert.deepEqual(req({ timestamp: String(now), nonce, signature: sig }), { ok: false, reason: 'replayed' });
  assert.deepEqual(verifyRequest(undefined, 'GET', '/v1/guard', {}, now, 30_000, replay), { ok: false, reason: 'no-secret' });
  const body = '{"instances":[]}';
  const rs = signResponse(secret, body, nonce, now);
  assert.deepEqual(verifyResponse(secret, body, nonce, { timestamp: String(now), signature: rs }, now, 30_000), { ok: true });
  assert.deepEqual(verifyResponse(secret, body.replace('[]', '[1]'), nonce, { timestamp: String(now), signature: rs }, now, 30_000), { ok: false, reason: 'bad-signature' });
  assert.deepEqual(verifyResponse(secret, body, newNonce(), { timestamp: String(now), signature: rs }, now, 30_000), { ok: false, reason: 'bad-signature' }, 'an answer to another request');
});

test('guard config: defaults, every keyword, errors with their place', () => {
  const ok = parseGuardConfig('guard {\n  interval 0.5\n  hold_down 20\n  unknown_peer_policy yield\n  witness 10.0.0.254\n  secret_file /s\n  peer 10.0.0.2:11200\n  detect arp peer\n  alertmanager http://am:9093/\n}\n', 'g.conf', () => Buffer.from('a-very-long-shared-secret'));
  assert.deepEqual(ok.diagnostics, []);
  assert.equal(ok.config!.intervalMs, 500);
  assert.equal(ok.config!.holdDownMs, 20_000);
  assert.equal(ok.config!.unknownPeerPolicy, 'yield');
  assert.deepEqual([...ok.config!.sources].sort(), ['arp', 'peer']);
  assert.equal(ok.config!.alertmanagerUrl, 'http://am:9093');
  assert.deepEqual(ok.config!.peers, [{ host: '10.0.0.2', port: 11200 }]);
  const bad = parseGuardConfig('guard {\n  intreval 1\n  unknown_peer_policy maybe\n  peer nohost\n  detect smoke\n}\n', 'g.conf', () => Buffer.from('x'));
  assert.deepEqual(bad.diagnostics.map(formatDiagnostic), [
    "g.conf:2:3: error: unknown keyword 'intreval' in guard; did you mean 'interval'?",
    "g.conf:3:23: error: invalid unknown_peer_policy 'maybe': expected hold or yield",
    "g.conf:4:8: error: invalid peer 'nohost': expected HOST:PORT of another keepwatch agent",
    "g.conf:5:10: error: unknown detection source 'smoke': expected pcap, arp, peer",
  ]);
  const noSecret = parseGuardConfig('guard {\n  peer 10.0.0.2:11200\n}\n', 'g.conf');
  assert.match(noSecret.diagnostics.map(formatDiagnostic).join('\n'), /'peer' needs a 'secret_file'/);
});

function cutPair(opts: { a?: Parameters<typeof instance>[0]; b?: Parameters<typeof instance>[0]; cutFromStart?: boolean } = {}) {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  const nb = lan.addNode('b', { ipv4: '10.0.0.2' });
  const a = instance({ priority: 150, ...opts.a });
  const b = instance({ priority: 100, ...opts.b });
  if (opts.cutFromStart) lan.dropIf = (_f, _t, frame) => isVrrp(frame);
  na.start([a]);
  nb.start([b]);
  const ga = withGuard(na);
  const gb = withGuard(nb);
  return { lan, na, nb, ga, gb, a, b };
}

test('guard on a LAN with VRRP cut: both go master, the ARP probes find the other holder, the lower priority yields and stays out', () => {
  const { lan, na, nb, ga, gb } = cutPair();
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a'], 'normal VRRP first');
  const cutAt = lan.clock.now();
  lan.dropIf = (_f, _t, frame) => isVrrp(frame);
  lan.clock.advance(7000);
  // b went master (no adverts), then both probed and found each other; b yields (it knows a's priority from its adverts before the cut).
  assert.deepEqual(lan.masters(), ['a']);
  assert.deepEqual(lan.holders('10.0.0.100'), ['a']);
  const rb = nb.engine!.routers.get('VI_1')!;
  assert.match(rb.held ?? '', /priority 100 < 150/);
  assert.equal(rb.state, 'backup');
  assert.ok(gb.guard.conflict('VI_1'), 'the loser flags split brain');
  const decision = gb.events.find((e) => e.type === 'guard-decision');
  assert.ok(decision && decision.type === 'guard-decision' && decision.verdict.decision === 'yield' && decision.evidence.source === 'arp');
  const demotedAt = nb.transitions.find((t) => t.cause === 'guard-demotion')!.atMs;
  const bMasterAt = nb.transitions.find((t) => t.to === 'master' && t.atMs > cutAt)!.atMs;
  assert.ok(demotedAt - bMasterAt <= 3 * DEFAULT_GUARD.intervalMs, `demoted ${demotedAt - bMasterAt} ms after becoming master`);
  const keep = ga.events.find((e) => e.type === 'guard-decision');
  assert.ok(keep && keep.type === 'guard-decision' && keep.verdict.decision === 'keep', 'the winner decided to keep');
  // Stays out while a is seen holding the VIP.
  lan.clock.advance(20_000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.deepEqual(lan.holders('10.0.0.100'), ['a']);
  void na;
});

test('guard: when VRRP comes back, the hold is released and normal VRRP resumes; the flags clear', () => {
  const { lan, nb, gb } = cutPair();
  lan.clock.advance(10_000);
  lan.dropIf = (_f, _t, frame) => isVrrp(frame);
  lan.clock.advance(8000);
  assert.ok(nb.engine!.routers.get('VI_1')!.held);
  lan.dropIf = undefined;
  lan.clock.advance(5000);
  const rb = nb.engine!.routers.get('VI_1')!;
  assert.equal(rb.held, undefined);
  assert.equal(rb.state, 'backup');
  assert.equal(gb.guard.conflict('VI_1'), false);
  assert.ok(gb.events.some((e) => e.type === 'guard-release' && /received again/.test(e.reason)));
  assert.ok(gb.events.some((e) => e.type === 'guard-conflict' && !e.active));
});

test('guard: the winner dies during a conflict (host gone): the held node takes over Master_Down_Interval after it was last seen', () => {
  const { lan, na, nb } = cutPair();
  lan.clock.advance(10_000);
  lan.dropIf = (_f, _t, frame) => isVrrp(frame);
  lan.clock.advance(8000);
  assert.ok(nb.engine!.routers.get('VI_1')!.held);
  // The winner's host goes away: agent dead and link down (no ARP answers any more).
  const lastSeen = lan.clock.now();
  na.kill();
  na.linkUp = false;
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['b']);
  const took = nb.transitions.at(-1)!;
  assert.equal(took.to, 'master');
  const mdi = masterDownIntervalMs(2, 100, 1000);
  // Last ARP answer at most one guard interval before the death; takeover at that + MDI (+ a tick).
  assert.ok(took.atMs - lastSeen <= mdi + DEFAULT_GUARD.intervalMs + 1, `took over ${took.atMs - lastSeen} ms after the winner died (MDI ${mdi})`);
  assert.ok(took.atMs - lastSeen >= mdi - DEFAULT_GUARD.intervalMs - 1);
});

test('guard: mismatched auth_pass without a peer agent: detected by pcap with the drop reason, both keep, suspected only (nothing authenticates the other node)', () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  const nb = lan.addNode('b', { ipv4: '10.0.0.2' });
  na.start([instance({ priority: 150, password: 'aaaa' })]);
  nb.start([instance({ priority: 100, password: 'bbbb' })]);
  const ga = withGuard(na);
  const gb = withGuard(nb);
  lan.clock.advance(15_000);
  assert.deepEqual(lan.masters().sort(), ['a', 'b'], 'nobody yields on forgeable evidence');
  const det = gb.events.find((e) => e.type === 'guard-detection' && e.evidence.source === 'pcap');
  assert.ok(det && det.type === 'guard-detection');
  assert.match(det.evidence.detail, /auth-mismatch/);
  assert.equal(det.evidence.authenticated, false);
  for (const g of [ga, gb]) {
    assert.ok(g.guard.suspected('VI_1'), 'suspected');
    assert.equal(g.guard.conflict('VI_1'), false, 'not confirmed');
    assert.deepEqual(g.view.healthReasons(), [], 'a suspected conflict never turns /healthz red');
    assert.ok(!g.events.some((e) => e.type === 'guard-decision' && e.verdict.decision === 'yield'));
  }
});

test('guard: mismatched auth_pass with a signed peer agent: the peer vouches for the MAC, ARP sees it hold the VIP, the lower priority yields', async () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  const nb = lan.addNode('b', { ipv4: '10.0.0.2' });
  na.start([instance({ priority: 150, password: 'aaaa' })]);
  nb.start([instance({ priority: 100, password: 'bbbb' })]);
  let va: GuardView | undefined;
  let vb: GuardView | undefined;
  const ga = withGuard(na, PEER_GUARD, peerOf(() => vb!.localView()));
  const gb = withGuard(nb, PEER_GUARD, peerOf(() => va!.localView()));
  va = ga.view;
  vb = gb.view;
  await run(lan, 15_000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.deepEqual(lan.holders('10.0.0.100'), ['a']);
  const yielded = gb.events.find((e) => e.type === 'guard-decision' && e.verdict.decision === 'yield');
  assert.ok(yielded && yielded.type === 'guard-decision' && /priority 100 < 150/.test(yielded.verdict.reason), JSON.stringify(yielded));
  assert.ok(gb.guard.conflict('VI_1'), 'confirmed on the loser');
  assert.ok(gb.events.some((e) => e.type === 'guard-detection' && e.evidence.source === 'pcap' && /auth-mismatch/.test(e.evidence.detail)));
  assert.match(gb.view.healthReasons().map((h) => h.cause).join(), /held out/);
});

test('guard: adverts alone (pcap only) flag the conflict but never demote anyone', () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  const nb = lan.addNode('b', { ipv4: '10.0.0.2' });
  na.start([instance({ priority: 150, password: 'aaaa' })]);
  nb.start([instance({ priority: 100, password: 'bbbb' })]);
  const cfg: GuardConfig = { ...DEFAULT_GUARD, sources: new Set(['pcap']) };
  const ga = withGuard(na, cfg);
  const gb = withGuard(nb, cfg);
  lan.clock.advance(15_000);
  assert.deepEqual(lan.masters().sort(), ['a', 'b']);
  assert.ok(ga.guard.suspected('VI_1') && gb.guard.suspected('VI_1'), 'both flag it as suspected');
  for (const g of [ga, gb]) assert.ok(g.events.every((e) => e.type !== 'guard-decision' || (e.verdict.decision === 'keep' && /never demote/.test(e.verdict.reason))));
});

test('guard: a flood of forged adverts for our VRID at priority 254 demotes nobody', () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  const nb = lan.addNode('b', { ipv4: '10.0.0.2' });
  const evil = lan.addNode('evil', { ipv4: '10.0.0.66' });
  na.start([instance({ priority: 150, password: 'aaaa' })]);
  nb.start([instance({ priority: 100, password: 'aaaa' })]);
  const ga = withGuard(na);
  withGuard(nb);
  lan.clock.advance(10_000);
  // 50 forged adverts per 100 ms (wrong password, priority 254) from a third node, for 10 s.
  const msg = encodeAdvert({ version: 2, vrid: 51, priority: 254, advertIntervalMs: 1000, addresses: ['10.0.0.100'], authType: AUTH_PASS, authData: passwordAuthData('evil') }, { family: 'ipv4', source: '10.0.0.66', destination: '224.0.0.18' });
  const ip = buildIpv4Header({ source: ipBytes('10.0.0.66'), destination: ipBytes('224.0.0.18'), payloadLength: msg.length, id: 1 });
  const frame = buildEthernetFrame(multicastMac(ipBytes('224.0.0.18')), parseMac(evil.mac)!, 0x0800, Uint8Array.from([...ip, ...msg]));
  evil.alive = true;
  for (let i = 0; i < 100; i++) {
    for (let k = 0; k < 50; k++) lan.transmit(evil, frame);
    lan.clock.advance(100);
  }
  const drops = na.outcomes.filter((o) => o.kind === 'dropped' && o.reason === 'auth-mismatch').length;
  assert.ok(drops >= 4000, `${drops} forged adverts reached a`);
  assert.deepEqual(lan.masters().filter((n) => n === 'a' || n === 'b'), ['a']);
  assert.ok(!ga.events.some((e) => e.type === 'guard-decision' && e.verdict.decision === 'yield'));
});

test('guard: no false alarm on a normal preemption or failover', () => {
  const { lan, na, a, ga, gb } = cutPair();
  lan.clock.advance(10_000);
  na.stop();
  lan.clock.advance(5000);
  na.start([a]);
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  for (const g of [ga, gb]) assert.deepEqual(g.events.filter((e) => e.type === 'guard-detection' || e.type === 'guard-decision'), []);
});

test('guard: unknown priority of the other holder (VRRP cut from the start): policy hold keeps both and alerts', () => {
  const { lan, ga, gb } = cutPair({ cutFromStart: true });
  lan.clock.advance(15_000);
  assert.deepEqual(lan.masters().sort(), ['a', 'b'], 'policy hold: both keep');
  assert.ok(ga.guard.suspected('VI_1') && gb.guard.suspected('VI_1'), 'both flag a suspected split brain');
  const reasons = [...ga.events, ...gb.events].filter((e) => e.type === 'guard-decision').map((e) => (e.type === 'guard-decision' ? e.verdict.reason : ''));
  assert.ok(reasons.length >= 2 && reasons.every((r) => /not authenticated.*\(policy: hold\)/.test(r)), reasons.join('; '));
});
