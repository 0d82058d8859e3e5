/**
 * Mail alerts like keepalived's: with `notification_email`, `notification_email_from`,
 * `smtp_server` and `smtp_alert` (global, or per instance / sync group), one message per transition.
 * Sent with nodemailer, asynchronously; a failing or unreachable SMTP server is logged and counted
 * and never delays VRRP.
 *
 * Bounded: per instance at most one message is being sent and ONE waits; a newer transition
 * replaces the waiting message (the last state wins) and the replaced one is counted as
 * `coalesced` (keepwatch_mail_sends_total{result="coalesced"}). `smtp_connect_timeout` bounds the
 * connection and every wait for the server (the sender, src/adapters/smtp.ts), and a whole send
 * has a deadline of MAIL_DEADLINE_FACTOR x that, on the injected clock: a server that trickles
 * one byte at a time is cut off (the sender is aborted and destroys its socket).
 */
import type { AgentBus } from '../events/index.js';
import { hostname } from 'node:os';
import type { KeepalivedConfig } from '../config/model.js';
import type { StateChangedEvent } from '../events/index.js';
import type { Clock, MailMessage, MailSender, TimerHandle } from '../ports/index.js';
import { notifyState } from './notifier.js';

/** Results of a mail alert; a metric label (keepwatch_mail_sends_total). */
import { MAIL_RESULTS, type MailEvent, type MailResult } from '../events/index.js';

export { MAIL_RESULTS, type MailResult, type MailEvent };

/** A whole send (connect, dialogue, data) gets this many smtp_connect_timeouts. */
export const MAIL_DEADLINE_FACTOR = 4;

export type { MailMessage, MailSender };

export interface MailerDeps {
  /** The deadline of every send, and how long it took. */
  readonly clock: Pick<Clock, 'now' | 'setTimer' | 'clearTimer'>;
  /** Sends one message (src/adapters/smtp.ts). */
  readonly send: MailSender;
}

/** keepalived's wording for each state. */
const BODY: Record<string, string> = {
  MASTER: '=> VRRP Instance is now owning VRRP VIPs <=',
  BACKUP: '=> VRRP Instance is nolonger owning VRRP VIPs <=',
  FAULT: '=> VRRP Instance is nolonger owning VRRP VIPs <=',
  STOP: '=> VRRP Instance is nolonger owning VRRP VIPs <=',
};

interface MailJob {
  readonly instance: string;
  readonly state: string;
  readonly message: MailMessage;
}

interface MailSlot {
  running: MailJob;
  pending: MailJob | undefined;
}

export class Mailer {
  /** Per instance name; an entry lives while a message is being sent. */
  private readonly slots = new Map<string, MailSlot>();

  /**
   * `config()`: the current config (a reload may change the SMTP settings). Transitions come from
   * `bus`, and results go to it.
   */
  constructor(
    private readonly config: () => KeepalivedConfig,
    private readonly bus: AgentBus,
    private readonly deps: MailerDeps,
  ) {
    bus.on('state-changed', (e) => this.onTransition(e));
  }

  /** What is being sent and what waits, per instance (tests). */
  queued(): { instance: string; running: string; pending: string | undefined }[] {
    return [...this.slots].map(([instance, s]) => ({ instance, running: s.running.state, pending: s.pending?.state }));
  }

  private configured(): boolean {
    const g = this.config().global;
    return g.smtpServer !== undefined && g.notificationEmail.length > 0;
  }

  /**
   * Sends one message within `deadlineMs` (on the clock), or rejects; past the deadline the
   * sender is aborted (it destroys its socket) and whatever it does later is ignored.
   */
  private sendWithin(m: MailMessage, deadlineMs: number): Promise<void> {
    const g = this.config().global;
    const server = g.smtpServer!;
    const smtp = { host: server.host, port: server.port, connectTimeoutMs: g.smtpConnectTimeoutMs, heloName: g.smtpHeloName ?? hostname() };
    const abort = new AbortController();
    const clock = this.deps.clock;
    let timer: TimerHandle | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = clock.setTimer(deadlineMs, () => {
        abort.abort();
        reject(new Error(`no answer within ${deadlineMs} ms (${MAIL_DEADLINE_FACTOR} x smtp_connect_timeout)`));
      });
    });
    let sending: Promise<void>;
    try {
      sending = this.deps.send(m, deadlineMs, smtp, abort.signal);
    } catch (err) {
      sending = Promise.reject(err);
    }
    return Promise.race([sending, deadline]).finally(() => {
      if (timer) clock.clearTimer(timer);
    });
  }

  private wanted(instance: string): boolean {
    const c = this.config();
    const i = c.instances.find((x) => x.name === instance);
    const group = c.syncGroups.find((gr) => gr.members.some((m) => m.name === instance));
    return i?.smtpAlert ?? group?.smtpAlert ?? c.global.smtpAlert;
  }

  private onTransition(e: StateChangedEvent): void {
    const state = notifyState(e.to);
    if (!state || !this.configured() || !this.wanted(e.instance)) return;
    const g = this.config().global;
    // global_defs no_email_faults: no mail for FAULT (keepalived's vrrp_smtp_notifier).
    if (state === 'FAULT' && g.operations?.noEmailFaults) return;
    const routerId = g.routerId ?? hostname();
    const subject = `[${routerId}] VRRP Instance ${e.instance} - Entering ${state} state`;
    const text = `${BODY[state]}\n\ninstance: ${e.instance}\nvrid: ${e.vrid}\ninterface: ${e.interface}\nfrom: ${e.from.toUpperCase()}\ncause: ${e.cause}${e.detail ? ` (${e.detail})` : ''}\npriority: ${e.priority}\ntime: ${new Date(e.wallMs).toISOString()}\n`;
    const job: MailJob = { instance: e.instance, state, message: { from: g.notificationEmailFrom ?? `keepwatch@${hostname()}`, to: g.notificationEmail.join(', '), subject, text } };
    const slot = this.slots.get(e.instance);
    if (!slot) {
      const s: MailSlot = { running: job, pending: undefined };
      this.slots.set(e.instance, s);
      void this.drain(e.instance, s);
      return;
    }
    if (slot.pending) this.bus.emit({ type: 'mail-sent', instance: slot.pending.instance, state: slot.pending.state, result: 'coalesced', error: `not sent: replaced by a newer transition (${state})`, durationMs: 0 });
    slot.pending = job;
  }

  /** Sends the slot's message, then whatever waits. Never rejects. */
  private async drain(instance: string, slot: MailSlot): Promise<void> {
    try {
      for (;;) {
        const job = slot.running;
        const clock = this.deps.clock;
        const started = clock.now();
        const deadlineMs = MAIL_DEADLINE_FACTOR * this.config().global.smtpConnectTimeoutMs;
        try {
          await this.sendWithin(job.message, deadlineMs);
          this.bus.emit({ type: 'mail-sent', instance: job.instance, state: job.state, result: 'sent', durationMs: clock.now() - started });
        } catch (err) {
          this.bus.emit({ type: 'mail-sent', instance: job.instance, state: job.state, result: 'failed', error: (err as Error).message, durationMs: clock.now() - started });
        }
        const next = slot.pending;
        if (!next) break;
        slot.pending = undefined;
        slot.running = next;
      }
    } finally {
      this.slots.delete(instance);
    }
  }
}
