/**
 * The RFC 5798 state machine on an in-memory LAN in simulated time. Times asserted here are
 * simulated, so they are exact up to the LAN's 0.1 ms latency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeLan } from '../../fakes/lan.js';
import { instance } from '../../helpers/instances.js';
import { masterDownIntervalMs, skewTimeMs } from '../../../src/protocol/timing.js';
import { HANDOVER_LINGER_MS } from '../../../src/core/router.js';
import type { StateChangedEvent } from '../../../src/events/index.js';

const A = { ipv4: '10.0.0.1' };
const B = { ipv4: '10.0.0.2' };

function pair(a = instance({ priority: 150 }), b = instance({ priority: 100 })) {
  const lan = new FakeLan();
  const na = lan.addNode('a', A);
  const nb = lan.addNode('b', B);
  na.start([a]);
  nb.start([b]);
  return { lan, na, nb, a, b };
}

const last = (list: StateChangedEvent[]) => list[list.length - 1]!;

test('timer arithmetic (RFC 3768 §6.1, RFC 5798 §6.1)', () => {
  assert.equal(skewTimeMs(2, 100, 1000), (156 / 256) * 1000);
  assert.equal(masterDownIntervalMs(2, 100, 1000), 3000 + (156 / 256) * 1000);
  assert.equal(skewTimeMs(3, 100, 100), (156 * 100) / 256);
  assert.equal(masterDownIntervalMs(3, 200, 50), 150 + (56 * 50) / 256);
});

test('election: the higher priority becomes master after Master_Down_Interval, the other stays backup', () => {
  const { lan, na, nb } = pair();
  assert.equal(na.state(), 'backup');
  assert.equal(last(na.transitions).cause, 'startup');
  lan.clock.advance(masterDownIntervalMs(2, 150, 1000) - 1);
  assert.equal(na.state(), 'backup');
  lan.clock.advance(2);
  assert.equal(na.state(), 'master');
  assert.equal(last(na.transitions).cause, 'master-down-timer');
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.deepEqual(lan.holders('10.0.0.100'), ['a']);
  assert.equal(nb.state(), 'backup');
  assert.equal(nb.engine!.routers.get('VI_1')!.snapshot().master?.address, '10.0.0.1');
});

test('kill -9 of the master: the backup takes over after Master_Down_Interval, counted from the last advert', () => {
  const { lan, na, nb } = pair();
  lan.clock.advance(10_000);
  const lastAdvertAt = na.sentFrames.filter((f) => f.frame[12] === 0x08 && f.frame[13] === 0x00).at(-1)!.atMs;
  na.kill();
  lan.clock.advance(5_000);
  const t = last(nb.transitions);
  assert.equal(t.to, 'master');
  assert.equal(t.cause, 'master-down-timer');
  const expected = lastAdvertAt + 0.1 + masterDownIntervalMs(2, 100, 1000);
  assert.ok(Math.abs(t.atMs - expected) < 0.01, `took over at ${t.atMs}, expected ${expected}`);
  assert.equal(t.lastAdvertAtMs, lastAdvertAt + 0.1);
  assert.equal(t.startedAtMs, lastAdvertAt + 0.1);
  assert.equal(t.peer?.address, '10.0.0.1');
});

test('SIGTERM of the master: priority-0 advert, VIPs removed, the backup takes over after Skew_Time', () => {
  const { lan, na, nb } = pair();
  lan.clock.advance(10_000);
  const stopAt = lan.clock.now();
  na.stop();
  assert.deepEqual([...na.vips], []);
  assert.equal(last(na.transitions).cause, 'shutdown');
  lan.clock.advance(2_000);
  const t = last(nb.transitions);
  assert.equal(t.cause, 'priority-zero-advert');
  const expected = stopAt + 0.1 + skewTimeMs(2, 100, 1000);
  assert.ok(Math.abs(t.atMs - expected) < 0.01, `took over at ${t.atMs}, expected ${expected}`);
  assert.deepEqual(lan.holders('10.0.0.100'), ['b']);
});

test('planned stop, make-before-break: priority 0, the VIP stays until the new master advertises, then goes; the client never points at a node without it', () => {
  const { lan, na, nb } = pair();
  lan.clock.advance(10_000);
  const stopAt = lan.clock.now();
  let doneAt: number | undefined;
  na.handOver(() => (doneAt = lan.clock.now()));
  // Still holding, no longer advertising at its priority: the last advert says 0.
  assert.deepEqual(lan.holders('10.0.0.100'), ['a']);
  assert.equal(na.engine!.routers.get('VI_1')!.handingOver, true);
  // Sampled every millisecond through the takeover: someone always holds the VIP, and the client's
  // ARP entry always names a holder.
  let gaps = 0;
  let both = 0;
  for (let t = 0; t < 2_000; t++) {
    lan.clock.advance(1);
    const holders = lan.holders('10.0.0.100');
    if (holders.length === 0) gaps++;
    if (holders.length > 1) both++;
    const arp = lan.clientArp.get('10.0.0.100');
    if (arp !== undefined && !holders.some((h) => lan.node(h).mac === arp)) gaps++;
  }
  assert.equal(gaps, 0, 'never unheld, the client never pointed at a node without the VIP');
  assert.ok(both <= HANDOVER_LINGER_MS + 1, `both held it for ${both} ms (only until the new master's first advert, plus the linger)`);
  const t = last(nb.transitions);
  assert.equal(t.cause, 'priority-zero-advert');
  assert.ok(Math.abs(t.atMs - (stopAt + 0.1 + skewTimeMs(2, 100, 1000))) < 0.01);
  assert.deepEqual(lan.holders('10.0.0.100'), ['b']);
  assert.equal(lan.clientArp.get('10.0.0.100'), nb.mac);
  const left = last(na.transitions);
  assert.equal(left.cause, 'shutdown');
  assert.match(left.detail ?? '', /handed over: 10\.0\.0\.2 \(priority 100\)/);
  assert.ok(doneAt !== undefined && Math.abs(doneAt - t.atMs - 0.1 - HANDOVER_LINGER_MS) < 1, `left ${doneAt! - t.atMs} ms after the new master's advert`);
  // Only one priority-0 advert was sent, and no advert at 150 after it.
  const sentPriorities = na.sentFrames.filter((f) => f.atMs >= stopAt && f.frame[12] === 0x08 && f.frame[13] === 0x00 && f.frame[23] === 112).map((f) => f.frame[14 + 20 + 2]);
  assert.deepEqual(sentPriorities, [0]);
});

test('planned stop without a backup: the VIP stays until the bound (Skew_Time of priority 1 plus an interval), then goes', () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', A);
  na.start([instance({ priority: 150 })]);
  lan.clock.advance(10_000);
  let done = false;
  na.handOver(() => (done = true));
  lan.clock.advance(1_000);
  assert.deepEqual(lan.holders('10.0.0.100'), ['a']);
  assert.equal(done, false);
  lan.clock.advance(skewTimeMs(2, 1, 1000) + 1000 - 1_000 + 1);
  assert.equal(done, true);
  assert.deepEqual(lan.holders('10.0.0.100'), []);
  assert.match(last(na.transitions).detail ?? '', /no new master heard within 1996 ms/);
});

test('planned stop: a weight change during the handover sends nothing; a fault ends it at once; a backup just stops', () => {
  const { lan, na, nb } = pair(instance({ priority: 150 }), instance({ priority: 100, nopreempt: true }));
  lan.clock.advance(10_000);
  lan.partition(['a'], ['b']);
  let done = 0;
  na.handOver(() => done++);
  const before = na.sentFrames.length;
  const router = na.engine!.routers.get('VI_1')!;
  router.setPriorityOffset(-10);
  lan.clock.advance(300);
  assert.equal(na.sentFrames.filter((f) => f.frame[23] === 112).length, na.sentFrames.slice(0, before).filter((f) => f.frame[23] === 112).length, 'no advert after the priority-0 one');
  router.setFault('script:chk', 'failed');
  assert.equal(done, 1);
  assert.deepEqual(lan.holders('10.0.0.100'), []);
  let backupDone = false;
  nb.handOver(() => (backupDone = true));
  assert.equal(backupDone, true);
  assert.equal(last(nb.transitions).cause, 'shutdown');
});

test('preemption: a higher-priority router that returns takes the VIP back; the old master yields', () => {
  const { lan, na, nb, a } = pair();
  lan.clock.advance(10_000);
  na.kill();
  lan.clock.advance(5_000);
  assert.deepEqual(lan.masters(), ['b']);
  na.start([a]);
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  assert.equal(na.transitions.filter((t) => t.to === 'master').at(-1)!.cause, 'preempt');
  assert.equal(last(nb.transitions).cause, 'higher-priority-advert');
  assert.deepEqual(lan.holders('10.0.0.100'), ['a']);
});

test('nopreempt: the returning higher-priority router stays backup', () => {
  const a = instance({ priority: 150, nopreempt: true });
  const { lan, na } = pair(a);
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a'], 'with nobody else, it still becomes master');
  na.kill();
  lan.clock.advance(5_000);
  na.start([a]);
  lan.clock.advance(30_000);
  assert.deepEqual(lan.masters(), ['b']);
});

test('preempt_delay: the returning router waits that long before preempting', () => {
  const a = instance({ priority: 150, preemptDelayMs: 10_000 });
  const { lan, na } = pair(a);
  lan.clock.advance(10_000);
  na.kill();
  lan.clock.advance(5_000);
  const back = lan.clock.now();
  na.start([a]);
  lan.clock.advance(9_000);
  assert.deepEqual(lan.masters(), ['b']);
  lan.clock.advance(6_000);
  assert.deepEqual(lan.masters(), ['a']);
  const took = na.transitions.at(-1)!;
  assert.equal(took.cause, 'preempt');
  assert.ok(took.atMs >= back + 10_000, `preempted at +${took.atMs - back} ms`);
});

test('address owner (priority 255) becomes master at once', () => {
  const { na } = pair(instance({ priority: 255 }));
  assert.equal(na.state(), 'master');
  assert.equal(last(na.transitions).cause, 'address-owner');
});

test('equal priority: the higher primary address wins', () => {
  const { lan } = pair(instance({ priority: 100 }), instance({ priority: 100 }));
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['b']); // 10.0.0.2 > 10.0.0.1
  const na = lan.node('a');
  assert.ok(na.transitions.some((t) => t.cause === 'equal-priority-higher-address'));
  assert.deepEqual(lan.holders('10.0.0.100'), ['b']);
});

test('VRRPv3: a backup adopts the master advertised interval for its Master_Down_Interval', () => {
  const { lan, na, nb } = pair(
    instance({ version: 3, priority: 150, advertIntervalMs: 100 }),
    instance({ version: 3, priority: 100, advertIntervalMs: 1000 }),
  );
  lan.clock.advance(5_000);
  assert.deepEqual(lan.masters(), ['a']);
  const snap = nb.engine!.routers.get('VI_1')!.snapshot();
  assert.equal(snap.masterAdvertIntervalMs, 100);
  assert.equal(snap.masterDownIntervalMs, masterDownIntervalMs(3, 100, 100));
  na.kill();
  const killedAt = lan.clock.now();
  lan.clock.advance(1_000);
  const t = last(nb.transitions);
  assert.equal(t.to, 'master');
  assert.ok(t.atMs - killedAt < 400, `v3 failover took ${t.atMs - killedAt} ms`);
});

test('a master answers a lower-priority advert at once, so a partition heals within the latency', () => {
  const { lan, na, nb } = pair();
  lan.clock.advance(10_000);
  lan.partition(['a'], ['b']);
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters().sort(), ['a', 'b'], 'both master while partitioned');
  lan.clock.advance(300); // mid-interval
  lan.heal();
  const healedAt = lan.clock.now();
  lan.clock.advance(1_100);
  assert.deepEqual(lan.masters(), ['a']);
  const yielded = last(nb.transitions);
  assert.equal(yielded.cause, 'higher-priority-advert');
  assert.ok(yielded.atMs - healedAt <= 1_000.5, `healed after ${yielded.atMs - healedAt} ms`);
  // Whoever speaks first after the heal, b yields at most two latencies later: if b spoke
  // first, a answered at once instead of waiting for its next interval.
  const isAdvert = (f: { atMs: number; frame: Uint8Array }) => f.atMs >= healedAt && f.frame[12] === 0x08 && f.frame[13] === 0x00;
  const firstAfterHeal = Math.min(na.sentFrames.find(isAdvert)?.atMs ?? Infinity, nb.sentFrames.find(isAdvert)?.atMs ?? Infinity);
  assert.ok(yielded.atMs - firstAfterHeal <= 0.2 + 1e-9, `b yielded ${yielded.atMs - firstAfterHeal} ms after the first advert`);
  const bFirst = (nb.sentFrames.find(isAdvert)?.atMs ?? Infinity) < (na.sentFrames.find(isAdvert)?.atMs ?? Infinity);
  if (bFirst) assert.ok(Math.abs(yielded.atMs - firstAfterHeal - 0.2) < 1e-9, 'a answered b within one latency');
  assert.deepEqual(lan.holders('10.0.0.100'), ['a']);
});

test('interface down: FAULT, VIPs dropped, the backup takes over; link up: back and preempt', () => {
  const { lan, na, nb } = pair();
  lan.clock.advance(10_000);
  na.setLink(false);
  assert.equal(na.state(), 'fault');
  assert.equal(last(na.transitions).cause, 'fault');
  assert.match(last(na.transitions).detail ?? '', /eth0 down/);
  assert.deepEqual([...na.vips], []);
  lan.clock.advance(5_000);
  assert.equal(nb.state(), 'master');
  na.setLink(true);
  assert.equal(na.state(), 'backup');
  assert.equal(last(na.transitions).cause, 'fault-cleared');
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
});

test('gratuitous ARP: repeat at once, again after garp_master_delay, refresh, spaced by garp_interval', () => {
  const a = instance({ priority: 150, vips: ['10.0.0.100', '10.0.0.101'], garpMasterRepeat: 3, garpMasterDelayMs: 2000, garpMasterRefreshMs: 10_000, garpMasterRefreshRepeat: 1 });
  const lan = new FakeLan();
  const na = lan.addNode('a', A);
  lan.recordWire = true;
  const garps: { reason: string; count: number; atMs: number }[] = [];
  na.events.on('garp-sent', (e) => garps.push({ reason: e.reason, count: e.count, atMs: e.atMs }));
  na.start([a]);
  lan.clock.advance(3_500);
  assert.equal(na.state(), 'master');
  const becameAt = last(na.transitions).atMs;
  lan.clock.advance(25_000);
  assert.deepEqual(garps.map((g) => [g.reason, g.count, g.atMs - becameAt]), [
    ['become-master', 6, 0],
    ['master-delay', 6, 2000],
    ['refresh', 2, 10_000],
    ['refresh', 2, 20_000],
  ]);
  assert.equal(lan.clientArp.get('10.0.0.100'), na.mac);
  const arpFrames = lan.wire.filter((w) => w.frame[12] === 0x08 && w.frame[13] === 0x06);
  assert.equal(arpFrames.length, 6 + 6 + 2 + 2);

  // With vrrp_garp_interval, frames of one burst are spaced by it.
  const lan2 = new FakeLan();
  const n2 = lan2.addNode('a', A);
  lan2.recordWire = true;
  n2.start([instance({ priority: 150, garpMasterRepeat: 3, garpMasterDelayMs: 0, garpIntervalMs: 50 })]);
  lan2.clock.advance(5_000);
  const times = lan2.wire.filter((w) => w.frame[12] === 0x08 && w.frame[13] === 0x06).map((w) => w.atMs);
  assert.deepEqual(times.map((t) => t - times[0]!), [0, 50, 100]);
});

test('the client ARP entry follows the master MAC across a failover', () => {
  const { lan, na, nb } = pair();
  lan.clock.advance(10_000);
  assert.equal(lan.clientArp.get('10.0.0.100'), na.mac);
  na.kill();
  lan.clock.advance(5_000);
  assert.equal(lan.clientArp.get('10.0.0.100'), nb.mac);
});

test('several instances per agent: dual master, each node masters one VRID; one node down, the other holds both', () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', A);
  const nb = lan.addNode('b', B);
  const vi1 = (p: number) => instance({ name: 'VI_1', vrid: 51, priority: p, vips: ['10.0.0.3'] });
  const vi2 = (p: number) => instance({ name: 'VI_2', vrid: 52, priority: p, vips: ['10.0.0.4'] });
  na.start([vi1(150), vi2(100)]);
  nb.start([vi1(100), vi2(150)]);
  lan.clock.advance(10_000);
  assert.deepEqual([lan.masters('VI_1'), lan.masters('VI_2')], [['a'], ['b']]);
  nb.stop();
  lan.clock.advance(5_000);
  assert.deepEqual(lan.holders('10.0.0.3'), ['a']);
  assert.deepEqual(lan.holders('10.0.0.4'), ['a']);
  nb.start([vi1(100), vi2(150)]);
  lan.clock.advance(10_000);
  assert.deepEqual([lan.holders('10.0.0.3'), lan.holders('10.0.0.4')], [['a'], ['b']]);
});

test('tracker weights: a master whose effective priority drops below the backup loses the VIP', () => {
  const { lan, na, nb } = pair();
  lan.clock.advance(10_000);
  const priorities: number[] = [];
  na.events.on('priority-changed', (e) => priorities.push(e.to));
  na.engine!.routers.get('VI_1')!.setPriorityOffset(-60);
  lan.clock.advance(10_000);
  assert.deepEqual(priorities, [90]);
  assert.deepEqual(lan.masters(), ['b']);
  assert.equal(nb.transitions.at(-1)!.cause, 'preempt');
  na.engine!.routers.get('VI_1')!.setPriorityOffset(0);
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  // Clamped to 1-254; an owner never moves.
  const r = na.engine!.routers.get('VI_1')!;
  r.setPriorityOffset(-1000);
  assert.equal(r.effectivePriority, 1);
  r.setPriorityOffset(1000);
  assert.equal(r.effectivePriority, 254);
});

test('invalid adverts are dropped with reasons and never move the state', () => {
  const a = instance({ priority: 150, password: 'secret' });
  const b = instance({ priority: 100, password: 'secret' });
  const lan = new FakeLan();
  const na = lan.addNode('a', A);
  const nb = lan.addNode('b', B);
  const evil = lan.addNode('evil', { ipv4: '10.0.0.66' });
  na.start([a]);
  nb.start([b]);
  lan.clock.advance(10_000);
  const before = nb.transitions.length;
  // A third node with the wrong password claims priority 254 (and another with v3 / other vrid).
  evil.start([
    instance({ priority: 254, password: 'wrong' }),
    instance({ name: 'VI_X', vrid: 99, priority: 200 }),
  ]);
  lan.clock.advance(30_000);
  assert.deepEqual(lan.masters().filter((n) => n !== 'evil'), ['a']);
  assert.equal(nb.transitions.length, before);
  const reasons = new Set(nb.outcomes.filter((o) => o.kind === 'dropped').map((o) => (o.kind === 'dropped' ? o.reason : '')));
  assert.deepEqual([...reasons].sort(), ['auth-mismatch', 'vrid-not-configured']);
});

test('every transition carries one of the documented causes', () => {
  const { lan, na } = pair();
  lan.clock.advance(10_000);
  na.stop();
  lan.clock.advance(5_000);
  for (const n of lan.nodes) for (const t of n.transitions) assert.ok(t.cause.length > 0 && t.from !== t.to);
});

test('a master answers a lower-priority advert with an immediate advert, at most 4 times per interval', () => {
  const { lan, na } = pair();
  lan.clock.advance(10_300);
  const r = na.engine!.routers.get('VI_1')!;
  assert.equal(r.state, 'master');
  const sent = () => na.sentFrames.filter((f) => f.frame[12] === 0x08 && f.frame[13] === 0x00).length;
  const before = sent();
  const lower = { version: 2 as const, vrid: 51, priority: 50, advertIntervalMs: 1000, source: '10.0.0.9', ttl: 255, addressListMismatch: false, addresses: ['10.0.0.100'] };
  r.receiveAdvert(lower);
  assert.equal(sent(), before + 1, 'answered at once');
  for (let i = 0; i < 100; i++) r.receiveAdvert(lower);
  assert.equal(sent(), before + 1, 'a flood of them does not make it flood');
  lan.clock.advance(250);
  r.receiveAdvert(lower);
  assert.equal(sent(), before + 2);
  // Priority 0 from another master: answer at once too (RFC 5798 §6.4.3).
  r.receiveAdvert({ ...lower, priority: 0 });
  assert.equal(sent(), before + 3);
});

test('a new master plans its adverts from when Master_Down_Timer was due, not from when its late transition ran (instances taking over together keep one cadence)', () => {
  const lan = new FakeLan();
  const na = lan.addNode('a', A);
  na.start([instance({ name: 'VI_1', vrid: 1, priority: 150 }), instance({ name: 'VI_2', vrid: 2, priority: 150 })]);
  const sentAt = new Map<string, number[]>();
  // Every state change costs 7 ms of work: VI_2's timer, due with VI_1's, runs 7 ms late.
  na.events.on('state-changed', () => lan.clock.spend(7));
  na.events.on('advert-sent', (e) => sentAt.set(e.instance, [...(sentAt.get(e.instance) ?? []), e.atMs]));
  const due = masterDownIntervalMs(2, 150, 1000);
  lan.clock.advance(due + 3500);
  assert.equal(na.state('VI_2'), 'master');
  assert.deepEqual(sentAt.get('VI_1'), [due, due + 1000, due + 2000, due + 3000]);
  // VI_2's first advert goes out late, with its transition; the next ones keep the deadline + k
  // intervals, the same instants as VI_1's (one wake-up for both on a real clock).
  assert.deepEqual(sentAt.get('VI_2'), [due + 7, due + 1000, due + 2000, due + 3000]);
});
