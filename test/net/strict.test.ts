/**
 * Accept mode on real kernels (root, namespaces): with vrrp_strict (no_accept) the master holds
 * the VIP — the client's ARP entry points to it — but takes no traffic to it and sends none from
 * it, the backup (which does not hold it) answers nothing either, and `accept` gives the master
 * its traffic back; keepwatch's table `inet keepwatch` is gone after SIGTERM and after a crash
 * (fault injection: the crash release), and a table left by kill -9 is replaced at the next
 * start. Also the other keywords of issue 14 point 6 where the wire shows more than the fake LAN:
 * unicast_ttl (tcpdump), mcast_dst_ip (tcpdump, and with a keepalived peer), dont_track_primary
 * (a real link down).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, waitFor, sleep, fastInstance, VIP, type NetEnv } from './helpers.js';
import type { LabRouter, RouterConfigSpec } from '../../src/lab/routers.js';
import { HOSTS6, fastInstance6 } from './neighbours.js';

const strict = (priority: number, extra: string[] = []): RouterConfigSpec => ({ globalExtra: ['vrrp_strict'], instances: [fastInstance(priority, { extra })] });

/** keepwatch's table in a host's namespace, as `nft list` prints it (undefined: none). */
function table(env: NetEnv, host: string): string | undefined {
  const r = env.lab.exec(host, 'nft', ['list', 'table', 'inet', 'keepwatch']);
  return r.status === 0 ? r.stdout : undefined;
}

/** One ping from `host` (to `to`, from `from` if given); true when it was answered. */
function ping(env: NetEnv, host: string, to: string, from?: string): boolean {
  return env.lab.exec(host, 'ping', ['-c', '1', '-W', '1', ...(from ? ['-I', from] : []), to]).status === 0;
}

