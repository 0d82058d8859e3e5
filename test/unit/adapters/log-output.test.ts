/**
 * Where the log goes: stdout is the journal only when JOURNAL_STREAM names that very stream
 * (device and inode), never because the variable was inherited; the syslog sender puts one
 * datagram per line on a unix socket, and counts what it could not deliver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyslogSender, streamIsJournal } from '../../../src/adapters/log-output.js';

const require = createRequire(import.meta.url);
const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram', onMessage: (buf: Buffer) => void): { bind(path: string): void; close(): void } };

test('JOURNAL_STREAM matches a descriptor only when it names that stream (device:inode)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-journal-'));
  const fd = openSync(join(dir, 'stream'), 'w');
  const other = openSync(join(dir, 'other'), 'w');
  try {
    const st = fstatSync(fd, { bigint: true });
    const env = { JOURNAL_STREAM: `${st.dev}:${st.ino}` };
    assert.equal(streamIsJournal(env, fd), true);
    assert.equal(streamIsJournal(env, other), false, 'inherited from a parent whose stdout was the journal');
    assert.equal(streamIsJournal({}, fd), false);
    assert.equal(streamIsJournal({ JOURNAL_STREAM: 'nonsense' }, fd), false);
    assert.equal(streamIsJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, 987654), false, 'a closed descriptor');
  } finally {
    closeSync(fd);
    closeSync(other);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the syslog sender: one datagram per framed line; a missing socket drops and counts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-syslog-'));
  const path = join(dir, 'log');
  const got: string[] = [];
  const rx = unix.createSocket('unix_dgram', (b) => got.push(b.toString()));
  rx.bind(path);
  try {
    const s = new SyslogSender(path);
    assert.equal(s.send('<134>Nov 30 15:31:43 keepwatch[1]: one'), true);
    assert.equal(s.send('<131>Nov 30 15:31:44 keepwatch[1]: two'), true);
    const t0 = Date.now();
    while (got.length < 2 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(got, ['<134>Nov 30 15:31:43 keepwatch[1]: one', '<131>Nov 30 15:31:44 keepwatch[1]: two']);
    s.close();
    const gone = new SyslogSender(join(dir, 'nothing-here'));
    assert.equal(gone.send('<134>x'), false);
    assert.equal(gone.droppedLines, 1);
    gone.close();
  } finally {
    rx.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
