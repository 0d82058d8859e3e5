/**
 * Randomized election test (seeded, reproducible): routers with random priorities join, die,
 * stop, lose their link, get partitioned and healed. Whenever the LAN is whole and quiet for a
 * Master_Down_Interval, exactly one live router is master of each VRID, and only it holds the VIP.
 * Reproduce a failure with KW_SEED=<seed> (the failing seed is in the message).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeLan, type FakeNode } from '../../fakes/lan.js';
import { instance } from '../../helpers/instances.js';
import { masterDownIntervalMs } from '../../../src/protocol/timing.js';
import type { VrrpInstanceConfig } from '../../../src/config/model.js';
import { prng } from '../../helpers/prng.js';


interface Scenario {
  lan: FakeLan;
  configs: Map<string, VrrpInstanceConfig[]>;
  log: string[];
}

const VRIDS = [
  { name: 'VI_1', vrid: 51, vip: '10.0.0.100' },
  { name: 'VI_2', vrid: 52, vip: '10.0.0.101' },
];

function build(seed: number): Scenario {
  const rnd = prng(seed);
  const lan = new FakeLan();
  const nodes = 2 + Math.floor(rnd() * 4); // 2-5 routers
  const version = rnd() < 0.5 ? 2 : 3;
  const advertIntervalMs = version === 2 ? 1000 : [50, 100, 1000][Math.floor(rnd() * 3)]!;
  const configs = new Map<string, VrrpInstanceConfig[]>();
  const log: string[] = [`seed ${seed}: ${nodes} routers, VRRPv${version}, ${advertIntervalMs} ms`];
  for (let i = 0; i < nodes; i++) {
    const name = `r${i}`;
    lan.addNode(name, { ipv4: `10.0.0.${i + 1}` });
    const insts = VRIDS.map((v) => {
      // Ties happen on purpose: priorities from a small set.
      const priority = [50, 100, 100, 150, 200, 254, 255][Math.floor(rnd() * (rnd() < 0.1 ? 7 : 6))]!;
      const nopreempt = priority !== 255 && rnd() < 0.2;
      return instance({ name: v.name, vrid: v.vrid, vips: [v.vip], version, advertIntervalMs, priority, nopreempt, preemptDelayMs: rnd() < 0.1 ? 2000 : 0 });
    });
    configs.set(name, insts);
    log.push(`${name}: ${insts.map((c) => `${c.name} prio ${c.priority}${c.nopreempt ? ' nopreempt' : ''}${c.preemptDelayMs ? ' delay' : ''}`).join(', ')}`);
  }
  return { lan, configs, log };
}

function quietMs(s: Scenario): number {
  let worst = 0;
  for (const insts of s.configs.values()) for (const c of insts) worst = Math.max(worst, masterDownIntervalMs(c.version, 1, c.advertIntervalMs) + c.preemptDelayMs);
  return worst;
}

function checkOneMaster(s: Scenario, when: string): void {
  const { lan } = s;
  const live = lan.nodes.filter((n) => n.alive && n.linkUp);
  if (live.length === 0) return;
  for (const v of VRIDS) {
    const masters = lan.masters(v.name).filter((m) => live.some((n) => n.name === m));
    const holders = lan.holders(v.vip).filter((h) => live.some((n) => n.name === h));
    const ctx = `${when}: ${v.name} masters=${JSON.stringify(masters)} holders=${JSON.stringify(holders)}\n${s.log.join('\n')}`;
    assert.equal(masters.length, 1, ctx);
    assert.deepEqual(holders, masters, ctx);
  }
}

function runSeed(seed: number, steps: number): void {
  const s = build(seed);
  const rnd = prng(seed ^ 0x9e3779b9);
  const { lan } = s;
  const startNode = (n: FakeNode) => n.start(s.configs.get(n.name)!);
  for (const n of lan.nodes) if (rnd() < 0.8) startNode(n);
  if (!lan.nodes.some((n) => n.alive)) startNode(lan.nodes[0]!);
  for (let step = 0; step < steps; step++) {
    const n = lan.nodes[Math.floor(rnd() * lan.nodes.length)]!;
    const op = rnd();
    if (op < 0.15 && n.alive) {
      n.kill();
      // A crashed agent's VIPs stay on the kernel of a dead host; it is not on the LAN any more.
      n.vips.clear();
      s.log.push(`t=${lan.clock.now()} kill ${n.name}`);
    } else if (op < 0.3 && n.alive) {
      n.stop();
      s.log.push(`t=${lan.clock.now()} stop ${n.name}`);
    } else if (op < 0.5 && !n.alive) {
      startNode(n);
      s.log.push(`t=${lan.clock.now()} start ${n.name}`);
    } else if (op < 0.6) {
      n.setLink(!n.linkUp);
      s.log.push(`t=${lan.clock.now()} link ${n.name} ${n.linkUp ? 'up' : 'down'}`);
    } else if (op < 0.75) {
      const names = lan.nodes.map((x) => x.name);
      const cut = 1 + Math.floor(rnd() * (names.length - 1));
      lan.partition(names.slice(0, cut), names.slice(cut));
      s.log.push(`t=${lan.clock.now()} partition at ${cut}`);
    } else if (op < 0.85) {
      lan.heal();
      s.log.push(`t=${lan.clock.now()} heal`);
    } else if (n.alive) {
      const r = n.engine!.routers.get(VRIDS[Math.floor(rnd() * VRIDS.length)]!.name)!;
      const offset = Math.floor(rnd() * 200) - 100;
      r.setPriorityOffset(offset);
      s.log.push(`t=${lan.clock.now()} ${n.name} ${r.name} offset ${offset}`);
    }
    lan.clock.advance(rnd() * 4000);
  }
  // Make the LAN whole and quiet, then check, twice (and once more after the last master's
  // priority tweaks settle).
  lan.heal();
  for (const n of lan.nodes) if (!n.linkUp) n.setLink(true);
  if (!lan.nodes.some((n) => n.alive)) startNode(lan.nodes[0]!);
  s.log.push(`t=${lan.clock.now()} heal all`);
  const quiet = quietMs(s) + 100;
  lan.clock.advance(quiet);
  checkOneMaster(s, `after ${quiet} ms quiet`);
  lan.clock.advanceSampling(5 * quiet, 37, () => checkOneMaster(s, `still quiet at ${lan.clock.now()}`));
}

test('randomized: once the LAN is whole and quiet, exactly one master holds each VRID', () => {
  const only = process.env.KW_SEED;
  const seeds = only ? [Number(only)] : Array.from({ length: 300 }, (_, i) => 1000 + i);
  for (const seed of seeds) runSeed(seed, 40);
});
