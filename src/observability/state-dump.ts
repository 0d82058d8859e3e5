/**
 * The signal dumps, as keepalived's: SIGUSR1 writes the state ("dump data": every instance's
 * state, priorities, master, VIPs, timers and the guard's view), SIGUSR2 the statistics (adverts
 * sent, received and dropped per reason, transitions). Each is one JSON document, logged as one
 * line and written to `DIR/keepwatch.data` or `DIR/keepwatch.stats` (DIR = keepalived's tmp dir:
 * --dump-dir, $TMPDIR or /tmp). Beside them go keepalived's own files with keepalived's structure
 * (keepalived.data, keepalived.stats and keepalived.json, the last on SIGUSR1: keepalived's JSON
 * signal is real-time, which Node cannot catch), named as keepalived names them (state_dump_file,
 * data_use_instance, ...).
 *
 * The formatting is pure (input in, JSON-ready object out). The files are written the safe way for
 * a shared directory like /tmp: a fresh temp file next to the target (O_CREAT|O_EXCL|O_NOFOLLOW,
 * 0600), then rename() over the target, which replaces whatever name is there (a planted symlink
 * included) and never writes through it.
 */
import { randomBytes } from 'node:crypto';
import { constants, lstatSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RouterSnapshot } from '../core/router.js';
import { METRICS } from './names.js';

export const STATE_DUMP_FILE = 'keepwatch.data';
export const STATS_DUMP_FILE = 'keepwatch.stats';
export const DEFAULT_DUMP_DIR = '/tmp';
export const DUMP_FILE_MODE = 0o600;

// ------------------------------------------------------------------------------------------------
// SIGUSR1: state
// ------------------------------------------------------------------------------------------------

/** What the agent hands over for a state dump (Agent.dumpState). */
export interface StateDumpInput {
  readonly version: string;
  readonly pid: number;
  readonly configPath: string;
  readonly startedAt: Date;
  /** Monotonic now (the clock of the snapshots' `lastAdvertAtMs`). */
  readonly nowMs: number;
  readonly wallMs: number;
  readonly instances: readonly {
    readonly snapshot: RouterSnapshot;
    /** Each VIP with the interface it goes on and whether the kernel has it now. */
    readonly vips: readonly { readonly address: string; readonly interface: string; readonly present: boolean }[];
    /** The split-brain guard's view of the instance (its /v1/state fields). */
    readonly guard: Readonly<Record<string, unknown>>;
  }[];
}

