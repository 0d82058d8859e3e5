/** SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK over the fake probes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { smtpCheck, smtpReplyCode } from '../../../../src/lvs/checkers/smtp.js';
import { dnsCheck, dnsQuery, judgeDnsReply } from '../../../../src/lvs/checkers/dns.js';
import { udpCheck } from '../../../../src/lvs/checkers/udp.js';
import { pingCheck } from '../../../../src/lvs/checkers/ping.js';
import { fileCheck } from '../../../../src/lvs/checkers/file.js';
import { TARGET, checkerOf, context } from './helpers.js';

test('SMTP_CHECK: 220 greeting, HELO helo_name, 250, QUIT; a 554 greeting fails with bad-reply; multi-line replies are read to their last line', async () => {
  const { ctx, probes } = context();
  const c = checkerOf('    SMTP_CHECK {\n      helo_name director.example\n      connect_port 25\n    }');
  probes.set('10.0.0.2', 25, {
    kind: 'accept',
    serve: (peer) => {
      peer.send('220-mail.example ESMTP\r\n220 ready\r\n');
      peer.onWrite = (line, p) => (line.startsWith('HELO') ? p.send('250 hello\r\n') : undefined);
    },
  });
  assert.deepEqual(await smtpCheck(c, TARGET, ctx), { result: 'ok' });
  assert.deepEqual(probes.connections[0]!.written, ['HELO director.example\r\n', 'QUIT\r\n']);
  probes.set('10.0.0.2', 25, { kind: 'accept', serve: (peer) => peer.send('554 go away\r\n') });
  assert.deepEqual(await smtpCheck(c, TARGET, ctx), { result: 'bad-reply', detail: 'greeting: code 554, expected 220' });
  assert.equal(smtpReplyCode('250-a\r\n250'), undefined);
  assert.equal(smtpReplyCode('garbage\r\n'), -1);
});

test('DNS_CHECK: the query bytes (RFC 1035), and the reply must match id, be a response, RCODE 0 (answers not required, as keepalived)', async () => {
  assert.deepEqual([...dnsQuery(0x1234, 'a.b', 1)], [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 97, 1, 98, 0, 0, 1, 0, 1]);
  assert.deepEqual([...dnsQuery(1, '.', 6)].slice(12), [0, 0, 6, 0, 1]);
  const reply = (id: number, flags: number, an: number) => Uint8Array.from([id >> 8, id & 255, flags >> 8, flags & 255, 0, 1, 0, an, 0, 0, 0, 0]);
  assert.deepEqual(judgeDnsReply(reply(7, 0x8180, 1), 7), { ok: true });
  assert.deepEqual(judgeDnsReply(reply(8, 0x8180, 1), 7), { ok: false, detail: 'reply id does not match the query' });
  assert.deepEqual(judgeDnsReply(reply(7, 0x8183, 0), 7), { ok: false, detail: 'RCODE 3' });
  assert.deepEqual(judgeDnsReply(reply(7, 0x8180, 0), 7), { ok: true });
  assert.deepEqual(judgeDnsReply(reply(7, 0x0100, 1), 7), { ok: false, detail: 'not a response (QR 0)' });
  const { ctx, probes } = context();
  const c = checkerOf('    DNS_CHECK {\n      type A\n      name example.com\n      connect_port 53\n    }');
  probes.datagramAnswer = (o) => {
    const id = (o.payload[0]! << 8) | o.payload[1]!;
    return { ok: true, reply: reply(id, 0x8180, 1), truncated: false };
  };
  assert.deepEqual(await dnsCheck(c, TARGET, ctx), { result: 'ok' });
  assert.equal(probes.datagrams[0]!.port, 53);
  probes.datagramAnswer = () => ({ ok: false, reason: 'timeout', detail: 'no reply' });
  assert.equal((await dnsCheck(c, TARGET, ctx)).result, 'timeout');
});

test('UDP_CHECK: no reply is fine unless require_reply; refused fails; require_reply checks prefix and lengths', async () => {
  const { ctx, probes } = context();
  const plain = checkerOf('    UDP_CHECK {\n      payload 0102\n    }');
  assert.equal((await udpCheck(plain, TARGET, ctx)).result, 'ok');
  assert.deepEqual([...probes.datagrams[0]!.payload], [1, 2]);
  probes.datagramAnswer = () => ({ ok: false, reason: 'refused', detail: 'ECONNREFUSED' });
  assert.equal((await udpCheck(plain, TARGET, ctx)).result, 'refused');
  const strict = checkerOf('    UDP_CHECK {\n      require_reply abcd\n      min_reply_length 3\n      max_reply_length 4\n    }');
  probes.datagramAnswer = () => ({ ok: false, reason: 'timeout', detail: 'no reply' });
  assert.equal((await udpCheck(strict, TARGET, ctx)).result, 'timeout');
  probes.datagramAnswer = () => ({ ok: true, reply: Uint8Array.from([0xab, 0xcd, 0]), truncated: false });
  assert.equal((await udpCheck(strict, TARGET, ctx)).result, 'ok');
  probes.datagramAnswer = () => ({ ok: true, reply: Uint8Array.from([0xab, 0xce, 0]), truncated: false });
  assert.equal((await udpCheck(strict, TARGET, ctx)).result, 'bad-reply');
  probes.datagramAnswer = () => ({ ok: true, reply: Uint8Array.from([0xab, 0xcd, 0, 0, 0]), truncated: false });
  assert.equal((await udpCheck(strict, TARGET, ctx)).result, 'bad-reply');
});

test('PING_CHECK: a reply passes; none fails with its reason', async () => {
  const { ctx, probes } = context();
  const c = checkerOf('    PING_CHECK {\n    }');
  assert.equal((await pingCheck(c, TARGET, ctx)).result, 'ok');
  probes.pingAnswer = () => ({ ok: false, reason: 'timeout', detail: 'no echo reply' });
  assert.equal((await pingCheck(c, TARGET, ctx)).result, 'timeout');
  assert.deepEqual(probes.pings, ['10.0.0.2', '10.0.0.2']);
});

test('FILE_CHECK: value × weight added to the weight (reverse negates); below 0 is down; weight 0 means down while non-zero', async () => {
  const { ctx, probes } = context();
  const pre = 'track_file tf {\n  file /run/w\n  weight 1\n}\n';
  const c = checkerOf('    FILE_CHECK {\n      track_file tf\n      weight 2\n    }', pre);
  const with_ = { ...ctx, trackFile: { path: '/run/w', weight: 1, reverse: false } };
  probes.files.set('/run/w', { ok: true, value: 3 });
  assert.deepEqual(await fileCheck(c, { ...TARGET, weight: 10 }, with_), { result: 'ok', weight: 16, weightDelta: 6 });
  probes.files.set('/run/w', { ok: true, value: -6 });
  assert.equal((await fileCheck(c, { ...TARGET, weight: 10 }, with_)).result, 'file-value');
  const zero = checkerOf('    FILE_CHECK {\n      track_file tf\n      weight 0\n    }', pre);
  assert.equal((await fileCheck(zero, TARGET, with_)).result, 'file-value');
  probes.files.set('/run/w', { ok: true, value: 0 });
  assert.equal((await fileCheck(zero, TARGET, with_)).result, 'ok');
  const rev = checkerOf('    FILE_CHECK {\n      track_file tf\n      weight 1 reverse\n    }', pre);
  probes.files.set('/run/w', { ok: true, value: 2 });
  assert.deepEqual(await fileCheck(rev, { ...TARGET, weight: 5 }, with_), { result: 'ok', weight: 3, weightDelta: -2 });
});
