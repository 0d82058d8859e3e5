/**
 * Golden-bytes tests: adverts and gratuitous ARPs captured from Debian's keepalived 2.2.7
 * (test/fixtures/captures/capture.sh) are decoded field by field, and our encoder reproduces
 * them byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arpFrames, hex, loadCapture, vrrpPackets } from '../../helpers/captures.js';
import { encodeAdvert, passwordAuthData } from '../../../src/protocol/advert.js';
import { checkAdvert, type AcceptedAdvert, type AdvertExpectations } from '../../../src/protocol/check.js';
import { buildEthernetFrame, buildIpv4Header, buildIpv6Header, multicastMac, parseFrame, parseEthernet, type IpPacket } from '../../../src/protocol/frame.js';
import { buildGratuitousArp, buildArpProbe, parseArp, claimsAddress } from '../../../src/protocol/arp.js';
import { AUTH_NONE, AUTH_PASS } from '../../../src/protocol/constants.js';
import { formatIp, ipBytes, parseIpv6, formatIpv6, parseIpv4 } from '../../../src/protocol/inet.js';
import { encodePcap, decodePcap } from '../../../src/protocol/pcapfile.js';

const MAC_A = '02:00:00:00:00:0a';

function expectations(over: Partial<AdvertExpectations> & Pick<AdvertExpectations, 'version'>): AdvertExpectations {
  return {
    family: 'ipv4',
    advertIntervalMs: 1000,
    authType: AUTH_NONE,
    addresses: [],
    checksumAsV2: false,
    ...over,
  };
}

/** The advert as the receive path reads it (`checkAdvert`), for a captured advert that must pass. */
function accepted(ip: IpPacket, exp: AdvertExpectations): AcceptedAdvert {
  const r = checkAdvert(ip, () => exp);
  assert.ok(r.ok, `accepted: ${JSON.stringify(r)}`);
  return r.advert;
}

test('VRRPv2 PASS advert from keepalived decodes field by field', () => {
  const pkts = vrrpPackets('v2-pass');
  assert.ok(pkts.length >= 3, 'capture holds adverts');
  const first = pkts[0]!;
  assert.equal(first.ip.ttl, 255);
  assert.equal(formatIp(first.ip.source), '10.99.0.1');
  assert.equal(formatIp(first.ip.destination), '224.0.0.18');
  const exp = expectations({
    version: 2, authType: AUTH_PASS, authData: passwordAuthData('1111'),
    addresses: [ipBytes('10.99.0.100'), ipBytes('10.99.0.101')],
  });
  const r = checkAdvert(first.ip, (vrid) => (vrid === 51 ? exp : undefined));
  assert.ok(r.ok, `accepted: ${JSON.stringify(r)}`);
  assert.deepEqual(
    { ...r.advert },
    {
      version: 2, vrid: 51, priority: 150, advertIntervalMs: 1000, source: '10.99.0.1', ttl: 255,
      addressListMismatch: false, addresses: ['10.99.0.100', '10.99.0.101'],
    },
  );
  // The fields checkAdvert judges but does not hand back, at their RFC 3768 §5.1 offsets: type 1
  // (advertisement), 2 addresses, auth type 1 (PASS), the checksum and the 8 bytes of auth data.
  const m = first.ip.payload;
  assert.deepEqual(
    { type: m[0]! & 0x0f, addressCount: m[3], authType: m[4], checksum: (m[6]! << 8) | m[7]!, authData: hex(m.subarray(16, 24)) },
    { type: 1, addressCount: 2, authType: 1, checksum: 0xcfd7, authData: hex(new TextEncoder().encode('1111\0\0\0\0')) },
  );
  // The shutdown advert keepalived sent on SIGTERM carries priority 0.
  const last = accepted(pkts[pkts.length - 1]!.ip, exp);
  assert.equal(last.priority, 0);
});

