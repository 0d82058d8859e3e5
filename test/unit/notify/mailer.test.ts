/**
 * Mail alerts (src/notify/mailer.ts) on the fake clock with a scripted sender: what is sent and
 * to where, coalescing (one sending and one waiting per instance, the last state wins), and the
 * deadline of a whole send (MAIL_DEADLINE_FACTOR x smtp_connect_timeout, on the clock: the
 * sender is aborted and whatever it does later is ignored).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import type { KeepalivedConfig } from '../../../src/config/model.js';
import { AgentBus, type MailEvent, type StateChangedEvent, type VrrpState } from '../../../src/events/index.js';
import { Mailer, MAIL_DEADLINE_FACTOR } from '../../../src/notify/mailer.js';
import type { MailMessage, SmtpSettings } from '../../../src/ports/index.js';
import { FakeClock } from '../../fakes/clock.js';
import { flush } from '../../fakes/process.js';

function conf(opts: { global?: string[]; instance?: string[] } = {}): KeepalivedConfig {
  const global = ['router_id node1', 'notification_email {', '    ops@example.test', '    oncall@example.test', '}', 'notification_email_from kw@example.test', 'smtp_server 192.0.2.25 2525', 'smtp_connect_timeout 3', 'smtp_helo_name kw.example.test', ...(opts.global ?? ['smtp_alert'])];
  const text = `global_defs {\n${global.map((l) => `    ${l}\n`).join('')}}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100\n    }\n${(opts.instance ?? []).map((l) => `    ${l}\n`).join('')}}\n`;
  const r = parseConfigText(text, 'test.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  return r.config;
}

interface Call {
  readonly message: MailMessage;
  readonly deadlineMs: number;
  readonly smtp: SmtpSettings;
  readonly signal: AbortSignal;
  readonly atMs: number;
  resolve(): void;
  reject(err: Error): void;
}

/** A sender whose sends the test ends (or leaves hanging), and the mail results. */
function setup(config = conf()) {
  const clock = new FakeClock();
  const bus = new AgentBus();
  bus.onListenerError = (err) => {
    throw err;
  };
  const results: MailEvent[] = [];
  bus.on('mail-sent', (e) => results.push(e));
  const calls: Call[] = [];
  const mailer = new Mailer(() => config, bus, {
    clock,
    send: (message, deadlineMs, smtp, signal) =>
      new Promise<void>((resolve, reject) => calls.push({ message, deadlineMs, smtp, signal, atMs: clock.now(), resolve, reject })),
  });
  let last: VrrpState = 'init';
  const transition = (to: VrrpState) => {
    const e: StateChangedEvent = { type: 'state-changed', instance: 'VI_1', vrid: 51, interface: 'eth0', family: 'ipv4', version: 2, from: last, to, cause: 'master-down-timer', detail: 'no advert heard', atMs: clock.now(), wallMs: clock.wallNow(), startedAtMs: clock.now(), priority: 100, basePriority: 100 };
    last = to;
    bus.emit(e);
  };
  return { clock, bus, results, calls, mailer, transition };
}

test("one message per transition, keepalived's wording, to every address, over the configured server", async () => {
  const t = setup();
  t.transition('master');
  assert.equal(t.calls.length, 1);
  const c = t.calls[0]!;
  assert.deepEqual(c.smtp, { host: '192.0.2.25', port: 2525, connectTimeoutMs: 3000, heloName: 'kw.example.test' });
  assert.equal(c.deadlineMs, MAIL_DEADLINE_FACTOR * 3000);
  assert.equal(c.message.from, 'kw@example.test');
  assert.equal(c.message.to, 'ops@example.test, oncall@example.test');
  assert.equal(c.message.subject, '[node1] VRRP Instance VI_1 - Entering MASTER state');
  assert.match(c.message.text, /^=> VRRP Instance is now owning VRRP VIPs <=\n/);
  assert.match(c.message.text, /\nfrom: INIT\ncause: master-down-timer \(no advert heard\)\npriority: 100\ntime: 2026-11-22T00:00:00.000Z\n$/);
  t.clock.advance(250);
  c.resolve();
  await flush();
  assert.deepEqual(t.results, [{ type: 'mail-sent', instance: 'VI_1', state: 'MASTER', result: 'sent', durationMs: 250 }]);
  assert.equal(c.signal.aborted, false);
});

