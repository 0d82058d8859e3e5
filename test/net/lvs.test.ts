/**
 * LVS end to end on this kernel (no ip_vs: the nftables data plane), in network namespaces:
 *
 * 1. Seed 003's director config, unchanged (its addresses too: the namespaces are a private
 *    192.168.2.0/24), on a director pair (the second one as its BACKUP twin: state BACKUP,
 *    priority 90), two real servers set up as seed 003's real-server script does (VIP on lo,
 *    arp_ignore=1, arp_announce=2) running a small web server, and a client with 32 source
 *    addresses (persistence_timeout 60 is source affinity: one address always lands on one
 *    server). Requests to VIP:80 reach both; killing one web server removes it after its
 *    TCP_CHECK's delays and traffic goes only to the other; restarting it brings it back; a
 *    failover of the director pair (SIGTERM of the master) keeps the service, because the backup
 *    programmed the same table; the master's table is gone after its stop.
 * 2. Seed 002's LVS DR master (rr, no persistence), its interface ens33 renamed eth0: one client
 *    address, its connections spread by the per-flow hash; the same kill/restart/failover.
 * 3. A NAT variant of seed 002's LVS NAT sample (its global_defs, instance and virtual_server
 *    settings: rr, lb_kind NAT, persistence_timeout 50, port 443; two real servers checked with
 *    TCP_CHECK in place of the sample's SSL_GET digests, which no server here could match; the
 *    VS address and the real servers' gateway added as VIPs): the same kill/restart/failover.
 *
 * Times are printed; bounds are generous (2 cores shared with other tests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { metric, waitFor, withLab, type NetEnv } from './helpers.js';
import { addClientAddresses, requests, setupDrRealServer, setupNatDirector, setupNatRealServer, startWebServer } from '../../src/lab/lvs.js';

const SEED_003 = readFileSync(new URL('../fixtures/seed-configs/003-lvs-dr-wlc.conf', import.meta.url), 'utf8');
const SEED_002_DR = readFileSync(new URL('../fixtures/seed-configs/002-lvs-dr-master.conf', import.meta.url), 'utf8');
const SEED_002_NAT = readFileSync(new URL('../fixtures/seed-configs/002-lvs-nat-sample.conf', import.meta.url), 'utf8');

interface LvsView {
  dataPlane: string;
  appliedGeneration: number;
  generation: number;
  applyFailing: boolean;
  virtualServers: { virtualServer: string; realServers: { realServer: string; up: boolean; inTable: boolean; weight: number }[]; table: { realServers: { address: string; weight: number }[] }[] }[];
}

function lvs(env: NetEnv, host: string): LvsView | undefined {
  const r = env.lab.exec(host, 'curl', ['-s', '--max-time', '2', 'http://127.0.0.1:11200/v1/lvs']);
  try {
    return JSON.parse(r.stdout) as LvsView;
  } catch {
    return undefined;
  }
}

/** The real servers the applied table forwards to (weight > 0), as `address`. */
function forwarding(env: NetEnv, host: string): string[] | undefined {
  const v = lvs(env, host);
  if (!v || v.applyFailing || v.appliedGeneration !== v.generation) return undefined;
  return v.virtualServers.flatMap((vs) => vs.table.flatMap((t) => t.realServers.filter((r) => r.weight > 0).map((r) => r.address))).sort();
}

const fmt = (m: Map<string, number>) => JSON.stringify(Object.fromEntries([...m].sort()));

