/**
 * Keyword tables for keepalived.conf, one per block, and the syntax of the values they take.
 *
 * The keyword lists are those keepalived 2.2.7 installs (keepalived/core/global_parser.c
 * `init_global_keywords`, keepalived/vrrp/vrrp_parser.c `init_vrrp_keywords`,
 * keepalived/check/check_parser.c, keepalived/trackers/track_file.c), plus a few later additions
 * (`v3_checksum_as_v2`, `no_virtual_ipaddress`, ...) so that newer configs are not called misspelt.
 * Every keyword is either acted on (read into the model) or `ignored`: accepted, with the warning
 * `'KEYWORD' is accepted but not acted on by keepwatch: REASON`, the reason (and what to use
 * instead) coming from compat.ts. Anything else is an unknown keyword.
 */
import { formatIp, parseIp } from '../protocol/inet.js';
import type { AddressFamily } from './model.js';
import { notActed, type NotActed } from './compat.js';

/** How a keyword's arguments (and block) are read. */
export type ValueSpec =
  /** bare word, no argument (`nopreempt`) */
  | { readonly t: 'flag' }
  /** bare word or one of true|false|on|off|yes|no (keepalived `check_true_false`) */
  | { readonly t: 'bool' }
  /** exactly one word */
  | { readonly t: 'word' }
  /** `min`..`max` words */
  | { readonly t: 'words'; readonly min: number; readonly max: number }
  /** one of fixed words; `note` is added to the complaint */
  | { readonly t: 'enum'; readonly values: readonly string[]; readonly note?: string }
  /** a whole number (of seconds when `unit` says so: the value read is then seconds) */
  | { readonly t: 'int'; readonly min: number; readonly max: number; readonly unit?: 'seconds' }
  /**
   * seconds, possibly with decimals (up to `decimals` digits); `min` and `max` are seconds, and the
   * value read is whole microseconds (`parseDecimalSecondsUs`), as keepalived's timers hold it
   */
  | { readonly t: 'secs'; readonly min: number; readonly max: number; readonly decimals: number }
  /** an IP address (no prefix) */
  | { readonly t: 'ip'; readonly family?: AddressFamily; readonly multicast?: boolean }
  /**
   * a command line: the rest of the line (read again as keepalived reads it: config/script-line.ts);
   * `optional`: the keyword may come alone (`notify_deleted`)
   */
  | { readonly t: 'cmd'; readonly optional?: boolean }
  /** `N [reverse]` */
  | { readonly t: 'weight'; readonly min: number; readonly max: number }
  /** `HOST [PORT]` */
  | { readonly t: 'smtp' }
  /** `[VALUE] [overwrite]` */
  | { readonly t: 'init_file' }
  /** a block of keywords of another table */
  | { readonly t: 'block'; readonly kind: BlockKind }
  /** a block of one-entry-per-line values (`virtual_ipaddress { ... }`) */
  | { readonly t: 'list'; readonly entry: ListEntry }
  /** `KEYWORD NAME { ... }` at top level */
  | { readonly t: 'named'; readonly kind: BlockKind }
  /** `virtual_server IP PORT { ... }`: LVS, any keyword inside */
  | { readonly t: 'lvs' }
  /** anything (ignored keywords: neither arguments nor block are checked) */
  | { readonly t: 'any'; readonly block: boolean };

export type BlockKind =
  | 'top level'
  | 'global_defs'
  | 'vrrp_instance'
  | 'authentication'
  | 'vrrp_script'
  | 'vrrp_track_file'
  | 'vrrp_track_process'
  | 'vrrp_sync_group'
  | 'bfd_instance';

export type ListEntry = 'vip' | 'peer' | 'track' | 'word' | 'route' | 'rule' | 'static-address';

export interface KeywordSpec {
  readonly acted: boolean;
  readonly value: ValueSpec;
  /** When given twice: keepalived keeps the last value, except where it keeps the first. */
  readonly keep?: 'first';
}

export type KeywordTable = Readonly<Record<string, KeywordSpec>>;

const acted = (value: ValueSpec, keep?: 'first'): KeywordSpec => (keep ? { acted: true, value, keep } : { acted: true, value });
const ignored = (names: string, block = false): Record<string, KeywordSpec> =>
  Object.fromEntries(names.trim().split(/\s+/).map((n) => [n, { acted: false, value: { t: 'any', block } }]));

