/**
 * The composition root: builds every part of a running agent and subscribes it to the one bus.
 * Wiring only — no protocol or host decisions here, no start order (lifecycle.ts), no reload
 * logic (reload.ts), no link handling (host-watch.ts).
 *
 *   pcap capture ──frames──▶ VrrpEngine ──ports──▶ raw-socket (adverts), pcap (GARP), netlink (VIPs)
 *        ▲                      │ events (one bus)
 *   netlink (links, addresses)  ▼
 *        logs, metrics, traces, flight recorder (observe), health and /v1/state (views),
 *        split-brain guard, trackers, notify, mail (subscribers)
 */
import { hostname } from 'node:os';
import type { KeepalivedConfig } from '../config/model.js';
import type { LoadOptions } from '../config/load.js';
import type { ServiceNotifier } from '../ports/index.js';
import { VrrpEngine } from '../core/engine.js';
import type { VrrpRouter } from '../core/router.js';
import { AgentBus, type RejectReason } from '../events/index.js';
import { SystemClock } from '../adapters/clock.js';
import { RawSocketTransport } from '../adapters/raw-transport.js';
import { PcapCapture } from '../adapters/pcap-capture.js';
import { NetlinkHost } from '../adapters/netlink-host.js';
import { SystemProcessRunner } from '../adapters/process.js';
import { smtpSend } from '../adapters/smtp.js';
import { describe } from '../adapters/errors.js';
import type { Logger } from '../observability/logging.js';
import { observe, type Observability } from '../observability/index.js';
import { DEFAULT_RUNBOOK_BASE_URL } from '../observability/names.js';
import type { HttpDeps, HttpRoute } from '../http/server.js';
import { SplitBrainGuard } from '../guard/guard.js';
import type { GuardConfig } from '../guard/config.js';
import { GUARD_PATH, createGuardEndpoint, createPeerClient, type GuardEndpoint } from '../guard/peer-http.js';
import { AlertmanagerPusher } from '../guard/alertmanager.js';
import { GuardAlerts } from '../guard/alerts.js';
import { GuardView } from '../guard/view.js';
import { TrackerSet } from '../tracking/trackers.js';
import type { ScriptUsers } from '../tracking/users.js';
import { Notifier } from '../notify/notifier.js';
import { NotifyFifos } from '../notify/fifo.js';
import { SystemNotifyFifos } from '../adapters/notify-fifo.js';
import { ProcProcessTable } from '../adapters/proc-table.js';
import { Mailer } from '../notify/mailer.js';
import { VERSION } from '../version.js';
import { HostWatch } from './host-watch.js';
import { NetlinkVirtualLinks } from '../adapters/virtual-links.js';
import { LinkRestorer, guardFrames, linkOwner, sharedMacLinks } from './virtual-links.js';
import type { VirtualLinks } from '../ports/index.js';
import { AcceptModeFirewall } from './firewall.js';
import { SystemNftRunner } from '../adapters/nft.js';
import { Routing } from './routing.js';
import { NetlinkRoutes } from '../adapters/netlink-routes.js';
import { BfdAgent } from './bfd.js';
import { LvsAgent } from './lvs.js';
import { runAsFor } from '../tracking/users.js';

