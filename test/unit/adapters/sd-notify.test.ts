/**
 * The systemd notifier on real unix datagram sockets: a receiver bound in a temporary directory
 * (as systemd binds /run/systemd/notify) gets READY, STATUS, WATCHDOG, RELOADING (with
 * MONOTONIC_USEC) and STOPPING as sd_notify(3) writes them; an abstract name (`@name`) works too;
 * without NOTIFY_SOCKET nothing is sent; WATCHDOG_USEC/WATCHDOG_PID decide the ping interval.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_SERVICE_MANAGER, SdNotifier, STATUS_MAX_BYTES, statusLine, watchdogIntervalMs } from '../../../src/adapters/sd-notify.js';
import { parseSocketTarget, UnixDatagramError } from '../../../src/adapters/unix-datagram.js';

const require = createRequire(import.meta.url);
const unix = require('unix-dgram') as {
  createSocket(type: 'unix_dgram', onMessage: (buf: Buffer) => void): { bind(path: string): void; close(): void; on(e: 'error', fn: (err: Error) => void): void };
};

/** A notify socket like systemd's: every datagram, as text, in order. */
function receiver(dir: string): { path: string; messages: string[]; next(n: number, timeoutMs?: number): Promise<string[]>; close(): void } {
  const path = join(dir, 'notify');
  const messages: string[] = [];
  const socket = unix.createSocket('unix_dgram', (buf) => messages.push(buf.toString('utf8')));
  socket.on('error', (err) => assert.fail(err));
  socket.bind(path);
  return {
    path,
    messages,
    async next(n, timeoutMs = 2000) {
      const t0 = Date.now();
      while (messages.length < n && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 5));
      return messages.slice(0, n);
    },
    close: () => socket.close(),
  };
}

/** `KEY=value` lines of one message. */
const fields = (m: string) => Object.fromEntries(m.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

test('READY, STATUS, WATCHDOG, RELOADING (with MONOTONIC_USEC) and STOPPING reach a socket at NOTIFY_SOCKET', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-sdnotify-'));
  const rx = receiver(dir);
  const errors: string[] = [];
  try {
    const n = SdNotifier.fromEnvironment({ NOTIFY_SOCKET: rx.path, WATCHDOG_USEC: '10000000' }, { pid: process.pid, onError: (m) => errors.push(m) });
    assert.equal(n.enabled, true);
    assert.equal(n.watchdogIntervalMs, 5000, 'half of WATCHDOG_USEC');
    const before = process.hrtime.bigint() / 1000n;
    n.ready('VI_1 MASTER, VI_2 BACKUP');
    n.status('VI_1 BACKUP, VI_2 BACKUP');
    n.watchdog();
    n.reloading('reloading the configuration');
    n.stopping('stopping: line one\nline two');
    n.close();
    const got = await rx.next(5);
    assert.equal(got.length, 5, `five messages: ${JSON.stringify(rx.messages)}`);
    assert.deepEqual(fields(got[0]!), { READY: '1', STATUS: 'VI_1 MASTER, VI_2 BACKUP' });
    assert.deepEqual(fields(got[1]!), { STATUS: 'VI_1 BACKUP, VI_2 BACKUP' });
    assert.equal(got[2], 'WATCHDOG=1');
    const reload = fields(got[3]!);
    assert.equal(reload.RELOADING, '1');
    assert.equal(reload.STATUS, 'reloading the configuration');
    // CLOCK_MONOTONIC in µs, as Type=notify-reload checks it against its own clock.
    const mono = BigInt(reload.MONOTONIC_USEC!);
    assert.ok(mono >= before && mono <= process.hrtime.bigint() / 1000n, `MONOTONIC_USEC ${mono} is now on CLOCK_MONOTONIC`);
    assert.deepEqual(fields(got[4]!), { STOPPING: '1', STATUS: 'stopping: line one line two' }, 'a newline in the status would start another assignment');
    assert.deepEqual(errors, []);
  } finally {
    rx.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without NOTIFY_SOCKET: the no-op notifier; an unusable NOTIFY_SOCKET is reported once and gives it too', () => {
  const errors: string[] = [];
  assert.equal(SdNotifier.fromEnvironment({}, { pid: 1, onError: (m) => errors.push(m) }), NO_SERVICE_MANAGER);
  assert.equal(SdNotifier.fromEnvironment({ NOTIFY_SOCKET: '' }, { pid: 1, onError: (m) => errors.push(m) }), NO_SERVICE_MANAGER);
  assert.equal(errors.length, 0);
  assert.equal(NO_SERVICE_MANAGER.enabled, false);
  assert.equal(NO_SERVICE_MANAGER.watchdogIntervalMs, undefined);
  // vsock (systemd >= 254) and relative names: not supported, said so.
  assert.equal(SdNotifier.fromEnvironment({ NOTIFY_SOCKET: 'vsock:2:1234' }, { pid: 1, onError: (m) => errors.push(m) }), NO_SERVICE_MANAGER);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /NOTIFY_SOCKET=vsock:2:1234: .*expected an absolute path or an abstract name/);
  assert.throws(() => parseSocketTarget('@'), UnixDatagramError);
  assert.throws(() => parseSocketTarget(`/${'x'.repeat(200)}`), /at most 107 bytes/);
  assert.deepEqual(parseSocketTarget('@sd'), { kind: 'abstract', name: 'sd' });
});