test('our encoder reproduces keepalived v2 PASS adverts and their IPv4 header byte for byte', () => {
  for (const name of ['v2-pass', 'v2-longpass']) {
    for (const [i, p] of vrrpPackets(name).entries()) {
      const password = name === 'v2-pass' ? '1111' : 'abcdefghijk';
      const d = accepted(p.ip, expectations({ version: 2, authType: AUTH_PASS, authData: passwordAuthData(password) }));
      const ours = encodeAdvert(
        { version: 2, vrid: d.vrid, priority: d.priority, advertIntervalMs: 1000, addresses: d.addresses, authType: AUTH_PASS, authData: passwordAuthData(password) },
        { family: 'ipv4', source: '10.99.0.1', destination: '224.0.0.18' },
      );
      assert.equal(hex(ours), hex(p.ip.payload), `${name} advert #${i}`);
      const header = buildIpv4Header({ source: ipBytes('10.99.0.1'), destination: ipBytes('224.0.0.18'), payloadLength: ours.length, id: i + 1 });
      assert.equal(hex(header), hex(p.ethernet.payload.subarray(0, 20)), `${name} IPv4 header #${i}`);
    }
  }
});

test('auth_pass longer than 8 characters: keepalived sends the first 8, we match', () => {
  const p = vrrpPackets('v2-longpass')[0]!;
  const m = p.ip.payload;
  const authAt = 8 + 4 * m[3]!; // after the header and the addresses (RFC 3768 §5.1)
  assert.equal(new TextDecoder().decode(m.subarray(authAt, authAt + 8)), 'abcdefgh');
  const ok = checkAdvert(p.ip, () => expectations({ version: 2, authType: AUTH_PASS, authData: passwordAuthData('abcdefghXYZ'), addresses: [ipBytes('10.99.0.107')] }));
  assert.ok(ok.ok, 'only 8 characters are compared, as keepalived does');
  const bad = checkAdvert(p.ip, () => expectations({ version: 2, authType: AUTH_PASS, authData: passwordAuthData('abcdefgX'), addresses: [ipBytes('10.99.0.107')] }));
  assert.deepEqual(bad.ok ? 'accepted' : bad.reason, 'auth-mismatch');
});

test('VRRPv3 IPv4 multicast and unicast adverts: decode, checksum with pseudo-header, re-encode', () => {
  const cases = [
    { name: 'v3', vrid: 52, prio: 200, intervalMs: 100, dst: '224.0.0.18', vip: '10.99.0.102' },
    { name: 'v3-unicast', vrid: 53, prio: 120, intervalMs: 1000, dst: '10.99.0.2', vip: '10.99.0.103' },
  ];
  for (const c of cases) {
    const pkts = vrrpPackets(c.name);
    assert.ok(pkts.length >= 2);
    for (const p of pkts) {
      const r = checkAdvert(p.ip, () => expectations({ version: 3, advertIntervalMs: 1000, addresses: [ipBytes(c.vip)] }));
      assert.ok(r.ok, `${c.name}: ${JSON.stringify(r)}`);
      const d = r.advert;
      assert.equal(d.version, 3);
      assert.equal(d.vrid, c.vrid);
      assert.equal(d.advertIntervalMs, c.intervalMs);
      assert.deepEqual(d.addresses, [c.vip]);
      const ours = encodeAdvert(
        { version: 3, vrid: d.vrid, priority: d.priority, advertIntervalMs: c.intervalMs, addresses: [c.vip] },
        { family: 'ipv4', source: '10.99.0.1', destination: c.dst },
      );
      assert.equal(hex(ours), hex(p.ip.payload), c.name);
    }
  }
});

test('VRRPv3 IPv6 advert from keepalived: link-local source, ff02::12, hop limit 255, re-encoded exactly', () => {
  const pkts = vrrpPackets('v3-ipv6');
  assert.ok(pkts.length >= 2);
  for (const p of pkts) {
    assert.equal(p.ip.family, 'ipv6');
    assert.equal(p.ip.ttl, 255);
    assert.equal(formatIp(p.ip.source), 'fe80::ff:fe00:a');
    assert.equal(formatIp(p.ip.destination), 'ff02::12');
    const r = checkAdvert(p.ip, (_v, fam) => (fam === 'ipv6' ? expectations({ version: 3, family: 'ipv6', addresses: [ipBytes('fd00:99::100')] }) : undefined));
    assert.ok(r.ok);
    const d = r.advert;
    assert.deepEqual(d.addresses, ['fd00:99::100']);
    const ours = encodeAdvert(
      { version: 3, vrid: 54, priority: d.priority, advertIntervalMs: 1000, addresses: ['fd00:99::100'] },
      { family: 'ipv6', source: 'fe80::ff:fe00:a', destination: 'ff02::12' },
    );
    assert.equal(hex(ours), hex(p.ip.payload));
  }
});

