/**
 * IPv6 VIPs on the in-memory LAN: a new master sends unsolicited neighbour advertisements as it
 * sends gratuitous ARPs for IPv4 (keepalived's vrrp_send_link_update): garp_master_repeat at once,
 * again after garp_master_delay, on garp_master_refresh, on lower-priority adverts; spaced by
 * vrrp_gna_interval; Router flag from the interface's IPv6 forwarding; the client's neighbour
 * entry follows every failover.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeLan, type FakeNode } from '../../fakes/lan.js';
import { instance, vip, type InstanceInit } from '../../helpers/instances.js';
import { parseFrame } from '../../../src/protocol/frame.js';
import { buildUnsolicitedNa, parseNeighbourAdvert } from '../../../src/protocol/ndp.js';
import type { GarpSentEvent } from '../../../src/events/index.js';

const A = { ipv4: '10.0.0.1', ipv6: 'fe80::1' };
const B = { ipv4: '10.0.0.2', ipv6: 'fe80::2' };
const VIP6 = 'fd00::100';

const v6 = (init: InstanceInit = {}) => instance({ version: 3, advertIntervalMs: 100, vips: [VIP6], garpMasterDelayMs: 0, ...init });

/** The NAs a node put on the wire, decoded. */
function nas(node: FakeNode, sinceMs = -Infinity) {
  return node.sentFrames.flatMap(({ atMs, frame }) => {
    const p = parseFrame(frame);
    const na = p.kind === 'ip' && atMs >= sinceMs ? parseNeighbourAdvert(p.ethernet, p.ip) : undefined;
    return na && !na.solicited ? [{ atMs, frame, na }] : [];
  });
}

test('becoming master: unsolicited NAs for every IPv6 VIP, repeated, again after garp_master_delay and on refresh', () => {
  const lan = new FakeLan();
  const a = lan.addNode('a', A);
  const sent: GarpSentEvent[] = [];
  a.events.on('garp-sent', (e) => sent.push(e));
  a.start([v6({ priority: 150, vips: [VIP6, 'fd00::101'], garpMasterRepeat: 3, garpMasterDelayMs: 2000, garpMasterRefreshMs: 10_000, garpMasterRefreshRepeat: 1 })]);
  lan.clock.advance(1000);
  assert.equal(a.state(), 'master');
  const became = a.transitions.at(-1)!.atMs;
  lan.clock.advance(25_000);
  assert.deepEqual(sent.map((e) => [e.reason, e.protocol, e.count, e.atMs - became, e.vips.join(',')]), [
    ['become-master', 'ndp', 6, 0, 'fd00::100,fd00::101'],
    ['master-delay', 'ndp', 6, 2000, 'fd00::100,fd00::101'],
    ['refresh', 'ndp', 2, 10_000, 'fd00::100,fd00::101'],
    ['refresh', 'ndp', 2, 20_000, 'fd00::100,fd00::101'],
  ]);
  const frames = nas(a);
  assert.equal(frames.length, 6 + 6 + 2 + 2);
  // keepalived's order: every VIP once, then again (repeat outer, VIP inner).
  assert.deepEqual(frames.slice(0, 6).map((f) => f.na.target), [VIP6, 'fd00::101', VIP6, 'fd00::101', VIP6, 'fd00::101']);
  for (const f of frames) {
    assert.equal(Buffer.from(f.frame).toString('hex'), Buffer.from(buildUnsolicitedNa(a.mac, f.na.target, { router: false })).toString('hex'));
  }
  assert.equal(lan.clientArp.get(VIP6), a.mac);
  // No gratuitous ARP for an IPv6-only instance.
  assert.equal(a.sentFrames.filter((f) => f.frame[12] === 0x08 && f.frame[13] === 0x06).length, 0);
});

