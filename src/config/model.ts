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
  /** Instance's multicast group: the global `vrrp_mcast_group4`/`6`, else 224.0.0.18 / ff02::12. */
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
  /** `dont_track_primary`. */
  readonly dontTrackPrimary: boolean;
  /** `smtp_alert` in the instance (undefined = the global setting). */
  readonly smtpAlert?: boolean;
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
}

/**
 * What loading a config gives: the model (present when there is no error) and every diagnostic,
 * errors and warnings, sorted by file, line and column.
 */
export interface ConfigLoadResult {
  readonly config?: KeepalivedConfig;
  readonly diagnostics: readonly Diagnostic[];
}
