/** The host's clocks: a monotonic one for timers, the wall clock for timestamps shown to people. */
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../ports/index.js';

/** A precise timer wakes this long before its deadline, then sleeps (no CPU) the rest. */
const WAKE_EARLY_MS = 1.5;
/** Longer than this left at the early wake-up (the libuv timer fired far too early): re-arm. */
const MAX_BLOCK_MS = 2.6;
/**
 * Precise timers are for a handful of instances. When more than this many were armed in the last
 * second (e.g. 255 instances at 1 s), they all run as ordinary timers for the next second: holding
 * the event loop for each would add up, and mixing precise and ordinary firings for one instance
 * would make its advert interval jitter more than ordinary timers alone.
 */
const MAX_PRECISE_PER_S = 50;
/** Event-loop time precise timers may hold in one second, whatever the count. */
const BLOCK_BUDGET_MS_PER_S = 50;

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
    if (!opts?.precise || !this.preciseAllowed()) {
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
        if (this.blockedMs + remaining > BLOCK_BUDGET_MS_PER_S) {
          timer.timeout = setTimeout(fn, Math.ceil(remaining));
          return;
        }
        this.blockedMs += remaining;
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
  private windowStartMs = 0;
  private armedInWindow = 0;
  private blockedMs = 0;
  private busy = false;
  /** Counts precise timers per one-second window; the last full window's count decides the mode. */
  private preciseAllowed(): boolean {
    const now = performance.now();
    if (now - this.windowStartMs >= 1000) {
      this.busy = this.armedInWindow > MAX_PRECISE_PER_S && now - this.windowStartMs < 2000;
      this.windowStartMs = now;
      this.armedInWindow = 0;
      this.blockedMs = 0;
    }
    this.armedInWindow++;
    return !this.busy;
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
