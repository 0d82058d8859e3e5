/**
 * The configuration model: what a keepalived.conf means once parsed and validated.
 *
 * Durations are milliseconds (`...Ms`), whatever unit keepalived.conf wrote them in. Every
 * element that a later check may complain about keeps its `location` so the complaint can say
 * `file:line:col`. Defaults are keepalived's (keepalived.conf(5), keepalived 2.2.7).
 */

/** A place in a config file; line and column start at 1. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /**
   * For text that `$NAME`, `~SEQ` or `~LST` put here (expand.ts): which expansions, innermost
   * first (`$VIP at f.conf:9:5, ~SEQ(I=2) at f.conf:3:1`); diagnostics add it to their message.
   */
  readonly expansion?: string;
}

export type Severity = 'error' | 'warning';

/** One finding of the parser or of validation. `format()` gives `file:line:col: severity: message`. */
export interface Diagnostic {
  readonly severity: Severity;
  readonly message: string;
  readonly location: SourceLocation;
}

export type AddressFamily = 'ipv4' | 'ipv6';
export type VrrpVersion = 2 | 3;
export type InitialState = 'MASTER' | 'BACKUP';

/** `virtual_ipaddress` line: `ADDR[/PREFIX] [brd ADDR] [dev IF] [scope SCOPE] [label LABEL]`. */
export interface VirtualAddressConfig {
  /** Canonical text of the address without prefix, e.g. `10.0.0.3` or `fd00::1`. */
  readonly address: string;
  readonly family: AddressFamily;
  /** Prefix length; keepalived's default is /32 (IPv4) and /128 (IPv6) when none is written. */
  readonly prefixLength: number;
  /** `brd ADDR`; `brd +` is resolved to the subnet broadcast at parse time; undefined = none. */
  readonly broadcast?: string;
  /** `dev IF`; undefined = the instance's interface. */
  readonly device?: string;
  /** `scope global|host|link|site|nowhere` or a number; default global. */
  readonly scope: string;
  /** `label eth0:1`. */
  readonly label?: string;
  /** Words keepwatch accepts but does not act on (`no_track`, `preferred_lft` ...), kept for a warning. */
  readonly ignoredOptions: readonly string[];
  /**
   * `use_vmac` on the line: the address gets a macvlan of its own (config/vmac.ts); once assembled,
   * `device` names the link it lives on.
   */
  readonly useVmac?: true;
  readonly location: SourceLocation;
}

/** `use_ipvlan` mode flags: `bridge` (the default), `private`, `vepa` (IFLA_IPVLAN_FLAGS). */
export type IpvlanMode = 'bridge' | 'private' | 'vepa';

/**
 * A link keepwatch makes for an instance (keepalived's VMAC, keepalived/vrrp/vrrp_vmac.c): the
 * macvlan of `use_vmac` (private mode, the RFC 5798 virtual router MAC), the L2 ipvlan of
 * `use_ipvlan`, or the macvlan of a VIP on another interface or of the other family
 * (`use_vmac_addr`, a VIP's `use_vmac`). Made before the instances start, removed when they stop.
 */
export interface VirtualLinkConfig {
  readonly kind: 'macvlan' | 'ipvlan';
  /** `use_vmac NAME` / `use_ipvlan NAME`, else keepalived's default `vrrp.<vrid>` (config/vmac.ts). */
  readonly name: string;
  /** The interface it is made on (the instance's, or the VIP's `dev`). */
  readonly base: string;
  /** macvlan: `00:00:5e:00:01:<vrid>` (IPv4), `00:00:5e:00:02:<vrid>` (IPv6), or as written. */
  readonly mac?: string;
  /** The family it serves (its sysctls; IPv6 is off on an IPv4 link). */
  readonly family: AddressFamily;
  /**
   * `vmac_xmit_base` (macvlan of `use_vmac` only): adverts go out and are heard on `base`, the
   * VIPs still live on the link.
   */
  readonly xmitBase: boolean;
  /** ipvlan: its mode flags. */
  readonly ipvlanMode?: IpvlanMode;
  /** ipvlan: `use_ipvlan ... ADDRESS[/PREFIX]`, put on it; the instance's adverts come from it. */
  readonly address?: { readonly address: string; readonly prefixLength: number };
  readonly location: SourceLocation;
}

/** A destination or source prefix of a route or rule: canonical address and length. */
export interface PrefixConfig {
  /** Canonical text of the network address (`0.0.0.0` / `::` for `default`, `any`, `all`). */
  readonly address: string;
  readonly prefixLength: number;
}

/** Route types keepwatch installs (rtnetlink RTN_*); keepalived's other types are refused. */
export type RouteType = 'unicast' | 'local' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw';

/** `add` (fail if a route with the same key exists), `prepend` (keepalived's default) or `append`. */
export type RouteAddMode = 'prepend' | 'add' | 'append';

