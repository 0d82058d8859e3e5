/**
 * The flight recorder keeps copies (pcap reuses its buffer), a time window, and bounded files;
 * its directory is private, its files 0600, it never writes through a symlink and never deletes a
 * file it did not write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { FlightRecorder, FlightRecorderError, prepareRecordingDir } from '../../../src/observability/flight-recorder.js';
import { decodePcap } from '../../../src/protocol/pcapfile.js';
import type { StateChangedEvent } from '../../../src/events/index.js';

const transition = (wallMs: number, n: number): StateChangedEvent => ({
  type: 'state-changed', instance: 'VI_1', vrid: 51, interface: 'eth0', family: 'ipv4', version: 2, from: 'backup', to: 'master', cause: 'master-down-timer',
  atMs: n, wallMs, startedAtMs: n, priority: 100, basePriority: 100,
});

test('records copies of frames from a reused buffer, only the last window, and prunes old files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-fr-'));
  try {
    const written: string[] = [];
    const fr = new FlightRecorder({ dir, windowMs: 1000, tailMs: 0, maxFiles: 2 }, (f, err) => {
      assert.ifError(err);
      written.push(f);
    });
    const shared = Buffer.alloc(60);
    const t0 = 1_800_000_000_000_000;
    for (let i = 0; i < 20; i++) {
      shared.fill(i);
      fr.record('eth0', shared.subarray(0, 42), t0 + i * 100_000); // one frame each 100 ms
    }
    const t = transition((t0 + 19 * 100_000) / 1000, 1);
    fr.onTransition(t);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(written.length, 1);
    assert.equal(fr.fileFor(t), written[0]);
    const { records } = decodePcap(readFileSync(written[0]!));
    // 1 s window: frames 9..19 (ts >= last - 1 s), each with its own content.
    assert.deepEqual(records.map((r) => r.data[0]), [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    for (let k = 2; k < 5; k++) {
      fr.onTransition(transition((t0 + 19 * 100_000) / 1000 + k, k));
      await new Promise((r) => setTimeout(r, 30));
    }
    assert.equal(readdirSync(dir).length, 2, 'at most maxFiles recordings');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the directory is created 0700; an existing group/world-writable or foreign-owned one is refused', () => {
  const base = mkdtempSync(join(tmpdir(), 'kw-fr-'));
  try {
    const fresh = join(base, 'a', 'flight');
    new FlightRecorder({ dir: fresh });
    assert.equal(statSync(fresh).mode & 0o777, 0o700);

    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    assert.throws(() => new FlightRecorder({ dir: open }), (e: Error) => e instanceof FlightRecorderError && /mode 0777 lets group or others write in it; refused/.test(e.message));
    chmodSync(open, 0o775);
    assert.throws(() => new FlightRecorder({ dir: open }), FlightRecorderError);
    chmodSync(open, 0o755);
    assert.doesNotThrow(() => new FlightRecorder({ dir: open }), 'readable by others but not writable: fine (the files are 0600)');

    // Owned by somebody else (checked with another uid, so this runs unprivileged too).
    const me = process.geteuid!();
    assert.throws(() => prepareRecordingDir(fresh, me + 1), (e: Error) => new RegExp(`owned by uid ${me}, not by this process \\(uid ${me + 1}\\); refused`).test(e.message));
    // A symlink to such a directory is judged by its target.
    symlinkSync(open, join(base, 'link'));
    chmodSync(open, 0o777);
    assert.throws(() => new FlightRecorder({ dir: join(base, 'link') }), FlightRecorderError);
    // A file where the directory should be.
    writeFileSync(join(base, 'file'), '');
    assert.throws(() => new FlightRecorder({ dir: join(base, 'file') }), FlightRecorderError);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('recordings are 0600 (whatever the umask), never written through a planted symlink, and only our own files are pruned', async () => {
  const base = mkdtempSync(join(tmpdir(), 'kw-fr-'));
  const dir = join(base, 'flight');
  const oldUmask = process.umask(0);
  try {
    const results: { file: string; error?: Error }[] = [];
    const fr = new FlightRecorder({ dir, tailMs: 0, maxFiles: 2 }, (file, error) => results.push({ file, ...(error ? { error } : {}) }));
    const t0 = 1_800_000_000_000_000;
    fr.record('eth0', new Uint8Array(42).fill(7), t0);

    // Someone who can write in the directory (root) plants a symlink at the next recording's name,
    // pointing at a file outside, and leaves foreign recordings (older than ours).
    const target = join(base, 'etc-shadow-standin');
    writeFileSync(target, 'precious\n');
    chmodSync(target, 0o644);
    const foreign = join(dir, '2000-01-01T00-00-00-000Z_other_backup-master_preempt.pcap');
    writeFileSync(foreign, 'not ours');
    utimesSync(foreign, new Date(946_684_800_000), new Date(946_684_800_000));
    const planted = transition(t0 / 1000, 1);
    const name = `${new Date(planted.wallMs).toISOString().replace(/[:.]/g, '-')}_VI_1_backup-master_master-down-timer.pcap`;
    symlinkSync(target, join(dir, name));

    fr.onTransition(planted);
    await wait(30);
    assert.equal(results.length, 1);
    assert.equal(results[0]!.file, join(dir, name));
    assert.match(String(results[0]!.error?.message), /EEXIST|ELOOP/, 'the planted name fails, loudly');
    assert.equal(readFileSync(target, 'utf8'), 'precious\n', 'the symlink target is untouched');
    assert.equal(statSync(target).mode & 0o777, 0o644);

    // Five more recordings with maxFiles 2: ours rotate, the foreign file and the symlink stay.
    for (let k = 2; k <= 6; k++) {
      fr.onTransition(transition(t0 / 1000 + k, k));
      await wait(20);
    }
    const ok = results.filter((r) => !r.error).map((r) => r.file);
    assert.equal(ok.length, 5);
    const left = readdirSync(dir).sort();
    assert.ok(left.includes(basename(foreign)), 'a foreign *.pcap survives pruning');
    assert.ok(left.includes(name), 'the planted symlink is not ours to delete either');
    assert.deepEqual(left.filter((f) => f !== name && f !== basename(foreign)), ok.slice(-2).map((f) => basename(f)).sort(), 'only our two newest remain');
    for (const f of ok.slice(-2)) {
      const st = lstatSync(f);
      assert.ok(st.isFile());
      assert.equal(st.mode & 0o777, 0o600, `${f} is 0600 even with umask 0`);
      assert.equal(decodePcap(readFileSync(f)).records.length, 1);
    }
  } finally {
    process.umask(oldUmask);
    rmSync(base, { recursive: true, force: true });
  }
});

test('bytes are bounded over our own recordings (the newest always stays)', async () => {
  const base = mkdtempSync(join(tmpdir(), 'kw-fr-'));
  try {
    const written: string[] = [];
    const fr = new FlightRecorder({ dir: base, tailMs: 0, maxFiles: 100, maxBytes: 2500 }, (f, err) => {
      assert.ifError(err);
      written.push(f);
    });
    const t0 = 1_800_000_000_000_000;
    for (let i = 0; i < 10; i++) fr.record('eth0', new Uint8Array(100).fill(i), t0 + i);
    // Each file: 24-byte header + 10 × (16 + 100) = 1184 bytes: two fit in 2500, three do not.
    for (let k = 1; k <= 4; k++) {
      fr.onTransition(transition(t0 / 1000 + k, k));
      await wait(20);
    }
    assert.equal(written.length, 4);
    assert.deepEqual(readdirSync(base).sort(), written.slice(-2).map((f) => basename(f)).sort());
    const small = new FlightRecorder({ dir: join(base, 'tiny'), tailMs: 0, maxBytes: 10 });
    small.record('eth0', new Uint8Array(100), t0);
    small.onTransition(transition(t0 / 1000, 9));
    await wait(20);
    assert.equal(readdirSync(join(base, 'tiny')).length, 1, 'one recording over the byte cap is kept');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