const FLAG: ValueSpec = { t: 'flag' };
const BOOL: ValueSpec = { t: 'bool' };
const WORD: ValueSpec = { t: 'word' };
const CMD: ValueSpec = { t: 'cmd' };
const IP: ValueSpec = { t: 'ip' };
/** keepalived's `TIMER_MAX_SEC`, the upper bound of `preempt_delay`. */
const TIMER_MAX_SEC = 1000;
/** Whole seconds that fit keepalived's microsecond timers (`UINT_MAX / TIMER_HZ`). */
const MAX_WHOLE_SECONDS = 4294;
const uint = (min: number, max: number): ValueSpec => ({ t: 'int', min, max });
const wholeSecs = (min: number): ValueSpec => ({ t: 'int', min, max: MAX_WHOLE_SECONDS, unit: 'seconds' });
/** Seconds `min`..`max` with up to `decimals` decimals, read as microseconds. */
const secs = (min: number, max: number, decimals = 6): ValueSpec => ({ t: 'secs', min, max, decimals });
const list = (entry: ListEntry): ValueSpec => ({ t: 'list', entry });

export const TRUE_FALSE: Readonly<Record<string, boolean>> = { true: true, on: true, yes: true, false: false, off: false, no: false };

/** Top level: keepalived.conf(5) "TOP LEVEL ELEMENTS". `include` is handled by load.ts. */
export const TOP_LEVEL: KeywordTable = {
  global_defs: acted({ t: 'block', kind: 'global_defs' }),
  vrrp_instance: acted({ t: 'named', kind: 'vrrp_instance' }),
  vrrp_script: acted({ t: 'named', kind: 'vrrp_script' }),
  vrrp_track_file: acted({ t: 'named', kind: 'vrrp_track_file' }),
  /** keepalived accepts `track_file` as another name of `vrrp_track_file` at top level. */
  track_file: acted({ t: 'named', kind: 'vrrp_track_file' }),
  vrrp_sync_group: acted({ t: 'named', kind: 'vrrp_sync_group' }),
  /** keepalived/core/track_process.c: how many processes run (tracking/track-process.ts). */
  vrrp_track_process: acted({ t: 'named', kind: 'vrrp_track_process' }),
  virtual_server: acted({ t: 'lvs' }),
  /** config/virtual-server.ts, like virtual_server. */
  virtual_server_group: acted({ t: 'lvs' }),
  /** RFC 5880/5881/5883 sessions (config/bfd.ts, src/bfd/), tracked by `track_bfd`. */
  bfd_instance: acted({ t: 'named', kind: 'bfd_instance' }),
  /** Expanded by load.ts before interpretation (with keepalived's variants includer/m/w/b/a). */
  include: acted({ t: 'any', block: false }),
  /** keepalived/vrrp/vrrp_parser.c: set at start, kept while running (config/routes.ts). */
  static_ipaddress: acted(list('static-address')),
  static_routes: acted(list('route')),
  static_rules: acted(list('rule')),
  /** keepwatch checks at start that it runs in this namespace (lifecycle.ts), and refuses to start otherwise. */
  net_namespace: acted(WORD, 'first'),
  /** Pid files under /run/keepalived/ (main.ts); `instance NAME` names them too, and the dump files with data_use_instance. */
  use_pid_dir: acted(FLAG),
  instance: acted(WORD, 'first'),
  ...ignored(`linkbeat_use_polling net_namespace_ipvs namespace_with_ipsets child_wait_time`),
  ...ignored(`track_group garp_group linkbeat_interfaces
    interface_up_down_delays SSL`, true),
};

