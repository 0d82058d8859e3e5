/**
 * Tracked objects, with keepalived's semantics, turned into each instance's priority offset and
 * faults: `vrrp_script` (run every `interval`, `rise`/`fall`, `timeout`, `init_fail`, `weight`
 * [reverse], per-instance weight in `track_script`), `track_interface` (link state) and
 * `track_file` (an integer in a file × weight) and `track_process` (a quorum of processes,
 * track-process.ts). Group-level `track_*` of a `vrrp_sync_group` apply to every member; the
 * members' own weighted trackers (but a track_process, which keepalived 2.2.7 keeps) are already
 * gone from the model unless the group says `sync_group_tracking_weight` (config/assemble.ts
 * syncGroupWeights, keepalived #2105): what the model says is what runs.
 *
 * Weights (keepalived.conf(5)): negative — subtracted while the object is failing; positive — added
 * while it is good; 0 — a failure puts the instance in FAULT. `reverse` swaps good and failing.
 * The router clamps the result to 1-254 and never changes an owner (255).
 */
import type { KeepalivedConfig, TrackReference, VrrpInstanceConfig, VrrpScriptConfig } from '../config/model.js';
import type { VrrpRouter } from '../core/router.js';
import type { AgentBus, ScriptStatus, TrackEvent } from '../events/index.js';
import type { Clock, ProcessRunner, ProcessTable, TimerHandle } from '../ports/index.js';
import { checkScript } from './run.js';
import { ProcessQuorum, TRACK_PROCESS_POLL_MS, countMatches } from './track-process.js';
import { readTrackFile, type TrackFileProblem, type TrackFileRead } from './track-file.js';
import type { ScriptUsers } from './users.js';

export type { ScriptStatus, TrackEvent };

export interface TrackerDeps {
  readonly config: KeepalivedConfig;
  routers(): readonly VrrpRouter[];
  /** Whether a link is up (netlink); undefined when the interface does not exist. */
  linkUp(iface: string): boolean | undefined;
  readonly bus: AgentBus;
  /** Every interval, timeout and poll. */
  readonly clock: Pick<Clock, 'setTimer' | 'clearTimer'>;
  /** Runs the scripts and checks them first (src/adapters/process.ts). */
  readonly processes: Pick<ProcessRunner, 'run' | 'checkExecutable'>;
  /**
   * Who scripts run as (src/tracking/users.ts): a script's own `user`, else the default. Absent:
   * scripts run as this process (tests).
   */
  readonly users?: ScriptUsers;
  /** Reads one track_file; default readTrackFile (src/tracking/track-file.ts). */
  readonly readTrackFile?: (path: string) => Promise<TrackFileRead>;
  /**
   * The host's processes, for track_process (src/adapters/proc-table.ts). Absent: a tracked
   * process is never found (its quorum is lost).
   */
  readonly processTable?: ProcessTable;
  /** How often the process table is read (default TRACK_PROCESS_POLL_MS). */
  readonly processPollMs?: number;
}

/** keepalived reads every track_file once a second. */
export const TRACK_FILE_POLL_MS = 1000;

interface ScriptState {
  readonly cfg: VrrpScriptConfig;
  readonly argv: string[];
  status: ScriptStatus;
  successes: number;
  failures: number;
  running: boolean;
  timer: TimerHandle | undefined;
}

interface FileState {
  value: number;
  readonly path: string;
  /** The last read's result; undefined before the first read. */
  result: 'ok' | TrackFileProblem | undefined;
}

/** Every tracked object an instance uses: its own, and its sync group's. */
function refsOf(i: VrrpInstanceConfig, config: KeepalivedConfig) {
  const group = config.syncGroups.find((g) => g.members.some((m) => m.name === i.name));
  return {
    scripts: [...i.trackScripts, ...(group?.trackScripts ?? [])],
    interfaces: [...i.trackInterfaces, ...(group?.trackInterfaces ?? [])],
    files: [...i.trackFiles, ...(group?.trackFiles ?? [])],
    processes: [...(i.trackProcesses ?? []), ...(group?.trackProcesses ?? [])],
  };
}

