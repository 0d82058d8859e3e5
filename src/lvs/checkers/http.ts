/**
 * HTTP_GET and SSL_GET (keepalived/check/check_http.c): for each `url`, one connection (TLS for
 * SSL_GET, with SNI when `enable_sni`), `GET path` with the virtualhost as Host; the status must be
 * in `status_code` (default 200-299), with `digest` the MD5 of the body must match, and with
 * `regex` the body must match it (or not: `regex_no_match`; regex.ts bounds its CPU). Every url
 * must pass. Bounded: the status line and headers to LINE_CAP_BYTES, the body (read only for a
 * digest or a regex) to BODY_CAP_BYTES, the whole exchange to connect_timeout (keepalived bounds each read by
 * it; keepwatch bounds the whole of each url's exchange, so a server that trickles is cut).
 */
import { createHash } from 'node:crypto';
import { judgeRegex } from './regex.js';
import type { HttpUrlConfig, LvsCheckerConfig } from '../../config/model.js';
import type { StreamConnection } from '../../ports/index.js';
import { BODY_CAP_BYTES, Deadline, LINE_CAP_BYTES, connectOptions, connectWithin, destination, fail, latin1, ok, readUntil, type CheckContext, type CheckOutcome, type CheckTarget, type Checker } from './common.js';

const HEADER_END = /\r?\n\r?\n/;

/** The request keepalived sends (check_http.c REQUEST_TEMPLATE*), with `Connection: close`. */
export function httpRequest(c: LvsCheckerConfig, url: HttpUrlConfig, host: string, port: number, defaultPort: number): string {
  const vhost = url.virtualhost ?? c.virtualhost;
  const hostHeader = vhost ?? (host.includes(':') ? `[${host}]` : host) + (port === defaultPort ? '' : `:${port}`);
  const version = c.httpProtocol === '1.1' ? '1.1' : '1.0';
  const conn = c.httpProtocol === '1.0' ? '' : 'Connection: close\r\n';
  return `GET ${url.path} HTTP/${version}\r\nUser-Agent: KeepAliveClient\r\nHost: ${hostHeader}\r\n${conn}\r\n`;
}

export interface ParsedHead {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly bodyStart: number;
}

/** The status line and headers of a response, or undefined when they are not HTTP. */
export function parseHead(buf: Uint8Array): ParsedHead | undefined {
  const text = latin1(buf);
  const m = HEADER_END.exec(text);
  if (!m) return undefined;
  const lines = text.slice(0, m.index).split(/\r?\n/);
  const status = /^HTTP\/\d\.\d (\d{3})(?: |$)/.exec(lines[0] ?? '');
  if (!status) return undefined;
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  return { status: Number(status[1]), headers, bodyStart: m.index + m[0].length };
}

/** A chunked body decoded; undefined while incomplete or malformed (`bad` then says so). */
export function dechunk(body: Uint8Array): { done: boolean; bad: boolean; data: Uint8Array } {
  const parts: Uint8Array[] = [];
  let i = 0;
  for (;;) {
    let eol = -1;
    for (let k = i; k + 1 < body.length; k++) if (body[k] === 13 && body[k + 1] === 10) { eol = k; break; }
    if (eol < 0) return { done: false, bad: false, data: new Uint8Array(0) };
    const sizeText = latin1(body.subarray(i, eol)).split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return { done: false, bad: true, data: new Uint8Array(0) };
    const size = parseInt(sizeText, 16);
    const start = eol + 2;
    if (size === 0) return { done: true, bad: false, data: joinParts(parts) };
    if (start + size + 2 > body.length) return { done: false, bad: false, data: new Uint8Array(0) };
    parts.push(body.subarray(start, start + size));
    i = start + size + 2;
  }
}

function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export const statusAccepted = (status: number, ranges: readonly (readonly [number, number])[]): boolean => ranges.some(([lo, hi]) => status >= lo && status <= hi);

