/**
 * Mail alerts like keepalived's: with `notification_email`, `notification_email_from`,
 * `smtp_server` and `smtp_alert` (global, or per instance / sync group), one message per transition.
 * Sent with nodemailer, asynchronously and one at a time; a failing or unreachable SMTP server is
 * logged and counted and never delays VRRP (`smtp_connect_timeout` bounds each attempt).
 */
import type { Transporter } from 'nodemailer';
import { hostname } from 'node:os';
import type { KeepalivedConfig } from '../config/model.js';
import type { CoreEvent, EventBus, StateChangedEvent } from '../core/events.js';
import { notifyState } from './notifier.js';

export interface MailEvent {
  readonly type: 'mail-sent';
  readonly instance: string;
  readonly state: string;
  readonly result: 'sent' | 'failed';
  readonly error?: string;
  readonly durationMs: number;
}

/** keepalived's wording for each state. */
const BODY: Record<string, string> = {
  MASTER: '=> VRRP Instance is now owning VRRP VIPs <=',
  BACKUP: '=> VRRP Instance is nolonger owning VRRP VIPs <=',
  FAULT: '=> VRRP Instance is nolonger owning VRRP VIPs <=',
  STOP: '=> VRRP Instance is nolonger owning VRRP VIPs <=',
};

export class Mailer {
  private transportKey = '';
  private transportValue: Transporter | undefined;
  /** nodemailer is loaded when the first mail is due, not at start. */
  private lib: Promise<typeof import('nodemailer')> | undefined;
  private queue: Promise<void> = Promise.resolve();

  /** `config()`: the current config (a reload may change the SMTP settings). */
  constructor(
    private readonly config: () => KeepalivedConfig,
    core: EventBus<CoreEvent>,
    private readonly events: EventBus<MailEvent>,
  ) {
    core.on('state-changed', (e) => this.onTransition(e));
  }

  private configured(): boolean {
    const g = this.config().global;
    return g.smtpServer !== undefined && g.notificationEmail.length > 0;
  }

  private async transport(): Promise<Transporter> {
    const g = this.config().global;
    const server = g.smtpServer!;
    const key = JSON.stringify([server.host, server.port, g.smtpConnectTimeoutMs, g.smtpHeloName]);
    if (key !== this.transportKey || !this.transportValue) {
      const mod = (await (this.lib ??= import('nodemailer'))) as typeof import('nodemailer') & { default?: typeof import('nodemailer') };
      const nodemailer = mod.default ?? mod;
      const t = g.smtpConnectTimeoutMs;
      this.transportKey = key;
      this.transportValue = nodemailer.createTransport({ host: server.host, port: server.port, secure: false, ignoreTLS: true, connectionTimeout: t, greetingTimeout: t, socketTimeout: t, name: g.smtpHeloName ?? hostname() });
    }
    return this.transportValue!;
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
    this.queue = this.queue.then(async () => {
      const started = Date.now();
      try {
        const transport = await this.transport();
        await transport.sendMail({ from: g.notificationEmailFrom ?? `keepwatch@${hostname()}`, to: g.notificationEmail.join(', '), subject, text });
        this.events.emit({ type: 'mail-sent', instance: e.instance, state, result: 'sent', durationMs: Date.now() - started });
      } catch (err) {
        this.events.emit({ type: 'mail-sent', instance: e.instance, state, result: 'failed', error: (err as Error).message, durationMs: Date.now() - started });
      }
    });
  }
}
