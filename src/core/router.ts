/**
 * One VRRP instance: the RFC 5798 §6.4 state machine, as keepalived runs it.
 *
 * ```
 *                 +---------------+
 *      +--------->|               |<-------------+
 *      |          |  Initialize   |              |
 *      |   +------|               |----------+   |
 *      |   |      +---------------+          |   |
 *      |   |  priority 255 /        startup  |   |
 *      |   |  address-owner                  |   |
 *      |   V                                 V   |
 *  +---------------+                       +---------------+
 *  |               |---------------------->|               |
 *  |    Master     | higher-priority-advert|    Backup     |
 *  |               | equal-priority-...    |               |
 *  |               |<----------------------|               |
 *  +---------------+  master-down-timer    +---------------+
 *        |   ^        priority-zero-advert      |   ^
 *        |   |        preempt                   |   |
 *        V   |                                  V   |
 *  +---------------------------------------------------+
 *  |  Fault (interface down, failing tracker)          |  fault-cleared → Backup (Master if owner)
 *  +---------------------------------------------------+
 * ```
 *
 * | state  | event                                   | action                                  |
 * |--------|-----------------------------------------|-----------------------------------------|
 * | backup | advert prio 0                           | Master_Down_Timer := Skew_Time          |
 * | backup | advert prio >= ours, or nopreempt       | adopt interval (v3), restart down timer |
 * | backup | advert prio < ours, preempt             | ignore (timer runs out: preempt)        |
 * | backup | Master_Down_Timer fires                 | → master                                |
 * | master | advert prio 0                           | send advert now                         |
 * | master | advert prio > ours, or = and addr > ours| → backup                                |
 * | master | advert prio < ours                      | send advert now (RFC 9568, keepalived)  |
 * | master | Adver_Timer fires                       | send advert                             |
 *
 * Every state change goes through `transition()`, which emits `state-changed` with its cause.
 * Time comes only from the injected clock; the network and kernel only through the ports.
 */
import type { VrrpInstanceConfig, VirtualAddressConfig, VirtualLinkConfig } from '../config/model.js';
import { passwordAuthData, type AdvertFields } from '../protocol/advert.js';
import { AhSequenceCounter } from '../protocol/ah.js';
import type { AcceptedAdvert } from '../protocol/check.js';
import { AUTH_AH, AUTH_NONE, AUTH_PASS, PRIORITY_OWNER, PRIORITY_STOP } from '../protocol/constants.js';
import { compareIp } from '../protocol/inet.js';
import { buildGratuitousArp } from '../protocol/arp.js';
import { buildUnsolicitedNa } from '../protocol/ndp.js';
import { masterDownIntervalMs, skewTimeMs } from '../protocol/timing.js';
import type { AddressManager, AdvertTransport, Clock, FrameInjector, InterfaceInfo, RouteManager, RoutingEntry, TimerHandle } from '../ports/index.js';
import type { VrrpEvent, GarpSentEvent, PeerInfo, StateChangedEvent, TransitionCause, VrrpState } from '../events/index.js';

export interface RouterDeps {
  readonly clock: Clock;
  /**
   * Processes input that arrived but was not read yet (captured adverts still in a buffer),
   * synchronously. Called before a Master_Down_Timer takeover: after a stalled event loop the
   * timer runs before pending I/O, and an advert that came in time must still count.
   */
  readonly drainInput?: () => void;
  readonly transport: AdvertTransport;
  readonly addresses: AddressManager;
  /** `virtual_routes` / `virtual_rules` (absent: the instances have none to apply). */
  readonly routes?: RouteManager;
  readonly frames: FrameInjector;
  readonly interfaces: InterfaceInfo;
  /** Where the router's events go (the agent's bus): observers only, isolated from each other. */
  readonly events: { emit(event: VrrpEvent): void };
  /**
   * Runs after every transition, synchronously, once the router is in its new state: reactions
   * that move other routers (sync groups). Not isolated: a failure here is a failure of VRRP.
   */
  readonly afterTransition?: (event: StateChangedEvent) => void;
  /** Runs after this router's set of faults changed (a fault added or cleared), state change or not. */
  readonly afterFaultChange?: (router: VrrpRouter, source: string) => void;
}

/** Why the Master_Down_Timer is running: the cause the transition will carry if it fires. */
type DownTimerCause = 'master-down-timer' | 'priority-zero-advert' | 'preempt';

export interface RouterSnapshot {
  readonly name: string;
  readonly vrid: number;
  readonly interface: string;
  readonly family: VrrpInstanceConfig['family'];
  readonly version: VrrpInstanceConfig['version'];
  readonly state: VrrpState;
  readonly basePriority: number;
  readonly effectivePriority: number;
  readonly advertIntervalMs: number;
  readonly masterAdvertIntervalMs: number;
  readonly masterDownIntervalMs: number;
  readonly master?: PeerInfo & { readonly self: boolean; readonly lastAdvertAtMs?: number };
  readonly vips: readonly VirtualAddressConfig[];
  readonly faults: readonly string[];
  /** Held out by the split-brain guard (the reason), if so. */
  readonly held?: string;
  readonly lastTransition?: StateChangedEvent;
}

/**
 * A master answers lower-priority adverts at once, but not more often than this fraction of its
 * interval, so a flood of (authenticated) low-priority adverts can't make it flood the LAN.
 */
const REPLY_MIN_GAP_FRACTION = 0.25;

/**
 * A planned stop (handOver) keeps the VIP this long after the new master's first advert: its
 * gratuitous ARPs follow the advert within a millisecond, and the clients' frames already on
 * their way to our MAC still find the VIP (bench/switchover.ts: without it, 1 TCP SYN in 10
 * switchovers went unanswered).
 */
export const HANDOVER_LINGER_MS = 20;

/**
 * Whether two settings of an instance are the same instance for a reload: same name, VRID,
 * interface, family and version, and the address owner (255) stays the owner or not. Then the new
 * settings apply in place (VrrpRouter.reconfigure); otherwise the instance restarts.
 */
