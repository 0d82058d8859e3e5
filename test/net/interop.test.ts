/**
 * Interop with Debian's keepalived (root only), in both roles: VRRPv2 with PASS auth at 1 s,
 * VRRPv3 at 0.1 s, and VRRPv2 with AH at 1 s (with a wrong key too). A capture in the client namespace is decoded by tshark afterwards: every advert
 * and gratuitous ARP keepwatch sent must be well-formed VRRP/ARP with a good checksum.
 * IPv6 (VRRPv3 at 0.1 s, both roles): the client's neighbour entry for the VIP follows every
 * failover, moved by the unsolicited neighbour advertisements of whichever daemon took over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { withLab, waitFor, sleep, metric, captureClient as capture, tsharkRows, VIP, type NetEnv } from './helpers.js';
import type { LabRouter, InstanceSpec } from '../../src/lab/routers.js';
import { AdvertWatch, HOSTS6, VIP6, NeighbourWatch, fastInstance6, pingVip6 } from './neighbours.js';

const haveKeepalived = spawnSync('keepalived', ['--version']).status === 0;
const haveTshark = spawnSync('tshark', ['-v']).status === 0;

const V2: Omit<InstanceSpec, 'priority'> = { advertInt: 1, password: 'interop1', vips: [`${VIP}/24`], garpMasterDelay: 1, garpMasterRepeat: 2 };
const V3: Omit<InstanceSpec, 'priority'> = { version: 3, advertInt: 0.1, vips: [`${VIP}/24`], garpMasterDelay: 1, garpMasterRepeat: 2 };

function holdsAlone(env: NetEnv, r: LabRouter): boolean {
  const living = env.lab.holders(VIP).filter((h) => env.routers.find((x) => x.host === h)?.running);
  return r.state === 'master' && living.length === 1 && living[0] === r.host;
}

/** Every VRRP and ARP frame from `mac` in the capture, as tshark decodes it. */
function decodeFrom(file: string, mac: string): { vrrp: string[][]; arp: string[][]; malformed: string[] } {
  const fields = (filter: string, ...f: string[]) => tsharkRows(file, `${filter} && eth.src == ${mac}`, ...f);
  const malformed = spawnSync('tshark', ['-r', file, '-Y', `(_ws.malformed || (_ws.expert.severity >= 6 && !arp.duplicate-address-detected)) && eth.src == ${mac}`, '-T', 'fields', '-e', 'frame.number', '-e', '_ws.col.Info', '-e', '_ws.expert.message'], { encoding: 'utf8' }).stdout.trim();
  return {
    vrrp: fields('vrrp', 'vrrp.version', 'vrrp.prio', 'vrrp.checksum.status', 'ip.ttl', 'vrrp.auth_type'),
    arp: fields('arp', 'arp.opcode', 'arp.src.proto_ipv4', 'arp.dst.proto_ipv4', 'arp.isgratuitous'),
    malformed: malformed ? malformed.split('\n') : [],
  };
}

function checkWire(file: string, mac: string, version: 2 | 3): void {
  if (!haveTshark) return;
  const d = decodeFrom(file, mac);
  const summary = () => spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_relative', '-e', 'eth.src', '-e', '_ws.col.Info'], { encoding: 'utf8' }).stdout;
  assert.ok(d.vrrp.length > 0, `keepwatch adverts captured (from ${mac}):\n${summary()}`);
  for (const [v, , status, ttl, auth] of d.vrrp) {
    assert.equal(v, String(version));
    assert.equal(status, '1', 'tshark: checksum good'); // 1 = PROTO_CHECKSUM_E_GOOD
    assert.equal(ttl, '255');
    if (version === 2) assert.equal(auth, '1', 'simple text auth');
  }
  assert.ok(d.arp.some(([op, src, dst]) => op === '1' && src === VIP && dst === VIP), 'a gratuitous ARP for the VIP');
  assert.deepEqual(d.malformed, [], 'no malformed frames or expert errors from keepwatch in the capture');
}

