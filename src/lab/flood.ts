/**
 * `keepwatch flood`: a lab tool that sends invalid VRRP adverts at a fixed rate (raw socket,
 * IP_HDRINCL), to show that they cost little, are counted by reason, and never move an election.
 * Run it only inside a lab namespace: it sends to the VRRP multicast group on one interface.
 *
 *   keepwatch flood --interface eth0 --source 10.250.0.66 --vrid 51 --rate 5000 --seconds 5
 *
 * The mix (each a takeover attempt at priority 254 if it were accepted): wrong TTL, bad checksum,
 * wrong version, wrong type, wrong auth_pass, wrong advert interval, unknown VRID.
 * `--only REASON` sends one kind only, including kinds outside the mix: `--version 3 --only
 * interval-invalid` is a valid VRRPv3 advert with Max Adver Int 0 (correct checksum).
 */
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { computeChecksum, encodeAdvert, passwordAuthData } from '../protocol/advert.js';
import { buildIpv4Header } from '../protocol/frame.js';
import { AUTH_PASS, VRRP_MCAST_GROUP4 } from '../protocol/constants.js';
import { ipBytes } from '../protocol/inet.js';

const require = createRequire(import.meta.url);

export interface FloodSpec {
  readonly source: string;
  readonly vrid: number;
  readonly vip: string;
  /** The version the target runs: the mix is built to hit each of its checks. */
  readonly version?: 2 | 3;
  readonly destination?: string;
  /** Only the packets dropped for this reason (may name one outside the default mix). */
  readonly only?: string;
}

/** The invalid adverts, as IPv4 packets (header + VRRP), each with the reason it must be dropped for. */
export function floodPackets(spec: FloodSpec): { reason: string; packet: Buffer }[] {
  const dst = spec.destination ?? VRRP_MCAST_GROUP4;
  const version = spec.version ?? 2;
  const advert = (over: { vrid?: number; interval?: number; version?: 2 | 3 } = {}) => {
    const v = over.version ?? version;
    return encodeAdvert(
      { version: v, vrid: over.vrid ?? spec.vrid, priority: 254, advertIntervalMs: (over.interval ?? 1) * 1000, addresses: [spec.vip], ...(v === 2 ? { authType: AUTH_PASS, authData: passwordAuthData('not-it!') } : {}) },
      { family: 'ipv4', source: spec.source, destination: dst },
    );
  };
  const packet = (msg: Uint8Array, ttl = 255, mutate?: (m: Uint8Array) => void): Buffer => {
    const m = new Uint8Array(msg);
    mutate?.(m);
    return Buffer.concat([buildIpv4Header({ source: ipBytes(spec.source), destination: ipBytes(dst), payloadLength: m.length, id: 1, ttl }), m]);
  };
  const common = [
    { reason: 'ttl-not-255', packet: packet(advert(), 64) },
    { reason: 'checksum-invalid', packet: packet(advert(), 255, (m) => (m[7] = m[7]! ^ 0x5a)) },
    { reason: 'version-invalid', packet: packet(advert(), 255, (m) => (m[0] = 0x41)) },
    { reason: 'type-invalid', packet: packet(advert(), 255, (m) => (m[0] = (version << 4) | 2)) },
    { reason: 'vrid-not-configured', packet: packet(advert({ vrid: ((spec.vrid + 100) % 255) + 1 })) },
  ];
  // VRRPv2 targets also check auth and the interval; VRRPv3 targets see a VRRPv2 advert.
  const mix =
    version === 2
      ? [...common, { reason: 'auth-mismatch', packet: packet(advert()) }, { reason: 'interval-mismatch', packet: packet(advert({ interval: 7 })) }]
      : [...common, { reason: 'version-mismatch', packet: packet(advert({ version: 2 })) }];
  if (spec.only === undefined) return mix;
  // Outside the mix (sent with --only): a VRRPv3 advert that passes every other check, with Max
  // Adver Int 0 (the encoder clamps to 1 cs, so the field is zeroed and the checksum redone).
  const extra =
    version === 3
      ? [
          {
            reason: 'interval-invalid',
            packet: packet(advert(), 255, (m) => {
              m[4] = m[4]! & 0xf0;
              m[5] = 0;
              m[6] = 0;
              m[7] = 0;
              const sum = computeChecksum(m, 3, 'ipv4', ipBytes(spec.source), ipBytes(dst));
              m[6] = sum >> 8;
              m[7] = sum & 0xff;
            }),
          },
        ]
      : [];
  const chosen = [...mix, ...extra].filter((p) => p.reason === spec.only);
  if (chosen.length === 0) throw new Error(`--only ${spec.only}: not one of ${[...mix, ...extra].map((p) => p.reason).join(', ')} (VRRPv${version})`);
  return chosen;
}

