/**
 * The observability contract: every metric, label and span name keepwatch exports, in one place.
 * Dashboards (dashboards/), alert rules (alerts/) and tests check themselves against this module;
 * changing a name here is a breaking change for users' dashboards and alerts.
 *
 * Labels identifying an instance are `vrrp_instance`, `vrid`, `interface` — never `instance` or
 * `job`, which Prometheus owns. Base units (seconds); counters end in `_total`.
 */

export const INSTANCE_LABELS = ['vrrp_instance', 'vrid', 'interface'] as const;

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  /** Histogram buckets, seconds. */
  readonly buckets?: readonly number[];
}

const I = INSTANCE_LABELS;

/** Buckets for advert inter-arrival: dense around the usual intervals (0.05, 0.1, 1 s). */
export const ADVERT_INTERVAL_BUCKETS = [
  0.005, 0.01, 0.02, 0.03, 0.04, 0.045, 0.049, 0.051, 0.055, 0.06, 0.075, 0.09, 0.095, 0.099, 0.101, 0.105, 0.11, 0.125, 0.15, 0.2, 0.25, 0.3, 0.5,
  0.75, 0.9, 0.95, 0.99, 0.999, 1.001, 1.01, 1.05, 1.1, 1.25, 1.5, 2, 2.5, 3, 5, 10,
];
/** Buckets for elections and failovers: from a Skew_Time at 0.05 s to a Master_Down_Interval at 10 s. */
export const ELECTION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 3.5, 4, 5, 7.5, 10, 15, 30, 60];

