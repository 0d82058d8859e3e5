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
import { NOTIFY_RESULTS, type AgentBus, type NotifyResult, type NotifyRunEvent, type NotifyState, type StateChangedEvent, type VrrpState } from '../events/index.js';
import type { VrrpRouter } from '../core/router.js';
import type { Clock, ProcessRunner, RunAs } from '../ports/index.js';
import { checkScript, splitCommand } from '../tracking/run.js';

export { NOTIFY_RESULTS, type NotifyResult, type NotifyRunEvent, type NotifyState };

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
  /** Transitions come from it; results go to it. */
  readonly bus: AgentBus;
  /** The wall clock of the results (when a script started or was dropped). */
  readonly clock: Pick<Clock, 'wallNow'>;
  /** Runs the scripts (and checks them under enable_script_security): src/adapters/process.ts. */
  readonly processes: Pick<ProcessRunner, 'run' | 'checkExecutable'>;
  /** Who notify scripts run as now (a reload may change it); absent or undefined: this process. */
  readonly runAs?: () => RunAs | undefined;
  /** Each run's timeout (default NOTIFY_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/** keepalived has none; a notify script that hangs is killed after this. */
export const NOTIFY_TIMEOUT_MS = 30_000;

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

  constructor(private readonly deps: NotifierDeps) {
    deps.bus.on('state-changed', (e) => this.onTransition(e));
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
    const now = this.deps.clock.wallNow();
    for (const c of job.commands) {
      this.deps.bus.emit({ type: 'notify-run', scope: job.scope, name: job.name, state: job.state, command: c.argv.join(' '), result: 'coalesced', exitCode: null, durationMs: 0, startedWallMs: now, transitionWallMs: job.transitionWallMs, error: `not run: replaced by a newer transition (${newer}) while an earlier notify was still running` });
    }
  }

  private async run(job: NotifyJob): Promise<void> {
    for (const c of job.commands) {
      const startedWallMs = this.deps.clock.wallNow();
      const base = { type: 'notify-run', scope: job.scope, name: job.name, state: job.state, command: c.argv.join(' '), startedWallMs, transitionWallMs: job.transitionWallMs } as const;
      if (this.deps.config().global.enableScriptSecurity) {
        const p = checkScript(this.deps.processes, c.script, { scriptSecurity: true });
        if (p?.kind === 'insecure') {
          this.deps.bus.emit({ ...base, result: 'disabled', exitCode: null, durationMs: 0, error: `${p.message}: not run` });
          continue;
        }
      }
      const runAs = this.deps.runAs?.();
      const o = await this.deps.processes.run(c.argv, { timeoutMs: this.deps.timeoutMs ?? NOTIFY_TIMEOUT_MS, ...(runAs ? { runAs } : {}) });
      this.deps.bus.emit({ ...base, result: o.result, exitCode: o.exitCode, durationMs: o.durationMs, ...(o.error ? { error: o.error } : {}) });
    }
  }
}