export function sameIdentity(a: VrrpInstanceConfig, b: VrrpInstanceConfig): boolean {
  return a.name === b.name && a.vrid === b.vrid && a.interface === b.interface && a.family === b.family && a.version === b.version && (a.priority === PRIORITY_OWNER) === (b.priority === PRIORITY_OWNER) && sameLink(a.vmac, b.vmac);
}

/** The same `use_vmac` / `use_ipvlan` link (where it was written aside): a changed one restarts the instance. */
function sameLink(a: VirtualLinkConfig | undefined, b: VirtualLinkConfig | undefined): boolean {
  if (!a || !b) return a === b;
  return a.kind === b.kind && a.name === b.name && a.base === b.base && a.mac === b.mac && a.xmitBase === b.xmitBase && a.ipvlanMode === b.ipvlanMode && a.address?.address === b.address?.address && a.address?.prefixLength === b.address?.prefixLength;
}

/**
 * The link an instance's adverts go out on and are heard on: its `use_vmac` / `use_ipvlan` link,
 * unless `vmac_xmit_base` (or there is none): its interface. keepalived binds its socket there
 * (vrrp_scheduler.c vrrp_create_sockpool); a macvlan peer's adverts, which carry our own virtual
 * MAC, reach only that link (the kernel's macvlan hands them to the link with that MAC).
 */
export function advertInterface(c: VrrpInstanceConfig): string {
  return c.vmac && !c.vmac.xmitBase ? c.vmac.name : c.interface;
}

export class VrrpRouter {
  private stateValue: VrrpState = 'init';
  private priorityOffset = 0;
  /** Offsets by source (setPriorityOffset); priorityOffset is their sum. */
  private readonly offsets = new Map<string, number>();
  private readonly faults = new Map<string, string>();
  private masterAdvertIntervalMsValue: number;
  private advertTimer: TimerHandle | undefined;
  private nextAdvertAtMs = 0;
  private downTimer: TimerHandle | undefined;
  private downTimerCause: DownTimerCause = 'master-down-timer';
  private downTimerStartedAtMs = 0;
  private readonly garpTimers = new Set<TimerHandle>();
  private lowerPrioGarpPending = false;
  private master: PeerInfo | undefined;
  private lastAdvertAtMs: number | undefined;
  private preemptAllowedAtMs = 0;
  private lastSentAtMs = -Infinity;
  /** A planned stop waiting for the new master (handOver). */
  private handover: { done: () => void; readonly startedAtMs: number; timer: TimerHandle; heard?: AcceptedAdvert } | undefined;
  private lastTransitionValue: StateChangedEvent | undefined;
  private holdDetail: string | undefined;
  /** VRRPv2 auth: the PASS bytes, or the AH key (both keepalived's 8 `auth_data` bytes). */
  private authData: Uint8Array | undefined;
  private authType: number = AUTH_NONE;
  /**
   * `auth_type AH`: the instance's sequence number, shared by the adverts it sends and the ones
   * it accepts (the engine's replay check); keepalived's `ipsecah_counter` (ah.ts).
   */
  ahSequence: AhSequenceCounter | undefined;
  private readonly fieldsCache = new Map<number, AdvertFields>();
  private destinations: readonly string[] = [];
  private configValue: VrrpInstanceConfig;

  constructor(
    config: VrrpInstanceConfig,
    private readonly deps: RouterDeps,
  ) {
    this.configValue = config;
    this.masterAdvertIntervalMsValue = config.advertIntervalMs;
    this.applySettings(config);
  }

  /** The instance's settings (a hitless reload may replace them: reconfigure()). */
  get config(): VrrpInstanceConfig {
    return this.configValue;
  }

  /** What the settings decide for sending: auth bytes, the AH counter (kept), destinations. */
  private applySettings(config: VrrpInstanceConfig): void {
    const auth = config.version === 2 ? config.authentication : undefined;
    this.authData = auth ? passwordAuthData(auth.password) : undefined;
    this.authType = !auth ? AUTH_NONE : auth.type === 'PASS' ? AUTH_PASS : AUTH_AH;
    // keepalived keeps the AH count across a reload; so do we (a new counter only for a new AH).
    this.ahSequence = auth?.type === 'AH' ? (this.ahSequence ?? new AhSequenceCounter()) : undefined;
    this.destinations = config.unicastPeers.length > 0 ? config.unicastPeers.map((p) => p.address) : [config.mcastGroup];
    this.fieldsCache.clear();
  }

  /**
   * Whether `next` can replace this instance's settings in place (a hitless reload): the same
   * VRID, interface, family and version, and the address owner (255) stays the owner or not.
   * Anything else is a new instance: it restarts.
   */
  canReconfigure(next: VrrpInstanceConfig): boolean {
    return sameIdentity(this.configValue, next);
  }

  /**
   * A hitless reload (SIGHUP, same identity): the new settings apply without an election. A master
   * adds the new VIPs and removes the dropped ones in place (GARPs for what it holds), and
   * advertises a changed priority or interval at once; a backup restarts its Master_Down_Timer
   * with the new values (a backup that now outranks a preemptable master preempts as usual).
   * keepalived 2.2.7 restarts such an instance; a reload must not flap the VIP.
   */
  reconfigure(next: VrrpInstanceConfig): void {
    if (!this.canReconfigure(next)) throw new Error(`instance ${next.name}: not the same identity; restart it instead`);
    const prev = this.configValue;
    const before = this.effectivePriority;
    const key = (v: VirtualAddressConfig) => `${v.device ?? prev.interface}|${v.address}`;
    const prevVips = new Map([...prev.virtualAddresses, ...prev.virtualAddressesExcluded].map((v) => [key(v), v]));
    const nextVips = new Map([...next.virtualAddresses, ...next.virtualAddressesExcluded].map((v) => [key(v), v]));
    this.configValue = next;
    this.applySettings(next);
    const after = this.effectivePriority;
    if (before !== after) this.emit({ type: 'priority-changed', ...this.ref(), from: before, to: after, basePriority: next.priority, atMs: this.deps.clock.now() });
    if (this.stateValue === 'master') {
      const removed = [...prevVips].filter(([k]) => !nextVips.has(k)).map(([, v]) => v);
      const added = [...nextVips].filter(([k]) => !prevVips.has(k)).map(([, v]) => v);
      const routing = routingChanges(prev, next);
      for (const e of routing.removed) this.deps.routes?.remove(e);
      this.changeVips('remove', removed);
      this.changeVips('add', added);
      for (const e of routing.added) this.deps.routes?.add(e);
      if (added.length > 0) this.garpBurst(next.garpMasterRepeat, 'refresh');
      if (before !== after || prev.advertIntervalMs !== next.advertIntervalMs || added.length + removed.length > 0) this.sendAdvertAndReschedule();
    } else if (this.stateValue === 'backup') {
      if (next.version === 2) this.masterAdvertIntervalMsValue = next.advertIntervalMs;
      if (this.downTimer !== undefined) this.startDownTimer(this.masterDownIntervalMs, this.downTimerCause, this.lastAdvertAtMs ?? this.deps.clock.now());
    }
  }

