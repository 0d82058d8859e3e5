/**
 * The LVS data plane on IPVS (kernels with `ip_vs`: /proc/net/ip_vs exists), over generic
 * netlink, family "IPVS" (include/uapi/linux/ip_vs.h; the attributes keepalived's libipvs.c
 * sends). Every scheduler and lb_kind (NAT = masquerading, DR = direct routing, TUN = IPIP) and
 * persistence (IP_VS_SVC_F_PERSISTENT, timeout, netmask) as the kernel does them.
 *
 * IPVS has no transactions: a new table is applied as the difference to the one applied before
 * (services deleted, added or changed, then their destinations), so services that did not change
 * are never touched. What this agent programmed is kept in STATE_FILE, so the next start
 * (after a crash) removes a leftover service this agent made, and nothing it did not make.
 *
 * CI cannot exercise this adapter: the test kernel has no ip_vs (CONFIG_IP_VS is not set). The
 * message encoding is checked against golden bytes (test/unit/adapters/ipvs.test.ts); the
 * nftables adapter (nft-lvs.ts) is the one the network tests run.
 *
 * Not done here: `lvs_sync_daemon` (IPVS_CMD_NEW_DAEMON) — not part of the DataPlane table.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { parseIp } from '../protocol/inet.js';
import type { DataPlane, DataPlaneRealServer, DataPlaneService, DataPlaneTable, ForwardingMethod } from '../ports/index.js';

const require = createRequire(import.meta.url);

export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;
export const IPVS_PROC = '/proc/net/ip_vs';
export const STATE_FILE = '/run/keepwatch/ipvs-services.json';
const REQUEST_TIMEOUT_MS = 3000;

/** Commands (ip_vs.h). */
export const IPVS_CMD = { NEW_SERVICE: 1, SET_SERVICE: 2, DEL_SERVICE: 3, GET_SERVICE: 4, NEW_DEST: 5, SET_DEST: 6, DEL_DEST: 7, GET_DEST: 8, NEW_DAEMON: 9, DEL_DAEMON: 10, FLUSH: 17 } as const;
/** Top-level attributes. */
const CMD_ATTR = { SERVICE: 1, DEST: 2 } as const;
/** Inside IPVS_CMD_ATTR_SERVICE. */
const SVC_ATTR = { AF: 1, PROTOCOL: 2, ADDR: 3, PORT: 4, FWMARK: 5, SCHED_NAME: 6, FLAGS: 7, TIMEOUT: 8, NETMASK: 9 } as const;
/** Inside IPVS_CMD_ATTR_DEST. */
const DEST_ATTR = { ADDR: 1, PORT: 2, FWD_METHOD: 3, WEIGHT: 4, U_THRESH: 5, L_THRESH: 6, ADDR_FAMILY: 11 } as const;
const IP_VS_SVC_F_PERSISTENT = 0x0001;
const FWD: Record<ForwardingMethod, number> = { nat: 0 /* IP_VS_CONN_F_MASQ */, tun: 2 /* TUNNEL */, dr: 3 /* DROUTE */ };
const PROTO = { tcp: 6, udp: 17, sctp: 132 } as const;
const AF = { ipv4: 2, ipv6: 10 } as const;

/** Whether this kernel has IPVS. */
export function ipvsAvailable(): boolean {
  return existsSync(IPVS_PROC);
}

// --- encoding (pure) ----------------------------------------------------------------------------

/** One netlink attribute: length (header + payload, unpadded), type, payload padded to 4 bytes. */
function nla(type: number, payload: Uint8Array): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  out.set(payload, 4);
  return out;
}
const u16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
/** A port as the kernel keeps it: network byte order in a u16 attribute. */
const be16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const str = (s: string): Buffer => Buffer.from(`${s}\0`, 'ascii');
/** union nf_inet_addr: 16 bytes, an IPv4 address in the first 4. */
function inetAddr(address: string): Buffer {
  const p = parseIp(address);
  if (!p) throw new Error(`not an IP address: ${address}`);
  const b = Buffer.alloc(16);
  b.set(p.bytes, 0);
  return b;
}

/** persistence_granularity as IPVS_SVC_ATTR_NETMASK: the IPv4 mask as stored (network order), the IPv6 prefix length. */
function netmask(s: DataPlaneService): Buffer {
  if (s.family === 'ipv6') return u32(s.persistenceGranularity ? Number(s.persistenceGranularity) : 128);
  const p = parseIp(s.persistenceGranularity ?? '255.255.255.255');
  return Buffer.from(p?.family === 'ipv4' ? p.bytes : [255, 255, 255, 255]);
}

