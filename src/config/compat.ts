/**
 * What keepwatch does with the keepalived 2.2.7 keywords it does not act on as keepalived does:
 * the reason each one is not acted on (and what to use instead), whether that changes what a
 * node running the file does (the migration check, `keepwatch -t --migrate`, fails on those),
 * and, for keywords keepwatch acts on, where it acts differently from keepalived.
 *
 * schema.ts attaches these reasons to its keyword tables: every keyword there is either acted on
 * or carries a reason here (test/unit/config/keyword-coverage.test.ts walks the tables). The
 * warning of a keyword not acted on is `'KEYWORD' is accepted but not acted on by keepwatch:
 * REASON`; a `silent` one gets no warning because keepwatch always behaves as the keyword asks.
 */
import type { Diagnostic, SourceLocation } from './model.js';

/** Why a keyword is not acted on: a category (several keywords share its reason) or its own. */
export type NotActedCategory =
  | 'lvs'
  | 'snmp'
  | 'dbus'
  | 'one-process'
  | 'scheduling'
  | 'netlink-buffers'
  | 'linkbeat'
  | 'firewall'
  | 'always'
  | 'own';

export interface NotActed {
  readonly category: NotActedCategory;
  /** Why, and what to use instead: the end of the warning. */
  readonly reason: string;
  /**
   * Whether a node running this file under keepwatch behaves differently from one running it
   * under keepalived (on the network, on the host, or towards what watches it). False for tuning
   * knobs keepwatch has no counterpart for and for what keepwatch always does anyway.
   */
  readonly changesBehaviour: boolean;
  /** No warning: keepwatch always behaves as the keyword asks (`always`). */
  readonly silent?: true;
}

/** The reason of each category (the keywords in it say nothing more). */
export const CATEGORY_REASONS: Readonly<Record<Exclude<NotActedCategory, 'own'>, string>> = {
  lvs: "keepwatch runs virtual_server blocks and their checkers with its own data plane (nftables, or IPVS where the kernel has ip_vs), but not this setting of keepalived's LVS side",
  snmp: 'keepwatch has no SNMP agent: the same facts are on /metrics (Prometheus) and /v1/state (JSON)',
  dbus: 'keepwatch has no D-Bus interface: read the state on /v1/state (or `keepwatch status`); SIGHUP reloads, SIGUSR1/SIGUSR2 dump',
  'one-process': 'keepwatch is one process (no parent, VRRP, checker or BFD children): it has no child to name, wait for or set apart',
  scheduling: "keepwatch does not change its own scheduling, memory locking or CPU affinity: set them in its systemd unit (Nice=, CPUSchedulingPolicy=rr, CPUSchedulingPriority=, CPUAffinity=, LimitRTTIME=, MemorySwapMax=0)",
  'netlink-buffers': 'keepwatch sizes its own netlink receive buffer (4 MiB, capped by net.core.rmem_max) and reads adverts through libpcap, not through these sockets',
  linkbeat: 'keepwatch follows link state through netlink only (no MII/ethtool polling); a driver that reports carrier changes through netlink is needed',
  firewall: "keepwatch's accept-mode and strict-mode filtering is always its own nftables table (inet keepwatch): never iptables or ipsets, and its name, hook priority and counters are fixed",
  always: 'keepwatch always does this',
};

const cat = (category: Exclude<NotActedCategory, 'own' | 'always'>, names: string, changesBehaviour = true): Record<string, NotActed> =>
  Object.fromEntries(names.trim().split(/\s+/).map((n) => [n, { category, reason: CATEGORY_REASONS[category], changesBehaviour }]));
const own = (reason: string, changesBehaviour: boolean): NotActed => ({ category: 'own', reason, changesBehaviour });
const always = (what: string): NotActed => ({ category: 'always', reason: `${CATEGORY_REASONS.always}: ${what}`, changesBehaviour: false, silent: true });

/**
 * Keywords keepwatch reads but does not act on, by name (a name used in more than one block means
 * the same in each). Block-specific entries are keyed `BLOCK:NAME` and win over the name alone.
 */
