/**
 * Issue 15 point 4: no keyword is accepted silently without effect. Every keyword of every schema
 * table is either acted on (read into the model and used at runtime) or carries its reason
 * (compat.ts: why not, what to use instead, whether it changes behaviour), and every keyword of
 * keepalived 2.2.7's VRRP and global side (its `install_keyword` calls in core/global_parser.c,
 * vrrp/vrrp_parser.c and trackers/track_file.c, listed below) is in a table, so none is called
 * misspelt. The LVS and BFD sides have their own issues; their keywords are walked here too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEYWORD_MAPS, TABLES, VIP_OPTIONS_IGNORED, type BlockKind } from '../../../src/config/schema.js';
import { ACTED_DIFFERENTLY, CATEGORY_REASONS, NOT_ACTED, OPTION_REASONS, migrationFails, migrationFindings, notActed } from '../../../src/config/compat.js';
import { formatDiagnostic, parseConfigText } from '../../../src/config/index.js';
import { keywordsWritten } from '../../../src/config/summary.js';

/** keepalived 2.2.7: every `install_keyword*` / `install_sublevel*` name of its VRRP and global parsers. */
const KEEPALIVED_2_2_7 = `
accept advert_int auth_pass auth_type authentication bfd_cpu_affinity bfd_no_swap bfd_priority 
bfd_process_name bfd_rlimit_rtime bfd_rlimit_rttime bfd_rt_priority check_unicast_src checker_cpu_affinity 
checker_log_all_failures checker_no_swap checker_priority checker_process_name checker_rlimit_rtime 
checker_rlimit_rttime checker_rt_priority child_wait_time config_save_dir data_use_instance dbus_service_name 
debug default_interface delay disable_local_igmp dont_track_primary down_timer_adverts dynamic_interfaces 
enable_dbus enable_script_security enable_snmp_checker enable_snmp_keepalived enable_snmp_rfc 
enable_snmp_rfcv2 enable_snmp_rfcv3 enable_snmp_vrrp enable_traps fall fifo_write_vrrp_states_on_reload file 
fork_delay full_command garp_extra_if garp_group garp_interval garp_lower_prio_delay garp_lower_prio_repeat 
garp_master_delay garp_master_refresh garp_master_refresh_repeat garp_master_repeat global_defs 
global_tracking gna_interval group higher_prio_send_advert include_check init_fail init_file instance 
interface interface_up_down_delays interfaces interval kernel_rx_buf_size linkbeat_interfaces 
linkbeat_use_polling log_unknown_vrids lower_prio_no_advert lvs_flush lvs_flush_on_stop lvs_flush_onstop 
lvs_netlink_cmd_rcv_bufs lvs_netlink_cmd_rcv_bufs_force lvs_netlink_monitor_rcv_bufs 
lvs_netlink_monitor_rcv_bufs_force lvs_notify_fifo lvs_notify_fifo_script lvs_process_name lvs_sync_daemon 
lvs_sync_daemon_interface lvs_timeouts max_auto_priority mcast_dst_ip mcast_src_ip min_auto_priority_delay 
namespace_with_ipsets native_ipv6 net_namespace net_namespace_ipvs nftables nftables_counters 
nftables_ifindex nftables_ipvs nftables_ipvs_priority nftables_ipvs_start_fwmark nftables_priority no_accept 
no_checker_emails no_email_faults nopreempt notification_email notification_email_from notify notify_backup 
notify_deleted notify_fault notify_fifo notify_fifo_script notify_master notify_master_rx_lower_pri 
notify_priority_changes notify_stop old_unicast_checksum param_match preempt preempt_delay priority process 
process_monitor_rcv_bufs process_monitor_rcv_bufs_force process_name process_names promote_secondaries quorum 
quorum_max random_seed reload_check_config reload_file reload_repeat reload_time_file rise router_id 
rs_init_notifies script script_user shutdown_script shutdown_script_timeout skip_check_adv_addr smtp_alert 
smtp_alert_checker smtp_alert_vrrp smtp_connect_timeout smtp_helo_name smtp_server snmp_socket startup_script 
startup_script_timeout state static_ipaddress static_routes static_rules strict_mode 
sync_group_tracking_weight terminate_delay timeout tmp_config_directory track_bfd track_file track_group 
track_interface track_process track_script track_src_ip umask unicast_fault_no_peer unicast_peer 
unicast_src_ip unicast_ttl use_ipvlan use_pid_dir use_vmac use_vmac_addr user version virtual_ipaddress 
virtual_ipaddress_excluded virtual_router_id virtual_routes virtual_rules vmac_addr_prefix vmac_garp_intvl 
vmac_prefix vmac_xmit_base vrf vrrp_check_unicast_src vrrp_cpu_affinity vrrp_down_timer_adverts 
vrrp_garp_extra_if vrrp_garp_interval vrrp_garp_lower_prio_delay vrrp_garp_lower_prio_repeat 
vrrp_garp_master_delay vrrp_garp_master_refresh vrrp_garp_master_refresh_repeat vrrp_garp_master_repeat 
vrrp_gna_interval vrrp_higher_prio_send_advert vrrp_instance vrrp_ipsets vrrp_iptables 
vrrp_lower_prio_no_advert vrrp_mcast_group4 vrrp_mcast_group6 vrrp_min_garp vrrp_netlink_cmd_rcv_bufs 
vrrp_netlink_cmd_rcv_bufs_force vrrp_netlink_monitor_rcv_bufs vrrp_netlink_monitor_rcv_bufs_force 
vrrp_no_swap vrrp_notify_fifo vrrp_notify_fifo_script vrrp_notify_priority_changes vrrp_priority 
vrrp_process_name vrrp_rlimit_rtime vrrp_rlimit_rttime vrrp_rt_priority vrrp_rx_bufs_multiplier 
vrrp_rx_bufs_policy vrrp_script vrrp_skip_check_adv_addr vrrp_startup_delay vrrp_strict vrrp_sync_group 
vrrp_track_file vrrp_track_process vrrp_version vrrp_vmac_garp_intvl weight `.trim().split(/\s+/);

