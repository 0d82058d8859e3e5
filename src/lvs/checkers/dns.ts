/**
 * DNS_CHECK (keepalived/check/check_dns.c): one UDP query (`type`, default SOA, for `name`,
 * default `.`, recursion desired) to the real server (port 53 when it has none); the reply must
 * carry our id, be a response (QR), and have no error (RCODE 0) — keepalived's test (check_dns.c
 * dns_recv_thread); answer records are not required (a referral passes, as with keepalived).
 */
import { fail, fromFailure, ok, destination, type Checker } from './common.js';

export const DNS_TYPE_CODES: Readonly<Record<string, number>> = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28, RRSIG: 46, DNSKEY: 48 };
/** A DNS reply is read up to this (EDNS0's common size). */
export const DNS_REPLY_CAP = 4096;

/** The query message (RFC 1035 §4.1): header, one question, class IN. */
export function dnsQuery(id: number, name: string, type: number): Uint8Array {
  const labels = name === '.' ? [] : name.replace(/\.$/, '').split('.');
  const qname: number[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'latin1');
    if (b.length === 0 || b.length > 63) throw new RangeError(`bad DNS label in '${name}'`);
    qname.push(b.length, ...b);
  }
  qname.push(0);
  return Uint8Array.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...qname, type >> 8, type & 0xff, 0, 1]);
}

export type DnsVerdict = { readonly ok: true } | { readonly ok: false; readonly detail: string };

export function judgeDnsReply(reply: Uint8Array, id: number): DnsVerdict {
  if (reply.length < 12) return { ok: false, detail: `reply of ${reply.length} bytes is shorter than a DNS header` };
  if (((reply[0]! << 8) | reply[1]!) !== id) return { ok: false, detail: 'reply id does not match the query' };
  if (!(reply[2]! & 0x80)) return { ok: false, detail: 'not a response (QR 0)' };
  const rcode = reply[3]! & 0x0f;
  if (rcode !== 0) return { ok: false, detail: `RCODE ${rcode}` };
  return { ok: true };
}

export const dnsCheck: Checker = async (c, t, ctx) => {
  const { host } = destination(c, t);
  const port = c.connectPort ?? t.port ?? 53;
  const id = Math.floor(ctx.clock.now() * 7919) & 0xffff;
  let query: Uint8Array;
  try {
    query = dnsQuery(id, c.dnsName ?? '.', DNS_TYPE_CODES[c.dnsType ?? 'SOA'] ?? 6);
  } catch (e) {
    return fail('error', (e as Error).message);
  }
  const r = await ctx.probes.datagram({ host, port, payload: query, timeoutMs: c.connectTimeoutMs, maxReplyBytes: DNS_REPLY_CAP, ...(c.bindTo ? { bindAddress: c.bindTo } : {}), ...(c.bindPort ? { bindPort: c.bindPort } : {}) });
  if (!r.ok) return fromFailure(r);
  const v = judgeDnsReply(r.reply, id);
  return v.ok ? ok() : fail('bad-reply', v.detail);
};