export const NOT_ACTED: Readonly<Record<string, NotActed>> = {
  ...cat('lvs', `net_namespace_ipvs SSL smtp_alert_checker checker_log_all_failures lvs_timeouts
    lvs_flush lvs_flush_on_stop lvs_flush_onstop lvs_sync_daemon nftables_ipvs nftables_ipvs_priority
    nftables_ipvs_start_fwmark lvs_notify_fifo lvs_notify_fifo_script checker_priority checker_no_swap
    checker_rt_priority checker_cpu_affinity checker_rlimit_rttime checker_rlimit_rtime lvs_netlink_cmd_rcv_bufs
    lvs_netlink_cmd_rcv_bufs_force lvs_netlink_monitor_rcv_bufs lvs_netlink_monitor_rcv_bufs_force
    rs_init_notifies no_checker_emails snmp_vs_stats_update_interval snmp_rs_stats_update_interval
    lvs_sync_daemon_interface checker_process_name lvs_process_name`),
  // BFD runs inside keepwatch (src/bfd/, issue 18): its child process's name and scheduling have no counterpart.
  ...cat('one-process', 'bfd_process_name', false),
  ...cat('scheduling', 'bfd_priority bfd_no_swap bfd_rt_priority bfd_cpu_affinity bfd_rlimit_rttime bfd_rlimit_rtime', false),
  ...cat('snmp', `snmp_socket enable_traps enable_snmp_vrrp enable_snmp_keepalived enable_snmp_rfc enable_snmp_rfcv2
    enable_snmp_rfcv3 enable_snmp_checker`),
  ...cat('dbus', 'enable_dbus dbus_service_name dbus_no_interface_name'),
  ...cat('one-process', 'process_names process_name vrrp_process_name child_wait_time', false),
  ...cat('scheduling', `max_auto_priority min_auto_priority_delay vrrp_no_swap vrrp_rt_priority vrrp_cpu_affinity
    vrrp_rlimit_rttime vrrp_rlimit_rtime`, false),
  ...cat('netlink-buffers', `vrrp_netlink_cmd_rcv_bufs vrrp_netlink_cmd_rcv_bufs_force vrrp_netlink_monitor_rcv_bufs
    vrrp_netlink_monitor_rcv_bufs_force process_monitor_rcv_bufs process_monitor_rcv_bufs_force vrrp_rx_bufs_policy
    vrrp_rx_bufs_multiplier kernel_rx_buf_size`, false),
  ...cat('linkbeat', 'linkbeat_use_polling linkbeat_interfaces'),
  ...cat('firewall', 'vrrp_iptables vrrp_ipsets nftables nftables_priority nftables_ifindex nftables_counters namespace_with_ipsets', false),
  reload_check_config: always('a reload reads and checks the whole new file first, and an invalid one is refused while the running configuration stays'),
  track_group: own('static track groups are not implemented: static addresses, routes and rules stay while keepwatch runs, whatever the instances do (a static line naming a track_group is refused)', true),
  garp_group: own('per-interface GARP pacing is not implemented: use the global vrrp_garp_interval and vrrp_gna_interval, which every instance follows', true),
  interface_up_down_delays: own('keepwatch reacts to a link change at once (no debounce delays): FAULT when a link goes down, out of FAULT when it comes back', true),
  startup_script: own('run it from the unit instead: ExecStartPre= (keepwatch starts no script of its own before its instances)', true),
  startup_script_timeout: own('with startup_script: TimeoutStartSec= bounds ExecStartPre=', false),
  shutdown_script: own('run it from the unit instead: ExecStopPost= (keepwatch runs no script of its own after its instances stop)', true),
  shutdown_script_timeout: own('with shutdown_script: TimeoutStopSec= bounds ExecStopPost=', false),
  default_interface: own("keepwatch needs 'dev IF' on every static address (it does not fall back to a default interface); default_interface has nothing else to do on the VRRP side", false),
  disable_local_igmp: own('keepwatch leaves IGMP to the kernel: set net.ipv4.igmp_link_local_mcast_reports=0 with sysctl for the same effect', true),
  log_unknown_vrids: own('adverts for VRIDs keepwatch does not run are counted on /metrics (keepwatch_adverts_dropped_total{reason="vrid-not-configured"}) and logged at debug level (-D)', false),
  random_seed: own('${_RANDOM} is drawn anew at every load (random_seed does not make it repeatable in keepwatch)', true),
  reload_time_file: own('scheduled reloads are not implemented: run `systemctl reload keepwatch` from a systemd timer', true),
  reload_repeat: own('with reload_time_file: a systemd timer repeats the reload', true),
  reload_file: own("keepwatch tells systemd when a reload starts and ends (RELOADING=1, READY=1): `systemctl reload` returns once it is done", false),
  tmp_config_directory: own('keepwatch reads the configuration in memory: it writes no temporary copy', false),
  config_save_dir: own('keepwatch keeps no copies of the configuration it read', false),
  vrrp_down_timer_adverts: own("keepwatch's Master_Down_Interval is RFC 5798's (3 × Master_Adver_Interval + Skew_Time): another count of adverts is not supported", true),
  down_timer_adverts: own("keepwatch's Master_Down_Interval is RFC 5798's (3 × Master_Adver_Interval + Skew_Time): another count of adverts is not supported", true),
  vrrp_owner_ignore_adverts: own('an address owner (priority 255) in keepwatch handles adverts as RFC 5798 says (a higher priority from a peer still counts)', true),
  owner_ignore_adverts: own('an address owner (priority 255) in keepwatch handles adverts as RFC 5798 says (a higher priority from a peer still counts)', true),
  use_symlink_paths: own('keepwatch runs scripts by the path as written; enable_script_security checks that path and every directory above it', false),
  iproute_usr_dir: own('keepwatch reads no iproute2 name files: write route tables, protocols, scopes and realms as numbers (main, local and default work)', false),
  iproute_etc_dir: own('keepwatch reads no iproute2 name files: write route tables, protocols, scopes and realms as numbers (main, local and default work)', false),
  unicast_fault_no_peer: own('an instance whose unicast_peer block is empty runs multicast in keepwatch (keepalived 2.2.7 does the same without this keyword); it does not go to FAULT', true),
  old_unicast_checksum: own("keepwatch computes a unicast VRRPv3 checksum as keepalived 2.2.7 does by default; a peer that needs the old (pre-2.2.0) checksum is not supported", true),
  native_ipv6: own("an instance's family comes from its virtual addresses in keepwatch: an instance with IPv6 addresses is IPv6; one without any is IPv4", true),
  vrf: own('VRF binding is not implemented: the instance runs on its interface in the main routing table', true),
  track_src_ip: own("keepwatch does not track the source address: an instance whose address goes away keeps running (its adverts fail and are counted as send errors)", true),
  promote_secondaries: own('keepwatch does not set promote_secondaries: set net.ipv4.conf.IF.promote_secondaries=1 with sysctl', true),
  debug: own('per-instance debug levels are not implemented: run keepwatch with -D (or --log-level debug)', false),
  timer_expired_backup: own('not implemented: a backup whose master-down timer fires becomes master, as RFC 5798 says', true),
  thread_timer_expired: own('not implemented (a keepalived debugging aid)', false),
};

