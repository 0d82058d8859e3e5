/**
 * The IPVS adapter's generic netlink messages (adapters/ipvs.ts) against golden bytes written out
 * by hand from include/uapi/linux/ip_vs.h and the netlink attribute format (nla_len includes the
 * 4-byte header, payloads padded to 4; ports in network byte order, the rest in host order: the
 * goldens are little-endian, as every machine keepwatch ships for), and the plan that turns one
 * table into the next. CI cannot run these against a kernel: this one has no ip_vs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeOp, planIpvs } from '../../../src/adapters/ipvs.js';
import type { DataPlaneService } from '../../../src/ports/index.js';

/** Hex digits of a golden: each line's `|`-separated parts that are hex (the others are comments). */
const hex = (s: string) =>
  s
    .split('\n')
    .flatMap((l) => l.split('|').filter((part) => /^[\s0-9a-f]*$/i.test(part)))
    .join('')
    .replace(/\s+/g, '');

const SEED_003: DataPlaneService = {
  key: 'tcp 192.168.2.240:80',
  family: 'ipv4',
  address: '192.168.2.240',
  port: 80,
  protocol: 'tcp',
  scheduler: 'wlc',
  method: 'dr',
  persistenceTimeoutS: 60,
  realServers: [
    { address: '192.168.2.212', port: 80, weight: 3 },
    { address: '192.168.2.213', port: 80, weight: 3 },
  ],
};

test("IPVS_CMD_NEW_SERVICE for seed 003's virtual server (wlc, persistent 60 s)", () => {
  const golden = hex(`
    01 01 0000                                   | genl: cmd NEW_SERVICE, version 1
    5400 0100                                    | IPVS_CMD_ATTR_SERVICE, 84 bytes
      0600 0100 0200 0000                        |   AF = AF_INET (u16)
      0600 0200 0600 0000                        |   PROTOCOL = IPPROTO_TCP (u16)
      1400 0300 c0a802f0 000000000000000000000000 | ADDR = 192.168.2.240 (nf_inet_addr)
      0600 0400 0050 0000                        |   PORT = 80 (network order)
      0800 0600 776c6300                         |   SCHED_NAME = "wlc"
      0c00 0700 01000000 ffffffff                |   FLAGS = { PERSISTENT, mask ~0 }
      0800 0800 3c000000                         |   TIMEOUT = 60
      0800 0900 ffffffff                         |   NETMASK = 255.255.255.255
  `);
  assert.equal(encodeOp({ cmd: 'NEW_SERVICE', service: SEED_003 }).toString('hex'), golden);
});

test('IPVS_CMD_NEW_DEST: the service by its identity, the real server with DR, weight 3', () => {
  const golden = hex(`
    05 01 0000                                   | genl: cmd NEW_DEST, version 1
    3000 0100                                    | IPVS_CMD_ATTR_SERVICE, 48 bytes (identity only)
      0600 0100 0200 0000
      0600 0200 0600 0000
      1400 0300 c0a802f0 000000000000000000000000
      0600 0400 0050 0000
    4800 0200                                    | IPVS_CMD_ATTR_DEST, 72 bytes
      1400 0100 c0a802d4 000000000000000000000000 | ADDR = 192.168.2.212
      0600 0200 0050 0000                        |   PORT = 80
      0800 0300 03000000                         |   FWD_METHOD = IP_VS_CONN_F_DROUTE
      0800 0400 03000000                         |   WEIGHT = 3
      0800 0500 00000000                         |   U_THRESH
      0800 0600 00000000                         |   L_THRESH
      0600 0b00 0200 0000                        |   ADDR_FAMILY = AF_INET
  `);
  assert.equal(encodeOp({ cmd: 'NEW_DEST', service: SEED_003, dest: SEED_003.realServers[0]! }).toString('hex'), golden);
});

