/**
 * The desired data-plane table from the model and the real servers' states (pure): which
 * services exist (a `virtual_server_group` gives one per address and port of its entries), which
 * real servers are in each and with what weight, the sorry server when quorum is lost.
 */
import type { KeepalivedConfig, RealServerConfig, VirtualServerConfig, VirtualServerGroupEntry } from '../config/model.js';
import type { DataPlaneRealServer, DataPlaneService, ForwardingMethod, Scheduler, ServiceProtocol } from '../ports/data-plane.js';
import type { IpFamily } from '../protocol/inet.js';
import { formatIp, parseIp } from '../protocol/inet.js';

const bracket = (a: string): string => (a.includes(':') ? `[${a}]` : a);

/** `tcp 192.168.2.240:80`, `udp [2001:db8::1]:53`, `fwmark 1 inet`. */
export function serviceKey(s: { protocol?: ServiceProtocol; address?: string; port?: number; fwmark?: number; family: IpFamily }): string {
  return s.fwmark !== undefined ? `fwmark ${s.fwmark} ${s.family === 'ipv6' ? 'inet6' : 'inet'}` : `${s.protocol ?? 'tcp'} ${bracket(s.address ?? '')}:${s.port ?? 0}`;
}

/** `192.168.2.10:80`, `[2001:db8::10]:80`, or the address alone (no port: a fwmark service). */
export function realServerKey(rs: { address: string; port?: number }): string {
  return rs.port === undefined ? rs.address : `${bracket(rs.address)}:${rs.port}`;
}

/** The virtual server's name in events and state: its service key, or `group NAME`. */
export function virtualServerKey(vs: VirtualServerConfig): string {
  if (vs.group !== undefined) return `group ${vs.group}`;
  return serviceKey({ protocol: vs.serviceProtocol, address: vs.address, port: vs.port, fwmark: vs.fwmark, family: vs.family ?? 'ipv4' });
}

/** The addresses of a group entry's range (`10.0.0.1-3` → three), in order. */
export function expandRange(e: VirtualServerGroupEntry): string[] {
  if (e.address === undefined) return [];
  if (e.rangeEnd === undefined) return [e.address];
  const p = parseIp(e.address);
  if (!p) return [];
  const out: string[] = [];
  const bytes = [...p.bytes];
  if (p.family === 'ipv4') {
    for (let b = bytes[3]!; b <= e.rangeEnd; b++) out.push(formatIp(Uint8Array.from([...bytes.slice(0, 3), b])));
  } else {
    for (let g = bytes[14]! * 256 + bytes[15]!; g <= e.rangeEnd; g++) out.push(formatIp(Uint8Array.from([...bytes.slice(0, 14), g >> 8, g & 0xff])));
  }
  return out;
}

/** The service heads (without real servers) a virtual server stands for. */
export function serviceHeads(vs: VirtualServerConfig, config: Pick<KeepalivedConfig, 'virtualServerGroups'>): Omit<DataPlaneService, 'realServers' | 'interface'>[] {
  const common = {
    scheduler: vs.scheduler as Scheduler,
    method: vs.method as ForwardingMethod,
    persistenceTimeoutS: Math.round((vs.persistenceTimeoutMs ?? 0) / 1000),
    ...(vs.persistenceGranularity !== undefined ? { persistenceGranularity: vs.persistenceGranularity } : {}),
  };
  const protocol = vs.serviceProtocol as ServiceProtocol;
  const fam = (f: IpFamily | undefined): IpFamily => f ?? vs.family ?? 'ipv4';
  if (vs.fwmark !== undefined) return [{ key: serviceKey({ fwmark: vs.fwmark, family: fam(undefined) }), family: fam(undefined), fwmark: vs.fwmark, ...common }];
  if (vs.group === undefined) return [{ key: serviceKey({ protocol, address: vs.address, port: vs.port, family: fam(undefined) }), family: fam(undefined), address: vs.address, port: vs.port!, protocol, ...common }];
  const g = config.virtualServerGroups?.find((x) => x.name === vs.group);
  const out: Omit<DataPlaneService, 'realServers' | 'interface'>[] = [];
  for (const e of g?.entries ?? []) {
    if (e.fwmark !== undefined) {
      out.push({ key: serviceKey({ fwmark: e.fwmark, family: fam(undefined) }), family: fam(undefined), fwmark: e.fwmark, ...common });
      continue;
    }
    for (const a of expandRange(e)) out.push({ key: serviceKey({ protocol, address: a, port: e.port, family: fam(e.family) }), family: fam(e.family), address: a, port: e.port!, protocol, ...common });
  }
  return out;
}

/** One real server as the table shows it, given its weight now. */
export function tableRealServer(rs: RealServerConfig, weight: number): DataPlaneRealServer {
  return {
    address: rs.address,
    ...(rs.port !== undefined ? { port: rs.port } : {}),
    weight,
    ...(rs.method ? { method: rs.method } : {}),
    ...(rs.upperThreshold !== undefined ? { upperThreshold: rs.upperThreshold } : {}),
    ...(rs.lowerThreshold !== undefined ? { lowerThreshold: rs.lowerThreshold } : {}),
  };
}

/**
 * The interface toward a virtual server's address for DR: the `vrrp_instance` that holds it as a
 * VIP (the VIP's `dev`, else the instance's interface).
 */
export function interfaceHolding(config: Pick<KeepalivedConfig, 'instances'>, address: string | undefined): { instance: string; iface: string } | undefined {
  if (address === undefined) return undefined;
  for (const i of config.instances) {
    for (const v of [...i.virtualAddresses, ...i.virtualAddressesExcluded]) {
      if (v.address === address) return { instance: i.name, iface: v.device ?? i.interface };
    }
  }
  return undefined;
}
