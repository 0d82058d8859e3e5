/**
 * `vrrp_track_process` (keepalived 2.2.7 core/track_process.c) against the host's process table
 * (the ProcessTable port; src/adapters/proc-table.ts reads /proc).
 *
 * keepalived follows forks and exits through the netlink proc connector; keepwatch scans the
 * table every TRACK_PROCESS_POLL_MS instead (500 ms: a process that dies is seen within half a
 * second, then `terminate_delay` applies). The result is the same count of matching processes;
 * a process that lives less than a poll interval may be missed, which the delays keepalived
 * users set for such flapping are meant to hide anyway.
 *
 * Matching (keepalived `read_procs`, `check_params`): without `full_command` the process name
 * (comm, at most 15 characters) equals `process`; with it argv[0] does, and the parameters are
 * compared by `param_match`: `exact` (the same parameters, no more — `param_match` without any
 * parameter: a process started without arguments), `partial` (these first, more may follow),
 * `initial` (as partial, and the last one may be the start of the process's), `none` (not looked
 * at).
 *
 * Quorum: up while quorum <= count <= quorum_max. A change must last `fork_delay` (gained) or
 * `terminate_delay` (lost) before it counts; a change back within the delay cancels it. The first
 * scan sets the state at once (keepalived reads /proc at start).
 *
 * Pure apart from the injected clock: the scanning loop is TrackerSet's (trackers.ts).
 */
import type { TrackProcessConfig } from '../config/model.js';
import type { Clock, ProcessEntry, TimerHandle } from '../ports/index.js';

export type { ProcessEntry };

/** How often the process table is read (keepalived reacts to proc connector events instead). */
export const TRACK_PROCESS_POLL_MS = 500;

/** keepalived `check_params`, on words instead of NUL-separated bytes. */
export function paramsMatch(cfg: Pick<TrackProcessConfig, 'params' | 'paramMatch'>, args: readonly string[]): boolean {
  const want = cfg.params;
  switch (cfg.paramMatch) {
    case 'none':
      return true;
    case 'exact':
      return args.length === want.length && want.every((w, i) => args[i] === w);
    case 'partial':
      return args.length >= want.length && want.every((w, i) => args[i] === w);
    case 'initial': {
      if (want.length === 0) return true;
      if (args.length < want.length) return false;
      const last = want.length - 1;
      return want.every((w, i) => (i < last ? args[i] === w : args[i]!.startsWith(w)));
    }
  }
}

/** Whether one process counts for a vrrp_track_process. */
export function matchesProcess(cfg: Pick<TrackProcessConfig, 'process' | 'params' | 'paramMatch' | 'fullCommand'>, p: ProcessEntry): boolean {
  if (!cfg.fullCommand) return p.comm === cfg.process;
  const argv = p.argv;
  if (!argv || argv.length === 0 || argv[0] !== cfg.process) return false;
  return paramsMatch(cfg, argv.slice(1));
}

/** How many processes of a scan count for `cfg`. */
export function countMatches(cfg: TrackProcessConfig, processes: readonly ProcessEntry[]): number {
  let n = 0;
  for (const p of processes) if (matchesProcess(cfg, p)) n++;
  return n;
}

/** One vrrp_track_process's quorum over successive counts, with keepalived's delays. */
export class ProcessQuorum {
  private countValue = 0;
  private upValue: boolean | undefined;
  private timer: TimerHandle | undefined;

  constructor(
    readonly cfg: TrackProcessConfig,
    private readonly clock: Pick<Clock, 'setTimer' | 'clearTimer'>,
    /** Called when `up` changes (after the delay), and once at the first count. */
    private readonly onChange: (up: boolean, count: number) => void,
  ) {}

  /** Undefined before the first scan. */
  get up(): boolean | undefined {
    return this.upValue;
  }

  get count(): number {
    return this.countValue;
  }

  /** Whether a change waits for its delay. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  private inRange(count: number): boolean {
    return count >= this.cfg.quorum && count <= this.cfg.quorumMax;
  }

  /** The state of a previous tracker of the same config (reload): no delay, no change. */
  adopt(previous: ProcessQuorum): void {
    this.countValue = previous.countValue;
    this.upValue = previous.upValue;
  }

  update(count: number): void {
    this.countValue = count;
    const now = this.inRange(count);
    if (this.upValue === undefined) {
      this.upValue = now;
      this.onChange(now, count);
      return;
    }
    if (now === this.upValue) {
      // Back within the delay: keepalived cancels the pending timer.
      this.cancel();
      return;
    }
    if (this.timer) return;
    const delayMs = now ? this.cfg.forkDelayMs : this.cfg.terminateDelayMs;
    if (delayMs <= 0) {
      this.upValue = now;
      this.onChange(now, count);
      return;
    }
    this.timer = this.clock.setTimer(delayMs, () => {
      this.timer = undefined;
      // keepalived re-reads the count when the timer expires.
      const then = this.inRange(this.countValue);
      if (then === this.upValue) return;
      this.upValue = then;
      this.onChange(then, this.countValue);
    });
  }

  cancel(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }
}