/** Per-route TCP metrics (RTA_METRICS) keepwatch sets; the values are the kernel's units. */
export type RouteMetricName =
  | 'mtu' | 'advmss' | 'hoplimit' | 'window' | 'cwnd' | 'ssthresh' | 'reordering' | 'initcwnd' | 'initrwnd' | 'quickack' | 'fastopen_no_cookie' | 'features';

/** One `nexthop` of a multipath route (or a `via ... or ...` pair). */
export interface RouteNextHopConfig {
  readonly via?: string;
  readonly device?: string;
  /** `weight` 1-256. */
  readonly weight?: number;
  readonly onlink: boolean;
}

/**
 * A `virtual_routes` / `static_routes` line, keepalived's `ip route` syntax
 * (keepalived/vrrp/vrrp_iproute.c `alloc_route`):
 * `[src IP] [to] [TYPE] PREFIX [via|gw IP] [or IP] [dev IF] [scope S] [table T] [metric N]
 * [protocol P] [onlink] [mtu [lock] N] ... [nexthop via IP [dev IF] [weight W] [onlink] ...] [no_track]`.
 */
export interface RouteConfig {
  readonly family: AddressFamily;
  /** `default` is 0.0.0.0/0 (or ::/0). */
  readonly destination: PrefixConfig;
  readonly type: RouteType;
  /** `src IP`: the preferred source address (RTA_PREFSRC). */
  readonly source?: string;
  /** `from PREFIX` (IPv6 source routing). */
  readonly from?: PrefixConfig;
  /** `via` / `gw`. */
  readonly via?: string;
  /** `dev` / `oif`. */
  readonly device?: string;
  /** `nexthop ...` (or `via A or B`): a multipath route. */
  readonly nexthops: readonly RouteNextHopConfig[];
  /** `scope`; absent: universe (keepalived's default, also for routes without a gateway). */
  readonly scope?: number;
  /** `table`; default 254 (main). */
  readonly table: number;
  /** `metric` / `priority` / `preference`. */
  readonly metric?: number;
  /** `protocol`; default 18 (keepalived), which a tracked route always has. */
  readonly protocol: number;
  /** `tos` / `dsfield`. */
  readonly tos?: number;
  readonly onlink: boolean;
  readonly metrics: Readonly<Partial<Record<RouteMetricName, number>>>;
  /** Metrics written with `lock`. */
  readonly locked: readonly (RouteMetricName | 'congctl')[];
  /** `congctl NAME`. */
  readonly congctl?: string;
  /** `pref low|medium|high|N` (IPv6 router preference). */
  readonly pref?: number;
  readonly mode: RouteAddMode;
  /** Not `no_track`: put back when someone else deletes it while we hold it. */
  readonly track: boolean;
  /** The line as written (words joined by one space), for messages and /v1/state. */
  readonly text: string;
  readonly location: SourceLocation;
}

/** What a rule does: look up a table, jump, nothing, or drop. */
export type RuleAction = 'table' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';

export interface PortRange {
  readonly start: number;
  readonly end: number;
}

/**
 * A `virtual_rules` / `static_rules` line, keepalived's `ip rule` syntax
 * (keepalived/vrrp/vrrp_iprule.c `alloc_rule`): `[from PREFIX] [to PREFIX] [not] [iif IF]
 * [oif IF] [fwmark M[/MASK]] [tos N] [priority N] [table T|goto N|nop|blackhole|...] ...`.
 */
export interface RuleConfig {
  readonly family: AddressFamily;
  readonly from?: PrefixConfig;
  readonly to?: PrefixConfig;
  /** `not`. */
  readonly invert: boolean;
  /** `preference` / `priority` / `order`; keepalived gives 16384, 16383, ... to rules without one. */
  readonly priority: number;
  readonly tos?: number;
  readonly fwmark?: number;
  readonly fwmask?: number;
  /** `iif` / `dev`. */
  readonly iif?: string;
  readonly oif?: string;
  readonly action: RuleAction;
  /** `table` / `lookup` (action `table`). */
  readonly table?: number;
  /** `goto N` (action `goto`). */
  readonly goto?: number;
  /** `l3mdev` (action `table`, the table of the VRF device). */
  readonly l3mdev: boolean;
  readonly suppressPrefixLength?: number;
  /** FRA_PROTOCOL: 18 (keepalived) for a tracked rule, else as written (or none). */
  readonly protocol?: number;
  readonly ipProto?: number;
  readonly sport?: PortRange;
  readonly dport?: PortRange;
  readonly uidRange?: PortRange;
  /** Not `no_track`. */
  readonly track: boolean;
  readonly text: string;
  readonly location: SourceLocation;
}

export type AuthType = 'PASS' | 'AH';

export interface AuthenticationConfig {
  readonly type: AuthType;
  /** The secret exactly as written. VRRPv2 PASS uses its first 8 bytes, zero padded (keepalived). */
  readonly password: string;
  readonly location: SourceLocation;
}

