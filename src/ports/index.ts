/**
 * The ports of the core: the only ways it reaches time, the network and the kernel.
 * Adapters (src/adapters) implement them for a real host; test/fakes implements them in memory.
 * The core's ports are fire-and-forget from its point of view: adapters report outcomes as
 * events, so a slow kernel call never blocks the state machine. The upper floors' ports
 * (ProcessRunner for scripts, MailSender for mail) answer with promises that never block either.
 */
import type { AdvertFields } from '../protocol/advert.js';
import type { IpFamily } from '../protocol/inet.js';
import type { RouteConfig, RuleConfig, VirtualAddressConfig } from '../config/model.js';
import type { RunResult } from '../events/scripts.js';

/** An opaque timer handle. */
export type TimerHandle = { readonly __timer: true };

export interface Clock {
  /** Monotonic milliseconds (fractions allowed); never goes back. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for timestamps shown to people. */
  wallNow(): number;
  /**
   * Runs `fn` after `delayMs`, never before. `precise`: fire as close to the deadline as the host
   * allows (Master_Down_Timer, Adver_Timer); the host may hold its event loop for a moment near
   * the deadline to get there.
   */
  setTimer(delayMs: number, fn: () => void, opts?: { precise?: boolean }): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** One advert to send: the core has chosen source, destinations and every field. */
export interface OutgoingAdvert {
  readonly instance: string;
  readonly interface: string;
  readonly family: IpFamily;
  readonly source: string;
  /** The multicast group, or one entry per unicast peer. */
  readonly destinations: readonly string[];
  readonly fields: AdvertFields;
  readonly checksumAsV2: boolean;
  /**
   * `unicast_ttl`: the IPv4 TTL / IPv6 hop limit of unicast adverts. Absent: 255 for IPv4 and
   * multicast, the kernel's default hop limit for IPv6 unicast (keepalived sets no hop limit there).
   */
  readonly ttl?: number;
}

export interface AdvertTransport {
  send(advert: OutgoingAdvert): void;
}

/** A VIP as the kernel should hold it. */
export interface VipAssignment {
  readonly instance: string;
  readonly interface: string;
  readonly vip: VirtualAddressConfig;
}

export interface AddressManager {
  /** Adds the address (idempotent). */
  add(assignment: VipAssignment): void;
  /** Removes the address (idempotent). */
  remove(assignment: VipAssignment): void;
}

/**
 * A route, rule or static address the kernel should hold (`virtual_routes`, `virtual_rules`,
 * `static_routes`, `static_rules`, `static_ipaddress`). `owner`: the vrrp_instance, or
 * `STATIC_OWNER` for the static entries.
 */
export type RoutingEntry =
  | { readonly kind: 'route'; readonly owner: string; readonly route: RouteConfig }
  | { readonly kind: 'rule'; readonly owner: string; readonly rule: RuleConfig }
  | { readonly kind: 'address'; readonly owner: string; readonly interface: string; readonly address: VirtualAddressConfig };

/** The owner of the static entries (no vrrp_instance name is empty). */
export const STATIC_OWNER = '';

/**
 * Routes and rules (and static addresses) in the kernel. Fire-and-forget like AddressManager:
 * requests are applied in the order given, an add after the VIP changes asked for before it (so
 * a route may use a VIP as its `src`); outcomes are reported as events.
 */
export interface RouteManager {
  /** Adds the entry (idempotent: already there counts as done). */
  add(entry: RoutingEntry): void;
  /** Removes the entry (idempotent: already gone counts as done). */
  remove(entry: RoutingEntry): void;
}

export interface FrameInjector {
  /** Sends a complete Ethernet frame on the interface. */
  inject(iface: string, frame: Uint8Array): void;
}

/** What the core needs to know about the host's interfaces. */
export interface InterfaceInfo {
  /** The interface's MAC, as `aa:bb:cc:dd:ee:ff`, or undefined when unknown. */
  mac(iface: string): string | undefined;
  /** The address adverts are sent from: first IPv4 address, or the IPv6 link-local one. */
  primaryAddress(iface: string, family: IpFamily): string | undefined;
  /**
   * Whether IPv6 forwarding is on for the interface (net.ipv6.conf.IFACE.forwarding): keepalived
   * sets the Router flag of its unsolicited neighbour advertisements from it. Absent: off.
   */
  ipv6Forwarding?(iface: string): boolean;
}

// --- processes: check and notify scripts, and the user lookup they run as -------------------

/** How one run of a command ended. */
export interface RunOutcome {
  readonly result: RunResult;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly durationMs: number;
  readonly error?: string;
}

/** Numeric ids a script runs as. */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

export interface RunOptions {
  /** On expiry the command's whole process group gets SIGKILL, and the result is 'timeout'. */
  readonly timeoutMs: number;
  /** Absent (or our own ids): run as this process. */
  readonly runAs?: RunAs;
  /** The environment; default: only PATH. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Why an executable may not run: what keepalived checks before it runs a script. */
export type ScriptProblem = { readonly kind: 'missing' | 'not-executable' | 'insecure'; readonly message: string };

export type GetentDb = 'passwd' | 'group';

export type GetentAnswer =
  | { readonly status: 'found'; readonly stdout: string }
  /** getent's exit status 2: the key is not in the database. */
  | { readonly status: 'not-found' }
  /** Anything else: getent missing, timed out, killed, an unexpected exit status, too much output. */
  | { readonly status: 'failed'; readonly message: string };

/**
 * How scripts reach the host (src/adapters/process.ts; test/fakes/process.ts). Nothing here
 * throws or rejects: every failure is an outcome.
 */
export interface ProcessRunner {
  /**
   * Runs `argv` directly (no shell), detached in its own process group, stdio ignored; resolves
   * when it has exited and been reaped, or has been killed at `timeoutMs`.
   */
  run(argv: readonly string[], opts: RunOptions): Promise<RunOutcome>;
  /**
   * The executable `exe` (looked up in PATH when it has no `/`) exists and is executable, and
   * with `scriptSecurity` neither it nor a directory above it is writable by a non-root user.
   */
  checkExecutable(exe: string, opts: { readonly scriptSecurity: boolean }): ScriptProblem | undefined;
  /** One NSS lookup (`getent DB -- KEY`), bounded in time and size; without blocking. */
  getent(db: GetentDb, key: string): Promise<GetentAnswer>;
  /** The same, blocking (start-up and `keepwatch -t`, before anything else runs). */
  getentSync(db: GetentDb, key: string): GetentAnswer;
}

// --- track_process and the notify FIFOs (src/adapters/proc-table.ts, src/adapters/notify-fifo.ts)

/** One process of the host: its name (comm) and, when asked for, its command line. */
export interface ProcessEntry {
  readonly pid: number;
  /** The kernel's process name (/proc/PID/stat's comm: at most 15 bytes). */
  readonly comm: string;
  /** argv (/proc/PID/cmdline split at NULs), when asked for; empty for a kernel thread. */
  readonly argv?: readonly string[];
  /** argv was cut at the byte cap (its last word may be incomplete). */
  readonly argvCut?: boolean;
}

/** One pass over the process table. Zombies are left out (keepalived's read_procs does too). */
export interface ProcessScan {
  readonly processes: readonly ProcessEntry[];
  /** More processes than the cap: the rest were not read. */
  readonly truncated: boolean;
}

/** The host's processes (/proc); a fake table in tests. Never rejects. */
export interface ProcessTable {
  scan(opts: { readonly argv: boolean }): Promise<ProcessScan>;
}

/** An open notify FIFO: writes never block (O_NONBLOCK). */
export interface FifoHandle {
  /** One line, written whole or not at all (lines are shorter than PIPE_BUF): 'again' when the pipe is full. */
  write(line: string): 'written' | 'again' | 'error';
  /** Closes it, and removes the FIFO when we made it (as keepalived does). */
  close(): void;
}

/** A process started to read a FIFO (`notify_fifo_script`): it runs until it exits. */
export interface StartedProcess {
  readonly pid: number | undefined;
  /** Resolves when it has exited (or could not start), with why. */
  readonly exited: Promise<{ readonly exitCode: number | null; readonly signal: string | null; readonly error?: string }>;
}

export interface NotifyFifoPort {
  /**
   * Makes the FIFO when it is missing (mode 0600, owned by `owner`), and opens it read-write and
   * non-blocking, so writes never wait for a reader; refuses anything at `path` but a FIFO.
   */
  open(path: string, owner: RunAs | undefined): { readonly ok: true; readonly handle: FifoHandle; readonly created: boolean } | { readonly ok: false; readonly error: string };
  /** Starts `argv` detached (its own process group, stdio ignored), as `runAs`; no timeout. */
  start(argv: readonly string[], runAs: RunAs | undefined): StartedProcess;
}

// --- mail -------------------------------------------------------------------------------------

export interface MailMessage {
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

/** Where and how to send: `smtp_server`, `smtp_connect_timeout`, `smtp_helo_name`. */
export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  /** Bounds the connection and every wait for the server. */
  readonly connectTimeoutMs: number;
  readonly heloName: string;
}

/**
 * Sends one message (src/adapters/smtp.ts). The caller allows `deadlineMs` for the whole send
 * and aborts `signal` when it passes: the sender then ends everything it opened and rejects.
 */
export type MailSender = (message: MailMessage, deadlineMs: number, smtp: SmtpSettings, signal: AbortSignal) => Promise<void>;

// --- the service manager (systemd) ------------------------------------------------------------

/**
 * What the service manager is told about the agent: systemd's sd_notify(3) protocol
 * (src/adapters/sd-notify.ts), or nothing when no manager listens (NOTIFY_SOCKET unset). Every
 * call is fire-and-forget: a manager that is gone or slow never blocks or fails the agent.
 */
export interface ServiceNotifier {
  /** Whether a manager listens (NOTIFY_SOCKET names a socket this host can reach). */
  readonly enabled: boolean;
  /**
   * How often to send WATCHDOG=1: half of WATCHDOG_USEC (sd_watchdog_enabled(3)), or undefined
   * when the manager watches nothing (unset, or WATCHDOG_PID names another process).
   */
  readonly watchdogIntervalMs: number | undefined;
  /** `READY=1` (start-up done, or a reload finished), with the status line. */
  ready(status: string): void;
  /** `STATUS=`: one line for `systemctl status`. */
  status(text: string): void;
  /** `WATCHDOG=1`: the event loop still turns. */
  watchdog(): void;
  /** `RELOADING=1` (with `MONOTONIC_USEC`, as Type=notify-reload wants), with the status line. */
  reloading(status: string): void;
  /** `STOPPING=1`, with the status line. */
  stopping(status: string): void;
  close(): void;
}

// --- nftables (accept mode: core/accept-mode.ts) ---------------------------------------------

/** How one `nft` run ended; `missing`: no nft executable. Nothing here throws or rejects. */
export type NftResult =
  | { readonly ok: true; readonly durationMs: number }
  | { readonly ok: false; readonly reason: 'missing' | 'failed' | 'timeout'; readonly message: string; readonly durationMs: number };

/** Runs nftables rulesets (src/adapters/nft.ts; test/fakes/nft.ts). */
export interface NftRunner {
  /**
   * `nft -f -` with `ruleset` on its standard input: the kernel applies the whole file as one
   * transaction, all of it or none. Killed, with `timeout`, after `timeoutMs`.
   */
  apply(ruleset: string, opts: { readonly timeoutMs: number }): Promise<NftResult>;
}

// --- virtual links: use_vmac (macvlan) and use_ipvlan (agent/virtual-links.ts) ----------------

/** A link the agent wants on the host, in the kernel's terms. */
export interface VirtualLinkSpec {
  readonly name: string;
  readonly kind: 'macvlan' | 'ipvlan';
  /** The interface it is made on. */
  readonly base: string;
  /** macvlan: its MAC (`aa:bb:cc:dd:ee:ff`); a macvlan is made in private mode, as keepalived makes it. */
  readonly mac?: string;
  /** ipvlan (L2 mode): its flags. */
  readonly ipvlanMode?: 'bridge' | 'private' | 'vepa';
  /**
   * The kernel settings keepalived gives it (vrrp_if_config.c). `ipv4`: on the link arp_ignore 1,
   * accept_local 1, rp_filter 0, promote_secondaries 1; on its base arp_ignore 1 and arp_filter 1
   * (put back when the last link on it goes); net.ipv4.conf.all.rp_filter 0, every interface
   * keeping the value it had through its own setting. `ipv6`: arp_ignore 1 on the link. `none`.
   */
  readonly sysctls: 'ipv4' | 'ipv6' | 'none';
  /** IPv6 runs on it (disable_ipv6 0), never with an address made from its MAC (addrgenmode none). */
  readonly ipv6: boolean;
  /** Addresses it gets once up (not VIPs): the IPv6 link-local its adverts come from, the ipvlan's. */
  readonly addresses: readonly { readonly address: string; readonly prefixLength: number }[];
  /** The vrrp_instance it is for (the link's alias names it; messages too). */
  readonly instance: string;
}

/** Why a wanted link can't be made. */
export interface VirtualLinkProblem {
  readonly name: string;
  readonly message: string;
}

/** What reconcile/removeAll did to one link. */
export interface VirtualLinkChange {
  readonly name: string;
  readonly action: 'created' | 'replaced' | 'adopted' | 'kept' | 'removed';
  /** For the log: why, and what the link is. */
  readonly detail: string;
}

/**
 * The links of `use_vmac` / `use_ipvlan` on the host (src/adapters/virtual-links.ts;
 * test/fakes/virtual-links.ts). A link is the agent's when its alias says so (it marks every link
 * it makes or reuses); a link that is not is never changed or removed.
 */
export interface VirtualLinks {
  /**
   * Makes the agent's links exactly `wanted`: each one made, or an existing one reused (one of
   * ours, or a leftover that is exactly right), replaced when it is ours but not right; then up,
   * with keepalived's settings and its addresses. Links of ours that are not wanted (a crash's
   * leftovers, a reload's removals) are removed. Rejects with a HostError, before it changes
   * anything, when a wanted name or MAC is held by a link that is not ours, or a base is missing.
   */
  reconcile(wanted: readonly VirtualLinkSpec[]): Promise<readonly VirtualLinkChange[]>;
  /** What reconcile(wanted) would refuse, by link, without changing anything (checked first). */
  check(wanted: readonly VirtualLinkSpec[]): Promise<readonly VirtualLinkProblem[]>;
  /** Removes every link of ours and puts back the settings changed for them (stop). */
  removeAll(): Promise<readonly VirtualLinkChange[]>;
  close(): void;
}
export * from './data-plane.js';
export * from './lvs-probes.js';