/**
 * Options of a `virtual_ipaddress` line and of a `unicast_peer` entry that keepwatch reads but does
 * not act on (interpret.ts warns with the reason, unless `silent`).
 */
export const OPTION_REASONS: Readonly<Record<string, NotActed>> = {
  min_ttl: own('keepwatch does not check the TTL of unicast adverts against min_ttl/max_ttl: it accepts them whatever their TTL', true),
  max_ttl: own('keepwatch does not check the TTL of unicast adverts against min_ttl/max_ttl: it accepts them whatever their TTL', true),
  peer: own('point-to-point peer addresses are not set on virtual addresses', true),
  preferred_lft: own('virtual addresses get the kernel\'s default lifetimes: an IPv6 one stays preferred (keepalived deprecates a /128 unless preferred_lft forever)', true),
  home: own('the IPv6 home-address flag is not set on virtual addresses', true),
  mngtmpaddr: own('the IPv6 mngtmpaddr flag is not set on virtual addresses', true),
  noprefixroute: own('the kernel adds its prefix route for a virtual address with a prefix (noprefixroute is not set)', true),
  autojoin: own('the multicast autojoin flag is not set on virtual addresses', true),
  no_track: own('keepwatch puts a virtual address that someone else removed back while it is master, no_track or not (keepalived leaves it out until the next transition)', true),
  '-nodad': always('IPv6 virtual addresses are added without duplicate address detection'),
  track: always('a virtual address that someone else removed is put back while the instance is master'),
};

/**
 * Keywords keepwatch acts on, but not exactly as keepalived 2.2.7 does: how (the migration
 * check reports these; README "Differences from keepalived" lists them).
 */