export interface AgentOptions {
  readonly configPath: string;
  /** How the config is read at start and on every reload: `-i` (config id), `-e` (all include checks). */
  readonly configLoad?: LoadOptions;
  readonly log: Logger;
  /** `HOST:PORT` for /metrics, /healthz, /v1/state; undefined = no HTTP server. */
  readonly listen?: string;
  /** Flight-recorder directory; undefined = off. */
  readonly captureDir?: string;
  /** Split-brain guard settings (default /etc/keepwatch/guard.conf when it exists). */
  readonly guardConfigPath?: string;
  /** `/metrics` renders at most once per this many ms (default 1000). */
  readonly metricsMinIntervalMs?: number;
  /** Push split-brain alerts to this Alertmanager (overrides the guard file's `alertmanager`). */
  readonly alertmanagerUrl?: string;
  /** Where the pushed alert's runbook_url points: `<base>/KeepwatchSplitBrain.md`. */
  readonly runbookBaseUrl?: string;
  /** The service manager (systemd's notify socket, main.ts opens it); default: none. */
  readonly notifier?: ServiceNotifier;
  /** `-D`: the stop line carries the CPU time used (as keepalived's `Stopped - used ...`). */
  readonly logDetail?: boolean;
  /** `-d`: log each instance's settings at start (keepalived's --dump-conf). */
  readonly dumpConfig?: boolean;
  /** `-P` (VRRP only): false, the virtual_server blocks are not run. Default true. */
  readonly lvs?: boolean;
}

/** What the agent read before it builds anything (lifecycle.ts loads and checks it). */
export interface Loaded {
  readonly config: KeepalivedConfig;
  readonly guardConfig: GuardConfig;
  readonly users: ScriptUsers;
}

/** Every part of a running agent. `config` and `trackers` change on reload. */
export interface Parts {
  readonly opts: AgentOptions;
  readonly log: Logger;
  readonly clock: SystemClock;
  readonly bus: AgentBus;
  readonly transport: RawSocketTransport;
  readonly capture: PcapCapture;
  readonly netlink: NetlinkHost;
  readonly engine: VrrpEngine;
  readonly host: HostWatch;
  /** The links of use_vmac / use_ipvlan (virtual-links.ts), and who puts back one someone deleted. */
  readonly links: VirtualLinks;
  readonly linkRestorer: LinkRestorer;
  /** Accept mode (no_accept, vrrp_strict): keepwatch's nftables table (firewall.ts). */
  readonly firewall: AcceptModeFirewall;
  /** Routes, rules and static addresses (virtual_routes, static_*): routing.ts. */
  readonly routing: Routing;
  readonly observability: Observability;
  /** BFD sessions and track_bfd (bfd.ts). */
  readonly bfd: BfdAgent;
  /** virtual_server: the checks and the data plane (lvs.ts). */
  readonly lvs: LvsAgent;
  readonly guard: SplitBrainGuard;
  readonly guardView: GuardView;
  readonly alerts: GuardAlerts | undefined;
  readonly notifier: Notifier;
  /** notify_fifo / vrrp_notify_fifo (notify/fifo.ts): opened here; close() when the agent stops. */
  readonly notifyFifos: NotifyFifos;
  readonly guardConfig: GuardConfig;
  /** What the HTTP server serves (lifecycle.ts listens). */
  readonly http: HttpDeps;
  readonly startedAt: Date;
  /** What a reload replaces: the config and the trackers built for it. */
  readonly live: { config: KeepalivedConfig; trackers: TrackerSet };
  /** Builds the trackers for a config (start, and every reload). */
  makeTrackers(config: KeepalivedConfig, users: ScriptUsers): TrackerSet;
  routers(): VrrpRouter[];
}

/** The guard's cross-check as an HTTP route (http/ knows no guard). */
function guardRoute(endpoint: GuardEndpoint): HttpRoute {
  return { path: GUARD_PATH, handle: (req) => endpoint.handle(req) };
}