  /** Adds or removes some VIPs (a reload on a master), as applyVips does for all of them. */
  private changeVips(action: 'add' | 'remove', vips: readonly VirtualAddressConfig[]): void {
    if (vips.length === 0) return;
    for (const vip of vips) {
      const assignment = { instance: this.config.name, interface: vip.device ?? this.config.interface, vip };
      if (action === 'add') this.deps.addresses.add(assignment);
      else this.deps.addresses.remove(assignment);
    }
    this.emit({ type: 'vip-requested', instance: this.config.name, vrid: this.config.vrid, interface: this.config.interface, action, vips: vips.map((v) => v.address), atMs: this.deps.clock.now() });
  }

  get name(): string {
    return this.config.name;
  }
  get state(): VrrpState {
    return this.stateValue;
  }
  get basePriority(): number {
    return this.config.priority;
  }
  /** Base priority plus tracker weights, clamped to 1-254; an owner (255) never changes. */
  get effectivePriority(): number {
    if (this.config.priority === PRIORITY_OWNER) return PRIORITY_OWNER;
    return Math.min(254, Math.max(1, this.config.priority + this.priorityOffset));
  }
  get masterAdvertIntervalMs(): number {
    return this.masterAdvertIntervalMsValue;
  }
  /** RFC 5798 §6.1, with this router's effective priority and the master's interval. */
  get masterDownIntervalMs(): number {
    return masterDownIntervalMs(this.config.version, this.effectivePriority, this.masterAdvertIntervalMsValue);
  }
  get lastTransition(): StateChangedEvent | undefined {
    return this.lastTransitionValue;
  }

  /** The address our adverts come from (and that breaks priority ties). */
  sourceAddress(): string | undefined {
    const c = this.config;
    const explicit = c.unicastPeers.length > 0 ? c.unicastSrcIp : c.mcastSrcIp;
    // use_ipvlan ADDRESS: keepalived sends from the ipvlan's address. A macvlan's IPv4 adverts come
    // from the interface's address (keepalived's VRRP_PKT_SADDR), its IPv6 ones from the
    // interface's link-local address, which keepwatch copies onto the macvlan as keepalived does.
    return explicit ?? c.vmac?.address?.address ?? this.deps.interfaces.primaryAddress(c.interface, c.family);
  }

  /** RFC 5798 §6.4.1 Initialize: owner → Master, everyone else → Backup. */
  start(): void {
    if (this.stateValue !== 'init') return;
    this.preemptAllowedAtMs = this.deps.clock.now() + this.config.preemptDelayMs;
    if (this.faults.size > 0) this.transition('fault', 'fault', { detail: this.faultDetail() });
    else if (this.effectivePriority === PRIORITY_OWNER) this.transition('master', 'address-owner');
    else this.transition('backup', 'startup');
  }

  /** Shutdown (RFC 5798 §6.4.3): a master sends priority 0 so a backup takes over after Skew_Time. */
  stop(): void {
    if (this.handover) {
      this.finishHandover('stopped');
      return;
    }
    if (this.stateValue === 'master') this.sendAdvert(PRIORITY_STOP);
    this.transition('init', 'shutdown');
  }

  /**
   * A planned stop, make-before-break (issue 17): a master sends its priority-0 advert (RFC 5798
   * §6.4.3) and stops advertising, but keeps its VIPs (and routes) until it hears the new master's
   * first advert, or until `boundMs` passes (no backup): then it leaves as stop() does. A backup
   * takes over after its Skew_Time and sends its gratuitous ARPs right after its first advert;
   * until then the clients' traffic still reaches a node that holds the VIP. `done` runs once the
   * instance has left (at once when it is not master). The peer may be keepalived: it only sees
   * the priority-0 advert RFC 5798 asks for, then silence, as from a plain stop.
   */
  handOver(boundMs: number, done: () => void): void {
    if (this.handover) {
      const previous = this.handover.done;
      this.handover.done = () => {
        previous();
        done();
      };
      return;
    }
    if (this.stateValue !== 'master') {
      this.stop();
      done();
      return;
    }
    const clock = this.deps.clock;
    if (this.advertTimer) clock.clearTimer(this.advertTimer);
    this.advertTimer = undefined;
    this.clearGarpTimers();
    this.sendAdvert(PRIORITY_STOP);
    this.handover = { done, startedAtMs: clock.now(), timer: clock.setTimer(boundMs, () => this.finishHandover('bound')) };
  }

  /** Whether a planned stop is waiting for the new master (handOver). */
  get handingOver(): boolean {
    return this.handover !== undefined;
  }

  private finishHandover(why: 'new-master' | 'bound' | 'stopped', heard?: AcceptedAdvert): void {
    const h = this.handover;
    if (!h) return;
    this.handover = undefined;
    this.deps.clock.clearTimer(h.timer);
    const waitedMs = Math.round(this.deps.clock.now() - h.startedAtMs);
    const detail =
      why === 'new-master'
        ? `handed over: ${heard!.source} (priority ${heard!.priority}) advertised, we left ${waitedMs} ms after our priority-0 advert`
        : why === 'bound'
          ? `no new master heard within ${waitedMs} ms of our priority-0 advert`
          : 'stopped during the handover';
    this.transition('init', 'shutdown', { detail });
    h.done();
  }

