/**
 * The evidence book (caps, ages, confirmation, rate filter, peer claims) and the arbitration rule
 * for unauthenticated holders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CappedMap, EvidenceBook, type Sighting } from '../../../src/guard/evidence.js';
import { arbitrate } from '../../../src/guard/arbitration.js';

test('CappedMap evicts the least recently written entry; a refreshed entry stays', () => {
  const m = new CappedMap<string, number>(3);
  m.set('a', 1);
  m.set('b', 2);
  m.set('c', 3);
  m.set('a', 10); // refresh: a is now the newest
  m.set('d', 4); // evicts b
  assert.deepEqual([...m.entries()], [['c', 3], ['a', 10], ['d', 4]]);
  for (let i = 0; i < 10_000; i++) m.set(`k${i}`, i);
  assert.equal(m.size, 3);
  m.prune((v) => v < 9_999);
  assert.deepEqual([...m.entries()], [['k9999', 9999]]);
});

test('identities: learned with a priority, forgotten past their age; priority 0 teaches nothing; capped', () => {
  const book = new EvidenceBook({ maxIdentities: 4, maxSightings: 8, maxRateSources: 8, maxPeerClaims: 2 });
  book.learn({ mac: 'm1', address: '10.0.0.1', priority: 150, origin: 'advert', atMs: 1000 });
  book.learn({ mac: 'm0', address: '10.0.0.9', priority: 0, origin: 'advert', atMs: 1000 });
  assert.equal(book.identity('m1', 5000, 60_000)?.priority, 150);
  assert.equal(book.identity('m0', 5000, 60_000), undefined, 'priority 0 (a resignation) says nothing about who holds');
  assert.equal(book.identity('m1', 62_000, 60_000), undefined, 'aged out');
  assert.equal(book.identity('m1', 5000, 60_000), undefined, 'and deleted');
  for (let i = 0; i < 100; i++) book.learn({ mac: `x${i}`, address: '10.0.0.2', priority: 100, origin: 'peer', atMs: 2000 });
  assert.equal(book.size, 4);
  assert.equal(book.identity('x99', 3000, 60_000)?.origin, 'peer');
  assert.equal(book.identity('x0', 3000, 60_000), undefined);
});

test('sightings: confirmed when seen again at least confirmMs later within freshMs; stale ones pruned; capped', () => {
  const book = new EvidenceBook({ maxIdentities: 4, maxSightings: 3, maxRateSources: 8, maxPeerClaims: 2 });
  const s = (atMs: number, who = 'm1'): Sighting => ({ kind: 'arp-claim', who, atMs, mac: who, detail: 'x' });
  assert.deepEqual([book.record(s(0), 800, 2500).newlyConfirmed, book.record(s(100), 800, 2500).newlyConfirmed], [false, false], 'too soon: a preemption leaves the old holder for a moment');
  const third = book.record(s(900), 800, 2500);
  assert.equal(third.newlyConfirmed, true);
  assert.equal(third.entry.count, 3);
  assert.equal(book.record(s(1900), 800, 2500).newlyConfirmed, false, 'confirmed once');
  const after = book.record(s(10_000), 800, 2500);
  assert.deepEqual([after.entry.count, after.entry.confirmed], [1, false], 'a gap longer than freshMs starts over');
  assert.equal(book.fresh(13_000, 2500).length, 0, 'stale');
  for (let i = 0; i < 50; i++) book.record(s(20_000, `r${i}`), 800, 2500);
  assert.equal(book.fresh(20_000, 2500).length, 3, 'capped');
  assert.equal(book.lastSeen('arp-claim', 'r49'), 20_000);
});

test('rate filter: at most N per source per second, sources capped', () => {
  const book = new EvidenceBook({ maxIdentities: 4, maxSightings: 8, maxRateSources: 16, maxPeerClaims: 2 });
  const ok = Array.from({ length: 30 }, (_, i) => book.plausibleRate('10.0.0.66', i, 20)).filter(Boolean).length;
  assert.equal(ok, 20);
  assert.equal(book.plausibleRate('10.0.0.66', 1000, 20), true, 'a new second');
  for (let i = 0; i < 10_000; i++) book.plausibleRate(`s${i}`, 2000, 20);
  assert.ok(book.size <= 16 + 4 + 8 + 2 + 8);
});

test('lower-priority master: persists after three adverts over an interval; peer claims age out', () => {
  const book = new EvidenceBook();
  assert.equal(book.lowerPriorityPersists('10.0.0.2', 0, 6000, 1000), false);
  assert.equal(book.lowerPriorityPersists('10.0.0.2', 500, 6000, 1000), false);
  assert.equal(book.lowerPriorityPersists('10.0.0.2', 1000, 6000, 1000), true);
  book.claim({ peer: 'p', state: 'master', priority: 100, held: false, atMs: 0 });
  assert.equal(book.freshClaims(1000, 2000).length, 1);
  assert.equal(book.freshClaims(3000, 2000).length, 0, 'a peer claim is bounded in time');
});

test('arbitration: an unauthenticated other holder is never weighed by what it claims; the policy decides', () => {
  const self = { priority: 100, address: '10.0.0.1' };
  assert.equal(arbitrate(self, { priority: 254, address: '10.0.0.9', authenticated: false }, 'hold').decision, 'keep');
  assert.equal(arbitrate({ ...self, witnessUp: false }, { authenticated: false }, 'hold').decision, 'keep', 'not even for the witness rule');
  assert.equal(arbitrate(self, { authenticated: false }, 'yield').decision, 'yield');
  assert.equal(arbitrate(self, { priority: 254, address: '10.0.0.9', authenticated: true }, 'hold').decision, 'yield');
});