export const METRICS = {
  buildInfo: { name: 'keepwatch_build_info', type: 'gauge', help: 'Always 1; labels carry the keepwatch and Node.js versions.', labels: ['version', 'nodejs_version'] },
  state: { name: 'keepwatch_vrrp_state', type: 'gauge', help: 'VRRP state of the instance: one series per state, 1 for the current one.', labels: [...I, 'state'] },
  priority: { name: 'keepwatch_vrrp_priority', type: 'gauge', help: 'Effective priority (base priority plus tracker weights, clamped to 1-254; 255 for an owner).', labels: I },
  basePriority: { name: 'keepwatch_vrrp_base_priority', type: 'gauge', help: 'Configured priority.', labels: I },
  masterPriority: { name: 'keepwatch_vrrp_master_priority', type: 'gauge', help: 'Priority of the current master as this node sees it (its own when master; 0 when unknown).', labels: I },
  advertsSent: { name: 'keepwatch_vrrp_adverts_sent_total', type: 'counter', help: 'Adverts sent (each unicast copy counts once per advert).', labels: I },
  advertsReceived: { name: 'keepwatch_vrrp_adverts_received_total', type: 'counter', help: 'Adverts received that passed every check.', labels: I },
  advertsDropped: {
    name: 'keepwatch_vrrp_adverts_dropped_total',
    type: 'counter',
    help: 'Adverts discarded, by reason (vrrp_instance is empty for VRIDs this node does not serve; vrid is empty when unreadable).',
    labels: [...I, 'reason'],
  },
  addressListMismatch: {
    name: 'keepwatch_vrrp_address_list_mismatch_total',
    type: 'counter',
    help: 'Adverts whose VIP list differs from ours: accepted (as keepalived >= 2.3.3), counted and logged.',
    labels: I,
  },
  priorityZeroSent: { name: 'keepwatch_vrrp_priority_zero_sent_total', type: 'counter', help: 'Priority-0 adverts sent (this master resigned).', labels: I },
  priorityZeroReceived: { name: 'keepwatch_vrrp_priority_zero_received_total', type: 'counter', help: 'Priority-0 adverts received (a master resigned).', labels: I },
  transitions: { name: 'keepwatch_vrrp_transitions_total', type: 'counter', help: 'State transitions, by from, to and cause.', labels: [...I, 'from', 'to', 'cause'] },
  lastTransition: { name: 'keepwatch_vrrp_last_transition_timestamp_seconds', type: 'gauge', help: 'Wall-clock time of the last transition.', labels: I },
  masterDownInterval: { name: 'keepwatch_vrrp_master_down_interval_seconds', type: 'gauge', help: 'Current Master_Down_Interval (RFC 5798 §6.1), from the master advertised interval for VRRPv3.', labels: I },
  advertIntervalConfig: { name: 'keepwatch_vrrp_advert_interval_config_seconds', type: 'gauge', help: 'Configured advert_int.', labels: I },
  advertInterval: {
    name: 'keepwatch_vrrp_advert_interval_seconds',
    type: 'histogram',
    help: 'Observed inter-arrival of the master adverts (pcap timestamps), on backups; on a master, the spacing of its own adverts when the flight recorder captures them.',
    labels: I,
    buckets: ADVERT_INTERVAL_BUCKETS,
  },
  electionDuration: {
    name: 'keepwatch_vrrp_election_duration_seconds',
    type: 'histogram',
    help: 'From the event that starts an election (last advert heard, priority-0 advert, outranking advert, fault) until the instance settles (VIPs applied, first GARP sent).',
    labels: [...I, 'to'],
    buckets: ELECTION_BUCKETS,
  },
  failoverDuration: {
    name: 'keepwatch_vrrp_failover_duration_seconds',
    type: 'histogram',
    help: 'Takeovers: from the last advert heard from the old master to our first gratuitous ARP.',
    labels: I,
    buckets: ELECTION_BUCKETS,
  },
  vipPresent: { name: 'keepwatch_vrrp_vip_present', type: 'gauge', help: 'Whether the VIP is on the interface right now (netlink: the truth on the host).', labels: [...I, 'vip'] },
  vipRepairs: { name: 'keepwatch_vip_repairs_total', type: 'counter', help: 'VIPs removed by someone else while master, and put back.', labels: I },
  vipErrors: { name: 'keepwatch_vip_errors_total', type: 'counter', help: 'VIP additions or removals the kernel refused.', labels: [...I, 'action'] },
  routeErrors: {
    name: 'keepwatch_route_errors_total',
    type: 'counter',
    help: 'Route, rule and static address additions or removals the kernel refused (virtual_routes, virtual_rules by vrrp_instance; static_routes, static_rules, static_ipaddress with vrrp_instance empty), by kind (route, rule, address) and action (add, remove).',
    labels: ['vrrp_instance', 'kind', 'action'],
  },
  routeRepairs: { name: 'keepwatch_route_repairs_total', type: 'counter', help: 'Tracked routes and rules someone else deleted while we held them, put back (vrrp_instance empty for static ones), by kind.', labels: ['vrrp_instance', 'kind'] },
  garpSent: { name: 'keepwatch_garp_sent_total', type: 'counter', help: 'Gratuitous ARP frames sent (and, for IPv6 VIPs, unsolicited neighbour advertisements).', labels: I },
  sendErrors: { name: 'keepwatch_send_errors_total', type: 'counter', help: 'Adverts or frames that could not be sent.', labels: I },
  capturePackets: { name: 'keepwatch_capture_packets_total', type: 'counter', help: 'Packets libpcap delivered to keepwatch, per interface (pcap_stats ps_recv).', labels: ['interface'] },
  captureDropped: { name: 'keepwatch_capture_dropped_total', type: 'counter', help: 'Packets the kernel dropped before keepwatch read them, per interface (pcap_stats ps_drop + ps_ifdrop).', labels: ['interface'] },
  configReloads: { name: 'keepwatch_config_reloads_total', type: 'counter', help: 'SIGHUP reloads, by result (success, failure).', labels: ['result'] },
  splitBrain: { name: 'keepwatch_split_brain', type: 'gauge', help: 'Split-brain guard: 1 while a conflict over this VRID on authenticated evidence lasts (on every node that sees it), else 0.', labels: ['vrrp_instance', 'vrid'] },
  splitBrainSuspected: { name: 'keepwatch_split_brain_suspected', type: 'gauge', help: 'Split-brain guard: 1 while only unauthenticated evidence (discarded adverts, ARP from an unknown MAC) suggests a conflict over this VRID; never acted on.', labels: ['vrrp_instance', 'vrid'] },
  splitBrainDetections: { name: 'keepwatch_split_brain_detections_total', type: 'counter', help: 'Split-brain guard: another holder or master confirmed, by detection source (pcap, arp, peer).', labels: ['source'] },
  guardDemotions: { name: 'keepwatch_guard_demotions_total', type: 'counter', help: 'Split-brain guard: times this node yielded (removed its VIPs and stayed out).', labels: ['vrrp_instance', 'vrid'] },
  guardHeld: { name: 'keepwatch_guard_held', type: 'gauge', help: 'Split-brain guard: 1 while this node is held out of MASTER for the instance.', labels: ['vrrp_instance', 'vrid'] },
  guardPeerUp: { name: 'keepwatch_guard_peer_up', type: 'gauge', help: 'Split-brain guard: 1 when the last signed cross-check with the peer agent succeeded.', labels: ['peer'] },
  guardWitnessUp: { name: 'keepwatch_guard_witness_up', type: 'gauge', help: 'Split-brain guard: 1 when the witness answered ARP recently (only with a witness configured).', labels: [] },
  guardRejected: { name: 'keepwatch_guard_rejected_total', type: 'counter', help: 'Split-brain guard: cross-check messages refused (unsigned, bad-signature, stale, replayed, malformed, no-secret, wrong-receiver).', labels: ['reason'] },
  guardAlertPushes: { name: 'keepwatch_guard_alert_pushes_total', type: 'counter', help: 'Split-brain alerts pushed to Alertmanager, by result.', labels: ['result'] },
  scriptStatus: { name: 'keepwatch_script_status', type: 'gauge', help: 'vrrp_script state: 1 ok (or not yet known), 0 failing or disabled (missing, not executable, unsafe).', labels: ['script'] },
  scriptRuns: { name: 'keepwatch_script_runs_total', type: 'counter', help: 'vrrp_script runs by result (ok, fail, timeout, error).', labels: ['script', 'result'] },
  scriptDuration: { name: 'keepwatch_script_duration_seconds', type: 'histogram', help: 'vrrp_script run time.', labels: ['script'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] },
  trackWeight: { name: 'keepwatch_track_weight', type: 'gauge', help: 'What each tracked object adds to the instance priority now (0 for weight-0 trackers; they FAULT instead).', labels: ['vrrp_instance', 'tracker'] },
  trackFileReadFailures: {
    name: 'keepwatch_track_file_read_failures_total',
    type: 'counter',
    help: 'track_file reads that found no usable integer, by reason (missing, not-regular: a FIFO or device, never opened; too-large; not-a-number; unreadable); the file then counts as 0. One per read (every second).',
    labels: ['tracker', 'reason'],
  },
  trackProcessCount: { name: 'keepwatch_track_process_processes', type: 'gauge', help: 'vrrp_track_process: processes that match now (read from /proc every 500 ms).', labels: ['track_process'] },
  trackProcessQuorum: { name: 'keepwatch_track_process_quorum', type: 'gauge', help: 'vrrp_track_process: 1 while the quorum holds (quorum <= processes <= quorum_max, after fork_delay / terminate_delay), else 0.', labels: ['track_process'] },
  processScansTruncated: { name: 'keepwatch_process_scans_truncated_total', type: 'counter', help: 'Scans of /proc for track_process that met the cap on processes read (the rest were not looked at).', labels: [] },
  notifyFifoLines: {
    name: 'keepwatch_notify_fifo_lines_total',
    type: 'counter',
    help: 'Lines for the notify FIFOs (notify_fifo, vrrp_notify_fifo), by result: written; dropped (the reader is slow or absent: the pipe and the bounded queue were full).',
    labels: ['fifo', 'result'],
  },
  notifyRuns: {
    name: 'keepwatch_notify_runs_total',
    type: 'counter',
    help: 'notify scripts, by result: ok, fail, timeout, error; coalesced (not run: a newer transition replaced it while an earlier notify of the instance was running); disabled (not run: unsafe under enable_script_security).',
    labels: ['result'],
  },
  mailSends: { name: 'keepwatch_mail_sends_total', type: 'counter', help: 'Mail alerts (smtp_alert), by result: sent, failed, coalesced (not sent: a newer transition replaced it while another was being sent).', labels: ['result'] },
  httpRequests: { name: 'keepwatch_http_requests_total', type: 'counter', help: 'HTTP requests served, by handler and status code (bad requests included; handler "connection": refused before a request was read: 431 headers too large, 408 too slow, 400 unparseable, 503 over the connection limit).', labels: ['handler', 'code'] },
  flightRecordings: { name: 'keepwatch_flight_recordings_total', type: 'counter', help: 'pcap files written by the flight recorder at elections.', labels: ['result'] },
  // BFD (src/bfd/, issue 18): one series set per bfd_instance.
  bfdSessionState: { name: 'keepwatch_bfd_session_state', type: 'gauge', help: 'BFD session state (RFC 5880): one series per state (admin-down, down, init, up), 1 for the current one.', labels: ['bfd_instance', 'neighbor', 'state'] },
  bfdTransitions: { name: 'keepwatch_bfd_transitions_total', type: 'counter', help: 'BFD session state changes, by from, to and cause (expired, neighbor-down, neighbor-admin-down, handshake, stopped).', labels: ['bfd_instance', 'from', 'to', 'cause'] },
  bfdDetectionTime: { name: 'keepwatch_bfd_detection_time_seconds', type: 'gauge', help: 'BFD Detection Time in force (RFC 5880 §6.8.4: the neighbour\'s Detect Mult x the agreed interval of its packets); 0 before the first packet.', labels: ['bfd_instance'] },
  bfdDetection: {
    name: 'keepwatch_bfd_detection_seconds',
    type: 'histogram',
    help: 'BFD failures detected by expiry: how long the neighbour had been silent when the session was declared Down.',
    labels: ['bfd_instance'],
    buckets: [0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10],
  },
  bfdPacketsSent: { name: 'keepwatch_bfd_packets_sent_total', type: 'counter', help: 'BFD control packets sent.', labels: ['bfd_instance'] },
  bfdPacketsReceived: { name: 'keepwatch_bfd_packets_received_total', type: 'counter', help: 'BFD control packets received that passed every check.', labels: ['bfd_instance'] },
  bfdPacketsDropped: {
    name: 'keepwatch_bfd_packets_dropped_total',
    type: 'counter',
    help: 'BFD control packets discarded, by reason (RFC 5880 §6.8.6 checks, auth-unsupported, no-session, wrong-source, ttl, wrong-port, admin-down); bfd_instance is empty when no session could be told.',
    labels: ['bfd_instance', 'reason'],
  },
  bfdSendErrors: { name: 'keepwatch_bfd_send_errors_total', type: 'counter', help: 'BFD control packets the kernel refused to send.', labels: ['bfd_instance'] },
  // LVS (src/lvs/, issue 16): per virtual service, real server and checker; the data plane.
  lvsRealServerUp: { name: 'keepwatch_lvs_real_server_up', type: 'gauge', help: 'LVS: 1 while the real server is in service (all its checkers pass), else 0.', labels: ['virtual_server', 'real_server'] },
  lvsRealServerWeight: { name: 'keepwatch_lvs_real_server_weight', type: 'gauge', help: 'LVS: the real server\'s weight in the data-plane table (0 when inhibited, or the weight it would have when out of the table).', labels: ['virtual_server', 'real_server'] },
  lvsRealServerTransitions: { name: 'keepwatch_lvs_real_server_transitions_total', type: 'counter', help: 'LVS: real servers going up or down (to), by reason (check-ok, check-failed, dynamic-weight, alpha-start).', labels: ['virtual_server', 'real_server', 'to', 'reason'] },
  lvsCheckerUp: { name: 'keepwatch_lvs_checker_up', type: 'gauge', help: 'LVS: 1 while the checker passes (after its retries), else 0.', labels: ['virtual_server', 'real_server', 'checker'] },
  lvsChecks: { name: 'keepwatch_lvs_checks_total', type: 'counter', help: 'LVS: checks run (retries included), by result (ok or the failure: refused, timeout, unreachable, error, bad-status, bad-digest, too-large, bad-reply, exit-code, file-value).', labels: ['virtual_server', 'real_server', 'checker', 'result'] },
  lvsCheckDuration: { name: 'keepwatch_lvs_check_duration_seconds', type: 'histogram', help: 'LVS: how long each check took.', labels: ['virtual_server', 'real_server', 'checker'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] },
  lvsCheckLastFailure: { name: 'keepwatch_lvs_check_last_failure', type: 'gauge', help: 'LVS: 1 for the reason of the checker\'s last failed check (one series per checker that has failed; kept while later checks pass).', labels: ['virtual_server', 'real_server', 'checker', 'reason'] },
  lvsQuorumUp: { name: 'keepwatch_lvs_quorum_up', type: 'gauge', help: 'LVS: 1 while the virtual server has its quorum (live weight >= quorum, with hysteresis), else 0.', labels: ['virtual_server'] },
  lvsLiveWeight: { name: 'keepwatch_lvs_live_weight', type: 'gauge', help: 'LVS: the sum of the weights of the real servers up.', labels: ['virtual_server'] },
  lvsQuorum: { name: 'keepwatch_lvs_quorum', type: 'gauge', help: 'LVS: the configured quorum (keepalived\'s default 1).', labels: ['virtual_server'] },
  lvsSorryServerActive: { name: 'keepwatch_lvs_sorry_server_active', type: 'gauge', help: 'LVS: 1 while the sorry server is in service (quorum lost), else 0.', labels: ['virtual_server'] },
  lvsDataPlaneInfo: { name: 'keepwatch_lvs_data_plane_info', type: 'gauge', help: 'LVS: always 1; data_plane names the adapter in use (nftables, ipvs, none).', labels: ['data_plane'] },
  lvsDataPlaneApplies: { name: 'keepwatch_lvs_data_plane_applies_total', type: 'counter', help: 'LVS: data-plane table changes applied to the kernel, by result (ok, failed).', labels: ['result'] },
  lvsDataPlaneErrors: { name: 'keepwatch_lvs_data_plane_errors_total', type: 'counter', help: 'LVS: what the kernel refused, by kind (apply, remove, reconcile).', labels: ['kind'] },
  lvsDataPlaneFailing: { name: 'keepwatch_lvs_data_plane_apply_failing', type: 'gauge', help: 'LVS: 1 while the last attempt to apply the table failed (the previous table stays in force; retried), else 0.', labels: [] },
} as const satisfies Record<string, MetricSpec>;

