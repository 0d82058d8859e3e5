/** The flight recorder keeps copies (pcap reuses its buffer), a time window, and bounded files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlightRecorder } from '../../src/observability/flight-recorder.js';
import { decodePcap } from '../../src/protocol/pcapfile.js';
import type { StateChangedEvent } from '../../src/core/events.js';

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