/** global_defs: keepalived/core/global_parser.c. */
export const GLOBAL_DEFS: KeywordTable = {
  router_id: acted(WORD),
  notification_email: acted(list('word')),
  notification_email_from: acted(WORD),
  smtp_server: acted({ t: 'smtp' }),
  smtp_helo_name: acted(WORD),
  smtp_connect_timeout: acted(wholeSecs(0)),
  smtp_alert: acted(BOOL),
  smtp_alert_vrrp: acted(BOOL),
  vrrp_mcast_group4: acted({ t: 'ip', family: 'ipv4', multicast: true }),
  vrrp_mcast_group6: acted({ t: 'ip', family: 'ipv6', multicast: true }),
  vrrp_version: acted(uint(2, 3)),
  vrrp_strict: acted(BOOL),
  vrrp_skip_check_adv_addr: acted(BOOL),
  vrrp_check_unicast_src: acted(BOOL),
  v3_checksum_as_v2: acted(BOOL),
  vrrp_garp_interval: acted(secs(0, 2147)),
  vrrp_gna_interval: acted(secs(0, 2147)),
  vrrp_garp_master_delay: acted(wholeSecs(0)),
  vrrp_garp_master_repeat: acted(uint(0, 2147483647)),
  vrrp_garp_master_refresh: acted(wholeSecs(0)),
  vrrp_garp_master_refresh_repeat: acted(uint(0, 2147483647)),
  vrrp_garp_lower_prio_delay: acted(wholeSecs(0)),
  vrrp_garp_lower_prio_repeat: acted(uint(0, 2147483647)),
  script_user: acted({ t: 'words', min: 1, max: 2 }),
  /** Read by load.ts when its line is reached (it governs the includes after it). */
  include_check: acted({ t: 'any', block: false }),
  enable_script_security: acted(BOOL),
  /** The start of default link names (config/vmac.ts); keepalived keeps the first one given. */
  vmac_prefix: acted(WORD, 'first'),
  vmac_addr_prefix: acted(WORD, 'first'),
  vrrp_min_garp: acted(BOOL),
  vrrp_lower_prio_no_advert: acted(BOOL),
  vrrp_higher_prio_send_advert: acted(BOOL),
  /** `[all] N`, N 1-86400 seconds (read in assemble.ts); `vrrp_vmac_garp_intvl` is its old name. */
  vrrp_garp_extra_if: acted({ t: 'words', min: 1, max: 2 }),
  vrrp_vmac_garp_intvl: acted({ t: 'words', min: 1, max: 2 }),
  /**
   * `PATH [user [group]]` / `COMMAND [user [group]]` (notify/fifo.ts); keepalived keeps the first
   * of each. Both FIFOs get every VRRP line.
   */
  notify_fifo: acted({ t: 'words', min: 1, max: 3 }, 'first'),
  notify_fifo_script: acted(CMD, 'first'),
  vrrp_notify_fifo: acted({ t: 'words', min: 1, max: 3 }, 'first'),
  vrrp_notify_fifo_script: acted(CMD, 'first'),
  vrrp_notify_priority_changes: acted(BOOL),
  fifo_write_vrrp_states_on_reload: acted(BOOL),
  ...ignored(`process_names process_name vrrp_process_name checker_process_name lvs_process_name
    bfd_process_name startup_script startup_script_timeout shutdown_script shutdown_script_timeout
    max_auto_priority min_auto_priority_delay smtp_alert_checker checker_log_all_failures
    default_interface disable_local_igmp lvs_timeouts lvs_flush
    lvs_flush_on_stop lvs_flush_onstop lvs_sync_daemon vrrp_iptables
    vrrp_ipsets nftables nftables_priority nftables_ifindex nftables_ipvs nftables_ipvs_priority
    nftables_ipvs_start_fwmark nftables_counters vrrp_no_swap vrrp_rt_priority
    vrrp_cpu_affinity vrrp_rlimit_rttime vrrp_rlimit_rtime lvs_notify_fifo
    lvs_notify_fifo_script checker_priority checker_no_swap checker_rt_priority checker_cpu_affinity
    checker_rlimit_rttime checker_rlimit_rtime bfd_priority bfd_no_swap bfd_rt_priority
    bfd_cpu_affinity bfd_rlimit_rttime bfd_rlimit_rtime snmp_socket enable_traps enable_snmp_vrrp
    enable_snmp_keepalived enable_snmp_rfc enable_snmp_rfcv2 enable_snmp_rfcv3 enable_snmp_checker
    enable_dbus dbus_service_name vrrp_netlink_cmd_rcv_bufs vrrp_netlink_cmd_rcv_bufs_force
    vrrp_netlink_monitor_rcv_bufs vrrp_netlink_monitor_rcv_bufs_force process_monitor_rcv_bufs
    process_monitor_rcv_bufs_force lvs_netlink_cmd_rcv_bufs lvs_netlink_cmd_rcv_bufs_force
    lvs_netlink_monitor_rcv_bufs lvs_netlink_monitor_rcv_bufs_force rs_init_notifies
    no_checker_emails vrrp_rx_bufs_policy vrrp_rx_bufs_multiplier
    log_unknown_vrids random_seed reload_check_config
    reload_time_file reload_repeat reload_file tmp_config_directory
    vrrp_down_timer_adverts config_save_dir use_symlink_paths
    vrrp_owner_ignore_adverts snmp_vs_stats_update_interval snmp_rs_stats_update_interval
    dbus_no_interface_name iproute_usr_dir iproute_etc_dir`),
  /** `[allow_if_changes]`: an instance whose interface is missing waits in FAULT (agent/lifecycle.ts). */
  dynamic_interfaces: acted({ t: 'words', min: 0, max: 1 }),
  /** Seconds (to the ms) before the instances start, at the first start only (agent/lifecycle.ts). */
  vrrp_startup_delay: acted(secs(0.001, MAX_WHOLE_SECONDS, 3)),
  /** keepalived 2.4: the same, only while the system has been up for less than that. */
  vrrp_delay_after_boot: acted(secs(0.001, MAX_WHOLE_SECONDS, 3)),
  /** `NUMBER` (octal, hex or decimal) or `IRUSR|IWGRP|...` (assemble.ts); the command line -u wins. */
  umask: acted({ t: 'words', min: 1, max: 16 }),
  /** The nice value, -20 to 19 (agent/lifecycle.ts). */
  vrrp_priority: acted({ t: 'words', min: 1, max: 1 }),
  /** No mail for FAULT transitions (notify/mailer.ts). */
  no_email_faults: acted(FLAG),
  /** Dump files (main.ts): the `instance` name in their names; their paths (keepalived 2.3). */
  data_use_instance: acted(BOOL),
  state_dump_file: acted(WORD),
  stats_dump_file: acted(WORD),
  json_dump_file: acted(WORD),
  json_version: acted(uint(1, 2)),
};

