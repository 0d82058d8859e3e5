/**
 * Every receive-side check gives its own drop reason. Each case starts from a real keepalived
 * advert and breaks one thing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vrrpPackets } from '../../helpers/captures.js';
import { checkAdvert, DROP_REASONS, type AdvertExpectations, type DropReason } from '../../../src/protocol/check.js';
import { computeChecksum, passwordAuthData } from '../../../src/protocol/advert.js';
import { AUTH_NONE, AUTH_PASS } from '../../../src/protocol/constants.js';
import { ipBytes } from '../../../src/protocol/inet.js';
import type { IpPacket } from '../../../src/protocol/frame.js';

const v2 = vrrpPackets('v2-pass')[0]!.ip; // vrid 51, prio 150, PASS 1111, 10.99.0.100-101
const v3 = vrrpPackets('v3-unicast')[0]!.ip; // vrid 53, unicast 10.99.0.1 -> 10.99.0.2

const V2_EXP: AdvertExpectations = {
  version: 2,
  family: 'ipv4',
  advertIntervalMs: 1000,
  authType: AUTH_PASS,
  authData: passwordAuthData('1111'),
  addresses: [ipBytes('10.99.0.100'), ipBytes('10.99.0.101')],
  checksumAsV2: false,
};
const V3_EXP: AdvertExpectations = { ...V2_EXP, version: 3, authType: AUTH_NONE, addresses: [ipBytes('10.99.0.103')] };

/** Copies the packet with its VRRP payload edited; fixes the checksum unless told not to. */
function mutate(p: IpPacket, edit: (m: Uint8Array) => void, opts: { fixChecksum?: boolean; ttl?: number; source?: string } = {}): IpPacket {
  const m = new Uint8Array(p.payload);
  edit(m);
  const source = opts.source ? ipBytes(opts.source) : p.source;
  if (opts.fixChecksum !== false) {
    m[6] = 0;
    m[7] = 0;
    const s = computeChecksum(m, m[0]! >> 4, p.family, source, p.destination);
    m[6] = s >> 8;
    m[7] = s & 0xff;
  }
  return { ...p, payload: m, ttl: opts.ttl ?? p.ttl, source };
}

function reason(p: IpPacket, exp: AdvertExpectations | undefined): DropReason | 'accepted' {
  const r = checkAdvert(p, () => exp);
  return r.ok ? 'accepted' : r.reason;
}

test('baseline: the captured adverts are accepted', () => {
  assert.equal(reason(v2, V2_EXP), 'accepted');
  assert.equal(reason(v3, V3_EXP), 'accepted');
});

test('each check has its drop reason', () => {
  const cases: [string, IpPacket, AdvertExpectations | undefined, DropReason][] = [
    ['not VRRP', { ...v2, protocol: 17 }, V2_EXP, 'ip-header-invalid'],
    ['short', { ...v2, payload: v2.payload.subarray(0, 7) }, V2_EXP, 'length-invalid'],
    ['count larger than the packet', mutate(v2, (m) => (m[3] = 9)), V2_EXP, 'length-invalid'],
    ['version 1', mutate(v2, (m) => (m[0] = 0x11)), V2_EXP, 'version-invalid'],
    ['type 2', mutate(v2, (m) => (m[0] = 0x22)), V2_EXP, 'type-invalid'],
    ['ttl 64 on multicast', mutate(v2, () => {}, { ttl: 64 }), V2_EXP, 'ttl-not-255'],
    ['vrid not ours', v2, undefined, 'vrid-not-configured'],
    ['v2 advert to a v3 instance', v2, { ...V2_EXP, version: 3 }, 'version-mismatch'],
    ['checksum', mutate(v2, (m) => (m[7] = m[7]! ^ 0xff), { fixChecksum: false }), V2_EXP, 'checksum-invalid'],
    ['checksum of a v3 advert without the pseudo-header', mutate(v3, () => {}, { source: '10.99.0.9', fixChecksum: false }), V3_EXP, 'checksum-invalid'],
    ['auth type none', mutate(v2, (m) => (m[4] = 0)), V2_EXP, 'auth-type-mismatch'],
    ['auth type AH', mutate(v2, (m) => (m[4] = 2)), V2_EXP, 'auth-type-mismatch'],
    ['wrong password', mutate(v2, (m) => (m[16 + 3] = 0x32)), V2_EXP, 'auth-mismatch'],
    ['v2 interval 2 s vs 1 s', mutate(v2, (m) => (m[5] = 2)), V2_EXP, 'interval-mismatch'],
    ['v2 interval 0 (as keepalived: a mismatch)', mutate(v2, (m) => (m[5] = 0)), V2_EXP, 'interval-mismatch'],
    ['v3 Max Adver Int 0', mutate(v3, (m) => ((m[4] = m[4]! & 0xf0), (m[5] = 0))), V3_EXP, 'interval-invalid'],
    ['unicast from a stranger', mutate(v3, () => {}, { source: '10.99.0.77' }), { ...V3_EXP, unicastPeers: [ipBytes('10.99.0.1')] }, 'unicast-source-unknown'],
  ];
  for (const [what, pkt, exp, want] of cases) assert.equal(reason(pkt, exp), want, what);
});

