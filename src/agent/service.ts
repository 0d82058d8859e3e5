/**
 * What the service manager hears (systemd, through the ServiceNotifier port; lifecycle.ts calls
 * this at each step of the agent's life):
 *
 *   READY=1        once every instance has started (the end of Agent.start's boot), and again
 *                  when a reload has finished (applied or refused: the agent runs either way)
 *   STATUS=        the instances' states, `VI_1 MASTER, VI_2 BACKUP`; updated after transitions,
 *                  at most once per STATUS_MIN_INTERVAL_MS (a burst of transitions is one update,
 *                  sent after the burst, so the last state is always shown)
 *   WATCHDOG=1     every WATCHDOG_USEC/2 from a timer on the agent's clock, so only while the
 *                  event loop turns: a loop stalled for WatchdogSec sends none, and systemd kills
 *                  and restarts the agent (Restart=on-failure counts a watchdog timeout)
 *   RELOADING=1    when a reload starts (SIGHUP), READY=1 when it ends
 *   STOPPING=1     when the stop begins (SIGTERM/SIGINT), or the release after a crash
 */
import type { Clock, ServiceNotifier, TimerHandle } from '../ports/index.js';
import type { AgentBus } from '../events/index.js';
import type { VrrpRouter } from '../core/router.js';

/** STATUS= after transitions: at most this often. */
export const STATUS_MIN_INTERVAL_MS = 1000;
/** Past this, the status line counts states instead of naming every instance. */
const STATUS_LIST_MAX_CHARS = 600;

/** The instances' states for STATUS=: `VI_1 MASTER, VI_2 BACKUP`, or counts when there are many. */
export function describeStates(routers: readonly Pick<VrrpRouter, 'name' | 'state'>[]): string {
  if (routers.length === 0) return 'no instances';
  const list = routers.map((r) => `${r.name} ${r.state.toUpperCase()}`).join(', ');
  if (list.length <= STATUS_LIST_MAX_CHARS) return list;
  const counts = new Map<string, number>();
  for (const r of routers) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const order = ['master', 'backup', 'fault', 'init'];
  const summary = [...counts].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0])).map(([s, n]) => `${n} ${s.toUpperCase()}`);
  const faults = routers.filter((r) => r.state === 'fault').map((r) => r.name);
  const named = faults.length > 0 ? `; FAULT: ${faults.slice(0, 20).join(', ')}${faults.length > 20 ? ', ...' : ''}` : '';
  return `${routers.length} instances: ${summary.join(', ')}${named}`;
}

export interface ServiceLinkDeps {
  readonly notifier: ServiceNotifier;
  readonly clock: Clock;
  readonly bus: AgentBus;
  routers(): readonly Pick<VrrpRouter, 'name' | 'state'>[];
}

export class ServiceManagerLink {
  private watchdogTimer: TimerHandle | undefined;
  private statusTimer: TimerHandle | undefined;
  private lastStatusAtMs = -Infinity;
  private lastStatus = '';
  private off: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly deps: ServiceLinkDeps) {}

  /** Start-up done: READY=1 with the states; the watchdog and the status updates begin. */
  ready(): void {
    const { notifier, bus } = this.deps;
    if (!notifier.enabled) return;
    const text = describeStates(this.deps.routers());
    notifier.ready(text);
    this.noteSent(text);
    this.off = bus.on('state-changed', () => this.statusSoon());
    this.armWatchdog();
  }

  /** A reload starts. */
  reloading(): void {
    if (this.stopped) return;
    this.deps.notifier.reloading(`reloading the configuration; ${describeStates(this.deps.routers())}`);
  }

  /** A reload ended: applied, or refused with `why` (the running config stays). Both are READY. */
  reloaded(ok: boolean, why?: string): void {
    if (this.stopped) return;
    const states = describeStates(this.deps.routers());
    const text = ok ? states : `${states} (last reload refused: ${why ?? 'see the log'})`;
    this.deps.notifier.ready(text);
    this.noteSent(text);
  }

  /** The stop begins: STOPPING=1; no more watchdog pings or status updates. */
  stopping(why: string): void {
    if (this.stopped) return;
    this.stop();
    this.deps.notifier.stopping(why);
  }

  /** Ends the timers and the subscription (the notifier itself belongs to main.ts). */
  stop(): void {
    this.stopped = true;
    this.off?.();
    this.off = undefined;
    const { clock } = this.deps;
    if (this.watchdogTimer) clock.clearTimer(this.watchdogTimer);
    if (this.statusTimer) clock.clearTimer(this.statusTimer);
    this.watchdogTimer = undefined;
    this.statusTimer = undefined;
  }

  private armWatchdog(): void {
    const intervalMs = this.deps.notifier.watchdogIntervalMs;
    if (intervalMs === undefined || this.stopped) return;
    this.watchdogTimer = this.deps.clock.setTimer(intervalMs, () => {
      this.watchdogTimer = undefined;
      if (this.stopped) return;
      this.deps.notifier.watchdog();
      this.armWatchdog();
    });
  }

  /** After a transition: one STATUS= once the burst is over, no sooner than the minimum interval. */
  private statusSoon(): void {
    if (this.statusTimer || this.stopped) return;
    const { clock } = this.deps;
    const waitMs = Math.max(0, this.lastStatusAtMs + STATUS_MIN_INTERVAL_MS - clock.now());
    this.statusTimer = clock.setTimer(waitMs, () => {
      this.statusTimer = undefined;
      if (this.stopped) return;
      const text = describeStates(this.deps.routers());
      if (text === this.lastStatus) return;
      this.deps.notifier.status(text);
      this.noteSent(text);
    });
  }

  private noteSent(text: string): void {
    this.lastStatus = text;
    this.lastStatusAtMs = this.deps.clock.now();
  }
}
