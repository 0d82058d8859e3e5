/**
 * Hitless reload (VrrpRouter.reconfigure, VrrpEngine.reconfigureInstance) on the in-memory LAN:
 * a changed instance with the same identity keeps its state and VIPs; VIPs are added and removed
 * in place on the master with no instant without the ones that stay; a priority change is a
 * priority change (the other node preempts if it now wins); a new interval takes effect without an
 * election. A change of identity is refused (the agent restarts such an instance).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeLan } from '../../fakes/lan.js';
import { instance } from '../../helpers/instances.js';
import { sameIdentity } from '../../../src/core/router.js';

function pair() {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  const nb = lan.addNode('b', { ipv4: '10.0.0.2' });
  na.start([instance({ priority: 150, vips: ['10.0.0.100'] })]);
  nb.start([instance({ priority: 100, vips: ['10.0.0.100'] })]);
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  return { lan, na, nb };
}

test('adding a VIP on a reload: the master adds it in place, the VIP it had is never missing, no transition anywhere', () => {
  const { lan, na, nb } = pair();
  const before = na.transitions.length + nb.transitions.length;
  const next = instance({ priority: 150, vips: ['10.0.0.100', '10.0.0.101'] });
  let missing = 0;
  na.engine!.reconfigureInstance(next);
  nb.engine!.reconfigureInstance(instance({ priority: 100, vips: ['10.0.0.100', '10.0.0.101'] }));
  for (let t = 0; t < 5000; t += 20) {
    if (!lan.holders('10.0.0.100').includes('a')) missing++;
    lan.clock.advance(20);
  }
  assert.equal(missing, 0);
  assert.deepEqual(lan.holders('10.0.0.101'), ['a'], 'the new VIP is on the master');
  assert.deepEqual(lan.holders('10.0.0.100'), ['a']);
  assert.equal(na.transitions.length + nb.transitions.length, before, 'no election');
  assert.equal(lan.clientArp.get('10.0.0.101'), na.mac, 'announced with a GARP');
});

test('removing a VIP on a reload: the master removes only that one', () => {
  const { lan, na, nb } = pair();
  na.engine!.reconfigureInstance(instance({ priority: 150, vips: ['10.0.0.100', '10.0.0.101'] }));
  lan.clock.advance(2000);
  na.engine!.reconfigureInstance(instance({ priority: 150, vips: ['10.0.0.101'] }));
  lan.clock.advance(2000);
  assert.deepEqual(lan.holders('10.0.0.100'), []);
  assert.deepEqual(lan.holders('10.0.0.101'), ['a']);
  assert.equal(na.state(), 'master');
  void nb;
});

test('a priority lowered on the master by a reload is advertised at once: the other node preempts', () => {
  const { lan, na, nb } = pair();
  na.engine!.reconfigureInstance(instance({ priority: 50, vips: ['10.0.0.100'] }));
  lan.clock.advance(5000);
  assert.deepEqual(lan.masters(), ['b']);
  assert.equal(nb.transitions.at(-1)!.cause, 'preempt');
  assert.equal(na.transitions.at(-1)!.cause, 'higher-priority-advert');
});

test('a new advert interval on the master takes effect without an election', () => {
  const { lan, na, nb } = pair();
  const before = na.transitions.length + nb.transitions.length;
  na.engine!.reconfigureInstance(instance({ priority: 150, vips: ['10.0.0.100'], advertIntervalMs: 2000 }));
  nb.engine!.reconfigureInstance(instance({ priority: 100, vips: ['10.0.0.100'], advertIntervalMs: 2000 }));
  const sentAt = () => na.sentFrames.filter((f) => f.frame[23] === 112).map((f) => f.atMs);
  const from = lan.clock.now();
  lan.clock.advance(10_000);
  const sent = sentAt().filter((t) => t > from + 100);
  assert.ok(sent.length >= 4 && sent.length <= 6, `${sent.length} adverts in 10 s at 2 s`);
  assert.equal(na.transitions.length + nb.transitions.length, before);
});

test('a change of identity (VRID, interface, family, version, owner) is not reconfigured in place', () => {
  const base = instance({ priority: 150 });
  assert.equal(sameIdentity(base, instance({ priority: 100, vips: ['10.0.0.5'] })), true);
  assert.equal(sameIdentity(base, instance({ priority: 150, vrid: 52 })), false);
  assert.equal(sameIdentity(base, instance({ priority: 150, interface: 'eth1' })), false);
  assert.equal(sameIdentity(base, instance({ priority: 150, version: 3 })), false);
  assert.equal(sameIdentity(base, instance({ priority: 255 })), false);
  const { na } = pair();
  assert.throws(() => na.engine!.routers.get('VI_1')!.reconfigure(instance({ priority: 150, vrid: 52 })), /not the same identity/);
});
