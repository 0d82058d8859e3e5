/**
 * Signed cross-check messages between agents: HMAC-SHA256 with a shared secret.
 *
 * - A request is signed over its method, path, timestamp, nonce, the sender's node name
 *   (`x-keepwatch-from`) and the receiver it is meant for (`x-keepwatch-to`: the `HOST:PORT` the
 *   client addresses). A receiver accepts `to` only when it names itself (`receiverIdentities`),
 *   so a request captured on its way to one node is refused by every other node
 *   (`wrong-receiver`), and changing `to` breaks the signature.
 * - A response is signed over the request's nonce, its own timestamp, the responder's identity
 *   (the `to` it accepted) and the body: it answers that request from that node, nothing else.
 *
 * Stale messages (clock difference beyond the window) and replayed nonces are refused. The
 * secret never leaves this module's callers: it is not logged, exported or shown.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { formatIpv6, parseIpv4, parseIpv6 } from '../protocol/inet.js';

export const HEADER_TIMESTAMP = 'x-keepwatch-timestamp';
export const HEADER_NONCE = 'x-keepwatch-nonce';
export const HEADER_SIGNATURE = 'x-keepwatch-signature';
/** The sender's node name (router_id or host name), signed. */
export const HEADER_FROM = 'x-keepwatch-from';
/** The receiver the request is meant for: the `HOST:PORT` the client addresses, signed. */
export const HEADER_TO = 'x-keepwatch-to';

import { REJECT_REASONS, type RejectReason } from '../events/guard.js';

export { REJECT_REASONS, type RejectReason };

export type Verification = { readonly ok: true } | { readonly ok: false; readonly reason: RejectReason };

/** A node name as it travels in `x-keepwatch-from`: 1-64 characters of [A-Za-z0-9._:-]. */
const NODE_NAME_RE = /^[A-Za-z0-9._:-]{1,64}$/;
/** Longest `x-keepwatch-to` we look at: a 253-character DNS name, a colon and a port. */
const MAX_ENDPOINT_CHARS = 260;

export function isNodeName(text: string): boolean {
  return NODE_NAME_RE.test(text);
}

/**
 * Our node name as we send it: any character outside [A-Za-z0-9._:-] becomes `-`, at most 64
 * characters (a router_id may hold anything keepalived accepts).
 */
export function nodeNameOf(text: string): string {
  const name = text.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 64);
  return name === '' ? 'unnamed' : name;
}

/**
 * One spelling per receiver: `a.b.c.d:PORT`, `[v6]:PORT` (RFC 5952 text, an IPv4-mapped IPv6
 * address as plain IPv4, no zone) or `name:PORT` in lower case. Undefined when `text` is not a
 * `HOST:PORT`.
 */
