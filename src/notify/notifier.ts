/**
 * Notify scripts, as keepalived runs them: `notify_master`, `notify_backup`, `notify_fault`,
 * `notify_stop` and `notify_deleted` as written (the argv the config reader made, never split
 * again by a shell), and `notify` with four more arguments: `INSTANCE|GROUP`, the name, the state
 * (MASTER, BACKUP, FAULT, STOP, DELETED) and the priority (0 for a group, as keepalived). Each
 * runs as its line's `[user [group]]`, else the default script user. Results are events
 * (metrics, logs, spans).
 *
 * A reload that deletes an instance (reload.ts calls deleting() first): its notifies say DELETED
 * with `notify_deleted` (and `notify_deleted CMD` runs), else FAULT, as keepalived's always did.
 *
 * `notify_master_rx_lower_pri`: run (and `MASTER_RX_LOWER_PRI` written to the FIFOs) when the
 * instance, as master, hears an advert of lower priority (or of equal priority from a lower
 * address, as keepalived) — at most once per advert interval per
 * instance (keepalived runs it for every such advert; a peer stuck as master would fork a script
 * per second per instance).
 *
 * The notify FIFOs (fifo.ts) get a line for every transition, in order, as the transition
 * happens: they are not held up by a script that is still running.
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
import type { KeepalivedConfig, NotifyConfig, NotifyScripts, VrrpInstanceConfig } from '../config/model.js';
import { NOTIFY_RESULTS, type AdvertReceivedEvent, type AgentBus, type NotifyResult, type NotifyRunEvent, type NotifyState, type StateChangedEvent, type VrrpState } from '../events/index.js';
import type { VrrpRouter } from '../core/router.js';
import type { Clock, ProcessRunner, RunAs } from '../ports/index.js';
import { compareIp } from '../protocol/inet.js';
import { checkScript } from '../tracking/run.js';
import { accountKey } from '../tracking/users.js';
import { fifoLine, type NotifyFifos } from './fifo.js';

export { NOTIFY_RESULTS, type NotifyResult, type NotifyRunEvent, type NotifyState };

/** One command of a transition: what runs, and who runs it (`[user [group]]`; absent: the default). */
export interface NotifyCommand {
  readonly argv: readonly string[];
  readonly user?: string;
  readonly group?: string;
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

const commandOf = (c: NotifyConfig, extra: readonly string[] = []): NotifyCommand => ({
  argv: [...c.argv, ...extra],
  ...(c.user !== undefined ? { user: c.user } : {}),
  ...(c.group !== undefined ? { group: c.group } : {}),
});

/** The commands keepalived runs for a state change, in its order: the specific one, then `notify`. */
export function notifyCommands(n: NotifyScripts, scope: 'INSTANCE' | 'GROUP', name: string, state: NotifyState, priority: number): NotifyCommand[] {
  const specific = { MASTER: n.master, BACKUP: n.backup, FAULT: n.fault, STOP: n.stop, DELETED: n.deleted }[state];
  const out: NotifyCommand[] = [];
  if (specific) out.push(commandOf(specific));
  if (n.generic) out.push(commandOf(n.generic, [scope, name, state, String(priority)]));
  return out;
}

/** An instance's `notify_priority_changes`, else its group's, else global_defs'. */
export function notifiesPriorityChanges(config: KeepalivedConfig, inst: VrrpInstanceConfig): boolean {
  if (inst.notifyPriorityChanges !== undefined) return inst.notifyPriorityChanges;
  const g = config.syncGroups.find((x) => x.members.some((m) => m.name === inst.name));
  return g?.notifyPriorityChanges ?? config.global.vrrpNotifyPriorityChanges ?? false;
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
  /**
   * The `[user [group]]` of notify lines, resolved (tracking/users.ts ScriptUsers.accounts). A
   * command whose user is not there is not run (never as root in its place): result `error`.
   */
  readonly accounts?: () => ReadonlyMap<string, RunAs> | undefined;
  /** The notify FIFOs; absent: none. */
  readonly fifos?: NotifyFifos;
  /** Each run's timeout (default NOTIFY_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/** keepalived has none; a notify script that hangs is killed after this. */
export const NOTIFY_TIMEOUT_MS = 30_000;

/** The scripts of one transition. */
interface NotifyJob {
  readonly scope: 'INSTANCE' | 'GROUP';
  readonly name: string;
  readonly state: NotifyState | 'MASTER_RX_LOWER_PRI';
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
  /** Instances a reload is deleting: their stop says DELETED (or FAULT). */
  private readonly deletingNames = new Set<string>();
  /** When notify_master_rx_lower_pri last ran, per instance (monotonic ms of the advert). */
  private readonly lastLowerPri = new Map<string, number>();

  constructor(private readonly deps: NotifierDeps) {
    deps.bus.on('state-changed', (e) => this.onTransition(e));
    deps.bus.on('advert-received', (e) => this.onAdvert(e));
    deps.bus.on('priority-changed', (e) => this.onPriority(e.instance, e.to));
    deps.bus.on('reload', (e) => {
      // Every instance a reload deleted has stopped by now.
      this.deletingNames.clear();
      if (e.result !== 'success') return;
      deps.fifos?.sync();
      if (this.deps.config().global.fifoWriteVrrpStatesOnReload) this.writeStates();
    });
  }

  /**
   * A reload is about to stop these instances because the new config has them no more: their
   * stop is notified as DELETED (with `notify_deleted`) or FAULT, as keepalived does.
   */
  deleting(names: readonly string[]): void {
    for (const n of names) this.deletingNames.add(n);
  }

  /** Every instance's and group's state to the FIFOs (`fifo_write_vrrp_states_on_reload`). */
  writeStates(): void {
    const fifos = this.deps.fifos;
    if (!fifos?.active) return;
    const routers = this.deps.routers();
    for (const r of routers) {
      const st = notifyState(r.state);
      if (st) fifos.write(fifoLine('INSTANCE', r.name, st, r.effectivePriority));
    }
    for (const g of this.deps.config().syncGroups) {
      const st = this.groupStates.get(g.name);
      if (st) fifos.write(fifoLine('GROUP', g.name, st, 0));
    }
  }

  /** `notify_priority_changes`: MASTER_PRIORITY / BACKUP_PRIORITY lines. */
  private onPriority(instance: string, priority: number): void {
    const fifos = this.deps.fifos;
    if (!fifos?.active) return;
    const config = this.deps.config();
    const inst = config.instances.find((i) => i.name === instance);
    const r = this.deps.routers().find((x) => x.name === instance);
    if (!inst || !r || !notifiesPriorityChanges(config, inst)) return;
    if (r.state !== 'master' && r.state !== 'backup') return;
    fifos.write(fifoLine('INSTANCE', instance, r.state === 'master' ? 'MASTER_PRIORITY' : 'BACKUP_PRIORITY', priority));
  }

  /** A lower-priority advert heard as master: notify_master_rx_lower_pri, rate-limited. */
  private onAdvert(e: AdvertReceivedEvent): void {
    if (e.state !== 'master' || e.priority === 0) return;
    const r = this.deps.routers().find((x) => x.name === e.instance);
    if (!r) return;
    // keepalived vrrp_state_master_rx: lower, or equal from a lower address (the tie we win).
    const ours = r.sourceAddress();
    const lower = e.priority < r.effectivePriority || (e.priority === r.effectivePriority && ours !== undefined && e.source !== ours && compareIp(e.source, ours) < 0);
    if (!lower) return;
    const inst = this.deps.config().instances.find((i) => i.name === e.instance);
    if (!inst) return;
    const script = inst.notify.masterRxLowerPri;
    if (!script && !this.deps.fifos?.active) return;
    const last = this.lastLowerPri.get(inst.name);
    if (last !== undefined && e.atMs - last < inst.advertIntervalMs) return;
    this.lastLowerPri.set(inst.name, e.atMs);
    this.deps.fifos?.write(fifoLine('INSTANCE', inst.name, 'MASTER_RX_LOWER_PRI', r.effectivePriority));
    if (script) this.enqueue(`r:${inst.name}`, { scope: 'INSTANCE', name: inst.name, state: 'MASTER_RX_LOWER_PRI', commands: [commandOf(script)], transitionWallMs: this.deps.clock.wallNow() });
  }

  /** Resolves when every running and waiting script has finished (shutdown waits a while). */
  async idle(): Promise<void> {
    while (this.slots.size > 0) await Promise.allSettled([...this.slots.values()].map((s) => s.done));
  }

  /** What runs and waits now, per key (tests, /v1/state). */
  queued(): { key: string; running: NotifyJob['state']; pending: NotifyJob['state'] | undefined }[] {
    return [...this.slots].map(([key, s]) => ({ key, running: s.running.state, pending: s.pending?.state }));
  }

  private onTransition(e: StateChangedEvent): void {
    let state = notifyState(e.to);
    if (!state) return;
    const config = this.deps.config();
    const inst = config.instances.find((i) => i.name === e.instance);
    if (state === 'STOP' && this.deletingNames.delete(e.instance)) state = inst?.notifyDeleted ? 'DELETED' : 'FAULT';
    this.lastLowerPri.delete(e.instance);
    if (inst) {
      this.deps.fifos?.write(fifoLine('INSTANCE', inst.name, state, e.priority));
      this.enqueue(`i:${inst.name}`, { scope: 'INSTANCE', name: inst.name, state, commands: notifyCommands(inst.notify, 'INSTANCE', inst.name, state, e.priority), transitionWallMs: e.wallMs });
    }
    for (const name of this.groupStates.keys()) if (!config.syncGroups.some((g) => g.name === name)) this.groupStates.delete(name);
    // Sync groups: the group's own notify when the group as a whole changes state.
    for (const g of config.syncGroups) {
      if (!g.members.some((m) => m.name === e.instance)) continue;
      const members = this.deps.routers().filter((r) => g.members.some((m) => m.name === r.name));
      const states = members.map((r) => r.state);
      const gs: NotifyState = states.includes('fault') ? 'FAULT' : states.every((s) => s === 'master') ? 'MASTER' : states.every((s) => s === 'init') ? 'STOP' : 'BACKUP';
      if (this.groupStates.get(g.name) === gs) continue;
      this.groupStates.set(g.name, gs);
      // keepalived: "the prio will be indicated as zero for a group" (scripts and FIFO lines).
      this.deps.fifos?.write(fifoLine('GROUP', g.name, gs, 0));
      this.enqueue(`g:${g.name}`, { scope: 'GROUP', name: g.name, state: gs, commands: notifyCommands(g.notify, 'GROUP', g.name, gs, 0), transitionWallMs: e.wallMs });
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

  private drop(job: NotifyJob, newer: NotifyJob['state']): void {
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
        const p = checkScript(this.deps.processes, c.argv, { scriptSecurity: true });
        if (p?.kind === 'insecure') {
          this.deps.bus.emit({ ...base, result: 'disabled', exitCode: null, durationMs: 0, error: `${p.message}: not run` });
          continue;
        }
      }
      let runAs = this.deps.runAs?.();
      if (c.user !== undefined) {
        runAs = this.deps.accounts?.()?.get(accountKey(c.user, c.group));
        if (!runAs) {
          this.deps.bus.emit({ ...base, result: 'error', exitCode: null, durationMs: 0, error: `user ${c.user}${c.group ? ` ${c.group}` : ''} is not resolved: not run (never as root in its place)` });
          continue;
        }
      }
      const o = await this.deps.processes.run(c.argv, { timeoutMs: this.deps.timeoutMs ?? NOTIFY_TIMEOUT_MS, ...(runAs ? { runAs } : {}) });
      this.deps.bus.emit({ ...base, result: o.result, exitCode: o.exitCode, durationMs: o.durationMs, ...(o.error ? { error: o.error } : {}) });
    }
  }
}
