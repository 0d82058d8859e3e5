/**
 * One BFD session (RFC 5880 §6), on the injected clock: keepalived's behaviour
 * (keepalived/bfd/bfd.c, bfd_scheduler.c) where it has one, the RFC where it is silent.
 *
 *                               +--+
 *                               |  | UP, ADMIN DOWN, TIMER
 *                               |  V
 *                       DOWN  +------+  INIT
 *                +------------|      |------------+
 *                |            | DOWN |            |
 *                |  +-------->|      |<--------+  |
 *                |  |         +------+         |  |
 *                |  |                          |  |
 *                |  |               ADMIN DOWN,|  |
 *                |  |ADMIN DOWN,          DOWN,|  |
 *                |  |TIMER                TIMER|  |
 *                V  |                          |  V
 *              +------+                      +------+
 *         +----|      |                      |      |----+
 *     DOWN|    | INIT |--------------------->|  UP  |    |INIT, UP
 *         +--->|      | INIT, UP             |      |<---+
 *              +------+                      +------+
 *
 * Timers (all µs on the wire, ms on the clock):
 * - transmit: every bfd.TxInterval less 0-25 % jitter (10-25 % when Detect Mult is 1, §6.8.7);
 *   while not Up the advertised Desired Min TX is `idle_tx` (at least 1 s: §6.8.3) and the
 *   interval follows it; on Up a Poll Sequence announces `min_tx` (§6.8.3), and the faster
 *   interval applies once the neighbour's Final arrives (keepalived: timers are recomputed only on
 *   P or F while Up).
 * - detection: Init and Up expire after remote Detect Mult × max(min_rx, remote Desired Min TX)
 *   of silence (§6.8.4) → Down, diag 1, Your Discriminator forgotten.
 * - reset: a detection time after going Down, the remote state is forgotten (keepalived
 *   bfd_reset_thread).
 * `passive` (§6.1): send nothing until the neighbour speaks, and stop again when Down.
 */
import type { BfdCause, BfdEvent, BfdState } from '../events/bfd.js';
import type { Clock, TimerHandle } from '../ports/index.js';
import { DIAG, encodeControl, type BfdControl } from './codec.js';

export interface BfdSessionConfig {
  readonly name: string;
  readonly neighbor: string;
  /** Required Min RX, Desired Min TX (when Up), Desired Min TX while not Up: µs. */
  readonly minRxUs: number;
  readonly minTxUs: number;
  readonly idleTxUs: number;
  readonly multiplier: number;
  readonly passive: boolean;
}

export interface BfdSessionDeps {
  readonly clock: Pick<Clock, 'now' | 'setTimer' | 'clearTimer'>;
  /** Uniform in [0, 1): the jitter (§6.8.7). */
  readonly random: () => number;
  /** Sends one control packet to the neighbour (the adapter adds UDP/IP, TTL 255). */
  send(bytes: Uint8Array): void;
  emit(e: BfdEvent): void;
}

/** What /v1/state and the tracker see of a session. */
export interface BfdSessionSnapshot {
  readonly name: string;
  readonly neighbor: string;
  readonly state: BfdState;
  readonly remoteState: BfdState;
  readonly localDiscriminator: number;
  readonly remoteDiscriminator: number;
  readonly localDiag: number;
  readonly remoteDiag: number;
  readonly txIntervalMs: number;
  readonly detectionTimeMs: number;
  readonly remoteMinRxMs: number;
  readonly remoteMinTxMs: number;
  readonly remoteDetectMult: number;
  readonly pollPending: boolean;
  /** Monotonic ms of the last valid packet from the neighbour (undefined: none yet). */
  readonly lastReceivedAtMs: number | undefined;
}

export class BfdSession {
  private state: BfdState = 'down';
  private remoteState: BfdState = 'down';
  private remoteDiscr = 0;
  private localDiag: number = DIAG.none;
  private remoteDiag: number = DIAG.none;
  private remoteMinRxUs = 0;
  private remoteMinTxUs = 0;
  private remoteDetectMult = 0;
  private remoteDemand = false;
  private poll = false;
  private final = false;
  private localTxUs: number;
  private remoteTxUs = 0;
  private detectUs = 0;
  private lastSeenMs: number | undefined;
  private txTimer: TimerHandle | undefined;
  private txDueMs = 0;
  private expireTimer: TimerHandle | undefined;
  private resetTimer: TimerHandle | undefined;
  private stopped = true;

  constructor(
    readonly config: BfdSessionConfig,
    /** bfd.LocalDiscr: unique among our sessions, never 0, kept for the session's life (§6.8.1). */
    readonly localDiscr: number,
    private readonly deps: BfdSessionDeps,
  ) {
    this.localTxUs = config.idleTxUs;
  }

  get name(): string {
    return this.config.name;
  }
  get sessionState(): BfdState {
    return this.state;
  }
  /** The neighbour's last state (AdminDown from it is not a path failure: RFC 5882 §3.2). */
  get neighborState(): BfdState {
    return this.remoteState;
  }

