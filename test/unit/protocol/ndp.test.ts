/**
 * Golden-bytes tests for IPv6 Neighbor Discovery: the unsolicited neighbour advertisements
 * Debian's keepalived 2.2.7 sends when it becomes master (test/fixtures/captures/capture.sh:
 * v3-ipv6-na with IPv6 forwarding off, v3-ipv6-na-router with it on) are decoded field by field
 * and our builder reproduces every one byte for byte; the solicitation the guard probes with is
 * checked against RFC 4861 and tshark; the parser refuses what RFC 4861 §7.1.2 says to discard.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hex, loadCapture } from '../../helpers/captures.js';
import { parseFrame, type EthernetHeader, type IpPacket } from '../../../src/protocol/frame.js';
import { finishChecksum, formatIpv6, ipv6PseudoHeaderSum, parseIpv6, sumWords } from '../../../src/protocol/inet.js';
import { encodePcap } from '../../../src/protocol/pcapfile.js';
import { prng } from '../../helpers/prng.js';
import {
  ALL_NODES,
  ND_FRAME_LENGTH,
  buildNeighbourSolicitation,
  buildUnsolicitedNa,
  parseNeighbourAdvert,
  parseNeighbourSolicitation,
  solicitedNodeMulticast,
} from '../../../src/protocol/ndp.js';

const MAC_A = '02:00:00:00:00:0a';

function ndFrames(name: string): { frame: Uint8Array; timestampUs: number; ethernet: EthernetHeader; ip: IpPacket }[] {
  const out = [];
  for (const c of loadCapture(name)) {
    const p = parseFrame(c.frame);
    if (p.kind === 'ip' && p.ip.protocol === 58) out.push({ ...c, ethernet: p.ethernet, ip: p.ip });
  }
  return out;
}

for (const [capture, router] of [['v3-ipv6-na', false], ['v3-ipv6-na-router', true]] as const) {
  test(`unsolicited NAs match keepalived byte for byte (${capture}: IPv6 forwarding ${router ? 'on' : 'off'})`, () => {
    const nas = ndFrames(capture);
    // Two bursts (becoming master, then garp_master_delay 1 s later) of NAs for both VIPs.
    assert.ok(nas.length >= 6, `${nas.length} NAs captured`);
    for (const { frame, ethernet, ip } of nas) {
      assert.equal(frame.length, ND_FRAME_LENGTH);
      const na = parseNeighbourAdvert(ethernet, ip);
      assert.ok(na, 'a valid NA (RFC 4861 §7.1.2)');
      assert.equal(formatIpv6(ip.destination), ALL_NODES);
      assert.equal(na.ipSource, na.target, 'sent from the VIP itself');
      assert.ok(['fd00:99::100', 'fd00:99::101'].includes(na.target));
      assert.deepEqual([na.router, na.solicited, na.override], [router, false, true]);
      assert.equal(na.targetMac, MAC_A);
      assert.equal(hex(buildUnsolicitedNa(MAC_A, na.target, { router })), hex(frame));
    }
    assert.deepEqual([...new Set(nas.map((n) => parseNeighbourAdvert(n.ethernet, n.ip)!.target))].sort(), ['fd00:99::100', 'fd00:99::101']);
  });
}

test("keepalived's NA schedule: vrrp_gna_interval spaces the NAs of a burst, garp_master_delay repeats the burst", () => {
  const t = ndFrames('v3-ipv6-na').map((n) => n.timestampUs / 1000);
  const bursts: number[][] = [];
  for (const ms of t) {
    const last = bursts.at(-1);
    if (last && ms - last.at(-1)! < 500) last.push(ms);
    else bursts.push([ms]);
  }
  assert.equal(bursts.length, 2);
  // garp_master_delay 1: the second burst a second after the first.
  assert.ok(Math.abs(bursts[1]![0]! - bursts[0]![0]! - 1000) < 50, `bursts ${bursts[1]![0]! - bursts[0]![0]!} ms apart`);
  for (const b of bursts) {
    // vrrp_gna_interval 0.05: 50 ms between NAs on the interface.
    for (let i = 1; i < b.length; i++) assert.ok(Math.abs(b[i]! - b[i - 1]! - 50) < 15, `NAs ${b[i]! - b[i - 1]!} ms apart`);
    // keepalived 2.2.7 loses repeats of a VIP already queued (a boolean "pending"): 3 of the
    // 2 × 2 NAs go out. Later keepalived (a pending count) and keepwatch send all 4.
    assert.equal(b.length, 3);
  }
});

test('neighbour solicitation: RFC 4861 §4.3 layout, from our link-local to the solicited-node group, with our MAC', () => {
  const f = buildNeighbourSolicitation(MAC_A, 'fe80::ff:fe00:a', 'fd00:99::100');
  assert.equal(f.length, ND_FRAME_LENGTH);
  const p = parseFrame(f);
  assert.ok(p.kind === 'ip');
  assert.equal(hex(p.ethernet.destinationMac), '3333ff000100');
  assert.equal(formatIpv6(p.ip.destination), 'ff02::1:ff00:100');
  assert.equal(formatIpv6(p.ip.source), 'fe80::ff:fe00:a');
  assert.equal(p.ip.ttl, 255);
  const m = p.ip.payload;
  assert.deepEqual([m[0], m[1], m[4], m[5], m[6], m[7]], [135, 0, 0, 0, 0, 0]);
  assert.equal(formatIpv6(m, 8), 'fd00:99::100');
  assert.deepEqual([m[24], m[25]], [1, 1], 'source link-layer address option, 8 bytes');
  assert.equal(hex(m.subarray(26, 32)), '02000000000a');
  assert.equal(finishChecksum(sumWords(m, 0, m.length, ipv6PseudoHeaderSum(p.ip.source, p.ip.destination, m.length, 58))), 0, 'checksum');
  assert.equal(formatIpv6(solicitedNodeMulticast(parseIpv6('2001:db8::12:3456')!)), 'ff02::1:ff12:3456');
  // It is no advertisement: the guard never mistakes its own probe for a claim.
  assert.equal(parseNeighbourAdvert(p.ethernet, p.ip), undefined);
});

test('the handed-back NA announces the winner in its option, from our Ethernet source', () => {
  const f = buildUnsolicitedNa(MAC_A, 'fd00:99::100', { router: false, announcedMac: '02:00:00:00:00:0b' });
  const p = parseFrame(f);
  assert.ok(p.kind === 'ip');
  const na = parseNeighbourAdvert(p.ethernet, p.ip)!;
  assert.equal(na.ethernetSource, MAC_A);
  assert.equal(na.targetMac, '02:00:00:00:00:0b');
  assert.equal(na.override, true);
});

test('RFC 4861 §7.1.2: invalid advertisements are discarded', () => {
  const good = buildUnsolicitedNa(MAC_A, 'fd00:99::100', { router: false });
  const parse = (f: Uint8Array) => {
    const p = parseFrame(f);
    return p.kind === 'ip' ? parseNeighbourAdvert(p.ethernet, p.ip) : undefined;
  };
  assert.ok(parse(good));
  const fix = (f: Uint8Array) => {
    f[56] = 0;
    f[57] = 0;
    const sum = finishChecksum(sumWords(f, 54, f.length, ipv6PseudoHeaderSum(f.subarray(22, 38), f.subarray(38, 54), f.length - 54, 58)));
    f[56] = sum >> 8;
    f[57] = sum & 0xff;
    return f;
  };
  const mutate = (fn: (f: Uint8Array) => void, fixChecksum = true) => {
    const f = Uint8Array.from(good);
    fn(f);
    return fixChecksum ? fix(f) : f;
  };
  assert.equal(parse(mutate((f) => (f[21] = 64))), undefined, 'hop limit not 255 (from off-link)');
  assert.equal(parse(mutate((f) => (f[57] = f[57]! ^ 1), false)), undefined, 'bad checksum');
  assert.equal(parse(mutate((f) => (f[55] = 1))), undefined, 'code not 0');
  assert.equal(parse(mutate((f) => (f[58] = f[58]! | 0x40))), undefined, 'solicited flag on a multicast NA');
  assert.equal(parse(mutate((f) => (f[62] = 0xff))), undefined, 'multicast target');
  assert.equal(parse(mutate((f) => (f[79] = 0))), undefined, 'option of length 0');
  assert.equal(parse(mutate((f) => (f[79] = 2))), undefined, 'option past the end');
  // Without the target link-layer option, the Ethernet source is who announces.
  const bare = Uint8Array.from(good.subarray(0, 14 + 40 + 24));
  bare[19] = 24;
  const na = parse(fix(bare));
  assert.ok(na);
  assert.equal(na.targetMac, MAC_A);
  // Truncated below the fixed part.
  const short = parseFrame(Uint8Array.from(good).subarray(0, 14 + 40 + 20));
  assert.equal(short.kind, 'invalid', 'payload length beyond the bytes present');
});

test('tshark decodes our NA and NS without an expert warning, checksums good', (t) => {
  if (spawnSync('tshark', ['-v']).status !== 0) return t.skip('tshark not installed');
  const frames = [buildUnsolicitedNa(MAC_A, 'fd00:99::100', { router: true }), buildNeighbourSolicitation(MAC_A, 'fe80::ff:fe00:a', 'fd00:99::100')];
  const dir = mkdtempSync(join(tmpdir(), 'kw-nd-'));
  try {
    const file = join(dir, 'nd.pcap');
    writeFileSync(file, encodePcap(frames.map((data, i) => ({ timestampUs: 1_800_000_000_000_000 + i, data, originalLength: data.length }))));
    const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'icmpv6.type', '-e', 'icmpv6.checksum.status', '-e', 'icmpv6.nd.na.flag.r', '-e', 'icmpv6.nd.na.flag.o', '-e', 'icmpv6.opt.linkaddr', '-e', '_ws.expert.severity'], { encoding: 'utf8' });
    assert.deepEqual(out.trim().split('\n'), ['136|1|1|1|02:00:00:00:00:0a|', '135|1|||02:00:00:00:00:0a|']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fuzz: 50k mutated and truncated ND frames never throw; only intact ones parse, with their checksum good', () => {
  const rnd = prng(6);
  const seeds = [buildUnsolicitedNa(MAC_A, 'fd00:99::100', { router: true }), buildNeighbourSolicitation(MAC_A, 'fe80::ff:fe00:a', 'fd00:99::100'), ...ndFrames('v3-ipv6-na').map((n) => n.frame)];
  let parsed = 0;
  for (let i = 0; i < 50_000; i++) {
    const f = Uint8Array.from(seeds[i % seeds.length]!);
    const flips = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < flips; k++) f[14 + Math.floor(rnd() * (f.length - 14))] = Math.floor(rnd() * 256);
    const cut = rnd() < 0.2 ? f.subarray(0, Math.floor(rnd() * f.length)) : f;
    const p = parseFrame(cut);
    if (p.kind !== 'ip') continue;
    const na = parseNeighbourAdvert(p.ethernet, p.ip);
    const ns = parseNeighbourSolicitation(p.ethernet, p.ip);
    if (!na && !ns) continue;
    parsed++;
    const m = p.ip.payload;
    assert.equal(finishChecksum(sumWords(m, 0, m.length, ipv6PseudoHeaderSum(p.ip.source, p.ip.destination, m.length, 58))), 0);
    assert.equal(p.ip.ttl, 255);
  }
  // Only flips confined to what the checksum does not cover (traffic class, flow label) or that
  // happen to restore a byte leave a valid message.
  assert.ok(parsed > 0 && parsed < 2500, `${parsed} mutated frames parsed`);
});