test('a manager that is not (or no longer) there: reported once until a send succeeds; a re-created socket is reached again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-sdnotify-'));
  const errors: string[] = [];
  try {
    const n = SdNotifier.fromEnvironment({ NOTIFY_SOCKET: join(dir, 'notify') }, { pid: 1, onError: (m) => errors.push(m) });
    assert.equal(n.enabled, true);
    for (let i = 0; i < 5; i++) n.watchdog();
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /could not send WATCHDOG=1 to the service manager: send: ENOENT/);
    // The socket appears (systemd re-created it, daemon-reexec): the same notifier reaches it.
    const rx = receiver(dir);
    n.watchdog();
    assert.deepEqual(await rx.next(1), ['WATCHDOG=1']);
    rx.close();
    rmSync(rx.path);
    n.watchdog();
    n.watchdog();
    assert.equal(errors.length, 2, 'failing again after a success: reported again, once');
    n.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WATCHDOG_USEC / WATCHDOG_PID: ping at half the timeout, only when the watchdog is ours', () => {
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000' }, 42), 5000);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '42' }, 42), 5000);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '43' }, 42), undefined, 'another process is watched');
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: 'x' }, 42), undefined);
  assert.equal(watchdogIntervalMs({}, 42), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 42), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '-5' }, 42), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '1e6' }, 42), undefined);
});

test('the status line: one line, within what the manager reads', () => {
  assert.equal(statusLine(' a\r\nb\n '), 'a b');
  const long = statusLine('VI_1 MASTER, '.repeat(500));
  assert.ok(Buffer.byteLength(long) <= STATUS_MAX_BYTES, `${Buffer.byteLength(long)} bytes`);
  assert.ok(long.endsWith('...'));
});

const havePerl = spawnSync('perl', ['-MSocket', '-e', '1']).status === 0;
const havePython = spawnSync('python3', ['-c', 'import socket; socket.SCM_CREDENTIALS']).status === 0;

/**
 * A receiver bound to an abstract name (unix-dgram can't bind one): python3 when there is one, as
 * it also reads the sender's credentials (SO_PASSCRED, what systemd checks for NotifyAccess=main);
 * else perl. Prints `PID message` per datagram (PID `-` without python), newlines as `|`.
 */
function abstractReceiver(name: string) {
  const py = `import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind('\\0' + sys.argv[1])
print('ready', flush=True)
while True:
    msg, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = [struct.unpack('iII', d[:12])[0] for (l, t, d) in anc if l == socket.SOL_SOCKET and t == socket.SCM_CREDENTIALS]
    print(str(pid[0] if pid else '-') + ' ' + msg.decode().replace('\\n', '|'), flush=True)
`;
  const pl = 'socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die; bind($s, pack_sockaddr_un("\\0" . $ARGV[0])) or die "bind: $!"; $| = 1; print "ready\\n"; while (defined(recv($s, my $b, 4096, 0))) { $b =~ s/\\n/|/g; print "- $b\\n"; }';
  return havePython ? spawn('python3', ['-c', py, name], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn('perl', ['-MSocket', '-e', pl, name], { stdio: ['ignore', 'pipe', 'inherit'] });
}

test('an abstract NOTIFY_SOCKET (@name): the messages arrive, with our PID as the sender (NotifyAccess=main)', { skip: !havePerl && 'perl not installed (it connects abstract names)' }, async () => {
  const name = `kw-sdnotify-${process.pid}-${Date.now()}`;
  const rx = abstractReceiver(name);
  const lines: string[] = [];
  let buf = '';
  rx.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  const waitFor = async (n: number) => {
    const t0 = Date.now();
    while (lines.length < n && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
  };
  try {
    await waitFor(1);
    assert.equal(lines[0], 'ready');
    const errors: string[] = [];
    const n = SdNotifier.fromEnvironment({ NOTIFY_SOCKET: `@${name}` }, { pid: process.pid, onError: (m) => errors.push(m) });
    assert.equal(n.enabled, true, errors.join('\n'));
    n.ready('VI_1 BACKUP');
    n.watchdog();
    n.close();
    await waitFor(3);
    const sender = havePython ? String(process.pid) : '-';
    assert.deepEqual(lines.slice(1), [`${sender} READY=1|STATUS=VI_1 BACKUP`, `${sender} WATCHDOG=1`], 'sent by this process, not by the perl that connected the socket');
    assert.deepEqual(errors, []);
  } finally {
    rx.kill();
  }
});
