/**
 * The pairing of the captured and the socket copy of each received packet (src/bfd/pairing.ts):
 * used once both are in (either order), with the captured TTL; identical packets pair in order;
 * a copy alone ages out and is counted; the wait list is capped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReceivePairer, type UnpairedReason } from '../../../src/bfd/pairing.js';
import type { BfdReceiveMeta } from '../../../src/bfd/sessions.js';

function make(cap = 1024, maxAgeMs = 500) {
  let now = 0;
  const got: BfdReceiveMeta[] = [];
  const lost: UnpairedReason[] = [];
  const p = new ReceivePairer((_b, m) => got.push(m), (r) => lost.push(r), () => now, cap, maxAgeMs);
  return { p, got, lost, tick: (ms: number) => (now += ms) };
}
const bytes = (n: number) => Uint8Array.from([0x20, 0xc0, 3, 24, n]);

test('both copies, either order: delivered once with the captured TTL; IPv4-mapped sources match', () => {
  const { p, got } = make();
  p.fromCapture({ source: '10.0.0.2', ttl: 255, destinationPort: 3784, payload: bytes(1) });
  assert.equal(got.length, 0);
  p.fromSocket({ source: '::ffff:10.0.0.2', destinationPort: 3784, payload: bytes(1) });
  p.fromSocket({ source: '10.0.0.2', destinationPort: 3784, payload: bytes(2) });
  p.fromCapture({ source: '10.0.0.2', ttl: 254, destinationPort: 3784, payload: bytes(2) });
  assert.deepEqual(got, [
    { source: '10.0.0.2', destinationPort: 3784, ttl: 255 },
    { source: '10.0.0.2', destinationPort: 3784, ttl: 254 },
  ]);
  assert.equal(p.waiting, 0);
});

test('a captured copy the firewall kept from the socket ages out as not-delivered; a socket copy alone as not-captured', () => {
  const { p, got, lost, tick } = make();
  p.fromCapture({ source: '10.0.0.2', ttl: 255, destinationPort: 3784, payload: bytes(1) });
  p.fromSocket({ source: '10.0.0.3', destinationPort: 3784, payload: bytes(1) });
  tick(600);
  p.fromCapture({ source: '10.0.0.2', ttl: 255, destinationPort: 3784, payload: bytes(9) });
  assert.deepEqual(lost, ['not-delivered', 'not-captured']);
  assert.equal(got.length, 0);
  // Different port or source never pair.
  p.fromSocket({ source: '10.0.0.2', destinationPort: 4784, payload: bytes(9) });
  assert.equal(got.length, 0);
});

test('capped: a flood of unpaired copies keeps at most `cap` waiting', () => {
  const { p, lost } = make(100);
  for (let i = 0; i < 10_000; i++) p.fromCapture({ source: `192.0.2.${i % 250}`, ttl: 255, destinationPort: 3784, payload: bytes(i % 256) });
  assert.equal(p.waiting, 100);
  assert.equal(lost.length, 9_900);
});