  /**
   * An advert that passed the checks for this instance. `atMs` is its capture time on the
   * monotonic clock (defaults to now).
   */
  receiveAdvert(advert: AcceptedAdvert, atMs = this.deps.clock.now()): void {
    const state = this.stateValue;
    // skip_check_adv_addr (keepalived vrrp_state_backup): a backup does not compare the address
    // list of an advert from the master it already follows; only a different count still shows.
    const skipList = state === 'backup' && this.config.skipCheckAdvAddr && this.master?.address === advert.source;
    const addressListMismatch = skipList ? advert.addresses.length !== this.config.virtualAddresses.length : advert.addressListMismatch;
    this.emit({
      type: 'advert-received',
      ...this.ref(),
      source: advert.source,
      ...(advert.sourceMac ? { sourceMac: advert.sourceMac } : {}),
      priority: advert.priority,
      advertIntervalMs: advert.advertIntervalMs,
      addressListMismatch,
      atMs,
      state,
    });
    // A planned stop waits for the new master's first advert (handOver); nothing else counts now.
    if (this.handover) {
      if (advert.priority !== PRIORITY_STOP && !this.handover.heard) {
        // The new master sends its gratuitous ARPs right after this advert: keep answering for the
        // VIP a moment longer, so nothing still on its way to our MAC is dropped. Not on a
        // use_vmac link: the MAC moves with the VIP there, there is nothing to wait for.
        const h = this.handover;
        h.heard = advert;
        const linger = this.config.vmac ? 0 : HANDOVER_LINGER_MS;
        if (linger === 0) this.finishHandover('new-master', advert);
        else {
          this.deps.clock.clearTimer(h.timer);
          h.timer = this.deps.clock.setTimer(linger, () => this.finishHandover('new-master', advert));
        }
      }
      return;
    }
    if (state === 'backup') this.backupReceive(advert, atMs);
    else if (state === 'master') this.masterReceive(advert, atMs);
    // init and fault ignore adverts (RFC 5798 §6.4.1; keepalived in FAULT).
  }

  /**
   * Sets (detail given) or clears (undefined) a fault from one source, e.g. `interface:eth0` or
   * `script:chk_nginx`. Any fault → FAULT; the last one cleared → Backup (Master if owner).
   * `linkDown`: the interface is gone, so a master can't send its priority-0 goodbye.
   */
  setFault(source: string, detail: string | undefined, opts: { linkDown?: boolean } = {}): void {
    const changed = detail !== undefined ? !this.faults.has(source) : this.faults.has(source);
    this.applyFault(source, detail, opts);
    if (changed) this.deps.afterFaultChange?.(this, source);
  }

  private applyFault(source: string, detail: string | undefined, opts: { linkDown?: boolean }): void {
    if (detail !== undefined) {
      const had = this.faults.size > 0;
      this.faults.set(source, detail);
      if (had || this.stateValue === 'init' || this.stateValue === 'fault') return;
      if (this.stateValue === 'master' && !opts.linkDown) this.sendAdvert(PRIORITY_STOP);
      this.transition('fault', 'fault', { detail });
      return;
    }
    if (!this.faults.delete(source) || this.faults.size > 0 || this.stateValue !== 'fault') return;
    if (this.effectivePriority === PRIORITY_OWNER) this.transition('master', 'fault-cleared');
    else this.transition('backup', 'fault-cleared');
  }

  /**
   * The instance's own interface is up or down (the host watcher, at start and at every change):
   * FAULT while it is down (a link down can't send the priority-0 goodbye) — unless
   * `dont_track_primary`, with which keepalived ignores the interface (VRRP_NOT_TRACK_IF): the
   * instance keeps its state, and a master its VIPs, while its sends fail.
   */
  setInterfaceUp(up: boolean): void {
    const name = this.config.interface;
    const source = `interface:${name}`;
    if (this.config.dontTrackPrimary) {
      if (this.faults.has(source)) this.setFault(source, undefined);
      return;
    }
    this.setFault(source, up ? undefined : `interface ${name} down`, { linkDown: !up });
  }

  /** The sources of the faults set now (`interface:eth0`, `script:chk_nginx`, ...). */
  faultSources(): readonly string[] {
    return [...this.faults.keys()];
  }

  /**
   * Tracker weights moved: effective = base + the offsets of every source (clamped). A master
   * re-advertises at once. `source`: who sets it (the TrackerSet, 'track'; BFD, 'bfd').
   */
  setPriorityOffset(offset: number, source = 'track'): void {
    const before = this.effectivePriority;
    this.offsets.set(source, offset);
    let sum = 0;
    for (const o of this.offsets.values()) sum += o;
    this.priorityOffset = sum;
    const after = this.effectivePriority;
    if (before === after) return;
    this.emit({ type: 'priority-changed', ...this.ref(), from: before, to: after, basePriority: this.config.priority, atMs: this.deps.clock.now() });
    if (this.stateValue === 'master') this.sendAdvertAndReschedule();
  }

  /**
   * The split-brain guard decided this node must stay out: a master yields (removing its VIPs),
   * and while held the Master_Down_Timer never makes it master. VRRP adverts are still processed.
   */
  hold(detail: string): void {
    this.holdDetail = detail;
    if (this.stateValue === 'master') this.transition('backup', 'guard-demotion', { detail });
  }

  /**
   * The guard lets go. Unless a master is heard, take over Master_Down_Interval after
   * `lastEvidenceAtMs` (the last time the winner was seen holding the VIP).
   */
  releaseHold(lastEvidenceAtMs = this.deps.clock.now()): void {
    if (this.holdDetail === undefined) return;
    this.holdDetail = undefined;
    if (this.stateValue === 'backup') this.startDownTimer(this.masterDownIntervalMs, 'master-down-timer', Math.max(lastEvidenceAtMs, this.lastAdvertAtMs ?? -Infinity));
  }

