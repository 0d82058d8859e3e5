/**
 * Pass 2 of reading keepalived.conf: the `Section`s of pass 1 (interpret.ts) → `KeepalivedConfig`,
 * with every finding as a diagnostic.
 *
 * It applies keepalived's defaults and its completion rules (keepalived/vrrp/vrrp.c
 * `vrrp_complete_instance`), block by block of a `vrrp_instance` (addresses and family, version,
 * identity, state and priority, authentication, preemption, advert interval, unicast, GARP,
 * tracking, notify), then the checks across blocks: names defined twice, VRID conflicts
 * (`check_vrid_conflicts`, found through a map, not by comparing every pair of instances), sync
 * group members and references to undefined `vrrp_script`s / `vrrp_track_file`s.
 * Where keepalived refuses a configuration the finding is an error; where it adjusts a value and
 * logs, a warning that says what keepalived does. An instance with an error is left out of the
 * model (the caller gets no config at all when there is any error).
 *
 * Units: pass 1 holds `secs` values in microseconds and whole-seconds values in seconds; the model
 * holds milliseconds (`...Ms`). The diagnostics are found in one fixed order, so that the first
 * `MAX_REPORTED_ERRORS` kept by the sink are the same on every run.
 */
import { checkLvsReferences } from './virtual-server.js';
import type {
  AddressFamily,
  AuthenticationConfig,
  BfdInstanceConfig,
  GlobalDefs,
  OperationsConfig,
  InitialState,
  KeepalivedConfig,
  RouteConfig,
  RuleConfig,
  SourceLocation,
  SyncGroupConfig,
  TrackFileConfig,
  TrackReference,
  VirtualAddressConfig,
  VirtualLinkConfig,
  VrrpInstanceConfig,
  VrrpScriptConfig,
  VrrpVersion,
} from './model.js';
import { didYouMean, formatLocation, type DiagnosticSink } from './diagnostics.js';
import type { ParsedAddress } from './schema.js';
import { ruleDevices } from './routes.js';
import { LinkNames, instanceLinks, linkPrefix } from './vmac.js';
import { assembleBfdInstances, trackBfdRefs } from './bfd.js';
import { assembleTrackProcess, notifyFifos, notifyScripts, vrrpScriptCommand } from './scripts.js';
import { FAMILY_NAME, defined, type Interpretation, type Mutable, type NameEntry, type PeerEntry, type Section } from './interpret.js';

/** Microseconds (pass 1's `secs` values) → milliseconds (the model's unit). */
const usToMs = (us: number | undefined): number | undefined => (us === undefined ? undefined : us / 1000);

/** Pass 2 over what pass 1 read; `files` are the files read, in order (the model's `files`). */
export function assemble(it: Interpretation, files: readonly string[], sink: DiagnosticSink): KeepalivedConfig {
  const global = assembleGlobal(it.global, it.statics, sink);

  const scripts = uniqueNames(it.named.vrrp_script, sink).flatMap((s) => assembleScript(s, sink) ?? []);
  const trackFiles = uniqueNames(it.named.vrrp_track_file, sink).flatMap((s) => assembleTrackFile(s, sink) ?? []);
  const trackProcesses = uniqueNames(it.named.vrrp_track_process, sink).flatMap((s) => assembleTrackProcess(s, sink) ?? []);
  const bfdInstances = assembleBfdInstances(it.named.bfd_instance, sink);
  const known: Known = {
    scripts: new Set(it.named.vrrp_script.map((s) => s.name)),
    trackFiles: new Set(it.named.vrrp_track_file.map((s) => s.name)),
    trackProcesses: new Set(it.named.vrrp_track_process.map((s) => s.name)),
    bfd: bfdInstances,
  };

  const instanceSections = uniqueNames(it.named.vrrp_instance, sink);
  const instances = assembleInstances(instanceSections, global, known, sink);
  const syncGroups = assembleSyncGroups(it.named.vrrp_sync_group, new Set(instanceSections.map((s) => s.name)), known, sink);
  syncGroupWeights(instances, syncGroups, scripts, trackFiles, trackProcesses, sink);

  // LVS: cross-block references (config/virtual-server.ts).
  checkLvsReferences(it.virtualServers, it.virtualServerGroups, known.trackFiles, sink, new Set(instances.flatMap((i) => [...i.virtualAddresses, ...i.virtualAddressesExcluded].map((v) => v.address))), new Set(bfdInstances.map((b) => b.name)));
  const virtualServerGroups = it.virtualServerGroups;
  return { files, global, instances, scripts, trackFiles, trackProcesses, syncGroups, virtualServers: it.virtualServers, ...(virtualServerGroups.length > 0 ? { virtualServerGroups } : {}), ...staticRouting(it.statics), ...(bfdInstances.length > 0 ? { bfdInstances } : {}) };
}

/**
 * Weighted trackers of sync-group members (keepalived 2.2.7 vrrp.c, keepalived #2105): without
 * `sync_group_tracking_weight` keepalived ignores them, so that the members' priorities stay
 * together: a tracked interface or file keeps tracking with weight 0 (down puts the instance in
 * FAULT, and with it the group), a weighted script is not tracked. A weighted track_process is
 * kept (keepalived 2.2.7 does not strip it), with a warning. keepwatch does the same (the same
 * file fails over the same way) and says so for each one, where keepalived logs it.
 */
