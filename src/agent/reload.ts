/**
 * SIGHUP: validate, diff, apply. The new file is validated first (config errors, interfaces,
 * script users); an invalid one is logged with its errors and the running config stays.
 * Unchanged instances keep their state and VIPs; changed ones restart; new ones start; removed
 * ones stop. One reload at a time, and at most one waiting: SIGHUPs during a reload coalesce into
 * one more reload that reads the file as it is then.
 */
import { isDeepStrictEqual } from 'node:util';
import { loadConfig, formatDiagnostic } from '../config/index.js';
import type { Diagnostic, KeepalivedConfig, VrrpInstanceConfig } from '../config/model.js';
import { describe } from '../adapters/errors.js';
import { resolveScriptUsersAsync, type ScriptUsers } from '../tracking/users.js';
import { systemGetentAsync } from '../adapters/process.js';
import type { Parts } from './compose.js';
import { sameIdentity } from '../core/router.js';
import { HostWatch, allVips } from './host-watch.js';
import { scriptUsersOrThrow } from './users.js';
import { checkLinks, syncLinks } from './virtual-links.js';

export interface ReloadResult {
  readonly ok: boolean;
  readonly diagnostics: readonly Diagnostic[];
}

/** Everything but `location`s: two instances are "the same" for reload if this is equal. */
function comparable(c: VrrpInstanceConfig): unknown {
  return JSON.parse(JSON.stringify(c, (k, v) => (k === 'location' || k === 'scriptLocation' ? undefined : v)));
}

/**
 * Which instances a new config keeps (unchanged), reconfigures in place (changed, same identity:
 * core/router.ts sameIdentity), restarts (identity changed), adds and removes.
 */
export function diffInstances(before: KeepalivedConfig, after: KeepalivedConfig): { kept: string[]; reconfigured: string[]; restarted: string[]; added: string[]; removed: string[] } {
  const next = new Map(after.instances.map((i) => [i.name, i]));
  const kept: string[] = [];
  const reconfigured: string[] = [];
  const restarted: string[] = [];
  const removed: string[] = [];
  for (const old of before.instances) {
    const now = next.get(old.name);
    if (!now) removed.push(old.name);
    else if (isDeepStrictEqual(comparable(old), comparable(now))) kept.push(old.name);
    else if (sameIdentity(old, now)) reconfigured.push(old.name);
    else restarted.push(old.name);
  }
  const known = new Set(before.instances.map((i) => i.name));
  const added = after.instances.filter((i) => !known.has(i.name)).map((i) => i.name);
  return { kept, reconfigured, restarted, added, removed };
}

/** Told when each reload starts and ends (lifecycle.ts: the service manager hears RELOADING/READY). */
export interface ReloadHooks {
  started(): void;
  /** `why`: the first line of the refusal. */
  ended(ok: boolean, why?: string): void;
}

export class Reloader {
  private running: Promise<void> = Promise.resolve();
  private pending: Promise<ReloadResult> | undefined;

  constructor(
    private readonly parts: Parts,
    private readonly hooks: ReloadHooks = { started: () => {}, ended: () => {} },
  ) {}