test('nothing is sent without smtp_alert (global or per instance), and an instance can turn it off', () => {
  const off = setup(conf({ global: [] }));
  off.transition('master');
  assert.equal(off.calls.length, 0);
  const own = setup(conf({ global: [], instance: ['smtp_alert'] }));
  own.transition('master');
  assert.equal(own.calls.length, 1, "the instance's own smtp_alert");
  const optOut = setup(conf({ instance: ['smtp_alert false'] }));
  optOut.transition('master');
  assert.equal(optOut.calls.length, 0, 'the instance says no');
});

test('coalescing: one sending and one waiting under 50 transitions; the last state is sent next; the rest are counted', async () => {
  const t = setup();
  t.transition('backup');
  let last: VrrpState = 'backup';
  for (let i = 0; i < 50; i++) {
    last = i % 2 ? 'backup' : 'master';
    t.transition(last);
    assert.deepEqual(t.mailer.queued(), [{ instance: 'VI_1', running: 'BACKUP', pending: last.toUpperCase() }]);
  }
  assert.equal(t.calls.length, 1, 'one being sent');
  const coalesced = t.results.filter((r) => r.result === 'coalesced');
  assert.equal(coalesced.length, 49);
  assert.ok(coalesced.every((r) => r.durationMs === 0 && /replaced by a newer transition/.test(r.error ?? '')));
  t.calls[0]!.resolve();
  await flush();
  assert.equal(t.calls.length, 2);
  assert.equal(t.calls[1]!.message.subject, `[node1] VRRP Instance VI_1 - Entering ${last.toUpperCase()} state`);
  t.calls[1]!.resolve();
  await flush();
  assert.deepEqual(t.mailer.queued(), []);
  assert.deepEqual(t.results.filter((r) => r.result === 'sent').map((r) => r.state), ['BACKUP', last.toUpperCase()]);
});

test('the deadline: a send still going after 4 x smtp_connect_timeout is aborted and failed; a late answer is ignored; what waits goes next', async () => {
  const t = setup();
  t.transition('backup');
  t.transition('master');
  const first = t.calls[0]!;
  t.clock.advance(MAIL_DEADLINE_FACTOR * 3000 - 1);
  await flush();
  assert.equal(t.results.length, 0);
  assert.equal(first.signal.aborted, false);
  t.clock.advance(1);
  await flush();
  assert.equal(first.signal.aborted, true, 'the sender is told to end its socket');
  assert.deepEqual(t.results, [{ type: 'mail-sent', instance: 'VI_1', state: 'BACKUP', result: 'failed', error: 'no answer within 12000 ms (4 x smtp_connect_timeout)', durationMs: 12000 }]);
  assert.equal(t.calls.length, 2, 'the waiting message goes next');
  assert.equal(t.calls[1]!.atMs, 12000);
  assert.equal(t.calls[1]!.signal.aborted, false, 'with a signal of its own');
  first.resolve();
  first.reject(new Error('late'));
  await flush();
  assert.equal(t.results.length, 1, 'nothing more from the aborted send');
  t.calls[1]!.resolve();
  await flush();
  assert.deepEqual(t.results.map((r) => [r.state, r.result]), [
    ['BACKUP', 'failed'],
    ['MASTER', 'sent'],
  ]);
  // The deadline timer of a finished send is gone: nothing fires later.
  t.clock.advance(60_000);
  await flush();
  assert.equal(t.results.length, 2);
});

test('a sender that fails (or throws) is a failed send with its message, timed on the clock', async () => {
  const t = setup();
  t.transition('master');
  t.clock.advance(40);
  t.calls[0]!.reject(new Error('connect ECONNREFUSED 192.0.2.25:2525'));
  await flush();
  assert.deepEqual(t.results, [{ type: 'mail-sent', instance: 'VI_1', state: 'MASTER', result: 'failed', error: 'connect ECONNREFUSED 192.0.2.25:2525', durationMs: 40 }]);

  const clock = new FakeClock();
  const bus = new AgentBus();
  const results: MailEvent[] = [];
  bus.on('mail-sent', (e) => results.push(e));
  new Mailer(() => conf(), bus, {
    clock,
    send: () => {
      throw new Error('no transport');
    },
  });
  bus.emit({ type: 'state-changed', instance: 'VI_1', vrid: 51, interface: 'eth0', family: 'ipv4', version: 2, from: 'backup', to: 'master', cause: 'preempt', atMs: 0, wallMs: clock.wallNow(), startedAtMs: 0, priority: 100, basePriority: 100 });
  await flush();
  assert.deepEqual(results.map((r) => [r.result, r.error]), [['failed', 'no transport']]);
});
