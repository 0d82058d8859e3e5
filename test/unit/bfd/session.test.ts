/**
 * BFD sessions (src/bfd/session.ts, sessions.ts) in simulated time: two session sets joined by a
 * fake wire on the fake clock. Handshake, the Poll/Final sequence that moves from idle_tx to
 * min_tx, detection within Detect Mult × interval, passive, jitter bounds, AdminDown, and
 * forged packets counted and ignored without creating state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../fakes/clock.js';
import { BfdSessionSet } from '../../../src/bfd/sessions.js';
import { decodeControl, encodeControl } from '../../../src/bfd/codec.js';
import type { BfdEvent } from '../../../src/events/bfd.js';
import type { BfdInstanceConfig } from '../../../src/config/model.js';

const LOC = { file: 't.conf', line: 1, column: 1 };
function cfg(name: string, neighbor: string, over: Partial<BfdInstanceConfig> = {}): BfdInstanceConfig {
  return { name, location: LOC, neighbor, family: 'ipv4', minRxUs: 10_000, minTxUs: 10_000, idleTxUs: 1_000_000, multiplier: 5, passive: false, ttl: 255, maxHops: 0, multihop: false, weight: 0, weightReverse: false, forVrrp: true, ...over };
}

/** A deterministic random source (xorshift). */
function rng(seed = 1): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

interface Side {
  set: BfdSessionSet;
  events: BfdEvent[];
  sentAt: number[];
}

/** A (10.0.0.1) and B (10.0.0.2) with one session each; `cut` drops packets both ways. */
function pair(a: Partial<BfdInstanceConfig> = {}, b: Partial<BfdInstanceConfig> = {}) {
  const clock = new FakeClock();
  const wire = { cut: false, ttl: 255, latencyMs: 0.1 };
  const sides: Record<'A' | 'B', Side> = {} as never;
  const make = (me: 'A' | 'B', peer: 'A' | 'B', neighbor: string, source: string, over: Partial<BfdInstanceConfig>, seed: number): Side => {
    const events: BfdEvent[] = [];
    const sentAt: number[] = [];
    const set = new BfdSessionSet([cfg(`to-${peer}`, neighbor, over)], {
      clock,
      random: rng(seed),
      send: (_c, bytes) => {
        sentAt.push(clock.now());
        if (wire.cut) return;
        const copy = bytes.slice();
        clock.setTimer(wire.latencyMs, () => sides[peer].set.receive(copy, { source, destinationPort: 3784, ttl: wire.ttl }));
      },
      emit: (e) => events.push(e),
    });
    return { set, events, sentAt };
  };
  sides.A = make('A', 'B', '10.0.0.2', '10.0.0.1', a, 7);
  sides.B = make('B', 'A', '10.0.0.1', '10.0.0.2', b, 11);
  return { clock, wire, A: sides.A, B: sides.B };
}

const state = (s: Side) => s.set.views()[0]!.state;
const changes = (s: Side) => s.events.filter((e): e is Extract<BfdEvent, { type: 'bfd-state-changed' }> => e.type === 'bfd-state-changed');

test('three-way handshake: both come Up, and a Poll/Final moves the interval from idle_tx to min_tx', () => {
  const { clock, A, B } = pair();
  A.set.start();
  clock.advance(500);
  assert.equal(state(A), 'down');
  B.set.start();
  // Down → Init on B's first packet; Up when the next (idle, ≤ 1 s) packets cross.
  clock.advance(2500);
  assert.equal(state(A), 'up');
  assert.equal(state(B), 'up');
  assert.deepEqual(changes(A).map((e) => `${e.from}>${e.to}`), ['down>init', 'init>up']);
  // The sessions now send every 10 ms less jitter: at least 75 sends per second each.
  const before = A.sentAt.length;
  clock.advance(1000);
  const n = A.sentAt.length - before;
  assert.ok(n >= 100 && n <= 134, `${n} packets in 1 s at 10 ms (7.5-10 ms apart)`);
  const v = A.set.views()[0]!;
  assert.equal(v.txIntervalMs, 10);
  assert.equal(v.detectionTimeMs, 50, '5 × 10 ms');
  assert.equal(v.pollPending, false, 'the Final ended the Poll');
  // The side that came Up first polls; the other answers with a Final that carries its own new
  // values (keepalived: a Poll pending while answering one is dropped, §6.5).
  const sent = (s: typeof A, f: 'poll' | 'final') => s.events.some((e) => e.type === 'bfd-packet-sent' && e[f]);
  assert.ok(sent(A, 'poll') || sent(B, 'poll'), 'a Poll was sent');
  assert.ok(sent(A, 'final') || sent(B, 'final'), 'a Final answered it');
  assert.equal(B.set.views()[0]!.txIntervalMs, 10);
});