  /** Why the guard holds this node out, or undefined. */
  get held(): string | undefined {
    return this.holdDetail;
  }

  /**
   * A `vrrp_sync_group` member moved: follow it (RFC-free, keepalived's semantics). Only
   * BACKUP → MASTER and MASTER → BACKUP; faults travel through setFault.
   */
  syncTo(to: 'master' | 'backup', detail: string): void {
    if (to === 'master' && this.stateValue === 'backup' && this.holdDetail === undefined) this.transition('master', 'sync-group', { detail });
    else if (to === 'backup' && this.stateValue === 'master') this.transition('backup', 'sync-group', { detail });
  }

  /** Gratuitous ARPs now (the guard reclaims neighbours' caches after keeping the VIP). */
  announce(): void {
    if (this.stateValue === 'master') this.garpBurst(this.config.garpMasterRepeat, 'guard');
  }

  snapshot(): RouterSnapshot {
    const isMaster = this.stateValue === 'master';
    const src = this.sourceAddress();
    const master = isMaster
      ? { address: src ?? '', priority: this.effectivePriority, advertIntervalMs: this.config.advertIntervalMs, self: true }
      : this.master && this.stateValue === 'backup'
        ? { ...this.master, self: false, ...(this.lastAdvertAtMs !== undefined ? { lastAdvertAtMs: this.lastAdvertAtMs } : {}) }
        : undefined;
    return {
      name: this.config.name,
      vrid: this.config.vrid,
      interface: this.config.interface,
      family: this.config.family,
      version: this.config.version,
      state: this.stateValue,
      basePriority: this.config.priority,
      effectivePriority: this.effectivePriority,
      advertIntervalMs: this.config.advertIntervalMs,
      masterAdvertIntervalMs: this.masterAdvertIntervalMsValue,
      masterDownIntervalMs: this.masterDownIntervalMs,
      ...(master ? { master } : {}),
      vips: [...this.config.virtualAddresses, ...this.config.virtualAddressesExcluded],
      faults: [...this.faults.values()],
      ...(this.holdDetail !== undefined ? { held: this.holdDetail } : {}),
      ...(this.lastTransitionValue ? { lastTransition: this.lastTransitionValue } : {}),
    };
  }

  // --- RFC 5798 §6.4.2 Backup -------------------------------------------------------------

  private backupReceive(advert: AcceptedAdvert, atMs: number): void {
    if (advert.priority === PRIORITY_STOP) {
      // The master resigned: take over after Skew_Time instead of Master_Down_Interval.
      this.lastAdvertAtMs = atMs;
      this.startDownTimer(skewTimeMs(this.config.version, this.effectivePriority, this.masterAdvertIntervalMsValue), 'priority-zero-advert', atMs);
      return;
    }
    const mine = this.effectivePriority;
    const peer: PeerInfo = { address: advert.source, priority: advert.priority, advertIntervalMs: advert.advertIntervalMs };
    if (this.config.nopreempt || advert.priority >= mine) {
      this.acceptMaster(peer, atMs);
      return;
    }
    // A lower-priority master and we may preempt. preempt_delay (keepalived): for that long after
    // startup or after a lower-priority master appears, it is still accepted.
    const wasLower = this.master !== undefined && this.master.priority < mine && this.master.address === peer.address;
    if (!wasLower && this.config.preemptDelayMs > 0) this.preemptAllowedAtMs = Math.max(this.preemptAllowedAtMs, atMs + this.config.preemptDelayMs);
    if (atMs < this.preemptAllowedAtMs) {
      this.acceptMaster(peer, atMs);
      return;
    }
    // Discard it: the timer runs out and we preempt. Keep when the timer was started.
    this.master = peer;
    if (this.downTimerCause === 'master-down-timer') this.downTimerCause = 'preempt';
  }

  private acceptMaster(peer: PeerInfo, atMs: number): void {
    this.master = peer;
    this.lastAdvertAtMs = atMs;
    // RFC 5798 §6.4.2: a v3 backup adopts the master's interval; v2 intervals must match anyway.
    if (this.config.version === 3) this.masterAdvertIntervalMsValue = peer.advertIntervalMs;
    this.startDownTimer(this.masterDownIntervalMs, 'master-down-timer', atMs);
  }

  /**
   * Master_Down_Timer, counted from `startedAtMs` (when the advert that set it was captured), so
   * the time it spent reaching us does not delay the takeover.
   */
  private startDownTimer(delayMs: number, cause: DownTimerCause, startedAtMs: number): void {
    this.clearDownTimer();
    this.downTimerCause = cause;
    this.downTimerStartedAtMs = startedAtMs;
    const elapsed = Math.max(0, this.deps.clock.now() - startedAtMs);
    this.downTimer = this.deps.clock.setTimer(
      Math.max(0, delayMs - elapsed),
      () => {
        this.downTimer = undefined;
        if (this.stateValue !== 'backup') return;
        this.deps.drainInput?.();
        // An advert that was waiting restarted the timer (or changed the state): no takeover.
        if (this.downTimer !== undefined || this.stateValue !== 'backup') return;
        // Held by the split-brain guard: stay out, look again after another interval.
        if (this.holdDetail !== undefined) this.startDownTimer(this.masterDownIntervalMs, 'master-down-timer', this.deps.clock.now());
        else this.transition('master', this.downTimerCause, { startedAtMs: this.downTimerStartedAtMs, dueAtMs: startedAtMs + delayMs });
      },
      { precise: true },
    );
  }

  private clearDownTimer(): void {
    if (this.downTimer) this.deps.clock.clearTimer(this.downTimer);
    this.downTimer = undefined;
  }

  // --- RFC 5798 §6.4.3 Master -------------------------------------------------------------