/** A reference to a tracked object from an instance or sync group, with an optional weight. */
export interface TrackReference {
  readonly name: string;
  /** `weight N` written after the name; undefined = the tracked object's own weight. */
  readonly weight?: number;
  /** `reverse` flag (keepalived 2.1+). */
  readonly reverse: boolean;
  readonly location: SourceLocation;
}

/**
 * A command keepalived runs on an event (`notify*`, `notify_fifo_script`), read as keepalived
 * reads it (config/script-line.ts): the first word or quoted string is the command, the words
 * after it `[user [group]]`.
 */
export interface NotifyConfig {
  /** The command as written: the first word or quoted string after the keyword. */
  readonly command: string;
  /** What runs: the command split into words, quotes and escapes as keepalived reads them. */
  readonly argv: readonly string[];
  /** `[user [group]]` after the command: who runs it (absent: the default script user). */
  readonly user?: string;
  readonly group?: string;
  /** Where the user is written. */
  readonly userLocation?: SourceLocation;
  readonly location: SourceLocation;
}

export interface NotifyScripts {
  readonly master?: NotifyConfig;
  readonly backup?: NotifyConfig;
  readonly fault?: NotifyConfig;
  readonly stop?: NotifyConfig;
  /** `notify`: called with `INSTANCE|GROUP name state priority`. */
  readonly generic?: NotifyConfig;
  /**
   * `notify_master_rx_lower_pri` (vrrp_instance): run, without arguments, each time the instance
   * as master hears an advert of lower priority (another node became master by mistake).
   */
  readonly masterRxLowerPri?: NotifyConfig;
  /** `notify_deleted CMD` (vrrp_instance): run when a reload deletes the instance. */
  readonly deleted?: NotifyConfig;
}

export interface UnicastPeerConfig {
  readonly address: string;
  readonly location: SourceLocation;
}