/** vrrp_instance: keepalived/vrrp/vrrp_parser.c. */

/** notify* and track_* are the same in vrrp_instance and vrrp_sync_group. */
const NOTIFY_AND_TRACK: KeywordTable = {
  notify: acted(CMD, 'first'),
  notify_master: acted(CMD, 'first'),
  notify_backup: acted(CMD, 'first'),
  notify_fault: acted(CMD, 'first'),
  notify_stop: acted(CMD, 'first'),
  track_interface: acted(list('track')),
  track_script: acted(list('track')),
  track_file: acted(list('track')),
  track_process: acted(list('track')),
  notify_priority_changes: acted(BOOL),
};

export const VRRP_INSTANCE: KeywordTable = {
  state: acted({ t: 'enum', values: ['MASTER', 'BACKUP'], note: 'keepalived would silently treat it as BACKUP' }),
  interface: acted(WORD),
  virtual_router_id: acted(uint(1, 255)),
  priority: acted(uint(1, 255)),
  /** Range checked after the version is known (assemble.ts). */
  advert_int: acted(secs(0.01, 255)),
  nopreempt: acted(FLAG),
  preempt: acted(FLAG),
  preempt_delay: acted(secs(0, TIMER_MAX_SEC)),
  version: acted(uint(2, 3)),
  authentication: acted({ t: 'block', kind: 'authentication' }),
  virtual_ipaddress: acted(list('vip')),
  virtual_ipaddress_excluded: acted(list('vip')),
  unicast_src_ip: acted(IP),
  unicast_peer: acted(list('peer')),
  mcast_src_ip: acted(IP),
  garp_master_delay: acted(wholeSecs(0)),
  garp_master_repeat: acted(uint(0, 2147483647)),
  garp_master_refresh: acted(wholeSecs(0)),
  garp_master_refresh_repeat: acted(uint(0, 2147483647)),
  /** Not in keepalived 2.2.7's vrrp_instance (it has global vrrp_garp_interval / garp_group); kept for the model. */
  garp_interval: acted(secs(0, 2147)),
  garp_lower_prio_delay: acted(wholeSecs(0)),
  garp_lower_prio_repeat: acted(uint(0, 2147483647)),
  ...NOTIFY_AND_TRACK,
  strict_mode: acted(BOOL),
  skip_check_adv_addr: acted(BOOL),
  check_unicast_src: acted(BOOL),
  v3_checksum_as_v2: acted(BOOL),
  dont_track_primary: acted(FLAG),
  smtp_alert: acted(BOOL),
  /** A multicast group of the instance's family (IPv6: link-local, ffX2::); checked in assemble.ts. */
  mcast_dst_ip: acted(IP),
  unicast_ttl: acted(uint(0, 255)),
  /** `accept` / `no_accept`: whichever comes last wins (assemble.ts). */
  accept: acted(FLAG),
  no_accept: acted(FLAG),
  lower_prio_no_advert: acted(BOOL),
  higher_prio_send_advert: acted(BOOL),
  /** `[all] N`, N 0-86400 seconds, 0 = off (read in assemble.ts); `vmac_garp_intvl` is its old name. */
  garp_extra_if: acted({ t: 'words', min: 1, max: 2 }),
  vmac_garp_intvl: acted({ t: 'words', min: 1, max: 2 }),
  /**
   * `use_vmac [NAME] [MAC]`, `use_ipvlan [NAME] [ADDRESS[/PREFIX]] [bridge|private|vepa]` (words in
   * any order, read in config/vmac.ts; keepalived keeps what the first one gave).
   */
  use_vmac: acted({ t: 'words', min: 0, max: 2 }, 'first'),
  use_ipvlan: acted({ t: 'words', min: 0, max: 3 }, 'first'),
  use_vmac_addr: acted(FLAG),
  vmac_xmit_base: acted(FLAG),
  ...ignored(`unicast_fault_no_peer
    old_unicast_checksum native_ipv6 vrf track_src_ip
    promote_secondaries linkbeat_use_polling debug lvs_sync_daemon_interface down_timer_adverts
    timer_expired_backup
    kernel_rx_buf_size thread_timer_expired owner_ignore_adverts`),
  /** No "no virtual_ipaddress" warning (assemble.ts). */
  no_virtual_ipaddress: acted(FLAG),
  /** With the VIPs: added on becoming master, removed on leaving (config/routes.ts). */
  virtual_routes: acted(list('route')),
  virtual_rules: acted(list('rule')),
  /** Instances only (keepalived 2.2.7 vrrp_parser.c); notify/notifier.ts. */
  notify_master_rx_lower_pri: acted(CMD, 'first'),
  notify_deleted: acted({ t: 'cmd', optional: true }, 'first'),
  /** `NAME [weight N [reverse]]`: config/bfd.ts, agent/bfd.ts. */
  track_bfd: acted(list('track')),
};