  /** Starts the session Down; an active session sends at once (keepalived, at start-up). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.state === 'admin-down') {
      this.state = 'down';
      this.localDiag = DIAG.none;
    }
    if (!this.config.passive) {
      this.sendNow();
      this.scheduleTx();
    }
  }

  /**
   * AdminDown (§6.8.16): tells the neighbour (a few packets, so one loss does not make it see a
   * failure) and stops every timer.
   */
  stop(): void {
    if (this.stopped) return;
    const from = this.state;
    this.state = 'admin-down';
    this.localDiag = DIAG.adminDown;
    this.cancel('tx');
    this.cancel('expire');
    this.cancel('reset');
    if (from !== 'down' || this.remoteDiscr !== 0) for (let i = 0; i < 3; i++) this.sendNow();
    this.stopped = true;
    if (from !== 'admin-down') this.changed(from, 'stopped');
  }

  /** A packet that passed the session-independent checks, the TTL check and the demux (sessions.ts). */
  receive(p: BfdControl): void {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    const oldTx = this.localTxUs;
    const oldDetect = this.detectUs;
    const oldRemote = [this.remoteMinRxUs, this.remoteMinTxUs, this.remoteDetectMult];
    this.remoteDiscr = p.myDiscriminator;
    this.remoteState = p.state;
    this.remoteDiag = p.diag;
    this.remoteMinRxUs = p.requiredMinRxUs;
    this.remoteMinTxUs = p.desiredMinTxUs;
    this.remoteDemand = p.demand;
    this.remoteDetectMult = p.detectMult;
    // §6.5: a Final ends our Poll Sequence.
    if (p.final) this.poll = false;
    // keepalived: the intervals move while not Up, or on P / F while Up (§6.8.3: a new Desired
    // Min TX takes effect on Up only once the Poll Sequence completes).
    if (this.state !== 'up' || p.poll || p.final) {
      const fast = this.remoteState === 'up' && (this.state === 'init' || this.state === 'up');
      this.localTxUs = Math.max(fast ? this.config.minTxUs : this.config.idleTxUs, this.remoteMinRxUs);
      this.remoteTxUs = Math.max(this.config.minRxUs, this.remoteMinTxUs);
    }
    // §6.8.4: Detection Time = remote Detect Mult × agreed remote transmit interval.
    this.detectUs = this.remoteDetectMult * this.remoteTxUs;
    if (this.localTxUs !== oldTx || this.detectUs !== oldDetect || oldRemote[0] !== this.remoteMinRxUs || oldRemote[1] !== this.remoteMinTxUs || oldRemote[2] !== this.remoteDetectMult) {
      this.deps.emit({ type: 'bfd-timers-changed', bfdInstance: this.name, txIntervalMs: this.localTxUs / 1000, detectionTimeMs: this.detectUs / 1000, remoteMinRxMs: this.remoteMinRxUs / 1000, remoteMinTxMs: this.remoteMinTxUs / 1000, remoteDetectMult: this.remoteDetectMult });
    }
    // A faster transmit interval applies now rather than at the next (slow) packet.
    if (this.localTxUs < oldTx && this.txTimer) {
      const next = now + this.jittered();
      if (next < this.txDueMs) this.scheduleTx(next - now);
    }
    this.lastSeenMs = now;
    // §6.8.6 state machine.
    if (this.remoteState === 'admin-down') {
      if (this.state !== 'down') this.down(DIAG.neighborDown, 'neighbor-admin-down');
    } else if (this.state === 'down') {
      if (this.remoteState === 'down') this.rise('init');
      else if (this.remoteState === 'init') this.rise('up');
    } else if (this.state === 'init') {
      if (this.remoteState === 'init' || this.remoteState === 'up') this.rise('up');
    } else if (this.state === 'up' && this.remoteState === 'down') this.down(DIAG.neighborDown, 'neighbor-down');
    // §6.6 Demand mode: the neighbour asks us to stop sending while both are Up.
    if (this.remoteDemand && this.state === 'up' && this.remoteState === 'up') this.cancel('tx');
    else if (!this.txTimer) this.scheduleTx();
    // §6.8.7: a Poll is answered with a Final at once, whatever the transmit timer says.
    if (p.poll) {
      this.final = true;
      this.sendNow();
    }
    // The detection timer restarts with every packet while Init or Up.
    if (this.state === 'up' || this.state === 'init') this.scheduleExpire();
  }

  snapshot(): BfdSessionSnapshot {
    return {
      name: this.name,
      neighbor: this.config.neighbor,
      state: this.state,
      remoteState: this.remoteState,
      localDiscriminator: this.localDiscr,
      remoteDiscriminator: this.remoteDiscr,
      localDiag: this.localDiag,
      remoteDiag: this.remoteDiag,
      txIntervalMs: this.localTxUs / 1000,
      detectionTimeMs: this.detectUs / 1000,
      remoteMinRxMs: this.remoteMinRxUs / 1000,
      remoteMinTxMs: this.remoteMinTxUs / 1000,
      remoteDetectMult: this.remoteDetectMult,
      pollPending: this.poll,
      lastReceivedAtMs: this.lastSeenMs,
    };
  }

