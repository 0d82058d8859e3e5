/**
 * Captures VRRP, ARP and IPv6 neighbour advertisements with `pcap`, one live session per
 * interface, in immediate mode (`buffer_timeout: 0`: the default 1 s buffer delayed adverts by a
 * median 421 ms here). The same sessions inject Ethernet frames (gratuitous ARP, ARP probes,
 * unsolicited NAs, neighbour solicitations). No protocol decisions here: each frame goes to the
 * handler with its capture time; the core decodes it.
 */
import { createRequire } from 'node:module';
import type { FrameInjector } from '../ports/index.js';
import { HostError, isPermissionError, privilegeError, describe } from './errors.js';

const require = createRequire(import.meta.url);

interface PcapSession {
  /** node-pcap's binding; `read_callback` dispatches every packet waiting in libpcap's buffer. */
  session: { read_callback?: () => void };
  on(event: 'packet', fn: (p: { buf: Buffer; header: Buffer }) => void): void;
  stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
  inject(data: Buffer): void;
  close(): void;
}
interface PcapModule {
  createSession(device: string, options: { filter?: string; buffer_timeout?: number; buffer_size?: number; snap_length?: number; promiscuous?: boolean }): PcapSession;
  warningHandler: (message: string) => void;
}

/**
 * VRRPv2 `auth_type AH`: IPv4 protocol 51 whose AH header's next-header byte (the first after
 * the IPv4 header, whatever its options) is VRRP; AH for anything else stays in the kernel.
 */
export const AH_VRRP_FILTER = '(ip proto 51 and ip[(ip[0] & 0xf) * 4] == 112)';

/**
 * VRRP over IPv4/IPv6, ARP, and IPv6 neighbour advertisements (ICMPv6 type 136, the first byte
 * after a plain IPv6 header: RFC 6980 keeps extension headers off ND) — the split-brain guard's
 * NDP counterpart of ARP; and VRRPv2 under AH (`AH_VRRP_FILTER`). Nothing else crosses into
 * JavaScript.
 */
export const CAPTURE_FILTER = `ip proto 112 or ip6 proto 112 or arp or (icmp6 and ip6[40] == 136) or ${AH_VRRP_FILTER}`;

/** How a session is opened (PcapCapture.open). */
export interface CaptureOptions {
  readonly excludeSourceMac?: string;
  readonly inboundOnly?: boolean;
}

/** (interface, frame bytes (valid only during the call), capture time in wall-clock µs). */
export type FrameHandler = (iface: string, frame: Uint8Array, wallUs: number) => void;

export interface CaptureStats {
  readonly received: number;
  readonly dropped: number;
  readonly interfaceDropped: number;
}

export class PcapCapture implements FrameInjector {
  private readonly pcap: PcapModule = require('pcap') as PcapModule;
  private readonly sessions = new Map<string, PcapSession>();
  /** Counters of sessions that were closed (reload, interface gone), so totals never go down. */
  private readonly closedTotals = new Map<string, CaptureStats>();

  constructor(
    private readonly onFrame: FrameHandler,
    onWarning: (message: string) => void = () => {},
    /** Options for a session, asked for each interface when it is opened. */
    private readonly defaults: (iface: string) => CaptureOptions = () => ({}),
  ) {
    // libpcap warnings ("no IPv4 address assigned") go to our log, not to stdout.
    this.pcap.warningHandler = onWarning;
  }

  get interfaces(): string[] {
    return [...this.sessions.keys()];
  }

  /**
   * `inboundOnly`: only frames the link receives, none it sends (a use_vmac macvlan: our MAC there
   * is the virtual router's, which the peers' adverts carry too, so it can't tell ours apart).
   * `excludeSourceMac`: leave our own frames in the kernel (the BPF program drops them) — a master
   * would otherwise wake up once per advert it sends. The flight recorder wants them; it keeps them.
   */
  open(iface: string, opts: CaptureOptions = this.defaults(iface)): void {
    if (this.sessions.has(iface)) return;
    let session: PcapSession;
    const base = opts.inboundOnly ? `inbound and (${CAPTURE_FILTER})` : CAPTURE_FILTER;
    const filter = opts.excludeSourceMac ? `(${base}) and not ether src ${opts.excludeSourceMac}` : base;
    try {
      session = this.pcap.createSession(iface, { filter, buffer_timeout: 0, buffer_size: 2 * 1024 * 1024, snap_length: 1600, promiscuous: false });
    } catch (err) {
      const m = describe(err);
      if (isPermissionError(err) || /permission|privilege/i.test(m)) throw privilegeError('CAP_NET_RAW', `capturing on ${iface} (libpcap)`, err);
      if (/No such device|doesn't exist|not found/i.test(m)) throw new HostError('interface', `interface ${iface} does not exist (libpcap: ${m})`, { cause: err });
      if (/not up/i.test(m)) throw new HostError('interface', `interface ${iface} is down (libpcap: ${m})`, { cause: err });
      throw new HostError('libpcap', `libpcap could not capture on ${iface}: ${m}`, { cause: err });
    }
    session.on('packet', (p) => {
      const h = p.header;
      const caplen = h.readUInt32LE(8);
      const wallUs = h.readUInt32LE(0) * 1e6 + h.readUInt32LE(4);
      this.onFrame(iface, p.buf.subarray(0, caplen), wallUs);
    });
    this.sessions.set(iface, session);
  }

  /** Reads, synchronously, every packet libpcap holds for any session (see RouterDeps.drainInput). */
  drain(): void {
    for (const s of this.sessions.values()) {
      try {
        s.session.read_callback?.();
      } catch {
        /* a session that died is reopened on link up */
      }
    }
  }

  close(iface?: string): void {
    for (const name of iface ? [iface] : [...this.sessions.keys()]) {
      const s = this.sessions.get(name);
      if (!s) continue;
      const last = this.sessionStats(s);
      const prev = this.closedTotals.get(name) ?? { received: 0, dropped: 0, interfaceDropped: 0 };
      this.closedTotals.set(name, { received: prev.received + last.received, dropped: prev.dropped + last.dropped, interfaceDropped: prev.interfaceDropped + last.interfaceDropped });
      try {
        s.close();
      } catch {
        /* best effort */
      }
      this.sessions.delete(name);
    }
  }

  inject(iface: string, frame: Uint8Array): void {
    let s = this.sessions.get(iface);
    if (!s) {
      this.open(iface);
      s = this.sessions.get(iface)!;
    }
    s.inject(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
  }

  /** libpcap's own counters per interface (received by the filter, dropped by the kernel). */
  stats(): Map<string, CaptureStats> {
    const out = new Map<string, CaptureStats>(this.closedTotals);
    for (const [name, s] of this.sessions) {
      const cur = this.sessionStats(s);
      const prev = out.get(name) ?? { received: 0, dropped: 0, interfaceDropped: 0 };
      out.set(name, { received: prev.received + cur.received, dropped: prev.dropped + cur.dropped, interfaceDropped: prev.interfaceDropped + cur.interfaceDropped });
    }
    return out;
  }

  private sessionStats(s: PcapSession): CaptureStats {
    try {
      const st = s.stats();
      return { received: st.ps_recv, dropped: st.ps_drop, interfaceDropped: st.ps_ifdrop };
    } catch {
      return { received: 0, dropped: 0, interfaceDropped: 0 };
    }
  }
}