export const AUTHENTICATION: KeywordTable = {
  auth_type: acted({ t: 'enum', values: ['PASS', 'AH'] }),
  auth_pass: acted(WORD),
};

/** vrrp_script NAME { ... } */
export const VRRP_SCRIPT: KeywordTable = {
  script: acted(CMD),
  interval: acted(wholeSecs(1)),
  timeout: acted(wholeSecs(1)),
  weight: acted({ t: 'weight', min: -253, max: 253 }),
  rise: acted(uint(1, 2147483647)),
  fall: acted(uint(1, 2147483647)),
  user: acted({ t: 'words', min: 1, max: 2 }),
  init_fail: acted(FLAG),
};

/** vrrp_track_process NAME { ... }: keepalived/vrrp/vrrp_parser.c `vrrp_tprocess_*` (read in assemble.ts). */
export const VRRP_TRACK_PROCESS: KeywordTable = {
  /** `NAME [PARAM ...]`: quoted words keep their spaces. */
  process: acted({ t: 'words', min: 1, max: 64 }, 'first'),
  /** Alone: exact; `initial` or `partial`. */
  param_match: acted({ t: 'words', min: 0, max: 1 }),
  weight: acted({ t: 'weight', min: -254, max: 254 }, 'first'),
  quorum: acted(uint(1, 65535)),
  quorum_max: acted(uint(0, 65535)),
  /** Seconds, to the microsecond (keepalived: 0.000001 to 3600). */
  delay: acted(secs(0.000001, 3600)),
  fork_delay: acted(secs(0.000001, 3600)),
  terminate_delay: acted(secs(0.000001, 3600)),
  full_command: acted(FLAG),
};

/** vrrp_track_file NAME { ... }: keepalived/trackers/track_file.c. */
export const VRRP_TRACK_FILE: KeywordTable = {
  file: acted(WORD),
  weight: acted({ t: 'weight', min: -254, max: 254 }),
  init_file: acted({ t: 'init_file' }),
};

