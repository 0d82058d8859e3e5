/**
 * BFD in the running agent: the sessions (src/bfd/), their sockets (adapters/bfd-udp.ts), their
 * log lines, spans and metrics, and `track_bfd` feeding the instances' priority and faults
 * (src/bfd/track.ts) as the script trackers do (the router keeps the two offsets apart:
 * `setPriorityOffset(offset, 'bfd')`). Wiring only.
 *
 * Timers: BFD's transmit and detection timers are ordinary (not `precise`) clock timers, so the
 * precise advert timers keep their budget (adapters/clock.ts counts only precise ones); a 10 ms
 * interval less up to 25 % jitter fires 100 times a second per session.
 */
import { randomInt } from 'node:crypto';
import type { KeepalivedConfig } from '../config/model.js';
import type { VrrpRouter } from '../core/router.js';
import type { AgentBus } from '../events/index.js';
import type { Clock } from '../ports/index.js';
import { BfdSessionSet, type BfdSessionView } from '../bfd/sessions.js';
import { parseBfdDatagram } from '../bfd/datagram.js';
import { ReceivePairer } from '../bfd/pairing.js';
import { bfdTrackEffect, trackedBfd } from '../bfd/track.js';
import { BfdUdpTransport } from '../adapters/bfd-udp.js';
import { describe } from '../adapters/errors.js';
import type { Logger } from '../observability/logging.js';
import type { Observability } from '../observability/index.js';
import { logBfdEvents, traceBfd } from '../observability/bfd.js';

export interface BfdAgentDeps {
  readonly log: Logger;
  readonly clock: Clock;
  readonly bus: AgentBus;
  routers(): readonly VrrpRouter[];
}

/** Uniform in [0, 1) from the CSPRNG: discriminators must not be guessable (sessions.ts). */
const secureRandom = (): number => randomInt(0, 2 ** 47) / 2 ** 47;

export class BfdAgent {
  private config: KeepalivedConfig;
  private set: BfdSessionSet;
  private transport: BfdUdpTransport | undefined;
  /** Whether each session counts as up for track_bfd (src/bfd/track.ts). */
  private readonly up = new Map<string, boolean>();
  private readonly faultKeys = new Map<string, Set<string>>();
  private readonly lastWeights = new Map<string, number>();
  private started = false;

  constructor(
    private readonly deps: BfdAgentDeps,
    config: KeepalivedConfig,
  ) {
    this.config = config;
    this.set = this.makeSet(config);
    deps.bus.on('bfd-state-changed', (e) => {
      if (!this.set.session(e.bfdInstance)) return;
      const was = this.up.get(e.bfdInstance) ?? false;
      // keepalived: Up → up; Down → down, unless the neighbour said AdminDown (no event then).
      const now = e.to === 'up' ? true : e.to === 'init' ? was : e.cause === 'neighbor-admin-down' ? was : false;
      if (now === was) return;
      this.up.set(e.bfdInstance, now);
      this.apply();
    });
  }

  /** Logs, spans and metrics (call once, after observe()). */
  observe(o: Observability): void {
    logBfdEvents(this.deps.bus, this.deps.log, () => this.deps.clock.now(), o.limiter);
    if (o.tracing.enabled) traceBfd(o.tracing.tracer, this.deps.bus, (atMs) => this.deps.clock.wallNow() - (this.deps.clock.now() - atMs));
    o.metrics.subscribeBfd(this.deps.bus, () => this.views());
  }

  get count(): number {
    return this.set.configs.length;
  }

  /** Opens the sockets (root: the capture on `any`, ports 3784/4784). Nothing without bfd_instance. */
  async open(): Promise<void> {
    if (this.set.configs.length === 0 || this.transport) return;
    const pairer = new ReceivePairer(
      (payload, meta) => this.set.receive(payload, meta),
      (reason, source) => this.deps.bus.emit({ type: 'bfd-packet-dropped', bfdInstance: '', reason, source, ttl: 0 }),
      () => this.deps.clock.now(),
    );
    this.transport = new BfdUdpTransport(
      (frame, link) => {
        const d = parseBfdDatagram(frame, link);
        if (d) pairer.fromCapture(d);
      },
      (payload, source, port) => pairer.fromSocket({ source, destinationPort: port, payload }),
      (name, error) => this.deps.bus.emit({ type: 'bfd-send-failed', bfdInstance: name, error: describe(error) }),
    );
    await this.transport.open(this.set.configs);
  }

