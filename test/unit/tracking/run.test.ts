/**
 * Running scripts (src/tracking/run.ts) with real short processes: results, the timeout that
 * kills the whole process group, spawn errors (synchronous ones included: the timer used to be
 * touched before it was declared) and running as another user. And checkScript never throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkScript as checkWith, splitCommand } from '../../../src/tracking/run.js';
import { runCommand, SystemProcessRunner } from '../../../src/adapters/process.js';

/** The command-line check on this host's files (src/adapters/process.ts). */
const checkScript = (command: string, opts: { scriptSecurity: boolean }) => checkWith(new SystemProcessRunner(), command, opts);

const isRoot = process.getuid?.() === 0;

test("splitCommand splits like keepalived: words, double and single quotes", () => {
  assert.deepEqual(splitCommand(`/bin/sh -c "echo a b" 'c d' e`), ['/bin/sh', '-c', 'echo a b', 'c d', 'e']);
  assert.deepEqual(splitCommand('   '), []);
});

test('results: ok, fail with the exit code, error when the program does not exist', async () => {
  const ok = await runCommand(['/bin/true'], { timeoutMs: 5000 });
  assert.equal(ok.result, 'ok');
  const fail = await runCommand(['/bin/sh', '-c', 'exit 3'], { timeoutMs: 5000 });
  assert.deepEqual([fail.result, fail.exitCode], ['fail', 3]);
  const missing = await runCommand(['/nonexistent/script'], { timeoutMs: 5000 });
  assert.equal(missing.result, 'error');
  assert.match(missing.error ?? '', /ENOENT/);
});

test('a synchronous spawn error is the result "error", not an exception (no TDZ on the timer)', async () => {
  // A NUL byte in argv[0] or an argument: spawn() throws before any process exists.
  const nul = await runCommand(['/bin/true\0x'], { timeoutMs: 5000 });
  assert.equal(nul.result, 'error');
  assert.match(nul.error ?? '', /null bytes|NUL|\\u0000/i);
  const nulArg = await runCommand(['/bin/echo', 'a\0b'], { timeoutMs: 5000 });
  assert.equal(nulArg.result, 'error');
  // A uid spawn() refuses synchronously (not an integer).
  const uid = await runCommand(['/bin/true'], { timeoutMs: 5000, runAs: { uid: 1.5, gid: 1.5 } });
  assert.equal(uid.result, 'error');
  const empty = await runCommand([], { timeoutMs: 5000 });
  assert.equal(empty.result, 'error');
});

test('a hanging script is killed at its timeout with everything it started', async () => {
  const t0 = Date.now();
  // The shell starts a background sleep too: the process-group kill must take both.
  const o = await runCommand(['/bin/sh', '-c', 'sleep 30 & sleep 30'], { timeoutMs: 200 });
  assert.equal(o.result, 'timeout');
  assert.ok(Date.now() - t0 < 3000, `returned after ${Date.now() - t0} ms`);
});

test('running as ourselves does not switch ids (root to root needs no setuid)', async () => {
  const self = { uid: process.getuid!(), gid: process.getgid!() };
  const o = await runCommand(['/bin/sh', '-c', `test "$(id -u)" = ${self.uid}`], { timeoutMs: 5000, runAs: self });
  assert.equal(o.result, 'ok');
});

test('runAs switches uid and gid (root only)', { skip: !isRoot && 'needs root' }, async () => {
  const o = await runCommand(['/bin/sh', '-c', 'test "$(id -u):$(id -g)" = 65534:65534'], { timeoutMs: 5000, runAs: { uid: 65534, gid: 65534 } });
  assert.equal(o.result, 'ok', o.error);
  // Supplementary groups are dropped (libuv calls setgroups(0) when switching from root).
  const g = await runCommand(['/bin/sh', '-c', 'test "$(id -G)" = 65534'], { timeoutMs: 5000, runAs: { uid: 65534, gid: 65534 } });
  assert.equal(g.result, 'ok');
});

test('checkScript: missing, not executable, insecure, fine — and it never throws', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-run-'));
  try {
    const script = join(dir, 'x.sh');
    writeFileSync(script, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    assert.equal(checkScript(`${dir}/nope.sh`, { scriptSecurity: false })?.kind, 'missing');
    assert.equal(checkScript('', { scriptSecurity: false })?.kind, 'missing');
    assert.equal(checkScript(`${script} arg`, { scriptSecurity: false })?.kind, 'not-executable');
    chmodSync(script, 0o755);
    assert.equal(checkScript(`${script} arg`, { scriptSecurity: false }), undefined);
    // tmpdir() is world-writable (sticky or not): unsafe under enable_script_security.
    assert.equal(checkScript(script, { scriptSecurity: true })?.kind, 'insecure');
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    writeFileSync(join(open, 'y.sh'), '#!/bin/sh\n', { mode: 0o755 });
    assert.match(checkScript(join(open, 'y.sh'), { scriptSecurity: true })?.message ?? '', /writable by a non-root user/);
    assert.equal(checkScript('sh -c true', { scriptSecurity: false }), undefined, 'found in PATH');
    assert.equal(checkScript('/bin/tr\0ue', { scriptSecurity: true })?.kind, 'missing', 'a NUL byte: refused, not thrown');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
