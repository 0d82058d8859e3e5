/**
 * Mail alerts (src/notify/mailer.ts): at most one message being sent and one waiting per instance
 * (the last state wins, the rest are counted as coalesced), and a whole send is cut off at its
 * deadline even when the SMTP server keeps the connection alive by trickling bytes.
 */
import { AgentBus } from '../../../src/events/index.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { parseConfigText } from '../../../src/config/index.js';
import type { KeepalivedConfig } from '../../../src/config/model.js';
import { EventBus, type VrrpEvent, type StateChangedEvent, type VrrpState } from '../../../src/events/index.js';
import { Mailer, MAIL_DEADLINE_FACTOR, MAIL_RESULTS, type MailEvent, type MailMessage } from '../../../src/notify/mailer.js';
import { SystemClock } from '../../../src/adapters/clock.js';
import { smtpSend } from '../../../src/adapters/smtp.js';

function mailConf(port: number): KeepalivedConfig {
  const text = `global_defs {\n    router_id node1\n    notification_email {\n        ops@example.test\n    }\n    notification_email_from kw@example.test\n    smtp_server 127.0.0.1 ${port}\n    smtp_connect_timeout 1\n    smtp_alert\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n}\n`;
  const r = parseConfigText(text, 'test.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  return r.config;
}

function transition(core: AgentBus, from: VrrpState, to: VrrpState): void {
  const e: StateChangedEvent = { type: 'state-changed', instance: 'VI_1', vrid: 51, interface: 'eth0', family: 'ipv4', version: 2, from, to, cause: 'master-down-timer', atMs: 1, wallMs: Date.now(), startedAtMs: 1, priority: 100, basePriority: 100 };
  core.emit(e);
}

test('the result label values', () => {
  assert.deepEqual([...MAIL_RESULTS], ['sent', 'failed', 'coalesced']);
});

test('a stuck send under 50 transitions: one sending, one waiting; the last state is sent next', async () => {
  const core = new AgentBus();
  const events = core;
  const results: MailEvent[] = [];
  events.on('mail-sent', (e) => results.push(e));
  const sent: MailMessage[] = [];
  let release: () => void = () => undefined;
  let calls = 0;
  const mailer = new Mailer(() => mailConf(25), core, { clock: new SystemClock(), send: (m, deadlineMs) => {
    assert.equal(deadlineMs, MAIL_DEADLINE_FACTOR * 1000);
    sent.push(m);
    return calls++ === 0 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
  } });
  transition(core, 'init', 'backup');
  let last: VrrpState = 'backup';
  for (let i = 0; i < 50; i++) {
    const to: VrrpState = i % 2 ? 'backup' : 'master';
    transition(core, last, to);
    last = to;
    assert.ok(mailer.queued().length === 1 && mailer.queued()[0]!.running === 'BACKUP');
  }
  assert.deepEqual(mailer.queued(), [{ instance: 'VI_1', running: 'BACKUP', pending: 'BACKUP' }]);
  assert.equal(sent.length, 1, 'one being sent');
  assert.equal(results.filter((r) => r.result === 'coalesced').length, 49);
  release();
  for (let i = 0; i < 20 && mailer.queued().length > 0; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(mailer.queued(), []);
  assert.deepEqual(
    sent.map((m) => m.subject),
    ['[node1] VRRP Instance VI_1 - Entering BACKUP state', `[node1] VRRP Instance VI_1 - Entering ${last.toUpperCase()} state`],
  );
  assert.deepEqual(results.filter((r) => r.result === 'sent').map((r) => r.state), ['BACKUP', last.toUpperCase()]);
});

test('an SMTP server that trickles its answer is cut off at the deadline, and its socket closed', async () => {
  const sockets: Socket[] = [];
  let closedByPeer = 0;
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.on('close', () => closedByPeer++);
    s.write('220 slow.example ESMTP\r\n');
    // Never finishes the EHLO answer: a continuation line every 300 ms keeps the socket active.
    s.once('data', () => {
      const t = setInterval(() => (s.writable ? s.write('250-still thinking\r\n') : clearInterval(t)), 300);
      s.on('close', () => clearInterval(t));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    const core = new AgentBus();
    const events = core;
    const done = new Promise<MailEvent>((r) => events.on('mail-sent', (e) => r(e)));
    const t0 = Date.now();
    new Mailer(() => mailConf(port), core, { clock: new SystemClock(), send: smtpSend });
    transition(core, 'backup', 'master');
    const e = await done;
    const tookMs = Date.now() - t0;
    assert.equal(e.result, 'failed');
    assert.match(e.error ?? '', /no answer within 4000 ms/);
    assert.ok(tookMs >= 3900 && tookMs < 6000, `took ${tookMs} ms`);
    for (let i = 0; i < 20 && closedByPeer < sockets.length; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(sockets.length, 1);
    assert.equal(closedByPeer, 1, 'the socket was destroyed, not left trickling');
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test('a message is delivered to a working SMTP server (over the socket the mailer opens itself)', async () => {
  const bodies: string[] = [];
  const server = createServer((s) => {
    let buf = '';
    let data = false;
    s.write('220 sink ESMTP\r\n');
    s.on('data', (d) => {
      buf += d.toString('utf8');
      for (;;) {
        if (data) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          bodies.push(buf.slice(0, end));
          buf = buf.slice(end + 5);
          data = false;
          s.write('250 OK\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const cmd = buf.slice(0, 4).toUpperCase();
        buf = buf.slice(nl + 2);
        if (cmd === 'DATA') {
          data = true;
          s.write('354 go on\r\n');
        } else if (cmd === 'QUIT') s.end('221 bye\r\n');
        else s.write('250 OK\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    const core = new AgentBus();
    const events = core;
    const done = new Promise<MailEvent>((r) => events.on('mail-sent', (e) => r(e)));
    new Mailer(() => mailConf(port), core, { clock: new SystemClock(), send: smtpSend });
    transition(core, 'backup', 'master');
    const e = await done;
    assert.equal(e.result, 'sent', e.error);
    assert.equal(bodies.length, 1);
    assert.match(bodies[0]!, /Subject: \[node1\] VRRP Instance VI_1 - Entering MASTER state/);
  } finally {
    server.close();
  }
});
