/**
 * Sends adverts with `raw-socket`: one socket per interface and family, bound to the interface
 * (SO_BINDTODEVICE), multicast loopback off (keepalived does the same: we never hear ourselves).
 * IPv4 uses IP_HDRINCL with the header keepalived sends (TOS 0xc0, TTL 255 or `unicast_ttl`, no
 * DF, an IP ID counter per instance); IPv6 lets the kernel build the header (traffic class 0xc0,
 * source = the interface's link-local address; hop limit 255 for multicast, and for unicast
 * `unicast_ttl` or else the kernel's default, as keepalived leaves it: 64 here, seen with tcpdump),
 * one socket per unicast hop limit. VRRPv2 `auth_type AH` goes out as IP protocol 51
 * through a socket of that protocol (keepalived's too: its presence also keeps the kernel from
 * answering received unicast AH adverts with ICMP protocol-unreachable), each packet sealed by the
 * codec (protocol/ah.ts) with its own IP ID and ICV. The codec encodes; this adapter only sends.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { encodeAdvert } from '../protocol/advert.js';
import { encodeAhAdvertPacket } from '../protocol/ah.js';
import { IPPROTO_AH, IPPROTO_VRRP, VRRP_TOS, VRRP_TTL } from '../protocol/constants.js';
import { buildIpv4Header } from '../protocol/frame.js';
import { finishChecksum, ipBytes, sumWords, type IpFamily } from '../protocol/inet.js';
import type { AdvertTransport, OutgoingAdvert } from '../ports/index.js';
import { HostError, isPermissionError, privilegeError, describe } from './errors.js';

const require = createRequire(import.meta.url);

interface RawSocket {
  /** raw-socket's native handle: `send` calls sendto(2) at once (the public `send` waits a poll). */
  wrap: { send(buf: Buffer, offset: number, length: number, address: string, after: (bytes: number) => void): void };
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
  send(buf: Buffer, offset: number, length: number, address: string, before: (() => void) | null, after: (err: Error | null, bytes: number) => void): void;
  pauseRecv(): void;
  close(): void;
  on(event: 'error', fn: (err: Error) => void): void;
}
interface RawModule {
  createSocket(opts: { protocol: number; addressFamily: number; bufferSize?: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
  SocketLevel: { SOL_SOCKET: number; IPPROTO_IP: number; IPPROTO_IPV6: number };
  SocketOption: { IP_HDRINCL: number; SO_BINDTODEVICE: number };
}

// Linux socket option numbers raw-socket does not export.
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IPV6_ADD_MEMBERSHIP = 20;
const IPV6_CHECKSUM = 7;
const IPV6_UNICAST_HOPS = 16;
const IPV6_MULTICAST_HOPS = 18;
const IPV6_MULTICAST_LOOP = 19;
const IPV6_TCLASS = 67;

/** Writes the IPv4 identification field and recomputes the header checksum. */
function setIpv4Id(packet: Buffer, id: number): void {
  packet[4] = (id >> 8) & 0xff;
  packet[5] = id & 0xff;
  packet[10] = 0;
  packet[11] = 0;
  const sum = finishChecksum(sumWords(packet, 0, 20));
  packet[10] = sum >> 8;
  packet[11] = sum & 0xff;
}

export type SendErrorHandler = (advert: OutgoingAdvert, destination: string, error: Error) => void;

export class RawSocketTransport implements AdvertTransport {
  private readonly raw: RawModule = require('raw-socket') as RawModule;
  private readonly sockets = new Map<string, RawSocket>();
  private readonly ipIds = new Map<string, number>();
  /**
   * Encoded packets per advert content (the router reuses one fields object per priority) and per
   * source/destination: an advert is encoded once, then only its IP ID and header checksum change.
   */
  private readonly packets = new WeakMap<object, Map<string, { source: string; checksumAsV2: boolean; ttl: number | undefined; packet: Buffer }>>();

  constructor(private readonly onError: SendErrorHandler) {}

  /**
   * Opens the socket for an interface ahead of time, so privilege problems show at start.
   * `ah`: the IPv4 socket for `auth_type AH` adverts (IP protocol 51) too; otherwise it opens at
   * the first AH advert.
   */
  open(iface: string, family: IpFamily, opts: { ah?: boolean; group?: string } = {}): void {
    if (opts.group) {
      const key = `${iface}|${family}`;
      const groups = this.groups.get(key) ?? new Set<string>();
      groups.add(opts.group);
      this.groups.set(key, groups);
    }
    const s = this.socketFor(iface, family, IPPROTO_VRRP);
    if (opts.group) this.join(s, iface, family, opts.group);
    if (opts.ah && family === 'ipv4') this.socketFor(iface, family, IPPROTO_AH);
  }

  /** The multicast groups each interface's VRRP socket is a member of (rejoined after a reset). */
  private readonly groups = new Map<string, Set<string>>();

  /**
   * Joins the VRRP group on the interface, as keepalived's receive socket does: the kernel then
   * programs the NIC's multicast filter, so a card that filters multicast delivers the adverts
   * (libpcap captures without promiscuous mode and joins nothing). Best effort: a failure is
   * reported as a send error of the next advert, never a crash.
   */
  private join(s: RawSocket, iface: string, family: IpFamily, group: string): void {
    let ifindex: number;
    try {
      ifindex = Number(readFileSync(`/sys/class/net/${iface}/ifindex`, 'utf8').trim());
    } catch {
      return;
    }
    try {
      if (family === 'ipv4') {
        const mreqn = Buffer.alloc(12);
        Buffer.from(ipBytes(group)).copy(mreqn, 0);
        mreqn.writeInt32LE(ifindex, 8);
        s.setOption(this.raw.SocketLevel.IPPROTO_IP, IP_ADD_MEMBERSHIP, mreqn, mreqn.length);
      } else {
        const mreq = Buffer.alloc(20);
        Buffer.from(ipBytes(group)).copy(mreq, 0);
        mreq.writeInt32LE(ifindex, 16);
        s.setOption(this.raw.SocketLevel.IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, mreq, mreq.length);
      }
    } catch (err) {
      if (!/EADDRINUSE|Address already in use/i.test(describe(err))) throw new HostError('socket', `cannot join ${group} on ${iface}: ${describe(err)}`, { cause: err });
    }
  }

  send(advert: OutgoingAdvert): void {
    const ah = advert.family === 'ipv4' && advert.fields.ah !== undefined;
    let socket: RawSocket;
    try {
      socket = this.socketFor(advert.interface, advert.family, ah ? IPPROTO_AH : IPPROTO_VRRP, advert.family === 'ipv6' ? advert.ttl : undefined);
    } catch (err) {
      for (const d of advert.destinations) this.onError(advert, d, err as Error);
      return;
    }
    // One IP ID per advert, shared by its unicast copies (keepalived: observed).
    const id = ((this.ipIds.get(advert.instance) ?? 0) % 0xffff) + 1;
    this.ipIds.set(advert.instance, id);
    if (ah) {
      // Every AH packet is new: its sequence number, IP ID and destination are in the ICV.
      for (const destination of advert.destinations) {
        const packet = encodeAhAdvertPacket(advert.fields, { source: advert.source, destination, id, ...(advert.ttl !== undefined ? { ttl: advert.ttl } : {}) });
        this.sendNow(socket, Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength), advert, destination);
      }
      return;
    }
    let perFields = this.packets.get(advert.fields);
    if (!perFields) {
      perFields = new Map();
      this.packets.set(advert.fields, perFields);
    }
    for (const destination of advert.destinations) {
      // Keyed by destination; rebuilt when the source address (or the checksum variant) changes.
      let cached = perFields.get(destination);
      const checksumAsV2 = advert.checksumAsV2;
      if (!cached || cached.source !== advert.source || cached.checksumAsV2 !== checksumAsV2 || cached.ttl !== advert.ttl) {
        const msg = encodeAdvert(advert.fields, { family: advert.family, source: advert.source, destination, checksumAsV2 });
        const ttl = advert.ttl !== undefined ? { ttl: advert.ttl } : {};
        const packet = advert.family === 'ipv4'
          ? Buffer.concat([buildIpv4Header({ source: ipBytes(advert.source), destination: ipBytes(destination), payloadLength: msg.length, id: 0, ...ttl }), msg])
          : Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
        cached = { source: advert.source, checksumAsV2, ttl: advert.ttl, packet };
        perFields.set(destination, cached);
      }
      const packet = cached.packet;
      if (advert.family === 'ipv4') setIpv4Id(packet, id);
      this.sendNow(socket, packet, advert, destination);
    }
  }

  /**
   * sendto(2) right away through raw-socket's native handle: its public `send` queues until the
   * next poll of the socket, which measured ~1 ms late here, after the GARPs of the same takeover.
   * If the kernel can't take it now (EAGAIN/ENOBUFS), fall back to the queued path.
   */
  private sendNow(socket: RawSocket, packet: Buffer, advert: OutgoingAdvert, destination: string): void {
    try {
      socket.wrap.send(packet, 0, packet.length, destination, () => {});
    } catch (err) {
      if (/EAGAIN|EWOULDBLOCK|ENOBUFS|temporarily unavailable|No buffer space/i.test(describe(err))) {
        const copy = Buffer.from(packet); // the cached packet changes with the next advert
        socket.send(copy, 0, copy.length, destination, null, (e) => {
          if (e) this.onError(advert, destination, e);
        });
      } else {
        this.onError(advert, destination, err as Error);
      }
    }
  }

  close(): void {
    for (const s of this.sockets.values()) {
      try {
        s.close();
      } catch {
        /* closing is best effort */
      }
    }
    this.sockets.clear();
  }

  /** Closes the sockets of one interface (it went away); the next send reopens them. */
  reset(iface: string): void {
    for (const [key, s] of this.sockets) {
      if (!key.startsWith(`${iface}|`)) continue;
      try {
        s.close();
      } catch {
        /* best effort */
      }
      this.sockets.delete(key);
    }
    // A backup sends nothing: reopen at once where we are a group member, so the membership (and
    // the NIC's multicast filter) comes back with the link, not with the first advert we send.
    for (const key of this.groups.keys()) {
      const [name, family] = key.split('|') as [string, IpFamily];
      if (name !== iface) continue;
      try {
        this.socketFor(name, family, IPPROTO_VRRP);
      } catch {
        /* the next send reports it */
      }
    }
  }

  /** `unicastHops`: IPv6 only, the hop limit of unicast sends (undefined: the kernel's default). */
  private socketFor(iface: string, family: IpFamily, protocol: number, unicastHops?: number): RawSocket {
    const key = `${iface}|${family}|${protocol}|${unicastHops ?? ''}`;
    const existing = this.sockets.get(key);
    if (existing) return existing;
    const { raw } = this;
    const what = protocol === IPPROTO_AH ? 'VRRP with AH (IP protocol 51)' : 'VRRP';
    let s: RawSocket;
    try {
      s = raw.createSocket({ protocol, addressFamily: family === 'ipv4' ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6, bufferSize: 256 });
    } catch (err) {
      if (isPermissionError(err)) throw privilegeError('CAP_NET_RAW', `sending ${what} adverts (raw socket)`, err);
      throw new HostError('socket', `cannot open a raw socket for ${what} on ${iface}: ${describe(err)}`, { cause: err });
    }
    // Receiving is pcap's job: never wake up for what this socket would queue.
    s.pauseRecv();
    s.on('error', () => {
      /* send errors arrive through the send callback */
    });
    try {
      const dev = Buffer.from(`${iface}\0`);
      s.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, dev, dev.length);
      if (family === 'ipv4') {
        s.setOption(raw.SocketLevel.IPPROTO_IP, raw.SocketOption.IP_HDRINCL, 1);
        s.setOption(raw.SocketLevel.IPPROTO_IP, IP_MULTICAST_LOOP, 0);
      } else {
        const L = raw.SocketLevel.IPPROTO_IPV6;
        s.setOption(L, IPV6_MULTICAST_HOPS, VRRP_TTL);
        if (unicastHops !== undefined) s.setOption(L, IPV6_UNICAST_HOPS, unicastHops);
        s.setOption(L, IPV6_MULTICAST_LOOP, 0);
        s.setOption(L, IPV6_TCLASS, VRRP_TOS);
        s.setOption(L, IPV6_CHECKSUM, 6);
      }
    } catch (err) {
      s.close();
      if (isPermissionError(err)) throw privilegeError('CAP_NET_RAW', `binding the VRRP socket to ${iface}`, err);
      if (/ENODEV|No such device/i.test(describe(err))) throw new HostError('interface', `interface ${iface} does not exist`, { cause: err });
      throw new HostError('socket', `cannot configure the VRRP socket on ${iface}: ${describe(err)}`, { cause: err });
    }
    this.sockets.set(key, s);
    if (protocol === IPPROTO_VRRP) for (const g of this.groups.get(`${iface}|${family}`) ?? []) this.join(s, iface, family, g);
    return s;
  }
}
