/**
 * Sends datagrams on a unix socket (AF_UNIX, SOCK_DGRAM), through the `unix-dgram` native
 * module: the service manager's notify socket (sd-notify.ts) and the local syslog socket
 * (syslog.ts). Non-blocking: a full or vanished receiver drops the datagram, it never waits.
 *
 * Targets are a path (`/run/systemd/notify`) or, on Linux, an abstract name written `@name`
 * (sd_notify(3)'s convention). unix-dgram cannot address an abstract name itself: it copies the
 * path with strncpy (the leading NUL ends the copy) and passes the whole sockaddr_un as the
 * address length (the name would carry 107 trailing NULs). So for `@name` the socket unix-dgram
 * created is connected once, at open, by `perl` (perl-base is Essential on Debian): it gets the
 * descriptor as its fd 3 and calls connect(2) with pack_sockaddr_un("\0name"), the exact length.
 * A connection belongs to the socket, not to the process that made it: from then on this
 * process sends on it with send(2), so the receiver sees our PID and credentials (systemd's
 * NotifyAccess=main holds).
 */
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';

const require = createRequire(import.meta.url);

interface DgramSocket {
  readonly fd: number;
  connected?: boolean;
  on(event: 'error', fn: (err: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error) => void): void;
  send(buf: Buffer, cb: (err?: Error) => void): void;
  close(): void;
}

interface UnixDgram {
  createSocket(type: 'unix_dgram'): DgramSocket;
}

/** sun_path is 108 bytes on Linux: a path (with its NUL) or an abstract name (after its NUL). */
const SUN_PATH_MAX = 108;
/** perl's connect of an abstract name: at start only, so a generous bound. */
const CONNECT_TIMEOUT_MS = 3000;

/** Why a target can't be used (the caller logs it once and goes on without). */
export class UnixDatagramError extends Error {
  override readonly name = 'UnixDatagramError';
}

/** `@name` → the abstract name; `/path` → the path; anything else is refused (sd_notify: vsock etc.). */
export function parseSocketTarget(text: string): { kind: 'path' | 'abstract'; name: string } {
  if (text.startsWith('@')) {
    const name = text.slice(1);
    if (name.length === 0 || Buffer.byteLength(name) > SUN_PATH_MAX - 1) throw new UnixDatagramError(`'${text}': an abstract socket name of 1 to ${SUN_PATH_MAX - 1} bytes is expected`);
    return { kind: 'abstract', name };
  }
  if (text.startsWith('/')) {
    if (Buffer.byteLength(text) > SUN_PATH_MAX - 1) throw new UnixDatagramError(`'${text}': a socket path of at most ${SUN_PATH_MAX - 1} bytes is expected`);
    return { kind: 'path', name: text };
  }
  throw new UnixDatagramError(`'${text}': expected an absolute path or an abstract name (@name); other socket kinds are not supported`);
}

export class UnixDatagramSender {
  private socket: DgramSocket | undefined;
  private readonly target: { kind: 'path' | 'abstract'; name: string };

  /**
   * Opens a socket for `target` (`/path` or `@abstract`). Throws UnixDatagramError when the
   * native module can't be loaded or an abstract name can't be connected.
   */
  constructor(
    target: string,
    /** Errors outside a send (the module's 'error' event). */
    private readonly onError: (err: Error) => void = () => {},
  ) {
    this.target = parseSocketTarget(target);
    let dgram: UnixDgram;
    try {
      dgram = require('unix-dgram') as UnixDgram;
    } catch (err) {
      throw new UnixDatagramError(`the unix-dgram module is not usable: ${(err as Error).message}`);
    }
    const socket = dgram.createSocket('unix_dgram');
    // Errors of sends with a callback come to the callback; this catches anything else.
    socket.on('error', (err) => this.onError(err));
    if (this.target.kind === 'abstract') {
      try {
        connectAbstract(socket.fd, this.target.name);
      } catch (err) {
        socket.close();
        throw err;
      }
      socket.connected = true;
    }
    this.socket = socket;
  }

  /** Sends one datagram; returns why it was dropped (the receiver is gone or full), if it was. */
  send(text: string): Error | undefined {
    const socket = this.socket;
    if (!socket) return new UnixDatagramError('the socket is closed');
    const buf = Buffer.from(text, 'utf8');
    let failed: Error | undefined;
    // unix-dgram calls back synchronously.
    const done = (err?: Error) => (failed = err);
    if (this.target.kind === 'abstract') socket.send(buf, done);
    // A path is named on every send (as sd_notify does): a manager that re-created its socket
    // (daemon-reexec) is reached again without reconnecting.
    else socket.send(buf, 0, buf.length, this.target.name, done);
    return failed ? new UnixDatagramError(errnoText(failed)) : undefined;
  }

  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    try {
      socket?.close();
    } catch {
      /* closed already */
    }
  }
}

/** unix-dgram's errors carry a negative errno ('send -111'): name it (ECONNREFUSED). */
function errnoText(err: Error): string {
  const code = (err as Error & { code?: unknown }).code;
  if (typeof code !== 'number') return err.message;
  const name = Object.entries(constants.errno).find(([, v]) => v === -code)?.[0];
  return name ? `${(err as Error & { syscall?: string }).syscall ?? 'send'}: ${name}` : err.message;
}

/** connect(2)s descriptor `fd` to the abstract name `name` (see the header). */
function connectAbstract(fd: number, name: string): void {
  const script = 'use Socket; open(my $s, "+<&=", 3) or die "fd 3: $!\\n"; connect($s, pack_sockaddr_un("\\0" . $ARGV[0])) or die "connect: $!\\n";';
  const r = spawnSync('perl', ['-e', script, name], { stdio: ['ignore', 'ignore', 'pipe', fd], timeout: CONNECT_TIMEOUT_MS, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  if (r.error) throw new UnixDatagramError(`@${name}: abstract socket names need perl to connect them: ${r.error.message}`);
  if (r.status !== 0) throw new UnixDatagramError(`@${name}: ${(r.stderr || `perl exited ${r.status ?? r.signal}`).trim()}`);
}