  private masterReceive(advert: AcceptedAdvert, atMs: number): void {
    if (advert.priority === PRIORITY_STOP) {
      this.sendAdvertAndReschedule();
      return;
    }
    const mine = this.effectivePriority;
    const ours = this.sourceAddress();
    const higher = advert.priority > mine;
    const tieLost = advert.priority === mine && ours !== undefined && compareIp(advert.source, ours) > 0;
    if (higher || tieLost) {
      // higher_prio_send_advert (keepalived vrrp_state_master_rx): one advert of ours first, so a
      // master that answers lower priorities with GARPs (garp_lower_prio_repeat) refreshes them.
      if (this.config.higherPrioSendAdvert) this.sendAdvert(mine);
      this.master = { address: advert.source, priority: advert.priority, advertIntervalMs: advert.advertIntervalMs };
      this.lastAdvertAtMs = atMs;
      if (this.config.version === 3) this.masterAdvertIntervalMsValue = advert.advertIntervalMs;
      this.transition('backup', higher ? 'higher-priority-advert' : 'equal-priority-higher-address', { startedAtMs: atMs });
      return;
    }
    // A lower-priority (or tie-losing) master: answer now so it yields without waiting an
    // interval (RFC 9568 §6.4.3; keepalived does the same), then refresh ARP caches it may have
    // poisoned (keepalived's garp_lower_prio_delay / _repeat). With AH, continue after its
    // sequence number first (keepalived's "Syncing seq_num"), so it accepts our answer.
    if (advert.ahSequence !== undefined) this.ahSequence?.syncFromLowerPriority(advert.ahSequence);
    // lower_prio_no_advert (strict mode's default): no answer; the lower one yields when it hears
    // our next scheduled advert (RFC 5798 §6.4.3 as written).
    if (!this.config.lowerPrioNoAdvert && atMs - this.lastSentAtMs >= this.config.advertIntervalMs * REPLY_MIN_GAP_FRACTION) this.sendAdvertAndReschedule();
    if (this.config.garpLowerPrioRepeat > 0 && !this.lowerPrioGarpPending) {
      // keepalived: garp_lower_prio_repeat rounds now and again after garp_lower_prio_delay;
      // one such schedule at a time, however many lower-priority adverts arrive.
      this.lowerPrioGarpPending = true;
      this.garpBurst(this.config.garpLowerPrioRepeat, 'lower-priority');
      const delay = this.config.garpLowerPrioDelayMs;
      if (delay > 0) this.scheduleGarp(delay, () => this.garpBurst(this.config.garpLowerPrioRepeat, 'lower-priority'));
      this.scheduleGarp(Math.max(delay, this.config.advertIntervalMs), () => (this.lowerPrioGarpPending = false));
    }
  }

  /**
   * `dueAtMs`: the planned time of this advert (a timer's deadline). The next one is planned one
   * interval after it, so instances whose timers were due together keep advertising together:
   * 255 instances that took over at once share one wake-up a second (adapters/clock.ts) instead
   * of one each, however long their transitions took to run. Unplanned or an interval late: now.
   */
  private sendAdvertAndReschedule(dueAtMs?: number): void {
    // Handing over: the priority-0 advert was the last one (a weight change must not revoke it).
    if (this.handover) return;
    this.sendAdvert(this.effectivePriority);
    const now = this.deps.clock.now();
    const interval = this.config.advertIntervalMs;
    const base = dueAtMs !== undefined && dueAtMs <= now && now - dueAtMs < interval / 2 ? dueAtMs : now;
    this.nextAdvertAtMs = base + interval;
    this.armAdvertTimer();
  }

  /** Adver_Timer: scheduled against the planned time, so jitter does not accumulate. */
  private armAdvertTimer(): void {
    if (this.advertTimer) this.deps.clock.clearTimer(this.advertTimer);
    const delay = Math.max(0, this.nextAdvertAtMs - this.deps.clock.now());
    this.advertTimer = this.deps.clock.setTimer(delay, () => {
      this.advertTimer = undefined;
      if (this.stateValue !== 'master') return;
      this.sendAdvert(this.effectivePriority);
      const now = this.deps.clock.now();
      this.nextAdvertAtMs += this.config.advertIntervalMs;
      // After a long stall (suspended VM), restart the cadence instead of sending a burst.
      if (this.nextAdvertAtMs <= now) this.nextAdvertAtMs = now + this.config.advertIntervalMs;
      this.armAdvertTimer();
    }, { precise: true });
  }

  private sendAdvert(priority: number): void {
    const c = this.config;
    const source = this.sourceAddress();
    const now = this.deps.clock.now();
    if (source === undefined) {
      this.emit({ type: 'send-failed', instance: c.name, interface: c.interface, reason: `no ${c.family} address on ${c.interface} to send from`, atMs: now });
      return;
    }
    const base = this.fieldsFor(priority);
    // AH: every advert takes the next sequence number (its unicast copies share it); keepalived
    // zeroes the TTL in the ICV of a unicast instance.
    const fields = this.ahSequence ? { ...base, ah: { sequence: this.ahSequence.next(), zeroTtl: c.unicastPeers.length > 0 } } : base;
    const ttl = c.unicastPeers.length > 0 ? c.unicastTtl : undefined;
    this.deps.transport.send({ instance: c.name, interface: advertInterface(c), family: c.family, source, destinations: this.destinations, fields, checksumAsV2: c.v3ChecksumAsV2, ...(ttl !== undefined ? { ttl } : {}) });
    this.lastSentAtMs = now;
    this.emit({ type: 'advert-sent', ...this.ref(), priority, atMs: now, destinations: this.destinations });
  }

  /** One fields object per priority: the content of an advert only changes with the priority. */
  private fieldsFor(priority: number): AdvertFields {
    let f = this.fieldsCache.get(priority);
    if (!f) {
      const c = this.config;
      f = {
        version: c.version,
        vrid: c.vrid,
        priority,
        advertIntervalMs: c.advertIntervalMs,
        addresses: c.virtualAddresses.map((v) => v.address),
        authType: this.authType,
        ...(this.authData ? { authData: this.authData } : {}),
      };
      this.fieldsCache.set(priority, f);
    }
    return f;
  }

