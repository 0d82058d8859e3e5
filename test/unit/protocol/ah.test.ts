/**
 * VRRPv2 `auth_type AH` against Debian's keepalived 2.2.7: its AH adverts (multicast, and unicast
 * with a password longer than 8; test/fixtures/captures/capture.sh) are decoded field by field,
 * our encoder reproduces each whole IPv4 packet byte for byte given the same sequence number and
 * IP ID, and our verifier accepts them, and rejects them with any other key or any changed byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex, vrrpPackets } from '../../helpers/captures.js';
import { encodeAdvert, passwordAuthData, type AdvertFields } from '../../../src/protocol/advert.js';
import { AH_ICV_LENGTH, AH_PAYLOAD_LEN, AhSequenceCounter, ahKey, buildAhPacket, computeAhIcv, encodeAhAdvertPacket, hmacMd5, verifyAh } from '../../../src/protocol/ah.js';
import { checkAdvert, type AdvertExpectations, type CheckResult } from '../../../src/protocol/check.js';
import { AH_HEADER_LENGTH, AUTH_AH, AUTH_NONE, AUTH_PASS, IPPROTO_AH, IPPROTO_VRRP } from '../../../src/protocol/constants.js';
import { buildEthernetFrame, buildIpv4Header, parseFrame, parseIpv4Packet, type IpPacket } from '../../../src/protocol/frame.js';
import { finishChecksum, formatIp, ipBytes, sumWords } from '../../../src/protocol/inet.js';

const MCAST = { name: 'v2-ah', vrid: 61, password: '1111', vips: ['10.99.0.115', '10.99.0.116'], destination: '224.0.0.18', unicast: false } as const;
const UCAST = { name: 'v2-ah-unicast', vrid: 62, password: 'abcdefghijk', vips: ['10.99.0.117'], destination: '10.99.0.2', unicast: true } as const;

function expectations(c: typeof MCAST | typeof UCAST, over: Partial<AdvertExpectations> = {}): AdvertExpectations {
  return {
    version: 2,
    family: 'ipv4',
    advertIntervalMs: 1000,
    authType: AUTH_AH,
    authData: ahKey(c.password),
    ahZeroTtl: c.unicast,
    addresses: c.vips.map((v) => ipBytes(v)),
    checksumAsV2: false,
    ...over,
  };
}

function reason<T extends AdvertExpectations>(r: CheckResult<T>): string {
  return r.ok ? 'accepted' : r.reason;
}

/** The whole IPv4 packet of a captured frame (Ethernet payload cut to the IP total length). */
function ipPacketBytes(frame: Uint8Array): Uint8Array {
  const ip = frame.subarray(14);
  return ip.subarray(0, (ip[2]! << 8) | ip[3]!);
}

/** Re-parses an edited IPv4 packet (fixing the IP header checksum, as a forwarding router would). */
function reparse(packet: Uint8Array): IpPacket {
  const b = Uint8Array.from(packet);
  b[10] = 0;
  b[11] = 0;
  const sum = finishChecksum(sumWords(b, 0, 20));
  b[10] = sum >> 8;
  b[11] = sum & 0xff;
  const p = parseIpv4Packet(b);
  assert.ok(typeof p !== 'string', 'parses');
  return p;
}

/** Re-seals a VRRP message's checksum after an edit (so only the ICV can catch it). */
function fixVrrpChecksum(packet: Uint8Array, vrrpAt: number): void {
  packet[vrrpAt + 6] = 0;
  packet[vrrpAt + 7] = 0;
  const sum = finishChecksum(sumWords(packet, vrrpAt, packet.length));
  packet[vrrpAt + 6] = sum >> 8;
  packet[vrrpAt + 7] = sum & 0xff;
}

test('HMAC-MD5 is RFC 2104 (RFC 2202 test cases 1, 2 and 6)', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(hex(hmacMd5(new Uint8Array(16).fill(0x0b), enc('Hi There'))), '9294727a3638bb1c13f48ef8158bfc9d');
  assert.equal(hex(hmacMd5(enc('Jefe'), enc('what do ya '), enc('want for nothing?'))), '750c783e6ab0b503eaa86e310a5db738');
  // A key longer than the 64-byte block is hashed first (keepalived's hmac_md5 does the same).
  assert.equal(hex(hmacMd5(new Uint8Array(80).fill(0xaa), enc('Test Using Larger Than Block-Size Key - Hash Key First'))), '6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd');
});

