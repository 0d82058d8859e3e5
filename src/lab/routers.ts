/**
 * VRRP routers running inside a NetnsLab: keepwatch agents or Debian's keepalived, with the
 * keepalived.conf each one gets, their logs, and start/kill/stop. Shared by `keepwatch lab`, the
 * network tests and the benchmarks.
 */
import { mkdirSync, writeFileSync, readFileSync, rmSync, createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { NetnsLab } from './netns.js';
import { PACKAGE_ROOT } from '../version.js';

export const CLI_PATH = join(PACKAGE_ROOT, 'src', 'cli.mjs');

export interface InstanceSpec {
  readonly name?: string;
  readonly state?: 'MASTER' | 'BACKUP';
  readonly vrid?: number;
  readonly priority: number;
  readonly version?: 2 | 3;
  /** Seconds, as in keepalived.conf. */
  readonly advertInt?: number;
  readonly password?: string;
  readonly vips: readonly string[];
  readonly nopreempt?: boolean;
  readonly preemptDelay?: number;
  readonly unicastSrc?: string;
  readonly unicastPeers?: readonly string[];
  readonly garpMasterDelay?: number;
  readonly garpMasterRepeat?: number;
  /** `use_vmac` (true) or `use_vmac NAME`: the VIPs live on a macvlan with the virtual router MAC. */
  readonly useVmac?: true | string;
  /** `vmac_xmit_base`: adverts from the interface, not the macvlan. */
  readonly vmacXmitBase?: boolean;
  readonly extra?: readonly string[];
}

/** A `bfd_instance` (keepalived/bfd/bfd_parser.c keywords; intervals in ms). */
export interface BfdSpec {
  readonly name: string;
  readonly neighbor: string;
  readonly source?: string;
  readonly minRx?: number;
  readonly minTx?: number;
  readonly idleTx?: number;
  readonly multiplier?: number;
  readonly passive?: boolean;
  readonly extra?: readonly string[];
}

export interface RouterConfigSpec {
  readonly routerId?: string;
  /** `bfd_instance` blocks (keepalived starts its BFD child for them; keepwatch runs them itself). */
  readonly bfd?: readonly BfdSpec[];
  readonly mcastGroup4?: string;
  readonly instances: readonly InstanceSpec[];
  readonly globalExtra?: readonly string[];
}

/** Writes keepalived.conf text that both keepwatch and keepalived accept. */
export function renderConfig(spec: RouterConfigSpec, iface = 'eth0'): string {
  const g = [`  router_id ${spec.routerId ?? 'lab'}`];
  if (spec.mcastGroup4) g.push(`  vrrp_mcast_group4 ${spec.mcastGroup4}`);
  for (const e of spec.globalExtra ?? []) g.push(`  ${e}`);
  const out = [`global_defs {`, ...g, `}`, ``];
  for (const b of spec.bfd ?? []) {
    out.push(`bfd_instance ${b.name} {`, `    neighbor_ip ${b.neighbor}`);
    if (b.source) out.push(`    source_ip ${b.source}`);
    if (b.minRx !== undefined) out.push(`    min_rx ${b.minRx}`);
    if (b.minTx !== undefined) out.push(`    min_tx ${b.minTx}`);
    if (b.idleTx !== undefined) out.push(`    idle_tx ${b.idleTx}`);
    if (b.multiplier !== undefined) out.push(`    multiplier ${b.multiplier}`);
    if (b.passive) out.push(`    passive`);
    for (const e of b.extra ?? []) out.push(`    ${e}`);
    out.push(`}`, ``);
  }
  for (const i of spec.instances) {
    out.push(`vrrp_instance ${i.name ?? 'VI_1'} {`);
    out.push(`    state ${i.state ?? 'BACKUP'}`, `    interface ${iface}`, `    virtual_router_id ${i.vrid ?? 51}`, `    priority ${i.priority}`);
    out.push(`    advert_int ${i.advertInt ?? 1}`);
    if (i.version) out.push(`    version ${i.version}`);
    if (i.nopreempt) out.push(`    nopreempt`);
    if (i.preemptDelay) out.push(`    preempt_delay ${i.preemptDelay}`);
    if (i.garpMasterDelay !== undefined) out.push(`    garp_master_delay ${i.garpMasterDelay}`);
    if (i.garpMasterRepeat !== undefined) out.push(`    garp_master_repeat ${i.garpMasterRepeat}`);
    if (i.password && (i.version ?? 2) === 2) out.push(`    authentication {`, `        auth_type PASS`, `        auth_pass ${i.password}`, `    }`);
    if (i.unicastSrc) out.push(`    unicast_src_ip ${i.unicastSrc}`);
    if (i.unicastPeers?.length) out.push(`    unicast_peer {`, ...i.unicastPeers.map((p) => `        ${p}`), `    }`);
    if (i.useVmac) out.push(i.useVmac === true ? `    use_vmac` : `    use_vmac ${i.useVmac}`);
    if (i.vmacXmitBase) out.push(`    vmac_xmit_base`);
    for (const e of i.extra ?? []) out.push(`    ${e}`);
    out.push(`    virtual_ipaddress {`, ...i.vips.map((v) => `        ${v}`), `    }`, `}`, ``);
  }
  return out.join('\n');
}

export type RouterKind = 'keepwatch' | 'keepalived';

export interface Transition {
  readonly atMs: number;
  readonly to: string;
  readonly cause?: string;
  readonly line: string;
}

/** One router process in a lab host. */
export class LabRouter {
  proc: ChildProcess | undefined;
  readonly logLines: string[] = [];
  readonly transitions: Transition[] = [];
  private logStream: WriteStream | undefined;
  private runStart = 0;
  private exitWaiters: (() => void)[] = [];

  constructor(
    readonly lab: NetnsLab,
    readonly host: string,
    readonly kind: RouterKind,
    readonly dir: string,
    /** A spec rendered by renderConfig, or a keepalived.conf text used as it is. */
    public config: RouterConfigSpec | string,
    readonly extraArgs: readonly string[] = [],
    readonly env: Readonly<Record<string, string>> = {},
  ) {
    mkdirSync(dir, { recursive: true });
  }

  get confPath(): string {
    return join(this.dir, `${this.host}.conf`);
  }

  get logPath(): string {
    return join(this.dir, `${this.host}.log`);
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  writeConfig(): void {
    writeFileSync(this.confPath, typeof this.config === 'string' ? this.config : renderConfig(this.config));
  }

  start(): void {
    if (this.running) return;
    // The state comes from this run's log only (not from before a restart).
    this.runStart = this.transitions.length;
    this.writeConfig();
    this.logStream ??= createWriteStream(this.logPath, { flags: 'a' });
    if (this.kind === 'keepwatch') {
      this.proc = this.lab.spawn(this.host, process.execPath, [CLI_PATH, '-f', this.confPath, ...this.extraArgs], { env: { ...process.env, ...this.env } });
    } else {
      const base = join(this.dir, this.host);
      // Pid files of a killed run would make keepalived refuse to start ("already running").
      for (const f of [`${base}.pid`, `${base}.vrrp.pid`, `${base}.bfd.pid`]) rmSync(f, { force: true });
      // -b: a config with bfd_instance starts keepalived's BFD child too; its pid file per host.
      this.proc = this.lab.spawn(this.host, 'keepalived', ['-n', '-l', '-P', '-f', this.confPath, '-p', `${base}.pid`, '-r', `${base}.vrrp.pid`, '-b', `${base}.bfd.pid`, '-i', this.host, ...this.extraArgs]);
    }
    const onData = (chunk: Buffer) => {
      this.logStream?.write(chunk);
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.onLine(line);
    };
    this.proc.stdout?.on('data', onData);
    this.proc.stderr?.on('data', onData);
    this.proc.once('exit', () => {
      const waiters = this.exitWaiters;
      this.exitWaiters = [];
      waiters.forEach((w) => w());
    });
  }

  private onLine(line: string): void {
    this.logLines.push(line);
    if (this.logLines.length > 5000) this.logLines.splice(0, 1000);
    const atMs = Date.now();
    if (this.kind === 'keepwatch') {
      if (!line.startsWith('{')) return;
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        if (j.event === 'transition') this.transitions.push({ atMs: Date.parse(String(j.time)), to: String(j['vrrp.state.to']), cause: String(j['vrrp.cause']), line: String(j.msg) });
      } catch {
        /* not JSON */
      }
    } else {
      const m = /Entering (\w+) STATE/.exec(line);
      if (m) this.transitions.push({ atMs, to: m[1]!.toLowerCase(), line: line.replace(/^.*?: /, '') });
    }
  }

  /** Last state this run logged (undefined before its first transition or when not running). */
  get state(): string | undefined {
    if (!this.running || this.transitions.length <= this.runStart) return undefined;
    return this.transitions.at(-1)?.to;
  }

  /** Sends a signal; resolves when the process has exited (or after `timeoutMs`). */
  async signal(sig: NodeJS.Signals, timeoutMs = 5000): Promise<void> {
    if (!this.proc || !this.running) return;
    const exited = new Promise<void>((r) => this.exitWaiters.push(r));
    // keepalived forks: its parent relays SIGTERM to the VRRP child; SIGKILL must hit both.
    if (this.kind === 'keepalived' && sig === 'SIGKILL') this.killKeepalivedChildren();
    this.proc.kill(sig);
    await Promise.race([exited, new Promise((r) => setTimeout(r, timeoutMs))]);
  }

  private killKeepalivedChildren(): void {
    const base = join(this.dir, this.host);
    for (const child of ['vrrp', 'bfd']) {
      try {
        const pid = Number(readFileSync(`${base}.${child}.pid`, 'utf8').trim());
        if (pid > 1) process.kill(pid, 'SIGKILL');
      } catch {
        /* not there */
      }
    }
  }

  close(): void {
    this.logStream?.end();
    this.logStream = undefined;
  }
}
