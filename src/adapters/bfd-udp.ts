/**
 * BFD's sockets (RFC 5881 §4, RFC 5883 §5): one UDP socket per session to send (source port
 * 49152-65535, bound to `source_ip` when given; TTL / hop limit `ttl`, 255 by default), and the
 * receive path.
 *
 * Receiving: RFC 5881 §5 requires the TTL of every received packet (255 single-hop; keepalived
 * reads IP_TTL / IPV6_HOPLIMIT ancillary data). Node's dgram sockets can't give it (no recvmsg,
 * no IP_RECVTTL) and a raw UDP socket would copy every UDP datagram of the host into
 * JavaScript. So packets are read with libpcap (the `pcap` module the agent already uses for
 * VRRP) on Linux's `any` device, with a kernel BPF filter that passes only inbound UDP to ports
 * 3784/4784, in immediate mode (`buffer_timeout: 0`): the IP header, TTL included, comes with
 * each one. Plain dgram sockets are still bound to 3784 (and 4784 with a multihop session), so
 * the port is ours (keepalived binds it too: two BFD speakers on one host would fight over it),
 * and their copies go to the handler as well: src/bfd/pairing.ts uses a packet only once both
 * copies are in, so a host firewall that drops BFD cuts the session (libpcap sees packets before
 * netfilter does) and the TTL is known.
 *
 * No protocol decisions here: frames go to the handler with their link type; src/bfd/ decodes.
 */
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { HostError, describe, isPermissionError, privilegeError } from './errors.js';

const require = createRequire(import.meta.url);

export const BFD_CAPTURE_FILTER = 'inbound and udp and (dst port 3784 or dst port 4784)';
const SINGLE_HOP_PORT = 3784;
const MULTIHOP_PORT = 4784;
const SOURCE_PORT_MIN = 49152;
const SOURCE_PORT_MAX = 65535;
/** The listening sockets' copies are only matched with the captured ones: 256 KiB is plenty. */
const LISTEN_RCVBUF = 256 * 1024;

interface PcapSession {
  readonly link_type: string;
  on(event: 'packet', fn: (p: { buf: Buffer; header: Buffer }) => void): void;
  close(): void;
}
interface PcapModule {
  createSession(device: string, options: { filter?: string; buffer_timeout?: number; buffer_size?: number; snap_length?: number; promiscuous?: boolean }): PcapSession;
}

/** What the adapter needs of a bfd_instance. */
export interface BfdEndpoint {
  readonly name: string;
  readonly neighbor: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly source?: string;
  readonly ttl: number;
  readonly multihop: boolean;
}

export type BfdFrameHandler = (frame: Uint8Array, link: 'sll' | 'ethernet') => void;
/** A datagram the listening socket got: its bytes, its source address and the port it reached. */
export type BfdSocketHandler = (payload: Uint8Array, source: string, port: number) => void;

export class BfdUdpTransport {
  private readonly senders = new Map<string, { socket: dgram.Socket; endpoint: BfdEndpoint; port: number }>();
  private readonly listeners: dgram.Socket[] = [];
  private capture: PcapSession | undefined;

  constructor(
    private readonly onFrame: BfdFrameHandler,
    private readonly onDatagram: BfdSocketHandler,
    private readonly onSendError: (name: string, error: Error) => void,
    /** Random in [0, 1): the first source port tried. */
    private readonly random: () => number = Math.random,
  ) {}

  /** Opens the capture, the listening ports and one sender per endpoint. Throws a HostError. */
  async open(endpoints: readonly BfdEndpoint[]): Promise<void> {
    if (endpoints.length === 0) return;
    this.openCapture();
    const ports = new Set(endpoints.map((e) => (e.multihop ? MULTIHOP_PORT : SINGLE_HOP_PORT)));
    for (const port of ports) this.listeners.push(await listen(port, (msg, address) => this.onDatagram(msg, address, port)));
    for (const e of endpoints) await this.addSender(e);
  }

  /** The source port a session sends from (tests, /v1/state). */
  sourcePort(name: string): number | undefined {
    return this.senders.get(name)?.port;
  }