test("the AH key is keepalived's 8 auth_data bytes: auth_pass truncated to 8, zero padded", () => {
  assert.equal(hex(ahKey('1111')), '3131313100000000');
  assert.equal(hex(ahKey('abcdefghijk')), hex(ahKey('abcdefgh')));
  assert.equal(ahKey('x').length, 8);
});

test('keepalived AH adverts decode field by field (multicast and unicast)', () => {
  for (const c of [MCAST, UCAST]) {
    const pkts = vrrpPackets(c.name);
    assert.ok(pkts.length >= 4, `${c.name}: the capture holds adverts`);
    for (const [i, p] of pkts.entries()) {
      const ip = ipPacketBytes(p.frame);
      const ah = p.ip.ah;
      assert.ok(ah, `${c.name} #${i}: parsed with its AH header`);
      // IPv4: TOS 0xc0, no DF, TTL 255, protocol 51 (AH), total = 20 + 24 + VRRP message.
      assert.deepEqual(
        { tos: ip[1], total: ip.length, id: (ip[4]! << 8) | ip[5]!, frag: (ip[6]! << 8) | ip[7]!, ttl: ip[8], protocol: ip[9] },
        { tos: 0xc0, total: 20 + AH_HEADER_LENGTH + 8 + 4 * c.vips.length + 8, id: i + 1, frag: 0, ttl: 255, protocol: IPPROTO_AH },
      );
      // AH: next header 112, payload length 4, reserved 0, SPI = the source address, sequence i + 1.
      assert.deepEqual(
        { next: ah.header[0], len: ah.header[1], reserved: (ah.header[2]! << 8) | ah.header[3]!, spi: formatIp(ah.header.subarray(4, 8)), seq: ah.sequence },
        { next: IPPROTO_VRRP, len: AH_PAYLOAD_LEN, reserved: 0, spi: '10.99.0.1', seq: i + 1 },
      );
      assert.equal(p.ip.protocol, IPPROTO_VRRP, 'the packet reads as VRRP under its AH header');
      // VRRPv2: auth type 2 (AH), and the 8 auth-data bytes zero.
      const m = p.ip.payload;
      assert.equal(m[4], AUTH_AH);
      assert.equal(hex(m.subarray(m.length - 8)), '0000000000000000');
    }
    // The last one is the priority-0 advert keepalived sends on SIGTERM.
    assert.equal(pkts.at(-1)!.ip.payload[2], 0);
  }
});

test('our encoder reproduces keepalived AH packets byte for byte, given its sequence number and IP ID', () => {
  let compared = 0;
  for (const c of [MCAST, UCAST]) {
    for (const [i, p] of vrrpPackets(c.name).entries()) {
      const m = p.ip.payload;
      const fields: AdvertFields = {
        version: 2,
        vrid: c.vrid,
        priority: m[2]!,
        advertIntervalMs: 1000,
        addresses: c.vips,
        authType: AUTH_AH,
        authData: ahKey(c.password),
        ah: { sequence: p.ip.ah!.sequence, zeroTtl: c.unicast },
      };
      const ours = encodeAhAdvertPacket(fields, { source: '10.99.0.1', destination: c.destination, id: i + 1 });
      assert.equal(hex(ours), hex(ipPacketBytes(p.frame)), `${c.name} packet #${i}`);
      compared++;
    }
  }
  assert.ok(compared >= 9, `compared ${compared} packets`);
});

test('our verifier accepts keepalived AH adverts and hands back their sequence numbers', () => {
  for (const c of [MCAST, UCAST]) {
    const seqs: number[] = [];
    for (const p of vrrpPackets(c.name)) {
      const r = checkAdvert(p.ip, (vrid) => (vrid === c.vrid ? expectations(c) : undefined));
      assert.ok(r.ok, `${c.name}: ${JSON.stringify(r)}`);
      assert.equal(r.advert.addressListMismatch, false);
      assert.deepEqual(r.advert.addresses, c.vips);
      seqs.push(r.advert.ahSequence!);
    }
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `${c.name}: keepalived numbers its adverts from 1`);
  }
});

