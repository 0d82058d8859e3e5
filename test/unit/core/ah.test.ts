/**
 * VRRPv2 `auth_type AH` through the engine and the state machine, on the in-memory LAN (every
 * advert goes through the real AH encoder and verifier): elections and failovers keep the
 * sequence numbers moving the way keepalived's do, a wrong key is dropped and counted, a replayed
 * advert is dropped as a replay, and a peer that restarted its count catches up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeLan, type FakeNode } from '../../fakes/lan.js';
import { instance, type InstanceInit } from '../../helpers/instances.js';
import { masterDownIntervalMs } from '../../../src/protocol/timing.js';
import { parseFrame } from '../../../src/protocol/frame.js';
import type { AdvertDroppedEvent } from '../../../src/events/index.js';

const A = { ipv4: '10.0.0.1' };
const B = { ipv4: '10.0.0.2' };
const loc = { file: 'test.conf', line: 1, column: 1 };
const ah = (password: string, init: InstanceInit = {}) => instance({ ...init, authentication: { type: 'AH', password, location: loc } });

function setup(a = ah('s3cret', { priority: 150 }), b = ah('s3cret', { priority: 100 })) {
  const lan = new FakeLan();
  lan.recordWire = true;
  const na = lan.addNode('a', A);
  const nb = lan.addNode('b', B);
  const drops = { a: [] as AdvertDroppedEvent[], b: [] as AdvertDroppedEvent[] };
  na.events.on('advert-dropped', (e) => drops.a.push(e));
  nb.events.on('advert-dropped', (e) => drops.b.push(e));
  na.start([a]);
  nb.start([b]);
  return { lan, na, nb, drops };
}

/** The AH sequence numbers a node put on the wire, in order. */
function sentSequences(lan: FakeLan, node: FakeNode): number[] {
  const out: number[] = [];
  for (const w of lan.wire) {
    if (w.from !== node.name) continue;
    const p = parseFrame(w.frame);
    if (p.kind === 'ip' && p.ip.ah) out.push(p.ip.ah.sequence);
  }
  return out;
}

const counter = (n: FakeNode) => n.engine!.routers.get('VI_1')!.ahSequence!.current;

test('AH pair: election, kill -9 failover, restart and preempt, with no advert dropped', () => {
  const { lan, na, nb, drops } = setup();
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.equal(nb.state(), 'backup');
  const aSeqs = sentSequences(lan, na);
  assert.deepEqual(aSeqs, aSeqs.map((_, i) => i + 1), 'the master numbers its adverts 1, 2, 3 ...');
  assert.equal(counter(nb), aSeqs.at(-1), "the backup's counter follows the master's");
  const vrrp = nb.outcomes.filter((o) => o.kind !== 'arp' && o.kind !== 'other');
  assert.ok(vrrp.length >= 5 && vrrp.every((o) => o.kind === 'accepted'), JSON.stringify(vrrp.filter((o) => o.kind !== 'accepted')));
  // kill -9: the backup takes over and continues the numbering, so anyone who heard a accepts it.
  const lastA = aSeqs.at(-1)!;
  na.kill();
  lan.clock.advance(5_000);
  assert.deepEqual(lan.masters(), ['b']);
  assert.equal(sentSequences(lan, nb)[0], lastA + 1);
  // a restarts with a count of 0, starts as backup, learns b's number, then preempts with the next.
  na.start([ah('s3cret', { priority: 150 })]);
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  const bLast = sentSequences(lan, nb).at(-1)!;
  const aAfter = sentSequences(lan, na).slice(aSeqs.length);
  assert.ok(aAfter[0]! > bLast, `a's first advert after the restart (${aAfter[0]}) is above b's last (${bLast})`);
  assert.deepEqual([...drops.a, ...drops.b], [], 'no advert dropped on either side');
  assert.deepEqual(lan.holders('10.0.0.100'), ['a']);
  assert.equal(lan.clientArp.get('10.0.0.100'), na.mac, "the client's ARP entry follows the master");
});

test('SIGTERM hand-over under AH: the priority-0 advert is authenticated and the backup takes over after Skew_Time', () => {
  const { lan, na, nb } = setup();
  lan.clock.advance(10_000);
  const t0 = lan.clock.now();
  na.stop();
  lan.clock.advance(1_000);
  assert.equal(nb.state(), 'master');
  const t = nb.transitions.at(-1)!;
  assert.equal(t.cause, 'priority-zero-advert');
  assert.ok(t.atMs - t0 < 1000);
  assert.equal(lan.clientArp.get('10.0.0.100'), nb.mac);
});