for (const [label, base, version] of [['VRRPv2 PASS 1 s', V2, 2], ['VRRPv3 0.1 s', V3, 3]] as const) {
  test(`interop ${label}: keepalived master, keepwatch backup; failover both ways`, { skip: !haveKeepalived && 'keepalived not installed' }, async () => {
    await withLab(async (env) => {
      const cap = await capture(env, 'ka-master');
      const ka = env.router('r1', 'keepalived', { instances: [{ ...base, priority: 150 }] });
      const kw = env.router('r2', 'keepwatch', { instances: [{ ...base, priority: 100 }] });
      kw.start();
      ka.start();
      await waitFor('keepalived master, keepwatch backup', () => holdsAlone(env, ka) && kw.state === 'backup', 15_000);
      await sleep(version === 2 ? 2500 : 500);
      assert.equal(kw.state, 'backup', 'keepwatch accepts keepalived adverts and stays backup');
      await ka.signal('SIGKILL');
      await waitFor('keepwatch takes over after kill -9 of keepalived', () => kw.state === 'master' && env.lab.holders(VIP).includes('r2'), 10_000);
      ka.start();
      await waitFor('keepalived preempts back', () => holdsAlone(env, ka) && kw.state === 'backup', 15_000);
      assert.equal(kw.transitions.at(-1)?.cause, 'higher-priority-advert');
      checkWire(await cap.stop(), env.lab.host('r2').mac, version);
    });
  });

  test(`interop ${label}: keepwatch master, keepalived backup; SIGTERM hands over, preempt back`, { skip: !haveKeepalived && 'keepalived not installed' }, async () => {
    await withLab(async (env) => {
      const cap = await capture(env, 'kw-master');
      const kw = env.router('r1', 'keepwatch', { instances: [{ ...base, priority: 150 }] });
      const ka = env.router('r2', 'keepalived', { instances: [{ ...base, priority: 100 }] });
      ka.start();
      kw.start();
      await waitFor('keepwatch master, keepalived backup', () => holdsAlone(env, kw) && ka.state === 'backup', 15_000);
      await sleep(version === 2 ? 2500 : 500);
      assert.equal(ka.state, 'backup', 'keepalived accepts keepwatch adverts and stays backup');
      const t0 = Date.now();
      await kw.signal('SIGTERM');
      await waitFor('keepalived takes over after keepwatch priority 0', () => ka.state === 'master' && env.lab.holders(VIP).includes('r2'), 5000);
      // Skew_Time (0.61 s at v2 prio 100) rather than Master_Down_Interval (3.6 s).
      if (version === 2) assert.ok(Date.now() - t0 < 2500, `keepalived took ${Date.now() - t0} ms: it did not take the priority-0 fast path`);
      // Make-before-break: keepwatch kept the VIP until keepalived's first advert as master.
      assert.ok(kw.logLines.some((l) => l.includes('handed over: 10.')), 'keepwatch left when it heard keepalived advertise');
      kw.start();
      await waitFor('keepwatch preempts back', () => holdsAlone(env, kw) && ka.state === 'backup', 15_000);
      checkWire(await cap.stop(), env.lab.host('r1').mac, version);
    });
  });
}

// --- VRRPv2 auth_type AH (RFC 2402 as keepalived implements it) -------------------------------

/** A VRRPv2 instance at 1 s with `auth_type AH` (the key is the first 8 bytes of `pass`). */
function ahInstance(priority: number, pass: string): InstanceSpec {
  return { priority, advertInt: 1, vips: [`${VIP}/24`], garpMasterDelay: 1, garpMasterRepeat: 2, extra: ['authentication {', '    auth_type AH', `    auth_pass ${pass}`, '}'] };
}