test('a wrong key, any changed covered byte, or a forged SPI: auth-mismatch (keepalived: auth_failure)', () => {
  const p = vrrpPackets(MCAST.name)[0]!;
  const lookup = (over: Partial<AdvertExpectations> = {}) => () => expectations(MCAST, over);
  assert.equal(reason(checkAdvert(p.ip, lookup({ authData: ahKey('1112') }))), 'auth-mismatch');
  assert.equal(reason(checkAdvert(p.ip, lookup({ authData: ahKey('11110') }))), 'auth-mismatch');
  const bytes = ipPacketBytes(p.frame);
  const vrrpAt = 20 + AH_HEADER_LENGTH;
  // A raised priority with a good VRRP checksum: only the ICV catches it.
  const raised = Uint8Array.from(bytes);
  raised[vrrpAt + 2] = 255;
  fixVrrpChecksum(raised, vrrpAt);
  assert.equal(reason(checkAdvert(reparse(raised), lookup())), 'auth-mismatch');
  // The sequence number, the IP ID, the destination: all covered.
  for (const [what, at] of [['sequence', 20 + 11], ['IP ID', 5], ['destination', 19]] as const) {
    const b = Uint8Array.from(bytes);
    b[at] = b[at]! ^ 1;
    assert.equal(reason(checkAdvert(reparse(b), lookup())), 'auth-mismatch', what);
  }
  // The TTL is covered on multicast (keepalived zeroes it only for unicast instances).
  const ttl = Uint8Array.from(bytes);
  ttl[8] = 254;
  assert.equal(reason(checkAdvert(reparse(ttl), lookup())), 'ttl-not-255');
  assert.equal(verifyAh(reparse(ttl).ah!, ipBytes('10.99.0.1'), reparse(ttl).payload, ahKey('1111'), false), 'icv-mismatch');
  // The mutable fields are not covered: TOS, DF and the header checksum may change on the way.
  const mutable = Uint8Array.from(bytes);
  mutable[1] = 0x00;
  mutable[6] = 0x40;
  assert.ok(checkAdvert(reparse(mutable), lookup()).ok, 'TOS and DF are zeroed in the ICV');
  // A key holder's packet whose SPI is not its source address (keepalived checks SPI == saddr).
  const message = p.ip.payload;
  const header = buildIpv4Header({ source: ipBytes('10.99.0.1'), destination: ipBytes('224.0.0.18'), payloadLength: AH_HEADER_LENGTH + message.length, id: 9, protocol: IPPROTO_AH });
  const ah = Uint8Array.from(p.ip.ah!.header);
  ah.set(ipBytes('10.99.0.9'), 4);
  ah.set(computeAhIcv(header, ah, message, ahKey('1111'), false), 12);
  const spiPacket = reparse(Uint8Array.from([...header, ...ah, ...message]));
  assert.equal(verifyAh(spiPacket.ah!, spiPacket.source, spiPacket.payload, ahKey('1111'), false), 'spi-mismatch');
  assert.equal(reason(checkAdvert(spiPacket, lookup())), 'auth-mismatch');
});

test('unicast AH: keepalived zeroes the TTL in the ICV, so a unicast TTL may change on the way', () => {
  const p = vrrpPackets(UCAST.name)[0]!;
  const bytes = ipPacketBytes(p.frame);
  assert.equal(verifyAh(p.ip.ah!, p.ip.source, p.ip.payload, ahKey(UCAST.password), false), 'icv-mismatch', 'the TTL is not in the ICV');
  const routed = Uint8Array.from(bytes);
  routed[8] = 63;
  assert.ok(checkAdvert(reparse(routed), () => expectations(UCAST)).ok, 'a unicast advert with another TTL still verifies');
});

test('AH present iff configured: auth-type-mismatch either way, as keepalived', () => {
  const p = vrrpPackets(MCAST.name)[0]!;
  const pass = expectations(MCAST, { authType: AUTH_PASS, authData: passwordAuthData('1111') });
  assert.equal(reason(checkAdvert(p.ip, () => pass)), 'auth-type-mismatch', 'AH advert, PASS instance');
  assert.equal(reason(checkAdvert(p.ip, () => expectations(MCAST, { authType: AUTH_NONE }))), 'auth-type-mismatch', 'AH advert, no auth');
  // A plain VRRP packet claiming auth type 2 without an AH header.
  const msg = encodeAdvert({ version: 2, vrid: 61, priority: 100, advertIntervalMs: 1000, addresses: [...MCAST.vips], authType: AUTH_AH }, { family: 'ipv4', source: '10.99.0.9', destination: '224.0.0.18' });
  const plain = parseIpv4Packet(Uint8Array.from([...buildIpv4Header({ source: ipBytes('10.99.0.9'), destination: ipBytes('224.0.0.18'), payloadLength: msg.length, id: 1 }), ...msg]));
  assert.ok(typeof plain !== 'string');
  assert.equal(reason(checkAdvert(plain, () => expectations(MCAST))), 'auth-type-mismatch');
  // A VRRPv3 message under AH to a VRRPv3 instance (v3 has no authentication).
  const v3 = encodeAdvert({ version: 3, vrid: 61, priority: 100, advertIntervalMs: 1000, addresses: [...MCAST.vips] }, { family: 'ipv4', source: '10.99.0.9', destination: '224.0.0.18' });
  const v3ah = buildAhPacket({ source: ipBytes('10.99.0.9'), destination: ipBytes('224.0.0.18'), id: 1, sequence: 1, message: v3, key: ahKey('1111'), zeroTtl: false });
  const v3p = parseIpv4Packet(v3ah);
  assert.ok(typeof v3p !== 'string');
  assert.equal(reason(checkAdvert(v3p, () => expectations(MCAST, { version: 3, authType: AUTH_NONE }))), 'auth-type-mismatch');
});

