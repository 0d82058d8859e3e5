/**
 * The notify FIFO adapter (src/adapters/notify-fifo.ts) on a real file system: a missing FIFO is
 * made (mode 0600) and removed at close, an existing one is kept; anything else at the path is
 * refused; writes never block — with no reader the pipe fills and `again` comes back at once —
 * and a reader gets whole lines; the reader process gets its arguments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, constants, rmSync, statSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemNotifyFifos } from '../../../src/adapters/notify-fifo.js';

const dir = () => mkdtempSync(join(tmpdir(), 'kw-fifo-'));

test('made when missing (0600), written without a reader until full (never blocking), read back whole, removed at close', () => {
  const d = dir();
  try {
    const path = join(d, 'notify.fifo');
    const port = new SystemNotifyFifos();
    const r = port.open(path, undefined);
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.equal(r.created, true);
    const st = statSync(path);
    assert.ok(st.isFIFO());
    assert.equal(st.mode & 0o777, 0o600);
    const line = 'INSTANCE "VI_1" MASTER 100\n';
    let written = 0;
    const started = performance.now();
    let last: string = 'written';
    while (last === 'written' && written < 100_000) {
      last = r.handle.write(line);
      if (last === 'written') written++;
    }
    const tookMs = performance.now() - started;
    assert.equal(last, 'again', 'a full pipe answers again');
    assert.ok(written * line.length >= 4096 && written * line.length <= 1 << 20, `${written} lines fitted`);
    assert.ok(tookMs < 2000, `never blocked (${tookMs.toFixed(0)} ms for ${written} writes)`);
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const buf = Buffer.alloc(line.length * 3);
    const n = readSync(fd, buf);
    closeSync(fd);
    assert.equal(buf.subarray(0, n).toString(), line.repeat(3));
    r.handle.close();
    assert.equal(existsSync(path), false, 'made by us: removed');
    assert.equal(r.handle.write(line), 'error', 'closed');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('an existing FIFO is kept at close; a regular file or a symlink at the path is refused', () => {
  const d = dir();
  try {
    const fifo = join(d, 'there.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const port = new SystemNotifyFifos();
    const r = port.open(fifo, undefined);
    assert.ok(r.ok);
    assert.equal(r.created, false);
    r.handle.close();
    assert.ok(existsSync(fifo), 'not ours: kept');
    writeFileSync(join(d, 'file'), 'x');
    const f = port.open(join(d, 'file'), undefined);
    assert.equal(f.ok, false);
    assert.match(f.ok ? '' : f.error, /exists and is not a FIFO/);
    symlinkSync(fifo, join(d, 'link'));
    const l = port.open(join(d, 'link'), undefined);
    assert.equal(l.ok, false, 'a symlink is not followed');
    const missingDir = port.open(join(d, 'no', 'such.fifo'), undefined);
    assert.equal(missingDir.ok, false);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('the reader process is started with its arguments and reports its end; a missing one reports an error', async () => {
  const d = dir();
  try {
    const out = join(d, 'out');
    const port = new SystemNotifyFifos();
    const p = port.start(['/bin/sh', '-c', `printf '%s|' "$@" > ${out}`, 'sh', 'a b', '/run/x.fifo'], undefined);
    assert.ok(p.pid);
    assert.deepEqual(await p.exited, { exitCode: 0, signal: null });
    assert.equal(readFileSync(out, 'utf8'), 'a b|/run/x.fifo|');
    const missing = await port.start([join(d, 'nope')], undefined).exited;
    assert.match(missing.error ?? '', /ENOENT/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
