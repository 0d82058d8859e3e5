/**
 * The accept-mode table's life (agent/firewall.ts) on a fake nft: replaced at start (a crash's
 * leftover included), widened then narrowed across a reload, removed at exit; what happens when
 * nft is missing or fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { AcceptModeFirewall } from '../../../src/agent/firewall.js';
import { HostError } from '../../../src/adapters/errors.js';
import { NFT_REMOVE } from '../../../src/core/accept-mode.js';
import { createLogger } from '../../../src/observability/logging.js';
import { FakeNft } from '../../fakes/nft.js';
import { instance } from '../../helpers/instances.js';

function setup() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const nft = new FakeNft();
  return { nft, fw: new AcceptModeFirewall(nft, createLogger('debug', sink, {})), lines };
}

const noAccept = instance({ accept: false, vips: ['10.0.0.100'] });
const accepting = instance();

test('start: a leftover table (kill -9) is replaced by the config\'s, in one run; exit removes it', async () => {
  const { nft, fw } = setup();
  nft.table = 'table inet keepwatch { set vips4 { type ipv4_addr; elements = { 10.9.9.9 } } }';
  await fw.start([noAccept]);
  assert.equal(nft.runs.length, 1);
  assert.match(nft.table ?? '', /elements = \{ 10\.0\.0\.100 \}/);
  assert.doesNotMatch(nft.table ?? '', /10\.9\.9\.9/);
  assert.equal(fw.installed, true);
  await fw.remove();
  assert.equal(nft.table, undefined);
  assert.deepEqual(nft.runs.at(-1), NFT_REMOVE);
});

test('start without an instance that needs it: a leftover is removed; nothing to remove at exit', async () => {
  const { nft, fw } = setup();
  nft.table = 'table inet keepwatch {}';
  await fw.start([accepting]);
  assert.deepEqual(nft.runs, [NFT_REMOVE]);
  assert.equal(nft.table, undefined);
  await fw.remove();
  assert.equal(nft.runs.length, 1, 'no second run');
});

test('start: nft missing or refusing is fatal only when an instance needs the table', async () => {
  const a = setup();
  a.nft.next = { ok: false, reason: 'missing', message: 'nft not found (install nftables)' };
  await assert.rejects(a.fw.start([noAccept]), (e: unknown) => e instanceof HostError && e.kind === 'firewall' && /no_accept \(or vrrp_strict\) needs keepwatch's nftables table inet keepwatch, and nft failed: nft not found/.test(e.message));
  const b = setup();
  b.nft.next = { ok: false, reason: 'missing', message: 'nft not found (install nftables)' };
  await b.fw.start([accepting]);
  assert.equal(b.fw.installed, false);
  assert.deepEqual(b.lines, [], 'no nft and nothing needed: nothing to say');
  const c = setup();
  c.nft.next = { ok: false, reason: 'failed', message: 'Operation not permitted' };
  await c.fw.start([accepting]);
  assert.match(c.lines.join('\n'), /could not remove a leftover nftables table inet keepwatch: Operation not permitted/);
});

test('reload: old and new VIPs while the instances change, then the new ones; no run when nothing changes', async () => {
  const { nft, fw } = setup();
  await fw.start([noAccept]);
  const next = [instance({ accept: false, vips: ['10.0.0.101'] })];
  assert.equal(await fw.widen([noAccept], next), true);
  assert.match(nft.table ?? '', /elements = \{ 10\.0\.0\.101, 10\.0\.0\.100 \}/);
  assert.equal(await fw.settle(next), true);
  assert.match(nft.table ?? '', /elements = \{ 10\.0\.0\.101 \}/);
  const runs = nft.runs.length;
  assert.equal(await fw.widen(next, next), true);
  assert.equal(await fw.settle(next), true);
  assert.equal(nft.runs.length, runs, 'unchanged: nft is not run');
  // accept on again everywhere: the table goes.
  await fw.widen(next, [accepting]);
  await fw.settle([accepting]);
  assert.equal(nft.table, undefined);
  assert.equal(fw.installed, false);
});

test('reload: a failure keeps the running table and says so', async () => {
  const { nft, fw, lines } = setup();
  await fw.start([noAccept]);
  const before = nft.table;
  nft.next = { ok: false, reason: 'timeout', message: 'nft did not finish within 3000 ms' };
  assert.equal(await fw.settle([instance({ accept: false, vips: ['10.0.0.102'] })]), false);
  assert.equal(nft.table, before);
  assert.match(lines.join('\n'), /could not update nftables table inet keepwatch: nft did not finish within 3000 ms; the previous one stays/);
});

test('exit: a failing removal is logged (the next start replaces the table)', async () => {
  const { nft, fw, lines } = setup();
  await fw.start([noAccept]);
  nft.next = { ok: false, reason: 'failed', message: 'boom' };
  await fw.remove();
  assert.match(lines.join('\n'), /could not remove nftables table inet keepwatch: boom \(the next start replaces it\)/);
});
