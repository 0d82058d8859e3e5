/**
 * use_vmac / use_ipvlan in the core: adverts go out on the instance's link (or its interface with
 * vmac_xmit_base) from the interface's address (the ipvlan's with use_ipvlan); the VIPs and their
 * gratuitous ARPs are on the link, with the virtual router MAC; the adverts are heard there, and a
 * peer's advert carrying that same virtual MAC is the peer's, not our own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VrrpEngine } from '../../../src/core/engine.js';
import { advertInterface } from '../../../src/core/router.js';
import { encodeAdvert } from '../../../src/protocol/advert.js';
import { buildEthernetFrame, buildIpv4Header, multicastMac, parseEthernet } from '../../../src/protocol/frame.js';
import { parseArp } from '../../../src/protocol/arp.js';
import { ipBytes, parseMac } from '../../../src/protocol/inet.js';
import { AgentBus } from '../../../src/events/index.js';
import type { VirtualLinkConfig, VrrpInstanceConfig } from '../../../src/config/model.js';
import type { OutgoingAdvert, VipAssignment } from '../../../src/ports/index.js';
import { FakeClock } from '../../fakes/clock.js';
import { instance, vip } from '../../helpers/instances.js';

const VMAC = '00:00:5e:00:01:33';
const loc = { file: 'test.conf', line: 1, column: 1 };
const link = (extra: Partial<VirtualLinkConfig> = {}): VirtualLinkConfig => ({ kind: 'macvlan', name: 'vrrp.51', base: 'eth0', mac: VMAC, family: 'ipv4', xmitBase: false, location: loc, ...extra });
/** VRRPv3 at 0.1 s, VIP 10.0.0.100 on the link (as config/vmac.ts places it). */
const withVmac = (priority: number, l: VirtualLinkConfig | undefined = link()): VrrpInstanceConfig => ({
  ...instance({ priority, version: 3, advertIntervalMs: 100, garpMasterDelayMs: 0, garpMasterRepeat: 1 }),
  virtualAddresses: [vip('10.0.0.100/24', l?.kind === 'macvlan' ? { device: l.name } : {})],
  ...(l ? { vmac: l } : {}),
});

function node(config: VrrpInstanceConfig) {
  const clock = new FakeClock();
  const sent: OutgoingAdvert[] = [];
  const injected: { iface: string; frame: Uint8Array }[] = [];
  const vips: VipAssignment[] = [];
  const macs: Record<string, string> = { eth0: '02:00:00:00:00:01', 'vrrp.51': VMAC, iv0: '02:00:00:00:00:01' };
  const bus = new AgentBus();
  const engine = new VrrpEngine([config], {
    clock,
    transport: { send: (a) => void sent.push(a) },
    addresses: { add: (a) => void vips.push(a), remove: () => {} },
    frames: { inject: (iface, frame) => void injected.push({ iface, frame }) },
    interfaces: { mac: (i) => macs[i], primaryAddress: (i, f) => (i === 'eth0' && f === 'ipv4' ? '10.0.0.1' : undefined) },
    events: bus,
  });
  return { clock, sent, injected, vips, engine, router: engine.routers.get(config.name)! };
}

/** A VRRPv3 advert from 10.0.0.2 (priority `prio`), in an Ethernet frame from `mac`. */
function peerAdvert(prio: number, mac: string): Uint8Array {
  const msg = encodeAdvert({ version: 3, vrid: 51, priority: prio, advertIntervalMs: 100, addresses: ['10.0.0.100'], authType: 0 }, { family: 'ipv4', source: '10.0.0.2', destination: '224.0.0.18', checksumAsV2: false });
  const ip = buildIpv4Header({ source: ipBytes('10.0.0.2'), destination: ipBytes('224.0.0.18'), payloadLength: msg.length, id: 1 });
  const packet = new Uint8Array(ip.length + msg.length);
  packet.set(ip);
  packet.set(msg, ip.length);
  return buildEthernetFrame(multicastMac(ipBytes('224.0.0.18')), parseMac(mac)!, 0x0800, packet);
}

test('a use_vmac master: adverts out on the macvlan from the interface address; VIPs and GARPs there, with the virtual MAC', () => {
  const n = node(withVmac(150));
  n.engine.start();
  n.clock.advance(1000);
  assert.equal(n.router.state, 'master');
  assert.deepEqual([...new Set(n.sent.map((a) => `${a.interface} ${a.source}`))], ['vrrp.51 10.0.0.1']);
  assert.deepEqual(n.vips.map((a) => a.interface), ['vrrp.51']);
  const garps = n.injected.map(({ iface, frame }) => ({ iface, eth: parseEthernet(frame)! })).map(({ iface, eth }) => ({ iface, src: eth.sourceMac, arp: parseArp(eth)! }));
  assert.ok(garps.length > 0);
  for (const g of garps) assert.deepEqual([g.iface, g.arp.senderMac, g.arp.senderIp], ['vrrp.51', VMAC, '10.0.0.100']);
  assert.deepEqual(n.engine.interfaces, ['vrrp.51'], 'the capture is opened on the macvlan');
});

test("a peer's advert on the macvlan carries our virtual MAC too: it is the peer's (a backup follows it), not our own", () => {
  const n = node(withVmac(100));
  n.engine.start();
  for (let t = 0; t < 20; t++) {
    const outcome = n.engine.handleFrame('vrrp.51', peerAdvert(150, VMAC), n.clock.now());
    assert.equal(outcome.kind, 'accepted');
    n.clock.advance(100);
  }
  assert.equal(n.router.state, 'backup', 'the peer is heard: no takeover');
  // Heard on the interface instead, the advert is not this instance's (keepalived listens on the macvlan).
  assert.equal(n.engine.handleFrame('eth0', peerAdvert(150, '02:00:00:00:00:02'), n.clock.now()).kind, 'dropped');
  // On a plain interface a frame from its own MAC is still our own.
  const plain = node(withVmac(100, undefined));
  assert.equal(plain.engine.handleFrame('eth0', peerAdvert(150, '02:00:00:00:00:01'), plain.clock.now()).kind, 'own');
});

test('vmac_xmit_base: adverts out and heard on the interface; the VIPs and GARPs stay on the macvlan', () => {
  const c = withVmac(150, link({ xmitBase: true }));
  assert.equal(advertInterface(c), 'eth0');
  const n = node(c);
  n.engine.start();
  n.clock.advance(1000);
  assert.equal(n.router.state, 'master');
  assert.deepEqual([...new Set(n.sent.map((a) => a.interface))], ['eth0']);
  assert.deepEqual([...new Set(n.injected.map((f) => f.iface))], ['vrrp.51']);
  assert.deepEqual(n.engine.interfaces, ['eth0']);
  assert.equal(n.engine.handleFrame('eth0', peerAdvert(200, '02:00:00:00:00:02'), n.clock.now()).kind, 'accepted');
});

test('use_ipvlan: adverts out on the ipvlan from its own address; the VIPs stay on the interface', () => {
  const c = withVmac(150, link({ kind: 'ipvlan', name: 'iv0', ipvlanMode: 'bridge', address: { address: '10.0.0.5', prefixLength: 24 } }));
  delete (c as { mac?: string }).mac;
  const n = node(c);
  n.engine.start();
  n.clock.advance(1000);
  assert.equal(n.router.state, 'master');
  assert.deepEqual([...new Set(n.sent.map((a) => `${a.interface} ${a.source}`))], ['iv0 10.0.0.5']);
  assert.deepEqual(n.vips.map((a) => a.interface), ['eth0']);
});