test('v3_checksum_as_v2: a message-only checksum is accepted only when configured', () => {
  const p = vrrpPackets('v3')[0]!;
  const d = accepted(p.ip, expectations({ version: 3, advertIntervalMs: 100, addresses: [ipBytes('10.99.0.102')] }));
  const asV2 = encodeAdvert(
    { version: 3, vrid: d.vrid, priority: d.priority, advertIntervalMs: 100, addresses: d.addresses },
    { family: 'ipv4', source: '10.99.0.1', destination: '224.0.0.18', checksumAsV2: true },
  );
  assert.notEqual(hex(asV2), hex(p.ip.payload));
  const pkt = { ...p.ip, payload: asV2 };
  const base = { version: 3 as const, advertIntervalMs: 100, addresses: [ipBytes('10.99.0.102')] };
  const strict = checkAdvert(pkt, () => expectations(base));
  assert.equal(strict.ok ? 'accepted' : strict.reason, 'checksum-invalid');
  const compat = checkAdvert(pkt, () => expectations({ ...base, checksumAsV2: true }));
  assert.ok(compat.ok);
  // A compat peer still accepts the RFC 5798 checksum.
  assert.ok(checkAdvert(p.ip, () => expectations({ ...base, checksumAsV2: true })).ok);
});

test('gratuitous ARP frames match keepalived byte for byte', () => {
  const frames = arpFrames('v2-pass').filter((f) => {
    const a = parseArp(parseEthernet(f)!)!;
    return a.senderIp === a.targetIp;
  });
  assert.ok(frames.length >= 2);
  for (const f of frames) {
    const a = parseArp(parseEthernet(f)!)!;
    assert.equal(a.op, 1);
    assert.equal(a.targetMac, 'ff:ff:ff:ff:ff:ff');
    assert.ok(claimsAddress(a, a.senderIp));
    assert.equal(hex(buildGratuitousArp(MAC_A, a.senderIp)), hex(f));
  }
  const probe = parseArp(parseEthernet(buildArpProbe(MAC_A, '10.99.0.100'))!)!;
  assert.deepEqual([probe.op, probe.senderIp, probe.targetIp, probe.targetMac], [1, '0.0.0.0', '10.99.0.100', '00:00:00:00:00:00']);
  assert.equal(claimsAddress(probe, '10.99.0.100'), false);
});

test('IPv4 and IPv6 text forms', () => {
  assert.equal(parseIpv4('10.0.0.256'), undefined);
  assert.equal(parseIpv4('010.0.0.1'), undefined);
  assert.equal(parseIpv4('1.2.3'), undefined);
  assert.equal(formatIpv6(parseIpv6('FD00:0:0:0:0:0:0:1')!), 'fd00::1');
  assert.equal(formatIpv6(parseIpv6('::ffff:10.0.0.1')!), '::ffff:10.0.0.1');
  assert.equal(formatIpv6(parseIpv6('1:0:0:1:0:0:0:1')!), '1:0:0:1::1');
  assert.equal(parseIpv6('1::2::3'), undefined);
  assert.equal(parseIpv6('1:2:3:4:5:6:7:8:9'), undefined);
  assert.equal(parseIpv6('fe80::1%eth0'), undefined);
});