export interface VrrpInstanceConfig {
  readonly name: string;
  readonly location: SourceLocation;
  /** `state`; keepalived's default is BACKUP. */
  readonly initialState: InitialState;
  readonly interface: string;
  /** `virtual_router_id`, 1-255. */
  readonly vrid: number;
  /** `priority`, 1-255; default 100. 255 means address owner. */
  readonly priority: number;
  /** `advert_int` in ms; default 1000. */
  readonly advertIntervalMs: number;
  /** `version` in the instance, else `vrrp_version` in global_defs, else 2. */
  readonly version: VrrpVersion;
  /** The family of the VIPs (and so of the adverts). */
  readonly family: AddressFamily;
  readonly nopreempt: boolean;
  /** `preempt_delay` in ms; default 0. */
  readonly preemptDelayMs: number;
  /** undefined when no `authentication` block, or when it is ignored (VRRPv3). */
  readonly authentication?: AuthenticationConfig;
  readonly virtualAddresses: readonly VirtualAddressConfig[];
  readonly virtualAddressesExcluded: readonly VirtualAddressConfig[];
  readonly unicastSrcIp?: string;
  readonly unicastPeers: readonly UnicastPeerConfig[];
  readonly mcastSrcIp?: string;
  /**
   * Instance's multicast group: `mcast_dst_ip`, else the global `vrrp_mcast_group4`/`6`, else
   * 224.0.0.18 / ff02::12. Adverts go to it, and only multicast adverts sent to it are accepted
   * (keepalived binds its socket to the group).
   */
  readonly mcastGroup: string;
  /** `garp_master_delay` in ms; default 5000 (0 = no second burst). */
  readonly garpMasterDelayMs: number;
  /** `garp_master_repeat`; default 5. */
  readonly garpMasterRepeat: number;
  /** `garp_master_refresh` in ms; 0 = off (default). */
  readonly garpMasterRefreshMs: number;
  /** `garp_master_refresh_repeat`; default 1. */
  readonly garpMasterRefreshRepeat: number;
  /** `garp_interval` (instance) else `vrrp_garp_interval` (global), in ms; default 0. */
  readonly garpIntervalMs: number;
  /**
   * `vrrp_gna_interval` (global), in ms; default 0: the spacing of the unsolicited neighbour
   * advertisements for IPv6 VIPs, as `garpIntervalMs` spaces the gratuitous ARPs. The repeat,
   * delay and refresh settings (`garp_master_*`, `garp_lower_prio_*`) apply to both, as in keepalived.
   */
  readonly gnaIntervalMs: number;
  /** `garp_lower_prio_delay` in ms and `garp_lower_prio_repeat`; defaults: master delay and repeat. */
  readonly garpLowerPrioDelayMs: number;
  readonly garpLowerPrioRepeat: number;
  readonly notify: NotifyScripts;
  readonly trackInterfaces: readonly TrackReference[];
  readonly trackScripts: readonly TrackReference[];
  readonly trackFiles: readonly TrackReference[];
  /** `track_process { NAME [weight N [reverse]] }`: vrrp_track_process blocks (absent: none). */
  readonly trackProcesses?: readonly TrackReference[];
  /** `track_bfd { NAME [weight N [reverse|noreverse]] }`: bfd_instance blocks (config/bfd.ts; absent: none). */
  readonly trackBfd?: readonly TrackReference[];
  /**
   * `notify_deleted [CMD]`: when a reload deletes the instance, its notifies say DELETED (and CMD
   * runs); without it they say FAULT, as keepalived's always did (absent: false).
   */
  readonly notifyDeleted?: boolean;
  /**
   * `notify_priority_changes` (else its sync group's, else global `vrrp_notify_priority_changes`):
   * the notify FIFOs get `MASTER_PRIORITY` / `BACKUP_PRIORITY` lines when the effective priority
   * changes. Absent: not written in the instance.
   */
  readonly notifyPriorityChanges?: boolean;
  /** `strict_mode` in the instance or `vrrp_strict` in global_defs. */
  readonly strict: boolean;
  /** `skip_check_adv_addr` in the instance or `vrrp_skip_check_adv_addr` in global_defs. */
  readonly skipCheckAdvAddr: boolean;
  /** `check_unicast_src` in the instance or `vrrp_check_unicast_src` in global_defs. */
  readonly checkUnicastSrc: boolean;
  /** `v3_checksum_as_v2` (instance or global): VRRPv3 IPv4 checksum without pseudo-header. */
  readonly v3ChecksumAsV2: boolean;
  /**
   * `dont_track_primary`: the instance's own interface going down does not put it in FAULT
   * (keepalived tracks it with VRRP_NOT_TRACK_IF: ignored in process_if_status_change).
   */
  readonly dontTrackPrimary: boolean;
  /**
   * Accept mode (RFC 5798 §6.1 Accept_Mode; keepalived `accept` / `no_accept`, whichever comes
   * last): false means traffic to and from the VIPs is dropped by keepwatch's nftables table
   * (core/accept-mode.ts). Unset, it is true, but false in strict mode; an address owner (priority
   * 255) always accepts; in strict mode VRRPv2 cannot accept (keepalived resets it).
   */
  readonly accept: boolean;
  /**
   * `lower_prio_no_advert` (else global `vrrp_lower_prio_no_advert`, else false; always true in
   * strict mode): a master does not answer a lower-priority advert with an advert of its own.
   */
  readonly lowerPrioNoAdvert: boolean;
  /**
   * `higher_prio_send_advert` (else global, else false; always false in strict mode): a master that
   * hears a higher-priority advert sends one advert of its own before it becomes backup.
   */
  readonly higherPrioSendAdvert: boolean;
  /** `unicast_ttl` 0-255: the IPv4 TTL / IPv6 hop limit of unicast adverts; undefined = 255. */
  readonly unicastTtl?: number;
  /**
   * `garp_extra_if [all] N` (else global `vrrp_garp_extra_if`): while master, every `intervalMs`,
   * one gratuitous ARP / unsolicited NA on each of `interfaces` (for the first VIP there): the
   * links of VIPs other than the instance's own, only its macvlans without `all` (assemble.ts).
   * Undefined = off (also when keepalived would turn it off: nothing to send on).
   */
  readonly garpExtraIf?: { readonly intervalMs: number; readonly all: boolean; readonly interfaces: readonly string[] };
  /** `smtp_alert` in the instance (undefined = the global setting). */
  readonly smtpAlert?: boolean;
  /**
   * `use_vmac` / `use_ipvlan`: the instance's own link. Adverts go out and are heard on it (unless
   * `xmitBase`); with a macvlan, the VIPs of the instance's family without another `dev` live on
   * it (their `device` names it). Absent: none.
   */
  readonly vmac?: VirtualLinkConfig;
  /** `use_vmac_addr` / a VIP's `use_vmac`: the macvlans of VIPs on other interfaces or of the other family. */
  readonly extraVmacs?: readonly VirtualLinkConfig[];
  /**
   * `virtual_routes` and `virtual_rules`: added when the instance becomes master (after its
   * VIPs), removed when it leaves. A tracked route's `dev` and a tracked rule's `iif`/`oif` are
   * tracked interfaces of the instance too (in `trackInterfaces`, without a weight), as keepalived
   * tracks them: down means FAULT.
   */
  readonly virtualRoutes: readonly RouteConfig[];
  readonly virtualRules: readonly RuleConfig[];
}

export interface VrrpScriptConfig {
  readonly name: string;
  readonly location: SourceLocation;
  /** The command as written: the first word or quoted string after `script`. */
  readonly script: string;
  /** What runs: `script` split into words as keepalived splits it (config/script-line.ts). */
  readonly argv: readonly string[];
  readonly scriptLocation: SourceLocation;
  /** `interval` in ms; default 1000. */
  readonly intervalMs: number;
  /** `timeout` in ms; default: the interval. */
  readonly timeoutMs: number;
  /** `weight`; default 0 (failure = FAULT). */
  readonly weight: number;
  /** `weight N reverse`. */
  readonly weightReverse: boolean;
  /** `rise`, default 1; `fall`, default 1. */
  readonly rise: number;
  readonly fall: number;
  /** `init_fail`: start in the failed state. */
  readonly initFail: boolean;
  /** `user USER [GROUP]`. */
  readonly user?: string;
  readonly group?: string;
  /** Where `user` is written (the keyword). */
  readonly userLocation?: SourceLocation;
}

