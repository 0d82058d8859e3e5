/**
 * The host around the instances: links going up and down (FAULT, the capture session reopened,
 * the raw socket reset), captured frames handed to the engine (and the outcome to the bus),
 * netlink's answers about VIPs, VIPs left behind by a crash (removed before an instance joins),
 * and the check that every instance's interface exists.
 */
import type { KeepalivedConfig, VrrpInstanceConfig } from '../config/model.js';
import type { VrrpEngine } from '../core/engine.js';
import { advertInterface, type VrrpRouter } from '../core/router.js';
import type { AgentBus } from '../events/index.js';
import type { VipAssignment } from '../ports/index.js';
import type { SystemClock } from '../adapters/clock.js';
import type { NetlinkHost } from '../adapters/netlink-host.js';
import type { PcapCapture } from '../adapters/pcap-capture.js';
import type { RawSocketTransport } from '../adapters/raw-transport.js';
import { HostError, describe } from '../adapters/errors.js';
import type { Logger } from '../observability/logging.js';
import { SPAN_ATTRIBUTES as A } from '../observability/names.js';
import { missingRoutingInterfaces } from './routing.js';

/** Every VIP of a config with its interface (`dev` or the instance's). */
export function allVips(config: Pick<KeepalivedConfig, 'instances'>): VipAssignment[] {
  return config.instances.flatMap((i) => [...i.virtualAddresses, ...i.virtualAddressesExcluded].map((vip) => ({ instance: i.name, interface: vip.device ?? i.interface, vip })));
}

export interface HostWatchDeps {
  readonly log: Logger;
  readonly clock: SystemClock;
  readonly bus: AgentBus;
  readonly netlink: NetlinkHost;
  readonly capture: PcapCapture;
  readonly transport: RawSocketTransport;
  readonly engine: VrrpEngine;
  /** Trackers follow link changes (track_interface). */
  onLinkChange(): void;
  /** A link vanished from the host (a use_vmac link of ours is made again: virtual-links.ts). */
  onLinkGone?(name: string): void;
}

export class HostWatch {
  /** Set when the agent stops: frames and link changes are no longer handled. */
  stopping = false;

  constructor(private readonly deps: HostWatchDeps) {}

  /**
   * A missing interface is one clear error per instance, with its place; with `dynamic_interfaces`
   * an instance without a use_vmac/use_ipvlan link may wait for its interface instead (in FAULT):
   * those are returned (start and reload alike).
   */
  static checkInterfaces(netlink: Pick<NetlinkHost, 'interfaceExists'>, config: KeepalivedConfig): VrrpInstanceConfig[] {
    const dynamic = config.global?.operations?.dynamicInterfaces ?? false;
    const missing = config.instances.filter((i) => !netlink.interfaceExists(i.interface));
    const waiting = dynamic ? missing.filter((i) => !i.vmac) : [];
    const at = (i: VrrpInstanceConfig) => `${i.location.file}:${i.location.line}:${i.location.column}`;
    const lines = missing
      .filter((i) => !waiting.includes(i))
      .map((i) =>
        dynamic
          ? `${at(i)}: interface '${i.interface}' of vrrp_instance ${i.name} does not exist on this host, and its ${i.vmac?.kind === 'ipvlan' ? 'use_ipvlan' : 'use_vmac'} link needs it at start (dynamic_interfaces waits only for instances without one)`
          : `${at(i)}: interface '${i.interface}' of vrrp_instance ${i.name} does not exist on this host (with dynamic_interfaces in global_defs the instance starts in FAULT and waits for it)`,
      );
    lines.push(...missingRoutingInterfaces(config, (name) => netlink.interfaceExists(name)));
    if (lines.length > 0) throw new HostError('interface', lines.join('\n'));
    return waiting;
  }

  /** One captured frame: the engine decides, the bus hears what it made of it. */
  onFrame(iface: string, frame: Uint8Array, wallUs: number): void {
    if (this.stopping) return;
    const outcome = this.deps.engine.handleFrame(iface, frame, this.deps.clock.monotonicFromWallUs(wallUs));
    this.deps.bus.emit({ type: 'frame', interface: iface, frame, wallUs, outcome });
  }

