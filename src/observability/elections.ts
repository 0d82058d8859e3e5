/**
 * Elections as observability sees them: one opens at every transition (with the event that
 * started it) and settles when the instance has done what the new state asks — VIPs applied by
 * the kernel, the first gratuitous ARP sent — or is superseded by the next transition. Metrics and
 * traces both read settled elections from here.
 */
import type { AgentBus } from '../events/index.js';
import type { Clock, TimerHandle } from '../ports/index.js';
import type { VrrpEvent, EventBus, GarpSentEvent, StateChangedEvent } from '../events/index.js';
import type { HostEvent } from '../events/index.js';

export interface VipOutcome {
  readonly vip: string;
  readonly interface: string;
  readonly action: 'add' | 'remove';
  readonly error?: Error;
  readonly durationMs: number;
  /** Monotonic time the kernel answered. */
  readonly atMs: number;
}

export interface LastAdvert {
  readonly source: string;
  readonly priority: number;
  readonly atMs: number;
}

export interface Election {
  readonly transition: StateChangedEvent;
  readonly vips: VipOutcome[];
  readonly garps: GarpSentEvent[];
  /** The last advert this node heard for the instance before the transition. */
  readonly lastAdvert?: LastAdvert;
  settledAtMs: number;
  /** Why it ended: everything done, the next transition came, or the time limit. */
  endedBy: 'settled' | 'superseded' | 'timeout';
}

interface Open {
  election: Election;
  expectedVips: number;
  expectGarp: boolean;
  timer: TimerHandle;
}

/** An election that has not settled after this long is closed anyway. */
const SETTLE_LIMIT_MS = 5000;

export class ElectionTracker {
  private readonly open = new Map<string, Open>();
  private readonly lastAdverts = new Map<string, LastAdvert>();
  private readonly listeners: ((e: Election) => void)[] = [];

  constructor(
    bus: AgentBus,
    private readonly clock: Pick<Clock, 'now' | 'setTimer' | 'clearTimer'>,
  ) {
    bus.on('advert-received', (e) => this.lastAdverts.set(e.instance, { source: e.source, priority: e.priority, atMs: e.atMs }));
    bus.on('state-changed', (e) => this.onTransition(e));
    bus.on('vip-requested', (e) => {
      const o = this.open.get(e.instance);
      if (o) o.expectedVips = e.vips.length;
    });
    bus.on('garp-sent', (e) => {
      const o = this.open.get(e.instance);
      if (!o || e.reason !== 'become-master') return;
      o.election.garps.push(e);
      this.maybeSettle(e.instance);
    });
    bus.on('vip-result', (e) => {
      const o = this.open.get(e.assignment.instance);
      if (!o) return;
      o.election.vips.push({
        vip: e.assignment.vip.address,
        interface: e.assignment.interface,
        action: e.action,
        ...(e.error ? { error: e.error } : {}),
        durationMs: e.durationMs,
        atMs: e.atMs,
      });
      this.maybeSettle(e.assignment.instance);
    });
  }

  onSettled(fn: (e: Election) => void): void {
    this.listeners.push(fn);
  }

  lastAdvert(instance: string): LastAdvert | undefined {
    return this.lastAdverts.get(instance);
  }

  private onTransition(t: StateChangedEvent): void {
    this.close(t.instance, 'superseded');
    const last = this.lastAdverts.get(t.instance);
    const election: Election = { transition: t, vips: [], garps: [], ...(last ? { lastAdvert: last } : {}), settledAtMs: t.atMs, endedBy: 'settled' };
    const open: Open = {
      election,
      expectedVips: 0,
      // Only a takeover sends GARPs (IPv4 VIPs); the router tells us how many VIPs it applies.
      expectGarp: t.to === 'master' && t.family === 'ipv4',
      timer: this.clock.setTimer(SETTLE_LIMIT_MS, () => this.close(t.instance, 'timeout')),
    };
    this.open.set(t.instance, open);
    // vip-requested and garp-sent follow synchronously; settle after them if nothing is pending.
    queueMicrotask(() => this.maybeSettle(t.instance));
  }

  private maybeSettle(instance: string): void {
    const o = this.open.get(instance);
    if (!o) return;
    const vipsDone = o.election.vips.length >= o.expectedVips;
    const garpDone = !o.expectGarp || o.election.garps.length > 0 || o.expectedVips === 0;
    if (vipsDone && garpDone) this.close(instance, 'settled');
  }

  private close(instance: string, endedBy: Election['endedBy']): void {
    const o = this.open.get(instance);
    if (!o) return;
    this.clock.clearTimer(o.timer);
    this.open.delete(instance);
    const e = o.election;
    e.endedBy = endedBy;
    const times = [e.transition.atMs, ...e.vips.map((v) => v.atMs), ...e.garps.map((g) => g.atMs)];
    e.settledAtMs = endedBy === 'settled' ? Math.max(...times) : this.clock.now();
    for (const fn of this.listeners) fn(e);
  }
}