export function canonicalEndpoint(text: string): string | undefined {
  if (text.length > MAX_ENDPOINT_CHARS) return undefined;
  const m = /^(?:\[([0-9A-Fa-f:.]+)(?:%[A-Za-z0-9._-]+)?\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return endpoint(m[1] ?? m[2]!, port);
}

/** `HOST:PORT` for a host (an address as the socket reports it, or a name) and a port. */
export function endpoint(host: string, port: number): string | undefined {
  const bare = host.replace(/%.*$/, '');
  if (parseIpv4(bare)) return `${bare}:${port}`;
  const v6 = parseIpv6(bare);
  if (v6) {
    const text = formatIpv6(v6);
    return text.startsWith('::ffff:') && text.includes('.') ? `${text.slice(7)}:${port}` : `[${text}]:${port}`;
  }
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(host)) return undefined;
  return `${host.toLowerCase()}:${port}`;
}

/**
 * Every `HOST:PORT` a receiver answers to: the socket's local address and port (what a client
 * addressed by IP reached), and its node name and host name at that port (a client that
 * addresses it by name).
 */
export function receiverIdentities(local: { readonly address: string; readonly port: number }, nodeName: string, hostName: string): Set<string> {
  const out = new Set<string>();
  for (const host of [local.address, nodeName, hostName]) {
    const e = endpoint(host, local.port);
    if (e) out.add(e);
  }
  return out;
}

export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

function mac(secret: Buffer, parts: readonly string[]): string {
  const h = createHmac('sha256', secret);
  for (const p of parts) h.update(p).update('\n');
  return h.digest('hex');
}

function equalHex(a: string, b: string): boolean {
  if (a.length !== b.length || !/^[0-9a-f]+$/.test(a)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/** Who sends a request and whom it is for (`x-keepwatch-from`, `x-keepwatch-to`). */
export interface RequestIdentity {
  readonly from: string;
  readonly to: string;
}

const ANONYMOUS: RequestIdentity = { from: '', to: '' };

/**
 * The request signature. A receiver refuses one without `from` and `to` (verifyRequest with
 * `receiver`); signing without them is only good for the building-block tests.
 */
export function signRequest(secret: Buffer, method: string, path: string, timestampMs: number, nonce: string, id: RequestIdentity = ANONYMOUS): string {
  return mac(secret, ['req', method, path, String(timestampMs), nonce, id.from, id.to]);
}

/** The response signature: over the request's nonce, the responder's identity (the `to` it accepted) and the body. */
export function signResponse(secret: Buffer, body: string, requestNonce: string, timestampMs: number, responder = ''): string {
  return mac(secret, ['res', requestNonce, String(timestampMs), responder, body]);
}

/** Most nonces remembered at once (a peer polls a few times a second; this is minutes of them). */
export const REPLAY_CACHE_MAX = 16_384;

/**
 * Remembers the nonces of accepted requests for the acceptance window, so a captured message can't
 * be played again. Bounded: entries leave when their timestamp is out of the window (a replay
 * would be stale anyway); when full, the oldest leaves and no request as old as it is accepted
 * any more, so an evicted nonce can't come back.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  /** Requests stamped at or before this are refused (they may be evicted nonces). */
  private floorTs = -Infinity;

  constructor(
    private readonly windowMs: number,
    private readonly max = REPLAY_CACHE_MAX,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  /** True if the nonce is new (and records it). `timestampMs`: the request's own stamp. */
  remember(nonce: string, timestampMs: number, nowMs: number): boolean {
    if (this.seen.has(nonce) || timestampMs <= this.floorTs) return false;
    if (this.seen.size >= this.max || this.seen.size % 256 === 255) {
      for (const [n, ts] of this.seen) if (nowMs - ts > this.windowMs) this.seen.delete(n);
    }
    while (this.seen.size >= this.max) {
      const [n, ts] = this.seen.entries().next().value!;
      this.seen.delete(n);
      this.floorTs = Math.max(this.floorTs, ts);
      if (timestampMs <= this.floorTs) return false;
    }
    this.seen.set(nonce, timestampMs);
    return true;
  }
}

export interface SignedParts {
  readonly timestamp?: string;
  readonly nonce?: string;
  readonly signature?: string;
  readonly from?: string;
  readonly to?: string;
}

/**
 * Checks a request: signed (over method, path, timestamp, nonce, from, to), fresh (`windowMs`:
 * accepted clock difference), new (nonce), and — when `receiver` is given, as the endpoint always
 * does — sent by a named node (`from`) to this node (`receiver(canonical to)`).
 * Order: unsigned, malformed, bad-signature, stale, wrong-receiver, replayed.
 */
export function verifyRequest(
  secret: Buffer | undefined,
  method: string,
  path: string,
  parts: SignedParts,
  nowMs: number,
  windowMs: number,
  replay: ReplayCache,
  receiver?: (to: string) => boolean,
): Verification {
  if (!secret) return { ok: false, reason: 'no-secret' };
  if (!parts.signature || !parts.timestamp || !parts.nonce) return { ok: false, reason: 'unsigned' };
  const ts = Number(parts.timestamp);
  if (!/^\d{1,16}$/.test(parts.timestamp) || !/^[0-9a-f]{16,64}$/.test(parts.nonce)) return { ok: false, reason: 'malformed' };
  if (receiver && (parts.from === undefined || !isNodeName(parts.from))) return { ok: false, reason: 'malformed' };
  if (parts.to !== undefined && parts.to.length > MAX_ENDPOINT_CHARS) return { ok: false, reason: 'malformed' };
  const id = { from: parts.from ?? '', to: parts.to ?? '' };
  if (!equalHex(parts.signature, signRequest(secret, method, path, ts, parts.nonce, id))) return { ok: false, reason: 'bad-signature' };
  if (Math.abs(nowMs - ts) > windowMs) return { ok: false, reason: 'stale' };
  if (receiver) {
    const to = parts.to === undefined ? undefined : canonicalEndpoint(parts.to);
    if (to === undefined || !receiver(to)) return { ok: false, reason: 'wrong-receiver' };
  }
  if (!replay.remember(parts.nonce, ts, nowMs)) return { ok: false, reason: 'replayed' };
  return { ok: true };
}

/** Checks a response: signed over our request's nonce, by the responder we addressed (`responder`), fresh. */
export function verifyResponse(secret: Buffer, body: string, requestNonce: string, parts: SignedParts, nowMs: number, windowMs: number, responder = ''): Verification {
  if (!parts.signature || !parts.timestamp) return { ok: false, reason: 'unsigned' };
  if (!/^\d{1,16}$/.test(parts.timestamp)) return { ok: false, reason: 'malformed' };
  const ts = Number(parts.timestamp);
  if (!equalHex(parts.signature, signResponse(secret, body, requestNonce, ts, responder))) return { ok: false, reason: 'bad-signature' };
  if (Math.abs(nowMs - ts) > windowMs) return { ok: false, reason: 'stale' };
  return { ok: true };
}
