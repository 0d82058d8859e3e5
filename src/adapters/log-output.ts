/**
 * Where log lines go on this host (observability/logging.ts formats them):
 * - `streamIsJournal`: whether a descriptor (stdout) is systemd-journald's stream for this unit.
 *   systemd sets JOURNAL_STREAM=<device>:<inode> of the stream it connected; a descriptor with
 *   the same device and inode is that stream (systemd.exec(5)). A terminal, a pipe to a test or a
 *   file has another inode, even when the variable was inherited from a parent that had it.
 * - `SyslogSender`: the local syslog socket (/dev/log; journald's own on a systemd host), one
 *   datagram per line, for `-S`/`--log-facility` (as keepalived logs through syslog(3)).
 */
import { fstatSync } from 'node:fs';
import { UnixDatagramSender } from './unix-datagram.js';

/** Whether descriptor `fd` is the journal stream JOURNAL_STREAM names. */
export function streamIsJournal(env: { readonly JOURNAL_STREAM?: string | undefined }, fd = 1): boolean {
  const m = /^(\d{1,20}):(\d{1,20})$/.exec(env.JOURNAL_STREAM?.trim() ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}

/** The local syslog daemon's socket (glibc's syslog(3) writes there too). */
export const SYSLOG_SOCKET = '/dev/log';

/** One datagram per framed line to the local syslog socket; a full or absent socket drops the line. */
export class SyslogSender {
  private readonly socket: UnixDatagramSender;
  private dropped = 0;

  /** Throws UnixDatagramError when unix-dgram can't be loaded. */
  constructor(path = SYSLOG_SOCKET) {
    this.socket = new UnixDatagramSender(path);
  }

  /** Sends one framed line; false when it was dropped (counted in `droppedLines`). */
  send(frame: string): boolean {
    if (this.socket.send(frame) === undefined) return true;
    this.dropped++;
    return false;
  }

  get droppedLines(): number {
    return this.dropped;
  }

  close(): void {
    this.socket.close();
  }
}