export const VRRP_SYNC_GROUP: KeywordTable = {
  group: acted(list('word')),
  ...NOTIFY_AND_TRACK,
  smtp_alert: acted(BOOL),
  /** Members keep their weighted trackers (assemble.ts); `global_tracking` is its deprecated name. */
  sync_group_tracking_weight: acted(FLAG),
  global_tracking: acted(FLAG),
  track_bfd: acted(list('track')),
};

/**
 * bfd_instance NAME { ... }: keepalived/bfd/bfd_parser.c `init_bfd_keywords` (read in
 * config/bfd.ts; the millisecond values and max_hops' -1 are read there).
 */
export const BFD_INSTANCE: KeywordTable = {
  neighbor_ip: acted(IP),
  neighbour_ip: acted(IP),
  source_ip: acted(IP),
  min_rx: acted(WORD),
  min_tx: acted(WORD),
  idle_tx: acted(WORD),
  multiplier: acted(uint(1, 255)),
  passive: acted(FLAG),
  ttl: acted(uint(1, 255)),
  hoplimit: acted(uint(1, 255)),
  max_hops: acted(WORD),
  multihop: acted(BOOL),
  weight: acted({ t: 'weight', min: -253, max: 253 }),
  vrrp: acted(FLAG),
  checker: acted(FLAG),
};

export const TABLES: Readonly<Record<BlockKind, KeywordTable>> = {
  'top level': TOP_LEVEL,
  global_defs: GLOBAL_DEFS,
  vrrp_instance: VRRP_INSTANCE,
  authentication: AUTHENTICATION,
  vrrp_script: VRRP_SCRIPT,
  vrrp_track_file: VRRP_TRACK_FILE,
  vrrp_track_process: VRRP_TRACK_PROCESS,
  vrrp_sync_group: VRRP_SYNC_GROUP,
  bfd_instance: BFD_INSTANCE,
};

/** Options of a `virtual_ipaddress` line (keepalived/vrrp/vrrp_ipaddress.c `alloc_ipaddress`). */
export const VIP_OPTIONS_ACTED: ReadonlySet<string> = new Set(['brd', 'broadcast', 'dev', 'scope', 'label']);
/** Options accepted but not acted on; the value says whether a parameter follows. */
export const VIP_OPTIONS_IGNORED: Readonly<Record<string, boolean>> = {
  peer: true,
  preferred_lft: true,
  home: false,
  '-nodad': false,
  mngtmpaddr: false,
  noprefixroute: false,
  autojoin: false,
  no_track: false,
  track: false,
};
/** Options of a `virtual_ipaddress` line without a parameter that keepwatch acts on (config/vmac.ts). */
export const VIP_FLAGS: ReadonlySet<string> = new Set(['use_vmac']);
export const VIP_SCOPES: readonly string[] = ['global', 'site', 'link', 'host', 'nowhere'];

/** LVS checker blocks inside `real_server` (keepalived/check/). */
export const LVS_CHECKERS: ReadonlySet<string> = new Set([
  'TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'BFD_CHECK', 'UDP_CHECK',
  'PING_CHECK', 'FILE_CHECK',
]);

export const opensBlock = (s: KeywordSpec): boolean =>
  s.value.t === 'block' || s.value.t === 'list' || s.value.t === 'named' || s.value.t === 'lvs' || (s.value.t === 'any' && s.value.block);

/** A table entry with what the interpreter asks of every statement worked out once. */
export interface Keyword extends KeywordSpec {
  readonly name: string;
  readonly opensBlock: boolean;
  /** Not acted on: why (compat.ts). */
  readonly notActed?: NotActed;
}

/** The tables as Maps (the interpreter looks up every statement; fuzzing makes that hot). */
export const KEYWORD_MAPS: ReadonlyMap<BlockKind, ReadonlyMap<string, Keyword>> = new Map(
  (Object.entries(TABLES) as [BlockKind, KeywordTable][]).map(([kind, table]) => [
    kind,
    new Map(
      Object.entries(table).map(([name, spec]) => {
        const why = spec.acted ? undefined : notActed(kind, name);
        return [name, { ...spec, name, opensBlock: opensBlock(spec), ...(why ? { notActed: why } : {}) }];
      }),
    ),
  ]),
);

/**
 * Keywords whose arguments are secrets, never echoed in a diagnostic: keepalived's `auth_pass`,
 * `authentication` (a password written after it lands there), and `password` (the top-level `SSL`
 * block's key password, keepalived/check/check_ssl.c).
 */