async function scenario(
  env: NetEnv,
  o: { rs: [string, string]; rsAddr: [string, string]; port: number; url: string; sources: string[]; directors: [string, string]; vip: string; label: string; checkDelaysS: number },
): Promise<void> {
  const web = new Map<string, ChildProcess>();
  for (const h of o.rs) web.set(h, startWebServer(env.lab, h, o.port));
  const [d1, d2] = o.directors.map((h) => env.routers.find((r) => r.host === h)!) as [NonNullable<(typeof env.routers)[number]>, NonNullable<(typeof env.routers)[number]>];
  await waitFor(`${o.label}: ${d1.host} master`, () => d1.state === 'master' && env.lab.holders(o.vip).includes(d1.host), 30_000);
  for (const d of [d1, d2]) await waitFor(`${o.label}: ${d.host} forwards to both real servers`, () => JSON.stringify(forwarding(env, d.host)) === JSON.stringify([...o.rsAddr].sort()), 20_000);
  assert.equal(lvs(env, d1.host)?.dataPlane, 'nftables');

  const before = requests(env.lab, 'client', o.url, 64, o.sources);
  process.stdout.write(`${o.label}: 64 requests from ${o.sources.length || 1} client address${o.sources.length > 1 ? "es" : ""}: ${fmt(before)}\n`);
  assert.equal(before.get('failed') ?? 0, 0, fmt(before));
  for (const h of o.rs) assert.ok((before.get(h) ?? 0) > 0, `${h} got none: ${fmt(before)}`);

  // One web server dies: its TCP_CHECK fails, retries, and the server leaves the table.
  const t0 = Date.now();
  web.get(o.rs[1])!.kill('SIGKILL');
  await waitFor(`${o.label}: ${o.rs[1]} out of the table`, () => JSON.stringify(forwarding(env, d1.host)) === JSON.stringify([o.rsAddr[0]]), (o.checkDelaysS + 15) * 1000, 100);
  const removedMs = Date.now() - t0;
  const during = requests(env.lab, 'client', o.url, 32, o.sources);
  process.stdout.write(`${o.label}: ${o.rs[1]} killed → out of the table after ${(removedMs / 1000).toFixed(1)} s (TCP_CHECK delays up to ${o.checkDelaysS} s); then 32 requests: ${fmt(during)}\n`);
  assert.deepEqual(fmt(during), fmt(new Map([[o.rs[0], 32]])));
  // What a scrape says about it: down, and why its checks failed.
  const dead = { real_server: `${o.rsAddr[1]}:${o.port}` };
  assert.equal(metric(env, d1.host, 'keepwatch_lvs_real_server_up', dead), 0);
  assert.ok(metric(env, d1.host, 'keepwatch_lvs_checks_total', { ...dead, checker: 'TCP_CHECK', result: 'refused' }) > 0);
  assert.equal(metric(env, d1.host, 'keepwatch_lvs_check_last_failure', { ...dead, reason: 'refused' }), 1);
  assert.equal(metric(env, d1.host, 'keepwatch_lvs_data_plane_info', { data_plane: 'nftables' }), 1);
  assert.equal(metric(env, d1.host, 'keepwatch_lvs_data_plane_apply_failing'), 0);

  // Back: the next check passes and it returns.
  const t1 = Date.now();
  web.set(o.rs[1], startWebServer(env.lab, o.rs[1], o.port));
  await waitFor(`${o.label}: ${o.rs[1]} back in the table`, () => JSON.stringify(forwarding(env, d1.host)) === JSON.stringify([...o.rsAddr].sort()), 30_000, 100);
  const backMs = Date.now() - t1;
  const after = requests(env.lab, 'client', o.url, 64, o.sources);
  process.stdout.write(`${o.label}: ${o.rs[1]} restarted → back after ${(backMs / 1000).toFixed(1)} s; 64 requests: ${fmt(after)}\n`);
  assert.equal(after.get('failed') ?? 0, 0);
  assert.equal(metric(env, d1.host, 'keepwatch_lvs_real_server_up', { real_server: `${o.rsAddr[1]}:${o.port}` }), 1);
  for (const h of o.rs) assert.ok((after.get(h) ?? 0) > 0, `${h} got none after its restart: ${fmt(after)}`);

  // The director pair fails over: the backup's table is already there.
  await waitFor(`${o.label}: ${d2.host} forwards to both`, () => JSON.stringify(forwarding(env, d2.host)) === JSON.stringify([...o.rsAddr].sort()), 30_000, 100);
  const t2 = Date.now();
  await d1.signal('SIGTERM', 5000);
  await waitFor(`${o.label}: ${d2.host} holds the VIP`, () => env.lab.holders(o.vip).includes(d2.host), 20_000);
  const takeoverMs = Date.now() - t2;
  const failover = requests(env.lab, 'client', o.url, 64, o.sources);
  process.stdout.write(`${o.label}: ${d1.host} stopped → ${d2.host} holds the VIP after ${(takeoverMs / 1000).toFixed(1)} s; 64 requests through ${d2.host}: ${fmt(failover)}\n`);
  assert.equal(failover.get('failed') ?? 0, 0, fmt(failover));
  for (const h of o.rs) assert.ok((failover.get(h) ?? 0) > 0, `${h} got none after the failover: ${fmt(failover)}`);
  // Same seed, same buckets: a client keeps its real server across the failover (DR and NAT persistence).
  const tables = env.lab.exec(d1.host, 'nft', ['list', 'tables']).stdout;
  assert.doesNotMatch(tables, /keepwatch_lvs/, `the stopped director removed its tables: ${tables}`);
}

