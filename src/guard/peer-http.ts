/**
 * The peer cross-check over HTTP: `GET /v1/guard` on another agent, signed both ways
 * (signing.ts), sender and receiver named in the signature. An unsigned, forged, stale, replayed
 * or misaddressed message is refused and counted; it never reaches the guard's decisions. The
 * answer lists the peer's instances (state, priority, VIPs, the MAC it speaks from).
 *
 * The client trusts nothing before the signature: no redirects (a 3xx is refused, never followed
 * with our signed headers), at most `maxBodyBytes` read (Content-Length first, then the stream,
 * cut beyond the cap), one deadline for headers and body (a trickling peer is cut at it), the
 * signature checked before the body is parsed, and the body validated field by field
 * (`parsePeerView`, which never throws). Whatever fails is a `PeerRejected` or an `Error`, thrown
 * to the one caller (the guard's poll), which counts the peer as down.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { hostname } from 'node:os';
import {
  HEADER_FROM,
  HEADER_NONCE,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  HEADER_TO,
  ReplayCache,
  canonicalEndpoint,
  endpoint,
  newNonce,
  nodeNameOf,
  receiverIdentities,
  signRequest,
  signResponse,
  verifyRequest,
  verifyResponse,
  type RejectReason,
} from './signing.js';
import type { GuardPeer } from './config.js';
import type { PeerClient, PeerInstance } from './detectors.js';
import { parseIpv4, parseIpv6, parseMac, type IpFamily } from '../protocol/inet.js';
import { VRRP_STATES } from '../events/index.js';

export const GUARD_PATH = '/v1/guard';

/** Largest cross-check answer read (255 instances with a few VIPs each are ~60 KiB). */
export const MAX_PEER_BODY_BYTES = 256 * 1024;

/** Bounds of a cross-check answer; anything beyond is `malformed`. */
export const PEER_VIEW_LIMITS = { instances: 1024, nameChars: 128, vips: 256 } as const;

export class PeerRejected extends Error {
  override readonly name = 'PeerRejected';
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
  }
}