/** keepalived keywords that are no table's own: sub-keywords of a block keepwatch skips whole (garp_group, read as not acted on). */
const INSIDE_SKIPPED_BLOCKS = new Set(['gna_interval', 'interfaces']);

test('every keyword of every schema table is acted on or carries its reason (none accepted silently)', () => {
  const silent: string[] = [];
  let acted = 0;
  let reasoned = 0;
  for (const [kind, table] of KEYWORD_MAPS) {
    for (const [name, k] of table) {
      if (k.acted) acted++;
      else if (k.notActed && k.notActed.reason.length > 20) reasoned++;
      else silent.push(`${kind}: ${name}`);
    }
  }
  assert.deepEqual(silent, [], 'keywords neither acted on nor with a reason in compat.ts');
  assert.ok(acted > 150 && reasoned > 80, `${acted} acted on, ${reasoned} with a reason`);
});

test("every keyword of keepalived 2.2.7's VRRP and global side is in a table", () => {
  const known = new Set<string>();
  for (const table of KEYWORD_MAPS.values()) for (const name of table.keys()) known.add(name);
  // Top-level blocks are keywords of the top-level table too.
  const missing = KEEPALIVED_2_2_7.filter((k) => !known.has(k) && !INSIDE_SKIPPED_BLOCKS.has(k));
  assert.deepEqual(missing, []);
  assert.equal(KEEPALIVED_2_2_7.length, 234);
});

test('no reason in compat.ts is stale: each names a keyword some table has and does not act on', () => {
  const notActedNames = new Set<string>();
  const actedNames = new Set<string>();
  for (const [kind, table] of Object.entries(TABLES) as [BlockKind, (typeof TABLES)[BlockKind]][]) {
    for (const [name, spec] of Object.entries(table)) {
      (spec.acted ? actedNames : notActedNames).add(name);
      if (!spec.acted) notActedNames.add(`${kind}:${name}`);
    }
  }
  const stale = Object.keys(NOT_ACTED).filter((k) => !notActedNames.has(k));
  assert.deepEqual(stale, [], 'reasons for keywords that are acted on now (or unknown): remove them');
  // ACTED_DIFFERENTLY is about keywords that are acted on.
  assert.deepEqual(Object.keys(ACTED_DIFFERENTLY).filter((k) => !actedNames.has(k)), []);
  for (const c of Object.keys(CATEGORY_REASONS)) assert.ok(Object.values(NOT_ACTED).some((e) => e.category === c) || c === 'always', `category ${c} used`);
});