test('vrrp_gna_interval spaces the NAs; garp_interval spaces only the ARPs (per-family rate limits, as keepalived)', () => {
  const lan = new FakeLan();
  const a = lan.addNode('a', A);
  // An IPv4 instance with an IPv6 excluded VIP: both kinds of frame, each on its own spacing.
  const cfg = instance({ priority: 150, version: 3, advertIntervalMs: 100, garpMasterRepeat: 2, garpMasterDelayMs: 0, garpIntervalMs: 30, gnaIntervalMs: 50 });
  a.start([{ ...cfg, virtualAddressesExcluded: [vip(VIP6)] }]);
  lan.clock.advance(2000);
  const became = a.transitions.find((t) => t.to === 'master')!.atMs;
  assert.deepEqual(nas(a).map((f) => Math.round(f.atMs - became)), [0, 50]);
  const arps = a.sentFrames.filter((f) => f.frame[12] === 0x08 && f.frame[13] === 0x06).map((f) => Math.round(f.atMs - became));
  assert.deepEqual(arps, [0, 30]);
  assert.equal(lan.clientArp.get(VIP6), a.mac);
  assert.equal(lan.clientArp.get('10.0.0.100'), a.mac);
});

test('the Router flag follows IPv6 forwarding on the interface (keepalived: net.ipv6.conf.IFACE.forwarding)', () => {
  const lan = new FakeLan();
  const a = lan.addNode('a', A);
  a.ipv6Forwarding = true;
  a.start([v6({ priority: 150, garpMasterRepeat: 1 })]);
  lan.clock.advance(1000);
  const [first] = nas(a);
  assert.ok(first);
  assert.equal(first.na.router, true);
  assert.equal(Buffer.from(first.frame).toString('hex'), Buffer.from(buildUnsolicitedNa(a.mac, VIP6, { router: true })).toString('hex'));
});

test("the client's neighbour entry follows the master: kill -9, SIGTERM, preemption", () => {
  const lan = new FakeLan();
  const a = lan.addNode('a', A);
  const b = lan.addNode('b', B);
  a.start([v6({ priority: 150 })]);
  b.start([v6({ priority: 100 })]);
  lan.clock.advance(2000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.equal(lan.clientArp.get(VIP6), a.mac);

  a.kill();
  lan.clock.advance(1000);
  assert.deepEqual(lan.masters(), ['b']);
  assert.equal(lan.clientArp.get(VIP6), b.mac, 'after kill -9');
  const tookOver = b.transitions.at(-1)!.atMs;
  assert.equal(nas(b, tookOver)[0]!.atMs, tookOver, 'the first NA goes out with the takeover');

  a.start([v6({ priority: 150 })]);
  lan.clock.advance(2000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.equal(a.transitions.at(-1)!.cause, 'preempt');
  assert.equal(lan.clientArp.get(VIP6), a.mac, 'after preemption');

  a.stop();
  lan.clock.advance(1000);
  assert.deepEqual(lan.masters(), ['b']);
  assert.equal(b.transitions.at(-1)!.cause, 'priority-zero-advert');
  assert.equal(lan.clientArp.get(VIP6), b.mac, 'after SIGTERM');
});

test('a lower-priority master gets NAs back (garp_lower_prio_repeat), at most one burst per advert interval', () => {
  const lan = new FakeLan();
  const a = lan.addNode('a', A);
  const b = lan.addNode('b', B);
  a.start([v6({ priority: 150, garpLowerPrioRepeat: 2, garpLowerPrioDelayMs: 0 })]);
  lan.clock.advance(1000);
  assert.equal(a.state(), 'master');
  const reasons: string[] = [];
  a.events.on('garp-sent', (e) => reasons.push(`${e.reason}/${e.protocol}/${e.count}`));
  // b can't hear a (a partition one way): b becomes master too and advertises priority 100.
  lan.dropIf = (from, to) => from === a && to === b;
  b.start([v6({ priority: 100 })]);
  lan.clock.advance(1000);
  const bursts = reasons.filter((r) => r === 'lower-priority/ndp/2').length;
  // b advertises 10 times a second for that second; a answers with at most one burst per 100 ms.
  assert.ok(bursts >= 1 && bursts <= 11, reasons.join(' '));
  assert.equal(lan.clientArp.get(VIP6), a.mac);
});