export async function compose(opts: AgentOptions, loaded: Loaded): Promise<Parts> {
  const { log } = opts;
  const clock = new SystemClock();
  const bus = new AgentBus();
  bus.onListenerError = (err, e) => log.error({ err, event: 'subscriber-failed', busEvent: e.type }, `event subscriber failed on ${e.type}: ${describe(err)}`);
  // The host watcher needs the engine, and the adapters report to it: wired once it exists.
  let host: HostWatch | undefined;
  const transport = new RawSocketTransport((advert, destination, error) => {
    bus.emit({ type: 'send-failed', instance: advert.instance, interface: advert.interface, reason: `advert to ${destination} failed: ${describe(error)}`, atMs: clock.now() });
  });
  let netlinkRef: NetlinkHost | undefined;
  let liveRef: { config: KeepalivedConfig } | undefined;
  const capture = new PcapCapture(
    (iface, frame, wallUs) => host?.onFrame(iface, frame, wallUs),
    (message) => log.debug({ event: 'libpcap' }, message.trim()),
    // Without the flight recorder, our own frames stay in the kernel (see PcapCapture.open); on a
    // use_vmac macvlan the peers' frames carry our MAC: only incoming frames, always.
    (iface) => {
      if (liveRef && sharedMacLinks(liveRef.config).has(iface)) return { inboundOnly: true };
      const mac = opts.captureDir ? undefined : netlinkRef?.mac(iface);
      return mac ? { excludeSourceMac: mac } : {};
    },
  );
  const netlink = await NetlinkHost.open({
    onLinkChange: (name, up) => host?.onLinkChange(name, up),
    onVipRepaired: (a) => host?.onVipRepaired(a),
    onVipResult: (a, action, error, durationMs) => host?.onVipResult(a, action, error, durationMs),
    onError: (error) => host?.onError(error),
  });
  netlinkRef = netlink;
  const links = NetlinkVirtualLinks.open(linkOwner(opts.configPath));
  const routing = new Routing({ log, clock, bus });
  routing.attach(
    NetlinkRoutes.open({
      ifindex: (name) => netlink.ifindex(name),
      linkUp: (name) => netlink.linkUp(name),
      addressesSettled: () => netlink.settle(),
      onResult: (e, action, error, durationMs, changed) => routing.onResult(e, action, error, durationMs, changed),
      onRepaired: (e) => routing.onRepaired(e),
      onError: (error) => routing.onError(error),
    }),
  );

  const startedAt = new Date();
  const routers = (): VrrpRouter[] => [...engine.routers.values()];
  const processes = new SystemProcessRunner();
  const processTable = new ProcProcessTable();
  const makeTrackers = (config: KeepalivedConfig, users: ScriptUsers): TrackerSet =>
    new TrackerSet({
      config,
      routers,
      linkUp: (iface) => (netlink.interfaceExists(iface) ? netlink.linkUp(iface) : undefined),
      bus,
      clock,
      processes,
      users,
      processTable,
    });
  const current = (): KeepalivedConfig => live.config;
  const engine = new VrrpEngine(loaded.config.instances, {
    clock,
    transport,
    addresses: netlink,
    routes: routing.port,
    frames: capture,
    interfaces: netlink,
    events: bus,
    drainInput: () => capture.drain(),
    syncGroups: () => current().syncGroups,
  });
  const live = { config: loaded.config, trackers: makeTrackers(loaded.config, loaded.users) };
  liveRef = live;
  const linkRestorer = new LinkRestorer({ links, interfaces: netlink, log }, () => live.config);
  host = new HostWatch({ log, clock, bus, netlink, capture, transport, engine, onLinkChange: () => live.trackers.onLinkChange(), onLinkGone: (name) => linkRestorer.gone(name) });

  // The split-brain guard, what it shows and where its alerts go.
  const cfg = loaded.guardConfig;
  const node = loaded.config.global.routerId ?? hostname();
  const rejected = (reason: RejectReason, from: string) => bus.emit({ type: 'guard-rejected', reason, from });
  const guard = new SplitBrainGuard({
    config: cfg,
    routers: routers,
    router: (name) => engine.routers.get(name),
    bus,
    clock,
    // Not on a use_vmac macvlan: every holder answers there with the same virtual MAC (no
    // evidence), and a probe from a held backup would move the switch's entry for it away from
    // the master (virtual-links.ts guardFrames).
    frames: guardFrames(capture, () => live.config),
    interfaces: netlink,
    ...(cfg.secret && cfg.peers.length > 0 ? { peers: createPeerClient(cfg.secret, cfg.signatureWindowMs, rejected, node) } : {}),
  });
  const guardView = new GuardView(guard, routers, netlink);

  const observability = await observe(
    bus,
    {
      routers: routers,
      vipPresent: (iface, address) => netlink.hasAddress(iface, address),
      captureStats: () => capture.stats(),
      guard,
      witness: cfg.witness !== undefined,
      scripts: () => live.trackers.allScripts(),
    },
    { log, clock, version: VERSION, ...(loaded.config.global.routerId ? { routerId: loaded.config.global.routerId } : {}), ...(opts.captureDir ? { captureDir: opts.captureDir } : {}) },
  );
  const { metrics } = observability;
  const bfd = new BfdAgent({ log, clock, bus, routers }, loaded.config);
  bfd.observe(observability);
  const lvs = new LvsAgent(
    {
      log,
      clock,
      bus,
      processes,
      // The script user (global script_user, else keepalived_script, else root) for MISC_CHECK and notify.
      // A user written on the line that is not resolved is never replaced by another (the start
      // refuses it: tracking/users.ts); `ok: false` means "do not run".
      isMaster: (instance) => engine.routers.get(instance)?.state === 'master',
      enabled: opts.lvs !== false,
      runAs: (user, group) => runAsFor(live.trackers.users, user === undefined ? {} : { user, ...(group !== undefined ? { group } : {}) }),
    },
    loaded.config,
  );
  lvs.observe(observability);
  const amUrl = opts.alertmanagerUrl ?? cfg.alertmanagerUrl;
  const alerts = amUrl
    ? new GuardAlerts(
        bus,
        new AlertmanagerPusher(
          amUrl,
          (ok, error) => {
            metrics.alertPush(ok);
            if (!ok) log.warn({ event: 'alertmanager', url: amUrl }, `could not push the split-brain alert to ${amUrl}: ${error}`);
          },
          opts.runbookBaseUrl ?? DEFAULT_RUNBOOK_BASE_URL,
        ),
        node,
        clock,
      )
    : undefined;

  // Notify scripts and mail follow transitions; they run as the current default script user.
  // The notify FIFOs are made and opened when the agent boots (lifecycle.ts).
  const notifyFifos = new NotifyFifos({ config: current, port: new SystemNotifyFifos(), bus, clock, processes, users: () => live.trackers.users });
  const notifier = new Notifier({
    config: current,
    routers: routers,
    bus,
    clock,
    processes,
    runAs: () => live.trackers.users?.default,
    accounts: () => live.trackers.users?.accounts,
    fifos: notifyFifos,
  });
  new Mailer(current, bus, { clock, send: smtpSend });

  const http: HttpDeps = {
    metrics,
    snapshots: () => routers().map((r) => r.snapshot()),
    vipPresent: (iface, address) => netlink.hasAddress(iface, address),
    healthReasons: () => guardView.healthReasons(),
    stateExtra: (instance) => ({ ...guardView.stateOf(instance), ...routing.stateOf(live.config, instance), ...bfd.stateOf(instance) }),
    stateSections: () => ({ lvs: lvs.state() }),
    routes: [
      guardRoute(createGuardEndpoint(cfg.secret, cfg.signatureWindowMs, () => guardView.localView(), rejected, node)),
      { path: '/v1/bfd', handle: () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sessions: bfd.views() }) }) },
      { path: '/v1/lvs', handle: () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(lvs.state()) }) },
    ],
    now: () => clock.now(),
    startedAt,
    version: VERSION,
  };
  const firewall = new AcceptModeFirewall(new SystemNftRunner(), log);
  return { opts, log, clock, bus, transport, capture, netlink, engine, host, links, linkRestorer, firewall, routing, observability, bfd, lvs, guard, guardView, alerts, notifier, notifyFifos, guardConfig: cfg, http, startedAt, live, makeTrackers, routers };
}