  reload(): Promise<ReloadResult> {
    if (this.pending) return this.pending;
    const run = this.running.then(() => {
      this.pending = undefined;
      return this.applyTold();
    });
    this.pending = run;
    this.running = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** One reload, with the hooks told when it starts and how it ended. */
  private async applyTold(): Promise<ReloadResult> {
    this.hooks.started();
    try {
      const r = await this.apply();
      const first = r.diagnostics.find((d) => d.severity === 'error');
      this.hooks.ended(r.ok, r.ok ? undefined : (this.refusal ?? (first ? formatDiagnostic(first) : undefined)));
      return r;
    } catch (err) {
      this.hooks.ended(false, describe(err));
      throw err;
    } finally {
      this.refusal = undefined;
    }
  }

  /** Why the running reload was refused, when it is not a config error (an interface, a user). */
  private refusal: string | undefined;

  private async apply(): Promise<ReloadResult> {
    const p = this.parts;
    const { log, bus, clock } = p;
    const result = loadConfig(p.opts.configPath, undefined, p.opts.configLoad);
    const failed = (): ReloadResult => {
      bus.emit({ type: 'reload', result: 'failure', diagnostics: result.diagnostics, atMs: clock.now() });
      return { ok: false, diagnostics: result.diagnostics };
    };
    if (!result.config) {
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      for (const d of errors) log.error({ event: 'reload-error' }, formatDiagnostic(d));
      log.error({ event: 'reload', result: 'failure', errors: errors.length }, `reload refused: ${errors.length} error(s) in ${p.opts.configPath}; the running config stays`);
      return failed();
    }
    const next = result.config;
    let users: ScriptUsers;
    try {
      HostWatch.checkInterfaces(p.netlink, next);
      // use_vmac / use_ipvlan links the new config can't have (a name held by a link not ours).
      await checkLinks({ links: p.links, interfaces: p.netlink }, next);
      users = scriptUsersOrThrow(log, await resolveScriptUsersAsync(next, systemGetentAsync));
    } catch (err) {
      log.error({ event: 'reload', result: 'failure' }, `reload refused: ${describe(err)}`);
      this.refusal = describe(err);
      return failed();
    }
    const diff = diffInstances(p.live.config, next);
    // Accept mode: the drop rules of the old and the new VIPs while the instances change (firewall.ts).
    await p.firewall.widen(p.live.config.instances, next.instances);
    p.notifier.deleting(diff.removed);
    for (const name of [...diff.restarted, ...diff.removed]) {
      p.engine.routers.get(name)?.stop();
      p.engine.removeInstance(name);
    }
    const before = p.live.config;
    p.live.config = next;
    p.routing.reload(before, next);
    p.netlink.setVipAddresses(allVips(next).map((v) => v.vip.address));
    await p.netlink.settle();
    // use_vmac / use_ipvlan: the new config's links made, ours it no longer has removed (checked above).
    try {
      await syncLinks({ links: p.links, interfaces: p.netlink, log }, next);
    } catch (err) {
      log.error({ event: 'virtual-link-failed' }, `reload: ${describe(err)}`);
    }
    // Same identity: the new settings apply in place (VIPs added or removed on a master, new
    // priority and timers), no election, no flap.
    for (const c of next.instances.filter((i) => diff.reconfigured.includes(i.name))) {
      p.engine.reconfigureInstance(c);
      // dont_track_primary may have changed: the link state is looked at again.
      const r = p.engine.routers.get(c.name);
      if (r) p.host.applyLinkState(r);
    }
    const starting = next.instances.filter((i) => diff.restarted.includes(i.name) || diff.added.includes(i.name));
    for (const c of starting) {
      const r = p.engine.addInstance(c);
      p.host.openSockets([c]);
      p.host.applyLinkState(r);
      r.start();
    }
    p.host.closeUnused();
    p.observability.metrics.reprime();
    // Trackers follow the new config (scripts restart their rise/fall counting).
    p.live.trackers.stop();
    const previous = p.live.trackers;
    p.live.trackers = p.makeTrackers(next, users);
    p.live.trackers.adopt(previous);
    p.live.trackers.start();
    await p.bfd.reconfigure(next);
    await p.lvs.reconfigure(next);
    await p.netlink.settle();
    await p.firewall.settle(next.instances);
    log.info({ event: 'reload', result: 'success', kept: diff.kept, reconfigured: diff.reconfigured, restarted: diff.restarted, added: diff.added, removed: diff.removed }, `config reloaded: ${diff.kept.length} kept, ${diff.reconfigured.length} changed in place, ${diff.restarted.length} restarted, ${diff.added.length} added, ${diff.removed.length} removed`);
    bus.emit({ type: 'reload', result: 'success', diagnostics: result.diagnostics, atMs: clock.now() });
    return { ok: true, diagnostics: result.diagnostics };
  }
}