  // --- VIPs and gratuitous ARP ----------------------------------------------------------

  private allVips(): VirtualAddressConfig[] {
    return [...this.config.virtualAddresses, ...this.config.virtualAddressesExcluded];
  }

  /**
   * `virtual_routes` then `virtual_rules` after the VIPs on becoming master (a route may use a VIP
   * as its `src`); rules, then routes, before the VIPs on leaving: keepalived's order
   * (vrrp.c vrrp_state_become_master, vrrp_restore_interface). The port applies them in order.
   */
  private applyRouting(action: 'add' | 'remove'): void {
    const routes = this.deps.routes;
    if (!routes) return;
    const entries = routingEntries(this.config);
    if (action === 'add') for (const e of entries) routes.add(e);
    else for (const e of entries.reverse()) routes.remove(e);
  }

  private applyVips(action: 'add' | 'remove'): void {
    const vips = this.allVips();
    if (vips.length === 0) return;
    for (const vip of vips) {
      const assignment = { instance: this.config.name, interface: vip.device ?? this.config.interface, vip };
      if (action === 'add') this.deps.addresses.add(assignment);
      else this.deps.addresses.remove(assignment);
    }
    this.emit({ type: 'vip-requested', instance: this.config.name, vrid: this.config.vrid, interface: this.config.interface, action, vips: vips.map((v) => v.address), atMs: this.deps.clock.now() });
  }

  private scheduleGarp(delayMs: number, fn: () => void): void {
    const handle = this.deps.clock.setTimer(delayMs, () => {
      this.garpTimers.delete(handle);
      if (this.stateValue === 'master') fn();
    });
    this.garpTimers.add(handle);
  }

  /**
   * `repeat` gratuitous ARPs for every IPv4 VIP and `repeat` unsolicited neighbour advertisements
   * (RFC 4861 §7.2.6) for every IPv6 VIP, per device, as keepalived's vrrp_send_link_update: the
   * same repeat, delay and refresh settings for both. Frames of one family are spaced by its own
   * interval — `garp_interval` / `vrrp_garp_interval` for ARP, `vrrp_gna_interval` for NA
   * (keepalived's per-interface rate limits) — else sent at once. One `garp-sent` per device and
   * family (`protocol`), so keepwatch_garp_sent_total counts both kinds of frame.
   */
  private garpBurst(repeat: number, reason: GarpSentEvent['reason']): void {
    // A repeat of 0 sends nothing (vrrp_min_garp can leave vrrp_garp_master_refresh_repeat at 0).
    if (repeat <= 0) return;
    const byDevice = new Map<string, VirtualAddressConfig[]>();
    for (const vip of this.allVips()) {
      const dev = vip.device ?? this.config.interface;
      byDevice.set(dev, [...(byDevice.get(dev) ?? []), vip]);
    }
    for (const [dev, devVips] of byDevice) {
      const mac = this.deps.interfaces.mac(dev);
      const now = this.deps.clock.now();
      if (!mac) {
        const what = [...new Set(devVips.map((v) => (v.family === 'ipv4' ? 'gratuitous ARP' : 'unsolicited neighbour advertisement')))].join(' / ');
        this.emit({ type: 'send-failed', instance: this.config.name, interface: dev, reason: `no MAC known for ${dev}: ${what} not sent`, atMs: now });
        continue;
      }
      for (const protocol of ['arp', 'ndp'] as const) {
        const vips = devVips.filter((v) => v.family === (protocol === 'arp' ? 'ipv4' : 'ipv6')).map((v) => v.address);
        if (vips.length === 0) continue;
        // keepalived sets the Router flag when IPv6 forwarding is on for the interface.
        const router = protocol === 'ndp' && (this.deps.interfaces.ipv6Forwarding?.(dev) ?? false);
        const build = protocol === 'arp' ? (vip: string) => buildGratuitousArp(mac, vip) : (vip: string) => buildUnsolicitedNa(mac, vip, { router });
        const frames: Uint8Array[] = [];
        for (let r = 0; r < repeat; r++) for (const vip of vips) frames.push(build(vip));
        const spacing = protocol === 'arp' ? this.config.garpIntervalMs : this.config.gnaIntervalMs;
        if (spacing <= 0) {
          for (const f of frames) this.deps.frames.inject(dev, f);
        } else {
          this.deps.frames.inject(dev, frames[0]!);
          frames.slice(1).forEach((f, i) => this.scheduleGarp(spacing * (i + 1), () => this.deps.frames.inject(dev, f)));
        }
        this.emit({ type: 'garp-sent', instance: this.config.name, vrid: this.config.vrid, interface: dev, vips, mac, count: frames.length, reason, protocol, atMs: now });
      }
    }
  }

  /**
   * `garp_extra_if` (keepalived vrrp_send_vmac_update): one gratuitous ARP (or unsolicited NA) on
   * each of its interfaces (config/assemble.ts chose them), for the first VIP there only — enough
   * to keep the interface's MAC in the switches' tables.
   */
  private extraInterfaceGarp(): void {
    const on = new Set(this.config.garpExtraIf?.interfaces ?? []);
    const first = new Map<string, VirtualAddressConfig>();
    for (const vip of this.allVips()) {
      const dev = vip.device ?? this.config.interface;
      if (on.has(dev) && !first.has(dev)) first.set(dev, vip);
    }
    for (const [dev, vip] of first) {
      const mac = this.deps.interfaces.mac(dev);
      const now = this.deps.clock.now();
      const protocol = vip.family === 'ipv4' ? 'arp' : 'ndp';
      if (!mac) {
        this.emit({ type: 'send-failed', instance: this.config.name, interface: dev, reason: `no MAC known for ${dev}: ${protocol === 'arp' ? 'gratuitous ARP' : 'unsolicited neighbour advertisement'} not sent`, atMs: now });
        continue;
      }
      const router = protocol === 'ndp' && (this.deps.interfaces.ipv6Forwarding?.(dev) ?? false);
      this.deps.frames.inject(dev, protocol === 'arp' ? buildGratuitousArp(mac, vip.address) : buildUnsolicitedNa(mac, vip.address, { router }));
      this.emit({ type: 'garp-sent', instance: this.config.name, vrid: this.config.vrid, interface: dev, vips: [vip.address], mac, count: 1, reason: 'extra-interface', protocol, atMs: now });
    }
  }