function header(h: IncomingHttpHeaders | Headers, name: string): string | undefined {
  if (h instanceof Headers) return h.get(name) ?? undefined;
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export type PeerViewResult = { readonly ok: true; readonly instances: PeerInstance[] } | { readonly ok: false; readonly error: string };

const FAMILIES: readonly string[] = ['ipv4', 'ipv6'] satisfies readonly IpFamily[];
const STATES: readonly string[] = VRRP_STATES;
// C0, DEL, C1, and the Unicode line/paragraph separators: nothing that can break a log line.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

function isIpOf(family: string, v: unknown): v is string {
  return typeof v === 'string' && v.length <= 45 && (family === 'ipv4' ? parseIpv4(v) : parseIpv6(v)) !== undefined;
}

/** A MAC as we write them (lower case, colons), unicast and not all-zero: one a host can own. */
export function isUnicastMac(v: unknown): v is string {
  if (typeof v !== 'string' || !/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/.test(v)) return false;
  const b = parseMac(v)!;
  return (b[0]! & 1) === 0 && b.some((x) => x !== 0);
}

/** Own properties only: `__proto__`, `constructor` and friends in the JSON are just keys we ignore. */
function own(o: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? (o as Record<string, unknown>)[key] : undefined;
}

/**
 * Validates a peer's answer field by field. Never throws; the error names the field and the
 * instance index (never echoes the peer's strings).
 */
export function parsePeerView(body: string): PeerViewResult {
  let j: unknown;
  try {
    j = JSON.parse(body);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) return { ok: false, error: 'not a JSON object' };
  const list = own(j, 'instances');
  if (!Array.isArray(list)) return { ok: false, error: "no 'instances' array" };
  if (list.length > PEER_VIEW_LIMITS.instances) return { ok: false, error: `${list.length} instances (at most ${PEER_VIEW_LIMITS.instances})` };
  const out: PeerInstance[] = [];
  for (let i = 0; i < list.length; i++) {
    const x: unknown = list[i];
    const bad = (what: string): PeerViewResult => ({ ok: false, error: `instance ${i}: ${what}` });
    if (typeof x !== 'object' || x === null || Array.isArray(x)) return bad('not an object');
    const name = own(x, 'name');
    const vrid = own(x, 'vrid');
    const family = own(x, 'family');
    const state = own(x, 'state');
    const priority = own(x, 'priority');
    const address = own(x, 'address');
    const mac = own(x, 'mac');
    const vips = own(x, 'vips');
    const held = own(x, 'held');
    const conflict = own(x, 'conflict');
    const witnessUp = own(x, 'witnessUp');
    if (typeof name !== 'string' || name.length < 1 || name.length > PEER_VIEW_LIMITS.nameChars || CONTROL_RE.test(name)) return bad(`name must be 1-${PEER_VIEW_LIMITS.nameChars} characters without control characters`);
    if (!isInt(vrid, 1, 255)) return bad('vrid must be an integer 1-255');
    if (typeof family !== 'string' || !FAMILIES.includes(family)) return bad("family must be 'ipv4' or 'ipv6'");
    if (typeof state !== 'string' || !STATES.includes(state)) return bad(`state must be one of ${STATES.join(', ')}`);
    if (!isInt(priority, 0, 255)) return bad(typeof priority === 'number' && Number.isFinite(priority) ? `priority ${priority} is not an integer 0-255` : 'priority must be an integer 0-255');
    if (address !== undefined && !isIpOf(family, address)) return bad(`address is not an ${family} address`);
    if (mac !== undefined && !isUnicastMac(mac)) return bad('mac must be a lower-case unicast MAC xx:xx:xx:xx:xx:xx');
    if (!Array.isArray(vips) || vips.length > PEER_VIEW_LIMITS.vips) return bad(`vips must be an array of at most ${PEER_VIEW_LIMITS.vips} addresses`);
    for (let k = 0; k < vips.length; k++) if (!isIpOf(family, vips[k])) return bad(`vips[${k}] is not an ${family} address`);
    if (typeof held !== 'boolean') return bad('held must be a boolean');
    if (typeof conflict !== 'boolean') return bad('conflict must be a boolean');
    if (witnessUp !== undefined && typeof witnessUp !== 'boolean') return bad('witnessUp must be a boolean');
    out.push({
      name,
      vrid,
      family,
      state,
      priority,
      ...(address !== undefined ? { address } : {}),
      ...(mac !== undefined ? { mac } : {}),
      vips: [...(vips as string[])],
      held,
      conflict,
      ...(witnessUp !== undefined ? { witnessUp } : {}),
    });
  }
  return { ok: true, instances: out };
}

/** What was read of a body: its bytes, or `tooLarge` (then the connection was torn down). */
type Read = { readonly bytes: Buffer; readonly tooLarge: false } | { readonly tooLarge: true; readonly declared?: number };

/**
 * Reads at most `cap` bytes of a response body. Content-Length is checked first; the stream is
 * cut (the request aborted) as soon as it goes beyond. `truncate` keeps the first `cap` bytes
 * instead of refusing (for error messages).
 */
async function readCapped(res: Response, cap: number, abort: AbortController, truncate = false): Promise<Read> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (!truncate && declared > cap) {
    abort.abort();
    return { tooLarge: true, declared };
  }
  if (!res.body) return { bytes: Buffer.alloc(0), tooLarge: false };
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.length > cap) {
      if (truncate) chunks.push(Buffer.from(value.subarray(0, cap - total)));
      abort.abort();
      return truncate ? { bytes: Buffer.concat(chunks), tooLarge: false } : { tooLarge: true };
    }
    total += value.length;
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.length));
  }
  return { bytes: Buffer.concat(chunks), tooLarge: false };
}

/** A peer's text as it may appear in our logs: printable, short. */
function printable(text: string, max = 200): string {
  return text.replace(new RegExp(CONTROL_RE.source, 'g'), '?').slice(0, max);
}

/**
 * The client side. `node`: our node name (router_id or host name), sent signed as
 * `x-keepwatch-from`.
 */
