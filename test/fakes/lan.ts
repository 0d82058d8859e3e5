/**
 * An in-memory Ethernet LAN in simulated time. Each node runs a real VrrpEngine; its adverts are
 * encoded by the real codec into Ethernet frames and decoded by the receivers' engines, so the
 * whole election runs through the same bytes as on a wire. Nodes can be killed (no goodbye),
 * stopped (priority 0), partitioned and healed; a client's ARP cache follows the GARPs, and its
 * IPv6 neighbour cache the neighbour advertisements. Each node's "kernel" answers ARP requests
 * and neighbour solicitations for the addresses it holds, agent or not.
 */
import { AgentBus } from '../../src/events/index.js';
import { encodeAdvert } from '../../src/protocol/advert.js';
import { encodeAhAdvertPacket } from '../../src/protocol/ah.js';
import { buildEthernetFrame, buildIpv4Header, buildIpv6Header, multicastMac, parseEthernet, parseFrame } from '../../src/protocol/frame.js';
import { parseArp, claimsAddress, ARP_REQUEST, ARP_REPLY } from '../../src/protocol/arp.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../src/protocol/constants.js';
import { buildNeighbourAdvert, parseNeighbourAdvert, parseNeighbourSolicitation } from '../../src/protocol/ndp.js';
import { formatMac, ipBytes, isMulticast, parseMac } from '../../src/protocol/inet.js';
import { VrrpEngine, type FrameOutcome } from '../../src/core/engine.js';
import { EventBus, type VrrpEvent, type StateChangedEvent } from '../../src/events/index.js';
import type { VrrpInstanceConfig } from '../../src/config/model.js';
import type { AddressManager, AdvertTransport, FrameInjector, InterfaceInfo, OutgoingAdvert, VipAssignment } from '../../src/ports/index.js';
import type { HostEvent } from '../../src/events/index.js';
import { FakeClock, type ClockScope } from './clock.js';
import { FakeRouteManager } from './routes.js';

export interface NodeInit {
  readonly ipv4: string;
  readonly ipv6?: string;
  readonly iface?: string;
}

export class FakeNode {
  /** The node's one bus: the core's events and the host events the agent would emit (captured frames). */
  readonly events = new AgentBus();
  readonly transitions: StateChangedEvent[] = [];
  /** VIPs present on this node: `iface/address`. */
  readonly vips = new Set<string>();
  readonly sentFrames: { atMs: number; frame: Uint8Array }[] = [];
  readonly outcomes: FrameOutcome[] = [];
  engine: VrrpEngine | undefined;
  clock: ClockScope;
  alive = false;
  linkUp = true;
  segment = 0;
  /** net.ipv6.conf.eth0.forwarding: the Router flag of the node's NAs. */
  ipv6Forwarding = false;
  readonly mac: string;
  readonly iface: string;

  constructor(
    readonly lan: FakeLan,
    readonly name: string,
    readonly init: NodeInit,
    index: number,
  ) {
    this.iface = init.iface ?? 'eth0';
    this.mac = `02:00:00:00:00:${(index + 1).toString(16).padStart(2, '0')}`;
    this.clock = lan.clock.scope();
    this.events.on('state-changed', (e) => this.transitions.push(e));
    this.events.onListenerError = (err) => {
      throw err;
    };
  }

  readonly interfaces: InterfaceInfo = {
    mac: (iface) => (iface === this.iface ? this.mac : undefined),
    primaryAddress: (iface, family) => (iface !== this.iface ? undefined : family === 'ipv4' ? this.init.ipv4 : this.init.ipv6),
    ipv6Forwarding: (iface) => iface === this.iface && this.ipv6Forwarding,
  };