export interface TrackFileConfig {
  readonly name: string;
  readonly location: SourceLocation;
  readonly file: string;
  /** `weight`; default 1 (keepalived multiplies the file's integer by it). */
  readonly weight: number;
  readonly weightReverse: boolean;
  /** `init_file [VALUE] [overwrite]`. */
  readonly initFile?: { readonly value: number; readonly overwrite: boolean };
}

/** How a `vrrp_track_process` compares a process's parameters (keepalived `param_match`). */
export type ParamMatch = 'none' | 'exact' | 'partial' | 'initial';

/**
 * `vrrp_track_process NAME { ... }` (keepalived 2.2.7 vrrp_parser.c, core/track_process.c): how
 * many processes match, against a quorum; weights and faults as a vrrp_script's.
 */
export interface TrackProcessConfig {
  readonly name: string;
  readonly location: SourceLocation;
  /**
   * `process NAME [PARAM ...]`: compared with the process name (comm, at most 15 characters) or,
   * with `fullCommand`, with the first word of its command line (argv[0]).
   */
  readonly process: string;
  /** The parameters after the name (then `fullCommand` is on); empty: none given. */
  readonly params: readonly string[];
  /**
   * `none`: parameters are not looked at; `exact` (parameters given, or `param_match` alone):
   * exactly these; `partial`: these first, more may follow; `initial`: as partial, the last one
   * may be the start of the process's.
   */
  readonly paramMatch: ParamMatch;
  /** `full_command` (or parameters given): match the command line, not the process name. */
  readonly fullCommand: boolean;
  /** `weight N [reverse]`, default 0: a lost quorum puts the tracking instances in FAULT. */
  readonly weight: number;
  readonly weightReverse: boolean;
  /** `quorum` (default 1) and `quorum_max` (default unlimited): up while quorum <= count <= quorumMax. */
  readonly quorum: number;
  readonly quorumMax: number;
  /** `fork_delay` / `delay`: the quorum must hold this long before it counts as gained. */
  readonly forkDelayMs: number;
  /** `terminate_delay` / `delay`: the quorum must be lost this long before it counts as lost. */
  readonly terminateDelayMs: number;
}

export interface SyncGroupConfig {
  readonly name: string;
  readonly location: SourceLocation;
  readonly members: readonly { readonly name: string; readonly location: SourceLocation }[];
  readonly notify: NotifyScripts;
  readonly trackInterfaces: readonly TrackReference[];
  readonly trackScripts: readonly TrackReference[];
  readonly trackFiles: readonly TrackReference[];
  /** `track_process` of the group (applies to every member). Absent: none. */
  readonly trackProcesses?: readonly TrackReference[];
  /** `track_bfd` of the group (applies to every member; config/bfd.ts). Absent: none. */
  readonly trackBfd?: readonly TrackReference[];
  /** `notify_priority_changes` of the group: its members' default. */
  readonly notifyPriorityChanges?: boolean;
  readonly smtpAlert?: boolean;
  /**
   * `sync_group_tracking_weight` (or its old name `global_tracking`): the members keep their
   * weighted trackers. Without it keepalived ignores them (assemble.ts drops them, with a warning).
   */
  readonly trackingWeight?: true;
}

/**
 * `notify_fifo` / `vrrp_notify_fifo PATH [user [group]]` with its `..._script` (global_defs): a
 * FIFO keepwatch writes a line to at every transition (`INSTANCE "VI_1" MASTER 100`), and the
 * command started to read it (the FIFO's path is its last argument).
 */
export interface NotifyFifoConfig {
  /** Which keyword: both get every VRRP line (`notify_fifo` would get LVS lines too). */
  readonly keyword: 'notify_fifo' | 'vrrp_notify_fifo';
  readonly path: string;
  /** The FIFO's owner (absent: the default script user). */
  readonly user?: string;
  readonly group?: string;
  readonly userLocation?: SourceLocation;
  readonly location: SourceLocation;
  /** `notify_fifo_script` / `vrrp_notify_fifo_script`. */
  readonly script?: NotifyConfig;
}