export const SECRET_KEYWORDS: ReadonlySet<string> = new Set(['auth_pass', 'authentication', 'password']);

/**
 * Blocks whose text, keywords aside, is kept out of diagnostics: in `authentication` a password on
 * a line of its own, or after `auth_type PASS`, would otherwise be echoed as an unknown keyword or
 * an extra argument.
 */
export const SECRET_BLOCKS: ReadonlySet<BlockKind> = new Set(['authentication']);

/** Parser hint: keywords that always open a block. */
export const NEEDS_BLOCK: ReadonlySet<string> = new Set(
  Object.values(TABLES).flatMap((t) => Object.entries(t).filter(([, s]) => opensBlock(s)).map(([k]) => k)),
);

/**
 * Parser hint: keywords that only exist at the top level. `track_file` is left out: inside an
 * instance it is a list of tracked files.
 */
export const TOP_LEVEL_BLOCKS: ReadonlySet<string> = new Set(
  Object.entries(TOP_LEVEL).filter(([k, s]) => opensBlock(s) && k !== 'track_file').map(([k]) => k),
);

/** A plain-words description of what a value spec accepts, for messages. */
export function describeValueSpec(v: ValueSpec): string {
  switch (v.t) {
    case 'flag': return 'no argument';
    case 'bool': return 'true, false, on, off, yes or no (or nothing, meaning true)';
    case 'word': return 'one word';
    case 'words': return v.min === v.max ? `${v.min} words` : `${v.min} to ${v.max} words`;
    case 'enum': return oneOf(v.values);
    case 'int':
      if (v.max === v.min + 1) return `${v.min} or ${v.max}`;
      return v.unit === 'seconds' ? `a whole number of seconds from ${v.min} to ${v.max}` : `a whole number from ${v.min} to ${v.max}`;
    case 'secs': return `a number of seconds from ${v.min} to ${v.max} (decimals allowed)`;
    case 'ip':
      return v.multicast
        ? v.family === 'ipv6' ? 'an IPv6 multicast address (ff00::/8)' : 'an IPv4 multicast address (224.0.0.0/4)'
        : 'an IPv4 or IPv6 address';
    case 'cmd': return 'a command line';
    case 'weight': return `a weight from ${v.min} to ${v.max}, optionally followed by 'reverse'`;
    case 'smtp': return 'a host name or address, optionally followed by a port';
    case 'init_file': return "an optional value and 'overwrite'";
    case 'named': return 'a name';
    case 'lvs': return "'IP PORT', 'fwmark N' or 'group NAME'";
    default: return 'a block';
  }
}

export function oneOf(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

// ---------------------------------------------------------------------------------------------
// Value syntax: numbers and addresses.

/** A whole number written with digits only (and a leading '-' when `signed`). */
export function parseWhole(text: string, signed = false): number | undefined {
  if (!(signed ? /^-?\d+$/ : /^\d+$/).test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Seconds as keepalived's `read_decimal_unsigned_strvec` reads them: digits with an optional
 * fraction of at most `decimals` digits. Returns whole microseconds (exact: no float rounding).
 */
export function parseDecimalSecondsUs(text: string, decimals: number): number | undefined {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[1] === '' && !m[2])) return undefined;
  const frac = m[2] ?? '';
  if (frac.replace(/0+$/, '').length > decimals) return undefined;
  const micros = Number(m[1] || '0') * 1e6 + Number((frac + '000000').slice(0, 6));
  return Number.isSafeInteger(micros) ? micros : undefined;
}

export interface ParsedAddress {
  /** Canonical text (IPv6 lowercase and compressed, RFC 5952). */
  readonly address: string;
  readonly family: AddressFamily;
  /** 4 or 16 bytes. */
  readonly bytes: readonly number[];
}

/** Either family, canonical text (RFC 5952 for IPv6), via protocol/inet.ts. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const p = parseIp(text);
  return p && { address: formatIp(p.bytes), family: p.family, bytes: [...p.bytes] };
}

/** `invalid IPv4 address`, `invalid IPv6 address` or `invalid address`, by the text's shape. */
export function addressKind(text: string): string {
  if (text.includes(':')) return 'IPv6 address';
  if (/^[\d.]+$/.test(text)) return 'IPv4 address';
  return 'address';
}