  private readonly transport: AdvertTransport = {
    send: (a: OutgoingAdvert) => {
      if (!this.alive || !this.linkUp) return;
      for (const dst of a.destinations) {
        const src = ipBytes(a.source);
        const dstBytes = ipBytes(dst);
        let packet: Uint8Array;
        if (a.fields.ah && a.family === 'ipv4') {
          // auth_type AH: the whole IPv4 packet with its AH header, as the raw transport sends it.
          packet = encodeAhAdvertPacket(a.fields, { source: a.source, destination: dst, id: 1, ...(a.ttl !== undefined ? { ttl: a.ttl } : {}) });
        } else {
          const msg = encodeAdvert(a.fields, { family: a.family, source: a.source, destination: dst, checksumAsV2: a.checksumAsV2 });
          // As the raw transport sends them: unicast_ttl, else TTL 255, but the kernel's default
          // hop limit (64) for IPv6 unicast.
          const ip = a.family === 'ipv4'
            ? buildIpv4Header({ source: src, destination: dstBytes, payloadLength: msg.length, id: 1, ...(a.ttl !== undefined ? { ttl: a.ttl } : {}) })
            : buildIpv6Header({ source: src, destination: dstBytes, payloadLength: msg.length, hopLimit: a.ttl ?? (isMulticast(dst) ? 255 : 64) });
          packet = new Uint8Array(ip.length + msg.length);
          packet.set(ip);
          packet.set(msg, ip.length);
        }
        const dstMac = isMulticast(dst) ? multicastMac(dstBytes) : parseMac(this.lan.macOf(dst) ?? 'ff:ff:ff:ff:ff:ff')!;
        this.lan.transmit(this, buildEthernetFrame(dstMac, parseMac(this.mac)!, a.family === 'ipv4' ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6, packet));
      }
    },
  };

  readonly frames: FrameInjector = {
    inject: (_iface, frame) => {
      if (this.alive && this.linkUp) this.lan.transmit(this, frame);
    },
  };

  /** virtual_routes / virtual_rules as the node's kernel holds them (a route's src must be a VIP held). */
  readonly routes = new FakeRouteManager((address) => [...this.vips].some((v) => v.endsWith(`/${address}`)));

  private readonly addresses: AddressManager = {
    add: (a: VipAssignment) => void this.vips.add(`${a.interface}/${a.vip.address}`),
    remove: (a: VipAssignment) => void this.vips.delete(`${a.interface}/${a.vip.address}`),
  };

  /** Starts (or restarts) the agent with these instances. */
  start(instances: readonly VrrpInstanceConfig[]): VrrpEngine {
    this.clock = this.lan.clock.scope();
    this.alive = true;
    this.engine = new VrrpEngine(instances, {
      clock: this.clock,
      transport: this.transport,
      addresses: this.addresses,
      routes: this.routes,
      frames: this.frames,
      interfaces: this.interfaces,
      events: this.events,
    });
    if (!this.linkUp) for (const r of this.engine.routers.values()) r.setInterfaceUp(false);
    this.engine.start();
    return this.engine;
  }

  /** kill -9: no goodbye, timers gone; the kernel keeps the VIPs it had (as after a crash). */
  kill(): void {
    this.alive = false;
    this.clock.kill();
  }

  /** SIGTERM: masters send priority 0 and remove their VIPs. */
  stop(): void {
    this.engine?.stop();
    this.alive = false;
    this.clock.kill();
  }

  /**
   * A planned stop, make-before-break (VrrpEngine.handOver): the node stays up (VIPs, timers)
   * until every instance has left; then it is gone as after stop(). `onDone` runs then.
   */
  handOver(onDone?: () => void): void {
    this.engine?.handOver(() => {
      this.alive = false;
      this.clock.kill();
      onDone?.();
    });
  }

  setLink(up: boolean): void {
    this.linkUp = up;
    for (const r of this.engine?.routers.values() ?? []) r.setInterfaceUp(up);
  }

  receive(frame: Uint8Array): void {
    if (!this.linkUp) return;
    // The kernel answers ARP for the addresses it holds, agent or not (as after kill -9).
    this.answerArp(frame);
    this.answerNeighbourSolicitation(frame);
    if (!this.alive || !this.engine) return;
    const outcome = this.engine.handleFrame(this.iface, frame);
    this.outcomes.push(outcome);
    this.events.emit({ type: 'frame', interface: this.iface, frame, wallUs: this.lan.clock.wallNow() * 1000, outcome });
  }

