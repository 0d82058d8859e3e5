/**
 * Interop with Debian's keepalived (root only), in both roles: VRRPv2 with PASS auth at 1 s and
 * VRRPv3 at 0.1 s. A capture in the client namespace is decoded by tshark afterwards: every advert
 * and gratuitous ARP keepwatch sent must be well-formed VRRP/ARP with a good checksum.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { withLab, waitFor, sleep, VIP, type NetEnv } from './helpers.js';
import type { LabRouter, InstanceSpec } from '../../src/lab/routers.js';

const haveKeepalived = spawnSync('keepalived', ['--version']).status === 0;
const haveTshark = spawnSync('tshark', ['-v']).status === 0;

const V2: Omit<InstanceSpec, 'priority'> = { advertInt: 1, password: 'interop1', vips: [`${VIP}/24`], garpMasterDelay: 1, garpMasterRepeat: 2 };
const V3: Omit<InstanceSpec, 'priority'> = { version: 3, advertInt: 0.1, vips: [`${VIP}/24`], garpMasterDelay: 1, garpMasterRepeat: 2 };

function holdsAlone(env: NetEnv, r: LabRouter): boolean {
  const living = env.lab.holders(VIP).filter((h) => env.routers.find((x) => x.host === h)?.running);
  return r.state === 'master' && living.length === 1 && living[0] === r.host;
}

async function capture(env: NetEnv, name: string): Promise<{ stop: () => Promise<string> }> {
  const file = join(env.dir, `${name}.pcap`);
  const proc = env.lab.spawn('client', 'tcpdump', ['-i', 'eth0', '--immediate-mode', '-U', '-n', '-w', file, 'ip proto 112 or arp']);
  await sleep(300);
  return {
    stop: async () => {
      // Immediate mode and a moment before SIGINT: tcpdump drops what it has not read yet.
      await sleep(300);
      proc.kill('SIGINT');
      await new Promise((r) => proc.once('exit', r));
      return file;
    },
  };
}

/** Every VRRP and ARP frame from `mac` in the capture, as tshark decodes it. */
function decodeFrom(file: string, mac: string): { vrrp: string[][]; arp: string[][]; malformed: string[] } {
  const fields = (filter: string, ...f: string[]) =>
    spawnSync('tshark', ['-r', file, '-Y', `${filter} && eth.src == ${mac}`, '-T', 'fields', '-E', 'separator=|', ...f.flatMap((x) => ['-e', x])], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('|'));
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
      kw.start();
      await waitFor('keepwatch preempts back', () => holdsAlone(env, kw) && ka.state === 'backup', 15_000);
      checkWire(await cap.stop(), env.lab.host('r1').mac, version);
    });
  });
}
