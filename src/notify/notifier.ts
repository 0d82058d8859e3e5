/**
 * Notify scripts, as keepalived runs them: `notify_master`, `notify_backup`, `notify_fault` and
 * `notify_stop` as written, and `notify` with four more arguments: `INSTANCE|GROUP`, the name, the
 * state (MASTER, BACKUP, FAULT, STOP) and the priority. Results are events (metrics, logs, spans).
 *
 * Bounded, and never late with a stale state: per instance (and per sync group) at most ONE
 * transition's scripts run at a time and ONE waits. A newer transition replaces the waiting one —
 * the last state wins — and the replaced scripts are reported as `coalesced` (keepwatch_notify_
 * runs_total{result="coalesced"}). So a notify script that hangs (up to its timeout) while the
 * instance flaps 50 times leaves, when it ends, exactly one run to do: the current state's.
 * What runs, runs in transition order (keepalived users see out-of-order notifies; here they
 * cannot happen). Each run has a timeout (30 s by default; keepalived has none).
 *
 * `enable_script_security` covers notify scripts as it covers checks: a notify script writable by
 * a non-root user (or under such a directory) is not run, and each time it would have been, a
 * `disabled` result says so. The check is made when the script is due, so fixing the permissions
 * takes effect without a reload.
 */
import type { KeepalivedConfig, NotifyScripts } from '../config/model.js';
import type { CoreEvent, EventBus, StateChangedEvent, VrrpState } from '../core/events.js';
import type { VrrpRouter } from '../core/router.js';
import { checkScript, runCommand, splitCommand, RUN_RESULTS, type RunAs } from '../tracking/run.js';

/** Results of a notify script; a metric label (keepwatch_notify_runs_total). */
export const NOTIFY_RESULTS = [...RUN_RESULTS, 'coalesced', 'disabled'] as const;
export type NotifyResult = (typeof NOTIFY_RESULTS)[number];

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

export interface NotifyRunEvent {
  readonly type: 'notify-run';
  readonly scope: 'INSTANCE' | 'GROUP';
  readonly name: string;
  readonly state: NotifyState;
  readonly command: string;
  /**
   * A run's result, or `coalesced` (not run: a newer transition replaced it while another script
   * of the same instance/group was running) or `disabled` (not run: unsafe under
   * enable_script_security).
   */
  readonly result: NotifyResult;
  readonly exitCode: number | null;
  readonly durationMs: number;
  /** Wall clock when the script started (or was dropped). */
  readonly startedWallMs: number;
  /** Wall clock of the transition the script is for (startedWallMs minus this: how late it ran). */
  readonly transitionWallMs: number;
  readonly error?: string;
}

/** One command of a transition: argv, and the script as written (for the security check). */
export interface NotifyCommand {
  readonly argv: readonly string[];
  readonly script: string;
}

export function notifyState(to: VrrpState): NotifyState | undefined {
  switch (to) {
    case 'master':
      return 'MASTER';
    case 'backup':
      return 'BACKUP';
    case 'fault':
      return 'FAULT';
    case 'init':
      return 'STOP';
  }
}

/** The commands keepalived runs for a state change, in its order: the specific one, then `notify`. */
export function notifyCommands(n: NotifyScripts, scope: 'INSTANCE' | 'GROUP', name: string, state: NotifyState, priority: number): NotifyCommand[] {
  const specific = { MASTER: n.master, BACKUP: n.backup, FAULT: n.fault, STOP: n.stop }[state];
  const out: NotifyCommand[] = [];
  if (specific) out.push({ argv: splitCommand(specific.command), script: specific.command });
  if (n.generic) out.push({ argv: [...splitCommand(n.generic.command), scope, name, state, String(priority)], script: n.generic.command });
  return out;
}

export interface NotifierDeps {
  /** The current config (a reload may change the scripts). */
  config(): KeepalivedConfig;
  routers(): readonly VrrpRouter[];
  readonly core: EventBus<CoreEvent>;
  readonly events: EventBus<NotifyRunEvent>;
  /** Who notify scripts run as now (a reload may change it); absent or undefined: this process. */
  readonly runAs?: () => RunAs | undefined;
  readonly timeoutMs?: number;
  /** Wall clock (tests). */
  readonly wallNow?: () => number;
}

/** The scripts of one transition. */
interface NotifyJob {
  readonly scope: 'INSTANCE' | 'GROUP';
  readonly name: string;
  readonly state: NotifyState;
  readonly commands: readonly NotifyCommand[];
  readonly transitionWallMs: number;
}

/** One instance's (or group's) notifies: the job running, and at most one waiting. */
interface Slot {
  running: NotifyJob;
  pending: NotifyJob | undefined;
  done: Promise<void>;
}