  /** The packet we would send now (keepalived bfd_build_packet). */
  private build(): BfdControl {
    // Answering a Poll while wanting to poll: the Final carries the new values (§6.5).
    if (this.poll && this.final) this.poll = false;
    return {
      diag: this.localDiag,
      state: this.state,
      poll: this.poll,
      final: this.final,
      cpi: false,
      demand: false,
      detectMult: this.config.multiplier,
      myDiscriminator: this.localDiscr,
      yourDiscriminator: this.remoteDiscr,
      desiredMinTxUs: this.state === 'up' ? this.config.minTxUs : this.config.idleTxUs,
      requiredMinRxUs: this.config.minRxUs,
      requiredMinEchoRxUs: 0,
    };
  }

  private sendNow(): void {
    const p = this.build();
    this.deps.send(encodeControl(p));
    this.deps.emit({ type: 'bfd-packet-sent', bfdInstance: this.name, poll: p.poll, final: p.final });
    this.final = false;
  }

  /** §6.8.7: the interval less a random 0-25 % (10-25 % when Detect Mult is 1). */
  private jittered(): number {
    const txMs = this.localTxUs / 1000;
    const minFraction = this.config.multiplier === 1 ? 0.1 : 0;
    return txMs * (1 - (minFraction + this.deps.random() * (0.25 - minFraction)));
  }

  private scheduleTx(delayMs = this.jittered()): void {
    this.cancel('tx');
    this.txDueMs = this.deps.clock.now() + delayMs;
    this.txTimer = this.deps.clock.setTimer(delayMs, () => {
      this.txTimer = undefined;
      if (this.stopped) return;
      this.sendNow();
      this.scheduleTx();
    });
  }

  private scheduleExpire(): void {
    this.cancel('expire');
    if (this.detectUs <= 0) return;
    // Expiry is confirmed one turn later: packets that arrived while the event loop was held
    // (their I/O callbacks run before the next timers) restart the timer instead (receive()
    // cancels this one), so a stalled loop does not declare a live neighbour dead.
    this.expireTimer = this.deps.clock.setTimer(this.detectUs / 1000, () => {
      this.expireTimer = this.deps.clock.setTimer(0, () => this.expire());
    });
  }

  private expire(): void {
    this.expireTimer = undefined;
    if (this.stopped || (this.state !== 'up' && this.state !== 'init')) return;
    const silentMs = this.lastSeenMs === undefined ? undefined : this.deps.clock.now() - this.lastSeenMs;
    // §6.8.1: bfd.RemoteDiscr is set to 0 after a Detection Time without a valid packet.
    this.remoteDiscr = 0;
    this.down(DIAG.expired, 'expired', silentMs);
  }

  private cancel(which: 'tx' | 'expire' | 'reset'): void {
    const key = `${which}Timer` as 'txTimer' | 'expireTimer' | 'resetTimer';
    const t = this[key];
    if (t) this.deps.clock.clearTimer(t);
    this[key] = undefined;
  }

  private rise(to: 'init' | 'up'): void {
    const from = this.state;
    this.state = to;
    this.localDiag = DIAG.none;
    this.cancel('reset');
    if (to === 'up' && this.config.idleTxUs !== this.config.minTxUs && !this.final) this.poll = true;
    if (to === 'init' && this.config.passive && !this.txTimer) this.scheduleTx();
    this.changed(from, 'handshake');
  }

  private down(diag: number, cause: BfdCause, silentMs?: number): void {
    const from = this.state;
    this.state = 'down';
    this.localDiag = diag;
    this.cancel('expire');
    // §6.8.3: not Up → Desired Min TX back to idle_tx.
    this.localTxUs = Math.max(this.config.idleTxUs, this.remoteMinRxUs);
    if (this.config.passive) this.cancel('tx');
    this.cancel('reset');
    const resetMs = Math.max(this.detectUs / 1000, this.config.idleTxUs / 1000);
    this.resetTimer = this.deps.clock.setTimer(resetMs, () => {
      this.resetTimer = undefined;
      if (this.stopped || this.state !== 'down') return;
      // keepalived bfd_reset_state: forget the neighbour, back to the idle interval.
      this.remoteState = 'down';
      this.remoteDiscr = 0;
      this.remoteDiag = DIAG.none;
      this.remoteDemand = false;
      this.poll = false;
      this.final = false;
      this.localTxUs = Math.max(this.config.idleTxUs, this.remoteMinRxUs);
    });
    this.changed(from, cause, silentMs);
  }

  private changed(from: BfdState, cause: BfdCause, silentMs?: number): void {
    this.deps.emit({
      type: 'bfd-state-changed',
      bfdInstance: this.name,
      neighbor: this.config.neighbor,
      from,
      to: this.state,
      cause,
      localDiag: this.localDiag,
      remoteDiag: this.remoteDiag,
      detectionTimeMs: this.detectUs / 1000,
      ...(silentMs !== undefined ? { silentMs } : {}),
      atMs: this.deps.clock.now(),
    });
  }
}