test('TTL is not required on unicast (keepalived does not), only on multicast', () => {
  assert.equal(reason(mutate(v3, () => {}, { ttl: 63 }), V3_EXP), 'accepted');
});

test('VRRPv3 interval differences are accepted (the backup adopts the master interval)', () => {
  const r = checkAdvert(mutate(v3, (m) => (m[5] = 50)), () => V3_EXP);
  assert.ok(r.ok);
  assert.equal(r.advert.advertIntervalMs, 500);
});

test('VRRPv3 Max Adver Int 0 is dropped, whatever the priority; 1 cs and 4095 cs are accepted', () => {
  for (const priority of [0, 1, 100, 254, 255]) {
    const r = checkAdvert(mutate(v3, (m) => ((m[2] = priority), (m[4] = 0), (m[5] = 0))), () => V3_EXP);
    assert.ok(!r.ok && r.reason === 'interval-invalid' && r.vrid === 53 && r.instance === V3_EXP, `priority ${priority}`);
  }
  // The 4 reserved bits are not part of the interval: 0xf0 00 is still 0 cs.
  assert.equal(reason(mutate(v3, (m) => ((m[4] = 0xf0), (m[5] = 0))), V3_EXP), 'interval-invalid');
  const one = checkAdvert(mutate(v3, (m) => ((m[4] = 0), (m[5] = 1))), () => V3_EXP);
  assert.ok(one.ok && one.advert.advertIntervalMs === 10);
  const max = checkAdvert(mutate(v3, (m) => ((m[4] = 0x0f), (m[5] = 0xff))), () => V3_EXP);
  assert.ok(max.ok && max.advert.advertIntervalMs === 40_950);
  // The checksum still comes first: a forged interval-0 advert with a bad sum is a checksum drop.
  assert.equal(reason(mutate(v3, (m) => (m[5] = 0), { fixChecksum: false }), V3_EXP), 'checksum-invalid');
});

test('address-list mismatch is flagged but accepted (keepalived >= 2.3.3)', () => {
  const other = mutate(v2, (m) => (m[11] = 99)); // 10.99.0.100 -> 10.99.0.99
  const r = checkAdvert(other, () => V2_EXP);
  assert.ok(r.ok);
  assert.equal(r.advert.addressListMismatch, true);
  assert.deepEqual(r.advert.addresses, ['10.99.0.99', '10.99.0.101']);
  const fewer = checkAdvert(v2, () => ({ ...V2_EXP, addresses: [ipBytes('10.99.0.100')] }));
  assert.ok(fewer.ok && fewer.advert.addressListMismatch);
});

test('drop reasons are a closed, unique list usable as metric labels', () => {
  assert.equal(new Set(DROP_REASONS).size, DROP_REASONS.length);
  for (const r of DROP_REASONS) assert.match(r, /^[a-z0-9-]+$/);
});