function syncGroupWeights(
  instances: VrrpInstanceConfig[],
  groups: readonly SyncGroupConfig[],
  scripts: readonly VrrpScriptConfig[],
  files: readonly { name: string; weight: number }[],
  processes: readonly { name: string; weight: number }[],
  sink: DiagnosticSink,
): void {
  const weightOf = (list: readonly { name: string; weight: number }[], r: TrackReference) => r.weight ?? list.find((x) => x.name === r.name)?.weight ?? 0;
  const hint = 'sync_group_tracking_weight in the group keeps it (keepalived ignores it there too)';
  for (const g of groups) {
    if (g.trackingWeight) continue;
    for (const m of g.members) {
      const at = instances.findIndex((i) => i.name === m.name);
      const i = instances[at];
      if (!i) continue;
      const who = `vrrp_instance ${i.name} is in vrrp_sync_group ${g.name}`;
      const trackInterfaces = i.trackInterfaces.map((r) => {
        if (!r.weight) return r;
        sink.warning(r.location, `${who}: track_interface ${r.name} is tracked with weight 0 (down: FAULT), not weight ${r.weight}; ${hint}`);
        return { ...r, weight: 0 };
      });
      const trackScripts = i.trackScripts.filter((r) => {
        const w = weightOf(scripts, r);
        if (w === 0) return true;
        sink.warning(r.location, `${who}: track_script ${r.name} (weight ${w}) is not tracked; ${hint}`);
        return false;
      });
      const trackFiles = i.trackFiles.flatMap((r) => {
        const w = weightOf(files, r);
        if (w === 0) return [r];
        if (r.weight === undefined && w === 1) {
          sink.warning(r.location, `${who}: track_file ${r.name} is tracked with weight 0 (non-zero: FAULT), not its default weight 1; ${hint}`);
          return [{ ...r, weight: 0 }];
        }
        sink.warning(r.location, `${who}: track_file ${r.name} (weight ${w}) is not tracked; ${hint}`);
        return [];
      });
      // keepalived 2.2.7 leaves a member's weighted track_process alone (vrrp_complete_instance
      // strips interfaces, scripts, files and BFD only): so does keepwatch, and says what it means.
      for (const r of i.trackProcesses ?? []) {
        const w = weightOf(processes, r);
        if (w !== 0) sink.warning(r.location, `${who}: track_process ${r.name} (weight ${w}) changes this member's priority alone (keepalived 2.2.7 keeps a member's weighted track_process, unlike its other weighted trackers); put it in the group, or give it weight 0, to move the group together`);
      }
      instances[at] = { ...i, trackInterfaces, trackScripts, trackFiles };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// global_defs

/** What the file says about the process (global_defs and the top-level `instance`, `use_pid_dir`, `net_namespace`). */
function operationsOf(s: Section, top: Section, sink: DiagnosticSink): OperationsConfig {
  const ns = top.get<string>('net_namespace');
  const instanceName = top.val<string>('instance');
  const jsonVersion = s.get<number>('json_version');
  if (jsonVersion?.value === 2) sink.warning(jsonVersion.loc, "json_version 2 is read but keepwatch writes keepalived 2.2.7's JSON layout (version 1) to the JSON dump");
  return defined<OperationsConfig>({
    netNamespace: ns ? { name: ns.value, location: ns.loc } : undefined,
    instanceName,
    usePidDir: (top.val<boolean>('use_pid_dir') ?? false) || instanceName !== undefined || ns !== undefined,
    dynamicInterfaces: dynamicInterfacesOf(s, sink),
    startupDelayMs: (s.val<number>('vrrp_startup_delay') ?? 0) / 1000,
    delayAfterBootMs: (s.val<number>('vrrp_delay_after_boot') ?? 0) / 1000,
    umask: umaskOf(s, sink),
    nice: niceOf(s, sink),
    noEmailFaults: s.val<boolean>('no_email_faults') ?? false,
    dataUseInstance: s.val<boolean>('data_use_instance') ?? false,
    stateDumpFile: s.val<string>('state_dump_file'),
    statsDumpFile: s.val<string>('stats_dump_file'),
    jsonDumpFile: s.val<string>('json_dump_file'),
  });
}

/** `dynamic_interfaces [allow_if_changes]` (keepalived global_parser.c; the option changes nothing more in keepwatch). */
function dynamicInterfacesOf(s: Section, sink: DiagnosticSink): boolean {
  const d = s.get<string[]>('dynamic_interfaces');
  if (!d) return false;
  const opt = d.value[0];
  if (opt !== undefined && opt !== 'allow_if_changes') {
    sink.error(d.stmt.args[0]!.location, `unknown dynamic_interfaces option '${opt}': expected allow_if_changes or nothing`);
  }
  return true;
}

/** The permission bits keepalived's `umask` names (`IRUSR|IWGRP|...`, with or without spaces around `|`). */
const UMASK_BITS: Readonly<Record<string, number>> = {
  IRUSR: 0o400, IWUSR: 0o200, IXUSR: 0o100, IRGRP: 0o040, IWGRP: 0o020, IXGRP: 0o010, IROTH: 0o004, IWOTH: 0o002, IXOTH: 0o001,
};

/** `umask NUMBER` (strtol base 0: 0octal, 0xhex, decimal) or `umask IRUSR|IWGRP ...` (keepalived's umask_handler). */
function umaskOf(s: Section, sink: DiagnosticSink): number | undefined {
  const u = s.get<string[]>('umask');
  if (!u) return undefined;
  const words = u.value;
  const at = u.stmt.args[0]!.location;
  if (/^\d/.test(words[0]!)) {
    if (words.length !== 1) {
      sink.error(u.stmt.args[1]!.location, 'umask: a number takes no more words');
      return undefined;
    }
    const w = words[0]!;
    const n = /^0x[0-9a-f]+$/i.test(w) ? parseInt(w.slice(2), 16) : /^0[0-7]*$/.test(w) ? parseInt(w, 8) : /^[1-9]\d*$/.test(w) ? parseInt(w, 10) : NaN;
    if (!Number.isFinite(n) || n > 0o777) {
      sink.error(at, `invalid umask value '${w}': expected a mask from 0 to 0777 (octal with a leading 0, as 022) or IRUSR|IWGRP|...`);
      return undefined;
    }
    return n;
  }
  const names = words.join('').split('|');
  let bits = 0;
  for (const name of names) {
    const b = UMASK_BITS[name];
    if (b === undefined) {
      sink.error(at, `umask: '${name || '|'}' is not a permission bit (expected ${Object.keys(UMASK_BITS).join(', ')}, joined with '|')`);
      return undefined;
    }
    bits |= b;
  }
  return bits;
}

/** `vrrp_priority N`: the nice value, -20 (most favoured) to 19 (keepalived's get_priority). */
function niceOf(s: Section, sink: DiagnosticSink): number | undefined {
  const p = s.get<string[]>('vrrp_priority');
  if (!p) return undefined;
  const w = p.value[0]!;
  const n = /^-?\d{1,3}$/.test(w) ? Number(w) : NaN;
  if (!(n >= -20 && n <= 19)) {
    sink.error(p.stmt.args[0]!.location, `invalid vrrp_priority '${w}': expected a nice value from -20 to 19`);
    return undefined;
  }
  return n;
}

function assembleGlobal(s: Section, top: Section, sink: DiagnosticSink): GlobalDefs {
  const timeout = s.get<number>('smtp_connect_timeout');
  if (timeout?.value === 0) sink.warning(timeout.loc, 'smtp_connect_timeout 0 is raised to 1 second (as keepalived does)');
  const scriptUser = s.get<string[]>('script_user');
  const lowerDelaySec = s.val<number>('vrrp_garp_lower_prio_delay');
  return defined<GlobalDefs>({
    routerId: s.val<string>('router_id'),
    notificationEmail: s.list<NameEntry>('notification_email').map((e) => e.name),
    notificationEmailFrom: s.val<string>('notification_email_from'),
    smtpServer: s.val<{ host: string; port: number; location: SourceLocation }>('smtp_server'),
    smtpHeloName: s.val<string>('smtp_helo_name'),
    smtpConnectTimeoutMs: Math.max(1, timeout?.value ?? 30) * 1000,
    smtpAlert: s.val<boolean>('smtp_alert_vrrp') ?? s.val<boolean>('smtp_alert') ?? false,
    vrrpMcastGroup4: s.val<ParsedAddress>('vrrp_mcast_group4')?.address ?? '224.0.0.18',
    vrrpMcastGroup6: s.val<ParsedAddress>('vrrp_mcast_group6')?.address ?? 'ff02::12',
    vrrpVersion: (s.val<number>('vrrp_version') ?? 2) as VrrpVersion,
    vrrpStrict: s.val<boolean>('vrrp_strict') ?? false,
    vrrpSkipCheckAdvAddr: s.val<boolean>('vrrp_skip_check_adv_addr') ?? false,
    vrrpCheckUnicastSrc: s.val<boolean>('vrrp_check_unicast_src') ?? false,
    v3ChecksumAsV2: s.val<boolean>('v3_checksum_as_v2') ?? false,
    vrrpGarpIntervalMs: usToMs(s.val<number>('vrrp_garp_interval')) ?? 0,
    vrrpGnaIntervalMs: usToMs(s.val<number>('vrrp_gna_interval')) ?? 0,
    vrrpGarpMasterDelayMs: minGarp(s, 'vrrp_garp_master_delay', s.val<number>('vrrp_garp_master_delay'), 5, 0) * 1000,
    vrrpGarpMasterRepeat: minGarp(s, 'vrrp_garp_master_repeat', repeatCount(s, 'vrrp_garp_master_repeat', sink), 5, 1),
    vrrpGarpMasterRefreshMs: minGarp(s, 'vrrp_garp_master_refresh', s.val<number>('vrrp_garp_master_refresh'), 0, 0) * 1000,
    vrrpGarpMasterRefreshRepeat: minGarp(s, 'vrrp_garp_master_refresh_repeat', repeatCount(s, 'vrrp_garp_master_refresh_repeat', sink), 1, 0),
    vrrpGarpLowerPrioDelayMs: lowerDelaySec === undefined ? undefined : lowerDelaySec * 1000,
    vrrpGarpLowerPrioRepeat: s.val<number>('vrrp_garp_lower_prio_repeat'),
    scriptUser: scriptUser && defined({ user: scriptUser.value[0]!, group: scriptUser.value[1], location: scriptUser.stmt.keyword.location }),
    enableScriptSecurity: s.val<boolean>('enable_script_security') ?? false,
    vmacPrefix: linkPrefix(s, 'vmac_prefix', sink),
    vmacAddrPrefix: linkPrefix(s, 'vmac_addr_prefix', sink),
    vrrpMinGarp: s.val<boolean>('vrrp_min_garp') ?? false,
    vrrpLowerPrioNoAdvert: s.val<boolean>('vrrp_lower_prio_no_advert') ?? false,
    vrrpHigherPrioSendAdvert: s.val<boolean>('vrrp_higher_prio_send_advert') ?? false,
    vrrpGarpExtraIf: garpExtraIfSetting(s, ['vrrp_garp_extra_if', 'vrrp_vmac_garp_intvl'], 1, sink),
    operations: operationsOf(s, top, sink),
    notifyFifos: notifyFifos(s, sink),
    vrrpNotifyPriorityChanges: s.val<boolean>('vrrp_notify_priority_changes') ?? false,
    fifoWriteVrrpStatesOnReload: s.val<boolean>('fifo_write_vrrp_states_on_reload') ?? false,
  });
}

/** Whether `a` comes after `b` in the file (keepalived applies the lines in order). */
function isAfter(a: SourceLocation, b: SourceLocation): boolean {
  return a.line > b.line || (a.line === b.line && a.column > b.column);
}

/**
 * A global GARP setting under `vrrp_min_garp` (keepalived global_parser.c
 * `vrrp_min_garp_handler`): when that line is read, each of `vrrp_garp_master_repeat` (5 → 1),
 * `_delay` (5 s → 0), `_refresh` (0 → 0) and `_refresh_repeat` (1 → 0) that still holds its default
 * takes the minimal value; a value written after it, or a value other than the default, stays.
 */
function minGarp(s: Section, k: string, value: number | undefined, dflt: number, min: number): number {
  const mg = s.get<boolean>('vrrp_min_garp');
  const set = s.get<number>(k);
  if (!mg?.value || (set && isAfter(set.stmt.keyword.location, mg.stmt.keyword.location))) return value ?? dflt;
  return (value ?? dflt) === dflt ? min : (value ?? dflt);
}

/**
 * `garp_extra_if [all] N` / `vrrp_garp_extra_if [all] N` (and their old names `vmac_garp_intvl`,
 * `vrrp_vmac_garp_intvl`, deprecated after keepalived 2.2.2), words in either order; N from `minSec`
 * (0 in an instance: off) to 86400 seconds. The later of the two names wins.
 */
function garpExtraIfSetting(s: Section, [name, old]: readonly [string, string], minSec: number, sink: DiagnosticSink): { intervalMs: number; all: boolean } | undefined {
  const cur = s.get<string[]>(name);
  const dep = s.get<string[]>(old);
  if (dep) sink.warning(dep.stmt.keyword.location, `'${old}' is deprecated (keepalived 2.2.2); write '${name}'`);
  const g = cur && dep ? (isAfter(dep.stmt.keyword.location, cur.stmt.keyword.location) ? dep : cur) : (cur ?? dep);
  if (!g) return undefined;
  let all = false;
  let seconds: number | undefined;
  for (const t of g.stmt.args) {
    if (t.text === 'all') all = true;
    else {
      const n = /^\d+$/.test(t.text) ? Number(t.text) : NaN;
      if (!(n >= minSec && n <= 86400)) {
        sink.error(t.location, `invalid ${g.stmt.keyword.text} '${t.text}': expected 'all' or a whole number of seconds from ${minSec} to 86400`);
        return undefined;
      }
      seconds = n;
    }
  }
  if (seconds === undefined) {
    sink.error(g.stmt.keyword.location, `${g.stmt.keyword.text} needs an interval in seconds (keepalived ignores it without one)`);
    return undefined;
  }
  return { intervalMs: seconds * 1000, all };
}

/** `X 0` where keepalived raises a repeat count to 1, with a warning. */
function repeatCount(s: Section, k: string, sink: DiagnosticSink): number | undefined {
  const r = s.get<number>(k);
  if (r?.value === 0) {
    sink.warning(r.loc, `${k} 0 is raised to 1 (as keepalived does)`);
    return 1;
  }
  return r?.value;
}

// ---------------------------------------------------------------------------------------------
// vrrp_instance, block by block (vrrp_complete_instance). Each step reports its own findings;
// `assembleInstance` runs them in a fixed order.

/** What every step of one instance needs. */
interface InstanceContext {
  readonly s: Section;
  /** `vrrp_instance NAME`, for messages. */
  readonly who: string;
  readonly g: GlobalDefs;
  /** `strict_mode`, else global `vrrp_strict`. */
  readonly strict: boolean;
  readonly sink: DiagnosticSink;
}

/** Names of the `vrrp_script`s, `vrrp_track_file`s and `vrrp_track_process`es defined (for `track_*` references). */
interface Known {
  readonly scripts: ReadonlySet<string>;
  readonly trackFiles: ReadonlySet<string>;
  readonly trackProcesses: ReadonlySet<string>;
  /** The bfd_instances (config/bfd.ts), for `track_bfd`. */
  readonly bfd: readonly BfdInstanceConfig[];
}

/** The instances in file order; a second instance with the VRID of an earlier one is an error. */
function assembleInstances(sections: readonly Section[], g: GlobalDefs, known: Known, sink: DiagnosticSink): VrrpInstanceConfig[] {
  const instances: VrrpInstanceConfig[] = [];
  const vridLoc = new Map<VrrpInstanceConfig, SourceLocation>();
  /** VRID key → the first instance (by its index in `instances`) that has it. */
  const vridOwner = new Map<string, number>();
  const linkNames = LinkNames.collect(sections, sink);
  for (const s of sections) {
    const inst = assembleInstance(s, g, known, sink, linkNames);
    if (!inst) continue;
    const loc = s.get<number>('virtual_router_id')!.loc;
    let first = Infinity;
    for (const k of vridKeys(inst)) {
      const at = vridOwner.get(k);
      if (at === undefined) vridOwner.set(k, instances.length);
      else first = Math.min(first, at);
    }
    const prev = instances[first];
    if (prev) {
      sink.error(
        loc,
        `virtual_router_id ${inst.vrid} is already used on ${inst.interface} (${FAMILY_NAME[inst.family]}) by vrrp_instance ${prev.name} at ${formatLocation(vridLoc.get(prev)!)}`,
      );
    }
    vridLoc.set(inst, loc);
    instances.push(inst);
  }
  return instances;
}

/**
 * keepalived's `check_vrid_conflicts` (vrrp.c): two instances conflict with the same VRID, family
 * and interface, and either both multicast to the same group, or both unicast from the same source
 * address with a common peer. As keys: two instances conflict iff they share one.
 */
function vridKeys(i: VrrpInstanceConfig): string[] {
  const base = `${i.vrid} ${i.family} ${i.interface}`;
  if (i.unicastPeers.length === 0) return [`m ${base} ${i.mcastGroup}`];
  return i.unicastPeers.map((p) => `u ${base} ${i.unicastSrcIp ?? '-'} ${p.address}`);
}

/** One `vrrp_instance`; undefined when it has an error (reported). */
function assembleInstance(s: Section, g: GlobalDefs, known: Known, sink: DiagnosticSink, linkNames: LinkNames): VrrpInstanceConfig | undefined {
  const errorsBefore = sink.errorCount;
  const c: InstanceContext = { s, who: `vrrp_instance ${s.name}`, g, strict: s.val<boolean>('strict_mode') ?? g.vrrpStrict, sink };

  const addrs = addressFamily(c);
  const version = protocolVersion(c, addrs.family);
  const { iface, vrid } = identity(c);
  const stated = stateAndPriority(c);
  const priority = stated.priority;
  virtualAddressRules(c, addrs, version);
  const authentication = authenticationOf(c, version);
  const { state, initialState } = ahStartState(c, authentication, stated);
  const { nopreempt, preemptDelayMs } = preemption(c, state, priority, initialState);
  const advertIntervalMs = advertInterval(c, version);
  unicastRules(c, addrs.peers);
  const garp = garpSettings(c);
  const adverts = advertReplies(c);
  const accept = acceptMode(c, priority, version);
  const mcastGroup = multicastGroup(c, addrs);
  const unicastTtl = unicastTtlOf(c, addrs.peers);
  const { trackInterfaces, trackScripts, trackFiles, trackProcesses } = trackRefs(s, known, sink);
  const notify = notifyScripts(s, sink);
  const routing = virtualRouting(s, iface, trackInterfaces);
  const links = instanceLinks(
    { s, who: c.who, g, strict: c.strict, sink, iface, vrid, family: addrs.family, unicast: addrs.peers.length > 0, names: linkNames },
    addrs.vips,
    s.list<VirtualAddressConfig>('virtual_ipaddress_excluded'),
  );

  const garpExtraIf = garpExtraIfOf(c, iface, links);
  if (iface === undefined || vrid === undefined || sink.errorCount > errorsBefore) return undefined;
  const instance: Mutable<VrrpInstanceConfig> = {
    name: s.name,
    location: s.nameLoc,
    initialState,
    interface: iface,
    vrid,
    priority,
    advertIntervalMs,
    version,
    family: addrs.family,
    nopreempt,
    preemptDelayMs,
    virtualAddresses: links.vips,
    virtualAddressesExcluded: links.excluded,
    unicastPeers: addrs.peers.map(({ address, location }) => ({ address, location })),
    mcastGroup,
    garpMasterDelayMs: garp.masterDelayMs,
    garpMasterRepeat: garp.masterRepeat,
    garpMasterRefreshMs: garp.masterRefreshMs,
    garpMasterRefreshRepeat: garp.masterRefreshRepeat,
    garpIntervalMs: garp.intervalMs,
    gnaIntervalMs: g.vrrpGnaIntervalMs,
    garpLowerPrioDelayMs: garp.lowerPrioDelayMs,
    garpLowerPrioRepeat: garp.lowerPrioRepeat,
    notify,
    trackInterfaces: routing.trackInterfaces,
    trackScripts,
    trackFiles,
    strict: c.strict,
    skipCheckAdvAddr: s.val<boolean>('skip_check_adv_addr') ?? g.vrrpSkipCheckAdvAddr,
    checkUnicastSrc: s.val<boolean>('check_unicast_src') ?? g.vrrpCheckUnicastSrc,
    v3ChecksumAsV2: s.val<boolean>('v3_checksum_as_v2') ?? g.v3ChecksumAsV2,
    dontTrackPrimary: s.val<boolean>('dont_track_primary') ?? false,
    virtualRoutes: routing.routes,
    virtualRules: routing.rules,
    accept,
    lowerPrioNoAdvert: adverts.lowerPrioNoAdvert,
    higherPrioSendAdvert: adverts.higherPrioSendAdvert,
  };
  if (unicastTtl !== undefined) instance.unicastTtl = unicastTtl;
  if (garpExtraIf) instance.garpExtraIf = garpExtraIf;
  if (links.vmac) instance.vmac = links.vmac;
  if (links.extraVmacs.length > 0) instance.extraVmacs = links.extraVmacs;
  if (authentication) instance.authentication = authentication;
  if (addrs.usrc) instance.unicastSrcIp = addrs.usrc.value.address;
  if (addrs.msrc) instance.mcastSrcIp = addrs.msrc.value.address;
  const smtpAlert = s.val<boolean>('smtp_alert');
  if (smtpAlert !== undefined) instance.smtpAlert = smtpAlert;
  if (trackProcesses.length > 0) instance.trackProcesses = trackProcesses;
  const trackBfd = trackBfdRefs(s, known.bfd, sink);
  if (trackBfd) instance.trackBfd = trackBfd;
  if (s.get<unknown>('notify_deleted')) instance.notifyDeleted = true;
  const priorityChanges = s.val<boolean>('notify_priority_changes');
  if (priorityChanges !== undefined) instance.notifyPriorityChanges = priorityChanges;
  return instance;
}

/** The addresses that decide an instance's family, and the family. */
interface InstanceAddresses {
  readonly vips: VirtualAddressConfig[];
  /** The first VIP (its family is the instance's). */
  readonly first: VirtualAddressConfig | undefined;
  readonly usrc: { value: ParsedAddress; loc: SourceLocation } | undefined;
  readonly msrc: { value: ParsedAddress; loc: SourceLocation } | undefined;
  readonly peers: PeerEntry[];
  readonly family: AddressFamily;
}

/**
 * Family: from the VIPs, else the source address or peers (keepalived: `vrrp->family`). Every
 * VIP, `unicast_src_ip`, `mcast_src_ip` and `unicast_peer` must be of that family.
 */
function addressFamily({ s, who, sink }: InstanceContext): InstanceAddresses {
  const vips = s.list<VirtualAddressConfig>('virtual_ipaddress');
  const first = vips[0];
  for (const v of vips) {
    if (first && v.family !== first.family) {
      sink.error(
        v.location,
        `virtual_ipaddress mixes address families: ${v.address} is ${FAMILY_NAME[v.family]} but ${first.address} (line ${first.location.line}) is ${FAMILY_NAME[first.family]}; use one vrrp_instance per family`,
      );
      break;
    }
  }
  const usrc = s.get<ParsedAddress>('unicast_src_ip');
  const msrc = s.get<ParsedAddress>('mcast_src_ip');
  const peers = s.list<PeerEntry>('unicast_peer');
  const family: AddressFamily = first?.family ?? usrc?.value.family ?? msrc?.value.family ?? peers[0]?.family ?? 'ipv4';
  const familyOf = first ? `the virtual addresses of ${who} are` : `${who} is`;
  const sources: [string, ParsedAddress | PeerEntry | undefined, SourceLocation | undefined][] = [
    ['unicast_src_ip', usrc?.value, usrc?.loc],
    ['mcast_src_ip', msrc?.value, msrc?.loc],
  ];
  for (const p of peers) sources.push(['unicast_peer', p, p.location]);
  for (const [what, a, loc] of sources) {
    if (a && loc && a.family !== family) {
      sink.error(loc, `${what} ${a.address} is ${FAMILY_NAME[a.family]} but ${familyOf} ${FAMILY_NAME[family]}`);
    }
  }
  return { vips, first, usrc, msrc, peers, family };
}

/** Version: the instance's, else 3 for IPv6, else global vrrp_version (vrrp_complete_instance). */
function protocolVersion({ s, g, strict, sink }: InstanceContext, family: AddressFamily): VrrpVersion {
  const ver = s.get<number>('version');
  let version = (ver?.value ?? (family === 'ipv6' ? 3 : g.vrrpVersion)) as VrrpVersion;
  if (family === 'ipv6' && version === 2) {
    if (strict) {
      sink.warning(ver!.loc, 'VRRPv2 does not support IPv6; using version 3 (as keepalived does in strict mode)');
      version = 3;
    } else {
      sink.error(ver!.loc, "version 2 cannot be used with IPv6 addresses: VRRPv2 (RFC 3768) is IPv4 only; use 'version 3'");
    }
  }
  return version;
}

/** `interface` and `virtual_router_id`, both required. */
function identity({ s, who, sink }: InstanceContext): { iface: string | undefined; vrid: number | undefined } {
  const iface = s.val<string>('interface');
  const vrid = s.val<number>('virtual_router_id');
  if (s.lacks('interface')) sink.error(s.nameLoc, `${who} has no 'interface'`);
  if (s.lacks('virtual_router_id')) {
    sink.error(s.nameLoc, `${who} has no 'virtual_router_id' (a number from 1 to 255, the same on all routers of this instance)`);
  }
  return { iface, vrid };
}

/**
 * State and priority (vrrp_complete_instance: an unset priority follows the state, an unset
 * state follows the priority, strict mode makes them agree). `state` is the setting as written.
 */
function stateAndPriority({ s, who, strict, sink }: InstanceContext): {
  state: { value: InitialState; loc: SourceLocation } | undefined;
  priority: number;
  initialState: InitialState;
} {
  const st = s.get<InitialState>('state');
  const prio = s.get<number>('priority');
  const priority = prio?.value ?? (st?.value === 'MASTER' ? 255 : 100);
  if (!prio && st?.value === 'MASTER') {
    sink.warning(st.loc, "state MASTER without 'priority': keepalived makes such an instance the address owner (priority 255); write the priority you mean");
  }
  let initialState: InitialState = st?.value ?? (priority === 255 ? 'MASTER' : 'BACKUP');
  if (strict && st && (st.value === 'MASTER') !== (priority === 255)) {
    initialState = priority === 255 ? 'MASTER' : 'BACKUP';
    sink.warning(
      st.loc,
      st.value === 'MASTER'
        ? `in strict mode state MASTER needs priority 255 (address owner); keepalived starts ${who} as BACKUP`
        : `in strict mode priority 255 (address owner) means state MASTER; keepalived starts ${who} as MASTER`,
    );
  }
  return { state: st, priority, initialState };
}

/**
 * `virtual_ipaddress`: at least one with VRRPv3 or in strict mode; with IPv6 multicast, the first
 * one link-local (RFC 5798 §5.2.9).
 */
function virtualAddressRules({ s, who, strict, sink }: InstanceContext, a: InstanceAddresses, version: VrrpVersion): void {
  // no_virtual_ipaddress (keepalived 2.3): an instance without VIPs on purpose (not in strict mode).
  const noVips = s.get<boolean>('no_virtual_ipaddress');
  if (noVips && strict) sink.warning(noVips.loc, `${who}: no_virtual_ipaddress and strict mode do not go together; no_virtual_ipaddress is ignored (as keepalived does)`);
  if (a.vips.length === 0 && !s.lists.get('virtual_ipaddress')?.lines && !s.suggested.has('virtual_ipaddress') && !(noVips && !strict)) {
    if (version === 3 || strict) sink.error(s.nameLoc, `${who} has no virtual_ipaddress; keepalived requires at least one with VRRPv3 or in strict mode`);
    else sink.warning(s.nameLoc, `${who} has no virtual_ipaddress; keepalived accepts this, but the instance moves no address`);
  }
  const first = a.first;
  if (a.family === 'ipv6' && a.peers.length === 0 && first?.family === 'ipv6' && !/^fe[89ab]/.test(first.address)) {
    const msg = 'the first IPv6 virtual address should be link-local (fe80::/10), as RFC 5798 §5.2.9 asks';
    if (strict) sink.error(first.location, `${msg}; keepalived requires it in strict mode`);
    else sink.warning(first.location, `${msg}; keepalived warns too`);
  }
}

/**
 * Authentication (VRRPv2 only; vrrp_complete_instance ignores it in strict mode and for v3, and
 * so for IPv6, which keepwatch runs as VRRPv3 only). `auth_type PASS` sends the first 8 bytes of
 * `auth_pass`; `auth_type AH` keys HMAC-MD5-96 with the same 8 bytes (protocol/ah.ts).
 */
function authenticationOf({ s, strict, sink }: InstanceContext, version: VrrpVersion): AuthenticationConfig | undefined {
  const auth = s.get<Section>('authentication');
  if (!auth) return undefined;
  const kw = auth.stmt.keyword.location;
  const type = auth.value.get<string>('auth_type');
  const pass = auth.value.get<string>('auth_pass');
  if (strict) sink.warning(kw, 'authentication is not supported in strict mode; ignored (keepalived: "Strict mode does not support authentication")');
  else if (version === 3) sink.warning(kw, 'authentication is not part of VRRPv3; ignored (as keepalived does)');
  else if (!type) {
    if (auth.value.lacks('auth_type')) sink.error(kw, "authentication has no 'auth_type': expected PASS or AH");
  } else if (!pass || pass.value === '') {
    if (pass || auth.value.lacks('auth_pass')) sink.error(pass?.loc ?? type.loc, `auth_type ${type.value} needs a non-empty auth_pass`);
  } else {
    if (Buffer.byteLength(pass.value) > 8) {
      sink.warning(pass.loc, 'auth_pass is longer than 8 characters; only the first 8 are used (as keepalived does)');
    }
    return { type: type.value === 'AH' ? 'AH' : 'PASS', password: pass.value, location: kw };
  }
  return undefined;
}

/**
 * keepalived (vrrp_complete_instance): "Initial state master is incompatible with AH
 * authentication - clearing": a non-owner AH instance starts as BACKUP, to learn the peers' AH
 * sequence number from an advert before it sends its own. keepwatch starts every non-owner
 * instance as BACKUP anyway; the nopreempt and preempt_delay rules then see BACKUP, as there.
 */
function ahStartState(
  { s, who, sink }: InstanceContext,
  authentication: AuthenticationConfig | undefined,
  stated: { state: { value: InitialState; loc: SourceLocation } | undefined; priority: number; initialState: InitialState },
): { state: { value: InitialState; loc: SourceLocation } | undefined; initialState: InitialState } {
  const { state, priority, initialState } = stated;
  if (authentication?.type !== 'AH' || initialState !== 'MASTER' || priority === 255) return { state, initialState };
  const loc = state?.loc ?? s.nameLoc;
  sink.warning(loc, `state MASTER does not go with auth_type AH: ${who} starts as BACKUP to learn the AH sequence number first (as keepalived does)`);
  return { state: { value: 'BACKUP', loc }, initialState: 'BACKUP' };
}

/** `nopreempt` / `preempt` (whichever comes last wins) and `preempt_delay`. */
function preemption(
  { s, strict, sink }: InstanceContext,
  state: { value: InitialState } | undefined,
  priority: number,
  initialState: InitialState,
): { nopreempt: boolean; preemptDelayMs: number } {
  const np = s.get<boolean>('nopreempt');
  const pre = s.get<boolean>('preempt');
  // Whichever comes last wins (keepalived applies the lines in order).
  let nopreempt = np !== undefined && !(pre && (pre.loc.line > np.loc.line || (pre.loc.line === np.loc.line && pre.loc.column > np.loc.column)));
  if (nopreempt && state?.value === 'MASTER') {
    sink.error(np!.loc, 'nopreempt requires state BACKUP (keepalived ignores nopreempt when state is MASTER)');
  } else if (nopreempt && priority === 255) {
    sink.warning(np!.loc, 'nopreempt has no effect with priority 255: the address owner always takes over (keepalived resets nopreempt)');
    nopreempt = false;
  }
  const pd = s.get<number>('preempt_delay');
  let preemptDelayMs = usToMs(pd?.value) ?? 0;
  if (pd && preemptDelayMs > 0) {
    const why =
      initialState === 'MASTER' ? 'has no effect with state MASTER'
      : strict ? 'is not allowed in strict mode'
      : nopreempt ? 'has no effect with nopreempt'
      : undefined;
    if (why) {
      sink.warning(pd.loc, `preempt_delay ${why}; keepalived resets it to 0`);
      preemptDelayMs = 0;
    }
  }
  return { nopreempt, preemptDelayMs };
}

/**
 * `advert_int` in ms (default 1000), checked against the version (vrrp_complete_instance;
 * keepalived rounds, keepwatch refuses): VRRPv2 carries whole seconds 1-255 (RFC 3768 §5.3.7),
 * VRRPv3 centiseconds 1-4095 (RFC 5798 §5.2.7).
 */
function advertInterval({ s, sink }: InstanceContext, version: VrrpVersion): number {
  const adv = s.get<number>('advert_int');
  if (adv) {
    const us = adv.value;
    const text = adv.stmt.args[0]!.text;
    if (version === 2 && (us % 1e6 !== 0 || us < 1e6 || us > 255e6)) {
      sink.error(adv.loc, `advert_int ${text} is not valid for VRRPv2: expected a whole number of seconds from 1 to 255`);
    } else if (version === 3 && (us % 1e4 !== 0 || us < 1e4 || us > 40.95e6)) {
      sink.error(adv.loc, `advert_int ${text} is not valid for VRRPv3: expected a multiple of 0.01 s from 0.01 to 40.95`);
    }
  }
  return usToMs(adv?.value) ?? 1000;
}

/** `unicast_peer` is refused in strict mode. */
function unicastRules({ s, strict, sink }: InstanceContext, peers: readonly PeerEntry[]): void {
  if (strict && peers.length > 0) {
    sink.error(
      s.lists.get('unicast_peer')!.stmt.keyword.location,
      'unicast_peer is not allowed in strict mode (keepalived refuses the instance: "Unicast peers are not supported in strict mode")',
    );
  }
}

/** An instance's gratuitous ARP / unsolicited NA settings, in the model's units. */
interface GarpSettings {
  readonly masterDelayMs: number;
  readonly masterRepeat: number;
  readonly masterRefreshMs: number;
  readonly masterRefreshRepeat: number;
  readonly intervalMs: number;
  readonly lowerPrioDelayMs: number;
  readonly lowerPrioRepeat: number;
}

/** GARP settings: instance, else global; the lower-priority ones are 0 in strict mode. */
function garpSettings({ s, g, strict, sink }: InstanceContext): GarpSettings {
  const masterRepeat = repeatCount(s, 'garp_master_repeat', sink) ?? g.vrrpGarpMasterRepeat;
  const masterRefreshRepeat = repeatCount(s, 'garp_master_refresh_repeat', sink) ?? g.vrrpGarpMasterRefreshRepeat;
  const lowerDelaySec = lowerPrio(s, 'garp_lower_prio_delay', strict, (g.vrrpGarpLowerPrioDelayMs ?? g.vrrpGarpMasterDelayMs) / 1000, sink);
  const lowerPrioRepeat = lowerPrio(s, 'garp_lower_prio_repeat', strict, g.vrrpGarpLowerPrioRepeat ?? g.vrrpGarpMasterRepeat, sink);
  return {
    masterDelayMs: (s.val<number>('garp_master_delay') ?? g.vrrpGarpMasterDelayMs / 1000) * 1000,
    masterRepeat,
    masterRefreshMs: (s.val<number>('garp_master_refresh') ?? g.vrrpGarpMasterRefreshMs / 1000) * 1000,
    masterRefreshRepeat,
    intervalMs: usToMs(s.val<number>('garp_interval')) ?? g.vrrpGarpIntervalMs,
    lowerPrioDelayMs: lowerDelaySec * 1000,
    lowerPrioRepeat,
  };
}

/**
 * A lower-priority GARP setting (vrrp_complete_instance): unset, it is 0 in strict mode and the
 * global value otherwise; set non-zero in strict mode, keepalived resets it to 0.
 */
function lowerPrio(s: Section, k: string, strict: boolean, dflt: number, sink: DiagnosticSink): number {
  const r = s.get<number>(k);
  if (!r) return strict ? 0 : dflt;
  if (strict && r.value !== 0) {
    sink.warning(r.loc, `${k} must be 0 in strict mode; keepalived resets it to 0`);
    return 0;
  }
  return r.value;
}

/**
 * `lower_prio_no_advert` and `higher_prio_send_advert` (instance, else global; vrrp_complete_instance):
 * strict mode forces the first on and the second off, with a warning when written otherwise.
 */
function advertReplies({ s, g, strict, sink }: InstanceContext): { lowerPrioNoAdvert: boolean; higherPrioSendAdvert: boolean } {
  const lower = s.get<boolean>('lower_prio_no_advert');
  const higher = s.get<boolean>('higher_prio_send_advert');
  let lowerPrioNoAdvert = lower?.value ?? (strict || g.vrrpLowerPrioNoAdvert);
  let higherPrioSendAdvert = higher?.value ?? (!strict && g.vrrpHigherPrioSendAdvert);
  if (strict && !lowerPrioNoAdvert) {
    sink.warning(lower!.loc, 'strict mode requires lower_prio_no_advert; keepalived turns it back on');
    lowerPrioNoAdvert = true;
  }
  if (strict && higherPrioSendAdvert) {
    sink.warning(higher!.loc, 'strict mode requires higher_prio_send_advert to be off; keepalived turns it off');
    higherPrioSendAdvert = false;
  }
  return { lowerPrioNoAdvert, higherPrioSendAdvert };
}

/**
 * Accept mode (vrrp_complete_instance): `accept` / `no_accept`, whichever comes last; unset, on
 * unless in strict mode; an address owner (255) always accepts; strict VRRPv2 cannot (RFC 3768 has
 * no accept mode: keepalived resets it). Returns whether traffic to the VIPs is accepted.
 */
function acceptMode({ s, strict, sink }: InstanceContext, priority: number, version: VrrpVersion): boolean {
  if (priority === 255) return true;
  const yes = s.get<boolean>('accept');
  const no = s.get<boolean>('no_accept');
  let accept = yes && (!no || isAfter(yes.stmt.keyword.location, no.stmt.keyword.location)) ? true : no ? false : !strict;
  if (accept && strict && version === 2) {
    sink.warning(yes!.stmt.keyword.location, 'accept mode for VRRPv2 does not comply with RFC 3768; keepalived resets it in strict mode (no_accept)');
    accept = false;
  }
  return accept;
}

/**
 * The instance's multicast group: `mcast_dst_ip`, else the global group of its family. keepalived
 * skips (with an error line, keeping the default) a group of the other family, an IPv4 address
 * that is not multicast, an IPv6 one that is not link-local multicast (ffX2::/16), and any
 * `mcast_dst_ip` of a unicast instance.
 */
function multicastGroup({ s, who, g, sink }: InstanceContext, a: InstanceAddresses): string {
  const dflt = a.family === 'ipv4' ? g.vrrpMcastGroup4 : g.vrrpMcastGroup6;
  const md = s.get<ParsedAddress>('mcast_dst_ip');
  if (!md) return dflt;
  const ip = md.value;
  const why =
    a.peers.length > 0 ? 'has no effect with unicast_peer'
    : ip.family !== a.family ? `is ${FAMILY_NAME[ip.family]} but ${who} is ${FAMILY_NAME[a.family]}`
    : ip.family === 'ipv4' && (ip.bytes[0]! & 0xf0) !== 0xe0 ? 'is not a multicast address (224.0.0.0/4)'
    : ip.family === 'ipv6' && (ip.bytes[0] !== 0xff || (ip.bytes[1]! & 0x0f) !== 2) ? 'is not a link-local multicast address (ffX2::/16)'
    : undefined;
  if (!why) return ip.address;
  sink.warning(md.loc, `mcast_dst_ip ${ip.address} ${why}; ignored, adverts go to ${a.peers.length > 0 ? 'the unicast peers' : dflt} (as keepalived does)`);
  return dflt;
}

/**
 * `unicast_ttl`: only with unicast peers. Without them keepalived logs "resetting" but sets the TTL
 * to 0, and the kernel keeps IPv4 multicast with TTL 0 on the host: keepalived 2.2.7 then sends no
 * advert at all (seen with tcpdump in a namespace). keepwatch ignores it instead (multicast adverts
 * keep TTL 255, RFC 5798 §5.1.1.3).
 */
function unicastTtlOf({ s, sink }: InstanceContext, peers: readonly PeerEntry[]): number | undefined {
  const t = s.get<number>('unicast_ttl');
  if (!t) return undefined;
  if (peers.length > 0) return t.value;
  sink.warning(t.loc, 'unicast_ttl has no effect without unicast_peer; ignored (keepalived says "resetting" but sets the TTL to 0 and its IPv4 adverts then never leave the host)');
  return undefined;
}

/**
 * `garp_extra_if` (instance; 0 = off), else the global `vrrp_garp_extra_if`: the interfaces it sends
 * on, as keepalived's vrrp_complete_instance and vrrp_send_vmac_update choose them. An interface
 * of a VIP other than the instance's own link (its `use_vmac` macvlan, else its interface) counts
 * when it is one of the instance's macvlans, or with `all` any; the own link too with
 * `vmac_xmit_base`. keepalived turns the setting off when no VIP is on such a macvlan and, without
 * `all`, when none is on another interface either (a warning when the instance wrote it).
 */
function garpExtraIfOf(
  { s, who, g, sink }: InstanceContext,
  iface: string | undefined,
  links: { readonly vmac?: VirtualLinkConfig; readonly extraVmacs: readonly VirtualLinkConfig[]; readonly vips: readonly VirtualAddressConfig[]; readonly excluded: readonly VirtualAddressConfig[] },
): VrrpInstanceConfig['garpExtraIf'] {
  const own = garpExtraIfSetting(s, ['garp_extra_if', 'vmac_garp_intvl'], 0, sink);
  const setting = own ?? g.vrrpGarpExtraIf;
  if (!setting || setting.intervalMs === 0 || iface === undefined) return undefined;
  const ownLink = links.vmac?.kind === 'macvlan' ? links.vmac.name : iface;
  const ours = new Set([...(links.vmac?.kind === 'macvlan' ? [links.vmac.name] : []), ...links.extraVmacs.map((l) => l.name)]);
  const devices = [...new Set([...links.vips, ...links.excluded].map((v) => v.device ?? iface))];
  const extraVmac = devices.some((d) => d !== ownLink && ours.has(d));
  const extraIf = devices.some((d) => d !== ownLink && !ours.has(d));
  if (extraVmac || (extraIf && setting.all)) {
    const xmitBase = links.vmac?.xmitBase === true;
    const interfaces = devices.filter((d) => (ours.has(d) || setting.all) && (d !== ownLink || xmitBase));
    return { intervalMs: setting.intervalMs, all: setting.all, interfaces };
  }
  const written = s.get<string[]>('garp_extra_if') ?? s.get<string[]>('vmac_garp_intvl');
  if (own && written) {
    const kw = written.stmt.keyword.text;
    sink.warning(
      written.stmt.keyword.location,
      extraIf
        ? `${kw} without 'all' sends only on the macvlans of VIPs (use_vmac), and ${who} has none on another interface: nothing is sent (keepalived turns it off too); write '${kw} all N' to send on the other interfaces`
        : `${kw}: every VIP of ${who} is on its own link, so there is nothing to send (keepalived turns it off too)`,
    );
  }
  return undefined;
}

/**
 * References to vrrp_scripts / vrrp_track_files / vrrp_track_processes that do not exist: a
 * `track_script` or `track_process` one is an error (issue 15: keepalived only warns, and a
 * misspelt check is then silently never tracked, so it never fails over); a `track_file` one is
 * dropped with a warning, as keepalived does.
 */
function trackRefs(s: Section, known: Known, sink: DiagnosticSink): Pick<VrrpInstanceConfig, 'trackInterfaces' | 'trackScripts' | 'trackFiles'> & { trackProcesses: TrackReference[] } {
  const check = (k: string, defined: ReadonlySet<string>, of: string): TrackReference[] =>
    s.list<TrackReference>(k).filter((r) => {
      if (defined.has(r.name)) return true;
      if (k === 'track_script' || k === 'track_process') {
        const guess = sink.saturated ? '' : didYouMean(r.name, defined);
        sink.error(r.location, `${k} '${r.name}' refers to an undefined ${of}${guess} (keepalived only warns and runs without this check; keepwatch refuses it: a check that is silently not tracked never triggers a failover)`);
      } else sink.warning(r.location, `${k} '${r.name}' refers to an undefined ${of}; ignored (keepalived logs and ignores it too)`);
      return false;
    });
  return {
    trackInterfaces: s.list<TrackReference>('track_interface'),
    trackScripts: check('track_script', known.scripts, 'vrrp_script'),
    trackFiles: check('track_file', known.trackFiles, 'vrrp_track_file'),
    trackProcesses: check('track_process', known.trackProcesses, 'vrrp_track_process'),
  };
}

// ---------------------------------------------------------------------------------------------
// vrrp_script, vrrp_track_file, vrrp_sync_group; names defined twice.

function assembleScript(s: Section, sink: DiagnosticSink): VrrpScriptConfig | undefined {
  if (!s.get<string>('script')) {
    if (s.lacks('script')) sink.error(s.nameLoc, `vrrp_script ${s.name} has no 'script' (keepalived drops a vrrp_script without one)`);
    return undefined;
  }
  const script = vrrpScriptCommand(s, sink);
  if (!script) return undefined;
  const intervalMs = (s.val<number>('interval') ?? 1) * 1000;
  const weight = s.val<{ weight: number; reverse: boolean }>('weight');
  const user = s.get<string[]>('user');
  return defined<VrrpScriptConfig>({
    name: s.name,
    location: s.nameLoc,
    script: script.script,
    argv: script.argv,
    scriptLocation: script.location,
    intervalMs,
    timeoutMs: (s.val<number>('timeout') ?? intervalMs / 1000) * 1000,
    weight: weight?.weight ?? 0,
    weightReverse: weight?.reverse ?? false,
    rise: s.val<number>('rise') ?? 1,
    fall: s.val<number>('fall') ?? 1,
    initFail: s.val<boolean>('init_fail') ?? false,
    user: user?.value[0],
    group: user?.value[1],
    userLocation: user?.stmt.keyword.location,
  });
}

function assembleTrackFile(s: Section, sink: DiagnosticSink): TrackFileConfig | undefined {
  const file = s.val<string>('file');
  if (file === undefined) {
    if (s.lacks('file')) sink.error(s.nameLoc, `vrrp_track_file ${s.name} has no 'file'`);
    return undefined;
  }
  const weight = s.val<{ weight: number; reverse: boolean }>('weight');
  const init = s.val<{ value: number; overwrite: boolean }>('init_file');
  return defined<TrackFileConfig>({
    name: s.name,
    location: s.nameLoc,
    file,
    weight: weight?.weight ?? 1,
    weightReverse: weight?.reverse ?? false,
    initFile: init,
  });
}

/** The sections whose name was not defined before (a second definition is reported and left out). */
function uniqueNames(sections: readonly Section[], sink: DiagnosticSink): Section[] {
  const seen = new Map<string, Section>();
  return sections.filter((s) => {
    const prev = seen.get(s.name);
    if (prev) {
      sink.error(s.nameLoc, `${s.kind} '${s.name}' is already defined at ${formatLocation(prev.nameLoc)}`);
      return false;
    }
    seen.set(s.name, s);
    return true;
  });
}

/**
 * `vrrp_sync_group`s: every member a defined `vrrp_instance`, in one group only (keepalived
 * vrrp_parser.c / vrrp_sync.c); a group of one instance is a warning, as keepalived gives.
 */
function assembleSyncGroups(sections: readonly Section[], instanceNames: ReadonlySet<string>, known: Known, sink: DiagnosticSink): SyncGroupConfig[] {
  const memberOf = new Map<string, Section>();
  const syncGroups: SyncGroupConfig[] = [];
  for (const s of uniqueNames(sections, sink)) {
    const members = s.list<NameEntry>('group');
    if (s.lacks('group')) sink.error(s.nameLoc, `vrrp_sync_group ${s.name} has no 'group' block listing its vrrp_instances`);
    for (const m of members) {
      const other = memberOf.get(m.name);
      if (!instanceNames.has(m.name)) {
        const guess = sink.saturated ? '' : didYouMean(m.name, instanceNames);
        sink.error(m.location, `'${m.name}' in vrrp_sync_group ${s.name} is not a vrrp_instance${guess}`);
      } else if (other) {
        sink.error(m.location, `vrrp_instance ${m.name} is already in vrrp_sync_group ${other.name} (${formatLocation(other.nameLoc)}); an instance can be in one sync group only`);
      } else memberOf.set(m.name, s);
    }
    if (members.length === 1) {
      sink.warning(s.nameLoc, `vrrp_sync_group ${s.name} has only one vrrp_instance; a sync group synchronises two or more (keepalived warns too)`);
    }
    const smtp = s.val<boolean>('smtp_alert');
    const { trackProcesses, ...refs } = trackRefs(s, known, sink);
    syncGroups.push(
      defined<SyncGroupConfig>({
        name: s.name,
        location: s.nameLoc,
        members,
        notify: notifyScripts(s, sink),
        ...refs,
        trackProcesses: trackProcesses.length > 0 ? trackProcesses : undefined,
        trackBfd: trackBfdRefs(s, known.bfd, sink),
        notifyPriorityChanges: s.val<boolean>('notify_priority_changes'),
        smtpAlert: smtp,
        trackingWeight: s.get<unknown>('sync_group_tracking_weight') || s.get<unknown>('global_tracking') ? true : undefined,
      }),
    );
  }
  return syncGroups;
}

// ---------------------------------------------------------------------------------------------
// Routes and rules (config/routes.ts reads each line).

/**
 * `virtual_routes` / `virtual_rules` of an instance, and its tracked interfaces with those the
 * tracked ones name: keepalived (vrrp.c, "routes/rules we need to monitor") tracks a route's
 * `dev` and a rule's `iif`/`oif` like a `track_interface` of weight 0, so the instance goes to
 * FAULT while one is down. Interfaces already tracked, and the instance's own, are not repeated.
 */
function virtualRouting(
  s: Section,
  iface: string | undefined,
  tracked: readonly TrackReference[],
): { routes: RouteConfig[]; rules: RuleConfig[]; trackInterfaces: TrackReference[] } {
  const routes = s.list<RouteConfig>('virtual_routes');
  const rules = s.list<RuleConfig>('virtual_rules');
  const trackInterfaces = [...tracked];
  const seen = new Set([...tracked.map((t) => t.name), ...(iface ? [iface] : [])]);
  const implicit = (names: readonly string[], location: SourceLocation): void => {
    for (const name of names) {
      if (seen.has(name)) continue;
      seen.add(name);
      trackInterfaces.push({ name, reverse: false, location });
    }
  };
  for (const r of routes) if (r.track) implicit(r.device ? [r.device] : [], r.location);
  for (const r of rules) if (r.track) implicit(ruleDevices(r), r.location);
  return { routes, rules, trackInterfaces };
}

/** `static_ipaddress`, `static_routes`, `static_rules` (top level). */
function staticRouting(statics: Section): Pick<KeepalivedConfig, 'staticAddresses' | 'staticRoutes' | 'staticRules'> {
  return {
    staticAddresses: statics.list<VirtualAddressConfig & { device: string }>('static_ipaddress'),
    staticRoutes: statics.list<RouteConfig>('static_routes'),
    staticRules: statics.list<RuleConfig>('static_rules'),
  };
}
