/**
 * What keepalived.conf says about the process rather than the instances (issue 15): the
 * namespace check, umask and nice value, the start-up delay, and what keepalived's data/JSON
 * dumps show of an instance beyond its router's snapshot. For lifecycle.ts and main.ts's dump
 * signals; only applyProcessSettings changes anything (the process's own umask and nice value).
 */
import { statSync } from 'node:fs';
import { setPriority } from 'node:os';
import type { Logger } from '../observability/logging.js';
import type { KeepalivedConfig, OperationsConfig, RouteConfig, RuleConfig, VrrpInstanceConfig } from '../config/model.js';
import type { KeepalivedInstanceView } from '../observability/state-dump.js';
import { HostError, describe } from '../adapters/errors.js';

/**
 * `net_namespace NAME`: keepwatch does not enter the namespace itself (one process, no setns
 * before its native modules open their sockets); it refuses to start outside it, so a file
 * written for keepalived's `net_namespace` never runs its VRRP in the host's namespace.
 */
export function checkNetNamespace(ns: OperationsConfig['netNamespace'], stat: (path: string) => { dev: number; ino: number } = statSync): void {
  if (!ns) return;
  const where = `${ns.location.file}:${ns.location.line}:${ns.location.column}`;
  let want: { dev: number; ino: number };
  try {
    want = stat(`/run/netns/${ns.name}`);
  } catch {
    throw new HostError('namespace', `${where}: net_namespace ${ns.name}: no /run/netns/${ns.name} (create it with 'ip netns add ${ns.name}'); keepwatch runs inside the namespace, it does not enter it: 'ip netns exec ${ns.name} keepwatch ...' or NetworkNamespacePath=/run/netns/${ns.name} in the unit`);
  }
  const self = stat('/proc/self/ns/net');
  if (self.dev !== want.dev || self.ino !== want.ino) {
    throw new HostError('namespace', `${where}: net_namespace ${ns.name}: keepwatch is not running in that network namespace; start it inside it ('ip netns exec ${ns.name} keepwatch ...' or NetworkNamespacePath=/run/netns/${ns.name} in the unit): it does not enter the namespace itself`);
  }
}

/**
 * How long the instances wait before they start (the first start only): `vrrp_startup_delay`, and
 * `vrrp_delay_after_boot` less the time the system has been up, whichever is longer.
 */
export function startupDelayMs(ops: Pick<OperationsConfig, 'startupDelayMs' | 'delayAfterBootMs'>, uptimeMs: number): number {
  return Math.max(0, ops.startupDelayMs, ops.delayAfterBootMs - uptimeMs);
}

const prefixText = (p: { address: string; prefixLength: number } | undefined) => (p ? `${p.address}/${p.prefixLength}` : 'all');
const routeText = (r: RouteConfig) => r.text;
const ruleText = (r: RuleConfig) => `${r.invert ? 'not ' : ''}from ${prefixText(r.from)}${r.to ? ` to ${prefixText(r.to)}` : ''} priority ${r.priority}${r.table !== undefined ? ` table ${r.table}` : ''}`;

/** What keepalived's data and JSON dumps show of an instance beyond its router's snapshot. */
export function keepalivedView(config: KeepalivedConfig, i: VrrpInstanceConfig): KeepalivedInstanceView {
  const group = config.syncGroups.find((g) => g.members.some((m) => m.name === i.name));
  const scripts: Record<string, string> = {};
  const n = i.notify;
  for (const [k, c] of [
    ['script_backup', n.backup],
    ['script_master', n.master],
    ['script_fault', n.fault],
    ['script_stop', n.stop],
    ['script_deleted', n.deleted],
    ['script', n.generic],
    ['script_master_rx_lower_pri', n.masterRxLowerPri],
  ] as const) {
    if (c) scripts[k] = c.command;
  }
  const scriptOf = new Map(config.scripts.map((x) => [x.name, x.script]));
  return {
    ...(group ? { syncGroup: group.name } : {}),
    unicastPeers: i.unicastPeers.map((p) => p.address),
    ...(i.unicastSrcIp ? { srcIp: i.unicastSrcIp } : i.mcastSrcIp ? { srcIp: i.mcastSrcIp } : {}),
    mcastGroup: i.mcastGroup,
    garpDelayMs: i.garpMasterDelayMs,
    garpRepeat: i.garpMasterRepeat,
    garpRefreshMs: i.garpMasterRefreshMs,
    garpRefreshRepeat: i.garpMasterRefreshRepeat,
    garpLowerPrioDelayMs: i.garpLowerPrioDelayMs,
    garpLowerPrioRepeat: i.garpLowerPrioRepeat,
    lowerPrioNoAdvert: i.lowerPrioNoAdvert,
    higherPrioSendAdvert: i.higherPrioSendAdvert,
    accept: i.accept,
    nopreempt: i.nopreempt,
    preemptDelayMs: i.preemptDelayMs,
    strict: i.strict,
    skipCheckAdvAddr: i.skipCheckAdvAddr,
    dontTrackPrimary: i.dontTrackPrimary,
    promoteSecondaries: false,
    smtpAlert: i.smtpAlert ?? group?.smtpAlert ?? config.global.smtpAlert,
    notifyDeleted: i.notifyDeleted ?? false,
    ...(i.vmac ? { vmacIfname: i.vmac.name } : {}),
    scripts,
    excludedVips: i.virtualAddressesExcluded.map((v) => `${v.address}/${v.prefixLength}${v.device ? ` dev ${v.device}` : ''}`),
    virtualRoutes: i.virtualRoutes.map(routeText),
    virtualRules: i.virtualRules.map(ruleText),
    trackInterfaces: i.trackInterfaces.map((t) => t.name),
    trackScripts: i.trackScripts.map((t) => scriptOf.get(t.name) ?? t.name),
    authType: !i.authentication ? 0 : i.authentication.type === 'PASS' ? 1 : 2,
  };
}

/**
 * `umask` (unless `-u` was given: keepalived's command line wins) for every file created from
 * here on, and `vrrp_priority` as the process's nice value (keepalived sets its VRRP process's;
 * a failure is a warning, as a negative value needs CAP_SYS_NICE).
 */
export function applyProcessSettings(ops: Pick<OperationsConfig, 'umask' | 'nice'>, log: Logger, opts: { umaskFromCommandLine: boolean }): void {
  if (ops.umask !== undefined && !opts.umaskFromCommandLine) {
    process.umask(ops.umask);
    log.info({ event: 'umask', umask: ops.umask.toString(8).padStart(3, '0') }, `umask ${ops.umask.toString(8).padStart(3, '0')} (global_defs umask)`);
  }
  if (ops.nice !== undefined) {
    try {
      setPriority(0, ops.nice);
      log.info({ event: 'nice', nice: ops.nice }, `nice value ${ops.nice} (global_defs vrrp_priority)`);
    } catch (err) {
      log.warn({ event: 'nice', nice: ops.nice }, `vrrp_priority ${ops.nice}: could not set the nice value (${describe(err)}); a negative one needs CAP_SYS_NICE or Nice= in the unit`);
    }
  }
}
