/**
 * Alert delivery for the split-brain guard: a confirmed conflict is pushed to Alertmanager as
 * `KeepwatchSplitBrain` (firing when it starts, re-sent every minute while it lasts so its endsAt
 * stays ahead, resolved when it ends). A suspected conflict (forgeable evidence only) is not pushed:
 * Prometheus' `KeepwatchSplitBrainSuspected` rule on `keepwatch_split_brain_suspected` warns of it.
 */
import type { AgentBus } from '../events/index.js';
import type { EventBus } from '../events/index.js';
import type { Clock, TimerHandle } from '../ports/index.js';
import type { AlertPush } from './alertmanager.js';
import type { GuardEvent } from './guard.js';

export interface AlertSink {
  push(a: AlertPush): Promise<void>;
}

/** Re-send firing alerts this often (their endsAt is five minutes ahead). */
export const ALERT_REFRESH_MS = 60_000;

interface Active {
  readonly vrid: number;
  readonly since: Date;
  readonly sources: readonly string[];
}

export class GuardAlerts {
  /** Keyed by instance name: bounded by the config. */
  private readonly active = new Map<string, Active>();
  private timer: TimerHandle | undefined;

  constructor(
    events: AgentBus,
    private readonly sink: AlertSink,
    private readonly node: string,
    private readonly clock: Clock,
  ) {
    events.on('guard-conflict', (e) => {
      if (e.level !== 'confirmed') return;
      if (e.active) {
        const a = { vrid: e.vrid, since: new Date(e.wallMs), sources: e.sources };
        this.active.set(e.instance, a);
        this.send(e.instance, a, true);
        this.arm();
      } else {
        const a = this.active.get(e.instance);
        this.active.delete(e.instance);
        this.send(e.instance, a ?? { vrid: e.vrid, since: new Date(e.wallMs), sources: e.sources }, false);
      }
    });
  }

  stop(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = this.clock.setTimer(ALERT_REFRESH_MS, () => {
      this.timer = undefined;
      for (const [instance, a] of this.active) this.send(instance, a, true);
      if (this.active.size > 0) this.arm();
    });
  }

  private send(instance: string, a: Active, firing: boolean): void {
    void this.sink.push({
      labels: { vrrp_instance: instance, vrid: String(a.vrid), node: this.node },
      firing,
      startsAt: a.since,
      summary: `Split brain on VRID ${a.vrid} (${instance}) seen by ${this.node}`,
      description: `keepwatch on ${this.node} sees another holder or master of VRID ${a.vrid} (${instance}); detected by ${a.sources.join(', ') || 'the guard'}. The lower-priority node yields and stays out while the other is seen. Check the VRRP path between the nodes (protocol 112 filtered?), auth_pass and VRID/VIP lists.`,
    });
  }
}
