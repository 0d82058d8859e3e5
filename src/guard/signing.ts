/**
 * Signed cross-check messages between agents: HMAC-SHA256 with a shared secret over the method,
 * path, timestamp and nonce (requests) or over the body, the request nonce and a timestamp
 * (responses). Stale messages (clock skew beyond the window) and replayed nonces are refused.
 * The secret never leaves this module's callers: it is not logged, exported or shown.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const HEADER_TIMESTAMP = 'x-keepwatch-timestamp';
export const HEADER_NONCE = 'x-keepwatch-nonce';
export const HEADER_SIGNATURE = 'x-keepwatch-signature';

export const REJECT_REASONS = ['unsigned', 'bad-signature', 'stale', 'replayed', 'malformed', 'no-secret'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type Verification = { readonly ok: true } | { readonly ok: false; readonly reason: RejectReason };

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

export function signRequest(secret: Buffer, method: string, path: string, timestampMs: number, nonce: string): string {
  return mac(secret, ['req', method, path, String(timestampMs), nonce]);
}

export function signResponse(secret: Buffer, body: string, requestNonce: string, timestampMs: number): string {
  return mac(secret, ['res', requestNonce, String(timestampMs), body]);
}

/** Remembers nonces for the acceptance window, so a captured message can't be played again. */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs: number) {}

  /** True if the nonce is new (and records it). */
  remember(nonce: string, nowMs: number): boolean {
    if (this.seen.size > 10_000 || this.seen.size % 256 === 0) for (const [n, t] of this.seen) if (nowMs - t > 2 * this.windowMs) this.seen.delete(n);
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, nowMs);
    return true;
  }
}

export interface SignedParts {
  readonly timestamp?: string;
  readonly nonce?: string;
  readonly signature?: string;
}

/**
 * Checks a request's signature, freshness and nonce. `windowMs`: accepted clock difference.
 */
export function verifyRequest(secret: Buffer | undefined, method: string, path: string, parts: SignedParts, nowMs: number, windowMs: number, replay: ReplayCache): Verification {
  if (!secret) return { ok: false, reason: 'no-secret' };
  if (!parts.signature || !parts.timestamp || !parts.nonce) return { ok: false, reason: 'unsigned' };
  const ts = Number(parts.timestamp);
  if (!Number.isFinite(ts) || !/^[0-9a-f]{16,64}$/.test(parts.nonce)) return { ok: false, reason: 'malformed' };
  if (!equalHex(parts.signature, signRequest(secret, method, path, ts, parts.nonce))) return { ok: false, reason: 'bad-signature' };
  if (Math.abs(nowMs - ts) > windowMs) return { ok: false, reason: 'stale' };
  if (!replay.remember(parts.nonce, nowMs)) return { ok: false, reason: 'replayed' };
  return { ok: true };
}

/** Checks a response: signed over our request's nonce, fresh. */
export function verifyResponse(secret: Buffer, body: string, requestNonce: string, parts: SignedParts, nowMs: number, windowMs: number): Verification {
  if (!parts.signature || !parts.timestamp) return { ok: false, reason: 'unsigned' };
  const ts = Number(parts.timestamp);
  if (!Number.isFinite(ts)) return { ok: false, reason: 'malformed' };
  if (!equalHex(parts.signature, signResponse(secret, body, requestNonce, ts))) return { ok: false, reason: 'bad-signature' };
  if (Math.abs(nowMs - ts) > windowMs) return { ok: false, reason: 'stale' };
  return { ok: true };
}
