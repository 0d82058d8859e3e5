/**
 * The links of use_vmac / use_ipvlan in the agent's life: which ones a config asks for (the
 * VirtualLinks port's specs), made before the instances start and at every reload (then also
 * removing what a crash or the old config left), and removed when the agent stops. After a change
 * the agent waits until its netlink view (NetlinkHost) has caught up with the links, so that no
 * stale "down" of a link just made reaches an instance that has started.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { KeepalivedConfig, SourceLocation, VirtualLinkConfig, VrrpInstanceConfig } from '../config/model.js';
import { HostError } from '../adapters/errors.js';
import { formatIp, parseMac } from '../protocol/inet.js';
import type { FrameInjector, InterfaceInfo, VirtualLinkChange, VirtualLinkSpec, VirtualLinks } from '../ports/index.js';
import type { Logger } from '../observability/logging.js';
import { SPAN_ATTRIBUTES as A } from '../observability/names.js';

/**
 * This agent's key in its links' aliases: from the config file's path, so two agents of one host
 * (two config files) never take each other's links for leftovers.
 */
export function linkOwner(configPath: string): string {
  return createHash('sha256').update(resolve(configPath)).digest('hex').slice(0, 8);
}

/** EUI-64 link-local address from a MAC (RFC 4291 §2.5.1; keepalived's make_link_local_address). */
export function eui64LinkLocal(mac: string): string | undefined {
  const m = parseMac(mac);
  if (!m) return undefined;
  return formatIp(Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, m[0]! ^ 2, m[1]!, m[2]!, 0xff, 0xfe, m[3]!, m[4]!, m[5]!]));
}

/**
 * The IPv6 link-local address keepalived puts on a VMAC (set_link_local_address): the instance's
 * configured IPv6 source, else the base's link-local address, else one made from the base's MAC.
 * The adverts come from it, and it is the one core/router.ts uses as their source.
 */
function linkLocalFor(base: string, host: Pick<InterfaceInfo, 'primaryAddress' | 'mac'>, source?: string): string | undefined {
  if (source?.includes(':')) return source;
  const own = host.primaryAddress(base, 'ipv6');
  if (own) return own;
  const mac = host.mac(base);
  return mac ? eui64LinkLocal(mac) : undefined;
}

function specOf(i: VrrpInstanceConfig, l: VirtualLinkConfig, primary: boolean, host: Pick<InterfaceInfo, 'primaryAddress' | 'mac'>): VirtualLinkSpec {
  const addresses: { address: string; prefixLength: number }[] = [];
  if (l.kind === 'ipvlan' && l.address) addresses.push(l.address);
  if (l.kind === 'macvlan' && l.family === 'ipv6' && !l.xmitBase) {
    const ll = linkLocalFor(l.base, host, primary ? (i.unicastPeers.length > 0 ? i.unicastSrcIp : i.mcastSrcIp) : undefined);
    if (ll) addresses.push({ address: ll, prefixLength: 64 });
  }
  // IPv6 stays off an IPv4 link unless the instance has IPv6 excluded VIPs there (keepalived's
  // VRRP_FLAG_EVIP_OTHER_FAMILY).
  const ipv6 = l.family === 'ipv6' || (primary && i.virtualAddressesExcluded.some((v) => v.family === 'ipv6' && v.device === l.name));
  return {
    name: l.name,
    kind: l.kind,
    base: l.base,
    ...(l.mac ? { mac: l.mac } : {}),
    ...(l.ipvlanMode ? { ipvlanMode: l.ipvlanMode } : {}),
    sysctls: l.kind === 'ipvlan' ? 'none' : l.family,
    ipv6,
    addresses,
    instance: i.name,
  };
}

/**
 * Every link a config asks for, once each (instances may share a macvlan: config/vmac.ts), in
 * config order. Addresses that depend on the host (the link-local address) are read from `host`.
 */
export function wantedLinks(config: Pick<KeepalivedConfig, 'instances'>, host: Pick<InterfaceInfo, 'primaryAddress' | 'mac'>): VirtualLinkSpec[] {
  const byName = new Map<string, VirtualLinkSpec>();
  for (const i of config.instances) {
    const links: [VirtualLinkConfig, boolean][] = [...(i.vmac ? [[i.vmac, true] as [VirtualLinkConfig, boolean]] : []), ...(i.extraVmacs ?? []).map((l): [VirtualLinkConfig, boolean] => [l, false])];
    for (const [l, primary] of links) {
      const spec = specOf(i, l, primary, host);
      const prev = byName.get(spec.name);
      if (!prev) {
        byName.set(spec.name, spec);
        continue;
      }
      // A shared link: what each user needs.
      const addresses = [...prev.addresses, ...spec.addresses.filter((a) => !prev.addresses.some((p) => p.address === a.address))];
      const sysctls = prev.sysctls === 'ipv4' || spec.sysctls === 'ipv4' ? 'ipv4' : prev.sysctls === 'ipv6' || spec.sysctls === 'ipv6' ? 'ipv6' : 'none';
      byName.set(spec.name, { ...prev, ipv6: prev.ipv6 || spec.ipv6, addresses, sysctls });
    }
  }
  return [...byName.values()];
}

/** What the agent's link handling needs of the host. */
export interface LinkDeps {
  readonly links: VirtualLinks;
  /** The agent's netlink view (NetlinkHost): the link-local addresses, and whether it sees the links. */
  readonly interfaces: Pick<InterfaceInfo, 'primaryAddress' | 'mac'> & { interfaceExists(name: string): boolean; linkUp(name: string): boolean };
  readonly log: Logger;
}

