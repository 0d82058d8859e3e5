/**
 * The /proc reader of track_process (src/adapters/proc-table.ts): comm and state from stat (a comm
 * with spaces and parentheses; zombies left out), argv from cmdline only when asked, the caps
 * (processes per scan, bytes per command line), a vanished or unreadable entry skipped, and the
 * real /proc (this test's own process is found).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROC_MAX_CMDLINE_BYTES, ProcProcessTable, parseCmdline, parseStat } from '../../../src/adapters/proc-table.js';

test('parseStat: the comm between the first ( and the last ), then the state', () => {
  assert.deepEqual(parseStat('42 (nginx) S 1 42 42 0 -1'), { comm: 'nginx', state: 'S' });
  assert.deepEqual(parseStat('43 (a) b (c)) Z 1 2'), { comm: 'a) b (c)', state: 'Z' });
  assert.equal(parseStat('garbage'), undefined);
});

test('parseCmdline: NUL-separated words, the cap marks a cut', () => {
  assert.deepEqual(parseCmdline(Buffer.from('/usr/sbin/nginx\0-g\0daemon off;\0'), 100), { argv: ['/usr/sbin/nginx', '-g', 'daemon off;'], cut: false });
  assert.deepEqual(parseCmdline(Buffer.from(''), 100), { argv: [], cut: false });
  assert.deepEqual(parseCmdline(Buffer.from('abcdef\0'), 3), { argv: ['abc'], cut: true });
});

function fakeProc(entries: Record<string, { stat?: string; cmdline?: string | Buffer }>): string {
  const root = mkdtempSync(join(tmpdir(), 'kw-proc-'));
  for (const [pid, e] of Object.entries(entries)) {
    mkdirSync(join(root, pid));
    if (e.stat !== undefined) writeFileSync(join(root, pid, 'stat'), e.stat);
    if (e.cmdline !== undefined) writeFileSync(join(root, pid, 'cmdline'), e.cmdline);
  }
  mkdirSync(join(root, 'sys'));
  writeFileSync(join(root, 'uptime'), '1 1');
  return root;
}

test('a scan: processes with comm, argv only when asked, zombies and broken entries skipped, command lines capped, processes capped', async () => {
  const long = `/bin/x\0${'a'.repeat(PROC_MAX_CMDLINE_BYTES + 100)}\0`;
  const root = fakeProc({
    '1': { stat: '1 (systemd) S 0', cmdline: '/sbin/init\0splash\0' },
    '20': { stat: '20 (nginx) S 1', cmdline: '/usr/sbin/nginx\0-g\0daemon off;\0' },
    '21': { stat: '21 (nginx) Z 20', cmdline: '' },
    '22': { cmdline: 'no stat' },
    '23': { stat: '23 (x) S 1', cmdline: long },
    '24': { stat: '24 (kthreadd) S 0', cmdline: '' },
  });
  try {
    const t = new ProcProcessTable(root);
    const plain = await t.scan({ argv: false });
    assert.equal(plain.truncated, false);
    assert.deepEqual(
      [...plain.processes].sort((a, b) => a.pid - b.pid),
      [
        { pid: 1, comm: 'systemd' },
        { pid: 20, comm: 'nginx' },
        { pid: 23, comm: 'x' },
        { pid: 24, comm: 'kthreadd' },
      ],
    );
    const full = await t.scan({ argv: true });
    const byPid = new Map(full.processes.map((p) => [p.pid, p]));
    assert.deepEqual(byPid.get(20)?.argv, ['/usr/sbin/nginx', '-g', 'daemon off;']);
    assert.deepEqual(byPid.get(24)?.argv, [], 'a kernel thread');
    assert.equal(byPid.get(23)?.argvCut, true);
    assert.equal(byPid.get(23)?.argv?.join('\0').length, PROC_MAX_CMDLINE_BYTES);
    const capped = await new ProcProcessTable(root, 2).scan({ argv: false });
    assert.equal(capped.truncated, true);
    assert.ok(capped.processes.length <= 2);
    assert.deepEqual(await new ProcProcessTable(join(root, 'missing')).scan({ argv: true }), { processes: [], truncated: false });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the real /proc: this process is there with its command line', async () => {
  const scan = await new ProcProcessTable().scan({ argv: true });
  const me = scan.processes.find((p) => p.pid === process.pid);
  assert.ok(me, 'our own pid');
  assert.ok(me.argv?.some((a) => a.endsWith('proc-table.test.ts')), `argv ${JSON.stringify(me.argv)}`);
  assert.ok(me.comm.length > 0 && me.comm.length <= 15);
});