export interface GlobalDefs {
  readonly routerId?: string;
  readonly notificationEmail: readonly string[];
  readonly notificationEmailFrom?: string;
  /** `smtp_server HOST [PORT]`, port default 25. */
  readonly smtpServer?: { readonly host: string; readonly port: number; readonly location: SourceLocation };
  readonly smtpHeloName?: string;
  /** `smtp_connect_timeout` in ms; default 30000. */
  readonly smtpConnectTimeoutMs: number;
  /** `smtp_alert` (default false) and `smtp_alert_vrrp`. */
  readonly smtpAlert: boolean;
  readonly vrrpMcastGroup4: string;
  readonly vrrpMcastGroup6: string;
  readonly vrrpVersion: VrrpVersion;
  readonly vrrpStrict: boolean;
  readonly vrrpSkipCheckAdvAddr: boolean;
  readonly vrrpCheckUnicastSrc: boolean;
  readonly v3ChecksumAsV2: boolean;
  /** `vrrp_garp_interval` / `vrrp_gna_interval` in ms; default 0. */
  readonly vrrpGarpIntervalMs: number;
  readonly vrrpGnaIntervalMs: number;
  /** Global defaults for the instance GARP settings (`vrrp_garp_master_delay` ...). */
  readonly vrrpGarpMasterDelayMs: number;
  readonly vrrpGarpMasterRepeat: number;
  readonly vrrpGarpMasterRefreshMs: number;
  readonly vrrpGarpMasterRefreshRepeat: number;
  readonly vrrpGarpLowerPrioDelayMs?: number;
  readonly vrrpGarpLowerPrioRepeat?: number;
  /**
   * `vrrp_min_garp`: one GARP/NA round at becoming master and no second one (keepalived sets
   * `vrrp_garp_master_repeat` 1, `_delay` 0, `_refresh` 0, `_refresh_repeat` 0 where they still
   * hold their defaults when it is read; the values above already include that).
   */
  readonly vrrpMinGarp: boolean;
  /** `vrrp_lower_prio_no_advert` / `vrrp_higher_prio_send_advert`: the instances' defaults. */
  readonly vrrpLowerPrioNoAdvert: boolean;
  readonly vrrpHigherPrioSendAdvert: boolean;
  /** `vrrp_garp_extra_if [all] N`: the instances' default `garp_extra_if`. */
  readonly vrrpGarpExtraIf?: { readonly intervalMs: number; readonly all: boolean };
  /** `vmac_prefix` / `vmac_addr_prefix`: the start of default link names (`vrrp` when unset). */
  readonly vmacPrefix?: string;
  readonly vmacAddrPrefix?: string;
  /** `script_user USER [GROUP]`; `location` is the keyword's. */
  readonly scriptUser?: { readonly user: string; readonly group?: string; readonly location: SourceLocation };
  readonly enableScriptSecurity: boolean;
  /** The process around the instances: pid files, dumps, start-up (global_defs and top level). */
  readonly operations: OperationsConfig;
  /** `notify_fifo` and `vrrp_notify_fifo` (at most one each, different paths). */
  readonly notifyFifos: readonly NotifyFifoConfig[];
  /** `vrrp_notify_priority_changes`: the instances' default `notify_priority_changes`. */
  readonly vrrpNotifyPriorityChanges: boolean;
  /** `fifo_write_vrrp_states_on_reload`: after a reload, every instance's and group's state to the FIFOs. */
  readonly fifoWriteVrrpStatesOnReload: boolean;
}

/**
 * What keepalived.conf says about the process rather than the instances (keepalived 2.2.7's
 * global_parser.c; `vrrp_delay_after_boot` and the dump file names are later keepalived's).
 */
export interface OperationsConfig {
  /** `net_namespace NAME`: keepwatch checks at start that it runs inside it. */
  readonly netNamespace?: { readonly name: string; readonly location: SourceLocation };
  /** `instance NAME` (top level): in the pid file names, and the dump file names with `dataUseInstance`. */
  readonly instanceName?: string;
  /** `use_pid_dir` (or `instance`, or `net_namespace`): pid files in /run/keepalived/. */
  readonly usePidDir: boolean;
  /**
   * `dynamic_interfaces`: an instance whose interface does not exist at start waits for it in FAULT
   * (without it a missing interface stops the start, as keepalived's VRRP process exits).
   */
  readonly dynamicInterfaces: boolean;
  /** `vrrp_startup_delay` in ms (0: none): the instances start that much later, at the first start only. */
  readonly startupDelayMs: number;
  /** `vrrp_delay_after_boot` in ms (0: none): the same, counted from boot (only while the uptime is shorter). */
  readonly delayAfterBootMs: number;
  /** `umask` (the command line's -u wins). */
  readonly umask?: number;
  /** `vrrp_priority`: the nice value, -20 to 19. */
  readonly nice?: number;
  /** `no_email_faults`: no mail for transitions to FAULT. */
  readonly noEmailFaults: boolean;
  /** `data_use_instance`: the instance name (and namespace) in the dump file names. */
  readonly dataUseInstance: boolean;
  /** `state_dump_file` / `stats_dump_file` / `json_dump_file`: a directory (ending in `/`) or a file. */
  readonly stateDumpFile?: string;
  readonly statsDumpFile?: string;
  readonly jsonDumpFile?: string;
}

/**
 * LVS (keepalived/check/check_parser.c, read in config/virtual-server.ts). Times are ms; every
 * default is keepalived 2.2.7's, resolved checker → real_server → virtual_server as it does.
 */
