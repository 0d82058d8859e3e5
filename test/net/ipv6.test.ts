/**
 * Two keepwatch agents with a VRRPv3 IPv6 VIP in network namespaces (root only): election,
 * kill -9, SIGTERM and preemption, and after each failover the client's neighbour entry for the
 * VIP (`ip -6 neigh` in its namespace) follows the new master — moved by the unsolicited
 * neighbour advertisements, since IPv6 has no gratuitous ARP. The time from the takeover (the new
 * master's first advert as the client captures it) to the client's entry changing (`ip -ts
 * monitor neigh`) is reported: both are kernel timestamps on the client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { withLab, waitFor, sleep, hears, type NetEnv } from './helpers.js';
import { AdvertWatch, HOSTS6, VIP6, NeighbourWatch, fastInstance6, linkLocal, pingVip6 } from './neighbours.js';
import type { LabRouter } from '../../src/lab/routers.js';

function livingHolders(env: NetEnv): string[] {
  return env.lab.holders(VIP6).filter((h) => env.routers.find((r) => r.host === h)?.running);
}

function clientEntryOn(env: NetEnv): string | undefined {
  return env.lab.hostByMac(env.lab.neighbour('client', VIP6));
}

async function converged(env: NetEnv, master: LabRouter, timeoutMs = 10_000): Promise<void> {
  await waitFor(`${master.host} master and sole holder of ${VIP6}, client neighbour entry on it`, () => {
    const holders = livingHolders(env);
    return master.state === 'master' && holders.length === 1 && holders[0] === master.host && clientEntryOn(env) === master.host;
  }, timeoutMs);
}

async function neverTwoHolders(env: NetEnv, ms: number): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const h = livingHolders(env);
    assert.ok(h.length <= 1, `two living holders of ${VIP6}: ${h.join(', ')}`);
    await sleep(20);
  }
}

/** When `r` last became master (its own log's time). */
function becameMasterAt(r: LabRouter, sinceMs: number): number {
  const t = r.transitions.find((x) => x.to === 'master' && x.atMs >= sinceMs - 20);
  assert.ok(t, `${r.host} became master`);
  return t.atMs;
}

