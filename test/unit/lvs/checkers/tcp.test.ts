import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpCheck } from '../../../../src/lvs/checkers/tcp.js';
import { TARGET, checkerOf, context, settle } from './helpers.js';

test('TCP_CHECK: passes when the connection opens (and closes it); refused fails with refused', async () => {
  const { ctx, probes } = context();
  const c = checkerOf('    TCP_CHECK {\n      connect_timeout 2\n    }');
  assert.deepEqual(await tcpCheck(c, TARGET, ctx), { result: 'ok' });
  assert.equal(probes.connections[0]!.closedByChecker, true);
  probes.set('10.0.0.2', 80, { kind: 'refuse' });
  assert.equal((await tcpCheck(c, TARGET, ctx)).result, 'refused');
});

test('TCP_CHECK: connect_ip/connect_port/bindto go to the port; a server that never answers times out at connect_timeout on the clock', async () => {
  const { ctx, probes, clock } = context();
  const c = checkerOf('    TCP_CHECK {\n      connect_ip 10.0.0.50\n      connect_port 8080\n      bindto 10.0.0.1\n      connect_timeout 3\n    }');
  probes.set('10.0.0.50', 8080, { kind: 'hang' });
  const box: { out?: { result: string } } = {};
  const result = (): string | undefined => box.out?.result;
  void tcpCheck(c, TARGET, ctx).then((o) => (box.out = o));
  await settle(clock, 2999);
  assert.equal(result(), undefined);
  await settle(clock, 2);
  assert.equal(result(), 'timeout');
  assert.deepEqual([probes.connects[0]!.host, probes.connects[0]!.port, probes.connects[0]!.bindAddress, probes.connects[0]!.timeoutMs], ['10.0.0.50', 8080, '10.0.0.1', 3000]);
});