  /** Before the instances start: a tracked session is down until it comes Up (weight 0 → FAULT). */
  apply(): void {
    for (const r of this.deps.routers()) {
      const refs = trackedBfd(r.config, this.config);
      const prev = this.faultKeys.get(r.name) ?? new Set<string>();
      if (refs.length === 0 && prev.size === 0) continue;
      const eff = bfdTrackEffect(refs, (name) => this.up.get(name) ?? false);
      for (const [tracker, weight] of eff.weights) {
        const key = `${r.name}|${tracker}`;
        if (this.lastWeights.get(key) === weight) continue;
        this.lastWeights.set(key, weight);
        this.deps.bus.emit({ type: 'track-weight', instance: r.name, vrid: r.config.vrid, tracker, weight });
      }
      for (const key of prev) if (!eff.faults.has(key)) r.setFault(`track:${key}`, undefined);
      for (const [key, detail] of eff.faults) r.setFault(`track:${key}`, detail);
      this.faultKeys.set(r.name, new Set(eff.faults.keys()));
      r.setPriorityOffset(eff.offset, 'bfd');
    }
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.set.start();
    if (this.set.configs.length > 0) this.deps.log.info({ event: 'bfd-started', sessions: this.set.configs.map((c) => c.name) }, `BFD: ${this.set.configs.map((c) => `${c.name} to ${c.neighbor}${c.multihop ? ' (multihop)' : ''}${c.passive ? ' (passive)' : ''}`).join(', ')}`);
  }

  /** AdminDown to every neighbour, then the sockets close. */
  stop(): void {
    this.set.stop();
    this.started = false;
    // The AdminDown packets are queued on the sockets: close them once those are out.
    const t = this.transport;
    this.transport = undefined;
    if (t) setTimeout(() => t.close(), 20).unref();
  }

  /**
   * A reload: unchanged bfd_instances keep their sessions (no flap); if any changed, all restart
   * (simple, and a BFD session comes back Up within a second or two).
   */
  async reconfigure(next: KeepalivedConfig): Promise<void> {
    const same = JSON.stringify((this.config.bfdInstances ?? []).map(({ location: _l, ...b }) => b)) === JSON.stringify((next.bfdInstances ?? []).map(({ location: _l, ...b }) => b));
    this.config = next;
    if (!same) {
      const wasStarted = this.started;
      this.stop();
      this.up.clear();
      this.set = this.makeSet(next);
      try {
        await this.open();
      } catch (err) {
        this.deps.log.error({ err, event: 'bfd-open' }, `BFD: could not open its sockets after the reload: ${describe(err)}`);
      }
      if (wasStarted) this.start();
    }
    this.apply();
  }

  views(): BfdSessionView[] {
    return this.set.views();
  }

  /** For /v1/state: the sessions an instance tracks, with their state and what they weigh. */
  stateOf(instance: string): Record<string, unknown> {
    const r = this.deps.routers().find((x) => x.name === instance);
    if (!r) return {};
    const refs = trackedBfd(r.config, this.config);
    if (refs.length === 0) return {};
    const views = new Map(this.views().map((v) => [v.name, v]));
    return {
      bfd: refs.map((ref) => {
        const v = views.get(ref.name);
        return { bfdInstance: ref.name, neighbor: v?.neighbor, state: v?.state, weight: ref.weight, reverse: ref.reverse, trackedUp: this.up.get(ref.name) ?? false, detectionTimeMs: v?.detectionTimeMs };
      }),
    };
  }

  private makeSet(config: KeepalivedConfig): BfdSessionSet {
    return new BfdSessionSet(config.bfdInstances ?? [], {
      clock: this.deps.clock,
      random: secureRandom,
      send: (cfg, bytes) => this.transport?.send(cfg.name, bytes),
      emit: (e) => this.deps.bus.emit(e),
    });
  }
}
