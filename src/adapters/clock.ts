/** The host's clocks: a monotonic one for timers, the wall clock for timestamps shown to people. */
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../ports/index.js';

export class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }
  wallNow(): number {
    return Date.now();
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    // Node rounds timers to whole milliseconds; round up so a timer never fires early.
    return setTimeout(fn, Math.max(0, Math.ceil(delayMs))) as unknown as TimerHandle;
  }
  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as unknown as NodeJS.Timeout);
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
