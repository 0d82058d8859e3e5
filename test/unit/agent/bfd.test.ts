/**
 * track_bfd in the agent (src/agent/bfd.ts): session state changes on the bus reach the routers
 * as faults and a priority offset of their own ('bfd'), with keepalived's rules for what counts
 * as up (from the start: down; a neighbour's AdminDown: still up); /v1/state shows the tracked
 * sessions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { parseConfigText } from '../../../src/config/index.js';
import { AgentBus, type BfdCause, type BfdState } from '../../../src/events/index.js';
import { createLogger } from '../../../src/observability/logging.js';
import { BfdAgent } from '../../../src/agent/bfd.js';
import { FakeClock } from '../../fakes/clock.js';
import type { VrrpRouter } from '../../../src/core/router.js';

const TEXT = `bfd_instance gw {\n  neighbor_ip 10.0.0.254\n}\nbfd_instance up1 {\n  neighbor_ip 10.0.0.253\n  weight 10\n}
vrrp_instance V {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    10.0.0.100/24\n  }\n  track_bfd {\n    gw\n    up1\n  }\n}\n`;

function setup() {
  const r = parseConfigText(TEXT, 'a.conf');
  assert.ok(r.config);
  const config = r.config;
  const faults = new Map<string, string>();
  const offsets: [number, string][] = [];
  const router = {
    name: 'V',
    config: config.instances[0]!,
    setFault: (source: string, detail: string | undefined) => (detail === undefined ? faults.delete(source) : faults.set(source, detail)),
    setPriorityOffset: (offset: number, source: string) => offsets.push([offset, source]),
  } as unknown as VrrpRouter;
  const bus = new AgentBus();
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const agent = new BfdAgent({ log: createLogger('silent', sink, {}), clock: new FakeClock(), bus, routers: () => [router] }, config);
  const change = (bfdInstance: string, from: BfdState, to: BfdState, cause: BfdCause) =>
    bus.emit({ type: 'bfd-state-changed', bfdInstance, neighbor: '10.0.0.254', from, to, cause, localDiag: 0, remoteDiag: 0, detectionTimeMs: 50, atMs: 0 });
  return { agent, faults, offsets, change };
}

test('from the start a tracked session is down: weight 0 → FAULT; Up clears it and adds the positive weight', () => {
  const { agent, faults, offsets, change } = setup();
  agent.apply();
  assert.deepEqual([...faults.keys()], ['track:bfd:gw']);
  assert.deepEqual(offsets.at(-1), [0, 'bfd']);
  change('gw', 'down', 'init', 'handshake');
  assert.ok(faults.has('track:bfd:gw'), 'Init is not Up');
  change('gw', 'init', 'up', 'handshake');
  assert.equal(faults.size, 0);
  change('up1', 'down', 'up', 'handshake');
  assert.deepEqual(offsets.at(-1), [10, 'bfd']);
  const state = agent.stateOf('V') as { bfd: { bfdInstance: string; trackedUp: boolean; weight: number }[] };
  assert.deepEqual(state.bfd.map((b) => [b.bfdInstance, b.trackedUp, b.weight]), [['gw', true, 0], ['up1', true, 10]]);
});

test("expired → FAULT again; the neighbour's AdminDown is not a failure (keepalived sends no event)", () => {
  const { agent, faults, change } = setup();
  agent.apply();
  change('gw', 'init', 'up', 'handshake');
  change('gw', 'up', 'down', 'neighbor-admin-down');
  assert.equal(faults.size, 0);
  change('gw', 'down', 'init', 'handshake');
  change('gw', 'init', 'up', 'handshake');
  change('gw', 'up', 'down', 'expired');
  assert.deepEqual([...faults.values()], ['bfd_instance gw down']);
});