interface RawSocket {
  wrap: { send(buf: Buffer, offset: number, length: number, address: string, after: (bytes: number) => void): void };
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
  pauseRecv(): void;
  close(): void;
}

/** Sends the mix round-robin at `rate` packets/s for `seconds`; resolves with the count sent. */
export async function flood(opts: { iface: string; spec: FloodSpec; rate: number; seconds: number }): Promise<{ sent: number; errors: number }> {
  const raw = require('raw-socket') as {
    createSocket(o: object): RawSocket;
    AddressFamily: { IPv4: number };
    SocketLevel: { SOL_SOCKET: number; IPPROTO_IP: number };
    SocketOption: { IP_HDRINCL: number; SO_BINDTODEVICE: number };
  };
  const s = raw.createSocket({ protocol: 112, addressFamily: raw.AddressFamily.IPv4, bufferSize: 256 });
  s.pauseRecv();
  const dev = Buffer.from(`${opts.iface}\0`);
  s.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, dev, dev.length);
  s.setOption(raw.SocketLevel.IPPROTO_IP, raw.SocketOption.IP_HDRINCL, 1);
  const packets = floodPackets(opts.spec).map((p) => p.packet);
  const dst = opts.spec.destination ?? VRRP_MCAST_GROUP4;
  let sent = 0;
  let errors = 0;
  const start = Date.now();
  const end = start + opts.seconds * 1000;
  while (Date.now() < end) {
    // Catch up to the schedule every 5 ms.
    const due = Math.floor(((Date.now() - start) / 1000) * opts.rate);
    while (sent + errors < due) {
      const p = packets[(sent + errors) % packets.length]!;
      try {
        s.wrap.send(p, 0, p.length, dst, () => {});
        sent++;
      } catch {
        errors++;
      }
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  s.close();
  return { sent, errors };
}

export const FLOOD_USAGE = `Usage: keepwatch flood --source ADDR [--interface IF] [--vrid N] [--vip ADDR] [--version 2|3]
                       [--only REASON] [--rate PPS] [--seconds S]

A lab tool: sends invalid VRRP adverts (each a priority-254 takeover attempt if it were accepted)
to the VRRP multicast group at a fixed rate, to show they are counted by reason and never move an
election. Root, and only inside a lab namespace (keepwatch lab, test/net).
  --source ADDR      this namespace's address: the adverts' source (required)
  --interface IF     where to send (default eth0)
  --vrid N           the VRID the target serves (default 51); one kind uses another VRID
  --vip ADDR         the address listed in the adverts (default 192.0.2.1)
  --version 2|3      the VRRP version the target runs: the mix hits each of its checks (default 2)
  --only REASON      one kind only: ttl-not-255, checksum-invalid, version-invalid, type-invalid,
                     vrid-not-configured, auth-mismatch, interval-mismatch (v2), version-mismatch,
                     interval-invalid (v3)
  --rate PPS         packets per second (default 5000)
  --seconds S        how long (default 5)
  -h, --help         this text
Prints {"sent":N,"errors":N} when done. Exit status: 0 sent, 2 bad arguments.`;

export async function runFlood(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        interface: { type: 'string', default: 'eth0' },
        source: { type: 'string' },
        vrid: { type: 'string', default: '51' },
        vip: { type: 'string', default: '192.0.2.1' },
        version: { type: 'string', default: '2' },
        rate: { type: 'string', default: '5000' },
        seconds: { type: 'string', default: '5' },
        only: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`keepwatch flood: ${(err as Error).message}\n\n${FLOOD_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${FLOOD_USAGE}\n`);
    return 0;
  }
  if (!values.source) {
    process.stderr.write('keepwatch flood: --source ADDRESS (this namespace\'s address) is required\n');
    return 2;
  }
  const spec: FloodSpec = { source: values.source, vrid: Number(values.vrid), vip: values.vip!, version: values.version === '3' ? 3 : 2, ...(values.only ? { only: values.only } : {}) };
  try {
    floodPackets(spec);
  } catch (err) {
    process.stderr.write(`keepwatch flood: ${(err as Error).message}\n`);
    return 2;
  }
  const r = await flood({ iface: values.interface!, spec, rate: Number(values.rate), seconds: Number(values.seconds) });
  process.stdout.write(`${JSON.stringify(r)}\n`);
  return 0;
}
