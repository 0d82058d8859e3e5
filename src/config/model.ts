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

export interface NotifyConfig {
  /** The command line as written (a path and arguments, or a quoted string). */
  readonly command: string;
  readonly location: SourceLocation;
}

export interface NotifyScripts {
  readonly master?: NotifyConfig;
  readonly backup?: NotifyConfig;
  readonly fault?: NotifyConfig;
  readonly stop?: NotifyConfig;
  /** `notify`: called with `INSTANCE|GROUP name state priority`. */
  readonly generic?: NotifyConfig;
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
  /** The command line as written (quotes removed from a single quoted string). */
  readonly script: string;
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

export interface SyncGroupConfig {
  readonly name: string;
  readonly location: SourceLocation;
  readonly members: readonly { readonly name: string; readonly location: SourceLocation }[];
  readonly notify: NotifyScripts;
  readonly trackInterfaces: readonly TrackReference[];
  readonly trackScripts: readonly TrackReference[];
  readonly trackFiles: readonly TrackReference[];
  readonly smtpAlert?: boolean;
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
}

/** LVS `virtual_server` blocks: parsed into the model, not run (yet). */
export interface RealServerConfig {
  readonly address: string;
  readonly port: number;
  readonly location: SourceLocation;
  readonly weight?: number;
  /** The checker block's keyword (`TCP_CHECK`, `HTTP_GET`, `SSL_GET`, `MISC_CHECK` ...), if any. */
  readonly checker?: string;
  /** Every other `keyword value...` inside, flattened as written. */
  readonly options: Readonly<Record<string, string>>;
}

export interface VirtualServerConfig {
  /** `IP PORT`, `fwmark N` or `group NAME`, as written. */
  readonly address: string;
  readonly port?: number;
  readonly location: SourceLocation;
  readonly delayLoopMs?: number;
  readonly lbAlgo?: string;
  readonly lbKind?: string;
  readonly persistenceTimeoutMs?: number;
  readonly protocol?: string;
  readonly realServers: readonly RealServerConfig[];
}

export interface KeepalivedConfig {
  /** The main file and every included file, in the order read. */
  readonly files: readonly string[];
  readonly global: GlobalDefs;
  readonly instances: readonly VrrpInstanceConfig[];
  readonly scripts: readonly VrrpScriptConfig[];
  readonly trackFiles: readonly TrackFileConfig[];
  readonly syncGroups: readonly SyncGroupConfig[];
  readonly virtualServers: readonly VirtualServerConfig[];
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
