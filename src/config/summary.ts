/**
 * The one-line summary of a `vrrp_instance` that `keepwatch -t` prints for a configuration
 * without errors (as `keepalived -t` checks a configuration, with the result shown). Input: one
 * assembled `VrrpInstanceConfig`; output: text. It never shows a password: authentication is
 * named by its type only.
 */
import type { SourceLocation, VirtualAddressConfig, VirtualLinkConfig, VrrpInstanceConfig } from './model.js';
import { lex } from './lexer.js';
import { DiagnosticSink } from './diagnostics.js';

/** Milliseconds as seconds: `1s`, `0.1s`. */
const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(6))}s`;
const vipText = (v: VirtualAddressConfig): string =>
  v.prefixLength === (v.family === 'ipv4' ? 32 : 128) ? v.address : `${v.address}/${v.prefixLength}`;

/**
 * One line per instance, e.g. `VI_1: vrid 51 on eth0, VRRPv2, BACKUP prio 99, advert 1s, auth PASS,
 * 1 VIP (192.168.128.130), multicast 224.0.0.18`.
 */
export function summarizeInstance(i: VrrpInstanceConfig): string {
  const n = i.virtualAddresses.length;
  const transport = i.unicastPeers.length
    ? `unicast ${i.unicastSrcIp ?? '(interface address)'} -> ${i.unicastPeers.map((p) => p.address).join(', ')}`
    : `multicast ${i.mcastGroup}`;
  return [
    `${i.name}: vrid ${i.vrid} on ${i.interface}`,
    `VRRPv${i.version}`,
    `${i.initialState} prio ${i.priority}${i.nopreempt ? ' nopreempt' : ''}`,
    `advert ${seconds(i.advertIntervalMs)}`,
    i.authentication ? `auth ${i.authentication.type}` : 'no auth',
    `${n} VIP${n === 1 ? '' : 's'}${n ? ` (${i.virtualAddresses.map(vipText).join(', ')})` : ''}`,
    transport,
    // Accept mode off (no_accept, vrrp_strict): traffic to the VIPs is dropped (core/accept-mode.ts).
    ...(i.accept ? [] : ['no_accept (VIP traffic dropped)']),
    // virtual_routes / virtual_rules: held with the VIPs (agent/routing.ts, core/router.ts).
    ...(i.virtualRoutes.length + i.virtualRules.length > 0
      ? [`${i.virtualRoutes.length} virtual route${i.virtualRoutes.length === 1 ? '' : 's'} and ${i.virtualRules.length} rule${i.virtualRules.length === 1 ? '' : 's'}`]
      : []),
    // use_vmac / use_ipvlan: the link the VIPs (macvlan) and adverts use (config/vmac.ts).
    ...(i.vmac ? [linkText(i.vmac)] : []),
  ].join(', ');
}

/** `vmac vrrp.51 (00:00:5e:00:01:33)`, `ipvlan iv0 (10.0.0.5/24)`; with vmac_xmit_base, where adverts go. */
function linkText(l: VirtualLinkConfig): string {
  const what = l.kind === 'macvlan' ? `vmac ${l.name} (${l.mac})` : `ipvlan ${l.name}${l.address ? ` (${l.address.address}/${l.address.prefixLength})` : ''}`;
  return l.xmitBase ? `${what}, adverts on ${l.base}` : what;
}

/**
 * Where `text` (one file of a configuration) writes any of `names` as the first word of a line:
 * the migration check's view of the keywords keepwatch acts on differently (compat.ts
 * ACTED_DIFFERENTLY). Pure: the file's text in, places out; lexing problems are the config
 * test's to report, not this scan's.
 */
export function keywordsWritten(text: string, file: string, names: ReadonlySet<string>): { keyword: string; location: SourceLocation }[] {
  const out: { keyword: string; location: SourceLocation }[] = [];
  for (const line of lex(text, file, new DiagnosticSink(), { dropEmpty: true })) {
    const first = line[0];
    if (first && !first.quoted && names.has(first.text)) out.push({ keyword: first.text, location: first.location });
  }
  return out;
}

/**
 * One line per `virtual_server` for `keepwatch -t` (config/virtual-server.ts), e.g.
 * `virtual_server 192.168.2.240:80 tcp: wlc DR, persistence 60s, 2 real servers (192.168.2.11:80 w3
 * TCP_CHECK, 192.168.2.12:80 w3 TCP_CHECK)`.
 */
export function summarizeVirtualServer(vs: import('./model.js').VirtualServerConfig): string {
  const host = (a: string, p?: number): string => (p === undefined ? a : `${a.includes(':') ? `[${a}]` : a}:${p}`);
  const head = vs.fwmark !== undefined || vs.group !== undefined ? vs.address : `${host(vs.address, vs.port)} ${vs.serviceProtocol}`;
  const n = vs.realServers.length;
  const rs = vs.realServers.map((r) => `${host(r.address, r.port)} w${r.effectiveWeight}${r.checkers.length ? ` ${r.checkers.map((c) => c.kind).join('+')}` : ''}`);
  return [
    `virtual_server ${head}: ${vs.scheduler} ${vs.method.toUpperCase()}`,
    ...(vs.persistenceTimeoutMs ? [`persistence ${seconds(vs.persistenceTimeoutMs)}`] : []),
    `${n} real server${n === 1 ? '' : 's'}${n ? ` (${rs.join(', ')})` : ''}`,
    ...(vs.quorum > 1 || vs.hysteresis > 0 ? [`quorum ${vs.quorum}±${vs.hysteresis}`] : []),
    ...(vs.sorryServer ? [`sorry ${host(vs.sorryServer.address, vs.sorryServer.port)}`] : []),
    ...(vs.haSuspend ? ['ha_suspend'] : []),
  ].join(', ');
}