test("seed 003 (LVS DR, wlc, persistence 60) on a director pair: both servers, a kill removes one, a restart brings it back, a failover keeps the service", { timeout: 240_000 }, async () => {
  const hosts = [
    { name: 'd1', ipv4: '192.168.2.201' },
    { name: 'd2', ipv4: '192.168.2.202' },
    { name: 'rs1', ipv4: '192.168.2.212' },
    { name: 'rs2', ipv4: '192.168.2.213' },
    { name: 'client', ipv4: '192.168.2.100' },
  ];
  await withLab(async (env) => {
    for (const h of ['rs1', 'rs2']) setupDrRealServer(env.lab, h, ['192.168.2.240']);
    const sources = addClientAddresses(env.lab, 'client', '192.168.2', 101, 31, 24);
    env.router('d1', 'keepwatch', SEED_003).start();
    env.router('d2', 'keepwatch', SEED_003.replace('state MASTER', 'state BACKUP').replace('priority 100', 'priority 90')).start();
    // delay_loop 6; a failure is retried nb_get_retry 3 times, delay_before_retry 3 apart.
    await scenario(env, { rs: ['rs1', 'rs2'], rsAddr: ['192.168.2.212', '192.168.2.213'], port: 80, url: 'http://192.168.2.240/', sources: ['192.168.2.100', ...sources], directors: ['d1', 'd2'], vip: '192.168.2.240', label: 'DR (seed 003)', checkDelaysS: 6 + 3 * 3 });
  }, hosts);
});

test("seed 002's LVS DR master (rr, no persistence): one client's connections spread over both; the same kill, restart and failover", { timeout: 240_000 }, async () => {
  const hosts = [
    { name: 'd1', ipv4: '192.168.83.11' },
    { name: 'd2', ipv4: '192.168.83.12' },
    { name: 'rs1', ipv4: '192.168.83.50' },
    { name: 'rs2', ipv4: '192.168.83.60' },
    { name: 'client', ipv4: '192.168.83.100' },
  ];
  const conf = SEED_002_DR.replace('interface ens33', 'interface eth0');
  await withLab(async (env) => {
    for (const h of ['rs1', 'rs2']) setupDrRealServer(env.lab, h, ['192.168.83.200']);
    env.router('d1', 'keepwatch', conf).start();
    env.router('d2', 'keepwatch', conf.replace('state MASTER', 'state BACKUP').replace('priority 100', 'priority 90')).start();
    await scenario(env, { rs: ['rs1', 'rs2'], rsAddr: ['192.168.83.50', '192.168.83.60'], port: 80, url: 'http://192.168.83.200/', sources: [], directors: ['d1', 'd2'], vip: '192.168.83.200', label: 'DR (seed 002)', checkDelaysS: 6 + 3 * 3 });
  }, hosts);
});

test("a NAT variant of seed 002's LVS NAT sample (rr, NAT, persistence 50, port 443): the same", { timeout: 240_000 }, async () => {
  const hosts = [
    { name: 'd1', ipv4: '192.168.200.1' },
    { name: 'd2', ipv4: '192.168.200.2' },
    { name: 'rs1', ipv4: '192.168.201.100' },
    { name: 'rs2', ipv4: '192.168.201.101' },
    { name: 'client', ipv4: '192.168.200.50' },
  ];
  // The sample's virtual_server checks its one real server with SSL_GET digests of pages no test
  // server has: two real servers with TCP_CHECK instead; its VS address and the real servers'
  // gateway become VIPs (the sample holds neither, so nothing would reach or leave the director).
  const conf = SEED_002_NAT.replace('        192.168.200.18\n', '        192.168.200.18\n        192.168.200.100\n        192.168.201.1/24 dev eth0\n').replace(
    /    real_server 192\.168\.201\.100 443 \{[\s\S]*?\n    \}\n(?=\})/,
    ['192.168.201.100', '192.168.201.101'].map((a) => `    real_server ${a} 443 {\n        weight 1\n        TCP_CHECK {\n            connect_timeout 3\n            nb_get_retry 3\n            delay_before_retry 3\n        }\n    }\n`).join(''),
  );
  assert.match(conf, /real_server 192\.168\.201\.101 443/);
  assert.doesNotMatch(conf, /SSL_GET \{/);
  await withLab(async (env) => {
    for (const [d, a] of [
      ['d1', '192.168.201.2'],
      ['d2', '192.168.201.3'],
    ] as const) {
      env.lab.exec(d, 'ip', ['addr', 'add', `${a}/24`, 'dev', 'eth0']);
      setupNatDirector(env.lab, d, '192.168.200.0/24');
    }
    for (const h of ['rs1', 'rs2']) setupNatRealServer(env.lab, h, '192.168.201.1');
    const sources = addClientAddresses(env.lab, 'client', '192.168.200', 51, 31, 24);
    env.router('d1', 'keepwatch', conf).start();
    env.router('d2', 'keepwatch', conf.replace('state MASTER', 'state BACKUP').replace('priority 100', 'priority 90')).start();
    await scenario(env, { rs: ['rs1', 'rs2'], rsAddr: ['192.168.201.100', '192.168.201.101'], port: 443, url: 'http://192.168.200.100:443/', sources: ['192.168.200.50', ...sources], directors: ['d1', 'd2'], vip: '192.168.200.100', label: 'NAT (seed 002 sample)', checkDelaysS: 6 + 3 * 3 });
  }, hosts);
});
