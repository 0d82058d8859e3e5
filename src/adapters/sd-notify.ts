/**
 * systemd's notify protocol (sd_notify(3)), without libsystemd: newline-separated `KEY=value`
 * assignments in one datagram to the socket named by NOTIFY_SOCKET (a path, or `@abstract`).
 * Without NOTIFY_SOCKET there is no manager to tell, and every call does nothing.
 *
 *   READY=1                     start-up finished (Type=notify: `systemctl start` returns now)
 *   STATUS=...                  one line for `systemctl status`
 *   WATCHDOG=1                  the process is alive (WatchdogSec=: no ping in time → restart)
 *   RELOADING=1 + MONOTONIC_USEC   a reload started (READY=1 ends it; Type=notify-reload wants
 *                               the timestamp: CLOCK_MONOTONIC in µs, which libuv's hrtime reads)
 *   STOPPING=1                  the stop has begun
 *
 * What the protocol leaves to us: the status text never carries a newline (it would start a new
 * assignment) and is capped (the manager reads at most PIPE_BUF bytes a message); a send that
 * fails is reported once, until one succeeds again, and never throws.
 */
import type { ServiceNotifier } from '../ports/index.js';
import { UnixDatagramSender } from './unix-datagram.js';

/** The manager reads one message into a PIPE_BUF-sized (4096 byte) buffer: stay well inside. */
export const STATUS_MAX_BYTES = 1024;

export interface NotifyEnvironment {
  readonly NOTIFY_SOCKET?: string | undefined;
  readonly WATCHDOG_USEC?: string | undefined;
  readonly WATCHDOG_PID?: string | undefined;
}

/**
 * sd_watchdog_enabled(3): the manager wants WATCHDOG=1 when WATCHDOG_USEC is a positive number
 * of µs and WATCHDOG_PID, if set, is this process. Returns the ping interval (half the timeout,
 * as the man page advises) in ms, or undefined.
 */
export function watchdogIntervalMs(env: NotifyEnvironment, pid: number): number | undefined {
  const usec = env.WATCHDOG_USEC?.trim();
  if (!usec || !/^\d{1,15}$/.test(usec) || Number(usec) === 0) return undefined;
  const owner = env.WATCHDOG_PID?.trim();
  if (owner !== undefined && owner !== '' && (!/^\d{1,10}$/.test(owner) || Number(owner) !== pid)) return undefined;
  return Number(usec) / 2000;
}

/** A status line as the protocol can carry it: one line, at most STATUS_MAX_BYTES. */
export function statusLine(text: string): string {
  let line = text.replace(/[\r\n]+/g, ' ').trim();
  if (Buffer.byteLength(line) <= STATUS_MAX_BYTES) return line;
  while (Buffer.byteLength(`${line}...`) > STATUS_MAX_BYTES) line = line.slice(0, Math.max(0, line.length - 64));
  return `${line}...`;
}

/** CLOCK_MONOTONIC in µs (libuv's uv_hrtime reads it on Linux), for MONOTONIC_USEC. */
function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** No manager (NOTIFY_SOCKET unset): every call does nothing. */
export const NO_SERVICE_MANAGER: ServiceNotifier = {
  enabled: false,
  watchdogIntervalMs: undefined,
  ready: () => {},
  status: () => {},
  watchdog: () => {},
  reloading: () => {},
  stopping: () => {},
  close: () => {},
};

export class SdNotifier implements ServiceNotifier {
  readonly enabled = true;
  private failing = false;

  private constructor(
    private readonly socket: UnixDatagramSender,
    readonly watchdogIntervalMs: number | undefined,
    private readonly onError: (message: string) => void,
  ) {}

  /**
   * The notifier the environment asks for: NO_SERVICE_MANAGER without NOTIFY_SOCKET; an SdNotifier
   * otherwise. A NOTIFY_SOCKET this host can't use is reported through `onError` and gives
   * NO_SERVICE_MANAGER too (the manager then times the start out, and says so).
   */
  static fromEnvironment(env: NotifyEnvironment, opts: { pid: number; onError: (message: string) => void }): ServiceNotifier {
    const target = env.NOTIFY_SOCKET?.trim();
    if (!target) return NO_SERVICE_MANAGER;
    let socket: UnixDatagramSender;
    try {
      socket = new UnixDatagramSender(target, (err) => opts.onError(`NOTIFY_SOCKET=${target}: ${err.message}`));
    } catch (err) {
      opts.onError(`NOTIFY_SOCKET=${target}: ${(err as Error).message}; the service manager will not be told anything`);
      return NO_SERVICE_MANAGER;
    }
    return new SdNotifier(socket, watchdogIntervalMs(env, opts.pid), opts.onError);
  }

  ready(status: string): void {
    this.send(`READY=1\nSTATUS=${statusLine(status)}`);
  }

  status(text: string): void {
    this.send(`STATUS=${statusLine(text)}`);
  }

  watchdog(): void {
    this.send('WATCHDOG=1');
  }

  reloading(status: string): void {
    this.send(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}\nSTATUS=${statusLine(status)}`);
  }

  stopping(status: string): void {
    this.send(`STOPPING=1\nSTATUS=${statusLine(status)}`);
  }

  close(): void {
    this.socket.close();
  }

  private send(message: string): void {
    const error = this.socket.send(message);
    if (error && !this.failing) this.onError(`could not send ${message.split('\n')[0]} to the service manager: ${error.message} (reported once until a send succeeds)`);
    this.failing = error !== undefined;
  }
}
