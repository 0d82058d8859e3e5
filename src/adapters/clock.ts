/** The host's clocks: a monotonic one for timers, the wall clock for timestamps shown to people. */
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../ports/index.js';

/** The shared wake-up comes this long before the earliest precise deadline, then sleeps (no CPU) the rest. */
const WAKE_EARLY_MS = 2.5;
/** Longer than this left at a wake-up (the libuv timer fired far too early): arm again. */
const MAX_BLOCK_MS = 3.6;
/** Event-loop time the precise wait may hold in one second, whatever the count of timers. */
const BLOCK_BUDGET_MS_PER_S = 50;
/** Cancelled entries left in the heap before it is rebuilt without them (down timers restart on every advert). */
const MAX_DEAD_ENTRIES = 256;

interface OrdinaryTimer {
  readonly kind: 'ordinary';
  timeout: NodeJS.Timeout | undefined;
}

interface PreciseTimer {
  readonly kind: 'precise';
  readonly deadlineMs: number;
  /** Arrival order: equal deadlines fire in the order they were set; a wake fires only older ones. */
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
  done: boolean;
}

/**
 * Precise timers (Adver_Timer, Master_Down_Timer) share one timer wheel: a min-heap by deadline
 * and a single libuv timer for the earliest. libuv's millisecond timers alone fired 0.5-2 ms late
 * here, more with a few hundred of them (255 instances at 1 s: advert p99 excess 1.9 ms). The
 * wheel's timer wakes WAKE_EARLY_MS before the earliest deadline and sleeps the rest on a futex
 * (Atomics.wait: microsecond resolution, no CPU spent); it then fires every precise timer due by
 * the time it gets to it, waiting again only for deadlines less than MAX_BLOCK_MS away. Instances
 * started together share their wake-ups (255 at 1 s: a handful a second, not 255). The event loop
 * is held for at most BLOCK_BUDGET_MS_PER_S in a second; past that, timers fire when libuv wakes,
 * rounded up, so never before their deadline. Received packets carry pcap timestamps, so holding
 * the loop does not skew their timing.
 */
export class SystemClock implements Clock {
  private readonly heap: PreciseTimer[] = [];
  private dead = 0;
  private seq = 0;
  private wakeTimeout: NodeJS.Timeout | undefined;
  /** The monotonic time the armed libuv timer is for (Infinity: none armed). */
  private wakeAtMs = Infinity;
  private readonly futex = new Int32Array(new SharedArrayBuffer(4));
  private windowStartMs = 0;
  private blockedMs = 0;

  now(): number {
    return performance.now();
  }
  wallNow(): number {
    return Date.now();
  }
  setTimer(delayMs: number, fn: () => void, opts?: { precise?: boolean }): TimerHandle {
    if (!opts?.precise) {
      // Node timers have whole-millisecond resolution; round up so a timer never fires early.
      const timer: OrdinaryTimer = { kind: 'ordinary', timeout: setTimeout(fn, Math.max(0, Math.ceil(delayMs))) };
      return timer as unknown as TimerHandle;
    }
    const timer: PreciseTimer = { kind: 'precise', deadlineMs: performance.now() + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false, done: false };
    push(this.heap, timer);
    this.arm();
    return timer as unknown as TimerHandle;
  }
  clearTimer(handle: TimerHandle): void {
    const t = handle as unknown as OrdinaryTimer | PreciseTimer;
    if (t.kind === 'ordinary') {
      if (t.timeout) clearTimeout(t.timeout);
      return;
    }
    if (t.cancelled || t.done) return;
    t.cancelled = true;
    if (++this.dead > MAX_DEAD_ENTRIES && this.dead > this.heap.length / 2) this.compact();
    // The earliest one gone: nothing left holds the process open, or the wake-up moves later.
    if (this.heap[0] === t || this.heap.length === this.dead) this.arm(true);
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

  /** Precise timers still pending (cancelled ones excluded): for tests. */
  get pendingPrecise(): number {
    return this.heap.length - this.dead;
  }

  /** (Re-)arms the wheel's libuv timer for the earliest live deadline (`later`: it may have moved later). */
  private arm(later = false): void {
    this.dropCancelledTop();
    const top = this.heap[0];
    if (!top) {
      if (this.wakeTimeout) clearTimeout(this.wakeTimeout);
      this.wakeTimeout = undefined;
      this.wakeAtMs = Infinity;
      return;
    }
    // Wake early only while the budget can pay for the wait (else the wake-up would find it
    // can't wait, and arm again for the same moment until the deadline).
    const early = this.budgetLeftMs() >= MAX_BLOCK_MS ? WAKE_EARLY_MS : 0;
    const wakeAt = top.deadlineMs - early;
    if (this.wakeTimeout && (wakeAt === this.wakeAtMs || (wakeAt > this.wakeAtMs && !later))) return;
    if (this.wakeTimeout) clearTimeout(this.wakeTimeout);
    const delay = wakeAt - performance.now();
    // Early wake-up: round down (the futex waits the rest); none left: round up, never early.
    this.wakeTimeout = setTimeout(() => this.wake(), Math.max(0, early > 0 ? Math.floor(delay) : Math.ceil(delay)));
    this.wakeAtMs = wakeAt;
  }

  private wake(): void {
    this.wakeTimeout = undefined;
    this.wakeAtMs = Infinity;
    const before = this.seq;
    let failure: { error: unknown } | undefined;
    for (;;) {
      this.dropCancelledTop();
      const top = this.heap[0];
      // Timers set by the callbacks of this wake-up wait for the next one (no endless loop).
      if (!top || top.seq >= before) break;
      const remaining = top.deadlineMs - performance.now();
      if (remaining > 0) {
        if (remaining > MAX_BLOCK_MS || remaining > this.budgetLeftMs()) break;
        this.blockedMs += remaining;
        Atomics.wait(this.futex, 0, 0, remaining);
        // The futex may return a few microseconds short: never fire before the deadline.
        if (performance.now() < top.deadlineMs) continue;
      }
      pop(this.heap);
      top.done = true;
      try {
        top.fn();
      } catch (error) {
        // The other timers of this wake-up still fire; the error then surfaces as it would have
        // from its own libuv timer (uncaught: main.ts's fail-safe stop).
        failure ??= { error };
      }
    }
    this.arm();
    if (failure) {
      const { error } = failure;
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  /** What the precise wait may still hold the loop for in the current one-second window. */
  private budgetLeftMs(): number {
    const now = performance.now();
    if (now - this.windowStartMs >= 1000) {
      this.windowStartMs = now;
      this.blockedMs = 0;
    }
    return BLOCK_BUDGET_MS_PER_S - this.blockedMs;
  }

  private dropCancelledTop(): void {
    while (this.heap[0]?.cancelled) {
      pop(this.heap);
      this.dead--;
    }
  }

  private compact(): void {
    const live = this.heap.filter((t) => !t.cancelled);
    this.heap.length = 0;
    for (const t of live) push(this.heap, t);
    this.dead = 0;
  }
}

function before(a: PreciseTimer, b: PreciseTimer): boolean {
  return a.deadlineMs < b.deadlineMs || (a.deadlineMs === b.deadlineMs && a.seq < b.seq);
}

function push(heap: PreciseTimer[], t: PreciseTimer): void {
  heap.push(t);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function pop(heap: PreciseTimer[]): PreciseTimer | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || last === undefined) return top;
  heap[0] = last;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
    if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
    if (m === i) return top;
    [heap[i], heap[m]] = [heap[m]!, heap[i]!];
    i = m;
  }
}