/** The service's identity (AF + fwmark, or AF + protocol + address + port), and with `full` its settings. */
export function serviceAttrs(s: DataPlaneService, full: boolean): Buffer {
  const parts = [nla(SVC_ATTR.AF, u16(AF[s.family]))];
  if (s.fwmark !== undefined) parts.push(nla(SVC_ATTR.FWMARK, u32(s.fwmark)));
  else parts.push(nla(SVC_ATTR.PROTOCOL, u16(PROTO[s.protocol ?? 'tcp'])), nla(SVC_ATTR.ADDR, inetAddr(s.address!)), nla(SVC_ATTR.PORT, be16(s.port ?? 0)));
  if (full) {
    const flags = Buffer.concat([u32(s.persistenceTimeoutS > 0 ? IP_VS_SVC_F_PERSISTENT : 0), u32(0xffffffff)]);
    parts.push(nla(SVC_ATTR.SCHED_NAME, str(s.scheduler)), nla(SVC_ATTR.FLAGS, flags), nla(SVC_ATTR.TIMEOUT, u32(s.persistenceTimeoutS)), nla(SVC_ATTR.NETMASK, netmask(s)));
  }
  return nla(CMD_ATTR.SERVICE, Buffer.concat(parts));
}

/** A destination: address, port (the service's under a fwmark service without one), method, weight. */
export function destAttrs(s: DataPlaneService, r: DataPlaneRealServer, full: boolean): Buffer {
  const p = parseIp(r.address);
  const parts = [nla(DEST_ATTR.ADDR, inetAddr(r.address)), nla(DEST_ATTR.PORT, be16(r.port ?? s.port ?? 0))];
  if (full) {
    parts.push(nla(DEST_ATTR.FWD_METHOD, u32(FWD[r.method ?? s.method])), nla(DEST_ATTR.WEIGHT, u32(r.weight)), nla(DEST_ATTR.U_THRESH, u32(0)), nla(DEST_ATTR.L_THRESH, u32(0)));
    parts.push(nla(DEST_ATTR.ADDR_FAMILY, u16(AF[p?.family ?? s.family])));
  }
  return nla(CMD_ATTR.DEST, Buffer.concat(parts));
}

/** One operation on the kernel's table. */
export type IpvsOp =
  | { readonly cmd: 'NEW_SERVICE' | 'SET_SERVICE' | 'DEL_SERVICE'; readonly service: DataPlaneService }
  | { readonly cmd: 'NEW_DEST' | 'SET_DEST' | 'DEL_DEST'; readonly service: DataPlaneService; readonly dest: DataPlaneRealServer };

/** The generic netlink payload of an operation: genl header (cmd, version, reserved) and attributes. */
export function encodeOp(op: IpvsOp): Buffer {
  const header = Buffer.from([IPVS_CMD[op.cmd], IPVS_GENL_VERSION, 0, 0]);
  const fullService = op.cmd === 'NEW_SERVICE' || op.cmd === 'SET_SERVICE';
  const attrs = [serviceAttrs(op.service, fullService)];
  if ('dest' in op) attrs.push(destAttrs(op.service, op.dest, op.cmd !== 'DEL_DEST'));
  return Buffer.concat([header, ...attrs]);
}

const destKey = (s: DataPlaneService, r: DataPlaneRealServer): string => `${r.address}:${r.port ?? s.port ?? 0}`;
const settings = (s: DataPlaneService): string => JSON.stringify([s.scheduler, s.persistenceTimeoutS, s.persistenceGranularity ?? '']);

/**
 * The operations taking the kernel from `before` to `after` (pure): deletions of services first,
 * then new and changed services, each followed by its destinations. IPVS keeps a destination
 * of weight 0 (no new connections, the existing ones stay), as keepalived's inhibit_on_failure.
 */
export function planIpvs(before: DataPlaneTable, after: DataPlaneTable): IpvsOp[] {
  const ops: IpvsOp[] = [];
  const old = new Map(before.services.map((s) => [s.key, s]));
  const next = new Map(after.services.map((s) => [s.key, s]));
  for (const [k, s] of old) if (!next.has(k)) ops.push({ cmd: 'DEL_SERVICE', service: s });
  for (const [k, s] of next) {
    const prev = old.get(k);
    if (!prev) {
      ops.push({ cmd: 'NEW_SERVICE', service: s });
      for (const r of s.realServers) ops.push({ cmd: 'NEW_DEST', service: s, dest: r });
      continue;
    }
    if (settings(prev) !== settings(s)) ops.push({ cmd: 'SET_SERVICE', service: s });
    const was = new Map(prev.realServers.map((r) => [destKey(prev, r), r]));
    const now = new Map(s.realServers.map((r) => [destKey(s, r), r]));
    for (const [dk, r] of was) if (!now.has(dk)) ops.push({ cmd: 'DEL_DEST', service: s, dest: r });
    for (const [dk, r] of now) {
      const p = was.get(dk);
      if (!p) ops.push({ cmd: 'NEW_DEST', service: s, dest: r });
      else if (p.weight !== r.weight || (p.method ?? prev.method) !== (r.method ?? s.method)) ops.push({ cmd: 'SET_DEST', service: s, dest: r });
    }
  }
  return ops;
}