test('the warning of a keyword not acted on is its reason; an option (VIP, unicast peer) too', () => {
  const r = parseConfigText(
    'global_defs {\n  enable_dbus\n  vrrp_no_swap\n}\nvrrp_instance V {\n  interface eth0\n  virtual_router_id 7\n  vrf blue\n  unicast_peer {\n    10.0.0.2 max_ttl 9\n  }\n  virtual_ipaddress {\n    10.0.0.1/24 noprefixroute -nodad\n  }\n}\n',
    'w.conf',
  );
  assert.ok(r.config);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    `w.conf:2:3: warning: 'enable_dbus' is accepted but not acted on by keepwatch: ${CATEGORY_REASONS.dbus}`,
    `w.conf:3:3: warning: 'vrrp_no_swap' is accepted but not acted on by keepwatch: ${CATEGORY_REASONS.scheduling}`,
    `w.conf:8:3: warning: 'vrf' is accepted but not acted on by keepwatch: ${NOT_ACTED.vrf!.reason}`,
    `w.conf:10:14: warning: 'max_ttl' is accepted but not acted on by keepwatch: ${OPTION_REASONS.max_ttl!.reason}`,
    `w.conf:13:17: warning: 'noprefixroute' is accepted but not acted on by keepwatch: ${OPTION_REASONS.noprefixroute!.reason}`,
  ]);
  // -nodad: keepwatch always adds IPv6 VIPs without DAD, so no warning at all.
  assert.ok(OPTION_REASONS['-nodad']!.silent);
  assert.equal(notActed('vrrp_instance', 'vrf')?.changesBehaviour, true);
  assert.equal(notActed('global_defs', 'vrrp_no_swap')?.changesBehaviour, false);
});

test('the operations keywords marked acted on reach the model (what the agent acts on)', () => {
  const r = parseConfigText(
    `net_namespace blue
instance edge1
global_defs {
  dynamic_interfaces allow_if_changes
  vrrp_startup_delay 2.5
  vrrp_delay_after_boot 30
  umask IRWXG | IWOTH
  vrrp_priority -5
  no_email_faults
  data_use_instance
  state_dump_file /var/run/ka/
  stats_dump_file /var/tmp/s.txt
  json_dump_file k.json
}
vrrp_instance V {
  interface eth0
  virtual_router_id 7
  virtual_ipaddress {
    10.0.0.1/24
  }
}
`.replace('IRWXG', 'IRGRP|IWGRP|IXGRP'),
    'o.conf',
  );
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  const o = r.config.global.operations;
  assert.deepEqual(
    { ...o, netNamespace: o.netNamespace?.name },
    {
      netNamespace: 'blue',
      instanceName: 'edge1',
      usePidDir: true,
      dynamicInterfaces: true,
      startupDelayMs: 2500,
      delayAfterBootMs: 30000,
      umask: 0o072,
      nice: -5,
      noEmailFaults: true,
      dataUseInstance: true,
      stateDumpFile: '/var/run/ka/',
      statsDumpFile: '/var/tmp/s.txt',
      jsonDumpFile: 'k.json',
    },
  );
  const plain = parseConfigText('vrrp_instance V {\n  interface eth0\n  virtual_router_id 7\n}\n', 'p.conf');
  assert.deepEqual(plain.config?.global.operations, { usePidDir: false, dynamicInterfaces: false, startupDelayMs: 0, delayAfterBootMs: 0, noEmailFaults: false, dataUseInstance: false });
});