  onLinkChange(name: string, up: boolean): void {
    if (this.stopping) return;
    const { bus, log, capture, transport, engine, clock } = this.deps;
    bus.emit({ type: 'link-changed', interface: name, up, atMs: clock.now() });
    log.info({ event: 'link', [A.interface]: name, up }, `interface ${name} is ${up ? 'up' : 'down'}`);
    // libpcap sessions die with their link (ENETDOWN): close on down, reopen on up.
    if (!up) capture.close(name);
    if (up) {
      transport.reset(name);
      if (engine.interfaces.includes(name)) {
        try {
          capture.open(name);
        } catch (err) {
          log.error({ event: 'capture-failed', [A.interface]: name }, describe(err));
        }
      }
    }
    // The instance's interface, or its use_vmac / use_ipvlan link (down or gone: FAULT, as keepalived).
    for (const r of engine.routers.values()) if (r.config.interface === name || r.config.vmac?.name === name) this.applyLinkState(r);
    if (!up && !this.deps.netlink.interfaceExists(name)) this.deps.onLinkGone?.(name);
    this.deps.onLinkChange();
  }

  onVipRepaired(assignment: VipAssignment): void {
    this.deps.log.warn({ event: 'vip-repaired', [A.instance]: assignment.instance, [A.vip]: assignment.vip.address, [A.interface]: assignment.interface }, `(${assignment.instance}) VIP ${assignment.vip.address} was removed from ${assignment.interface} by someone else: put back`);
    this.deps.bus.emit({ type: 'vip-repaired', assignment, atMs: this.deps.clock.now() });
  }

  onVipResult(assignment: VipAssignment, action: 'add' | 'remove', error: Error | undefined, durationMs: number): void {
    if (error) this.deps.log.error({ event: 'vip-failed', [A.instance]: assignment.instance, [A.vip]: assignment.vip.address, [A.interface]: assignment.interface, action }, error.message);
    this.deps.bus.emit({ type: 'vip-result', assignment, action, ...(error ? { error } : {}), durationMs, atMs: this.deps.clock.now() });
  }

  onError(error: Error): void {
    this.deps.bus.emit({ type: 'agent-error', error, atMs: this.deps.clock.now() });
  }

  /** Raw sockets for sending, a capture session per interface whose link is up. */
  openSockets(instances: readonly VrrpInstanceConfig[]): void {
    for (const i of instances) {
      // auth_type AH: its IP protocol 51 socket too (without one the kernel answers unicast AH adverts with ICMP protocol-unreachable).
      // use_vmac / use_ipvlan: the link adverts go out and are heard on (core/router.ts advertInterface).
      const iface = advertInterface(i);
      // Multicast instances join their group (keepalived's receive socket does): a NIC that filters multicast delivers the adverts.
      const opts = { ah: i.version === 2 && i.authentication?.type === 'AH', ...(i.unicastPeers.length === 0 ? { group: i.mcastGroup } : {}) };
      if (!this.deps.netlink.interfaceExists(iface)) {
        // dynamic_interfaces: not there yet. Its group is remembered; the socket opens (and joins)
        // when the link appears (transport.reset in onLinkChange), the capture session too.
        try {
          this.deps.transport.open(iface, i.family, opts);
        } catch {
          /* opened when the interface appears */
        }
        continue;
      }
      this.deps.transport.open(iface, i.family, opts);
      if (this.deps.netlink.linkUp(iface)) this.deps.capture.open(iface);
    }
  }

  /** FAULT while the instance's link is down, unless dont_track_primary (VrrpRouter.setInterfaceUp). */
  applyLinkState(r: VrrpRouter, up = this.linksUp(r)): void {
    r.setInterfaceUp(up);
  }

  /** The instance's interface is up, and so is its use_vmac / use_ipvlan link if it has one. */
  private linksUp(r: VrrpRouter): boolean {
    const { netlink } = this.deps;
    return netlink.linkUp(r.config.interface) && (!r.config.vmac || netlink.linkUp(r.config.vmac.name));
  }

  /** Closes capture sessions of interfaces no instance uses any more (after a reload). */
  closeUnused(): void {
    for (const iface of this.deps.capture.interfaces) if (!this.deps.engine.interfaces.includes(iface)) this.deps.capture.close(iface);
  }
}

/**
 * VIPs of ours left on an interface (a crash, kill -9) are removed before the instances join:
 * every instance starts as backup (an owner re-adds them at once). keepalived does the same.
 */
export async function reconcileStaleVips(netlink: Pick<NetlinkHost, 'hasAddress' | 'removeNow'>, log: Logger, instances: readonly VrrpInstanceConfig[]): Promise<void> {
  const stale = allVips({ instances }).filter((a) => netlink.hasAddress(a.interface, a.vip.address));
  for (const a of stale) {
    log.warn({ event: 'vip-reconciled', [A.instance]: a.instance, [A.vip]: a.vip.address, [A.interface]: a.interface }, `(${a.instance}) removing VIP ${a.vip.address} left on ${a.interface} (by a crash?) before joining`);
    await netlink.removeNow(a);
  }
}
