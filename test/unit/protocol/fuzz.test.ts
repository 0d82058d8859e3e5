/**
 * Fuzzing the receive path: real keepalived captures mutated (bit flips, byte stores, truncation,
 * extension, header-field splices) and random bytes, through parseFrame → checkAdvert. Nothing may
 * throw, and every rejected advert must carry a reason from DROP_REASONS. Seeded and
 * reproducible; KW_FUZZ_CASES sets the count (default 120k in the suite; bench runs 1M).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCapture } from '../../helpers/captures.js';
import { parseFrame } from '../../../src/protocol/frame.js';
import { checkAdvert, DROP_REASONS, type AdvertExpectations } from '../../../src/protocol/check.js';
import { computeChecksum, passwordAuthData } from '../../../src/protocol/advert.js';
import { parseArp } from '../../../src/protocol/arp.js';
import { AUTH_AH, AUTH_NONE, AUTH_PASS } from '../../../src/protocol/constants.js';
import { finishChecksum, ipBytes, sumWords } from '../../../src/protocol/inet.js';
import { prng } from '../../helpers/prng.js';


const CASES = Number(process.env.KW_FUZZ_CASES) || 120_000;
const REASONS = new Set<string>(DROP_REASONS);

const expectations: Record<number, AdvertExpectations> = {
  51: { version: 2, family: 'ipv4', advertIntervalMs: 1000, authType: AUTH_PASS, authData: passwordAuthData('1111'), addresses: [ipBytes('10.99.0.100'), ipBytes('10.99.0.101')], checksumAsV2: false },
  7: { version: 2, family: 'ipv4', advertIntervalMs: 1000, authType: AUTH_PASS, authData: passwordAuthData('abcdefgh'), addresses: [ipBytes('10.99.0.107')], checksumAsV2: false },
  52: { version: 3, family: 'ipv4', advertIntervalMs: 100, authType: AUTH_NONE, addresses: [ipBytes('10.99.0.102')], checksumAsV2: true },
  53: { version: 3, family: 'ipv4', advertIntervalMs: 1000, authType: AUTH_NONE, addresses: [ipBytes('10.99.0.103')], checksumAsV2: false, unicastPeers: [ipBytes('10.99.0.1')] },
  54: { version: 3, family: 'ipv6', advertIntervalMs: 1000, authType: AUTH_NONE, addresses: [ipBytes('fd00:99::100')], checksumAsV2: false },
  61: { version: 2, family: 'ipv4', advertIntervalMs: 1000, authType: AUTH_AH, authData: passwordAuthData('1111'), addresses: [ipBytes('10.99.0.115'), ipBytes('10.99.0.116')], checksumAsV2: false },
  62: { version: 2, family: 'ipv4', advertIntervalMs: 1000, authType: AUTH_AH, authData: passwordAuthData('abcdefgh'), ahZeroTtl: true, addresses: [ipBytes('10.99.0.117')], checksumAsV2: false },
};

function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  let b = new Uint8Array(src);
  const ops = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < ops; i++) {
    const op = rnd();
    const at = Math.floor(rnd() * Math.max(1, b.length));
    if (op < 0.35 && b.length) b[at] = b[at]! ^ (1 << Math.floor(rnd() * 8));
    else if (op < 0.6 && b.length) b[at] = Math.floor(rnd() * 256);
    else if (op < 0.7) b = b.slice(0, at);
    else if (op < 0.8) {
      const extra = new Uint8Array(Math.floor(rnd() * 40));
      for (let j = 0; j < extra.length; j++) extra[j] = Math.floor(rnd() * 256);
      const n = new Uint8Array(b.length + extra.length);
      n.set(b);
      n.set(extra, b.length);
      b = n;
    } else if (op < 0.9 && b.length > 34) {
      // The VRRP header fields that matter most: version/type, vrid, priority, count, interval.
      const field = 34 + Math.floor(rnd() * 8);
      if (field < b.length) b[field] = [0, 1, 2, 3, 0x21, 0x31, 0x11, 0x41, 51, 52, 255][Math.floor(rnd() * 11)]!;
    } else {
      // IP header fields: TTL, protocol, length, IHL.
      const field = [14, 16, 17, 22, 23][Math.floor(rnd() * 5)]!;
      if (field < b.length) b[field] = Math.floor(rnd() * 256);
    }
  }
  return b;
}

/** Recomputes the IPv4 header checksum and the VRRP checksum of a mutated frame, if it parses. */
function fixChecksums(frame: Uint8Array): void {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00) return;
  const ihl = (frame[14]! & 0x0f) * 4;
  if (ihl < 20 || 14 + ihl > frame.length) return;
  frame[24] = 0;
  frame[25] = 0;
  const h = finishChecksum(sumWords(frame, 14, 14 + ihl));
  frame[24] = h >> 8;
  frame[25] = h & 0xff;
  const total = (frame[16]! << 8) | frame[17]!;
  const end = Math.min(frame.length, 14 + total);
  // Under AH (protocol 51) the VRRP message follows the 24-byte AH header.
  const vrrp = frame.subarray(14 + ihl + (frame[23] === 51 ? 24 : 0), end);
  if (vrrp.length < 8) return;
  vrrp[6] = 0;
  vrrp[7] = 0;
  const version = vrrp[0]! >> 4;
  const count = vrrp[3]!;
  const len = Math.min(vrrp.length, 8 + count * 4 + (version === 2 ? 8 : 0));
  const c = computeChecksum(vrrp.subarray(0, len), version, 'ipv4', frame.subarray(26, 30), frame.subarray(30, 34));
  vrrp[6] = c >> 8;
  vrrp[7] = c & 0xff;
}

