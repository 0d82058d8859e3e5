/**
 * The signal dumps, as keepalived's: SIGUSR1 writes the state ("dump data": every instance's
 * state, priorities, master, VIPs, timers and the guard's view), SIGUSR2 the statistics (adverts
 * sent, received and dropped per reason, transitions). Each is one JSON document, logged as one
 * line and written to `DIR/keepwatch.data` or `DIR/keepwatch.stats` (DIR = /tmp by default, as
 * keepalived's /tmp/keepalived.data and /tmp/keepalived.stats).
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
