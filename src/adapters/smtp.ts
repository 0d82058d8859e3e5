/**
 * Sending one mail alert over SMTP (the MailSender port), with nodemailer over a socket we open
 * ourselves: `smtp_connect_timeout` bounds the connection and every wait for the server, and when
 * the caller's deadline passes (it aborts the signal) the socket is destroyed, not left behind —
 * a server that trickles one byte at a time can't keep it open.
 */
import type { Transporter } from 'nodemailer';
import { connect, type Socket } from 'node:net';
import type { MailMessage, MailSender, SmtpSettings } from '../ports/index.js';

/** nodemailer is loaded when the first mail is due, not at start. */
let lib: Promise<typeof import('nodemailer')> | undefined;

/**
 * Connects within `timeoutMs`, or rejects (and leaves no socket behind). `opened` gets the socket
 * at once, so an abort during the connect can destroy it.
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

/** One message over a socket we own, so an abort can end it for good. */
export const smtpSend: MailSender = async (m: MailMessage, _deadlineMs: number, smtp: SmtpSettings, signal: AbortSignal): Promise<void> => {
  const t = smtp.connectTimeoutMs;
  let sock: Socket | undefined;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      sock?.destroy();
      reject(new Error('aborted'));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  // The abort may come while nothing listens yet (during the import): mark it handled.
  aborted.catch(() => undefined);
  try {
    const mod = (await Promise.race([(lib ??= import('nodemailer')), aborted])) as typeof import('nodemailer') & { default?: typeof import('nodemailer') };
    const nodemailer = mod.default ?? mod;
    sock = await Promise.race([connectWithin(smtp.host, smtp.port, t, (s) => (sock = s)), aborted]);
    const transport: Transporter = nodemailer.createTransport({ connection: sock, host: smtp.host, port: smtp.port, secure: false, ignoreTLS: true, connectionTimeout: t, greetingTimeout: t, socketTimeout: t, name: smtp.heloName });
    await Promise.race([transport.sendMail(m), aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    sock?.destroy();
  }
};