async function checkUrl(c: LvsCheckerConfig, url: HttpUrlConfig, host: string, port: number, ctx: CheckContext): Promise<CheckOutcome> {
  const tls = c.kind === 'SSL_GET';
  const servername = tls && c.enableSni ? url.virtualhost ?? c.virtualhost : undefined;
  const deadline = new Deadline(ctx.clock, c.connectTimeoutMs);
  let conn: StreamConnection | undefined;
  try {
    const r = await connectWithin(ctx.probes, connectOptions(c, host, port, tls ? (servername ? { servername } : {}) : undefined), deadline);
    if (!r.ok) return r.outcome;
    conn = r.connection;
    conn.write(httpRequest(c, url, host, port, tls ? 443 : 80));
    const head = await readUntil(conn, deadline, LINE_CAP_BYTES, (b, from) => HEADER_END.test(latin1(b.subarray(Math.max(0, from - 3)))));
    if (!head.ok) return head.outcome.result === 'too-large' ? fail('bad-reply', `response headers over ${LINE_CAP_BYTES} bytes`) : head.outcome;
    const parsed = parseHead(head.data);
    if (!parsed) return fail('bad-reply', head.data.length === 0 ? 'connection closed without a response' : 'not an HTTP response');
    if (!statusAccepted(parsed.status, url.statusCodes)) return fail('bad-status', `${url.path}: status ${parsed.status}`);
    if (url.digest === undefined && url.regex === undefined) return ok(`status ${parsed.status}`);
    // The body, for the digest: up to Content-Length, the last chunk, or the end of the stream.
    const first = head.data.subarray(parsed.bodyStart);
    const length = parsed.headers.has('content-length') ? Number(parsed.headers.get('content-length')) : undefined;
    const chunked = /chunked/i.test(parsed.headers.get('transfer-encoding') ?? '');
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) return fail('bad-reply', 'invalid Content-Length');
    if (length !== undefined && length > BODY_CAP_BYTES) return fail('too-large', `body of ${length} bytes over the ${BODY_CAP_BYTES}-byte cap`);
    let body: Uint8Array;
    // Complete: Content-Length bytes; for a chunked body, once the last chunk's CRLF CRLF may have
    // come (decoding is tried only then: linear however the body is cut); else the end of the stream.
    const lastChunkMayEnd = (b: Uint8Array, from: number): boolean => latin1(b.subarray(Math.max(0, from - 4))).includes('\r\n\r\n') || latin1(b.subarray(0, 5)) === '0\r\n\r\n';
    const enough = (b: Uint8Array, from: number): boolean => {
      if (length !== undefined) return b.length >= length;
      if (!chunked || !lastChunkMayEnd(b, from)) return false;
      const d = dechunk(b);
      return d.done || d.bad;
    };
    if (enough(first, 0)) body = first;
    else {
      const rest = await readUntil(conn, deadline, BODY_CAP_BYTES + LINE_CAP_BYTES - first.length, (b, from) =>
        length !== undefined ? first.length + b.length >= length : chunked && lastChunkMayEnd(b, from) && enough(concat2(first, b), first.length + from));
      if (!rest.ok) return rest.outcome;
      body = concat2(first, rest.data);
      if (rest.ended && length !== undefined && body.length < length) return fail('bad-reply', `body ended after ${body.length} of ${length} bytes`);
    }
    if (chunked) {
      const d = dechunk(body);
      if (!d.done) return fail('bad-reply', 'malformed chunked body');
      body = d.data;
    } else if (length !== undefined) body = body.subarray(0, length);
    if (body.length > BODY_CAP_BYTES) return fail('too-large', `body over ${BODY_CAP_BYTES} bytes`);
    if (url.digest !== undefined) {
      const md5 = createHash('md5').update(body).digest('hex');
      if (md5 !== url.digest) return fail('bad-digest', `${url.path}: digest ${md5}, expected ${url.digest}`);
    }
    if (url.regex) {
      const v = judgeRegex(url.regex, latin1(body));
      if (!v.ok) return fail('bad-reply', `${url.path}: ${v.detail}`);
    }
    return ok(`status ${parsed.status}${url.digest !== undefined ? ', digest ok' : ''}${url.regex ? ', regex ok' : ''}`);
  } finally {
    deadline.cancel();
    conn?.close();
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export const httpCheck: Checker = async (c: LvsCheckerConfig, t: CheckTarget, ctx: CheckContext) => {
  const { host, port } = destination(c, t);
  if (port === undefined) return fail('error', 'no port to connect to (set connect_port)');
  let last: CheckOutcome = ok();
  for (const url of c.urls ?? []) {
    last = await checkUrl(c, url, host, port, ctx);
    if (last.result !== 'ok') return last;
  }
  return last;
};