test('a wrong key on one side: its adverts dropped as auth-mismatch and counted; both become master', () => {
  const { lan, na, nb, drops } = setup(ah('s3cret', { priority: 150 }), ah('wrong', { priority: 100 }));
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters().sort(), ['a', 'b'], 'neither trusts the other: both keep the VIP');
  assert.ok(drops.a.length >= 3 && drops.a.every((d) => d.reason === 'auth-mismatch' && d.vrid === 51 && d.instance === 'VI_1'), JSON.stringify(drops.a.slice(0, 3)));
  assert.ok(drops.b.length >= 3 && drops.b.every((d) => d.reason === 'auth-mismatch'));
  assert.equal(counter(na), sentSequences(lan, na).at(-1), 'a dropped advert never moves the counter');
});

test('a key only equal in its first 8 bytes is the same key (keepalived truncates auth_pass)', () => {
  const { lan, nb, drops } = setup(ah('abcdefgh-one', { priority: 150 }), ah('abcdefgh-two', { priority: 100 }));
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.equal(nb.state(), 'backup');
  assert.deepEqual([...drops.a, ...drops.b], []);
});

test('a replayed advert, even a priority-0 goodbye, is dropped as ah-replay and moves nothing', () => {
  const { lan, na, nb, drops } = setup();
  lan.clock.advance(10_000);
  // a says goodbye (priority 0, authenticated), b takes over, a comes back and preempts.
  na.stop();
  const goodbye = lan.wire.filter((w) => w.from === 'a').at(-1)!.frame;
  const p = parseFrame(goodbye);
  assert.ok(p.kind === 'ip' && p.ip.ah && p.ip.payload[2] === 0, 'the last frame a sent is its priority-0 advert');
  lan.clock.advance(2_000);
  assert.equal(nb.state(), 'master');
  na.start([ah('s3cret', { priority: 150 })]);
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  // Someone on the LAN replays the captured goodbye: without the sequence check, b would take
  // over after Skew_Time every time it is replayed.
  const before = counter(nb);
  const dropsBefore = drops.b.length;
  nb.receive(Uint8Array.from(goodbye));
  lan.clock.advance(3_000);
  assert.deepEqual(drops.b.slice(dropsBefore).map((d) => [d.reason, d.source, d.priority]), [['ah-replay', '10.0.0.1', 0]]);
  assert.ok(counter(nb) > before, 'the counter only moved with the live adverts after it');
  assert.equal(nb.state(), 'backup');
  assert.deepEqual(lan.masters(), ['a']);
});

test('a restarted address owner (count 0) is dropped as a replay until the backup answers; then it syncs and wins', () => {
  // a is the address owner: it starts as master at once, before it has heard anyone's number.
  const { lan, na, nb, drops } = setup(ah('s3cret', { priority: 255 }), ah('s3cret', { priority: 100 }));
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  const high = counter(nb);
  na.kill();
  na.start([ah('s3cret', { priority: 255 })]);
  lan.clock.advance(1);
  assert.equal(na.state(), 'master');
  assert.equal(sentSequences(lan, na).at(-1), 1, 'a restarted count starts again at 1');
  lan.clock.advance(masterDownIntervalMs(2, 100, 1000) + 2_000);
  // b dropped a's low numbers as replays, took over, and a (a master hearing a lower priority)
  // jumped past b's number: b accepts it and yields (keepalived's "Syncing seq_num").
  assert.ok(drops.b.some((d) => d.reason === 'ah-replay'), 'b dropped the restarted count as replays');
  assert.ok(nb.transitions.some((t) => t.to === 'master'), 'b took over meanwhile');
  assert.deepEqual(lan.masters(), ['a']);
  assert.equal(nb.state(), 'backup');
  assert.ok(counter(nb) > high);
  const replays = drops.b.filter((d) => d.reason === 'ah-replay').length;
  lan.clock.advance(10_000);
  assert.equal(drops.b.filter((d) => d.reason === 'ah-replay').length, replays, 'no replay drops once synced');
  assert.equal(lan.clientArp.get('10.0.0.100'), na.mac);
});

test('unicast AH: the TTL is left out of the ICV on both sides and the pair elects', () => {
  const { lan, nb, drops } = setup(ah('s3cret', { priority: 150, unicastPeers: ['10.0.0.2'] }), ah('s3cret', { priority: 100, unicastPeers: ['10.0.0.1'] }));
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.equal(nb.state(), 'backup');
  assert.deepEqual([...drops.a, ...drops.b], []);
  const p = parseFrame(lan.wire.find((w) => w.from === 'a')!.frame);
  assert.ok(p.kind === 'ip' && p.ip.ah && p.ip.protocol === 112);
});

test('AH on one side, PASS on the other: auth-type-mismatch both ways', () => {
  const { lan, drops } = setup(ah('s3cret', { priority: 150 }), instance({ priority: 100, password: 's3cret' }));
  lan.clock.advance(10_000);
  assert.ok(drops.a.length > 0 && drops.a.every((d) => d.reason === 'auth-type-mismatch'));
  assert.ok(drops.b.length > 0 && drops.b.every((d) => d.reason === 'auth-type-mismatch'));
});
