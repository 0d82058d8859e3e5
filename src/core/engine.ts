/**
 * The set of VRRP instances of one agent: builds a router per `vrrp_instance`, and routes every
 * captured frame to the instance its VRID belongs to (one lookup per interface, family and VRID,
 * as keepalived sorts instances by VRID per interface), or to a drop reason.
 */
import type { KeepalivedConfig, SyncGroupConfig, VrrpInstanceConfig } from '../config/model.js';
import { passwordAuthData } from '../protocol/advert.js';
import { checkAdvert, type AdvertExpectations, type DropReason } from '../protocol/check.js';
import { AUTH_AH, AUTH_NONE, AUTH_PASS, IPPROTO_ICMPV6 } from '../protocol/constants.js';
import { parseFrame, type EthernetHeader, type IpPacket } from '../protocol/frame.js';
import { bytesEqual, formatIp, formatMac, ipBytes, isMulticastBytes, parseMac, type IpFamily } from '../protocol/inet.js';
import { skewTimeMs } from '../protocol/timing.js';
import { VrrpRouter, advertInterface, type RouterDeps } from './router.js';
import { syncGroupReactions } from './sync-groups.js';
import type { FrameOutcome } from '../events/index.js';

interface Slot extends AdvertExpectations {
  readonly router: VrrpRouter;
  /** All the instance's unicast peers (empty: multicast), to tell instances of one VRID apart. */
  readonly peers: readonly Uint8Array[];
}

export type { FrameOutcome };

export function expectationsFor(c: VrrpInstanceConfig): AdvertExpectations {
  const auth = c.version === 2 ? c.authentication : undefined;
  return {
    version: c.version,
    family: c.family,
    advertIntervalMs: c.advertIntervalMs,
    authType: auth ? (auth.type === 'PASS' ? AUTH_PASS : AUTH_AH) : AUTH_NONE,
    // PASS: the bytes the peer sends; AH: the HMAC key. keepalived uses the same 8 bytes for both.
    ...(auth ? { authData: passwordAuthData(auth.password) } : {}),
    ...(auth?.type === 'AH' ? { ahZeroTtl: c.unicastPeers.length > 0 } : {}),
    addresses: c.virtualAddresses.map((v) => ipBytes(v.address)),
    checksumAsV2: c.v3ChecksumAsV2,
    ...(c.checkUnicastSrc && c.unicastPeers.length > 0 ? { unicastPeers: c.unicastPeers.map((p) => ipBytes(p.address)) } : {}),
    ...(c.unicastPeers.length === 0 ? { multicastGroup: ipBytes(c.mcastGroup) } : {}),
  };
}

function slotOf(c: VrrpInstanceConfig, router: VrrpRouter): Slot {
  return { ...expectationsFor(c), router, peers: c.unicastPeers.map((p) => ipBytes(p.address)) };
}

/**
 * Which of the instances of one VRID on an interface (keepalived allows several: other multicast
 * groups via mcast_dst_ip, or unicast with other peers) an advert is for: a multicast advert the
 * one of its group, a unicast advert the one whose peers include its source; else the first (whose
 * checks then drop it).
 */
function pick(slots: readonly Slot[], packet: IpPacket): Slot | undefined {
  if (slots.length === 1) return slots[0];
  const dst = packet.destination;
  const len = dst.length;
  if (isMulticastBytes(dst)) return slots.find((s) => s.multicastGroup && bytesEqual(s.multicastGroup, 0, dst, 0, len)) ?? slots[0];
  return slots.find((s) => s.peers.some((p) => bytesEqual(p, 0, packet.source, 0, len))) ?? slots.find((s) => s.peers.length > 0) ?? slots[0];
}

function slotKey(iface: string, family: IpFamily, vrid: number): string {
  return `${iface}|${family}|${vrid}`;
}

export interface EngineDeps extends Omit<RouterDeps, 'afterTransition' | 'afterFaultChange'> {
  /** The `vrrp_sync_group`s (the current config's: a reload may change them). */
  readonly syncGroups?: () => readonly SyncGroupConfig[];
}

export class VrrpEngine {
  readonly routers = new Map<string, VrrpRouter>();
  /** Per interface, family and VRID: the instances (usually one). */
  private readonly slots = new Map<string, Slot[]>();
  private readonly interfaceNames = new Set<string>();
  /** The interfaces (of `interfaceNames`) that are use_vmac macvlans: peers send with their MAC. */
  private readonly sharedMac = new Set<string>();
  private readonly routerDeps: RouterDeps;