test('fwmark and IPv6 services, NAT and TUN methods, DEL_DEST without settings', () => {
  const fw: DataPlaneService = { key: 'fwmark 1 inet', family: 'ipv4', fwmark: 1, scheduler: 'rr', method: 'nat', persistenceTimeoutS: 0, realServers: [] };
  assert.equal(
    encodeOp({ cmd: 'DEL_SERVICE', service: fw }).toString('hex'),
    hex(`03 01 0000 | 1400 0100 | 0600 0100 0200 0000 | 0800 0500 01000000`),
  );
  const v6: DataPlaneService = { key: 'udp [2001:db8::1]:53', family: 'ipv6', address: '2001:db8::1', port: 53, protocol: 'udp', scheduler: 'sh', method: 'tun', persistenceTimeoutS: 0, persistenceGranularity: '64', realServers: [] };
  const svc = encodeOp({ cmd: 'SET_SERVICE', service: v6 }).toString('hex');
  assert.ok(svc.startsWith(hex(`02 01 0000`)));
  assert.ok(svc.includes(hex(`0600 0100 0a00 0000`)), 'AF_INET6');
  assert.ok(svc.includes(hex(`0600 0200 1100 0000`)), 'IPPROTO_UDP');
  assert.ok(svc.includes(hex(`1400 0300 20010db8000000000000000000000001`)), 'the address');
  assert.ok(svc.includes(hex(`0600 0400 0035 0000`)), 'port 53');
  assert.ok(svc.includes(hex(`0c00 0700 00000000 ffffffff`)), 'not persistent');
  assert.ok(svc.endsWith(hex(`0800 0900 40000000`)), 'NETMASK = prefix length 64');
  const tun = encodeOp({ cmd: 'NEW_DEST', service: v6, dest: { address: '2001:db8::10', port: 53, weight: 1 } }).toString('hex');
  assert.ok(tun.includes(hex(`0800 0300 02000000`)), 'IP_VS_CONN_F_TUNNEL');
  const nat = encodeOp({ cmd: 'NEW_DEST', service: fw, dest: { address: '10.0.0.1', weight: 2 } }).toString('hex');
  assert.ok(nat.includes(hex(`0800 0300 00000000`)), 'IP_VS_CONN_F_MASQ');
  assert.ok(nat.includes(hex(`0600 0200 0000 0000`)), 'port 0 under a fwmark service');
  const del = encodeOp({ cmd: 'DEL_DEST', service: SEED_003, dest: SEED_003.realServers[1]! }).toString('hex');
  assert.ok(del.endsWith(hex(`2000 0200 | 1400 0100 c0a802d5 000000000000000000000000 | 0600 0200 0050 0000`)), del);
});

test('the plan: only what changed, services removed first, weight and scheduler changes in place', () => {
  const other: DataPlaneService = { ...SEED_003, key: 'tcp 192.168.2.241:80', address: '192.168.2.241' };
  assert.deepEqual(
    planIpvs({ services: [] }, { services: [SEED_003] }).map((o) => o.cmd),
    ['NEW_SERVICE', 'NEW_DEST', 'NEW_DEST'],
  );
  assert.deepEqual(planIpvs({ services: [SEED_003] }, { services: [SEED_003] }), []);
  const down = { ...SEED_003, realServers: [SEED_003.realServers[0]!] };
  const plan = planIpvs({ services: [SEED_003, other] }, { services: [{ ...down, scheduler: 'rr' }] });
  assert.deepEqual(
    plan.map((o) => [o.cmd, o.service.key, 'dest' in o ? o.dest.address : '']),
    [
      ['DEL_SERVICE', 'tcp 192.168.2.241:80', ''],
      ['SET_SERVICE', 'tcp 192.168.2.240:80', ''],
      ['DEL_DEST', 'tcp 192.168.2.240:80', '192.168.2.213'],
    ],
  );
  const inhibited = { ...SEED_003, realServers: [SEED_003.realServers[0]!, { ...SEED_003.realServers[1]!, weight: 0 }] };
  assert.deepEqual(
    planIpvs({ services: [SEED_003] }, { services: [inhibited] }).map((o) => o.cmd),
    ['SET_DEST'],
  );
});