export const ACTED_DIFFERENTLY: Readonly<Record<string, string>> = {
  net_namespace: "keepwatch does not enter the namespace: it checks at start that it runs inside it (ip netns exec NAME keepwatch, or NetworkNamespacePath=/run/netns/NAME in the unit) and refuses to start otherwise",
  vrrp_startup_delay: 'the instances stay in INIT (not BACKUP) during the delay; the earliest takeover is the same: the delay plus Master_Down_Interval',
  vrrp_priority: 'applied with setpriority(2) at start; the shipped unit does not grant CAP_SYS_NICE, so a negative value needs Nice= in the unit (keepwatch logs the refusal)',
  umask: 'applied when the configuration is first read (the command line -u wins, as in keepalived); a reload does not change it',
  state_dump_file: 'the SIGUSR1 file; keepwatch also writes keepwatch.data (its own JSON view) in the same directory',
  stats_dump_file: 'the SIGUSR2 file; keepwatch also writes keepwatch.stats (its own JSON view) in the same directory',
  json_dump_file: 'the JSON dump leaves out auth_data (the VRRPv2 password): keepwatch never writes secrets to files',
  json_version: "keepwatch writes keepalived 2.2.7's layout (version 1); json_version 2 is read, warned about and written as version 1",
};

/** The entry for a keyword of `block`, if it is one keepwatch does not act on. */
export function notActed(block: string, name: string): NotActed | undefined {
  return NOT_ACTED[`${block}:${name}`] ?? NOT_ACTED[name];
}

// ---------------------------------------------------------------------------------------------
// The migration check (`keepwatch -t --migrate`): per keyword, what keepwatch does differently.

/**
 * - `changes-behaviour`: a node running the file under keepwatch behaves differently (the check fails);
 * - `same-behaviour`: not acted on, but nothing a node does changes (tuning keepwatch has no counterpart for);
 * - `acted-differently`: acted on, in keepwatch's way (ACTED_DIFFERENTLY);
 * - `refused`: an error: keepwatch does not run the file (the check fails);
 * - `warning`: any other warning of the config test (a default raised, a reference ignored, ...).
 */
export type MigrationVerdict = 'changes-behaviour' | 'same-behaviour' | 'acted-differently' | 'refused' | 'warning';

export interface MigrationFinding {
  readonly location: SourceLocation;
  /** The keyword (or option) concerned, when the finding is about one. */
  readonly keyword?: string;
  readonly verdict: MigrationVerdict;
  readonly text: string;
}

const NOT_ACTED_MESSAGE = /^'([^']+)' is accepted but not acted on by keepwatch: /;

/** The entry of a keyword named in a "not acted on" warning (block-specific ones included). */
function entryFor(name: string): NotActed | undefined {
  return NOT_ACTED[name] ?? OPTION_REASONS[name] ?? Object.entries(NOT_ACTED).find(([k]) => k.endsWith(`:${name}`))?.[1];
}

/**
 * The findings of the migration check, in place order: the config test's diagnostics (each
 * "not acted on" warning classified by its keyword's `changesBehaviour`; an error is a refusal;
 * the LVS warning changes behaviour) and `actedHere`, the keywords of ACTED_DIFFERENTLY the file
 * uses (`-t --migrate` finds them by their first word on a line).
 */
export function migrationFindings(diagnostics: readonly Diagnostic[], actedHere: readonly { keyword: string; location: SourceLocation }[]): MigrationFinding[] {
  const out: MigrationFinding[] = [];
  for (const d of diagnostics) {
    if (d.severity === 'error') {
      out.push({ location: d.location, verdict: 'refused', text: d.message });
      continue;
    }
    const m = NOT_ACTED_MESSAGE.exec(d.message);
    if (m) {
      const e = entryFor(m[1]!);
      out.push({ location: d.location, keyword: m[1]!, verdict: e?.changesBehaviour === false ? 'same-behaviour' : 'changes-behaviour', text: d.message.slice(m[0].length) });
      continue;
    }
    if (/^virtual_server\b|\bLVS\b/.test(d.message)) {
      out.push({ location: d.location, keyword: 'virtual_server', verdict: 'changes-behaviour', text: d.message });
      continue;
    }
    out.push({ location: d.location, verdict: 'warning', text: d.message });
  }
  for (const a of actedHere) {
    const how = ACTED_DIFFERENTLY[a.keyword];
    if (how) out.push({ location: a.location, keyword: a.keyword, verdict: 'acted-differently', text: how });
  }
  // Files in the order they first appear (the config test's order: includes where they are read).
  const fileOrder = new Map<string, number>();
  for (const f of out) if (!fileOrder.has(f.location.file)) fileOrder.set(f.location.file, fileOrder.size);
  return out.sort((x, y) => fileOrder.get(x.location.file)! - fileOrder.get(y.location.file)! || x.location.line - y.location.line || x.location.column - y.location.column);
}

/** Whether the migration check fails: something refused, or a keyword whose effect changes. */
export const migrationFails = (findings: readonly MigrationFinding[]): boolean =>
  findings.some((f) => f.verdict === 'refused' || f.verdict === 'changes-behaviour');
