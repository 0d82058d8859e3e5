/**
 * track_file reads (src/tracking/track-file.ts) against hostile files: a FIFO (which used to block
 * the reader forever), a device, a directory, a huge file, garbage; and a TrackerSet tracking a
 * FIFO keeps its timers on time and reports the refusal.
 */
import { AgentBus } from '../../../src/events/index.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTrackFile, TRACK_FILE_MAX_BYTES } from '../../../src/tracking/track-file.js';
import { TrackerSet, type TrackEvent } from '../../../src/tracking/trackers.js';
import { EventBus } from '../../../src/events/index.js';
import { parseConfigText } from '../../../src/config/index.js';
import { SystemClock } from '../../../src/adapters/clock.js';
import { SystemProcessRunner } from '../../../src/adapters/process.js';

function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'kw-tf-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** Rejects if `p` takes longer than `ms` (a read that blocks would hang the test otherwise). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`took more than ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

test('a regular file: its integer; empty is 0; surrounding blanks are fine', async () => {
  await withDir(async (dir) => {
    const f = join(dir, 'v');
    for (const [text, value] of [['42\n', 42], ['  -300 \n', -300], ['+7', 7], ['', 0], ['\n', 0]] as const) {
      writeFileSync(f, text);
      assert.deepEqual(await readTrackFile(f), { ok: true, value }, JSON.stringify(text));
    }
    // A symlink to a regular file is followed (a common way to switch maintenance modes).
    symlinkSync(f, join(dir, 'link'));
    writeFileSync(f, '5\n');
    assert.deepEqual(await readTrackFile(join(dir, 'link')), { ok: true, value: 5 });
  });
});

const problemOf = async (path: string) => {
  const r = await readTrackFile(path);
  return r.ok ? `ok ${r.value}` : r.problem;
};

test('refused or unreadable files count as 0 with a reason', async () => {
  await withDir(async (dir) => {
    const f = join(dir, 'v');
    writeFileSync(f, 'maintenance\n');
    assert.equal(await problemOf(f), 'not-a-number');
    writeFileSync(f, '1 2\n');
    assert.equal(await problemOf(f), 'not-a-number');
    writeFileSync(f, '1'.repeat(TRACK_FILE_MAX_BYTES + 1));
    assert.equal(await problemOf(f), 'too-large');
    writeFileSync(f, `1${' '.repeat(10 * 1024 * 1024)}`);
    assert.equal(await problemOf(f), 'too-large', 'a 10 MB file is not read');
    assert.equal(await problemOf(join(dir, 'nope')), 'missing');
    assert.equal(await problemOf(dir), 'not-regular', 'a directory');
  });
});

test('a FIFO (nobody writing) and a device are refused without being opened or blocking', async () => {
  await withDir(async (dir) => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    const r = await within(readTrackFile(fifo), 1000);
    assert.equal(r.ok, false);
    assert.equal((r as { problem: string }).problem, 'not-regular');
    assert.match((r as { detail: string }).detail, /a FIFO/);
    assert.ok(Date.now() - t0 < 500);
    assert.equal(await within(problemOf('/dev/zero'), 1000), 'not-regular', 'an endless character device');
    // A symlink to the FIFO is the FIFO.
    symlinkSync(fifo, join(dir, 'link'));
    assert.equal(await within(problemOf(join(dir, 'link')), 1000), 'not-regular');
  });
});

test('a TrackerSet tracking a FIFO: timers stay on time, the refusal is reported, the weight is 0', async () => {
  await withDir(async (dir) => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const text = `vrrp_track_file maint {\n    file "${fifo}"\n    weight -10\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n    track_file {\n        maint\n    }\n}\n`;
    const r = parseConfigText(text, 'test.conf');
    assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
    const events = new AgentBus();
    const reads: Extract<TrackEvent, { type: 'track-file-read' }>[] = [];
    events.on('track-file-read', (e) => reads.push(e));
    const offsets: number[] = [];
    const router = { name: 'VI_1', config: r.config.instances[0]!, setFault: () => undefined, setPriorityOffset: (o: number) => offsets.push(o) };
    const set = new TrackerSet({ config: r.config, routers: () => [router as never], linkUp: () => true, bus: events, clock: new SystemClock(), processes: new SystemProcessRunner() });
    // Event-loop lag while the tracker polls the FIFO (it polls once a second).
    let worstLagMs = 0;
    let last = Date.now();
    const tick = setInterval(() => {
      const now = Date.now();
      worstLagMs = Math.max(worstLagMs, now - last - 20);
      last = now;
    }, 20);
    try {
      set.start();
      await new Promise((res) => setTimeout(res, 2300));
    } finally {
      set.stop();
      clearInterval(tick);
    }
    assert.ok(reads.length >= 2, `polled ${reads.length} times`);
    assert.ok(reads.every((e) => e.result === 'not-regular' && e.value === 0 && e.tracker === 'file:maint'));
    assert.equal(reads[0]!.previous, undefined);
    assert.equal(reads[1]!.previous, 'not-regular');
    assert.ok(offsets.every((o) => o === 0), 'a refused file weighs nothing');
    assert.ok(worstLagMs < 200, `event loop lag ${worstLagMs} ms`);
  });
});