export type MetricKey = keyof typeof METRICS;

/** Names of the default Node.js/process collectors we rely on (prom-client's collectDefaultMetrics). */
export const DEFAULT_METRICS = ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes'] as const;

/** Every metric name a keepwatch agent exports (for dashboards/alerts checks). */
export function exportedMetricNames(): string[] {
  const out: string[] = [];
  for (const m of Object.values(METRICS) as MetricSpec[]) {
    if (m.type === 'histogram') out.push(`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`);
    else out.push(m.name);
  }
  return [...out, ...DEFAULT_METRICS];
}

export const SPANS = {
  election: 'vrrp.election',
  vipAdd: 'vrrp.vip.add',
  vipRemove: 'vrrp.vip.remove',
  garp: 'vrrp.garp',
  guardConflict: 'vrrp.guard.conflict',
  notify: 'vrrp.notify',
  bfdState: 'bfd.session.state',
  lvsRealServer: 'lvs.real_server.state',
} as const;

export const SPAN_ATTRIBUTES = {
  instance: 'vrrp.instance',
  vrid: 'vrrp.vrid',
  interface: 'vrrp.interface',
  stateFrom: 'vrrp.state.from',
  stateTo: 'vrrp.state.to',
  cause: 'vrrp.cause',
  priority: 'vrrp.priority',
  peerAddress: 'vrrp.peer.address',
  peerPriority: 'vrrp.peer.priority',
  vip: 'vrrp.vip',
  mac: 'vrrp.mac',
  count: 'vrrp.garp.count',
  captureFile: 'vrrp.capture.file',
  guardSource: 'vrrp.guard.source',
  guardDecision: 'vrrp.guard.decision',
  guardReason: 'vrrp.guard.reason',
  guardEvidence: 'vrrp.guard.evidence',
  guardPeerMac: 'vrrp.guard.peer.mac',
  bfdInstance: 'bfd.instance',
  bfdNeighbor: 'bfd.neighbor',
  bfdStateFrom: 'bfd.state.from',
  bfdStateTo: 'bfd.state.to',
  bfdCause: 'bfd.cause',
  bfdDiag: 'bfd.diag',
  bfdSource: 'bfd.source',
  lvsVirtualServer: 'lvs.virtual_server',
  lvsRealServer: 'lvs.real_server',
  lvsUp: 'lvs.up',
  lvsWeight: 'lvs.weight',
  lvsReason: 'lvs.reason',
  lvsChecker: 'lvs.checker',
  lvsResult: 'lvs.result',
} as const;

/**
 * Where alerts and dashboards link the runbooks (alerts/runbooks/<Alert>.md): one base URL for
 * the Prometheus rules (the external label RUNBOOK_BASE_LABEL when the user sets it, else this
 * default), the dashboards (their hidden `runbook_base_url` variable) and the alert the agents
 * push (`--runbook-base-url`). The default is where the Debian package installs the runbooks;
 * set your own (a wiki, the repository's web view) to make the links work in a browser.
 */
export const DEFAULT_RUNBOOK_BASE_URL = 'file:///usr/share/keepwatch/alerts/runbooks';
/** The Prometheus external label that overrides DEFAULT_RUNBOOK_BASE_URL in the rules' links. */
export const RUNBOOK_BASE_LABEL = 'keepwatch_runbook_base_url';