  constructor(
    instances: readonly VrrpInstanceConfig[],
    private readonly deps: EngineDeps,
  ) {
    // Reactions after a transition, run by the router itself: sync groups, in config order.
    const groups = deps.syncGroups;
    const sync = groups ? syncGroupReactions(groups, () => this.routers) : undefined;
    this.routerDeps = sync ? { ...deps, afterTransition: (e) => sync.afterTransition(e), afterFaultChange: (r, source) => sync.afterFaultChange(r, source) } : deps;
    for (const c of instances) this.addInstance(c);
  }

  static fromConfig(config: KeepalivedConfig, deps: EngineDeps): VrrpEngine {
    return new VrrpEngine(config.instances, { ...deps, syncGroups: deps.syncGroups ?? (() => config.syncGroups) });
  }

  /** The interfaces that carry at least one instance (the capture opens one session each). */
  get interfaces(): readonly string[] {
    return [...this.interfaceNames];
  }

  addInstance(c: VrrpInstanceConfig): VrrpRouter {
    const router = new VrrpRouter(c, this.routerDeps);
    this.routers.set(c.name, router);
    this.putSlot(c, router);
    this.addInterface(c);
    return router;
  }

  /**
   * A hitless reload of one instance (same identity: VrrpRouter.canReconfigure): the receive
   * expectations and the router's settings change in place.
   */
  reconfigureInstance(c: VrrpInstanceConfig): void {
    const r = this.routers.get(c.name);
    if (!r) throw new Error(`no instance ${c.name}`);
    r.reconfigure(c);
    this.putSlot(c, r);
  }

  /** Sets (or replaces) the router's slot under its interface, family and VRID. */
  private putSlot(c: VrrpInstanceConfig, router: VrrpRouter): void {
    const key = slotKey(advertInterface(c), c.family, c.vrid);
    const others = (this.slots.get(key) ?? []).filter((s) => s.router !== router);
    this.slots.set(key, [...others, slotOf(c, router)]);
  }

  /** The link the instance's adverts are heard on (core/router.ts advertInterface). */
  private addInterface(c: VrrpInstanceConfig): void {
    const iface = advertInterface(c);
    this.interfaceNames.add(iface);
    if (c.vmac?.kind === 'macvlan' && iface === c.vmac.name) this.sharedMac.add(iface);
  }

  /** Removes an instance (after stopping it); used by reload. */
  removeInstance(name: string): void {
    const r = this.routers.get(name);
    if (!r) return;
    this.routers.delete(name);
    const key = slotKey(advertInterface(r.config), r.config.family, r.config.vrid);
    const left = (this.slots.get(key) ?? []).filter((s) => s.router !== r);
    if (left.length > 0) this.slots.set(key, left);
    else this.slots.delete(key);
    this.interfaceNames.clear();
    this.sharedMac.clear();
    for (const x of this.routers.values()) this.addInterface(x.config);
  }

  start(): void {
    for (const r of this.routers.values()) r.start();
  }

  stop(): void {
    for (const r of this.routers.values()) r.stop();
  }

  /**
   * A planned stop, make-before-break (VrrpRouter.handOver): every master sends priority 0 and
   * keeps its VIPs until its new master advertises, at most Skew_Time of the slowest backup
   * (priority 1) plus one advert interval; the others stop at once. `done` runs when all have left.
   */
  handOver(done: () => void): void {
    const routers = [...this.routers.values()];
    let left = routers.length;
    if (left === 0) {
      done();
      return;
    }
    const one = (): void => {
      if (--left === 0) done();
    };
    for (const r of routers) r.handOver(handOverBoundMs(r.config.version, r.snapshot().masterAdvertIntervalMs), one);
  }