export class TrackerSet {
  private readonly scripts = new Map<string, ScriptState>();
  private readonly files = new Map<string, FileState>();
  private fileTimer: TimerHandle | undefined;
  private readonly processes = new Map<string, ProcessQuorum>();
  private processTimer: TimerHandle | undefined;
  /** Processes tracked with full_command: only then is every command line read. */
  private readonly needArgv: boolean;
  /** Fault keys currently set per instance, so cleared ones are released. */
  private readonly faultKeys = new Map<string, Set<string>>();
  private readonly lastWeights = new Map<string, number>();
  private stopped = false;

  constructor(private readonly deps: TrackerDeps) {
    const used = new Set(deps.config.instances.flatMap((i) => refsOf(i, deps.config).scripts.map((r) => r.name)));
    for (const cfg of deps.config.scripts) {
      if (!used.has(cfg.name)) continue;
      const problem = checkScript(deps.processes, cfg.argv, { scriptSecurity: deps.config.global.enableScriptSecurity });
      const st: ScriptState = { cfg, argv: [...cfg.argv], status: problem ? 'disabled' : cfg.initFail ? 'failed' : 'init', successes: 0, failures: 0, running: false, timer: undefined };
      this.scripts.set(cfg.name, st);
      if (problem) deps.bus.emit({ type: 'script-status', script: cfg.name, status: 'disabled', detail: `${problem.message}: the script is not run and not tracked (as keepalived does)` });
    }
    for (const f of deps.config.trackFiles) this.files.set(f.name, { value: f.initFile?.value ?? 0, path: f.file, result: undefined });
    const usedProcesses = new Set(deps.config.instances.flatMap((i) => refsOf(i, deps.config).processes.map((r) => r.name)));
    for (const cfg of deps.config.trackProcesses ?? []) {
      if (!usedProcesses.has(cfg.name)) continue;
      const q: ProcessQuorum = new ProcessQuorum(cfg, deps.clock, (up, count) => {
        deps.bus.emit({ type: 'track-process', process: cfg.name, count, up, quorum: cfg.quorum, quorumMax: cfg.quorumMax });
        if (!this.stopped) this.apply();
      });
      this.processes.set(cfg.name, q);
    }
    this.needArgv = [...this.processes.values()].some((q) => q.cfg.fullCommand);
  }

  /**
   * Carries the state of unchanged scripts and files over from the trackers of the previous
   * config (SIGHUP), so a reload does not reset a failing check to "unknown" and move the VIP.
   */
  adopt(previous: TrackerSet): void {
    for (const [name, s] of this.scripts) {
      const old = previous.scripts.get(name);
      if (!old || s.status === 'disabled' || JSON.stringify(old.cfg) !== JSON.stringify(s.cfg)) continue;
      s.status = old.status;
      s.successes = old.successes;
      s.failures = old.failures;
    }
    for (const [name, f] of this.files) {
      const old = previous.files.get(name);
      if (old && old.path === f.path) {
        f.value = old.value;
        f.result = old.result;
      }
    }
    for (const [name, q] of this.processes) {
      const old = previous.processes.get(name);
      if (old && JSON.stringify(old.cfg) === JSON.stringify(q.cfg)) q.adopt(old);
    }
  }

