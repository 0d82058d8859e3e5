/**
 * The peer cross-check over HTTP: `GET /v1/guard` on another agent, signed both ways
 * (signing.ts). An unsigned, forged, stale or replayed message is refused and counted; it never
 * reaches the guard's decisions. The answer lists the peer's instances (state, priority, VIPs).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, ReplayCache, newNonce, signRequest, signResponse, verifyRequest, verifyResponse, type RejectReason } from './signing.js';
import type { GuardPeer } from './config.js';
import type { PeerClient, PeerInstance } from './guard.js';

export const GUARD_PATH = '/v1/guard';

export class PeerRejected extends Error {
  override readonly name = 'PeerRejected';
  constructor(readonly reason: RejectReason, message: string) {
    super(message);
  }
}

function header(h: IncomingHttpHeaders | Headers, name: string): string | undefined {
  if (h instanceof Headers) return h.get(name) ?? undefined;
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Validates the shape of a peer's answer; anything else is `malformed`. */
export function parsePeerView(body: string): PeerInstance[] | undefined {
  let j: unknown;
  try {
    j = JSON.parse(body);
  } catch {
    return undefined;
  }
  const list = (j as { instances?: unknown })?.instances;
  if (!Array.isArray(list) || list.length > 1024) return undefined;
  const out: PeerInstance[] = [];
  for (const x of list as Record<string, unknown>[]) {
    if (typeof x !== 'object' || x === null) return undefined;
    const { name, vrid, family, state, priority, address, vips, held, conflict, witnessUp } = x;
    if (typeof name !== 'string' || typeof vrid !== 'number' || typeof family !== 'string' || typeof state !== 'string' || typeof priority !== 'number') return undefined;
    if (!Array.isArray(vips) || !vips.every((v) => typeof v === 'string') || typeof held !== 'boolean') return undefined;
    out.push({ name, vrid, family, state, priority, ...(typeof address === 'string' ? { address } : {}), vips: vips as string[], held, conflict: conflict === true, ...(typeof witnessUp === 'boolean' ? { witnessUp } : {}) });
  }
  return out;
}

export function createPeerClient(secret: Buffer, windowMs: number, onRejected: (reason: RejectReason, from: string) => void): PeerClient {
  return {
    async fetch(peer: GuardPeer, timeoutMs: number): Promise<PeerInstance[]> {
      const name = `${peer.host}:${peer.port}`;
      const ts = Date.now();
      const nonce = newNonce();
      const host = peer.host.includes(':') ? `[${peer.host}]` : peer.host;
      const res = await fetch(`http://${host}:${peer.port}${GUARD_PATH}`, {
        headers: { [HEADER_TIMESTAMP]: String(ts), [HEADER_NONCE]: nonce, [HEADER_SIGNATURE]: signRequest(secret, 'GET', GUARD_PATH, ts, nonce) },
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${name} answered ${res.status}: ${body.slice(0, 200)}`);
      const v = verifyResponse(secret, body, nonce, { timestamp: header(res.headers, HEADER_TIMESTAMP), signature: header(res.headers, HEADER_SIGNATURE) }, Date.now(), windowMs);
      if (!v.ok) {
        onRejected(v.reason, name);
        throw new PeerRejected(v.reason, `${name}: answer refused (${v.reason})`);
      }
      const view = parsePeerView(body);
      if (!view) {
        onRejected('malformed', name);
        throw new PeerRejected('malformed', `${name}: malformed answer`);
      }
      return view;
    },
  };
}

export interface GuardEndpoint {
  handle(method: string, path: string, headers: IncomingHttpHeaders, from: string): { status: number; headers: Record<string, string>; body: string };
}

/** The server side of the cross-check. */
export function createGuardEndpoint(secret: Buffer | undefined, windowMs: number, view: () => PeerInstance[], onRejected: (reason: RejectReason, from: string) => void, node: string): GuardEndpoint {
  const replay = new ReplayCache(windowMs);
  return {
    handle(method, path, headers, from): { status: number; headers: Record<string, string>; body: string } {
      const parts = { timestamp: header(headers, HEADER_TIMESTAMP), nonce: header(headers, HEADER_NONCE), signature: header(headers, HEADER_SIGNATURE) };
      const v = verifyRequest(secret, method, path, parts, Date.now(), windowMs, replay);
      if (!v.ok) {
        onRejected(v.reason, from);
        const status = v.reason === 'no-secret' ? 404 : 401;
        return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: v.reason === 'no-secret' ? 'the peer cross-check is not configured on this agent (guard secret_file)' : `refused: ${v.reason}` }) };
      }
      const body = JSON.stringify({ node, time: new Date().toISOString(), instances: view() });
      const ts = Date.now();
      return { status: 200, headers: { 'content-type': 'application/json', [HEADER_TIMESTAMP]: String(ts), [HEADER_SIGNATURE]: signResponse(secret!, body, parts.nonce!, ts) }, body };
    },
  };
}
