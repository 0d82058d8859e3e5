/**
 * NodeLvsProbes (src/adapters/lvs-probes.ts) against real servers on 127.0.0.1 (loopback only):
 * TCP connect/refuse, the HTTP checker end to end over a real socket (status, digest), a server
 * that sends without end is cut at the byte cap, UDP reply / refused, a track_file read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { createSocket } from 'node:dgram';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { MAX_BUFFERED_BYTES, MAX_RECEIVED_BYTES, NodeLvsProbes } from '../../../src/adapters/lvs-probes.js';
import { SystemClock } from '../../../src/adapters/clock.js';

const systemClock = new SystemClock();
import { httpCheck } from '../../../src/lvs/checkers/http.js';
import { tcpCheck } from '../../../src/lvs/checkers/tcp.js';
import { parseConfigText } from '../../../src/config/index.js';
import { FakeProcessRunner } from '../../fakes/process.js';

const listen = (s: Server): Promise<number> => new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
const close = (s: { close(cb?: () => void): unknown }): Promise<void> => new Promise((r) => s.close(() => r()));

function checker(port: number, body: string) {
  const r = parseConfigText(`virtual_server 127.0.0.1 ${port} {\n  real_server 127.0.0.1 ${port} {\n${body}\n  }\n}\n`, 'a.conf');
  return r.config!.virtualServers[0]!.realServers[0]!.checkers[0]!;
}

test('TCP: a listening port connects, a closed one is refused', async () => {
  const probes = new NodeLvsProbes();
  const srv = createServer((s) => s.end());
  const port = await listen(srv);
  const ok = await probes.connect({ host: '127.0.0.1', port, timeoutMs: 2000 });
  assert.equal(ok.ok, true);
  if (ok.ok) ok.connection.close();
  await close(srv);
  const refused = await probes.connect({ host: '127.0.0.1', port, timeoutMs: 2000 });
  assert.deepEqual(refused.ok ? 'connected' : refused.reason, 'refused');
  const ctx = { probes, processes: new FakeProcessRunner(), clock: systemClock };
  assert.equal((await tcpCheck(checker(port, '    TCP_CHECK {\n      connect_timeout 2\n    }'), { address: '127.0.0.1', port, weight: 1 }, ctx)).result, 'refused');
});

test('HTTP_GET over a real HTTP server: status and digest', async () => {
  const body = 'keepwatch lvs\n';
  const srv = createHttpServer((req, res) => {
    if (req.url === '/down') {
      res.writeHead(503);
      res.end('no');
    } else res.end(body);
  });
  const port = await listen(srv as unknown as Server);
  const ctx = { probes: new NodeLvsProbes(), processes: new FakeProcessRunner(), clock: systemClock };
  const t = { address: '127.0.0.1', port, weight: 1 };
  const digest = createHash('md5').update(body).digest('hex');
  assert.equal((await httpCheck(checker(port, `    HTTP_GET {\n      url {\n        path /\n        digest ${digest}\n      }\n      http_protocol 1.1\n    }`), t, ctx)).result, 'ok');
  assert.equal((await httpCheck(checker(port, '    HTTP_GET {\n      url {\n        path /down\n      }\n    }'), t, ctx)).result, 'bad-status');
  srv.closeAllConnections();
  await close(srv);
});

test('a server that sends without end is cut at the byte cap; one that sends nothing is cut by the checker deadline', async () => {
  const junk = Buffer.alloc(256 * 1024, 0x41);
  const sockets = new Set<import('node:net').Socket>();
  const srv = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    const pump = (): void => {
      while (!s.destroyed && s.write(junk));
      if (!s.destroyed) s.once('drain', pump);
    };
    pump();
  });
  const port = await listen(srv);
  const probes = new NodeLvsProbes();
  const r = await probes.connect({ host: '127.0.0.1', port, timeoutMs: 2000 });
  assert.ok(r.ok);
  let total = 0;
  let last: unknown;
  for (;;) {
    // Read slowly: the adapter must cut the connection, not buffer without bound.
    await new Promise((res) => setTimeout(res, 20));
    const x = await r.connection.read();
    if (!(x instanceof Uint8Array)) {
      last = x;
      break;
    }
    total += x.length;
  }
  assert.ok(total <= MAX_RECEIVED_BYTES, `read ${total} bytes`);
  assert.deepEqual((last as { reason: string }).reason, 'too-large');
  void MAX_BUFFERED_BYTES;
  // The HTTP checker over the same hostile server: its header cap ends it.
  const ctx = { probes, processes: new FakeProcessRunner(), clock: systemClock };
  const t0 = Date.now();
  const out = await httpCheck(checker(port, '    HTTP_GET {\n      url {\n        path /\n      }\n      connect_timeout 2\n    }'), { address: '127.0.0.1', port, weight: 1 }, ctx);
  assert.equal(out.result, 'bad-reply');
  assert.ok(Date.now() - t0 < 2000);
  for (const s of sockets) s.destroy();
  await close(srv);
  // Silent server: accepts and says nothing; the checker's deadline (1 s) ends it.
  const silent = createServer((s) => sockets.add(s));
  const sp = await listen(silent);
  const t1 = Date.now();
  const o2 = await httpCheck(checker(sp, '    HTTP_GET {\n      url {\n        path /\n      }\n      connect_timeout 1\n    }'), { address: '127.0.0.1', port: sp, weight: 1 }, ctx);
  assert.equal(o2.result, 'timeout');
  assert.ok(Date.now() - t1 >= 900 && Date.now() - t1 < 3000);
  for (const s of sockets) s.destroy();
  await close(silent);
});

test('UDP: a reply comes back; a closed port is refused (ICMP port unreachable)', async () => {
  const srv = createSocket('udp4');
  srv.on('message', (m, rinfo) => srv.send(Buffer.concat([Buffer.from('re:'), m]), rinfo.port, rinfo.address));
  await new Promise<void>((r) => srv.bind(0, '127.0.0.1', () => r()));
  const port = srv.address().port;
  const probes = new NodeLvsProbes();
  const r = await probes.datagram({ host: '127.0.0.1', port, payload: Buffer.from('hi'), timeoutMs: 2000, maxReplyBytes: 4 });
  assert.deepEqual(r.ok ? [Buffer.from(r.reply).toString(), r.truncated] : r, ['re:h', true]);
  await new Promise<void>((res) => srv.close(() => res()));
  const refused = await probes.datagram({ host: '127.0.0.1', port, payload: Buffer.from('hi'), timeoutMs: 1000, maxReplyBytes: 64 });
  assert.equal(refused.ok ? 'reply' : refused.reason, 'refused');
});

test('readInteger: an integer, a non-number reads as 0, a missing file and a directory are refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvs-probes-'));
  try {
    const probes = new NodeLvsProbes();
    writeFileSync(join(dir, 'a'), ' -12\n');
    writeFileSync(join(dir, 'b'), 'abc');
    assert.deepEqual(await probes.readInteger(join(dir, 'a')), { ok: true, value: -12 });
    assert.deepEqual(await probes.readInteger(join(dir, 'b')), { ok: true, value: 0 });
    assert.equal((await probes.readInteger(join(dir, 'missing'))).ok, false);
    assert.equal((await probes.readInteger(dir)).ok, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ping: 127.0.0.1 answers (ping -c 1 -W, no shell); an unknown host name is an error, not a hang', { skip: !existsSync('/usr/bin/ping') && !existsSync('/bin/ping') ? 'no ping executable' : false }, async () => {
  const probes = new NodeLvsProbes();
  assert.deepEqual(await probes.ping({ host: '127.0.0.1', timeoutMs: 2000 }), { ok: true });
  const bad = await probes.ping({ host: 'no-such-host.invalid', timeoutMs: 2000 });
  assert.equal(bad.ok, false);
});