  start(): void {
    const clock = this.deps.clock;
    for (const s of this.scripts.values()) {
      if (s.status === 'disabled') continue;
      this.deps.bus.emit({ type: 'script-status', script: s.cfg.name, status: s.status });
      const tick = () => {
        if (this.stopped) return;
        void this.run(s);
        s.timer = clock.setTimer(s.cfg.intervalMs, tick);
      };
      s.timer = clock.setTimer(0, tick);
    }
    if (this.files.size > 0) {
      const poll = () => {
        if (this.stopped) return;
        void this.readFiles().then(() => {
          if (!this.stopped) this.fileTimer = clock.setTimer(TRACK_FILE_POLL_MS, poll);
        });
      };
      poll();
    }
    if (this.processes.size > 0) {
      const every = this.deps.processPollMs ?? TRACK_PROCESS_POLL_MS;
      const scan = () => {
        if (this.stopped) return;
        void this.scanProcesses().then(() => {
          if (!this.stopped) this.processTimer = clock.setTimer(every, scan);
        });
      };
      scan();
    }
    this.apply();
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.scripts.values()) if (s.timer) this.deps.clock.clearTimer(s.timer);
    if (this.fileTimer) this.deps.clock.clearTimer(this.fileTimer);
    if (this.processTimer) this.deps.clock.clearTimer(this.processTimer);
    for (const q of this.processes.values()) q.cancel();
  }

  /** Each vrrp_track_process's count and quorum (undefined: not scanned yet), for views. */
  allProcesses(): { name: string; count: number; up: boolean | undefined }[] {
    return [...this.processes.values()].map((q) => ({ name: q.cfg.name, count: q.count, up: q.up }));
  }

  /**
   * One read of the process table; every tracked process's count from it. A table that cannot
   * be read counts nothing (the quorum is lost, as when the processes are gone).
   */
  private async scanProcesses(): Promise<void> {
    const table = this.deps.processTable;
    const scan = table ? await table.scan({ argv: this.needArgv }) : { processes: [], truncated: false };
    if (this.stopped) return;
    if (scan.truncated) this.deps.bus.emit({ type: 'process-scan-truncated', read: scan.processes.length });
    for (const q of this.processes.values()) {
      const count = countMatches(q.cfg, scan.processes);
      const before = q.count;
      const upBefore = q.up;
      q.update(count);
      // A count change that leaves the quorum as it was is an event too (logs, the gauge); a
      // quorum change was one already (ProcessQuorum's onChange).
      if (upBefore !== undefined && q.up === upBefore && count !== before) this.deps.bus.emit({ type: 'track-process', process: q.cfg.name, count, up: upBefore, quorum: q.cfg.quorum, quorumMax: q.cfg.quorumMax });
    }
  }

  /** A link changed: recompute (the agent calls this from netlink events). */
  onLinkChange(): void {
    this.apply();
  }

  /** Who this set's scripts run as (undefined: as this process). */
  get users(): ScriptUsers | undefined {
    return this.deps.users;
  }

  scriptStatus(name: string): ScriptStatus | undefined {
    return this.scripts.get(name)?.status;
  }

  allScripts(): { name: string; status: ScriptStatus }[] {
    return [...this.scripts.values()].map((s) => ({ name: s.cfg.name, status: s.status }));
  }

  /** Never two runs of one script at once; a run still going at the next interval is skipped. */
  private async run(s: ScriptState): Promise<void> {
    if (s.running) return;
    s.running = true;
    const runAs = this.deps.users?.scripts.get(s.cfg.name) ?? this.deps.users?.default;
    const o = await this.deps.processes.run(s.argv, { timeoutMs: s.cfg.timeoutMs, ...(runAs ? { runAs } : {}) });
    s.running = false;
    if (this.stopped) return;
    this.deps.bus.emit({ type: 'script-result', script: s.cfg.name, result: o.result, durationMs: o.durationMs, exitCode: o.exitCode, ...(o.error ? { error: o.error } : {}) });
    const ok = o.result === 'ok';
    if (ok) {
      s.successes++;
      s.failures = 0;
    } else {
      s.failures++;
      s.successes = 0;
    }
    const before = s.status;
    if (ok && s.status !== 'good' && s.successes >= s.cfg.rise) s.status = 'good';
    if (!ok && s.status !== 'failed' && s.failures >= s.cfg.fall) s.status = 'failed';
    if (s.status !== before) {
      this.deps.bus.emit({ type: 'script-status', script: s.cfg.name, status: s.status, detail: `${o.result}${o.exitCode !== null ? ` (exit ${o.exitCode})` : ''}` });
      this.apply();
    }
  }

  /**
   * One pass over the track_files, one file at a time (src/tracking/track-file.ts: a FIFO, a
   * device or a huge file is refused without blocking, and counts as 0).
   */
  private async readFiles(): Promise<void> {
    let changed = false;
    const read = this.deps.readTrackFile ?? readTrackFile;
    for (const [name, f] of this.files) {
      const r = await read(f.path);
      if (this.stopped) return;
      const value = r.ok ? r.value : 0;
      const result = r.ok ? 'ok' : r.problem;
      this.deps.bus.emit({ type: 'track-file-read', tracker: `file:${name}`, file: f.path, result, ...(f.result ? { previous: f.result } : {}), value, ...(r.ok ? {} : { detail: r.detail }) });
      f.result = result;
      if (value !== f.value) {
        f.value = value;
        changed = true;
      }
    }
    if (changed) this.apply();
  }

  /** Recomputes every instance's offset and tracker faults and hands them to the routers. */
  apply(): void {
    for (const r of this.deps.routers()) {
      const refs = refsOf(r.config, this.deps.config);
      let offset = 0;
      const faults = new Map<string, string>();
      const weigh = (tracker: string, weight: number) => {
        offset += weight;
        const key = `${r.name}|${tracker}`;
        if (this.lastWeights.get(key) !== weight) {
          this.lastWeights.set(key, weight);
          this.deps.bus.emit({ type: 'track-weight', instance: r.name, vrid: r.config.vrid, tracker, weight });
        }
      };
      for (const ref of refs.scripts) {
        const s = this.scripts.get(ref.name);
        if (!s || s.status === 'disabled') continue;
        const w = ref.weight ?? s.cfg.weight;
        const reverse = ref.reverse || s.cfg.weightReverse;
        const good = s.status === 'init' ? undefined : (s.status === 'good') !== reverse;
        if (w === 0) {
          if (good === false) faults.set(`script:${ref.name}`, `vrrp_script ${ref.name} failing`);
          weigh(`script:${ref.name}`, 0);
        } else weigh(`script:${ref.name}`, contribution(w, good));
      }
      for (const ref of refs.interfaces) {
        const up = this.deps.linkUp(ref.name) === true;
        const w = ref.weight ?? 0;
        const good = up !== ref.reverse;
        if (w === 0) {
          if (!good) faults.set(`interface:${ref.name}`, `tracked interface ${ref.name} ${up ? 'up (reverse)' : 'down'}`);
          weigh(`interface:${ref.name}`, 0);
        } else weigh(`interface:${ref.name}`, contribution(w, good));
      }
      for (const ref of refs.files) {
        const f = this.files.get(ref.name);
        const cfg = this.deps.config.trackFiles.find((t) => t.name === ref.name);
        if (!f || !cfg) continue;
        const w = ref.weight ?? cfg.weight;
        const reverse = ref.reverse || cfg.weightReverse;
        if (w === 0) {
          if ((f.value !== 0) !== reverse) faults.set(`file:${ref.name}`, `track_file ${ref.name} = ${f.value}`);
          weigh(`file:${ref.name}`, 0);
          continue;
        }
        const v = f.value * w * (reverse ? -1 : 1);
        // keepalived: a result of -254 or less means FAULT.
        if (v <= -254) faults.set(`file:${ref.name}`, `track_file ${ref.name} = ${f.value} (x ${w})`);
        weigh(`file:${ref.name}`, v);
      }
      for (const ref of refs.processes) {
        const q = this.processes.get(ref.name);
        if (!q) continue;
        const w = ref.weight ?? q.cfg.weight;
        const reverse = ref.reverse || q.cfg.weightReverse;
        const good = q.up === undefined ? undefined : q.up !== reverse;
        if (w === 0) {
          if (good === false) faults.set(`process:${ref.name}`, `track_process ${ref.name}: ${q.count} running, quorum ${q.cfg.quorum}${q.cfg.quorumMax < Number.MAX_SAFE_INTEGER ? `-${q.cfg.quorumMax}` : ''}${reverse ? ' (reverse)' : ''}`);
          weigh(`process:${ref.name}`, 0);
        } else weigh(`process:${ref.name}`, contribution(w, good));
      }
      const prev = this.faultKeys.get(r.name) ?? new Set<string>();
      for (const key of prev) if (!faults.has(key)) r.setFault(`track:${key}`, undefined);
      // Link faults of tracked interfaces: the link is down, the master can't say goodbye on it
      // only if it is the instance's own interface (handled by the agent); here the link is another.
      for (const [key, detail] of faults) r.setFault(`track:${key}`, detail);
      this.faultKeys.set(r.name, new Set(faults.keys()));
      r.setPriorityOffset(offset);
    }
  }
}

/** A tracker's weight given its state: negative weights count while failing, positive while good. */
function contribution(weight: number, good: boolean | undefined): number {
  if (good === undefined) return 0;
  if (weight < 0) return good ? 0 : weight;
  return good ? weight : 0;
}

export type { TrackReference };
