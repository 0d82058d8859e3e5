/**
 * The BFD control packet codec (src/bfd/codec.ts) and the capture parser (src/bfd/datagram.ts)
 * against packets Debian's keepalived 2.2.7 sent (test/fixtures/bfd/README.md says how they were
 * captured), and every reception check with its drop reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodePcap } from '../../../src/protocol/pcapfile.js';
import { decodeControl, encodeControl, ttlAcceptable, type BfdControl } from '../../../src/bfd/codec.js';
import { parseBfdDatagram } from '../../../src/bfd/datagram.js';

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** keepalived 2.2.7's packets, one per phase (the UDP payloads of the fixture). */
const GOLDEN = {
  down: '204003189382e66100000000000f42400000c35000000000',
  init: '208003189382e6614b778efd000f42400000c35000000000',
  upPoll: '20e003184b778efd9382e6610000c3500000c35000000000',
  upFinal: '20d003189382e6614b778efd0000c3500000c35000000000',
  up: '20c003189382e6614b778efd0000c3500000c35000000000',
  expired: '214003185dbeaccd00000000000f42400000c35000000000',
};

test('golden bytes: keepalived 2.2.7 packets decode to their fields and encode back byte for byte', () => {
  const down = decodeControl(hex(GOLDEN.down));
  assert.ok(down.ok);
  assert.deepEqual(down.packet, {
    diag: 0,
    state: 'down',
    poll: false,
    final: false,
    cpi: false,
    demand: false,
    detectMult: 3,
    myDiscriminator: 0x9382e661,
    yourDiscriminator: 0,
    desiredMinTxUs: 1_000_000,
    requiredMinRxUs: 50_000,
    requiredMinEchoRxUs: 0,
  });
  const want: Record<keyof typeof GOLDEN, Partial<BfdControl>> = {
    down: { state: 'down' },
    init: { state: 'init', yourDiscriminator: 0x4b778efd, desiredMinTxUs: 1_000_000 },
    upPoll: { state: 'up', poll: true, final: false, desiredMinTxUs: 50_000 },
    upFinal: { state: 'up', poll: false, final: true, desiredMinTxUs: 50_000 },
    up: { state: 'up', poll: false, final: false },
    expired: { state: 'down', diag: 1, yourDiscriminator: 0, myDiscriminator: 0x5dbeaccd },
  };
  for (const [k, h] of Object.entries(GOLDEN) as [keyof typeof GOLDEN, string][]) {
    const d = decodeControl(hex(h));
    assert.ok(d.ok, k);
    for (const [f, v] of Object.entries(want[k])) assert.equal(d.packet[f as keyof BfdControl], v, `${k}.${f}`);
    assert.equal(toHex(encodeControl(d.packet)), h, `${k} re-encodes`);
  }
});

test('the fixture pcap: every frame parses (TTL 255, port 3784) and decodes', () => {
  const { records } = decodePcap(readFileSync(new URL('../../fixtures/bfd/keepalived-2.2.7-bfd.pcap', import.meta.url)));
  assert.ok(records.length > 100, `${records.length} frames`);
  const states = new Set<string>();
  for (const r of records) {
    const d = parseBfdDatagram(r.data, 'ethernet');
    assert.ok(d);
    assert.equal(d.ttl, 255);
    assert.equal(d.destinationPort, 3784);
    assert.ok(['10.251.0.1', '10.251.0.2'].includes(d.source));
    const c = decodeControl(d.payload);
    assert.ok(c.ok);
    states.add(c.packet.state);
  }
  assert.deepEqual([...states].sort(), ['down', 'init', 'up']);
});

test('a Linux cooked (any device) frame parses too; non-UDP, fragments and truncation do not', () => {
  const payload = hex(GOLDEN.up);
  const ip = new Uint8Array(20 + 8 + payload.length);
  ip.set([0x45, 0, 0, ip.length, 0, 0, 0x40, 0, 254, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  ip.set([0xc3, 0x50, 0x12, 0xb0, 0, 8 + payload.length, 0, 0], 20);
  ip.set(payload, 28);
  const sll = new Uint8Array(16 + ip.length);
  sll.set([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00]);
  sll.set(ip, 16);
  const d = parseBfdDatagram(sll, 'sll');
  assert.deepEqual(d && { source: d.source, ttl: d.ttl, port: d.destinationPort, payload: toHex(d.payload) }, { source: '10.0.0.1', ttl: 254, port: 4784, payload: GOLDEN.up });
  const tcp = sll.slice();
  tcp[16 + 9] = 6;
  assert.equal(parseBfdDatagram(tcp, 'sll'), undefined);
  const frag = sll.slice();
  frag[16 + 7] = 1;
  assert.equal(parseBfdDatagram(frag, 'sll'), undefined);
  assert.equal(parseBfdDatagram(sll.subarray(0, 40), 'sll'), undefined);
  assert.equal(parseBfdDatagram(sll.subarray(0, 10), 'sll'), undefined);
});

test('reception checks (RFC 5880 §6.8.6, in keepalived bfd_check_packet order) and the refused A bit', () => {
  const base = () => hex(GOLDEN.up);
  const reason = (mutate: (b: Uint8Array) => Uint8Array | void) => {
    const b = base();
    const r = decodeControl(mutate(b) ?? b);
    return r.ok ? 'ok' : r.reason;
  };
  assert.equal(reason(() => {}), 'ok');
  assert.equal(reason((b) => b.subarray(0, 23)), 'too-short');
  assert.equal(reason((b) => { b[3] = 26; }), 'length-mismatch');
  assert.equal(reason((b) => { b[0] = (2 << 5) | 0; }), 'bad-version');
  assert.equal(reason((b) => { b[2] = 0; }), 'zero-detect-mult');
  assert.equal(reason((b) => { b[1]! |= 0x01; }), 'multipoint');
  assert.equal(reason((b) => { b.fill(0, 4, 8); }), 'zero-my-discriminator');
  assert.equal(reason((b) => { b.fill(0, 8, 12); }), 'zero-your-discriminator');
  // Your Discriminator 0 is fine while Down or AdminDown.
  assert.equal(reason((b) => { b.fill(0, 8, 12); b[1] = 0x40; }), 'ok');
  assert.equal(reason((b) => { b.fill(0, 8, 12); b[1] = 0x00; }), 'ok');
  assert.equal(reason((b) => { b[1]! |= 0x30; }), 'poll-and-final');
  assert.equal(reason((b) => { b[0] = (1 << 5) | 9; }), 'bad-diag');
  // An authenticated packet (simple password, RFC 5880 §4.2): A bit and a longer Length.
  assert.equal(
    reason((b) => {
      const a = new Uint8Array(24 + 7);
      a.set(b);
      a[1]! |= 0x04;
      a[3] = 31;
      a.set([1, 7, 1, 0x61, 0x62, 0x63, 0x64], 24);
      return a;
    }),
    'auth-unsupported',
  );
});

test('TTL (RFC 5881 §5 / RFC 5883, keepalived bfd_check_packet_ttl)', () => {
  assert.equal(ttlAcceptable(255, 255, 0), true);
  assert.equal(ttlAcceptable(254, 255, 0), false);
  assert.equal(ttlAcceptable(250, 255, 5), true);
  assert.equal(ttlAcceptable(249, 255, 5), false);
  assert.equal(ttlAcceptable(1, 255, 255), true, 'max_hops -1: no check');
  assert.equal(ttlAcceptable(0, 255, 0), true, 'no TTL known: no check (keepalived)');
  assert.equal(ttlAcceptable(64, 64, 0), true, 'IPv6 default hop limit 64');
});