export type LvsCheckerKind = 'TCP_CHECK' | 'HTTP_GET' | 'SSL_GET' | 'MISC_CHECK' | 'SMTP_CHECK' | 'DNS_CHECK' | 'UDP_CHECK' | 'PING_CHECK' | 'FILE_CHECK' | 'BFD_CHECK';

/** One `url { ... }` of HTTP_GET / SSL_GET. */
export interface HttpUrlConfig {
  readonly path: string;
  /** MD5 of the body, 32 lowercase hex digits. */
  readonly digest?: string;
  /** Accepted status codes as inclusive ranges; default [[200, 299]]. */
  readonly statusCodes: readonly (readonly [number, number])[];
  readonly virtualhost?: string;
  /**
   * `regex` (PCRE2 in keepalived; a JavaScript regular expression here, checked at load): the body
   * must match it (or, with `regex_no_match`, must not), the match starting at `regex_min_offset`
   * or later and before `maxOffset` (`regex_max_offset` + 1; absent: anywhere).
   */
  readonly regex?: { readonly source: string; readonly flags: string; readonly noMatch: boolean; readonly minOffset: number; readonly maxOffset?: number };
  readonly location: SourceLocation;
}

export interface LvsCheckerConfig {
  readonly kind: LvsCheckerKind;
  readonly location: SourceLocation;
  /** connect_ip / connect_port: where the probe goes (default: the real server's address and port). */
  readonly connectIp?: string;
  readonly connectPort?: number;
  readonly bindTo?: string;
  readonly bindPort?: number;
  readonly bindInterface?: string;
  readonly fwmark?: number;
  readonly connectTimeoutMs: number;
  readonly delayLoopMs: number;
  readonly retry: number;
  readonly delayBeforeRetryMs: number;
  /** The first check comes a random part of this after start (default: delay_loop). */
  readonly warmupMs: number;
  readonly alpha: boolean;
  readonly logAllFailures: boolean;
  // HTTP_GET / SSL_GET
  readonly urls?: readonly HttpUrlConfig[];
  readonly virtualhost?: string;
  readonly httpProtocol?: '1.0' | '1.0C' | '1.1';
  readonly enableSni?: boolean;
  readonly fastRecovery?: boolean;
  // MISC_CHECK
  readonly miscPath?: readonly string[];
  readonly miscPathText?: string;
  readonly miscTimeoutMs?: number;
  readonly miscDynamic?: boolean;
  readonly user?: string;
  readonly group?: string;
  // SMTP_CHECK
  readonly heloName?: string;
  // DNS_CHECK
  readonly dnsType?: string;
  readonly dnsName?: string;
  // UDP_CHECK
  readonly payload?: Uint8Array;
  readonly requireReply?: Uint8Array | true;
  readonly minReplyLength?: number;
  readonly maxReplyLength?: number;
  // BFD_CHECK: the bfd_instance whose session it follows
  readonly bfdName?: string;
  // FILE_CHECK
  readonly trackFile?: string;
  readonly fileWeight?: number;
  readonly fileWeightReverse?: boolean;
}

export interface RealServerConfig {
  readonly address: string;
  readonly family: AddressFamily;
  /** Absent under a `fwmark` (or `group`) virtual server, where keepalived lets it be left out. */
  readonly port?: number;
  readonly location: SourceLocation;
  /** `weight` (default: the virtual server's `weight`, 1). */
  readonly weight?: number;
  /** The weight resolved (keepalived's iweight). */
  readonly effectiveWeight: number;
  /** The first checker block's keyword (`TCP_CHECK`, `HTTP_GET` ...), if any. */
  readonly checker?: string;
  readonly checkers: readonly LvsCheckerConfig[];
  /** Every other `keyword value...` inside, flattened as written (compatibility). */
  readonly options: Readonly<Record<string, string>>;
  readonly method?: 'nat' | 'dr' | 'tun';
  readonly upperThreshold?: number;
  readonly lowerThreshold?: number;
  readonly inhibitOnFailure: boolean;
  readonly alpha: boolean;
  readonly notifyUp?: readonly string[];
  readonly notifyDown?: readonly string[];
  readonly notifyUpText?: string;
  readonly notifyDownText?: string;
}

/** A `virtual_server_group NAME { ... }` entry: `IP[-LAST] PORT` or `fwmark N`. */
export interface VirtualServerGroupEntry {
  readonly address?: string;
  /** The last byte (IPv4) or last group (IPv6, hex) of a range `192.168.1.1-10`. */
  readonly rangeEnd?: number;
  readonly port?: number;
  readonly fwmark?: number;
  readonly family?: AddressFamily;
  readonly location: SourceLocation;
}

export interface VirtualServerGroupConfig {
  readonly name: string;
  readonly location: SourceLocation;
  readonly entries: readonly VirtualServerGroupEntry[];
}

