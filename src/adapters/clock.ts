/** The host's clocks: a monotonic one for timers, the wall clock for timestamps shown to people. */
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../ports/index.js';

const PRECISE_SPIN_MS = 2;

interface SystemTimer {
  timeout: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
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
    const timer: SystemTimer = { timeout: undefined, immediate: undefined, cancelled: false };
    if (!opts?.precise) {
      // Node timers have whole-millisecond resolution; round up so a timer never fires early.
      timer.timeout = setTimeout(fn, Math.max(0, Math.ceil(delayMs)));
      return timer as unknown as TimerHandle;
    }
    // Precise: sleep until PRECISE_SPIN_MS before the deadline, then yield to the event loop
    // (setImmediate, so I/O still runs) until it is reached. libuv's millisecond timers alone
    // fired 0.5-2 ms late here; this costs at most PRECISE_SPIN_MS of CPU per firing, and
    // Master_Down_Timers fire only at a failover.
    const deadline = performance.now() + delayMs;
    const spin = (): void => {
      timer.timeout = undefined;
      if (timer.cancelled) return;
      if (performance.now() >= deadline) fn();
      else timer.immediate = setImmediate(spin);
    };
    timer.timeout = setTimeout(spin, Math.max(0, Math.floor(delayMs - PRECISE_SPIN_MS)));
    return timer as unknown as TimerHandle;
  }
  clearTimer(handle: TimerHandle): void {
    const t = handle as unknown as SystemTimer;
    t.cancelled = true;
    if (t.timeout) clearTimeout(t.timeout);
    if (t.immediate) clearImmediate(t.immediate);
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
