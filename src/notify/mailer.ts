/**
 * Mail alerts like keepalived's: with `notification_email`, `notification_email_from`,
 * `smtp_server` and `smtp_alert` (global, or per instance / sync group), one message per transition.
 * Sent with nodemailer, asynchronously; a failing or unreachable SMTP server is logged and counted
 * and never delays VRRP.
 *
 * Bounded: per instance at most one message is being sent and ONE waits; a newer transition
 * replaces the waiting message (the last state wins) and the replaced one is counted as
 * `coalesced` (keepwatch_mail_sends_total{result="coalesced"}). `smtp_connect_timeout` bounds the
 * connection and every wait for the server, and a whole send has a deadline of
 * MAIL_DEADLINE_FACTOR x that: a server that trickles one byte at a time is cut off (we own the
 * socket, so it is destroyed, not left behind).
 */
import type { Transporter } from 'nodemailer';
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import type { KeepalivedConfig } from '../config/model.js';
import type { CoreEvent, EventBus, StateChangedEvent } from '../core/events.js';
import { notifyState } from './notifier.js';

/** Results of a mail alert; a metric label (keepwatch_mail_sends_total). */
export const MAIL_RESULTS = ['sent', 'failed', 'coalesced'] as const;
export type MailResult = (typeof MAIL_RESULTS)[number];

/** A whole send (connect, dialogue, data) gets this many smtp_connect_timeouts. */
export const MAIL_DEADLINE_FACTOR = 4;

export interface MailEvent {
  readonly type: 'mail-sent';
  readonly instance: string;
  readonly state: string;
  readonly result: MailResult;
  readonly error?: string;
  readonly durationMs: number;
}

export interface MailMessage {
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

/** Sends one message within `deadlineMs` or rejects; injectable for tests. */
export type MailSender = (message: MailMessage, deadlineMs: number) => Promise<void>;

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

/**
 * Connects within `timeoutMs`, or rejects (and leaves no socket behind). `opened` gets the socket
 * at once, so a deadline that fires during the connect can destroy it.
 */
function connectWithin(host: string, port: number, timeoutMs: number, opened: (s: Socket) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    opened(sock);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`connection to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('error', (err) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    });
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve(sock);
    });
  });
}

export class Mailer {
  /** nodemailer is loaded when the first mail is due, not at start. */
  private lib: Promise<typeof import('nodemailer')> | undefined;
  /** Per instance name; an entry lives while a message is being sent. */
  private readonly slots = new Map<string, MailSlot>();
  private readonly send: MailSender;

  /** `config()`: the current config (a reload may change the SMTP settings). */
  constructor(
    private readonly config: () => KeepalivedConfig,
    core: EventBus<CoreEvent>,
    private readonly events: EventBus<MailEvent>,
    send?: MailSender,
  ) {
    this.send = send ?? ((m, deadlineMs) => this.smtpSend(m, deadlineMs));
    core.on('state-changed', (e) => this.onTransition(e));
  }

  /** What is being sent and what waits, per instance (tests). */
  queued(): { instance: string; running: string; pending: string | undefined }[] {
    return [...this.slots].map(([instance, s]) => ({ instance, running: s.running.state, pending: s.pending?.state }));
  }

  private configured(): boolean {
    const g = this.config().global;
    return g.smtpServer !== undefined && g.notificationEmail.length > 0;
  }

  /** One message over a socket we own, so the deadline can end it for good. */
  private async smtpSend(m: MailMessage, deadlineMs: number): Promise<void> {
    const g = this.config().global;
    const server = g.smtpServer!;
    const t = g.smtpConnectTimeoutMs;
    let sock: Socket | undefined;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        sock?.destroy();
        reject(new Error(`no answer within ${deadlineMs} ms (${MAIL_DEADLINE_FACTOR} x smtp_connect_timeout)`));
      }, deadlineMs);
    });
    // The deadline may reject while nothing listens yet (during the import): mark it handled.
    deadline.catch(() => undefined);
    try {
      const mod = (await Promise.race([(this.lib ??= import('nodemailer')), deadline])) as typeof import('nodemailer') & { default?: typeof import('nodemailer') };
      const nodemailer = mod.default ?? mod;
      sock = await Promise.race([connectWithin(server.host, server.port, t, (s) => (sock = s)), deadline]);
      const transport: Transporter = nodemailer.createTransport({ connection: sock, host: server.host, port: server.port, secure: false, ignoreTLS: true, connectionTimeout: t, greetingTimeout: t, socketTimeout: t, name: g.smtpHeloName ?? hostname() });
      await Promise.race([transport.sendMail(m), deadline]);
    } finally {
      clearTimeout(timer);
      sock?.destroy();
    }
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
    if (slot.pending) this.events.emit({ type: 'mail-sent', instance: slot.pending.instance, state: slot.pending.state, result: 'coalesced', error: `not sent: replaced by a newer transition (${state})`, durationMs: 0 });
    slot.pending = job;
  }

  /** Sends the slot's message, then whatever waits. Never rejects. */
  private async drain(instance: string, slot: MailSlot): Promise<void> {
    try {
      for (;;) {
        const job = slot.running;
        const started = Date.now();
        const deadlineMs = MAIL_DEADLINE_FACTOR * this.config().global.smtpConnectTimeoutMs;
        try {
          await this.send(job.message, deadlineMs);
          this.events.emit({ type: 'mail-sent', instance: job.instance, state: job.state, result: 'sent', durationMs: Date.now() - started });
        } catch (err) {
          this.events.emit({ type: 'mail-sent', instance: job.instance, state: job.state, result: 'failed', error: (err as Error).message, durationMs: Date.now() - started });
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
