/** The host's clocks: a monotonic one for timers, the wall clock for timestamps shown to people. */
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../ports/index.js';

/** A precise timer wakes this long before its deadline, then sleeps (no CPU) the rest. */
const WAKE_EARLY_MS = 1.5;
/** Longer than this left at the early wake-up (the libuv timer fired far too early): re-arm. */
const MAX_BLOCK_MS = 2.6;
/**
 * At most this much event-loop blocking per second for precise timers. Beyond it a precise timer
 * degrades to an ordinary one (late by libuv's usual 0-2 ms, never early), so many instances
 * with scattered phases can't hold the event loop.
 */
const BLOCK_BUDGET_MS_PER_S = 25;

interface SystemTimer {
  timeout: NodeJS.Timeout | undefined;
  cancelled: boolean;
}

export class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }
  wallNow(): number {
    return Date.now();
  }
  setTimer(delayMs: number, fn: () => void, opts?: { precise?: boolean }): TimerHandle {
    const timer: SystemTimer = { timeout: undefined, cancelled: false };
    if (!opts?.precise) {
      // Node timers have whole-millisecond resolution; round up so a timer never fires early.
      timer.timeout = setTimeout(fn, Math.max(0, Math.ceil(delayMs)));
      return timer as unknown as TimerHandle;
    }
    // Precise: libuv's millisecond timers alone fired 0.5-2 ms late here (more when the host is
    // busy). Wake WAKE_EARLY_MS before the deadline, then sleep the rest on a futex
    // (Atomics.wait: microsecond resolution, no CPU spent), so a late wake-up of up to
    // WAKE_EARLY_MS is absorbed. The event loop is held for that moment (at most MAX_BLOCK_MS,
    // and BLOCK_BUDGET_MS_PER_S in all); received packets carry pcap timestamps, so their timing
    // is not skewed by it. Never fires before the deadline.
    const deadline = performance.now() + delayMs;
    const arm = (): void => {
      const remaining = deadline - performance.now();
      timer.timeout = setTimeout(wake, Math.max(0, Math.floor(remaining - WAKE_EARLY_MS)));
    };
    const wake = (): void => {
      timer.timeout = undefined;
      if (timer.cancelled) return;
      const remaining = deadline - performance.now();
      if (remaining > MAX_BLOCK_MS) return arm();
      if (remaining > 0) {
        if (!this.takeBlockBudget(remaining)) {
          timer.timeout = setTimeout(fn, Math.ceil(remaining));
          return;
        }
        Atomics.wait(this.futex, 0, 0, remaining);
      }
      fn();
    };
    if (delayMs <= WAKE_EARLY_MS) {
      timer.timeout = setTimeout(wake, 0);
    } else {
      arm();
    }
    return timer as unknown as TimerHandle;
  }
  private readonly futex = new Int32Array(new SharedArrayBuffer(4));
  private budgetWindowStartMs = 0;
  private budgetUsedMs = 0;
  private takeBlockBudget(ms: number): boolean {
    const now = performance.now();
    if (now - this.budgetWindowStartMs >= 1000) {
      this.budgetWindowStartMs = now;
      this.budgetUsedMs = 0;
    }
    if (this.budgetUsedMs + ms > BLOCK_BUDGET_MS_PER_S) return false;
    this.budgetUsedMs += ms;
    return true;
  }
  clearTimer(handle: TimerHandle): void {
    const t = handle as unknown as SystemTimer;
    t.cancelled = true;
    if (t.timeout) clearTimeout(t.timeout);
  }
  /**
   * Maps a capture timestamp (wall clock, microseconds) to the monotonic clock, clamped to the
   * last second so a wall-clock step can't put a packet in the future or the far past.
   */
  monotonicFromWallUs(wallUs: number): number {
    const now = performance.now();
    const mapped = wallUs / 1000 - performance.timeOrigin;
    return Math.min(now, Math.max(now - 1000, mapped));
  }
}