  /**
   * One frame captured on `iface` at `atMs` (monotonic). Our own frames (source MAC = the
   * interface's) are skipped before anything else: pcap sees what we send too.
   */
  handleFrame(iface: string, frame: Uint8Array, atMs = this.deps.clock.now()): FrameOutcome {
    const parsed = parseFrame(frame);
    if (parsed.kind === 'other') return parsed;
    if (parsed.kind === 'invalid') return this.dropped(iface, parsed.reason, '?', atMs);
    const mac = this.deps.interfaces.mac(iface);
    // On a use_vmac macvlan our MAC is the virtual router's, which the peers' adverts carry too:
    // there, own frames are told by the capture (it takes only incoming ones: PcapCapture's
    // inboundOnly), not by their MAC.
    const own = mac !== undefined && !this.sharedMac.has(iface) && isMac(parsed.ethernet.sourceMac, mac);
    if (own) {
      // One of our adverts on its way out: say which (a subscriber times the master's cadence).
      if (parsed.kind !== 'ip' || parsed.ip.protocol !== 112 || parsed.ip.payload.length < 2) return { kind: 'own' };
      const vrid = parsed.ip.payload[1]!;
      const slots = this.slots.get(slotKey(iface, parsed.ip.family, vrid));
      const slot = slots && pick(slots, parsed.ip);
      return { kind: 'own', vrid, ...(slot ? { instance: slot.router.name } : {}) };
    }
    if (parsed.kind === 'arp') return { kind: 'arp', ethernet: parsed.ethernet };
    if (parsed.ip.protocol === IPPROTO_ICMPV6 && parsed.ip.family === 'ipv6') return { kind: 'ndp', ethernet: parsed.ethernet, ip: parsed.ip };
    if (parsed.ip.protocol !== 112) return { kind: 'other' };
    return this.handlePacket(iface, parsed.ip, atMs, parsed.ethernet.sourceMac);
  }

  /** One VRRP packet (IP level) received on `iface`. */
  handlePacket(iface: string, packet: IpPacket, atMs = this.deps.clock.now(), sourceMac?: Uint8Array): FrameOutcome {
    const result = checkAdvert(packet, (vrid, family) => {
      const slots = this.slots.get(slotKey(iface, family, vrid));
      return slots && pick(slots, packet);
    });
    const mac = sourceMac ? formatMac(sourceMac) : undefined;
    if (!result.ok) {
      const priority = packet.payload.length >= 8 ? packet.payload[2] : undefined;
      return this.dropped(iface, result.reason, formatIp(packet.source), atMs, result.vrid, result.instance?.router.name, mac, priority);
    }
    const router = result.instance.router;
    // AH: an authenticated advert must carry a sequence number above the instance's counter, which
    // then takes it (keepalived's anti-replay check, in every state).
    const ahSequence = result.advert.ahSequence;
    if (ahSequence !== undefined && !router.ahSequence?.accept(ahSequence)) {
      return this.dropped(iface, 'ah-replay', result.advert.source, atMs, result.advert.vrid, router.name, mac, result.advert.priority);
    }
    router.receiveAdvert(mac ? { ...result.advert, sourceMac: mac } : result.advert, atMs);
    return { kind: 'accepted', instance: router.name, vrid: result.advert.vrid };
  }

  private dropped(iface: string, reason: DropReason, source: string, atMs: number, vrid?: number, instance?: string, sourceMac?: string, priority?: number): FrameOutcome {
    this.deps.events.emit({
      type: 'advert-dropped',
      interface: iface,
      reason,
      source,
      atMs,
      ...(vrid !== undefined ? { vrid } : {}),
      ...(instance !== undefined ? { instance } : {}),
      ...(sourceMac !== undefined ? { sourceMac } : {}),
      ...(priority !== undefined ? { priority } : {}),
    });
    return { kind: 'dropped', reason, ...(vrid !== undefined ? { vrid } : {}), ...(instance !== undefined ? { instance } : {}) };
  }
}

const macCache = new Map<string, Uint8Array>();
function isMac(bytes: Uint8Array, mac: string): boolean {
  let b = macCache.get(mac);
  if (!b) {
    b = parseMac(mac) ?? new Uint8Array(6);
    macCache.set(mac, b);
  }
  return bytesEqual(bytes, 0, b, 0, 6);
}

/**
 * The longest a planned stop waits for a successor: it must fit, with the rest of the stop
 * (~1.3 s), in main.ts's 4 s stop limit and systemd's TimeoutStopSec=5. Past it, the stop goes
 * on as a plain one (the VIPs go, the backup takes over after its Skew_Time as before).
 */
export const HANDOVER_MAX_MS = 2000;

/**
 * How long a master waits for its successor (handOver): Skew_Time of a priority-1 backup (the
 * slowest to take over, RFC 5798 §6.1) plus one advert interval for the advert to arrive, at
 * most HANDOVER_MAX_MS (1996 ms at VRRPv2 1 s; 200 ms at VRRPv3 0.1 s).
 */
export function handOverBoundMs(version: VrrpInstanceConfig['version'], advertIntervalMs: number): number {
  return Math.min(HANDOVER_MAX_MS, skewTimeMs(version, 1, advertIntervalMs) + advertIntervalMs);
}