test('IPv6: election, kill -9, SIGTERM and preemption; the client neighbour entry follows the master each time', async (t) => {
  await withLab(async (env) => {
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance6(150)] });
    const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance6(100)] });
    const watch = NeighbourWatch.start(env, VIP6);
    const wire = AdvertWatch.start(env);
    const mac1 = env.lab.host('r1').mac;
    const mac2 = env.lab.host('r2').mac;
    const figures: string[] = [];
    const measure = async (what: string, newMaster: LabRouter, mac: string, sinceMs: number) => {
      await waitFor(`client neighbour entry for ${VIP6} on ${newMaster.host} (${what})`, () => watch.changedTo(mac, sinceMs) !== undefined, 5000, 10);
      becameMasterAt(newMaster, sinceMs);
      // tcpdump's line may reach us after ip monitor's on a busy machine: wait for it a moment.
      await waitFor(`${newMaster.host}'s takeover advert captured`, () => wire.takeoverOf(mac, sinceMs) !== undefined, 3000, 10);
      const took = wire.takeoverOf(mac, sinceMs)!;
      const moved = watch.changedTo(mac, sinceMs)!;
      figures.push(`${what}: client entry moved ${(moved - took).toFixed(1)} ms after ${newMaster.host}'s first advert as master`);
      // The first NA leaves with the takeover: the entry moves within a few ms, not a refresh later.
      assert.ok(moved - took < 500, `${what}: the client entry moved ${moved - took} ms after the takeover`);
    };
    try {
      r1.start();
      r2.start();
      await waitFor('r1 master with the IPv6 VIP', () => r1.state === 'master' && env.lab.holders(VIP6).includes('r1'), 10_000);
      pingVip6(env);
      await converged(env, r1);
      const ll1 = linkLocal(env, 'r1');
      await waitFor('r2 backup, hearing r1 from its link-local address', () => hears(env, 'r2', ll1), 5000, 50);
      await neverTwoHolders(env, 1000);

      // kill -9: r2 takes over after Master_Down_Interval; its NAs move the client. r1's kernel
      // keeps the VIP (a dead agent can't remove it): r2's guard then sees r1 answer its neighbour
      // solicitations for the VIP and may yield to the higher priority (as with IPv4).
      let t0 = Date.now();
      await r1.signal('SIGKILL');
      await waitFor('r2 master after kill -9', () => r2.transitions.some((x) => x.to === 'master' && x.cause === 'master-down-timer' && x.atMs >= t0 - 50), 5000, 10);
      await measure('kill -9', r2, mac2, t0);

      // r2's guard sees r1's kernel answer for the VIP (r1's MAC is known from its accepted
      // adverts, priority 150): it yields and hands the client back with an NA for r1's MAC.
      const killedAt = t0;
      await waitFor("r2's guard yields to r1's stale VIP", () => r2.transitions.some((x) => x.cause === 'guard-demotion' && x.atMs >= killedAt), 10_000);
      const demotedAt = r2.transitions.find((x) => x.cause === 'guard-demotion' && x.atMs >= killedAt)!.atMs;
      await waitFor('client neighbour entry handed back to r1', () => watch.changedTo(mac1, demotedAt - 50) !== undefined, 5000, 10);
      figures.push(`guard hand-back after kill -9: client entry on r1 again ${Math.round(watch.changedTo(mac1, demotedAt - 50)! - demotedAt)} ms after r2's guard demotion (log time; ${demotedAt - becameMasterAt(r2, killedAt)} ms after r2's takeover)`);

      // r1 returns: it removes the VIP it left behind, joins, and takes the VIP back.
      r1.start();
      await converged(env, r1);
      assert.ok(['preempt', 'master-down-timer'].includes(r1.transitions.at(-1)?.cause ?? ''), r1.transitions.at(-1)?.cause);
      await waitFor('r2 backup', () => r2.state === 'backup', 5000);
      await neverTwoHolders(env, 500);

      // SIGTERM: priority 0, r2 takes over after Skew_Time; r1 removes its VIP on the way out.
      t0 = Date.now();
      await r1.signal('SIGTERM');
      assert.equal(r1.proc?.exitCode, 0);
      assert.ok(!env.lab.holders(VIP6).includes('r1'), 'r1 removed its IPv6 VIP on SIGTERM');
      await waitFor('r2 master after SIGTERM', () => r2.state === 'master', 3000, 10);
      assert.equal(r2.transitions.at(-1)?.cause, 'priority-zero-advert');
      await measure('SIGTERM', r2, mac2, t0);
      assert.equal(clientEntryOn(env), 'r2');

      // Preemption: r1 comes back with the higher priority.
      t0 = Date.now();
      r1.start();
      await converged(env, r1);
      assert.equal(r1.transitions.at(-1)?.cause, 'preempt');
      await measure('preempt', r1, mac1, t0);
      await neverTwoHolders(env, 1000);
      for (const f of figures) t.diagnostic(f);
    } finally {
      watch.stop();
      wire.stop();
    }
  }, HOSTS6);
});

test('IPv6: the unsolicited NAs on the wire are what keepalived sends (tshark: ICMPv6 136, checksum good, O set, S clear, hop limit 255, from the VIP)', async () => {
  await withLab(async (env) => {
    const file = `${env.dir}/na.pcap`;
    const cap = env.lab.spawn('client', 'tcpdump', ['-i', 'eth0', '--immediate-mode', '-U', '-n', '-w', file, 'icmp6 and ip6[40] == 136']);
    await sleep(300);
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance6(150, { garpMasterRepeat: 3 })] });
    r1.start();
    await waitFor('r1 master', () => r1.state === 'master', 10_000);
    await sleep(1800); // garp_master_delay 1: the second burst
    cap.kill('SIGINT');
    await new Promise((r) => cap.once('exit', r));
    if (spawnSync('tshark', ['-v']).status !== 0) return;
    const out = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'ipv6.hlim', '-e', 'icmpv6.checksum.status', '-e', 'icmpv6.nd.na.flag.r', '-e', 'icmpv6.nd.na.flag.s', '-e', 'icmpv6.nd.na.flag.o', '-e', 'icmpv6.nd.na.target_address', '-e', 'icmpv6.opt.linkaddr'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    const mac = env.lab.host('r1').mac;
    // garp_master_repeat 3, twice (becoming master, then garp_master_delay later).
    assert.equal(out.length, 6, out.join('\n'));
    for (const line of out) assert.equal(line, `${VIP6}|ff02::1|255|1|0|0|1|${VIP6}|${mac}`);
  }, HOSTS6);
});
