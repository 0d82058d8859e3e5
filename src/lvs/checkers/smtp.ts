/**
 * SMTP_CHECK (keepalived/check/check_smtp.c): connect (port 25 when the real server has none),
 * expect a 220 greeting, send `HELO helo_name`, expect 250, send QUIT. Each reply is read to
 * its final line (`NNN ` rather than `NNN-`), at most LINE_CAP_BYTES, all within connect_timeout.
 */
import type { StreamConnection } from '../../ports/index.js';
import { Deadline, LINE_CAP_BYTES, connectOptions, connectWithin, destination, fail, latin1, ok, readUntil, type Checker, type CheckOutcome } from './common.js';

/** The code of a complete SMTP reply (its last line), or undefined while incomplete. */
export function smtpReplyCode(text: string): number | undefined {
  const lines = text.split('\r\n');
  if (lines.length < 2) return undefined;
  for (const l of lines.slice(0, -1)) {
    const m = /^(\d{3})([ -]|$)/.exec(l);
    if (!m) return -1;
    if (m[2] !== '-') return Number(m[1]);
  }
  return undefined;
}

export const smtpCheck: Checker = async (c, t, ctx) => {
  const { host } = destination(c, t);
  const port = c.connectPort ?? t.port ?? 25;
  const deadline = new Deadline(ctx.clock, c.connectTimeoutMs);
  let conn: StreamConnection | undefined;
  const expect = async (c2: StreamConnection, code: number, step: string): Promise<CheckOutcome | undefined> => {
    // A reply is complete once a line without '-' after its code ends: test only when a CRLF came.
    const r = await readUntil(c2, deadline, LINE_CAP_BYTES, (b, from) => latin1(b.subarray(Math.max(0, from - 1))).includes('\r\n') && smtpReplyCode(latin1(b)) !== undefined);
    if (!r.ok) return r.outcome;
    const got = smtpReplyCode(latin1(r.data));
    if (got !== code) return fail('bad-reply', `${step}: ${got === undefined ? 'no reply' : got === -1 ? 'not SMTP' : `code ${got}`}, expected ${code}`);
    return undefined;
  };
  try {
    const r = await connectWithin(ctx.probes, connectOptions(c, host, port), deadline);
    if (!r.ok) return r.outcome;
    conn = r.connection;
    const greet = await expect(conn, 220, 'greeting');
    if (greet) return greet;
    conn.write(`HELO ${c.heloName ?? 'localhost'}\r\n`);
    const helo = await expect(conn, 250, 'HELO');
    if (helo) return helo;
    conn.write('QUIT\r\n');
    return ok();
  } finally {
    deadline.cancel();
    conn?.close();
  }
};
