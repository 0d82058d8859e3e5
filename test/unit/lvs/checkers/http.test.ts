import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { httpCheck, dechunk, parseHead } from '../../../../src/lvs/checkers/http.js';
import { BODY_CAP_BYTES } from '../../../../src/lvs/checkers/common.js';
import { FakeLvsProbes } from '../../../fakes/lvs-probes.js';
import { TARGET, checkerOf, context, settle } from './helpers.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const http = (urls: string, extra = '') => checkerOf(`    HTTP_GET {\n${urls}\n${extra}      connect_timeout 2\n    }`);
const url = (lines: string) => `      url {\n${lines}\n      }`;

test('HTTP_GET: status in status_code passes; outside fails with bad-status; the request names the path and the virtualhost', async () => {
  const { ctx, probes } = context();
  probes.set('10.0.0.2', 80, FakeLvsProbes.http('HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n'));
  const ok = http(url('        path /health\n        status_code 200 301-302\n        virtualhost app.example'));
  assert.equal((await httpCheck(ok, TARGET, ctx)).result, 'ok');
  assert.match(probes.connections[0]!.written[0]!, /^GET \/health HTTP\/1\.0\r\n.*Host: app\.example\r\n/s);
  const strict = http(url('        path /health\n        status_code 200'));
  assert.deepEqual(await httpCheck(strict, TARGET, ctx), { result: 'bad-status', detail: '/health: status 302' });
  assert.ok(probes.connections.every((p) => p.closedByChecker));
});

test('HTTP_GET digest: MD5 of the body (Content-Length, chunked, or to the end); a mismatch fails with bad-digest', async () => {
  const { ctx, probes } = context();
  const body = 'hello world\n';
  const c = http(url(`        path /\n        digest ${md5(body)}`));
  probes.set('10.0.0.2', 80, FakeLvsProbes.http(`HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
  assert.equal((await httpCheck(c, TARGET, ctx)).result, 'ok');
  probes.set('10.0.0.2', 80, FakeLvsProbes.http(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n6\r\nworld\n\r\n0\r\n\r\n`));
  assert.equal((await httpCheck(c, TARGET, ctx)).result, 'ok');
  probes.set('10.0.0.2', 80, FakeLvsProbes.http(`HTTP/1.0 200 OK\r\n\r\n${body}`));
  assert.equal((await httpCheck(c, TARGET, ctx)).result, 'ok');
  probes.set('10.0.0.2', 80, FakeLvsProbes.http(`HTTP/1.0 200 OK\r\n\r\nhello there\n`));
  assert.equal((await httpCheck(c, TARGET, ctx)).result, 'bad-digest');
});

test('HTTP_GET is bounded: a 1 GB Content-Length is refused unread, a body past the cap is cut, a trickling server is cut at connect_timeout', async () => {
  const { ctx, probes, clock } = context();
  const c = http(url(`        path /\n        digest ${md5('x')}`));
  probes.set('10.0.0.2', 80, FakeLvsProbes.http('HTTP/1.0 200 OK\r\nContent-Length: 1073741824\r\n\r\nxxxx'));
  assert.equal((await httpCheck(c, TARGET, ctx)).result, 'too-large');
  // No Content-Length, then more bytes than the cap: cut when the cap passes.
  probes.set('10.0.0.2', 80, {
    kind: 'accept',
    serve: (peer) => {
      peer.onWrite = (_req, p) => {
        p.send('HTTP/1.0 200 OK\r\n\r\n');
        for (let i = 0; i < 20; i++) p.send(new Uint8Array(BODY_CAP_BYTES / 8));
      };
    },
  });
  assert.equal((await httpCheck(c, TARGET, ctx)).result, 'too-large');
  // A byte now and then, never the end of the headers.
  let trickle: import('../../../fakes/lvs-probes.js').FakePeer | undefined;
  probes.set('10.0.0.2', 80, { kind: 'accept', serve: (peer) => { trickle = peer; peer.onWrite = (_r, p) => p.send('H'); } });
  const box: { out?: { result: string } } = {};
  const result = (): string | undefined => box.out?.result;
  void httpCheck(c, TARGET, ctx).then((o) => (box.out = o));
  for (let i = 0; i < 19; i++) {
    await settle(clock, 100, 1);
    trickle?.send('T');
  }
  assert.equal(result(), undefined);
  await settle(clock, 200);
  assert.equal(result(), 'timeout', JSON.stringify(box.out));
  assert.equal(trickle!.closedByChecker, true);
});