  send(name: string, bytes: Uint8Array): void {
    const s = this.senders.get(name);
    if (!s) return;
    const port = s.endpoint.multihop ? MULTIHOP_PORT : SINGLE_HOP_PORT;
    s.socket.send(bytes, port, s.endpoint.neighbor, (err) => {
      if (err) this.onSendError(name, err);
    });
  }

  close(): void {
    for (const s of this.senders.values()) closeQuietly(s.socket);
    this.senders.clear();
    for (const l of this.listeners.splice(0)) closeQuietly(l);
    try {
      this.capture?.close();
    } catch {
      /* best effort */
    }
    this.capture = undefined;
  }

  private openCapture(): void {
    const pcap = require('pcap') as PcapModule;
    let session: PcapSession;
    try {
      session = pcap.createSession('any', { filter: BFD_CAPTURE_FILTER, buffer_timeout: 0, buffer_size: 1024 * 1024, snap_length: 256, promiscuous: false });
    } catch (err) {
      const m = describe(err);
      if (isPermissionError(err) || /permission|privilege/i.test(m)) throw privilegeError('CAP_NET_RAW', 'capturing BFD packets (libpcap, device any)', err);
      throw new HostError('libpcap', `libpcap could not capture BFD packets on device any: ${m}`, { cause: err });
    }
    const link = session.link_type === 'LINKTYPE_ETHERNET' ? 'ethernet' : 'sll';
    session.on('packet', (p) => {
      const caplen = p.header.readUInt32LE(8);
      this.onFrame(p.buf.subarray(0, caplen), link);
    });
    this.capture = session;
  }

  /** RFC 5881 §4: a source port from 49152-65535, tried from a random one upwards. */
  private async addSender(e: BfdEndpoint): Promise<void> {
    const span = SOURCE_PORT_MAX - SOURCE_PORT_MIN + 1;
    const first = Math.floor(this.random() * span);
    let lastError: unknown;
    for (let i = 0; i < span; i++) {
      const port = SOURCE_PORT_MIN + ((first + i) % span);
      const socket = dgram.createSocket({ type: e.family === 'ipv4' ? 'udp4' : 'udp6' });
      try {
        await bind(socket, port, e.source);
        socket.setTTL(e.ttl);
        socket.on('error', (err) => this.onSendError(e.name, err));
        this.senders.set(e.name, { socket, endpoint: e, port });
        return;
      } catch (err) {
        closeQuietly(socket);
        lastError = err;
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      }
    }
    const m = describe(lastError);
    if ((lastError as NodeJS.ErrnoException | undefined)?.code === 'EADDRNOTAVAIL') throw new HostError('interface', `bfd_instance ${e.name}: source_ip ${e.source} is not an address of this host (${m})`, { cause: lastError });
    throw new HostError('socket', `bfd_instance ${e.name}: no UDP source port from ${SOURCE_PORT_MIN}-${SOURCE_PORT_MAX} could be bound (${m})`, { cause: lastError });
  }
}

function bind(socket: dgram.Socket, port: number, address?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ port, ...(address ? { address } : {}), exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

/** A socket on the BFD port (IPv6 and IPv4-mapped; IPv4 alone when the host has no IPv6). */
async function listen(port: number, onMessage: (msg: Buffer, address: string) => void): Promise<dgram.Socket> {
  const tryBind = async (type: 'udp4' | 'udp6'): Promise<dgram.Socket> => {
    const s = dgram.createSocket({ type, recvBufferSize: LISTEN_RCVBUF });
    s.on('message', (msg, rinfo) => onMessage(msg, rinfo.address));
    try {
      await bind(s, port, type === 'udp6' ? '::' : '0.0.0.0');
      s.on('error', () => {});
      return s;
    } catch (err) {
      closeQuietly(s);
      throw err;
    }
  };
  try {
    return await tryBind('udp6');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new HostError('socket', `UDP port ${port} (BFD) is in use: is keepalived's BFD process (or another BFD speaker) running here?`, { cause: err });
    try {
      return await tryBind('udp4');
    } catch (err4) {
      throw new HostError('socket', `could not bind UDP port ${port} (BFD): ${describe(err4)}`, { cause: err4 });
    }
  }
}

function closeQuietly(s: dgram.Socket): void {
  try {
    s.close();
  } catch {
    /* already closed */
  }
}