/** The packets the drop rules of a host's table counted (input and output). */
function dropped(env: NetEnv, host: string): number {
  return [...(table(env, host) ?? '').matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

async function strictPair(env: NetEnv, r1Extra: string[] = [], r1Env: Record<string, string> = {}): Promise<[LabRouter, LabRouter]> {
  const r2 = env.router('r2', 'keepwatch', strict(100));
  r2.start();
  await waitFor('r2 up', () => r2.state !== undefined, 10_000);
  const r1 = env.router('r1', 'keepwatch', strict(150, r1Extra), [], r1Env);
  r1.start();
  await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup' && env.lab.holders(VIP).join() === 'r1', 10_000);
  return [r1, r2];
}

test('the golden ruleset is valid nftables (nft -c)', async () => {
  await withLab(async (env) => {
    const r = env.lab.exec('r1', 'nft', ['-c', '-f', 'test/fixtures/nft/accept-mode.nft']);
    assert.equal(r.status, 0, r.stderr);
  });
});

test('vrrp_strict: the master holds the VIP but drops traffic to and from it, the backup answers nothing; the table follows the master out at SIGTERM', async () => {
  await withLab(async (env) => {
    const [r1, r2] = await strictPair(env);
    for (const h of ['r1', 'r2']) assert.match(table(env, h) ?? '', /elements = \{ 10\.251\.0\.100 \}/, `${h}: the table holds the VIP (in every state)`);

    // The master: ARP resolves the VIP to it (routing through the VIP works), IP to it does not.
    assert.equal(ping(env, 'client', VIP), false, 'no answer from the master');
    assert.equal(env.lab.hostByMac(env.lab.neighbour('client', VIP)), 'r1', "the client's ARP entry is the master's");
    assert.ok(dropped(env, 'r1') >= 1, 'the drop rule counted it');
    assert.equal(ping(env, 'client', '10.251.0.1'), true, "the master's own address answers");
    assert.equal(ping(env, 'r1', '10.251.0.10', VIP), false, 'nothing leaves the master from the VIP');
    assert.equal(ping(env, 'r1', '10.251.0.10'), true, 'from its own address it does');

    // The backup: a ping for the VIP sent to its MAC is not answered (it does not hold the VIP).
    env.lab.exec('client', 'ip', ['neigh', 'replace', VIP, 'lladdr', env.lab.host('r2').mac, 'dev', 'eth0', 'nud', 'permanent']);
    assert.equal(ping(env, 'client', VIP), false, 'no answer on the backup');
    env.lab.exec('client', 'ip', ['neigh', 'del', VIP, 'dev', 'eth0']);

    // SIGTERM: r1 removes its VIP, then its table; r2 takes over, with its drop rules.
    await r1.signal('SIGTERM');
    assert.equal(table(env, 'r1'), undefined, 'no table left after SIGTERM');
    assert.ok(r1.logLines.some((l) => l.includes('"event":"firewall"') && l.includes('removed')), 'the removal is logged');
    await waitFor('r2 master', () => r2.state === 'master' && env.lab.holders(VIP).join() === 'r2', 3000);
    assert.equal(ping(env, 'client', VIP), false, 'the new master does not answer either');
    await waitFor("the client's ARP entry on r2", () => env.lab.hostByMac(env.lab.neighbour('client', VIP)) === 'r2', 3000);
    assert.ok(dropped(env, 'r2') >= 1);
  });
});

test('accept (or priority 255) in strict mode: the master answers and no table is made', async () => {
  await withLab(async (env) => {
    const r1 = env.router('r1', 'keepwatch', strict(150, ['accept']));
    r1.start();
    await waitFor('r1 master', () => r1.state === 'master' && env.lab.holders(VIP).join() === 'r1', 10_000);
    assert.equal(table(env, 'r1'), undefined);
    await waitFor('the client reaches the VIP', () => ping(env, 'client', VIP), 5000, 100);
    await r1.signal('SIGTERM');
  });
});

test('a crash (fault injection) removes the table in its release; a table left by kill -9 is replaced at the next start, or removed when no instance needs it', async () => {
  await withLab(async (env) => {
    const [r1] = await strictPair(env, [], { KEEPWATCH_FAULT_INJECT: 'throw-after-ms:1500' });
    assert.ok(table(env, 'r1'));
    await waitFor('r1 crashed and exited', () => !r1.running, 10_000);
    assert.equal(r1.proc!.exitCode, 1);
    assert.equal(table(env, 'r1'), undefined, 'the crash release removed the table');

    // kill -9: the table stays; a planted element shows it is replaced, not reused, at the next start.
    const again = env.router('r1', 'keepwatch', strict(150, []));
    again.start();
    await waitFor('r1 master again', () => again.state === 'master', 10_000);
    await again.signal('SIGKILL');
    assert.ok(table(env, 'r1'), 'kill -9 leaves the table');
    assert.equal(env.lab.exec('r1', 'nft', ['add', 'element', 'inet', 'keepwatch', 'vips4', '{ 10.251.0.199 }']).status, 0);
    const third = env.router('r1', 'keepwatch', strict(150, []));
    third.start();
    await waitFor('r1 master a third time', () => third.state === 'master', 10_000);
    const t = table(env, 'r1') ?? '';
    assert.match(t, /elements = \{ 10\.251\.0\.100 \}/);
    assert.doesNotMatch(t, /10\.251\.0\.199/, 'the leftover was replaced');
    await third.signal('SIGKILL');

    // A leftover and a config that needs no table: removed at start.
    const accepting = env.router('r1', 'keepwatch', strict(150, ['accept']));
    accepting.start();
    await waitFor('r1 master, accepting', () => accepting.state === 'master', 10_000);
    assert.equal(table(env, 'r1'), undefined, 'the leftover was removed');
    await waitFor('the client reaches the VIP', () => ping(env, 'client', VIP), 5000, 100);
  });
});

test('a reload that adds a VIP and turns accept on for another instance: the table follows (the new VIP dropped, the accepting one out)', async () => {
  await withLab(async (env) => {
    const spec = (second: string[]): RouterConfigSpec => ({
      globalExtra: ['vrrp_strict'],
      instances: [fastInstance(150, { vips: [`${VIP}/24`, '10.251.0.101/24'] }), fastInstance(150, { name: 'VI_2', vrid: 52, vips: ['10.251.0.102/24'], extra: second })],
    });
    const r1 = env.router('r1', 'keepwatch', { ...spec([]), instances: [fastInstance(150), spec([]).instances[1]!] });
    r1.start();
    await waitFor('r1 master of both', () => env.lab.holders('10.251.0.102').join() === 'r1' && env.lab.holders(VIP).join() === 'r1', 10_000);
    assert.match(table(env, 'r1') ?? '', /elements = \{ 10\.251\.0\.100, 10\.251\.0\.102 \}/);
    r1.config = spec(['accept']);
    r1.writeConfig();
    r1.proc!.kill('SIGHUP');
    await waitFor('the reload logged', () => r1.logLines.some((l) => l.includes('"event":"reload"') && l.includes('"result":"success"')), 5000);
    await waitFor('10.251.0.101 on r1', () => env.lab.holders('10.251.0.101').join() === 'r1', 3000);
    assert.match(table(env, 'r1') ?? '', /elements = \{ 10\.251\.0\.100, 10\.251\.0\.101 \}/);
    assert.equal(ping(env, 'client', '10.251.0.101'), false, 'the added VIP is dropped');
    await waitFor('the accepting instance answers', () => ping(env, 'client', '10.251.0.102'), 5000, 100);
  });
});

/** `tcpdump -c N -nn -e -v FILTER` in a host's namespace for at most `seconds`. */
function capture(env: NetEnv, host: string, filter: string, count: number, seconds = 4): string {
  return env.lab.exec(host, 'timeout', [String(seconds), 'tcpdump', '-l', '-i', 'eth0', '-c', String(count), '-nn', '-e', '-v', filter]).stdout;
}

test('unicast_ttl on the wire: the adverts carry it and the backup accepts them', async () => {
  await withLab(async (env) => {
    const uni = (p: number, src: string, peer: string, extra: string[]) => ({ instances: [fastInstance(p, { unicastSrc: src, unicastPeers: [peer], extra })] });
    const r1 = env.router('r1', 'keepwatch', uni(150, '10.251.0.1', '10.251.0.2', ['unicast_ttl 7']));
    const r2 = env.router('r2', 'keepwatch', uni(100, '10.251.0.2', '10.251.0.1', []));
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
    const out = capture(env, 'r2', 'ip proto 112 and src 10.251.0.1', 3);
    const ttls = [...out.matchAll(/ttl (\d+),/g)].map((m) => Number(m[1]));
    assert.ok(ttls.length >= 3 && ttls.every((t) => t === 7), `TTLs seen by r2: ${ttls.join(',')}\n${out}`);
    await sleep(500);
    assert.equal(r2.state, 'backup', 'r2 accepts them (keepalived checks no TTL on unicast)');
  });
});

test('unicast_ttl over IPv6: the hop limit of unicast adverts; without it the kernel default (64), as keepalived sends them', async () => {
  await withLab(async (env) => {
    const uni = (p: number, src: string, peer: string, extra: string[]) => ({ instances: [fastInstance6(p, { unicastSrc: src, unicastPeers: [peer], extra })] });
    const r2 = env.router('r2', 'keepwatch', uni(100, 'fd00:251::2', 'fd00:251::1', []));
    r2.start();
    const hlims: number[][] = [];
    for (const extra of [['unicast_ttl 9'], []]) {
      const r1 = env.router('r1', 'keepwatch', uni(150, 'fd00:251::1', 'fd00:251::2', extra));
      r1.start();
      await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
      // (From r1, whatever its source: the kernel picks it, the VIP r1 holds here.)
      const out = capture(env, 'r2', 'ip6 proto 112 and not ether src ' + env.lab.host('r2').mac, 3);
      hlims.push([...out.matchAll(/hlim (\d+)/g)].map((m) => Number(m[1])));
      await r1.signal('SIGTERM');
    }
    assert.deepEqual(hlims, [[9, 9, 9], [64, 64, 64]]);
  }, HOSTS6);
});

test('mcast_dst_ip on the wire: adverts to the instance group and its MAC; a keepalived peer on the same group elects with keepwatch', async () => {
  await withLab(async (env) => {
    const group = (p: number) => ({ instances: [fastInstance(p, { extra: ['mcast_dst_ip 224.0.0.19'] })] });
    const r1 = env.router('r1', 'keepwatch', group(150));
    const r2 = env.router('r2', 'keepalived', group(100));
    r2.start();
    await sleep(500);
    r1.start();
    await waitFor('keepwatch r1 master, keepalived r2 backup', () => r1.state === 'master' && r2.state === 'backup' && env.lab.holders(VIP).join() === 'r1', 15_000);
    const out = capture(env, 'client', 'ip proto 112', 3);
    assert.match(out, /01:00:5e:00:00:13, .*10\.251\.0\.1 > 224\.0\.0\.19: VRRPv3/s, out);
    assert.doesNotMatch(out, /224\.0\.0\.18/);
    // keepwatch takes over from keepalived on the same group (r1 leaves, r2 becomes master, r1 preempts).
    await r1.signal('SIGTERM');
    await waitFor('keepalived r2 master', () => r2.state === 'master', 5000);
    const back = env.router('r1', 'keepwatch', group(150));
    back.start();
    await waitFor('keepwatch r1 master again, keepalived r2 backup', () => back.state === 'master' && r2.state === 'backup' && env.lab.holders(VIP).join() === 'r1', 10_000);
  });
});

test('dont_track_primary: a link down on the master is no FAULT: it stays master with its VIP (the backup takes over too, hearing nothing)', async () => {
  await withLab(async (env) => {
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150, { extra: ['dont_track_primary'] })] });
    const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance(100)] });
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
    const t1 = r1.transitions.length;
    env.lab.setLink('r1', false);
    await waitFor('r2 master', () => r2.state === 'master', 5000);
    await waitFor('r1 saw its link go down', () => r1.logLines.some((l) => l.includes('"event":"link"') && l.includes('"up":false')), 3000);
    await sleep(500);
    assert.equal(r1.state, 'master', 'no FAULT');
    assert.deepEqual(r1.transitions.slice(t1), [], 'no transition at all');
    assert.ok(env.lab.addresses('r1').includes(VIP), 'the VIP stays on r1');
    env.lab.setLink('r1', true);
    await waitFor('one master again (r1 outranks r2)', () => r1.state === 'master' && r2.state === 'backup', 5000);
  });
});
