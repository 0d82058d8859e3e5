import { test } from 'node:test';
import assert from 'node:assert/strict';
import { miscCheck } from '../../../../src/lvs/checkers/misc.js';
import { TARGET, checkerOf, context, settle } from './helpers.js';

test('MISC_CHECK: exit 0 passes, exit 1 fails with exit-code; argv split as keepalived splits it, no shell', async () => {
  const { ctx, processes } = context();
  const c = checkerOf('    MISC_CHECK {\n      misc_path "/usr/local/bin/chk --port 80"\n    }');
  processes.script('/usr/local/bin/chk', { result: 'ok', exitCode: 0 }, { result: 'fail', exitCode: 1 });
  assert.deepEqual(await miscCheck(c, TARGET, ctx), { result: 'ok' });
  assert.deepEqual(await miscCheck(c, TARGET, ctx), { result: 'exit-code', detail: 'exit 1' });
  assert.deepEqual(processes.runs[0]!.argv, ['/usr/local/bin/chk', '--port', '80']);
  assert.equal(processes.runs[0]!.opts.timeoutMs, 60_000, 'misc_timeout defaults to delay_loop');
});

test('MISC_CHECK misc_dynamic: exit 2..255 is up with weight exit-2, exit 0 puts the configured weight back, exit 1 is down', async () => {
  const { ctx, processes } = context();
  const c = checkerOf('    MISC_CHECK {\n      misc_path /bin/chk\n      misc_dynamic\n      misc_timeout 2\n    }');
  processes.script('/bin/chk', { result: 'fail', exitCode: 7 }, { result: 'ok', exitCode: 0 }, { result: 'fail', exitCode: 1 });
  assert.deepEqual(await miscCheck(c, { ...TARGET, weight: 4 }, ctx), { result: 'ok', weight: 5, detail: 'exit 7: weight 5' });
  assert.deepEqual(await miscCheck(c, { ...TARGET, weight: 4 }, ctx), { result: 'ok', weight: 4 });
  assert.equal((await miscCheck(c, TARGET, ctx)).result, 'exit-code');
});

test('MISC_CHECK: a script that hangs is killed at misc_timeout (timeout); runAs is passed', async () => {
  const { ctx, processes, clock } = context();
  const c = checkerOf('    MISC_CHECK {\n      misc_path /bin/slow\n      misc_timeout 3\n      user nobody\n    }');
  processes.script('/bin/slow', 'hang');
  const box: { out?: { result: string } } = {};
  void miscCheck(c, TARGET, { ...ctx, runAs: { uid: 65534, gid: 65534 } }).then((o) => (box.out = o));
  await settle(clock, 3001);
  assert.equal(box.out?.result, 'timeout');
  assert.deepEqual(processes.runs[0]!.opts.runAs, { uid: 65534, gid: 65534 });
});
