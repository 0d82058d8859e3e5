/**
 * The LVS side in the agent (src/agent/lvs.ts) with the LVS room's service, scripted probes, a
 * fake clock and a data plane in memory: the first table applies at start; a real server that
 * fails its checks leaves the applied table and comes back; bursts of changes coalesce into one
 * apply and a change during an apply is applied after it; a refused table is reported and retried
 * with backoff; stop removes the table; without virtual_server only leftovers are removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { parseConfigText } from '../../../src/config/index.js';
import { AgentBus } from '../../../src/events/index.js';
import { createLogger } from '../../../src/observability/logging.js';
import { LvsAgent, RETRY_MIN_MS } from '../../../src/agent/lvs.js';
import type { DataPlane, DataPlaneTable } from '../../../src/ports/index.js';
import { FakeClock } from '../../fakes/clock.js';
import { FakeLvsProbes } from '../../fakes/lvs-probes.js';
import { FakeProcessRunner } from '../../fakes/process.js';

const SEED_003_VS = `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.2.240
    }
}
virtual_server 192.168.2.240 80 {
    delay_loop 6
    lb_algo wlc
    lb_kind DR
    persistence_timeout 60
    protocol TCP
    real_server 192.168.2.212 80 {
        weight 3
        TCP_CHECK {
          connect_timeout 10
          retry 3
          delay_before_retry 3
        }
    }
    real_server 192.168.2.213 80 {
        weight 3
        TCP_CHECK {
          connect_timeout 10
          retry 3
          delay_before_retry 3
        }
    }
}
`;

class MemoryDataPlane implements DataPlane {
  readonly kind = 'nftables' as const;
  readonly applied: DataPlaneTable[] = [];
  removed = 0;
  failNext = 0;
  /** Holds the next apply until release() is called. */
  hold = false;
  private release_: (() => void) | undefined;
  async apply(table: DataPlaneTable): Promise<void> {
    if (this.hold) await new Promise<void>((r) => (this.release_ = r));
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('Error: Could not process rule: No such file or directory');
    }
    this.applied.push(table);
  }
  release(): void {
    this.hold = false;
    this.release_?.();
  }
  async removeAll(): Promise<void> {
    this.removed++;
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

function setup(text = SEED_003_VS, extra: { enabled?: boolean } = {}) {
  const r = parseConfigText(text, 'k.conf');
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  const clock = new FakeClock();
  const bus = new AgentBus();
  const dp = new MemoryDataPlane();
  const probes = new FakeLvsProbes();
  const agent = new LvsAgent({ log: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }), {}), clock, bus, processes: new FakeProcessRunner({ clock }), dataPlane: dp, probes, ...extra }, r.config);
  const servers = () => dp.applied.at(-1)?.services.flatMap((s) => s.realServers.filter((x) => x.weight > 0).map((x) => x.address)) ?? [];
  /** Advances the clock in 100 ms steps, letting the probes' promises settle between. */
  const advance = async (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      clock.advance(100);
      await flush();
      await flush();
    }
  };
  return { agent, clock, bus, dp, probes, servers, advance };
}

test('start applies the first table; a failing real server leaves it after its retries and comes back', async () => {
  const { agent, dp, probes, servers, advance } = setup();
  await agent.start();
  assert.equal(agent.kind, 'nftables');
  await advance(100);
  assert.equal(dp.applied.length, 1);
  assert.deepEqual(servers(), ['192.168.2.212', '192.168.2.213']);
  assert.equal(dp.applied[0]!.services[0]!.method, 'dr');
  assert.equal(dp.applied[0]!.services[0]!.persistenceTimeoutS, 60);
  probes.set('192.168.2.213', 80, { kind: 'refuse' });
  // warmup (≤ 6 s) + 3 retries 3 s apart: out within ~15 s.
  await advance(17_000);
  assert.deepEqual(servers(), ['192.168.2.212']);
  const s = agent.state() as { appliedGeneration: number; generation: number; applyFailing: boolean };
  assert.equal(s.appliedGeneration, s.generation);
  assert.equal(s.applyFailing, false);
  probes.set('192.168.2.213', 80, { kind: 'accept' });
  await advance(7000);
  assert.deepEqual(servers(), ['192.168.2.212', '192.168.2.213']);
  await agent.stop();
  assert.equal(dp.removed, 1);
});

test('a burst of changes is one apply; a change during an apply is applied after it, once', async () => {
  const { agent, bus, dp, advance } = setup();
  await agent.start();
  for (let g = 2; g <= 5; g++) bus.emit({ type: 'lvs-table', generation: g, services: 1, realServers: 2 });
  await advance(100);
  assert.equal(dp.applied.length, 1, 'the start and four changes within the debounce: one apply');
  dp.hold = true;
  bus.emit({ type: 'lvs-table', generation: 6, services: 1, realServers: 2 });
  await advance(100);
  bus.emit({ type: 'lvs-table', generation: 7, services: 1, realServers: 2 });
  bus.emit({ type: 'lvs-table', generation: 8, services: 1, realServers: 2 });
  await advance(100);
  dp.release();
  await advance(200);
  assert.equal(dp.applied.length, 3, 'the held apply, then one more for the changes made meanwhile');
  await agent.stop();
});

test('a refused table is reported, the previous stays, and it is retried with backoff until it applies', async () => {
  const { agent, dp, advance } = setup();
  dp.failNext = 2;
  await agent.start();
  await advance(100);
  let s = agent.state() as { applyFailing: boolean; lastError?: string; appliedGeneration: number };
  assert.equal(s.applyFailing, true);
  assert.match(s.lastError!, /Could not process rule/);
  assert.equal(s.appliedGeneration, 0);
  await advance(RETRY_MIN_MS);
  assert.equal(dp.applied.length, 0, 'the second try fails too');
  await advance(2 * RETRY_MIN_MS);
  s = agent.state() as { applyFailing: boolean; lastError?: string; appliedGeneration: number };
  assert.equal(dp.applied.length, 1, 'the third (after 1 s, then 2 s) applies');
  assert.equal(s.applyFailing, false);
  assert.equal(s.lastError, undefined);
  await agent.stop();
});

test('without virtual_server: leftovers removed at start, no checks, nothing applied', async () => {
  const { agent, dp, advance } = setup(`vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n`);
  await agent.start();
  await advance(1000);
  assert.equal(dp.removed, 1);
  assert.equal(dp.applied.length, 0);
  assert.equal((agent.state() as { dataPlane: string }).dataPlane, 'none');
});

test('-P (VRRP only): the virtual_server blocks are not run, at start or after a reload; leftovers of ours still go', async () => {
  const { agent, dp, probes, advance } = setup(SEED_003_VS, { enabled: false });
  await agent.start();
  await advance(3000);
  assert.equal(dp.applied.length, 0, 'no table');
  assert.equal(dp.removed, 1, 'leftovers removed');
  assert.equal(probes.connects.length, 0, 'no check');
  await agent.reconfigure(parseConfigText(SEED_003_VS.replace('delay_loop 6', 'delay_loop 7'), 'k.conf').config!);
  await advance(3000);
  assert.equal(dp.applied.length, 0);
});