export interface StateDump {
  readonly kind: 'keepwatch-state';
  readonly time: string;
  readonly version: string;
  readonly pid: number;
  readonly config: string;
  readonly uptimeS: number;
  readonly instances: readonly Record<string, unknown>[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const round = (ms: number) => Math.round(ms * 10) / 10;

export function formatStateDump(input: StateDumpInput): StateDump {
  return {
    kind: 'keepwatch-state',
    time: iso(input.wallMs),
    version: input.version,
    pid: input.pid,
    config: input.configPath,
    uptimeS: Math.max(0, Math.round((input.wallMs - input.startedAt.getTime()) / 1000)),
    instances: input.instances.map(({ snapshot: s, vips, guard }) => {
      const t = s.lastTransition;
      return {
        name: s.name,
        vrid: s.vrid,
        interface: s.interface,
        family: s.family,
        version: s.version,
        state: s.state,
        priority: { base: s.basePriority, effective: s.effectivePriority },
        master: s.master
          ? {
              address: s.master.address,
              priority: s.master.priority,
              self: s.master.self,
              advertIntervalMs: s.master.advertIntervalMs,
              ...(s.master.lastAdvertAtMs !== undefined ? { lastAdvertAgoMs: round(input.nowMs - s.master.lastAdvertAtMs) } : {}),
            }
          : null,
        vips: vips.map((v) => ({ address: v.address, interface: v.interface, present: v.present })),
        timers: { advertIntervalMs: s.advertIntervalMs, masterAdvertIntervalMs: s.masterAdvertIntervalMs, masterDownIntervalMs: round(s.masterDownIntervalMs) },
        faults: [...s.faults],
        held: s.held ?? null,
        lastTransition: t ? { from: t.from, to: t.to, cause: t.cause, at: iso(t.wallMs), ...(t.detail !== undefined ? { detail: t.detail } : {}) } : null,
        ...guard,
      };
    }),
  };
}

// ------------------------------------------------------------------------------------------------
// SIGUSR2: statistics
// ------------------------------------------------------------------------------------------------

/** One metric as prom-client's `getMetricsAsJSON()` gives it (only what the dump reads). */
export interface MetricSeries {
  readonly name: string;
  readonly values: readonly { readonly labels: Readonly<Record<string, string | number | undefined>>; readonly value: number }[];
}

/** The metrics the statistics dump reads (fetch only these: the histograms are big). */
export const STATS_METRIC_NAMES: readonly string[] = [
  METRICS.advertsSent.name,
  METRICS.advertsReceived.name,
  METRICS.advertsDropped.name,
  METRICS.priorityZeroSent.name,
  METRICS.priorityZeroReceived.name,
  METRICS.addressListMismatch.name,
  METRICS.transitions.name,
  METRICS.garpSent.name,
  METRICS.sendErrors.name,
];

export interface StatsDumpInput {
  readonly version: string;
  readonly pid: number;
  readonly wallMs: number;
  /** The configured instances (an instance with no traffic yet still gets its zeros). */
  readonly instances: readonly { readonly name: string; readonly vrid: number; readonly interface: string }[];
  readonly metrics: readonly MetricSeries[];
}

export interface InstanceStats {
  readonly name: string;
  readonly vrid: number;
  readonly interface: string;
  readonly adverts: {
    readonly sent: number;
    readonly received: number;
    readonly dropped: number;
    readonly droppedByReason: Readonly<Record<string, number>>;
    readonly priorityZeroSent: number;
    readonly priorityZeroReceived: number;
    readonly addressListMismatch: number;
  };
  readonly transitions: { readonly total: number; readonly becameMaster: number; readonly releasedMaster: number; readonly list: readonly { from: string; to: string; cause: string; count: number }[] };
  readonly garpSent: number;
  readonly sendErrors: number;
}

export interface StatsDump {
  readonly kind: 'keepwatch-stats';
  readonly time: string;
  readonly version: string;
  readonly pid: number;
  readonly instances: readonly InstanceStats[];
  /** Drops not tied to an instance of ours (VRIDs we don't serve, unreadable packets), per interface and reason. */
  readonly unattributedDrops: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export function formatStatsDump(input: StatsDumpInput): StatsDump {
  const byName = new Map(input.metrics.map((m) => [m.name, m.values]));
  const series = (name: string) => byName.get(name) ?? [];
  const of = (name: string, instance: string) => series(name).filter((v) => v.labels.vrrp_instance === instance);
  const sum = (values: readonly { value: number }[]) => values.reduce((n, v) => n + v.value, 0);

  const instances = input.instances.map((i): InstanceStats => {
    const dropped: Record<string, number> = {};
    for (const v of of(METRICS.advertsDropped.name, i.name)) if (v.value > 0) dropped[String(v.labels.reason)] = (dropped[String(v.labels.reason)] ?? 0) + v.value;
    const list = of(METRICS.transitions.name, i.name)
      .filter((v) => v.value > 0)
      .map((v) => ({ from: String(v.labels.from), to: String(v.labels.to), cause: String(v.labels.cause), count: v.value }));
    return {
      name: i.name,
      vrid: i.vrid,
      interface: i.interface,
      adverts: {
        sent: sum(of(METRICS.advertsSent.name, i.name)),
        received: sum(of(METRICS.advertsReceived.name, i.name)),
        dropped: sum(Object.values(dropped).map((value) => ({ value }))),
        droppedByReason: dropped,
        priorityZeroSent: sum(of(METRICS.priorityZeroSent.name, i.name)),
        priorityZeroReceived: sum(of(METRICS.priorityZeroReceived.name, i.name)),
        addressListMismatch: sum(of(METRICS.addressListMismatch.name, i.name)),
      },
      transitions: {
        total: sum(list.map((t) => ({ value: t.count }))),
        becameMaster: sum(list.filter((t) => t.to === 'master').map((t) => ({ value: t.count }))),
        releasedMaster: sum(list.filter((t) => t.from === 'master').map((t) => ({ value: t.count }))),
        list,
      },
      garpSent: sum(of(METRICS.garpSent.name, i.name)),
      sendErrors: sum(of(METRICS.sendErrors.name, i.name)),
    };
  });
  const unattributedDrops: Record<string, Record<string, number>> = {};
  for (const v of series(METRICS.advertsDropped.name)) {
    if (v.value <= 0 || (v.labels.vrrp_instance !== '' && v.labels.vrrp_instance !== undefined)) continue;
    const iface = String(v.labels.interface ?? '');
    const perIface = (unattributedDrops[iface] ??= {});
    perIface[String(v.labels.reason)] = (perIface[String(v.labels.reason)] ?? 0) + v.value;
  }
  return { kind: 'keepwatch-stats', time: iso(input.wallMs), version: input.version, pid: input.pid, instances, unattributedDrops };
}

// ------------------------------------------------------------------------------------------------
// Writing the files
// ------------------------------------------------------------------------------------------------

/** The dump file could not be written (the directory is unsafe, or the write failed). */
export class DumpFileError extends Error {
  override readonly name = 'DumpFileError';
}

const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Replaces `dir/name` with `text` atomically: a temp file of our own in the same directory (0600,
 * O_EXCL|O_NOFOLLOW: never an existing file, never through a symlink), then rename() over the
 * target. A directory others can write in must have the sticky bit (as /tmp), or anyone could
 * swap our files. Returns the path written.
 */
export async function writeDumpFile(dir: string, name: string, text: string): Promise<string> {
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    throw new DumpFileError(`dump directory ${dir}: ${(err as Error).message}`);
  }
  if (!st.isDirectory()) throw new DumpFileError(`dump directory ${dir}: not a directory`);
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    throw new DumpFileError(`dump directory ${dir}: mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')} lets group or others write in it without the sticky bit; refused`);
  }
  const target = join(dir, name);
  for (let attempt = 0; attempt < 4; attempt++) {
    const temp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}`);
    let fh;
    try {
      fh = await open(temp, TEMP_FLAGS, DUMP_FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new DumpFileError(`${target}: cannot create a temporary file: ${(err as Error).message}`);
    }
    try {
      await fh.writeFile(text);
      await fh.close();
      await rename(temp, target);
      return target;
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(temp).catch(() => {});
      throw new DumpFileError(`${target}: ${(err as Error).message}`);
    }
  }
  throw new DumpFileError(`${target}: no free temporary name after 4 tries`);
}

// ------------------------------------------------------------------------------------------------
// keepalived's files: /tmp/keepalived.data (SIGUSR1), .stats (SIGUSR2), .json (its JSON signal)
// ------------------------------------------------------------------------------------------------

/** keepalived's default file names (vrrp_print.c, vrrp_json.c). */
export const KEEPALIVED_DUMP_FILES = { data: 'keepalived.data', stats: 'keepalived.stats', json: 'keepalived.json' } as const;
export type KeepalivedDumpKind = keyof typeof KEEPALIVED_DUMP_FILES;

/** What names the dump files (global_defs, the top-level `instance`/`net_namespace`, `--dump-dir` or $TMPDIR). */
export interface DumpFileSettings {
  /** keepalived's tmp_dir: `--dump-dir`, else $TMPDIR when absolute, else /tmp. */
  readonly dir: string;
  /** `state_dump_file` / `stats_dump_file` / `json_dump_file`: a path, a name, or a directory ending in `/`. */
  readonly stateDumpFile?: string;
  readonly statsDumpFile?: string;
  readonly jsonDumpFile?: string;
  /** `data_use_instance` with `instance` and/or `net_namespace`: `keepalived.NS_INSTANCE.data`. */
  readonly dataUseInstance?: boolean;
  readonly instanceName?: string;
  readonly netNamespace?: string;
}

/**
 * The path keepalived writes a dump to (global_data.c open_dump_file): the setting's directory if
 * it starts with `/` (the setting itself if it ends in `/`), else `dir`; the setting's file name
 * unless it ends in `/`, else keepalived's. With data_use_instance (the data file only, as
 * keepalived 2.2.7), `.NAMESPACE_INSTANCE` goes before the extension.
 */
export function keepalivedDumpPath(kind: KeepalivedDumpKind, s: DumpFileSettings): string {
  const setting = kind === 'data' ? s.stateDumpFile : kind === 'stats' ? s.statsDumpFile : s.jsonDumpFile;
  let dir = s.dir.replace(/\/+$/, '') || '/';
  let name: string = KEEPALIVED_DUMP_FILES[kind];
  if (setting) {
    const slash = setting.lastIndexOf('/');
    if (setting.startsWith('/')) dir = setting.slice(0, slash) || '/';
    if (!setting.endsWith('/')) name = setting.slice(slash + 1);
  }
  if (kind === 'data' && s.dataUseInstance && (s.instanceName || s.netNamespace)) {
    const dot = name.lastIndexOf('.');
    const [stem, ext] = dot < 0 ? [name, ''] : [name.slice(0, dot), name.slice(dot)];
    const tag = [s.netNamespace, s.instanceName].filter((x) => x).join('_');
    name = `${stem}.${tag}${ext}`;
  }
  return `${dir === '/' ? '' : dir}/${name}`;
}

/** Per instance, what keepalived's data and JSON dumps show that the router snapshot lacks (from its configuration). */
export interface KeepalivedInstanceView {
  readonly syncGroup?: string;
  readonly unicastPeers: readonly string[];
  readonly srcIp?: string;
  readonly mcastGroup: string;
  readonly garpDelayMs: number;
  readonly garpRepeat: number;
  readonly garpRefreshMs: number;
  readonly garpRefreshRepeat: number;
  readonly garpLowerPrioDelayMs: number;
  readonly garpLowerPrioRepeat: number;
  readonly lowerPrioNoAdvert: boolean;
  readonly higherPrioSendAdvert: boolean;
  readonly accept: boolean;
  readonly nopreempt: boolean;
  readonly preemptDelayMs: number;
  readonly strict: boolean;
  readonly skipCheckAdvAddr: boolean;
  readonly dontTrackPrimary: boolean;
  readonly promoteSecondaries: boolean;
  readonly smtpAlert: boolean;
  readonly notifyDeleted: boolean;
  readonly vmacIfname?: string;
  /** `script_master`, `script_backup`, ... as keepalived's JSON names them (the command lines). */
  readonly scripts: Readonly<Record<string, string>>;
  readonly excludedVips: readonly string[];
  readonly virtualRoutes: readonly string[];
  readonly virtualRules: readonly string[];
  readonly trackInterfaces: readonly string[];
  /** The tracked vrrp_scripts' command lines. */
  readonly trackScripts: readonly string[];
  /** 0 none, 1 PASS, 2 AH (keepalived's auth_type). */
  readonly authType: number;
}

/** keepalived's state names (vrrp.h get_state_str) and numbers (VRRP_STATE_*). */
const KA_STATE: Readonly<Record<string, { name: string; n: number }>> = {
  init: { name: 'INIT', n: 0 },
  backup: { name: 'BACKUP', n: 1 },
  master: { name: 'MASTER', n: 2 },
  fault: { name: 'FAULT', n: 3 },
};
const kaState = (state: string) => KA_STATE[state] ?? { name: state.toUpperCase(), n: 97 };
const secsOf = (ms: number) => ms / 1000;

/**
 * keepalived.data (SIGUSR1): keepalived's "VRRP Topology" section, line for line where keepwatch
 * has the value (vrrp_data.c dump_vrrp); a header says which program wrote it.
 */
export function formatKeepalivedData(input: StateDumpInput, views: ReadonlyMap<string, KeepalivedInstanceView>): string {
  const out: string[] = [];
  const w = (s: string) => out.push(s);
  w('------< Global definitions >------');
  w(` Written by = keepwatch ${input.version}, pid ${input.pid}`);
  w(` Configuration file = ${input.configPath}`);
  w(` Time = ${iso(input.wallMs)}`);
  w('------< VRRP Topology >------');
  for (const { snapshot: s, vips } of input.instances) {
    const v = views.get(s.name);
    const st = kaState(s.state);
    w(` VRRP Instance = ${s.name}`);
    w(`   VRRP Version = ${s.version}`);
    if (v?.syncGroup) w(`   Sync group = ${v.syncGroup}`);
    if (s.family === 'ipv6') w('   Using Native IPv6');
    w(`   State = ${st.name}`);
    if (s.state === 'backup' && s.master && !s.master.self) {
      w(`   Master router = ${s.master.address}`);
      w(`   Master priority = ${s.master.priority}`);
      if (s.version === 3) w(`   Master advert int = ${secsOf(s.masterAdvertIntervalMs).toFixed(2)} sec`);
    }
    w(v && v.unicastPeers.length > 0 ? '   Flags:' : '   Flags: none');
    if (v && v.unicastPeers.length > 0) w('     Using unicast');
    w(`   Wantstate = ${st.name}`);
    w(`   Number of interface and track script faults = ${s.faults.length}`);
    if (s.lastTransition) w(`   Last transition = ${(s.lastTransition.wallMs / 1000).toFixed(6)} (${iso(s.lastTransition.wallMs)})`);
    w(`   Master down timer = ${Math.round(s.masterDownIntervalMs * 1000)} usecs`);
    if (v?.vmacIfname) w(`   Interface = ${v.vmacIfname}, vmac on ${s.interface}`);
    else w(`   Interface = ${s.interface}`);
    if (v?.dontTrackPrimary) w('   VRRP interface tracking disabled');
    if (v?.skipCheckAdvAddr) w('   Skip checking advert IP addresses');
    if (v?.strict) w('   Enforcing strict VRRP compliance');
    w(`   Using src_ip = ${v?.srcIp ?? '(none)'}${v?.srcIp ? ' (from configuration)' : ''}`);
    if (v && v.unicastPeers.length === 0) w(`   Multicast address ${v.mcastGroup}`);
    if (v) {
      w(`   Gratuitous ARP delay = ${Math.floor(v.garpDelayMs / 1000)}`);
      w(`   Gratuitous ARP repeat = ${v.garpRepeat}`);
      w(`   Gratuitous ARP refresh = ${Math.floor(v.garpRefreshMs / 1000)}`);
      w(`   Gratuitous ARP refresh repeat = ${v.garpRefreshRepeat}`);
      w(`   Gratuitous ARP lower priority delay = ${Math.floor(v.garpLowerPrioDelayMs / 1000)}`);
      w(`   Gratuitous ARP lower priority repeat = ${v.garpLowerPrioRepeat}`);
      w(`   Send advert after receive lower priority advert = ${v.lowerPrioNoAdvert ? 'false' : 'true'}`);
      w(`   Send advert after receive higher priority advert = ${v.higherPrioSendAdvert ? 'true' : 'false'}`);
    }
    w(`   Virtual Router ID = ${s.vrid}`);
    w(`   Priority = ${s.basePriority}`);
    w(`   Effective priority = ${s.effectivePriority}`);
    w(`   Advert interval = ${s.version === 2 ? `${Math.round(s.advertIntervalMs / 1000)} sec` : `${s.advertIntervalMs} milli-sec`}`);
    if (s.state === 'backup' && s.version === 3) w(`   Master advert interval = ${s.masterAdvertIntervalMs} milli-sec`);
    if (v) {
      w(`   Accept = ${v.accept ? 'enabled' : 'disabled'}`);
      w(`   Preempt = ${v.nopreempt ? 'disabled' : 'enabled'}`);
      if (v.preemptDelayMs) w(`   Preempt delay = ${v.preemptDelayMs / 1000} secs`);
      w(`   Promote_secondaries = ${v.promoteSecondaries ? 'enabled' : 'disabled'}`);
      w(`   Authentication type = ${v.authType === 0 ? 'none' : v.authType === 1 ? 'SIMPLE_PASSWORD' : 'IPSEC_AH'}`);
    }
    if (vips.length > 0) {
      w(`   Virtual IP (${vips.length}):`);
      for (const ip of vips) w(`     ${ip.address} dev ${ip.interface}${ip.present ? '' : ' (not set)'}`);
    }
    if (v && v.excludedVips.length > 0) {
      w('   Virtual IP Excluded :');
      for (const ip of v.excludedVips) w(`     ${ip}`);
    }
    if (v && v.unicastPeers.length > 0) {
      w('   Unicast Peer :');
      for (const p of v.unicastPeers) w(`     ${p}`);
    }
    if (v && v.virtualRoutes.length > 0) {
      w('   Virtual Routes :');
      for (const r of v.virtualRoutes) w(`     ${r}`);
    }
    if (v && v.virtualRules.length > 0) {
      w('   Virtual Rules :');
      for (const r of v.virtualRules) w(`     ${r}`);
    }
    if (v && v.trackInterfaces.length > 0) {
      w('   Tracked interfaces :');
      for (const t of v.trackInterfaces) w(`     ${t}`);
    }
    if (v && v.trackScripts.length > 0) {
      w('   Tracked scripts :');
      for (const t of v.trackScripts) w(`     ${t}`);
    }
    if (s.faults.length > 0) w(`   Faults = ${s.faults.join(', ')}`);
    if (s.held) w(`   Held by the split-brain guard = ${s.held}`);
    if (v?.smtpAlert) w('   Using smtp notification = yes');
    for (const [k, cmd] of Object.entries(v?.scripts ?? {})) w(`   ${k} = ${cmd}`);
  }
  // Sync groups (vrrp_data.c dump_sync_group): the group's state is its members' (FAULT if any is,
  // else INIT if any is, else the first member's).
  const groups = new Map<string, { state: string; n: number }[]>();
  for (const { snapshot: s } of input.instances) {
    const g = views.get(s.name)?.syncGroup;
    if (g) groups.set(g, [...(groups.get(g) ?? []), { state: s.state, n: input.instances.findIndex((x) => x.snapshot === s) }]);
  }
  if (groups.size > 0) w('------< VRRP Sync groups >------');
  for (const [name, members] of groups) {
    const fault = members.filter((m) => m.state === 'fault').length;
    const init = members.filter((m) => m.state === 'init').length;
    w(` VRRP Sync Group = ${name}, ${kaState(fault ? 'fault' : init ? 'init' : members[0]!.state).name}`);
    w(`   Num member fault ${fault}, num member init ${init}`);
    w('   VRRP member instances :');
    for (const m of members) w(`     ${input.instances[m.n]!.snapshot.name}`);
  }
  return `${out.join('\n')}\n`;
}

/** keepalived's packet-error counters from keepwatch's drop reasons (vrrp.c vrrp_check_packet). */
function kaErrors(dropped: Readonly<Record<string, number>>) {
  const n = (...reasons: string[]) => reasons.reduce((sum, r) => sum + (dropped[r] ?? 0), 0);
  return {
    packetLen: n('length-invalid', 'ip-header-invalid'),
    ttl: n('ttl-not-255'),
    invalidType: n('type-invalid', 'version-invalid', 'version-mismatch'),
    advertInterval: n('interval-mismatch', 'interval-invalid'),
    addrList: 0,
    invalidAuthType: 0,
    authTypeMismatch: n('auth-type-mismatch'),
    authFailure: n('auth-mismatch', 'ah-replay'),
  };
}

/** keepalived.stats (SIGUSR2): keepalived's text, per instance (vrrp_print.c vrrp_print_stats). */
export function formatKeepalivedStats(stats: StatsDump): string {
  const out: string[] = [];
  for (const i of stats.instances) {
    const e = kaErrors(i.adverts.droppedByReason);
    out.push(
      `VRRP Instance: ${i.name}`,
      '  Advertisements:',
      `    Received: ${i.adverts.received}`,
      `    Sent: ${i.adverts.sent}`,
      `  Became master: ${i.transitions.becameMaster}`,
      `  Released master: ${i.transitions.releasedMaster}`,
      '  Packet Errors:',
      `    Length: ${e.packetLen}`,
      `    TTL: ${e.ttl}`,
      `    Invalid Type: ${e.invalidType}`,
      `    Advertisement Interval: ${e.advertInterval}`,
      `    Address List: ${i.adverts.addressListMismatch}`,
      '  Authentication Errors:',
      `    Invalid Type: ${e.invalidAuthType}`,
      `    Type Mismatch: ${e.authTypeMismatch}`,
      `    Failure: ${e.authFailure}`,
      '  Priority Zero:',
      `    Received: ${i.adverts.priorityZeroReceived}`,
      `    Sent: ${i.adverts.priorityZeroSent}`,
    );
  }
  return `${out.join('\n')}\n`;
}

/**
 * keepalived.json (keepalived's JSON signal; keepwatch writes it with SIGUSR1): keepalived 2.2.7's
 * layout (vrrp_json.c), an array of `{ data, stats }`. `auth_data` is left out: keepwatch writes
 * no secret to a file.
 */
export function formatKeepalivedJson(input: StateDumpInput, views: ReadonlyMap<string, KeepalivedInstanceView>, stats: StatsDump): unknown[] {
  const statsOf = new Map(stats.instances.map((i) => [i.name, i]));
  return input.instances.map(({ snapshot: s, vips }) => {
    const v = views.get(s.name);
    const st = kaState(s.state);
    const data: Record<string, unknown> = {
      iname: s.name,
      dont_track_primary: v?.dontTrackPrimary ? 1 : 0,
      skip_check_adv_addr: v?.skipCheckAdvAddr ? 1 : 0,
      strict_mode: v?.strict ? 1 : 0,
      ...(v?.vmacIfname ? { vmac_ifname: v.vmacIfname } : {}),
      ifp_ifname: s.interface,
      master_priority: s.master?.priority ?? 0,
      last_transition: s.lastTransition ? s.lastTransition.wallMs / 1000 : 0,
      garp_delay: secsOf(v?.garpDelayMs ?? 0),
      garp_refresh: Math.floor((v?.garpRefreshMs ?? 0) / 1000),
      garp_rep: v?.garpRepeat ?? 0,
      garp_refresh_rep: v?.garpRefreshRepeat ?? 0,
      garp_lower_prio_delay: Math.floor((v?.garpLowerPrioDelayMs ?? 0) / 1000),
      garp_lower_prio_rep: v?.garpLowerPrioRepeat ?? 0,
      lower_prio_no_advert: v?.lowerPrioNoAdvert ? 1 : 0,
      higher_prio_send_advert: v?.higherPrioSendAdvert ? 1 : 0,
      vrid: s.vrid,
      base_priority: s.basePriority,
      effective_priority: s.effectivePriority,
      vipset: s.state === 'master',
      promote_secondaries: v?.promoteSecondaries ?? false,
      adver_int: secsOf(s.advertIntervalMs),
      master_adver_int: secsOf(s.masterAdvertIntervalMs),
      accept: v?.accept ? 1 : 0,
      nopreempt: v?.nopreempt ?? false,
      preempt_delay: Math.floor((v?.preemptDelayMs ?? 0) / 1000),
      state: st.n,
      wantstate: st.n,
      version: s.version,
      smtp_alert: v?.smtpAlert ?? false,
      notify_deleted: v?.notifyDeleted ?? false,
      ...(v?.scripts ?? {}),
      ...(vips.length > 0 ? { vips: vips.map((x) => `${x.address} dev ${x.interface} scope global`) } : {}),
      ...(v && v.excludedVips.length > 0 ? { evips: v.excludedVips } : {}),
      ...(v && v.virtualRoutes.length > 0 ? { vroutes: v.virtualRoutes } : {}),
      ...(v && v.virtualRules.length > 0 ? { vrules: v.virtualRules } : {}),
      ...(v && v.trackInterfaces.length > 0 ? { track_ifp: v.trackInterfaces } : {}),
      ...(v && v.trackScripts.length > 0 ? { track_script: v.trackScripts } : {}),
      auth_type: v?.authType ?? 0,
    };
    const i = statsOf.get(s.name);
    const e = kaErrors(i?.adverts.droppedByReason ?? {});
    const st2 = {
      advert_rcvd: i?.adverts.received ?? 0,
      advert_sent: i?.adverts.sent ?? 0,
      become_master: i?.transitions.becameMaster ?? 0,
      release_master: i?.transitions.releasedMaster ?? 0,
      packet_len_err: e.packetLen,
      advert_interval_err: e.advertInterval,
      ip_ttl_err: e.ttl,
      invalid_type_rcvd: e.invalidType,
      addr_list_err: i?.adverts.addressListMismatch ?? 0,
      invalid_authtype: e.invalidAuthType,
      authtype_mismatch: e.authTypeMismatch,
      auth_failure: e.authFailure,
      pri_zero_rcvd: i?.adverts.priorityZeroReceived ?? 0,
      pri_zero_sent: i?.adverts.priorityZeroSent ?? 0,
    };
    return { data, stats: st2 };
  });
}
