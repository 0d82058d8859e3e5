/**
 * Notify scripts, as keepalived runs them: `notify_master`, `notify_backup`, `notify_fault` and
 * `notify_stop` as written, and `notify` with four more arguments: `INSTANCE|GROUP`, the name, the
 * state (MASTER, BACKUP, FAULT, STOP) and the priority. Per instance (and per sync group) the
 * scripts run strictly in transition order, one at a time — keepalived users see out-of-order
 * notifies; here a queue prevents that — each with a timeout. Results are events (metrics, spans).
 */
import type { KeepalivedConfig, NotifyScripts } from '../config/model.js';
import type { CoreEvent, EventBus, StateChangedEvent, VrrpState } from '../core/events.js';
import type { VrrpRouter } from '../core/router.js';
import { runCommand, splitCommand, type RunAs, type RunResult } from '../tracking/run.js';

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

export interface NotifyRunEvent {
  readonly type: 'notify-run';
  readonly scope: 'INSTANCE' | 'GROUP';
  readonly name: string;
  readonly state: NotifyState;
  readonly command: string;
  readonly result: RunResult;
  readonly exitCode: number | null;
  readonly durationMs: number;
  /** Wall clock when the script started. */
  readonly startedWallMs: number;
  readonly error?: string;
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
export function notifyCommands(n: NotifyScripts, scope: 'INSTANCE' | 'GROUP', name: string, state: NotifyState, priority: number): string[][] {
  const specific = { MASTER: n.master, BACKUP: n.backup, FAULT: n.fault, STOP: n.stop }[state];
  const out: string[][] = [];
  if (specific) out.push(splitCommand(specific.command));
  if (n.generic) out.push([...splitCommand(n.generic.command), scope, name, state, String(priority)]);
  return out;
}

export interface NotifierDeps {
  /** The current config (a reload may change the scripts). */
  config(): KeepalivedConfig;
  routers(): readonly VrrpRouter[];
  readonly core: EventBus<CoreEvent>;
  readonly events: EventBus<NotifyRunEvent>;
  readonly runAs?: RunAs;
  readonly timeoutMs?: number;
}

export class Notifier {
  /** One promise chain per instance or group: strict order. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly groupStates = new Map<string, NotifyState>();

  constructor(private readonly deps: NotifierDeps) {
    deps.core.on('state-changed', (e) => this.onTransition(e));
  }

  /** Resolves when every queued script has finished (shutdown waits for STOP notifies a while). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
  }

  private onTransition(e: StateChangedEvent): void {
    const state = notifyState(e.to);
    if (!state) return;
    const config = this.deps.config();
    const inst = config.instances.find((i) => i.name === e.instance);
    if (inst) this.enqueue(`i:${inst.name}`, notifyCommands(inst.notify, 'INSTANCE', inst.name, state, e.priority), 'INSTANCE', inst.name, state);
    // Sync groups: the group's own notify when the group as a whole changes state.
    for (const g of config.syncGroups) {
      if (!g.members.some((m) => m.name === e.instance)) continue;
      const members = this.deps.routers().filter((r) => g.members.some((m) => m.name === r.name));
      const states = members.map((r) => r.state);
      const gs: NotifyState = states.includes('fault') ? 'FAULT' : states.every((s) => s === 'master') ? 'MASTER' : states.every((s) => s === 'init') ? 'STOP' : 'BACKUP';
      if (this.groupStates.get(g.name) === gs) continue;
      this.groupStates.set(g.name, gs);
      const prio = Math.max(0, ...members.map((r) => r.effectivePriority));
      this.enqueue(`g:${g.name}`, notifyCommands(g.notify, 'GROUP', g.name, gs, prio), 'GROUP', g.name, gs);
    }
  }

  private enqueue(key: string, commands: string[][], scope: 'INSTANCE' | 'GROUP', name: string, state: NotifyState): void {
    if (commands.length === 0) return;
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(async () => {
      for (const argv of commands) {
        const startedWallMs = Date.now();
        const o = await runCommand(argv, { timeoutMs: this.deps.timeoutMs ?? 30_000, ...(this.deps.runAs ? { runAs: this.deps.runAs } : {}) });
        this.deps.events.emit({ type: 'notify-run', scope, name, state, command: argv.join(' '), result: o.result, exitCode: o.exitCode, durationMs: o.durationMs, startedWallMs, ...(o.error ? { error: o.error } : {}) });
      }
    });
    this.queues.set(key, next);
    void next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }
}
