/**
 * The split-brain guard under attack from a third host on the LAN (root only), an attacker without
 * the VRRP password and without the guard secret (test/net/attacker.ts):
 * - the attack of issue 11: a wrong-auth advert at priority 254 every 10 s and a gratuitous ARP
 *   "VIP is-at <attacker>" every second — no yield, no GARP for the attacker's MAC, one holder;
 * - 20 000 forged adverts per second from random source MACs and IPs — the agent's memory stays
 *   flat and comes back, nobody moves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { withLab, waitFor, metric, sleep, hears, VIP, type NetEnv } from './helpers.js';
import type { LabRouter } from '../../src/lab/routers.js';

const ATTACKER = fileURLToPath(new URL('./attacker.ts', import.meta.url));
const haveTshark = spawnSync('tshark', ['--version']).status === 0;

function healthCode(env: NetEnv, host: string): number {
  return Number(env.lab.exec(host, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', 'http://127.0.0.1:11200/healthz']).stdout);
}

function rssMb(r: LabRouter): number {
  const status = readFileSync(`/proc/${r.proc!.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

async function passPair(env: NetEnv): Promise<[LabRouter, LabRouter]> {
  const guard = join(env.dir, 'guard.conf');
  writeFileSync(guard, 'guard {\n    interval 0.5\n}\n');
  const inst = (p: number) => ({ priority: p, advertInt: 1, password: 'pass1234', vips: [`${VIP}/24`] });
  const r1 = env.router('r1', 'keepwatch', { instances: [inst(150)] }, ['--guard-config', guard]);
  const r2 = env.router('r2', 'keepwatch', { instances: [inst(100)] }, ['--guard-config', guard]);
  r1.start();
  r2.start();
  await waitFor('r1 master, r2 hears it', () => r1.state === 'master' && r2.state === 'backup' && hears(env, 'r2', '10.251.0.1'), 15_000, 100);
  await sleep(1000);
  return [r1, r2];
}

test('forged ARP for the VIP every second and a wrong-auth priority-254 advert every 10 s: no yield, one holder throughout, no GARP for the attacker MAC, /healthz green', async () => {
  await withLab(async (env) => {
    const [r1, r2] = await passPair(env);
    const before = r1.transitions.length + r2.transitions.length;
    const pcapFile = join(env.dir, 'client.pcap');
    const dump = env.lab.spawn('client', 'tcpdump', ['-i', 'eth0', '-U', '-w', pcapFile, 'arp']);
    await sleep(500);
    const attack = env.lab.spawn('client', process.execPath, ['--import', 'tsx', ATTACKER, 'forge', '--vip', VIP, '--seconds', '25']);
    let out = '';
    attack.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<void>((r) => attack.once('exit', () => r()));
    const holderSets = new Map<string, number>();
    const t0 = Date.now();
    while (Date.now() - t0 < 27_000) {
      const h = env.lab.holders(VIP).join(',');
      holderSets.set(h, (holderSets.get(h) ?? 0) + 1);
      await sleep(100);
    }
    await done;
    dump.kill('SIGINT');
    await sleep(500);
    const sent = JSON.parse(out.trim()) as { adverts: number; garps: number; mac: string };
    process.stdout.write(`hostile-guard: attacker sent ${sent.adverts} adverts, ${sent.garps} GARPs; holder samples ${JSON.stringify(Object.fromEntries(holderSets))}\n`);
    assert.ok(sent.garps >= 20 && sent.adverts >= 2, JSON.stringify(sent));
    assert.deepEqual([...holderSets.keys()], ['r1'], 'r1 the only holder in every sample');
    assert.equal(r1.transitions.length + r2.transitions.length, before, 'no transition');
    assert.equal(metric(env, 'r1', 'keepwatch_guard_demotions_total'), 0);
    assert.equal(metric(env, 'r2', 'keepwatch_guard_demotions_total'), 0);
    assert.equal(metric(env, 'r1', 'keepwatch_split_brain'), 0, 'not a confirmed split brain');
    assert.ok(metric(env, 'r1', 'keepwatch_split_brain_detections_total') >= 1, 'but seen and counted');
    assert.equal(healthCode(env, 'r1'), 200);
    assert.equal(healthCode(env, 'r2'), 200);
    if (haveTshark) {
      // ARP frames our agents sent (Ethernet source r1/r2) that announce the attacker's MAC for the VIP.
      const macs = [env.lab.host('r1').mac, env.lab.host('r2').mac];
      const r = spawnSync('tshark', ['-r', pcapFile, '-T', 'fields', '-e', 'eth.src', '-e', 'arp.src.hw_mac', '-e', 'arp.src.proto_ipv4'], { encoding: 'utf8' });
      const ours = r.stdout.trim().split('\n').map((l) => l.split('\t')).filter(([src]) => macs.includes(src!));
      assert.ok(ours.length > 0, 'the capture has our ARP frames');
      const foreign = ours.filter(([, hw, ip]) => ip === VIP && hw === sent.mac);
      assert.deepEqual(foreign, [], 'never a GARP pointing the VIP at the attacker');
    }
  });
});

test('20 000 forged adverts per second from random MACs and IPs for 10 s: memory stays flat, nobody moves', async () => {
  await withLab(async (env) => {
    const [r1, r2] = await passPair(env);
    const before = r1.transitions.length + r2.transitions.length;
    await sleep(2000);
    const rss0 = rssMb(r1);
    const attack = env.lab.spawn('client', process.execPath, ['--import', 'tsx', ATTACKER, 'flood', '--vip', VIP, '--rate', '20000', '--seconds', '10']);
    let out = '';
    attack.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<void>((r) => attack.once('exit', () => r()));
    let peak = rss0;
    const t0 = Date.now();
    while (Date.now() - t0 < 11_000) {
      peak = Math.max(peak, rssMb(r1));
      await sleep(250);
    }
    await done;
    await sleep(3000);
    const after = rssMb(r1);
    const sent = JSON.parse(out.trim()) as { adverts: number };
    const dropped = metric(env, 'r1', 'keepwatch_vrrp_adverts_dropped_total');
    process.stdout.write(`hostile-guard: flood sent ${sent.adverts}; master dropped ${dropped}; RSS ${rss0.toFixed(1)} MB -> peak ${peak.toFixed(1)} MB -> ${after.toFixed(1)} MB after\n`);
    assert.ok(sent.adverts >= 100_000, `the flood sent ${sent.adverts}`);
    assert.ok(dropped >= sent.adverts * 0.5, `the master saw and dropped them: ${dropped}`);
    assert.ok(peak - rss0 < 40, `RSS grew ${(peak - rss0).toFixed(1)} MB during the flood`);
    assert.ok(after - rss0 < 25, `RSS ${(after - rss0).toFixed(1)} MB above the start after the flood`);
    assert.equal(r1.transitions.length + r2.transitions.length, before, 'no transition');
    assert.deepEqual(env.lab.holders(VIP), ['r1']);
  });
});