export function createPeerClient(secret: Buffer, windowMs: number, onRejected: (reason: RejectReason, from: string) => void, node: string, maxBodyBytes = MAX_PEER_BODY_BYTES): PeerClient {
  const from = nodeNameOf(node);
  return {
    async fetch(peer: GuardPeer, timeoutMs: number): Promise<PeerInstance[]> {
      const name = `${peer.host}:${peer.port}`;
      const to = endpoint(peer.host, peer.port) ?? name;
      const reject = (reason: RejectReason, why: string): never => {
        onRejected(reason, name);
        throw new PeerRejected(reason, `${name}: answer refused (${reason}): ${why}`);
      };
      const ts = Date.now();
      const nonce = newNonce();
      const host = peer.host.includes(':') ? `[${peer.host}]` : peer.host;
      // One deadline for the connection, the headers and the whole body.
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), timeoutMs);
      let body: string;
      try {
        const res = await fetch(`http://${host}:${peer.port}${GUARD_PATH}`, {
          headers: {
            [HEADER_TIMESTAMP]: String(ts),
            [HEADER_NONCE]: nonce,
            [HEADER_FROM]: from,
            [HEADER_TO]: to,
            [HEADER_SIGNATURE]: signRequest(secret, 'GET', GUARD_PATH, ts, nonce, { from, to }),
            'accept-encoding': 'identity',
          },
          redirect: 'manual',
          signal: abort.signal,
        });
        if (res.status >= 300 && res.status < 400) {
          abort.abort();
          return reject('malformed', `a redirect (${res.status}), not followed`);
        }
        if (res.status !== 200) {
          const r = await readCapped(res, 1024, abort, true);
          throw new Error(`${name} answered ${res.status}: ${r.tooLarge ? '' : printable(r.bytes.toString('utf8'))}`);
        }
        const r = await readCapped(res, maxBodyBytes, abort);
        if (r.tooLarge) return reject('malformed', `the answer is larger than ${maxBodyBytes} bytes${r.declared !== undefined ? ` (Content-Length ${r.declared})` : ''}; not read`);
        body = new TextDecoder().decode(r.bytes);
        const v = verifyResponse(secret, body, nonce, { timestamp: header(res.headers, HEADER_TIMESTAMP), signature: header(res.headers, HEADER_SIGNATURE) }, Date.now(), windowMs, to);
        if (!v.ok) return reject(v.reason, 'signature check');
      } catch (err) {
        if (err instanceof PeerRejected) throw err;
        if (abort.signal.aborted) throw new Error(`${name}: no complete answer within ${timeoutMs} ms`);
        throw err;
      } finally {
        clearTimeout(timer);
      }
      const view = parsePeerView(body);
      if (!view.ok) return reject('malformed', view.error);
      return view.instances;
    },
  };
}

/** A cross-check request as the HTTP server hands it over. */
export interface GuardRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The client's address (for logs and metrics). */
  readonly remoteAddress: string;
  /** The socket's local address and port: what the client reached. */
  readonly localAddress: string;
  readonly localPort: number;
}

export interface GuardAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The signed sender's node name, when the request was accepted. */
  readonly peer?: string;
}

export interface GuardEndpoint {
  handle(req: GuardRequest): GuardAnswer;
}

/**
 * The server side of the cross-check. `node`: our node name; with the host name and the socket's
 * local address, the identities a request's `to` may name (receiverIdentities).
 */
export function createGuardEndpoint(
  secret: Buffer | undefined,
  windowMs: number,
  view: () => PeerInstance[],
  onRejected: (reason: RejectReason, from: string) => void,
  node: string,
  hostName: string = hostname(),
): GuardEndpoint {
  const replay = new ReplayCache(windowMs);
  const json = { 'content-type': 'application/json' };
  return {
    handle(req): GuardAnswer {
      const h = req.headers;
      const parts = { timestamp: header(h, HEADER_TIMESTAMP), nonce: header(h, HEADER_NONCE), signature: header(h, HEADER_SIGNATURE), from: header(h, HEADER_FROM), to: header(h, HEADER_TO) };
      const mine = receiverIdentities({ address: req.localAddress, port: req.localPort }, node, hostName);
      const v = verifyRequest(secret, req.method, req.path, parts, Date.now(), windowMs, replay, (to) => mine.has(to));
      if (!v.ok) {
        onRejected(v.reason, req.remoteAddress);
        const status = v.reason === 'no-secret' ? 404 : 401;
        return { status, headers: json, body: JSON.stringify({ error: v.reason === 'no-secret' ? 'the peer cross-check is not configured on this agent (guard secret_file)' : `refused: ${v.reason}` }) };
      }
      const responder = canonicalEndpoint(parts.to!)!;
      const body = JSON.stringify({ node, time: new Date().toISOString(), instances: view() });
      const ts = Date.now();
      return { status: 200, headers: { ...json, [HEADER_TIMESTAMP]: String(ts), [HEADER_SIGNATURE]: signResponse(secret!, body, parts.nonce!, ts, responder) }, body, peer: parts.from! };
    },
  };
}