  private answerArp(frame: Uint8Array): void {
    const eth = parseEthernet(frame);
    if (!eth || eth.etherType !== 0x0806) return;
    const arp = parseArp(eth);
    if (!arp || arp.op !== ARP_REQUEST || arp.senderIp === arp.targetIp) return;
    const held = arp.targetIp === this.init.ipv4 || this.vips.has(`${this.iface}/${arp.targetIp}`);
    if (!held) return;
    const reply = new Uint8Array(42);
    reply.set(parseMac(arp.senderMac)!, 0);
    reply.set(parseMac(this.mac)!, 6);
    reply.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, ARP_REPLY], 12);
    reply.set(parseMac(this.mac)!, 22);
    reply.set(ipBytes(arp.targetIp), 28);
    reply.set(parseMac(arp.senderMac)!, 32);
    reply.set(ipBytes(arp.senderIp === '0.0.0.0' ? '0.0.0.0' : arp.senderIp), 38);
    this.lan.transmit(this, reply);
  }

  /** RFC 4861 §7.2.4, as Linux answers: a solicited NA to the solicitor (all nodes for a DAD probe from ::). */
  private answerNeighbourSolicitation(frame: Uint8Array): void {
    const p = parseFrame(frame);
    if (p.kind !== 'ip' || p.ip.family !== 'ipv6') return;
    const ns = parseNeighbourSolicitation(p.ethernet, p.ip);
    if (!ns) return;
    const held = ns.target === this.init.ipv6 || this.vips.has(`${this.iface}/${ns.target}`);
    if (!held) return;
    const dad = ns.ipSource === '::';
    this.lan.transmit(
      this,
      buildNeighbourAdvert({
        sourceMac: this.mac,
        ...(dad ? {} : { destinationMac: ns.sourceMac }),
        source: ns.target,
        destination: dad ? 'ff02::1' : ns.ipSource,
        target: ns.target,
        router: this.ipv6Forwarding,
        solicited: !dad,
        override: true,
        targetMac: this.mac,
      }),
    );
  }

  state(instance = 'VI_1'): string | undefined {
    return this.alive ? this.engine?.routers.get(instance)?.state : undefined;
  }
}

export class FakeLan {
  readonly nodes: FakeNode[] = [];
  /** The client's neighbour caches: IPv4 → MAC as GARPs and replies set it; IPv6 → MAC as NAs with the Override flag set it. */
  readonly clientArp = new Map<string, string>();
  readonly wire: { atMs: number; from: string; frame: Uint8Array }[] = [];
  recordWire = false;

  constructor(
    readonly clock = new FakeClock(),
    readonly latencyMs = 0.1,
  ) {}

  addNode(name: string, init: NodeInit): FakeNode {
    const n = new FakeNode(this, name, init, this.nodes.length);
    this.nodes.push(n);
    return n;
  }

  node(name: string): FakeNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  macOf(ip: string): string | undefined {
    return this.nodes.find((n) => n.init.ipv4 === ip || n.init.ipv6 === ip)?.mac;
  }

  /** Frames the LAN drops (e.g. VRRP between two nodes, as an nft rule would). */
  dropIf: ((from: FakeNode, to: FakeNode, frame: Uint8Array) => boolean) | undefined;

  /** Splits the LAN: nodes in different groups no longer hear each other. */
  partition(...groups: string[][]): void {
    groups.forEach((g, i) => g.forEach((name) => (this.node(name).segment = i + 1)));
  }

  heal(): void {
    for (const n of this.nodes) n.segment = 0;
  }

  transmit(from: FakeNode, frame: Uint8Array): void {
    const atMs = this.clock.now();
    if (this.recordWire) this.wire.push({ atMs, from: from.name, frame });
    from.sentFrames.push({ atMs, frame });
    const eth = parseEthernet(frame);
    if (eth?.etherType === 0x0806 && from.segment === 0) {
      const arp = parseArp(eth);
      if (arp && claimsAddress(arp, arp.senderIp)) this.clientArp.set(arp.senderIp, arp.senderMac);
    }
    if (eth?.etherType === ETHERTYPE_IPV6 && from.segment === 0) {
      const p = parseFrame(frame);
      const na = p.kind === 'ip' ? parseNeighbourAdvert(p.ethernet, p.ip) : undefined;
      // RFC 4861 §7.2.5: the Override flag replaces the cached link-layer address. The client
      // hears NAs to all nodes; a solicited one goes to the solicitor only.
      if (na && na.override && !na.solicited) this.clientArp.set(na.target, na.targetMac);
    }
    const dst = eth ? formatMac(eth.destinationMac) : '';
    for (const n of this.nodes) {
      if (n === from || n.segment !== from.segment) continue;
      if (!dst.startsWith('01:') && !dst.startsWith('33:') && dst !== 'ff:ff:ff:ff:ff:ff' && dst !== n.mac) continue;
      if (this.dropIf?.(from, n, frame)) continue;
      this.clock.setTimer(this.latencyMs, () => n.receive(frame));
    }
  }

  /** Names of live nodes in MASTER for an instance. */
  masters(instance = 'VI_1'): string[] {
    return this.nodes.filter((n) => n.state(instance) === 'master').map((n) => n.name);
  }

  /** Names of live nodes holding a VIP. */
  holders(vip: string): string[] {
    return this.nodes.filter((n) => n.alive && [...n.vips].some((v) => v.endsWith(`/${vip}`))).map((n) => n.name);
  }
}
