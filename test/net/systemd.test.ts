/**
 * systemd's notify protocol with real agents (root only), as a Type=notify unit would see it: each
 * agent gets NOTIFY_SOCKET pointing at a datagram socket this test binds in the lab's temporary
 * directory (a path socket is reachable from every network namespace, as /run/systemd/notify
 * is), and WATCHDOG_USEC as WatchdogSec= sets it.
 *
 * Checked: READY=1 comes once, after the instances started (its STATUS names them in a VRRP state,
 * never INIT), and after the agent logged that it started; WATCHDOG=1 at about WATCHDOG_USEC/2;
 * none while the agent's event loop is stopped (SIGSTOP), so systemd would restart it; STATUS=
 * follows a failover on the backup; STOPPING=1 on SIGTERM.
 *
 * No real unit: on this project's CI machines systemd is not PID 1 (`systemctl
 * is-system-running` says offline), so `systemd-run` can't start a transient unit; these sockets
 * stand in for the manager's, byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { withLab, waitFor, sleep, fastInstance } from './helpers.js';
import type { LabRouter } from '../../src/lab/routers.js';

const require = createRequire(import.meta.url);
const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram', onMessage: (buf: Buffer) => void): { bind(path: string): void; close(): void } };

interface Heard {
  readonly atMs: number;
  readonly text: string;
}

/** A notify socket like systemd's: what arrived, when (wall clock of this process). */
function notifySocket(path: string): { heard: Heard[]; close(): void } {
  const heard: Heard[] = [];
  const s = unix.createSocket('unix_dgram', (buf) => heard.push({ atMs: Date.now(), text: buf.toString('utf8') }));
  s.bind(path);
  return { heard, close: () => s.close() };
}

const field = (text: string, key: string) => text.split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);

/** When the agent logged `event` (its own ISO timestamp). */
function loggedAt(r: LabRouter, event: string): number {
  for (const l of r.logLines) {
    if (!l.includes(`"event":"${event}"`)) continue;
    return Date.parse(String((JSON.parse(l) as { time: string }).time));
  }
  return NaN;
}

const WATCHDOG_USEC = 1_000_000;

