/**
 * `vrrp_sync_group` (src/core/sync-groups.ts) as the engine runs it, on the fake clock: a member
 * that becomes MASTER pulls the others up, one that falls back to BACKUP takes them down, a FAULT
 * spreads to the others and is released when no member has a fault of its own. Moves made for
 * the group carry cause `sync-group` and move nobody further. The reaction is not a bus listener:
 * it runs synchronously, right after the transition, in the group's member order, and a failing
 * observer can't stop it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import { VrrpEngine } from '../../../src/core/engine.js';
import { AgentBus, type StateChangedEvent } from '../../../src/events/index.js';
import { FakeClock } from '../../fakes/clock.js';

const instance = (name: string, vrid: number, priority: number) => `vrrp_instance ${name} {\n    interface eth0\n    virtual_router_id ${vrid}\n    priority ${priority}\n    advert_int 1\n    virtual_ipaddress {\n        10.0.0.${vrid}\n    }\n}\n`;

/**
 * Group G lists VI_3, VI_1, VI_2 in that order; VI_2 has the highest priority, so its
 * Master_Down_Timer runs out first. VI_9 is in no group.
 */
function setup() {
  const text = `vrrp_sync_group G {\n    group {\n        VI_3\n        VI_1\n        VI_2\n    }\n}\n${instance('VI_1', 1, 100)}${instance('VI_2', 2, 200)}${instance('VI_3', 3, 100)}${instance('VI_9', 9, 100)}`;
  const r = parseConfigText(text, 'test.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  const clock = new FakeClock();
  const bus = new AgentBus();
  const moves: StateChangedEvent[] = [];
  bus.on('state-changed', (e) => moves.push(e));
  const engine = VrrpEngine.fromConfig(r.config, {
    clock,
    transport: { send: () => undefined },
    addresses: { add: () => undefined, remove: () => undefined },
    frames: { inject: () => undefined },
    interfaces: { mac: () => '02:00:00:00:00:01', primaryAddress: () => '10.0.0.1' },
    events: bus,
  });
  const r_ = (name: string) => engine.routers.get(name)!;
  const states = () => Object.fromEntries([...engine.routers].map(([name, x]) => [name, x.state]));
  engine.start();
  moves.length = 0;
  return { clock, bus, engine, moves, r: r_, states };
}

/** An advert from a router that outranks ours (a real master elsewhere on the LAN). */
const outranking = (vrid: number) => ({ version: 2 as const, vrid, priority: 254, advertIntervalMs: 1000, source: '10.0.0.250', ttl: 255, addressListMismatch: false, addresses: [`10.0.0.${vrid}`] });

test('a member that becomes MASTER pulls the others up, at once, in the group order, with cause sync-group', () => {
  const t = setup();
  t.clock.advance(t.r('VI_2').masterDownIntervalMs);
  assert.deepEqual(t.states(), { VI_1: 'master', VI_2: 'master', VI_3: 'master', VI_9: 'backup' });
  assert.deepEqual(
    t.moves.map((e) => [e.instance, e.to, e.cause, e.atMs]),
    [
      ['VI_2', 'master', 'master-down-timer', t.clock.now()],
      ['VI_3', 'master', 'sync-group', t.clock.now()],
      ['VI_1', 'master', 'sync-group', t.clock.now()],
    ],
  );
  assert.equal(t.moves[1]!.detail, 'vrrp_sync_group G: VI_2 became MASTER');
  // The members' own Master_Down_Timers were stopped by the move: nothing more happens to them
  // (VI_9, in no group, becomes master later on its own timer).
  t.clock.advance(10_000);
  assert.deepEqual(t.moves.slice(3).map((e) => [e.instance, e.cause]), [['VI_9', 'master-down-timer']]);
});

test('a member that falls back to BACKUP takes the others with it', () => {
  const t = setup();
  t.clock.advance(t.r('VI_2').masterDownIntervalMs);
  t.moves.length = 0;
  t.r('VI_1').receiveAdvert(outranking(1));
  assert.deepEqual(t.states(), { VI_1: 'backup', VI_2: 'backup', VI_3: 'backup', VI_9: 'backup' });
  assert.deepEqual(
    t.moves.map((e) => [e.instance, e.from, e.to, e.cause]),
    [
      ['VI_1', 'master', 'backup', 'higher-priority-advert'],
      ['VI_3', 'master', 'backup', 'sync-group'],
      ['VI_2', 'master', 'backup', 'sync-group'],
    ],
  );
  assert.equal(t.moves[2]!.detail, 'vrrp_sync_group G: VI_1 became BACKUP');
});

test('a FAULT spreads to the other members and is released once no member has a fault of its own', () => {
  const t = setup();
  t.r('VI_1').setFault('script:chk', 'vrrp_script chk failing');
  assert.deepEqual(t.states(), { VI_1: 'fault', VI_2: 'fault', VI_3: 'fault', VI_9: 'backup' });
  assert.deepEqual(t.r('VI_3').faultSources(), ['sync-group:G']);
  assert.deepEqual(t.r('VI_3').snapshot().faults, ['vrrp_sync_group G: VI_1 is FAULT']);
  assert.deepEqual(
    t.moves.map((e) => [e.instance, e.to, e.cause]),
    [
      ['VI_1', 'fault', 'fault'],
      ['VI_3', 'fault', 'fault'],
      ['VI_2', 'fault', 'fault'],
    ],
  );
  t.moves.length = 0;
  t.r('VI_1').setFault('script:chk', undefined);
  assert.deepEqual(t.states(), { VI_1: 'backup', VI_2: 'backup', VI_3: 'backup', VI_9: 'backup' });
  assert.deepEqual(t.moves.map((e) => [e.instance, e.to, e.cause]), [
    ['VI_1', 'backup', 'fault-cleared'],
    ['VI_3', 'backup', 'fault-cleared'],
    ['VI_2', 'backup', 'fault-cleared'],
  ]);
  assert.deepEqual(t.r('VI_2').faultSources(), []);
});

test('the group fault stays while another member still has a fault of its own', () => {
  const t = setup();
  t.r('VI_1').setFault('script:chk', 'vrrp_script chk failing');
  t.r('VI_2').setFault('interface:eth1', 'tracked interface eth1 down');
  // VI_2 mends first: it stays FAULT, held by the group (VI_1 still faulty).
  t.r('VI_2').setFault('interface:eth1', undefined);
  assert.deepEqual(t.states(), { VI_1: 'fault', VI_2: 'fault', VI_3: 'fault', VI_9: 'backup' });
  assert.deepEqual(t.r('VI_2').faultSources(), ['sync-group:G']);
  // VI_1 mends: nobody has a fault of its own any more, the whole group leaves FAULT.
  t.r('VI_1').setFault('script:chk', undefined);
  assert.deepEqual(t.states(), { VI_1: 'backup', VI_2: 'backup', VI_3: 'backup', VI_9: 'backup' });
});

test('faults mended in the other order: the first to fail mends first, the group follows the second', () => {
  const t = setup();
  t.r('VI_1').setFault('script:chk', 'vrrp_script chk failing');
  t.r('VI_2').setFault('interface:eth1', 'tracked interface eth1 down');
  // VI_1 mends first: VI_2 still has a fault of its own, so the group (VI_1 too) stays FAULT.
  t.r('VI_1').setFault('script:chk', undefined);
  assert.deepEqual(t.states(), { VI_1: 'fault', VI_2: 'fault', VI_3: 'fault', VI_9: 'backup' });
  assert.deepEqual(t.r('VI_1').faultSources(), ['sync-group:G']);
  // VI_2 mends without changing state (it was FAULT already): the group leaves FAULT all the same.
  t.r('VI_2').setFault('interface:eth1', undefined);
  assert.deepEqual(t.states(), { VI_1: 'backup', VI_2: 'backup', VI_3: 'backup', VI_9: 'backup' });
  for (const name of ['VI_1', 'VI_2', 'VI_3']) assert.deepEqual(t.r(name).faultSources(), [], name);
});

test('moves made for the group move nobody further (no cascade, no loop)', () => {
  const t = setup();
  // Pull the group up through VI_3 directly, as the reaction would: its own move carries
  // sync-group, so the others stay where they are.
  t.r('VI_3').syncTo('master', 'test');
  assert.deepEqual(t.states(), { VI_1: 'backup', VI_2: 'backup', VI_3: 'master', VI_9: 'backup' });
  assert.deepEqual(t.moves.map((e) => [e.instance, e.cause]), [['VI_3', 'sync-group']]);
});

test('the reaction is not an observer: a throwing bus listener neither stops nor reorders it', () => {
  const t = setup();
  const seenOnBus: string[] = [];
  const errors: unknown[] = [];
  t.bus.onListenerError = (err) => errors.push(err);
  t.bus.on('state-changed', (e) => {
    // Observers hear each move before the reaction runs for it (it runs after the transition).
    seenOnBus.push(`${e.instance}:${e.to}`);
    throw new Error('observer failure');
  });
  t.clock.advance(t.r('VI_2').masterDownIntervalMs);
  assert.deepEqual(t.states(), { VI_1: 'master', VI_2: 'master', VI_3: 'master', VI_9: 'backup' });
  assert.deepEqual(seenOnBus, ['VI_2:master', 'VI_3:master', 'VI_1:master']);
  assert.equal(errors.length, 3, 'each failure isolated and reported');
});

test('a member held by the split-brain guard is not pulled up', () => {
  const t = setup();
  t.r('VI_1').hold('guard: peer holds the VIP');
  t.clock.advance(t.r('VI_2').masterDownIntervalMs);
  assert.deepEqual(t.states(), { VI_1: 'backup', VI_2: 'master', VI_3: 'master', VI_9: 'backup' });
});

test('without the reaction (an engine given no groups) members move alone', () => {
  const text = `vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n${instance('VI_1', 1, 100)}${instance('VI_2', 2, 200)}`;
  const r = parseConfigText(text, 'test.conf');
  assert.ok(r.config);
  const clock = new FakeClock();
  const engine = new VrrpEngine(r.config.instances, {
    clock,
    transport: { send: () => undefined },
    addresses: { add: () => undefined, remove: () => undefined },
    frames: { inject: () => undefined },
    interfaces: { mac: () => '02:00:00:00:00:01', primaryAddress: () => '10.0.0.1' },
    events: new AgentBus(),
  });
  engine.start();
  clock.advance(engine.routers.get('VI_2')!.masterDownIntervalMs);
  assert.equal(engine.routers.get('VI_2')!.state, 'master');
  assert.equal(engine.routers.get('VI_1')!.state, 'backup', 'the control: the pull-up above is the reaction');
});