test('HTTP_GET: every url must pass; a reply that is not HTTP is bad-reply; SSL_GET connects with TLS and SNI (enable_sni)', async () => {
  const { ctx, probes } = context();
  probes.set('10.0.0.2', 80, FakeLvsProbes.http((req) => (req.startsWith('GET /b ') ? 'HTTP/1.0 500 Oops\r\n\r\n' : 'HTTP/1.0 200 OK\r\n\r\n')));
  const two = http(`${url('        path /a')}\n${url('        path /b')}`);
  assert.deepEqual(await httpCheck(two, TARGET, ctx), { result: 'bad-status', detail: '/b: status 500' });
  probes.set('10.0.0.2', 80, FakeLvsProbes.http('SSH-2.0-OpenSSH\r\n\r\n'));
  assert.equal((await httpCheck(http(url('        path /')), TARGET, ctx)).result, 'bad-reply');
  probes.set('10.0.0.2', 80, FakeLvsProbes.http('HTTP/1.1 200 OK\r\n\r\n'));
  const ssl = checkerOf('    SSL_GET {\n      url {\n        path /\n      }\n      virtualhost secure.example\n      enable_sni\n    }');
  assert.equal((await httpCheck(ssl, TARGET, ctx)).result, 'ok');
  assert.deepEqual(probes.connects.at(-1)!.tls, { servername: 'secure.example' });
});

test('parseHead and dechunk', () => {
  const h = parseHead(new TextEncoder().encode('HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\nrest'))!;
  assert.deepEqual([h.status, h.headers.get('x-a'), h.bodyStart], [204, 'b', 35]);
  assert.equal(parseHead(new TextEncoder().encode('HTTP/1.1 204 No')), undefined);
  const d = dechunk(new TextEncoder().encode('3\r\nabc\r\n0\r\n\r\n'));
  assert.deepEqual([d.done, new TextDecoder().decode(d.data)], [true, 'abc']);
  assert.equal(dechunk(new TextEncoder().encode('zz\r\n')).bad, true);
});

test('HTTP_GET stays linear when a server cuts its reply into 1-byte pieces (50 KB body, Content-Length and chunked)', async () => {
  const { ctx, probes } = context();
  const body = 'z'.repeat(50_000);
  const c = http(url(`        path /\n        digest ${md5(body)}`));
  const piecewise = (text: string) => ({
    kind: 'accept' as const,
    serve: (peer: import('../../../fakes/lvs-probes.js').FakePeer) => {
      const bytes = new TextEncoder().encode(text);
      peer.onWrite = (_r, p) => {
        for (let i = 0; i < bytes.length; i++) p.send(bytes.subarray(i, i + 1));
        p.end();
      };
    },
  });
  probes.set('10.0.0.2', 80, piecewise(`HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
  let t0 = performance.now();
  assert.equal((await httpCheck(c, TARGET, ctx)).result, 'ok');
  const lengthMs = performance.now() - t0;
  const chunks = body.match(/.{1,1000}/g)!.map((x) => `${x.length.toString(16)}\r\n${x}\r\n`).join('');
  probes.set('10.0.0.2', 80, piecewise(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`));
  t0 = performance.now();
  assert.equal((await httpCheck(c, TARGET, ctx)).result, 'ok');
  const chunkedMs = performance.now() - t0;
  assert.ok(lengthMs < 3000 && chunkedMs < 3000, `${lengthMs} / ${chunkedMs} ms`);
  console.log(`1-byte pieces, 50 KB body: Content-Length ${lengthMs.toFixed(0)} ms, chunked ${chunkedMs.toFixed(0)} ms`);
});

test('HTTP_GET regex: match, regex_no_match, offsets; a catastrophic pattern on a crafted body is cut at REGEX_TIMEOUT_MS', async () => {
  const { ctx, probes } = context();
  probes.set('10.0.0.2', 80, FakeLvsProbes.http('HTTP/1.0 200 OK\r\n\r\nstatus: OK 42\n'));
  const re = (lines: string) => http(url(`        path /\n${lines}`));
  assert.equal((await httpCheck(re('        regex "OK [0-9]+"'), TARGET, ctx)).result, 'ok');
  assert.deepEqual(await httpCheck(re('        regex "FAIL"'), TARGET, ctx), { result: 'bad-reply', detail: "/: body does not match regex 'FAIL'" });
  assert.equal((await httpCheck(re('        regex "ok"\n        regex_options caseless'), TARGET, ctx)).result, 'ok');
  assert.equal((await httpCheck(re('        regex "ERROR"\n        regex_no_match'), TARGET, ctx)).result, 'ok');
  assert.equal((await httpCheck(re('        regex "OK"\n        regex_max_offset 3'), TARGET, ctx)).result, 'bad-reply');
  assert.equal((await httpCheck(re('        regex "OK"\n        regex_min_offset 8\n        regex_max_offset 8'), TARGET, ctx)).result, 'ok');
  const { judgeRegex, REGEX_TIMEOUT_MS } = await import('../../../../src/lvs/checkers/regex.js');
  const t0 = performance.now();
  const v = judgeRegex({ source: '^(a+)+$', flags: '', noMatch: false, minOffset: 0 }, `${'a'.repeat(40)}!`);
  const ms = performance.now() - t0;
  assert.equal(v.ok, false);
  assert.ok(ms < REGEX_TIMEOUT_MS + 500, `${ms} ms`);
});