test('umask, vrrp_priority and dynamic_interfaces values are checked with their place', () => {
  const bad = (line: string) => parseConfigText(`global_defs {\n  ${line}\n}\n`, 'b.conf').diagnostics.map(formatDiagnostic);
  assert.deepEqual(bad('umask 0022'), []);
  assert.deepEqual(bad('umask 0x12'), []);
  assert.match(bad('umask 0999')[0]!, /^b\.conf:2:9: error: invalid umask value '0999'/);
  assert.match(bad('umask IRUSR|IWXYZ')[0]!, /^b\.conf:2:9: error: umask: 'IWXYZ' is not a permission bit/);
  assert.match(bad('vrrp_priority -21')[0]!, /^b\.conf:2:17: error: invalid vrrp_priority '-21': expected a nice value from -20 to 19/);
  assert.match(bad('dynamic_interfaces sometimes')[0]!, /^b\.conf:2:22: error: unknown dynamic_interfaces option 'sometimes'/);
  assert.match(bad('json_version 2')[0]!, /^b\.conf:2:16: warning: json_version 2 is read but keepwatch writes keepalived 2\.2\.7's JSON layout/);
});

test('the migration check: refusals and behaviour changes fail it, tuning knobs keepwatch has no use for do not', () => {
  const text = `global_defs {
  vrrp_no_swap
  enable_snmp_vrrp
  vrrp_startup_delay 5
}
vrrp_instance V {
  interface eth0
  virtual_router_id 7
  virtual_ipaddress {
    10.0.0.1/24
  }
}
`;
  const r = parseConfigText(text, 'm.conf');
  const f = migrationFindings(r.diagnostics, keywordsWritten(text, 'm.conf', new Set(Object.keys(ACTED_DIFFERENTLY))));
  assert.deepEqual(
    f.map((x) => `${x.location.line}:${x.keyword}:${x.verdict}`),
    ['2:vrrp_no_swap:same-behaviour', '3:enable_snmp_vrrp:changes-behaviour', '4:vrrp_startup_delay:acted-differently'],
  );
  assert.equal(migrationFails(f), true);
  const calm = parseConfigText(text.replace('  enable_snmp_vrrp\n', ''), 'm.conf');
  assert.equal(migrationFails(migrationFindings(calm.diagnostics, [])), false);
  const refused = parseConfigText(text.replace('vrrp_no_swap', 'vrrp_no_swapp'), 'm.conf');
  const rf = migrationFindings(refused.diagnostics, []);
  assert.equal(rf[0]!.verdict, 'refused');
  assert.equal(migrationFails(rf), true);
});

test('no_virtual_ipaddress (keepalived 2.3): an instance without VIPs on purpose gets no complaint, except in strict mode', () => {
  const at = (extra: string) => parseConfigText(`vrrp_instance V {\n  interface eth0\n  virtual_router_id 7\n  version 3\n${extra}}\n`, 'n.conf');
  assert.match(at('').diagnostics.map(formatDiagnostic).join('\n'), /error: vrrp_instance V has no virtual_ipaddress/);
  const ok = at('  no_virtual_ipaddress\n');
  assert.ok(ok.config);
  assert.deepEqual(ok.diagnostics, []);
  const strict = at('  no_virtual_ipaddress\n  strict_mode\n');
  assert.equal(strict.config, undefined);
  assert.match(strict.diagnostics.map(formatDiagnostic).join('\n'), /n\.conf:5:3: warning: vrrp_instance V: no_virtual_ipaddress and strict mode do not go together/);
});

test('every virtual_ipaddress option and unicast_peer option keepwatch does not act on carries its reason', () => {
  const missing = [...Object.keys(VIP_OPTIONS_IGNORED), 'min_ttl', 'max_ttl'].filter((o) => !OPTION_REASONS[o] || OPTION_REASONS[o]!.reason.length < 20);
  assert.deepEqual(missing, []);
  assert.deepEqual(Object.keys(OPTION_REASONS).filter((o) => !Object.hasOwn(VIP_OPTIONS_IGNORED, o) && o !== 'min_ttl' && o !== 'max_ttl'), [], 'no stale option reason');
});