test('pcap files round-trip and tshark reads what we write', (t) => {
  const records = loadCapture('v2-pass').map((c) => ({ timestampUs: c.timestampUs, data: c.frame, originalLength: c.frame.length }));
  const bytes = encodePcap(records);
  const back = decodePcap(bytes);
  assert.equal(back.records.length, records.length);
  assert.deepEqual(back.records.map((r) => hex(r.data)), records.map((r) => hex(r.data)));
  let tshark = true;
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
  } catch {
    tshark = false;
  }
  if (!tshark) return t.skip('tshark not installed');
  const dir = mkdtempSync(join(tmpdir(), 'kw-pcap-'));
  try {
    writeFileSync(join(dir, 'x.pcap'), bytes);
    const out = execFileSync('tshark', ['-r', join(dir, 'x.pcap'), '-Y', 'vrrp', '-T', 'fields', '-e', 'vrrp.prio'], { encoding: 'utf8' });
    assert.ok(out.trim().split('\n').includes('150'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('frames of another kind are classified, not thrown on', () => {
  assert.equal(parseFrame(new Uint8Array(3)).kind, 'invalid');
  const ipv4Garbage = new Uint8Array(60);
  ipv4Garbage[12] = 0x08;
  assert.deepEqual(parseFrame(ipv4Garbage), { kind: 'invalid', reason: 'ip-header-invalid' });
  const other = new Uint8Array(60);
  other[12] = 0x88;
  other[13] = 0xcc;
  assert.equal(parseFrame(other).kind, 'other');
});

test("tcpdump (the tool keepalived users read adverts with) decodes our adverts without a malformed field", (t) => {
  if (spawnSync('tcpdump', ['--version']).status !== 0) return t.skip('tcpdump not installed');
  const frame = (family: 'ipv4' | 'ipv6', msg: Uint8Array, src: string, dst: string) => {
    const ip = family === 'ipv4'
      ? buildIpv4Header({ source: ipBytes(src), destination: ipBytes(dst), payloadLength: msg.length, id: 1 })
      : buildIpv6Header({ source: ipBytes(src), destination: ipBytes(dst), payloadLength: msg.length });
    return buildEthernetFrame(multicastMac(ipBytes(dst)), Uint8Array.of(2, 0, 0, 0, 0, 0xa), family === 'ipv4' ? 0x0800 : 0x86dd, Uint8Array.from([...ip, ...msg]));
  };
  const frames = [
    frame('ipv4', encodeAdvert({ version: 2, vrid: 51, priority: 150, advertIntervalMs: 1000, addresses: ['10.99.0.100', '10.99.0.101'], authType: AUTH_PASS, authData: passwordAuthData('1111') }, { family: 'ipv4', source: '10.99.0.1', destination: '224.0.0.18' }), '10.99.0.1', '224.0.0.18'),
    frame('ipv4', encodeAdvert({ version: 3, vrid: 52, priority: 200, advertIntervalMs: 100, addresses: ['10.99.0.102'] }, { family: 'ipv4', source: '10.99.0.1', destination: '224.0.0.18' }), '10.99.0.1', '224.0.0.18'),
    frame('ipv6', encodeAdvert({ version: 3, vrid: 54, priority: 110, advertIntervalMs: 1000, addresses: ['fd00:99::100'] }, { family: 'ipv6', source: 'fe80::ff:fe00:a', destination: 'ff02::12' }), 'fe80::ff:fe00:a', 'ff02::12'),
    buildGratuitousArp(MAC_A, '10.99.0.100'),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'kw-td-'));
  try {
    const file = join(dir, 'ours.pcap');
    writeFileSync(file, encodePcap(frames.map((data, i) => ({ timestampUs: 1_800_000_000_000_000 + i, data, originalLength: data.length }))));
    const out = execFileSync('tcpdump', ['-nn', '-vv', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.match(out, /VRRPv2, Advertisement, vrid 51, prio 150, authtype simple, intvl 1s, length 24, addrs\(2\): 10\.99\.0\.100,10\.99\.0\.101 auth "1111"/);
    assert.match(out, /VRRPv3, Advertisement, vrid 52, prio 200, intvl 10cs, length 12, addrs: 10\.99\.0\.102/);
    assert.match(out, /VRRPv3, Advertisement, vrid 54, prio 110, intvl 100cs, length 24, addrs: fd00:99::100/);
    assert.match(out, /Request who-has 10\.99\.0\.100 \(ff:ff:ff:ff:ff:ff\) tell 10\.99\.0\.100/);
    assert.doesNotMatch(out, /bad|\[\|vrrp\]|truncated|malformed/i);
    assert.match(out, /tos 0xc0, ttl 255/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