/** How long the agent waits for its netlink view to show the links made (they show in ms). */
export const LINK_SETTLE_TIMEOUT_MS = 3000;

/**
 * Makes the host's links what `config` asks for (VirtualLinks.reconcile), logs what changed, and
 * waits until the netlink view shows every wanted link (up, unless its base is down). Throws the
 * port's HostError when a link can't be made.
 */
export async function syncLinks(deps: LinkDeps, config: Pick<KeepalivedConfig, 'instances'>): Promise<readonly VirtualLinkChange[]> {
  const wanted = wantedLinks(config, deps.interfaces);
  await checkLinks(deps, config, wanted);
  const changes = await deps.links.reconcile(wanted);
  logChanges(deps.log, changes);
  if (wanted.length > 0) await settle(deps.interfaces, wanted);
  return changes;
}

/**
 * Throws a HostError, one line per link with the place in the config that asks for it, when the
 * links of `config` can't be made (a name or MAC held by a link that is not ours, a missing
 * interface). Changes nothing.
 */
export async function checkLinks(deps: Pick<LinkDeps, 'links' | 'interfaces'>, config: Pick<KeepalivedConfig, 'instances'>, wanted = wantedLinks(config, deps.interfaces)): Promise<void> {
  const problems = await deps.links.check(wanted);
  if (problems.length === 0) return;
  const where = new Map<string, SourceLocation>();
  for (const i of config.instances) for (const l of [i.vmac, ...(i.extraVmacs ?? [])]) if (l && !where.has(l.name)) where.set(l.name, l.location);
  const place = (name: string) => {
    const loc = where.get(name);
    return loc ? `${loc.file}:${loc.line}:${loc.column}: ` : '';
  };
  throw new HostError('interface', problems.map((p) => `${place(p.name)}${p.message}`).join('\n'));
}

/** Removes the agent's links (stop); never throws (a stop goes on). */
export async function removeLinks(deps: Pick<LinkDeps, 'links' | 'log'>): Promise<void> {
  try {
    logChanges(deps.log, await deps.links.removeAll());
  } catch (err) {
    deps.log.error({ event: 'virtual-link-failed' }, `removing the use_vmac/use_ipvlan links failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function logChanges(log: Logger, changes: readonly VirtualLinkChange[]): void {
  for (const c of changes) {
    const fields = { event: 'virtual-link', action: c.action, [A.interface]: c.name };
    const text = `${c.action === 'kept' ? 'using' : c.action} link ${c.name}: ${c.detail}`;
    log.info(fields, text);
  }
}

async function settle(view: LinkDeps['interfaces'], wanted: readonly VirtualLinkSpec[]): Promise<void> {
  const deadline = Date.now() + LINK_SETTLE_TIMEOUT_MS;
  const seen = () => wanted.every((w) => view.interfaceExists(w.name) && (view.linkUp(w.name) || !view.linkUp(w.base)));
  while (!seen() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/**
 * Puts back a wanted link someone deleted (keepalived recreates its VMACs the same way): once, a
 * moment after the deletion, with the config of the time. Until then the instance is in FAULT
 * (its link is down: host-watch.ts).
 */
export class LinkRestorer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: LinkDeps,
    private readonly config: () => Pick<KeepalivedConfig, 'instances'>,
    private readonly delayMs = 200,
  ) {}

  /**
   * A link vanished from the host. Looked at again a moment later: one the agent replaced itself
   * (a reconcile removes, then makes) is back by then.
   */
  gone(name: string): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped || this.deps.interfaces.interfaceExists(name) || !wantedLinks(this.config(), this.deps.interfaces).some((w) => w.name === name)) return;
      this.deps.log.warn({ event: 'virtual-link', action: 'lost', [A.interface]: name }, `link ${name} was removed by someone else: making it again`);
      syncLinks(this.deps, this.config()).catch((err: unknown) =>
        this.deps.log.error({ event: 'virtual-link-failed', [A.interface]: name }, `making ${name} again failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    }, this.delayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The use_vmac macvlans of a config: their MAC is the peers' too, so a capture there takes only incoming frames. */
export function sharedMacLinks(config: Pick<KeepalivedConfig, 'instances'>): ReadonlySet<string> {
  // Asked for every frame the guard sends (255 instances: 64 probes/s): once per config object
  // (a config is never changed in place; a reload makes a new one).
  const known = sharedMacCache.get(config);
  if (known) return known;
  const links = new Set(config.instances.flatMap((i) => [i.vmac, ...(i.extraVmacs ?? [])]).flatMap((l) => (l?.kind === 'macvlan' ? [l.name] : [])));
  sharedMacCache.set(config, links);
  return links;
}
const sharedMacCache = new WeakMap<object, ReadonlySet<string>>();

/**
 * The frames the split-brain guard may send (ARP / NDP probes, the hand-back announcement): none
 * on a use_vmac macvlan. There every holder of a VIP answers with the one virtual MAC, so a probe
 * tells nothing; and a frame from that MAC sent by a node that is not master (a held backup) would
 * move the switches' entry for the virtual MAC to it, away from the master.
 */
export function guardFrames(frames: FrameInjector, config: () => Pick<KeepalivedConfig, 'instances'>): FrameInjector {
  return {
    inject(iface, frame) {
      if (!sharedMacLinks(config()).has(iface)) frames.inject(iface, frame);
    },
  };
}