test('Type=notify: READY after the instances started, WATCHDOG at WATCHDOG_USEC/2 (none while stalled), STATUS follows a failover, STOPPING on SIGTERM', async () => {
  await withLab(async (env) => {
    const a = notifySocket(join(env.dir, 'notify-r1'));
    const b = notifySocket(join(env.dir, 'notify-r2'));
    try {
      const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)] }, [], { NOTIFY_SOCKET: join(env.dir, 'notify-r1'), WATCHDOG_USEC: String(WATCHDOG_USEC) });
      const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance(100)] }, [], { NOTIFY_SOCKET: join(env.dir, 'notify-r2') });
      r1.start();
      r2.start();
      await waitFor('READY=1 from both agents', () => a.heard.some((h) => h.text.startsWith('READY=1')) && b.heard.some((h) => h.text.startsWith('READY=1')), 15_000);
      await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);

      // READY=1: first, once, after the agent had started every instance.
      const ready = a.heard.find((h) => h.text.startsWith('READY=1'))!;
      assert.equal(a.heard[0], ready, `READY=1 is the first message: ${JSON.stringify(a.heard.slice(0, 3))}`);
      assert.match(field(ready.text, 'STATUS') ?? '', /^VI_1 (BACKUP|MASTER)$/, 'the instance had started (not INIT)');
      const started = loggedAt(r1, 'started');
      assert.ok(Number.isFinite(started), 'the agent logged that it started');
      assert.ok(ready.atMs >= started - 50, `READY=1 (${ready.atMs}) after the start was logged (${started})`);
      const transitionedAt = loggedAt(r1, 'transition');
      assert.ok(transitionedAt <= ready.atMs + 50, 'the instance left INIT before READY=1');

      // WATCHDOG=1 at WATCHDOG_USEC/2 = 500 ms, from the event loop.
      const since = Date.now();
      await sleep(3200);
      const pings = a.heard.filter((h) => h.text === 'WATCHDOG=1' && h.atMs >= since).map((h) => h.atMs);
      const gaps = pings.slice(1).map((t, i) => t - pings[i]!).sort((x, y) => x - y);
      const median = gaps[Math.floor(gaps.length / 2)]!;
      process.stdout.write(`watchdog: ${pings.length} pings in 3.2 s, gaps ${gaps.join(', ')} ms (median ${median})\n`);
      assert.ok(pings.length >= 5 && pings.length <= 8, `${pings.length} pings in 3.2 s at a 500 ms interval`);
      assert.ok(median >= 400 && median <= 700, `median gap ${median} ms, expected about ${WATCHDOG_USEC / 2000}`);
      assert.equal(b.heard.filter((h) => h.text === 'WATCHDOG=1').length, 0, 'no WATCHDOG_USEC, no pings');

      // A stalled event loop (SIGSTOP) sends none: systemd would kill and restart the agent. The
      // backup meanwhile takes over, and says so in its STATUS.
      const bBefore = b.heard.length;
      r1.proc!.kill('SIGSTOP');
      const stoppedAt = Date.now();
      await sleep(2500);
      const duringStop = a.heard.filter((h) => h.atMs > stoppedAt + 50);
      assert.deepEqual(duringStop.map((h) => h.text), [], 'nothing while the loop is stopped');
      await waitFor('r2 says it is master', () => b.heard.slice(bBefore).some((h) => field(h.text, 'STATUS') === 'VI_1 MASTER'), 3000);
      r1.proc!.kill('SIGCONT');
      const resumedAt = Date.now();
      await waitFor('WATCHDOG=1 again once the loop runs', () => a.heard.some((h) => h.text === 'WATCHDOG=1' && h.atMs >= resumedAt), 3000);
      // r1 preempts back; r2's STATUS follows (at most one update a second).
      await waitFor('r1 master again', () => r1.state === 'master' && r2.state === 'backup', 10_000);
      await waitFor('r2 says it is backup', () => field(b.heard.at(-1)!.text, 'STATUS') === 'VI_1 BACKUP', 3000);
      const statuses = b.heard.slice(bBefore).map((h) => field(h.text, 'STATUS'));
      process.stdout.write(`r2 STATUS after the failover: ${JSON.stringify(statuses)}\n`);

      // SIGTERM: STOPPING=1, before the agent exits.
      await r1.signal('SIGTERM');
      assert.equal(r1.proc!.exitCode, 0);
      const stopping = a.heard.find((h) => h.text.startsWith('STOPPING=1'));
      assert.ok(stopping, `STOPPING=1 on SIGTERM: ${JSON.stringify(a.heard.slice(-3))}`);
      assert.match(field(stopping.text, 'STATUS') ?? '', /^stopping/);
      assert.equal(a.heard.filter((h) => h.text.startsWith('READY=1')).length, 1, 'READY=1 once (no reload happened)');
    } finally {
      a.close();
      b.close();
    }
  });
});

test('SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1 with the states', async () => {
  await withLab(async (env) => {
    const a = notifySocket(join(env.dir, 'notify-r1'));
    try {
      const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)] }, [], { NOTIFY_SOCKET: join(env.dir, 'notify-r1') });
      r1.start();
      await waitFor('r1 master', () => r1.state === 'master', 10_000);
      await waitFor('READY=1', () => a.heard.some((h) => h.text.startsWith('READY=1')), 5000);
      const n = a.heard.length;
      r1.proc!.kill('SIGHUP');
      await waitFor('RELOADING=1 then READY=1', () => a.heard.slice(n).some((h) => h.text.startsWith('READY=1')), 5000);
      const [reloading, ready] = a.heard.slice(n).filter((h) => /^(RELOADING|READY)=1/.test(h.text));
      assert.ok(reloading && ready && reloading.text.startsWith('RELOADING=1'), JSON.stringify(a.heard.slice(n)));
      assert.match(field(reloading.text, 'MONOTONIC_USEC') ?? '', /^\d+$/);
      assert.equal(field(ready.text, 'STATUS'), 'VI_1 MASTER', 'the instance kept its state (unchanged config)');
    } finally {
      a.close();
    }
  });
});
