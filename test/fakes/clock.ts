/**
 * Simulated time: timers run in (due time, creation order) when the test advances the clock.
 * `scope()` gives a node its own view whose timers can all be cancelled at once (kill -9).
 */
import type { Clock, TimerHandle } from '../../src/ports/index.js';

interface Timer {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
  scope: ClockScope | undefined;
}

export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private queue: Timer[] = [];
  readonly wallOffsetMs = Date.UTC(2026, 10, 22);

  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.wallOffsetMs + this.t;
  }
  setTimer(delayMs: number, fn: () => void, _opts?: { precise?: boolean }, scope?: ClockScope): TimerHandle {
    const timer: Timer = { due: this.t + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false, scope };
    // Insert sorted (the queue stays small: a few timers per router).
    let i = this.queue.length;
    while (i > 0 && (this.queue[i - 1]!.due > timer.due || (this.queue[i - 1]!.due === timer.due && this.queue[i - 1]!.seq > timer.seq))) i--;
    this.queue.splice(i, 0, timer);
    return timer as unknown as TimerHandle;
  }
  clearTimer(handle: TimerHandle): void {
    (handle as unknown as Timer).cancelled = true;
  }
  /** Runs every timer due up to now + ms, in order, moving time to each. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.queue[0];
      if (!next || next.due > end) break;
      this.queue.shift();
      if (next.cancelled || next.scope?.dead) continue;
      this.t = Math.max(this.t, next.due); // late when a callback spent time
      next.fn();
    }
    this.t = end;
  }
  /** Time spent working (a slow callback): the clock moves on, but no timer fires until advance(). */
  spend(ms: number): void {
    this.t += ms;
  }
  /** Advances in steps, calling `check` after each (sampling invariants over time). */
  advanceSampling(ms: number, stepMs: number, check: (nowMs: number) => void): void {
    for (let done = 0; done < ms; done += stepMs) {
      this.advance(Math.min(stepMs, ms - done));
      check(this.t);
    }
  }
  scope(): ClockScope {
    return new ClockScope(this);
  }
}

export class ClockScope implements Clock {
  dead = false;
  constructor(private readonly root: FakeClock) {}
  now(): number {
    return this.root.now();
  }
  wallNow(): number {
    return this.root.wallNow();
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    return this.root.setTimer(delayMs, fn, undefined, this);
  }
  clearTimer(handle: TimerHandle): void {
    this.root.clearTimer(handle);
  }
  /** Cancels every timer of this scope, now and later. */
  kill(): void {
    this.dead = true;
  }
}