  private startGarpSchedule(): void {
    const c = this.config;
    this.garpBurst(c.garpMasterRepeat, 'become-master');
    // keepalived sends the first one garp_extra_if seconds after becoming master (it checks at each
    // advert it sends; keepwatch keeps the interval with a timer).
    const extra = c.garpExtraIf;
    if (extra) {
      const again = (): void => {
        this.extraInterfaceGarp();
        this.scheduleGarp(extra.intervalMs, again);
      };
      this.scheduleGarp(extra.intervalMs, again);
    }
    if (c.garpMasterDelayMs > 0) this.scheduleGarp(c.garpMasterDelayMs, () => this.garpBurst(c.garpMasterRepeat, 'master-delay'));
    if (c.garpMasterRefreshMs > 0) {
      const refresh = (): void => {
        this.garpBurst(c.garpMasterRefreshRepeat, 'refresh');
        this.scheduleGarp(c.garpMasterRefreshMs, refresh);
      };
      this.scheduleGarp(c.garpMasterRefreshMs, refresh);
    }
  }

  private clearGarpTimers(): void {
    for (const t of this.garpTimers) this.deps.clock.clearTimer(t);
    this.garpTimers.clear();
    this.lowerPrioGarpPending = false;
  }

  // --- the one transition point ---------------------------------------------------------

  /**
   * `dueAtMs`: when the timer that caused it was due (Master_Down_Timer): the new master's
   * Adver_Timer counts from there, not from when the transition got to run.
   */
  private transition(to: VrrpState, cause: TransitionCause, ctx: { detail?: string; startedAtMs?: number; dueAtMs?: number } = {}): void {
    const from = this.stateValue;
    if (from === to) return;
    const clock = this.deps.clock;
    const now = clock.now();

    // Leave the old state.
    this.clearDownTimer();
    // Left during a handover (a fault): the VIPs go below, and the stop is done once we are out.
    const handover = this.handover;
    if (handover) {
      this.handover = undefined;
      clock.clearTimer(handover.timer);
    }
    if (from === 'master') {
      if (this.advertTimer) clock.clearTimer(this.advertTimer);
      this.advertTimer = undefined;
      this.clearGarpTimers();
      this.applyRouting('remove');
      this.applyVips('remove');
    }

    this.stateValue = to;
    const peer = to === 'master' ? undefined : this.master;
    const event: StateChangedEvent = {
      type: 'state-changed',
      ...this.ref(),
      from,
      to,
      cause,
      ...(ctx.detail !== undefined ? { detail: ctx.detail } : {}),
      atMs: now,
      wallMs: clock.wallNow(),
      startedAtMs: ctx.startedAtMs ?? now,
      priority: this.effectivePriority,
      basePriority: this.config.priority,
      ...(peer ? { peer } : to === 'master' && this.master ? { peer: this.master } : {}),
      ...(this.lastAdvertAtMs !== undefined ? { lastAdvertAtMs: this.lastAdvertAtMs } : {}),
    };
    this.lastTransitionValue = event;
    if (to === 'master') {
      // The advert goes out before anyone hears of the transition: it is what stops the other
      // routers' timers, and subscribers (metrics, traces, logs) must not delay it.
      this.master = undefined;
      this.masterAdvertIntervalMsValue = this.config.advertIntervalMs;
      this.ahSequence?.enterMaster();
      this.sendAdvertAndReschedule(ctx.dueAtMs);
    }
    this.emit(event);

    // Enter the new one.
    switch (to) {
      case 'master':
        this.applyVips('add');
        this.applyRouting('add');
        this.startGarpSchedule();
        break;
      case 'backup':
        if (from !== 'master') {
          this.master = undefined;
          this.masterAdvertIntervalMsValue = this.config.advertIntervalMs;
        }
        this.startDownTimer(this.masterDownIntervalMs, 'master-down-timer', now);
        break;
      case 'fault':
      case 'init':
        this.master = undefined;
        break;
    }
    this.deps.afterTransition?.(event);
    handover?.done();
  }

  private faultDetail(): string {
    return [...this.faults.values()].join('; ');
  }

  private ref() {
    const c = this.config;
    return { instance: c.name, vrid: c.vrid, interface: c.interface, family: c.family, version: c.version };
  }

  private emit(event: VrrpEvent): void {
    this.deps.events.emit(event);
  }
}

/** An instance's virtual routes, then its virtual rules, as port entries. */
export function routingEntries(c: VrrpInstanceConfig): RoutingEntry[] {
  return [
    ...c.virtualRoutes.map((route): RoutingEntry => ({ kind: 'route', owner: c.name, route })),
    ...c.virtualRules.map((rule): RoutingEntry => ({ kind: 'rule', owner: c.name, rule })),
  ];
}

/** A route or rule without where and how it was written: equal means the same entry for a reload. */
function routingIdentity(e: RoutingEntry): string {
  return JSON.stringify(e.kind === 'route' ? { ...e.route, location: undefined, text: undefined } : e.kind === 'rule' ? { ...e.rule, location: undefined, text: undefined } : e);
}

/** Virtual routes and rules a reload drops (rules first) and adds (routes first). */
function routingChanges(prev: VrrpInstanceConfig, next: VrrpInstanceConfig): { removed: RoutingEntry[]; added: RoutingEntry[] } {
  const before = new Map(routingEntries(prev).map((e) => [routingIdentity(e), e]));
  const after = new Map(routingEntries(next).map((e) => [routingIdentity(e), e]));
  return {
    removed: [...before].filter(([k]) => !after.has(k)).map(([, e]) => e).reverse(),
    added: [...after].filter(([k]) => !before.has(k)).map(([, e]) => e),
  };
}