test(`fuzz: ${CASES} mutated captures and random frames never throw; every drop has a reason`, () => {
  const all = ['v2-pass', 'v2-longpass', 'v3', 'v3-unicast', 'v3-ipv6', 'v2-ah', 'v2-ah-unicast'].flatMap((n) => loadCapture(n).map((c) => c.frame));
  // Mostly adverts; a few ARP frames.
  const adverts = all.filter((f) => parseFrame(f).kind === 'ip');
  const seeds = [...adverts, ...adverts, ...all.filter((f) => parseFrame(f).kind === 'arp').slice(0, 4)];
  const rnd = prng(Number(process.env.KW_SEED) || 20261122);
  const lookup = (vrid: number) => expectations[vrid];
  const tally = new Map<string, number>();
  for (let i = 0; i < CASES; i++) {
    let frame: Uint8Array;
    if (i % 10 === 9) {
      frame = new Uint8Array(Math.floor(rnd() * 120));
      for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(rnd() * 256);
      if (frame.length > 14 && rnd() < 0.7) {
        frame[12] = 0x08;
        frame[13] = 0x00;
      }
    } else {
      frame = mutate(seeds[Math.floor(rnd() * seeds.length)]!, rnd);
      // Half the mutants get valid checksums again, so they reach the checks behind them.
      if (rnd() < 0.5) fixChecksums(frame);
    }
    const parsed = parseFrame(frame);
    let outcome: string;
    if (parsed.kind === 'ip') {
      const r = checkAdvert(parsed.ip, lookup);
      if (r.ok) outcome = 'accepted';
      else {
        assert.ok(REASONS.has(r.reason), `case ${i}: unknown drop reason ${r.reason}`);
        outcome = r.reason;
      }
    } else if (parsed.kind === 'arp') {
      parseArp(parsed.ethernet);
      outcome = 'arp';
    } else {
      outcome = parsed.kind === 'invalid' ? parsed.reason : parsed.kind;
    }
    tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  }
  process.stdout.write(`fuzz outcomes: ${JSON.stringify(Object.fromEntries([...tally].sort((a, b) => b[1] - a[1])))}\n`);
  // The mutations reach the checks, not just the first one.
  for (const r of ['checksum-invalid', 'vrid-not-configured', 'length-invalid', 'ttl-not-255', 'version-invalid', 'ip-header-invalid', 'auth-mismatch', 'interval-mismatch', 'interval-invalid', 'type-invalid', 'version-mismatch']) {
    assert.ok((tally.get(r) ?? 0) > 0, `mutations reached ${r}: ${JSON.stringify(Object.fromEntries(tally))}`);
  }
  assert.ok((tally.get('accepted') ?? 0) > 0, 'some mutants are still valid adverts');
});