export class Notifier {
  /** Key `i:NAME` / `g:NAME`; an entry lives while a job runs, so at most one per configured name. */
  private readonly slots = new Map<string, Slot>();
  /** The last state notified per sync group (pruned to the configured groups). */
  private readonly groupStates = new Map<string, NotifyState>();
  private readonly wallNow: () => number;

  constructor(private readonly deps: NotifierDeps) {
    this.wallNow = deps.wallNow ?? Date.now;
    deps.core.on('state-changed', (e) => this.onTransition(e));
  }

  /** Resolves when every running and waiting script has finished (shutdown waits a while). */
  async idle(): Promise<void> {
    while (this.slots.size > 0) await Promise.allSettled([...this.slots.values()].map((s) => s.done));
  }

  /** What runs and waits now, per key (tests, /v1/state). */
  queued(): { key: string; running: NotifyState; pending: NotifyState | undefined }[] {
    return [...this.slots].map(([key, s]) => ({ key, running: s.running.state, pending: s.pending?.state }));
  }

  private onTransition(e: StateChangedEvent): void {
    const state = notifyState(e.to);
    if (!state) return;
    const config = this.deps.config();
    const inst = config.instances.find((i) => i.name === e.instance);
    if (inst) this.enqueue(`i:${inst.name}`, { scope: 'INSTANCE', name: inst.name, state, commands: notifyCommands(inst.notify, 'INSTANCE', inst.name, state, e.priority), transitionWallMs: e.wallMs });
    for (const name of this.groupStates.keys()) if (!config.syncGroups.some((g) => g.name === name)) this.groupStates.delete(name);
    // Sync groups: the group's own notify when the group as a whole changes state.
    for (const g of config.syncGroups) {
      if (!g.members.some((m) => m.name === e.instance)) continue;
      const members = this.deps.routers().filter((r) => g.members.some((m) => m.name === r.name));
      const states = members.map((r) => r.state);
      const gs: NotifyState = states.includes('fault') ? 'FAULT' : states.every((s) => s === 'master') ? 'MASTER' : states.every((s) => s === 'init') ? 'STOP' : 'BACKUP';
      if (this.groupStates.get(g.name) === gs) continue;
      this.groupStates.set(g.name, gs);
      const prio = Math.max(0, ...members.map((r) => r.effectivePriority));
      this.enqueue(`g:${g.name}`, { scope: 'GROUP', name: g.name, state: gs, commands: notifyCommands(g.notify, 'GROUP', g.name, gs, prio), transitionWallMs: e.wallMs });
    }
  }

  private enqueue(key: string, job: NotifyJob): void {
    if (job.commands.length === 0) return;
    const slot = this.slots.get(key);
    if (!slot) {
      const s: Slot = { running: job, pending: undefined, done: Promise.resolve() };
      this.slots.set(key, s);
      s.done = this.drain(key, s);
      return;
    }
    if (slot.pending) this.drop(slot.pending, job.state);
    slot.pending = job;
  }

  /** Runs the slot's job, then whatever waits, until nothing does. Never rejects. */
  private async drain(key: string, slot: Slot): Promise<void> {
    try {
      for (;;) {
        await this.run(slot.running);
        const next = slot.pending;
        if (!next) break;
        slot.pending = undefined;
        slot.running = next;
      }
    } finally {
      this.slots.delete(key);
    }
  }

  private drop(job: NotifyJob, newer: NotifyState): void {
    const now = this.wallNow();
    for (const c of job.commands) {
      this.deps.events.emit({ type: 'notify-run', scope: job.scope, name: job.name, state: job.state, command: c.argv.join(' '), result: 'coalesced', exitCode: null, durationMs: 0, startedWallMs: now, transitionWallMs: job.transitionWallMs, error: `not run: replaced by a newer transition (${newer}) while an earlier notify was still running` });
    }
  }

  private async run(job: NotifyJob): Promise<void> {
    for (const c of job.commands) {
      const startedWallMs = this.wallNow();
      const base = { type: 'notify-run', scope: job.scope, name: job.name, state: job.state, command: c.argv.join(' '), startedWallMs, transitionWallMs: job.transitionWallMs } as const;
      if (this.deps.config().global.enableScriptSecurity) {
        const p = checkScript(c.script, { scriptSecurity: true });
        if (p?.kind === 'insecure') {
          this.deps.events.emit({ ...base, result: 'disabled', exitCode: null, durationMs: 0, error: `${p.message}: not run` });
          continue;
        }
      }
      const runAs = this.deps.runAs?.();
      const o = await runCommand(c.argv, { timeoutMs: this.deps.timeoutMs ?? 30_000, ...(runAs ? { runAs } : {}) });
      this.deps.events.emit({ ...base, result: o.result, exitCode: o.exitCode, durationMs: o.durationMs, ...(o.error ? { error: o.error } : {}) });
    }
  }
}