// --- the kernel side ----------------------------------------------------------------------------

interface GenlSocket {
  request(family: number, cmd: number, version: number, data: Uint8Array | Uint8Array[], options?: { timeout?: number; flags?: number }): Promise<unknown>;
  ctrlRequest(cmd: number, msg: { familyName?: string }, options?: { timeout?: number }): Promise<{ familyId?: number }[]>;
  socket: { close(): void };
}

/** Errors the kernel answers that mean "already so" for an operation. */
function alreadyDone(op: IpvsOp, err: unknown): boolean {
  const code = (err as { errno?: number; code?: string })?.code ?? String((err as Error)?.message ?? '');
  if (op.cmd === 'NEW_SERVICE' || op.cmd === 'NEW_DEST') return /EEXIST/.test(code);
  if (op.cmd === 'DEL_SERVICE' || op.cmd === 'DEL_DEST') return /ESRCH|ENOENT/.test(code);
  return false;
}

export class IpvsDataPlane implements DataPlane {
  readonly kind = 'ipvs' as const;
  private applied: DataPlaneTable | undefined;
  private family: number | undefined;
  private sock: GenlSocket | undefined;

  constructor(private readonly stateFile = STATE_FILE) {}

  async apply(table: DataPlaneTable): Promise<void> {
    const before = this.applied ?? this.readState();
    for (const op of planIpvs(before, table)) {
      try {
        await this.send(op);
      } catch (err) {
        if (alreadyDone(op, err)) continue;
        // What went through is in the kernel: remember the table as far as it got (the next
        // apply starts from the kernel's view of ours, conservatively: the old table).
        throw new Error(`IPVS refused ${op.cmd} ${op.service.key}${'dest' in op ? ` ${destKey(op.service, op.dest)}` : ''}: ${(err as Error).message}`);
      }
    }
    this.applied = table;
    this.writeState(table);
  }

  async removeAll(): Promise<void> {
    const before = this.applied ?? this.readState();
    if (before.services.length > 0) {
      for (const s of before.services) {
        try {
          await this.send({ cmd: 'DEL_SERVICE', service: s });
        } catch (err) {
          if (!alreadyDone({ cmd: 'DEL_SERVICE', service: s }, err)) throw new Error(`IPVS refused DEL_SERVICE ${s.key}: ${(err as Error).message}`);
        }
      }
    }
    this.applied = { services: [] };
    this.writeState(this.applied);
    this.sock?.socket.close();
    this.sock = undefined;
    this.family = undefined;
  }

  private async send(op: IpvsOp): Promise<void> {
    const sock = await this.open();
    const payload = encodeOp(op);
    // The netlink module adds the genl header from cmd/version: hand it the attributes only.
    await sock.request(this.family!, payload[0]!, IPVS_GENL_VERSION, payload.subarray(4), { timeout: REQUEST_TIMEOUT_MS });
  }

  private async open(): Promise<GenlSocket> {
    if (this.sock && this.family !== undefined) return this.sock;
    const nl = require('netlink') as { createGenericNetlink(): GenlSocket };
    const sock = nl.createGenericNetlink();
    const [fam] = await sock.ctrlRequest(3 /* CTRL_CMD_GETFAMILY */, { familyName: IPVS_GENL_NAME }, { timeout: REQUEST_TIMEOUT_MS });
    if (fam?.familyId === undefined) {
      sock.socket.close();
      throw new Error('the kernel has no IPVS generic netlink family (modprobe ip_vs)');
    }
    this.sock = sock;
    this.family = fam.familyId;
    return sock;
  }

  private readState(): DataPlaneTable {
    try {
      const t = JSON.parse(readFileSync(this.stateFile, 'utf8').slice(0, 16 * 1024 * 1024)) as DataPlaneTable;
      return Array.isArray(t.services) ? t : { services: [] };
    } catch {
      return { services: [] };
    }
  }

  private writeState(t: DataPlaneTable): void {
    try {
      mkdirSync(dirname(this.stateFile), { recursive: true, mode: 0o755 });
      writeFileSync(`${this.stateFile}.tmp`, JSON.stringify(t), { mode: 0o644 });
      renameSync(`${this.stateFile}.tmp`, this.stateFile);
    } catch {
      /* /run not writable: the next start cannot remove leftovers (said in the README) */
    }
  }
}