export interface VirtualServerConfig {
  /** `IP`, `fwmark N` or `group NAME`, as written (an IP canonical). */
  readonly address: string;
  readonly port?: number;
  readonly fwmark?: number;
  readonly group?: string;
  readonly family?: AddressFamily;
  readonly location: SourceLocation;
  readonly delayLoopMs?: number;
  /** `lb_algo` / `lvs_sched` (default wlc). */
  readonly lbAlgo?: string;
  /** `lb_kind` / `lvs_method` as written (NAT, DR, TUN; default NAT). */
  readonly lbKind?: string;
  readonly persistenceTimeoutMs?: number;
  readonly persistenceGranularity?: string;
  readonly persistenceEngine?: string;
  /** `protocol` (TCP, UDP, SCTP; default TCP). */
  readonly protocol?: string;
  readonly realServers: readonly RealServerConfig[];
  /** Everything below: resolved with keepalived's defaults. */
  readonly scheduler: string;
  readonly method: 'nat' | 'dr' | 'tun';
  readonly serviceProtocol: 'tcp' | 'udp' | 'sctp';
  readonly schedulerFlags: readonly string[];
  readonly opsFlag: boolean;
  readonly haSuspend: boolean;
  readonly alpha: boolean;
  readonly omega: boolean;
  readonly inhibitOnFailure: boolean;
  readonly quorum: number;
  readonly hysteresis: number;
  readonly quorumUp?: readonly string[];
  readonly quorumDown?: readonly string[];
  readonly quorumUpText?: string;
  readonly quorumDownText?: string;
  readonly weight: number;
  readonly sorryServer?: { readonly address: string; readonly port?: number; readonly method?: 'nat' | 'dr' | 'tun' };
  readonly sorryServerInhibit: boolean;
  readonly virtualhost?: string;
}

/**
 * `bfd_instance NAME { ... }` (keepalived/bfd/bfd_parser.c, read in config/bfd.ts): one BFD
 * session (RFC 5880) to `neighbor_ip`, single-hop (RFC 5881, UDP 3784) or `multihop` (RFC 5883,
 * 4784). Intervals are µs, as on the wire (keepalived reads them as ms with 3 decimals).
 */
export interface BfdInstanceConfig {
  readonly name: string;
  readonly location: SourceLocation;
  readonly neighbor: string;
  readonly family: AddressFamily;
  /** `source_ip`: bound (with a source port from 49152-65535); absent: the kernel chooses. */
  readonly source?: string;
  /** Required Min RX Interval (default 10 ms). */
  readonly minRxUs: number;
  /** Desired Min TX Interval while Up (default 10 ms). */
  readonly minTxUs: number;
  /** Desired Min TX Interval while not Up (default 1000 ms, at least 1000 ms). */
  readonly idleTxUs: number;
  /** Detect Mult (default 5). */
  readonly multiplier: number;
  readonly passive: boolean;
  /** TTL / hop limit sent (default 255 for IPv4, 64 for IPv6: keepalived's BFD_CONTROL_HOPLIMIT). */
  readonly ttl: number;
  /** Hops a received packet may have crossed (default 0; 255 = `max_hops -1`: no check). */
  readonly maxHops: number;
  readonly multihop: boolean;
  /** Default weight of `track_bfd` references (default 0: FAULT while down). */
  readonly weight: number;
  readonly weightReverse: boolean;
  /** Whether VRRP may track it (`vrrp` given, or neither `vrrp` nor `checker`). */
  readonly forVrrp: boolean;
}

export interface KeepalivedConfig {
  /** The main file and every included file, in the order read. */
  readonly files: readonly string[];
  readonly global: GlobalDefs;
  readonly instances: readonly VrrpInstanceConfig[];
  readonly scripts: readonly VrrpScriptConfig[];
  readonly trackFiles: readonly TrackFileConfig[];
  readonly trackProcesses: readonly TrackProcessConfig[];
  readonly syncGroups: readonly SyncGroupConfig[];
  /** `bfd_instance NAME { ... }` (config/bfd.ts; absent: none). */
  readonly bfdInstances?: readonly BfdInstanceConfig[];
  readonly virtualServers: readonly VirtualServerConfig[];
  /** `virtual_server_group NAME { ... }` (absent: none). */
  readonly virtualServerGroups?: readonly VirtualServerGroupConfig[];
  /**
   * `static_ipaddress`, `static_routes`, `static_rules` (top level): set at start, kept while the
   * agent runs, removed when it stops (as keepalived does). A static address always has a `dev`.
   */
  readonly staticAddresses: readonly (VirtualAddressConfig & { readonly device: string })[];
  readonly staticRoutes: readonly RouteConfig[];
  readonly staticRules: readonly RuleConfig[];
}

/**
 * What loading a config gives: the model (present when there is no error) and every diagnostic,
 * errors and warnings, sorted by file, line and column.
 */
export interface ConfigLoadResult {
  readonly config?: KeepalivedConfig;
  readonly diagnostics: readonly Diagnostic[];
}