/** `master` holds the VIP alone, the other is backup, and the client's ARP entry for the VIP is `master`'s MAC. */
async function ahSettled(env: NetEnv, master: LabRouter, backup: LabRouter, what: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(what, () => holdsAlone(env, master) && backup.state === 'backup' && env.lab.hostByMac(env.lab.neighbour('client', VIP)) === master.host, timeoutMs);
}

/** The client's ARP entry for the VIP moves to `host` (the new master's GARPs). */
async function ahClientArpOn(env: NetEnv, host: string, what: string): Promise<number> {
  return waitFor(`client ARP entry for ${VIP} on ${host} (${what})`, () => env.lab.hostByMac(env.lab.neighbour('client', VIP)) === host, 5000, 10);
}

const ahCapture = (env: NetEnv, name: string) => capture(env, name, 'ip proto 51 or ip proto 112 or arp');

/**
 * keepwatch's AH adverts as tshark decodes them: IP protocol 51, AH next header VRRP with SPI =
 * the source address, sequence numbers rising one by one, VRRPv2 auth type 2 with a good
 * checksum and TTL 255; and no plain (unauthenticated) VRRP from keepwatch at all.
 */
function checkAhWire(file: string, mac: string, source: string): void {
  if (!haveTshark) return;
  const rows = tsharkRows(file, `ah && eth.src == ${mac}`, 'ip.proto', 'ah.next_header', 'ah.spi', 'ah.sequence', 'vrrp.version', 'vrrp.auth_type', 'vrrp.checksum.status', 'ip.ttl');
  assert.ok(rows.length >= 3, `keepwatch AH adverts captured: ${rows.length}`);
  const spi = `0x${source.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('')}`;
  let prev = -1;
  for (const [proto, next, s, seq, version, auth, status, ttl] of rows) {
    assert.deepEqual([proto, next, s, version, auth, status, ttl], ['51', '112', spi, '2', '2', '1', '255']);
    // A restart begins at 1 again, but never below the peer's count (keepwatch learns it first).
    if (prev >= 0 && Number(seq) !== 1) assert.ok(Number(seq) > prev, `sequence ${seq} after ${prev}`);
    prev = Number(seq);
  }
  const plain = spawnSync('tshark', ['-r', file, '-Y', `vrrp && !ah && eth.src == ${mac}`, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(plain, '', 'no VRRP without AH from keepwatch');
}

/** keepalived's log lines about AH that mean it discarded something of ours. */
function keepalivedAhComplaints(r: LabRouter): string[] {
  return r.logLines.filter((l) => /IPSEC|AH header|auth/i.test(l) && /invalid|already processed|mismatch|expect/i.test(l));
}

test('interop VRRPv2 AH 1 s: keepalived master, keepwatch backup; kill -9, restart and preempt, SIGTERM; client ARP follows', { skip: !haveKeepalived && 'keepalived not installed' }, async () => {
  await withLab(async (env) => {
    const cap = await ahCapture(env, 'ah-ka-master');
    const ka = env.router('r1', 'keepalived', { instances: [ahInstance(150, 'ahsecret')] });
    const kw = env.router('r2', 'keepwatch', { instances: [ahInstance(100, 'ahsecret')] });
    kw.start();
    ka.start();
    await ahSettled(env, ka, kw, 'keepalived master, keepwatch backup, client ARP on r1');
    await sleep(2500);
    assert.equal(kw.state, 'backup', "keepwatch verifies keepalived's AH adverts and stays backup");
    const tKill = Date.now();
    await ka.signal('SIGKILL');
    await waitFor('keepwatch takes over after kill -9 of keepalived', () => kw.state === 'master' && env.lab.holders(VIP).includes('r2'), 10_000);
    const killMs = Date.now() - tKill;
    const killArpMs = await ahClientArpOn(env, 'r2', 'after kill -9');
    // keepalived comes back with its count at 0, learns keepwatch's numbers, and preempts with the next.
    ka.start();
    await ahSettled(env, ka, kw, 'keepalived preempts back, client ARP on r1');
    assert.equal(kw.transitions.at(-1)?.cause, 'higher-priority-advert');
    const t0 = Date.now();
    await ka.signal('SIGTERM');
    await waitFor("keepwatch takes over on keepalived's authenticated priority 0", () => kw.state === 'master' && env.lab.holders(VIP).includes('r2'), 5000);
    const termMs = Date.now() - t0;
    assert.ok(termMs < 2500, `took ${termMs} ms: not the priority-0 fast path`);
    const termArpMs = await ahClientArpOn(env, 'r2', 'after SIGTERM');
    process.stdout.write(`AH interop (keepalived master): keepwatch took over ${killMs} ms after kill -9 (client ARP +${killArpMs} ms), ${termMs} ms after SIGTERM (client ARP +${termArpMs} ms)\n`);
    // Nothing either side sent was discarded: no wrong ICV, no replayed sequence number.
    for (const reason of ['auth-mismatch', 'auth-type-mismatch', 'ah-replay']) {
      assert.ok(!(metric(env, 'r2', 'keepwatch_vrrp_adverts_dropped_total', { reason }) > 0), `keepwatch dropped adverts as ${reason}`);
    }
    assert.deepEqual(keepalivedAhComplaints(ka), []);
    checkAhWire(await cap.stop(), env.lab.host('r2').mac, '10.251.0.2');
  });
});

test('interop VRRPv2 AH 1 s: keepwatch master, keepalived backup; SIGTERM hands over, preempt back, kill -9; client ARP follows', { skip: !haveKeepalived && 'keepalived not installed' }, async () => {
  await withLab(async (env) => {
    const cap = await ahCapture(env, 'ah-kw-master');
    const kw = env.router('r1', 'keepwatch', { instances: [ahInstance(150, 'ahsecret')] });
    const ka = env.router('r2', 'keepalived', { instances: [ahInstance(100, 'ahsecret')] });
    ka.start();
    kw.start();
    await ahSettled(env, kw, ka, 'keepwatch master, keepalived backup, client ARP on r1');
    await sleep(2500);
    assert.equal(ka.state, 'backup', "keepalived verifies keepwatch's AH adverts and stays backup");
    const t0 = Date.now();
    await kw.signal('SIGTERM');
    await waitFor("keepalived takes over on keepwatch's authenticated priority 0", () => ka.state === 'master' && env.lab.holders(VIP).includes('r2'), 5000);
    const termMs = Date.now() - t0;
    assert.ok(termMs < 2500, `keepalived took ${termMs} ms: it did not take the priority-0 fast path`);
    const termArpMs = await ahClientArpOn(env, 'r2', 'after SIGTERM');
    // keepwatch restarts at count 0, learns keepalived's numbers as backup, then preempts with the next.
    kw.start();
    await ahSettled(env, kw, ka, 'keepwatch preempts back, client ARP on r1');
    await sleep(1500);
    assert.equal(ka.state, 'backup');
    const tKill = Date.now();
    await kw.signal('SIGKILL');
    await waitFor('keepalived takes over after kill -9 of keepwatch', () => ka.state === 'master' && env.lab.holders(VIP).includes('r2'), 10_000);
    const killMs = Date.now() - tKill;
    const killArpMs = await ahClientArpOn(env, 'r2', 'after kill -9');
    process.stdout.write(`AH interop (keepwatch master): keepalived took over ${termMs} ms after SIGTERM (client ARP +${termArpMs} ms), ${killMs} ms after kill -9 (client ARP +${killArpMs} ms)\n`);
    assert.deepEqual(keepalivedAhComplaints(ka), [], 'keepalived discarded none of our AH adverts');
    checkAhWire(await cap.stop(), env.lab.host('r1').mac, '10.251.0.1');
  });
});

test('interop VRRPv2 AH: a wrong key on one side: its adverts dropped as auth-mismatch and counted, both keep the VIP, suspected in the guard', { skip: !haveKeepalived && 'keepalived not installed' }, async () => {
  await withLab(async (env) => {
    const cap = await ahCapture(env, 'ah-wrong-key');
    const kw = env.router('r1', 'keepwatch', { instances: [ahInstance(150, 'ahsecret')] });
    const ka = env.router('r2', 'keepalived', { instances: [ahInstance(100, 'otherkey')] });
    kw.start();
    ka.start();
    await waitFor('both master, both hold the VIP', () => kw.state === 'master' && ka.state === 'master' && env.lab.holders(VIP).length === 2, 15_000);
    await waitFor('the guard suspects a split brain on keepwatch', () => metric(env, 'r1', 'keepwatch_split_brain_suspected') === 1, 10_000, 250);
    await sleep(3000);
    const dropped = metric(env, 'r1', 'keepwatch_vrrp_adverts_dropped_total', { reason: 'auth-mismatch' });
    const file = await cap.stop();
    // Every AH advert keepalived sent was dropped as auth-mismatch and counted. (keepalived 2.2.7
    // restarts a master's advert timer on every packet it reads, valid or not: with our adverts
    // arriving every advert_int it falls silent after its first, so the count stays small.)
    if (haveTshark) {
      const sent = spawnSync('tshark', ['-r', file, '-Y', `ah && eth.src == ${env.lab.host('r2').mac}`, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).length;
      assert.ok(sent >= 1, 'keepalived advertised');
      assert.equal(dropped, sent, `keepwatch counted ${dropped} auth-mismatch drops for ${sent} keepalived adverts`);
    } else {
      assert.ok(dropped >= 1, `auth-mismatch drops: ${dropped}`);
    }
    assert.ok(!(metric(env, 'r1', 'keepwatch_vrrp_adverts_dropped_total', { reason: 'ah-replay' }) > 0));
    // keepalived drops every one of ours too ("invalid IPSEC HMAC-MD5 value"), once per second.
    assert.ok(keepalivedAhComplaints(ka).filter((l) => /HMAC-MD5/.test(l)).length >= 3, `keepalived drops ours too:\n${ka.logLines.slice(-20).join('\n')}`);
    const state = JSON.parse(env.lab.exec('r1', 'curl', ['-s', 'http://127.0.0.1:11200/v1/state']).stdout) as { instances: { guard: { held: string | null; suspected: boolean; evidence: { source: string; detail: string; authenticated: boolean }[] } }[] };
    const guard = state.instances[0]!.guard;
    assert.equal(guard.suspected, true);
    assert.equal(guard.held, null, 'unauthenticated evidence never holds a node out');
    assert.ok(guard.evidence.length > 0 && guard.evidence.every((e) => !e.authenticated), JSON.stringify(guard.evidence));
    assert.ok(!JSON.stringify(state).includes('ahsecret'), 'no secret in /v1/state');
    assert.equal(metric(env, 'r1', 'keepwatch_split_brain'), 0, 'not a confirmed split brain');
    assert.equal(kw.state, 'master');
    assert.equal(ka.state, 'master');
    assert.deepEqual(env.lab.holders(VIP).sort(), ['r1', 'r2'], 'both keep the VIP');
    assert.ok(!kw.transitions.some((t) => t.cause === 'guard-demotion'));
  });
});

// --- IPv6 (VRRPv3 at 0.1 s): unsolicited neighbour advertisements move the client -------------

/** `master` runs, says MASTER and is the only living holder of the IPv6 VIP; the other is backup; the client's neighbour entry is on `master`. */
async function settled6(env: NetEnv, master: LabRouter, backup: LabRouter, what: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(what, () => {
    const living = env.lab.holders(VIP6).filter((h) => env.routers.find((x) => x.host === h)?.running);
    return master.state === 'master' && backup.state === 'backup' && living.length === 1 && living[0] === master.host && env.lab.hostByMac(env.lab.neighbour('client', VIP6)) === master.host;
  }, timeoutMs);
}

/**
 * The client's neighbour entry for the IPv6 VIP moved to `to` after `sinceMs` (kernel event
 * times, so a quick move back — a guard hand-back — is not missed); returns ms from `to`'s
 * takeover on the wire (its first advert as master, captured on the client).
 */
async function entryMoved(watch: NeighbourWatch, wire: AdvertWatch, env: NetEnv, to: LabRouter, sinceMs: number, what: string): Promise<string> {
  const mac = env.lab.host(to.host).mac;
  await waitFor(`client neighbour entry for ${VIP6} on ${to.host} (${what})`, () => watch.changedTo(mac, sinceMs) !== undefined, 5000, 10);
  // tcpdump's line may reach us after ip monitor's on a busy machine: wait for it a moment.
  await waitFor(`${to.host}'s takeover advert captured (${what})`, () => wire.takeoverOf(mac, sinceMs) !== undefined, 3000, 10);
  const took = wire.takeoverOf(mac, sinceMs)!;
  return (watch.changedTo(mac, sinceMs)! - took).toFixed(1);
}

const capture6 = (env: NetEnv, name: string) => capture(env, name, 'ip6 proto 112 or (icmp6 and ip6[40] == 136)');

/**
 * keepwatch's IPv6 frames as tshark decodes them: VRRPv3 adverts with a good checksum and hop
 * limit 255 from its link-local address, and unsolicited NAs for the VIP (to ff02::1, from the
 * VIP, hop limit 255, good checksum, Override set, Solicited and Router clear — forwarding is off
 * in the lab — announcing its own MAC), the same fields keepalived's carry.
 */
function checkWire6(file: string, mac: string): void {
  if (!haveTshark) return;
  const rows = (filter: string, ...f: string[]) =>
    spawnSync('tshark', ['-r', file, '-Y', `${filter} && eth.src == ${mac}`, '-T', 'fields', '-E', 'separator=|', ...f.flatMap((x) => ['-e', x])], { encoding: 'utf8' })
      .stdout.trim().split('\n').filter(Boolean).map((l) => l.split('|'));
  const adverts = rows('vrrp', 'vrrp.version', 'vrrp.checksum.status', 'ipv6.hlim', 'ipv6.src');
  assert.ok(adverts.length > 0, 'keepwatch IPv6 adverts captured');
  for (const [v, status, hlim, src] of adverts) {
    assert.deepEqual([v, status, hlim], ['3', '1', '255']);
    assert.match(src!, /^fe80:/);
  }
  // Unsolicited only: the solicited ones from this MAC are its kernel answering the client.
  const nas = rows('icmpv6.type == 136 && icmpv6.nd.na.flag.s == 0', 'ipv6.src', 'ipv6.dst', 'ipv6.hlim', 'icmpv6.checksum.status', 'icmpv6.nd.na.flag.r', 'icmpv6.nd.na.flag.s', 'icmpv6.nd.na.flag.o', 'icmpv6.nd.na.target_address', 'icmpv6.opt.linkaddr');
  assert.ok(nas.length >= 2, `keepwatch unsolicited NAs captured: ${nas.length}`);
  for (const r of nas) assert.deepEqual(r, [VIP6, 'ff02::1', '255', '1', '0', '0', '1', VIP6, mac]);
  const malformed = spawnSync('tshark', ['-r', file, '-Y', `(_ws.malformed || _ws.expert.severity >= 6) && eth.src == ${mac}`, '-T', 'fields', '-e', 'frame.number', '-e', '_ws.col.Info'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(malformed, '', 'no malformed frames or expert errors from keepwatch');
}

test('interop IPv6 VRRPv3 0.1 s: keepalived master, keepwatch backup; kill -9, preempt back, SIGTERM; the client neighbour entry follows each time', { skip: !haveKeepalived && 'keepalived not installed' }, async (t) => {
  await withLab(async (env) => {
    const cap = await capture6(env, 'v6-ka-master');
    const watch = NeighbourWatch.start(env, VIP6);
    const wire = AdvertWatch.start(env);
    try {
      const ka = env.router('r1', 'keepalived', { instances: [fastInstance6(150)] });
      const kw = env.router('r2', 'keepwatch', { instances: [fastInstance6(100)] });
      kw.start();
      ka.start();
      await waitFor('keepalived master with the IPv6 VIP', () => ka.state === 'master' && env.lab.holders(VIP6).includes('r1'), 15_000);
      pingVip6(env);
      await settled6(env, ka, kw, 'keepalived master, keepwatch backup, client neighbour entry on r1');
      await sleep(500);
      assert.equal(kw.state, 'backup', "keepwatch accepts keepalived's IPv6 adverts and stays backup");

      let t0 = Date.now();
      await ka.signal('SIGKILL');
      await waitFor('keepwatch takes over after kill -9 of keepalived', () => kw.state === 'master' && env.lab.holders(VIP6).includes('r2'), 10_000);
      t.diagnostic(`kill -9 of keepalived: client entry on keepwatch ${await entryMoved(watch, wire, env, kw, t0, 'kill -9')} ms after its first advert as master`);

      t0 = Date.now();
      ka.start();
      await settled6(env, ka, kw, 'keepalived back as master, client neighbour entry on r1');
      t.diagnostic(`keepalived back: client entry on keepalived ${await entryMoved(watch, wire, env, ka, t0, 'keepalived back')} ms after its first advert as master`);

      t0 = Date.now();
      await ka.signal('SIGTERM');
      await waitFor("keepwatch takes over on keepalived's priority 0", () => kw.state === 'master' && env.lab.holders(VIP6).includes('r2') && !env.lab.holders(VIP6).includes('r1'), 5000);
      assert.equal(kw.transitions.at(-1)?.cause, 'priority-zero-advert');
      t.diagnostic(`SIGTERM of keepalived: client entry on keepwatch ${await entryMoved(watch, wire, env, kw, t0, 'SIGTERM')} ms after its first advert as master`);
      assert.equal(env.lab.hostByMac(env.lab.neighbour('client', VIP6)), 'r2');
      checkWire6(await cap.stop(), env.lab.host('r2').mac);
    } finally {
      watch.stop();
      wire.stop();
    }
  }, HOSTS6);
});

test('interop IPv6 VRRPv3 0.1 s: keepwatch master, keepalived backup; SIGTERM, preempt back, kill -9; the client neighbour entry follows each time', { skip: !haveKeepalived && 'keepalived not installed' }, async (t) => {
  await withLab(async (env) => {
    const cap = await capture6(env, 'v6-kw-master');
    const watch = NeighbourWatch.start(env, VIP6);
    const wire = AdvertWatch.start(env);
    try {
      const kw = env.router('r1', 'keepwatch', { instances: [fastInstance6(150)] });
      const ka = env.router('r2', 'keepalived', { instances: [fastInstance6(100)] });
      ka.start();
      kw.start();
      await waitFor('keepwatch master with the IPv6 VIP', () => kw.state === 'master' && env.lab.holders(VIP6).includes('r1'), 15_000);
      pingVip6(env);
      await settled6(env, kw, ka, 'keepwatch master, keepalived backup, client neighbour entry on r1');
      await sleep(500);
      assert.equal(ka.state, 'backup', "keepalived accepts keepwatch's IPv6 adverts and stays backup");

      let t0 = Date.now();
      await kw.signal('SIGTERM');
      assert.ok(!env.lab.holders(VIP6).includes('r1'), 'keepwatch removed its IPv6 VIP on SIGTERM');
      await waitFor("keepalived takes over on keepwatch's priority 0", () => ka.state === 'master' && env.lab.holders(VIP6).includes('r2'), 5000);
      t.diagnostic(`SIGTERM of keepwatch: client entry on keepalived ${await entryMoved(watch, wire, env, ka, t0, 'SIGTERM')} ms after its first advert as master`);

      t0 = Date.now();
      kw.start();
      await settled6(env, kw, ka, 'keepwatch preempts back, client neighbour entry on r1');
      assert.equal(kw.transitions.at(-1)?.cause, 'preempt');
      t.diagnostic(`keepwatch preempts: client entry on keepwatch ${await entryMoved(watch, wire, env, kw, t0, 'preempt')} ms after its first advert as master`);

      t0 = Date.now();
      await kw.signal('SIGKILL');
      await waitFor('keepalived takes over after kill -9 of keepwatch', () => ka.state === 'master' && env.lab.holders(VIP6).includes('r2'), 10_000);
      t.diagnostic(`kill -9 of keepwatch: client entry on keepalived ${await entryMoved(watch, wire, env, ka, t0, 'kill -9')} ms after its first advert as master`);
      checkWire6(await cap.stop(), env.lab.host('r1').mac);
    } finally {
      watch.stop();
      wire.stop();
    }
  }, HOSTS6);
});

test('interop VRRPv2 AH unicast 1 s: keepwatch master, keepalived backup; SIGTERM hands over, preempt back; no ICMP protocol-unreachable', { skip: !haveKeepalived && 'keepalived not installed' }, async () => {
  await withLab(async (env) => {
    const unicast = (priority: number, self: string, peer: string): InstanceSpec => ({ ...ahInstance(priority, 'ahsecret'), unicastSrc: self, unicastPeers: [peer] });
    // ICMP errors either host sends about the other's AH adverts (no raw socket for protocol 51 there).
    const icmpFile = join(env.dir, 'icmp.pcap');
    const icmp = env.lab.spawn('r1', 'tcpdump', ['-i', 'eth0', '--immediate-mode', '-U', '-n', '-w', icmpFile, 'icmp[icmptype] == 3 and icmp[icmpcode] == 2']);
    await sleep(300);
    const kw = env.router('r1', 'keepwatch', { instances: [unicast(150, '10.251.0.1', '10.251.0.2')] });
    const ka = env.router('r2', 'keepalived', { instances: [unicast(100, '10.251.0.2', '10.251.0.1')] });
    ka.start();
    kw.start();
    await ahSettled(env, kw, ka, 'keepwatch master, keepalived backup (unicast), client ARP on r1');
    await sleep(2500);
    assert.equal(ka.state, 'backup', "keepalived verifies keepwatch's unicast AH adverts (TTL left out of the ICV)");
    await kw.signal('SIGTERM');
    await waitFor('keepalived takes over on the priority-0 advert', () => ka.state === 'master' && env.lab.holders(VIP).includes('r2'), 5000);
    await ahClientArpOn(env, 'r2', 'after SIGTERM');
    kw.start();
    // keepwatch's sockets are open once it logs its first state: from then on, keepalived's unicast
    // AH adverts to it must meet a protocol-51 socket (while keepwatch was down, the kernel said
    // "protocol unreachable", as it would to any stopped keepalived).
    await waitFor('keepwatch restarted as backup', () => kw.state === 'backup', 10_000, 10);
    const upSinceS = Date.now() / 1000;
    await ahSettled(env, kw, ka, 'keepwatch preempts back (unicast), client ARP on r1');
    assert.deepEqual(keepalivedAhComplaints(ka), []);
    for (const reason of ['auth-mismatch', 'auth-type-mismatch', 'ah-replay']) {
      assert.ok(!(metric(env, 'r1', 'keepwatch_vrrp_adverts_dropped_total', { reason }) > 0), `keepwatch dropped adverts as ${reason}`);
    }
    await sleep(300);
    icmp.kill('SIGINT');
    await new Promise((r) => icmp.once('exit', r));
    const unreachable = spawnSync('tcpdump', ['-nn', '-tt', '-r', icmpFile], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    const whileUp = unreachable.filter((l) => Number(l.split(' ')[0]) > upSinceS);
    assert.deepEqual(whileUp, [], 'no ICMP protocol-unreachable for AH adverts while keepwatch runs');
  });
});