test('framing: AH for another protocol stays protocol 51 (ignored); a cut AH header is invalid', () => {
  const p = vrrpPackets(MCAST.name)[0]!;
  const bytes = ipPacketBytes(p.frame);
  const other = Uint8Array.from(bytes);
  other[20] = 6; // AH carrying TCP
  const o = reparse(other);
  assert.equal(o.protocol, IPPROTO_AH);
  assert.equal(o.ah, undefined);
  const cut = Uint8Array.from(bytes.subarray(0, 20 + 16));
  cut[2] = 0;
  cut[3] = cut.length;
  cut[10] = 0;
  cut[11] = 0;
  const sum = finishChecksum(sumWords(cut, 0, 20));
  cut[10] = sum >> 8;
  cut[11] = sum & 0xff;
  assert.equal(parseIpv4Packet(cut), 'ip-header-invalid');
  // Through the Ethernet framing too.
  const f = parseFrame(buildEthernetFrame(p.frame.subarray(0, 6), p.frame.subarray(6, 12), 0x0800, bytes));
  assert.ok(f.kind === 'ip' && f.ip.ah?.sequence === 1 && f.ip.payload.length === 8 + 8 + 8);
});

test("AhSequenceCounter: keepalived's ipsecah_counter on send, on receive, on a lower-priority master", () => {
  const c = new AhSequenceCounter();
  assert.equal(c.next(), 1, 'the first advert after a start carries 1');
  assert.equal(c.next(), 2);
  assert.equal(c.accept(2), false, 'not above the counter: already processed (a replay)');
  assert.equal(c.accept(1), false);
  assert.equal(c.accept(7), true);
  assert.equal(c.current, 7, 'the counter takes what it accepted');
  assert.equal(c.next(), 8, 'a backup that takes over continues the numbering');
  // A master hears a valid lower-priority advert numbered 20: it continues after it, and the
  // answer it sends right away carries 22 (keepalived: seq + 1, then the send increments).
  assert.equal(c.accept(20), true);
  c.syncFromLowerPriority(20);
  assert.equal(c.next(), 22);
  // Near 2^32 the counter stops and is marked cycled; becoming master restarts it.
  const high = new AhSequenceCounter();
  assert.equal(high.accept(0xfffffffd), true);
  assert.equal(high.next(), 0xfffffffe);
  assert.equal(high.next(), 0xfffffffe, 'past 0xfffffffd it stops counting');
  high.enterMaster();
  assert.equal(high.next(), 1, 'a cycled counter restarts when the instance becomes master');
  const fresh = new AhSequenceCounter();
  fresh.enterMaster();
  assert.equal(fresh.next(), 1, 'an uncycled counter is kept on becoming master');
  // A reload that replaces the instance keeps the count (keepalived's restore_vrrp_state).
  const reloaded = new AhSequenceCounter();
  reloaded.adopt(c);
  assert.equal(reloaded.next(), 23);
});

test('the ICV is HMAC-MD5-96 over the zeroed IP header, the AH header with a zero ICV and the message', () => {
  const p = vrrpPackets(MCAST.name)[0]!;
  const ip = Uint8Array.from(p.ip.ah!.ipHeader);
  ip[1] = 0;
  ip[10] = 0;
  ip[11] = 0;
  const ah = Uint8Array.from(p.ip.ah!.header);
  const icv = hex(ah.subarray(12));
  ah.fill(0, 12);
  const digest = hmacMd5(Uint8Array.from([0x31, 0x31, 0x31, 0x31, 0, 0, 0, 0]), ip, ah, p.ip.payload);
  assert.equal(hex(digest.subarray(0, AH_ICV_LENGTH)), icv, "keepalived's ICV, recomputed from its definition");
});