test('detection: cut, the session goes Down (diag 1, expired) within Detect Mult × interval', () => {
  const { clock, wire, A, B } = pair({ minRxUs: 20_000, minTxUs: 20_000, multiplier: 3 }, { minRxUs: 20_000, minTxUs: 20_000, multiplier: 3 });
  A.set.start();
  B.set.start();
  clock.advance(3000);
  assert.equal(state(A), 'up');
  const cutAt = clock.now();
  wire.cut = true;
  clock.advance(200);
  const down = changes(A).find((e) => e.to === 'down')!;
  assert.equal(down.cause, 'expired');
  assert.equal(down.localDiag, 1);
  assert.ok(down.silentMs! >= 60 && down.silentMs! <= 61, `silent ${down.silentMs} ms: 3 × 20 ms`);
  assert.ok(down.atMs - cutAt <= 60 + 0.2, `down ${down.atMs - cutAt} ms after the cut`);
  assert.equal(A.set.views()[0]!.remoteDiscriminator, 0, 'Your Discriminator forgotten (§6.8.1)');
  // Healed: back Up through the handshake (idle 1 s packets first).
  wire.cut = false;
  clock.advance(3000);
  assert.equal(state(A), 'up');
  assert.equal(state(B), 'up');
});

test('passive: silent until the neighbour speaks, and silent again once Down', () => {
  const { clock, wire, A, B } = pair({}, { passive: true });
  B.set.start();
  clock.advance(3000);
  assert.equal(B.sentAt.length, 0, 'a passive session sends nothing on its own');
  A.set.start();
  clock.advance(2500);
  assert.equal(state(B), 'up');
  assert.ok(B.sentAt.length > 0);
  wire.cut = true;
  clock.advance(100);
  assert.equal(state(B), 'down');
  const n = B.sentAt.length;
  clock.advance(5000);
  assert.equal(B.sentAt.length, n, 'Down and passive: no more packets');
});

test('jitter (§6.8.7): 75-100 % of the interval; 75-90 % with Detect Mult 1', () => {
  for (const [mult, lo, hi] of [
    [5, 0.75, 1],
    [1, 0.75, 0.9],
  ] as const) {
    const { clock, A, B } = pair({ multiplier: mult }, {});
    A.set.start();
    B.set.start();
    clock.advance(2000);
    const t0 = clock.now();
    const from = A.sentAt.length;
    clock.advance(2000);
    const gaps = A.sentAt.slice(from).map((t, i, a) => (i === 0 ? t - t0 : t - a[i - 1]!)).slice(1);
    // Poll answers (Finals) are sent at once; the neighbour polls only at its Up: none here.
    assert.ok(gaps.length > 100);
    for (const g of gaps) assert.ok(g >= 10 * lo - 1e-9 && g <= 10 * hi + 1e-9, `gap ${g} ms, mult ${mult}`);
    assert.ok(Math.max(...gaps) - Math.min(...gaps) > 1, 'jittered, not constant');
  }
});

test('AdminDown: stop() tells the neighbour, which goes Down with cause neighbor-admin-down', () => {
  const { clock, A, B } = pair();
  A.set.start();
  B.set.start();
  clock.advance(2000);
  A.set.stop();
  clock.advance(1);
  assert.equal(state(A), 'admin-down');
  const down = changes(B).at(-1)!;
  assert.deepEqual([down.from, down.to, down.cause, down.localDiag], ['up', 'down', 'neighbor-admin-down', 3]);
});

test('forged packets: unknown discriminator, wrong source, TTL, wrong port are counted and ignored; no state is created', () => {
  const { clock, A, B } = pair();
  A.set.start();
  B.set.start();
  clock.advance(2000);
  const v = A.set.views()[0]!;
  const drops = () => A.events.filter((e): e is Extract<BfdEvent, { type: 'bfd-packet-dropped' }> => e.type === 'bfd-packet-dropped').map((e) => e.reason);
  const forged = (your: number, state: 'down' | 'up' = 'down') =>
    encodeControl({ diag: 0, state, poll: false, final: false, cpi: false, demand: false, detectMult: 3, myDiscriminator: 0x12345678, yourDiscriminator: your, desiredMinTxUs: 1_000_000, requiredMinRxUs: 1_000_000, requiredMinEchoRxUs: 0 });
  for (let i = 0; i < 10_000; i++) A.set.receive(forged(i + 1 === v.localDiscriminator ? 0xffffffff : i + 1), { source: `192.0.2.${i % 250}`, destinationPort: 3784, ttl: 255 });
  A.set.receive(forged(v.localDiscriminator), { source: '10.0.0.99', destinationPort: 3784, ttl: 255 });
  A.set.receive(forged(v.localDiscriminator), { source: '10.0.0.2', destinationPort: 3784, ttl: 254 });
  A.set.receive(forged(v.localDiscriminator), { source: '10.0.0.2', destinationPort: 4784, ttl: 255 });
  A.set.receive(forged(0), { source: '10.0.0.77', destinationPort: 3784, ttl: 255 });
  const d = drops();
  assert.equal(d.filter((r) => r === 'no-session').length, 10_001);
  assert.deepEqual(d.filter((r) => r !== 'no-session'), ['wrong-source', 'ttl', 'wrong-port']);
  assert.equal(A.set.views().length, 1, 'no session made for any source');
  clock.advance(100);
  assert.equal(state(A), 'up', 'none of them touched the session');
  // A forged "Down" from the right source, port and TTL with our discriminator would be taken:
  // that is what the 32-bit random discriminator and GTSM (TTL 255: on-link only) protect.
  const ok = decodeControl(forged(v.localDiscriminator));
  assert.ok(ok.ok);
});
