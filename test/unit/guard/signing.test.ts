/**
 * The guard's cross-check transport: signatures that name the sender and the receiver (a request
 * captured for one node is refused by another), the bounded replay cache, the strict validation of
 * a peer's answer, and the client against hostile peers on 127.0.0.1 (redirecting, huge, trickling,
 * lying): every one refused and counted, none read beyond its cap or its deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  HEADER_FROM,
  HEADER_NONCE,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  HEADER_TO,
  REJECT_REASONS,
  ReplayCache,
  canonicalEndpoint,
  isNodeName,
  newNonce,
  nodeNameOf,
  receiverIdentities,
  signRequest,
  signResponse,
  verifyRequest,
  verifyResponse,
  type RejectReason,
} from '../../../src/guard/signing.js';
import { GUARD_PATH, MAX_PEER_BODY_BYTES, PeerRejected, createGuardEndpoint, createPeerClient, isUnicastMac, parsePeerView, type GuardRequest } from '../../../src/guard/peer-http.js';
import type { PeerInstance } from '../../../src/guard/guard.js';

const SECRET = Buffer.from('0123456789abcdef0123456789abcdef');
const OTHER = Buffer.from('fedcba9876543210fedcba9876543210');
const NOW = 1_800_000_000_000;
const WINDOW = 30_000;

function signed(opts: { from?: string; to?: string; ts?: number; nonce?: string; secret?: Buffer; path?: string } = {}): Record<string, string> {
  const ts = opts.ts ?? NOW;
  const nonce = opts.nonce ?? newNonce();
  const from = opts.from ?? 'node2';
  const to = opts.to ?? '10.0.0.1:11200';
  return {
    [HEADER_TIMESTAMP]: String(ts),
    [HEADER_NONCE]: nonce,
    [HEADER_FROM]: from,
    [HEADER_TO]: to,
    [HEADER_SIGNATURE]: signRequest(opts.secret ?? SECRET, 'GET', opts.path ?? GUARD_PATH, ts, nonce, { from, to }),
  };
}

const partsOf = (h: Record<string, string>) => ({ timestamp: h[HEADER_TIMESTAMP], nonce: h[HEADER_NONCE], signature: h[HEADER_SIGNATURE], from: h[HEADER_FROM], to: h[HEADER_TO] });

test('request signatures name sender and receiver: accepted only by the node they are addressed to', () => {
  const replay = new ReplayCache(WINDOW);
  const mine = receiverIdentities({ address: '10.0.0.1', port: 11200 }, 'node1', 'host1');
  const isMine = (to: string) => mine.has(to);
  const verify = (h: Record<string, string>, at = NOW) => verifyRequest(SECRET, 'GET', GUARD_PATH, partsOf(h), at, WINDOW, replay, isMine);

  assert.deepEqual(verify(signed()), { ok: true });
  for (const to of ['node1:11200', 'host1:11200', 'NODE1:11200']) assert.deepEqual(verify(signed({ to })), { ok: true }, to);
  // Addressed to another node, another port, or to nobody.
  assert.deepEqual(verify(signed({ to: '10.0.0.2:11200' })), { ok: false, reason: 'wrong-receiver' });
  assert.deepEqual(verify(signed({ to: '10.0.0.1:9651' })), { ok: false, reason: 'wrong-receiver' });
  assert.deepEqual(verify(signed({ to: 'not an endpoint' })), { ok: false, reason: 'wrong-receiver' });
  const noTo = signed();
  delete noTo[HEADER_TO];
  assert.deepEqual(verify(noTo), { ok: false, reason: 'bad-signature' }, 'the signature covered a `to` that is gone');
  const anonymous = { [HEADER_TIMESTAMP]: String(NOW), [HEADER_NONCE]: newNonce(), [HEADER_FROM]: 'node2' } as Record<string, string>;
  anonymous[HEADER_SIGNATURE] = signRequest(SECRET, 'GET', GUARD_PATH, NOW, anonymous[HEADER_NONCE]!, { from: 'node2', to: '' });
  assert.deepEqual(verify(anonymous), { ok: false, reason: 'wrong-receiver' }, 'signed without a receiver: refused');
  // Rewriting `to` (or `from`) breaks the signature.
  const h = signed({ to: '10.0.0.2:11200' });
  assert.deepEqual(verify({ ...h, [HEADER_TO]: '10.0.0.1:11200' }), { ok: false, reason: 'bad-signature' });
  assert.deepEqual(verify({ ...signed(), [HEADER_FROM]: 'node3' }), { ok: false, reason: 'bad-signature' });
  // The sender must name itself, within bounds.
  const noFrom = signed();
  delete noFrom[HEADER_FROM];
  assert.deepEqual(verify(noFrom), { ok: false, reason: 'malformed' });
  assert.deepEqual(verify(signed({ from: 'x'.repeat(65) })), { ok: false, reason: 'malformed' });
  assert.deepEqual(verify(signed({ from: 'node 2' })), { ok: false, reason: 'malformed' });
  assert.deepEqual(verify({ ...signed(), [HEADER_TO]: `${'a'.repeat(300)}:11200` }), { ok: false, reason: 'malformed' });
  // The rest as before: forged, stale, replayed, garbled.
  assert.deepEqual(verify(signed({ secret: OTHER })), { ok: false, reason: 'bad-signature' });
  assert.deepEqual(verify(signed({ path: '/v1/state' })), { ok: false, reason: 'bad-signature' });
  assert.deepEqual(verify(signed({ ts: NOW - 31_000 })), { ok: false, reason: 'stale' });
  assert.deepEqual(verify({ ...signed(), [HEADER_TIMESTAMP]: '1e12' }), { ok: false, reason: 'malformed' });
  assert.deepEqual(verify({ ...signed(), [HEADER_NONCE]: 'zz' }), { ok: false, reason: 'malformed' });
  const once = signed();
  assert.deepEqual(verify(once), { ok: true });
  assert.deepEqual(verify(once), { ok: false, reason: 'replayed' });
  assert.deepEqual(verifyRequest(undefined, 'GET', GUARD_PATH, partsOf(signed()), NOW, WINDOW, replay, isMine), { ok: false, reason: 'no-secret' });
  assert.ok(REJECT_REASONS.includes('wrong-receiver'));
});

test('a signed request captured on its way to node A is refused by node B (and by A the second time)', () => {
  const endpointOf = (address: string, node: string) => {
    const rejected: RejectReason[] = [];
    const ep = createGuardEndpoint(SECRET, WINDOW, () => [], (reason) => rejected.push(reason), node, 'localhost');
    const handle = (headers: Record<string, string>): number => ep.handle({ method: 'GET', path: GUARD_PATH, headers, remoteAddress: '10.0.0.66', localAddress: address, localPort: 11200 }).status;
    return { handle, rejected };
  };
  const a = endpointOf('10.0.0.1', 'node1');
  const b = endpointOf('::ffff:10.0.0.2', 'node2');
  const captured = signed({ ts: Date.now(), from: 'node3', to: '10.0.0.1:11200' });
  assert.equal(a.handle(captured), 200);
  assert.equal(b.handle(captured), 401, 'replayed to another node');
  assert.deepEqual(b.rejected, ['wrong-receiver']);
  assert.equal(a.handle(captured), 401);
  assert.deepEqual(a.rejected, ['replayed']);
  // Addressed by name: B answers to its node name.
  assert.equal(b.handle(signed({ ts: Date.now(), to: 'node2:11200' })), 200);
  assert.equal(b.handle(signed({ ts: Date.now(), to: 'node1:11200' })), 401);
});

test('receiver identities: one spelling per address (IPv4-mapped, IPv6 RFC 5952, brackets, zones, names in lower case)', () => {
  assert.deepEqual([...receiverIdentities({ address: '::ffff:10.0.0.1', port: 11200 }, 'Node1', 'HOST-1')], ['10.0.0.1:11200', 'node1:11200', 'host-1:11200']);
  assert.deepEqual([...receiverIdentities({ address: 'fd00:0:0:0::1', port: 80 }, 'bad name!', 'h')], ['[fd00::1]:80', 'h:80']);
  assert.deepEqual([...receiverIdentities({ address: 'fe80::1%eth0', port: 80 }, 'n', 'n')], ['[fe80::1]:80', 'n:80']);
  assert.equal(canonicalEndpoint('[FD00:0::1]:11200'), '[fd00::1]:11200');
  assert.equal(canonicalEndpoint('[::ffff:10.0.0.1]:11200'), '10.0.0.1:11200');
  assert.equal(canonicalEndpoint('Peer.Example:11200'), 'peer.example:11200');
  for (const bad of ['10.0.0.1', '10.0.0.1:0', '10.0.0.1:65536', 'fd00::1:11200', '[zz::1]:1', 'a b:1', `${'a'.repeat(300)}:1`, '']) assert.equal(canonicalEndpoint(bad), undefined, bad);
  assert.ok(isNodeName('node-1.example:a_b'));
  assert.ok(!isNodeName('') && !isNodeName('a'.repeat(65)) && !isNodeName('a\nb'));
  assert.equal(nodeNameOf('my router #1'), 'my-router--1');
  assert.equal(nodeNameOf('x'.repeat(100)).length, 64);
});

test('response signatures cover the request nonce, the responder and the body', () => {
  const nonce = newNonce();
  const body = '{"instances":[]}';
  const sig = signResponse(SECRET, body, nonce, NOW, '10.0.0.1:11200');
  const parts = { timestamp: String(NOW), signature: sig };
  assert.deepEqual(verifyResponse(SECRET, body, nonce, parts, NOW, WINDOW, '10.0.0.1:11200'), { ok: true });
  assert.deepEqual(verifyResponse(SECRET, body, nonce, parts, NOW, WINDOW, '10.0.0.2:11200'), { ok: false, reason: 'bad-signature' }, 'another responder');
  assert.deepEqual(verifyResponse(SECRET, body, newNonce(), parts, NOW, WINDOW, '10.0.0.1:11200'), { ok: false, reason: 'bad-signature' }, 'another request');
  assert.deepEqual(verifyResponse(SECRET, `${body} `, nonce, parts, NOW, WINDOW, '10.0.0.1:11200'), { ok: false, reason: 'bad-signature' }, 'another body');
  assert.deepEqual(verifyResponse(SECRET, body, nonce, parts, NOW + 31_000, WINDOW, '10.0.0.1:11200'), { ok: false, reason: 'stale' });
  assert.deepEqual(verifyResponse(SECRET, body, nonce, { signature: sig }, NOW, WINDOW, '10.0.0.1:11200'), { ok: false, reason: 'unsigned' });
  assert.deepEqual(verifyResponse(SECRET, body, nonce, { ...parts, timestamp: 'soon' }, NOW, WINDOW, '10.0.0.1:11200'), { ok: false, reason: 'malformed' });
});

test('the replay cache is bounded: old nonces age out, and a nonce pushed out by a flood still cannot come back', () => {
  const cache = new ReplayCache(1000, 8);
  for (let i = 0; i < 8; i++) assert.ok(cache.remember(`n${i}`, NOW + i, NOW + i));
  assert.equal(cache.size, 8);
  // Full and all fresh: the oldest leaves, and nothing stamped as old as it is accepted again.
  assert.ok(cache.remember('n8', NOW + 8, NOW + 8));
  assert.equal(cache.size, 8);
  assert.equal(cache.remember('n0', NOW, NOW + 9), false, 'the evicted nonce is still refused');
  assert.equal(cache.remember('fresh-but-old-stamp', NOW, NOW + 9), false);
  assert.ok(cache.remember('n9', NOW + 9, NOW + 9));
  // Later, everything is out of the window: the cache empties itself as it fills.
  for (let i = 0; i < 300; i++) assert.ok(cache.remember(`late${i}`, NOW + 10_000 + i * 10, NOW + 10_000 + i * 10));
  assert.ok(cache.size <= 8);
});

const instanceOk = { name: 'VI_1', vrid: 51, family: 'ipv4', state: 'master', priority: 150, address: '10.0.0.2', mac: '02:4b:57:00:00:02', vips: ['10.0.0.100'], held: false, conflict: false };

test('parsePeerView: a well-formed answer passes as it is', () => {
  const v = parsePeerView(JSON.stringify({ node: 'n2', instances: [instanceOk, { ...instanceOk, name: 'VI_6', family: 'ipv6', address: 'fd00::2', vips: ['fd00::100'], witnessUp: true, held: true, state: 'backup', mac: undefined }] }));
  assert.ok(v.ok, JSON.stringify(v));
  assert.deepEqual(v.instances[0], instanceOk);
  assert.deepEqual(v.instances[1], { name: 'VI_6', vrid: 51, family: 'ipv6', state: 'backup', priority: 150, address: 'fd00::2', vips: ['fd00::100'], held: true, conflict: false, witnessUp: true });
  assert.ok(parsePeerView('{"instances":[]}').ok);
  const { address: _a, mac: _m, ...minimal } = instanceOk;
  assert.ok(parsePeerView(JSON.stringify({ instances: [minimal] })).ok, 'address and mac are optional');
});

test('parsePeerView: hostile answers are malformed, never thrown, never echoed', () => {
  const one = (patch: Record<string, unknown>) => JSON.stringify({ instances: [{ ...instanceOk, ...patch }] });
  const cases: [string, string][] = [
    ['priority 1000', one({ priority: 1000 })],
    ['priority -1', one({ priority: -1 })],
    ['priority 1.5', one({ priority: 1.5 })],
    ['priority "150"', one({ priority: '150' })],
    ['vrid 0', one({ vrid: 0 })],
    ['vrid 256', one({ vrid: 256 })],
    ['address "x"', one({ address: 'x' })],
    ['an IPv6 address for ipv4', one({ address: 'fd00::1' })],
    ['address 10.0.0.256', one({ address: '10.0.0.256' })],
    ['address as a number', one({ address: 167772162 })],
    ['a 1 MB name', one({ name: 'n'.repeat(1 << 20) })],
    ['an empty name', one({ name: '' })],
    ['a name with a newline', one({ name: 'VI_1\n{"level":60}' })],
    ['a name with U+2028', one({ name: 'VI\u2028' })],
    ['10k vips', one({ vips: Array.from({ length: 10_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) })],
    ['a vip that is not an IP', one({ vips: ['10.0.0.100', 'evil'] })],
    ['an IPv6 vip for ipv4', one({ vips: ['fd00::100'] })],
    ['vips not an array', one({ vips: '10.0.0.100' })],
    ['held as a string', one({ held: 'true' })],
    ['conflict missing', one({ conflict: undefined })],
    ['witnessUp as 1', one({ witnessUp: 1 })],
    ['family ipx', one({ family: 'ipx' })],
    ['state leader', one({ state: 'leader' })],
    ['state via the prototype', one({ state: 'toString' })],
    ['a multicast mac', one({ mac: '01:00:5e:00:00:12' })],
    ['the broadcast mac', one({ mac: 'ff:ff:ff:ff:ff:ff' })],
    ['the zero mac', one({ mac: '00:00:00:00:00:00' })],
    ['an upper-case mac', one({ mac: '02:4B:57:00:00:02' })],
    ['a short mac', one({ mac: '02:4b:57:00:00' })],
    ['an instance that is an array', JSON.stringify({ instances: [[1, 2]] })],
    ['an instance that is null', JSON.stringify({ instances: [null] })],
    ['2000 instances', JSON.stringify({ instances: Array.from({ length: 2000 }, () => instanceOk) })],
    ['instances not an array', JSON.stringify({ instances: { 0: instanceOk } })],
    ['a top-level array', JSON.stringify([instanceOk])],
    ['null', 'null'],
    ['a number', '42'],
    ['not JSON', '{"instances": ['],
    ['empty', ''],
    ['instances only in the prototype', '{"__proto__": {"instances": []}}'],
    ['fields only in the prototype', `{"instances": [{"__proto__": ${JSON.stringify(instanceOk)}}]}`],
  ];
  for (const [what, body] of cases) {
    const r = parsePeerView(body);
    assert.ok(!r.ok, `${what}: must be refused`);
    assert.ok(r.error.length < 120 && !r.error.includes('\n') && !r.error.includes('evil') && !r.error.includes('nnnn'), `${what}: ${r.error}`);
  }
  // Keys we do not know, or named like Object.prototype members, are ignored, not followed.
  const extra = parsePeerView(`{"instances": [${JSON.stringify({ ...instanceOk, constructor: 1, toString: 'x', extra: { deep: [1] } }).slice(0, -1)}, "__proto__": {"held": "x"}}]}`);
  assert.ok(extra.ok, JSON.stringify(extra));
  assert.equal(Object.getPrototypeOf(extra.instances[0]), Object.prototype);
  assert.equal(extra.instances[0]!.held, false);
  assert.ok(isUnicastMac('02:00:00:00:00:01') && !isUnicastMac('03:00:00:00:00:01') && !isUnicastMac(42));
});

// --- the client against real HTTP servers on 127.0.0.1 ---------------------------------------

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** An honest peer's answer to `req`, signed with `secret` over `body`. */
function answer(req: IncomingMessage, res: ServerResponse, body: string, secret = SECRET): void {
  const ts = Date.now();
  const to = String(req.headers[HEADER_TO]);
  res.writeHead(200, { 'content-type': 'application/json', [HEADER_TIMESTAMP]: String(ts), [HEADER_SIGNATURE]: signResponse(secret, body, String(req.headers[HEADER_NONCE]), ts, to) });
  res.end(body);
}

function client(maxBodyBytes?: number) {
  const rejected: [RejectReason, string][] = [];
  const c = createPeerClient(SECRET, WINDOW, (reason, from) => rejected.push([reason, from]), 'node1 (test)', maxBodyBytes);
  return { c, rejected };
}

test('peer client and endpoint together: a signed round trip through a real socket', async () => {
  const view: PeerInstance[] = [{ ...instanceOk }];
  const seen: GuardRequest[] = [];
  const ep = createGuardEndpoint(SECRET, WINDOW, () => view, () => {}, 'node2', 'host2');
  const peer = await serve((req, res) => {
    const g: GuardRequest = { method: req.method!, path: req.url!, headers: req.headers, remoteAddress: req.socket.remoteAddress!, localAddress: req.socket.localAddress!, localPort: req.socket.localPort! };
    seen.push(g);
    const r = ep.handle(g);
    res.writeHead(r.status, r.headers).end(r.body);
  });
  try {
    const { c, rejected } = client();
    assert.deepEqual(await c.fetch({ host: '127.0.0.1', port: peer.port }, 2000), view);
    assert.deepEqual(rejected, []);
    assert.equal(seen[0]!.headers[HEADER_FROM], 'node1--test-', 'our node name, made header-safe');
    assert.equal(seen[0]!.headers[HEADER_TO], `127.0.0.1:${peer.port}`);
    assert.equal(seen[0]!.headers['accept-encoding'], 'identity');
    // An agent with another secret: its 401 is an error, not a rejection of the peer.
    const stranger = createPeerClient(OTHER, WINDOW, () => assert.fail('not a rejection'), 'node9');
    await assert.rejects(stranger.fetch({ host: '127.0.0.1', port: peer.port }, 2000), /answered 401: \{"error":"refused: bad-signature"\}/);
  } finally {
    await peer.close();
  }
});

test('peer client: a redirect is refused and never followed with the signed headers', async () => {
  let hits = 0;
  const target = await serve((req, res) => {
    hits++;
    answer(req, res, JSON.stringify({ instances: [] }));
  });
  const peer = await serve((_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${target.port}${GUARD_PATH}` }).end());
  try {
    const { c, rejected } = client();
    await assert.rejects(c.fetch({ host: '127.0.0.1', port: peer.port }, 2000), (err: unknown) => err instanceof PeerRejected && err.reason === 'malformed' && /redirect \(302\)/.test(err.message));
    assert.deepEqual(rejected, [['malformed', `127.0.0.1:${peer.port}`]]);
    assert.equal(hits, 0, 'the redirect target was never asked');
  } finally {
    await Promise.all([peer.close(), target.close()]);
  }
});

test('peer client: a huge answer is cut at the cap, declared or streamed; it is never read whole', async () => {
  let requests = 0;
  let streamed = 0;
  const peer = await serve((_req, res) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    // First a declared 300 MB, then 300 MB streamed without a length (chunked).
    res.writeHead(200, requests++ === 0 ? { 'content-length': String(300 << 20) } : { 'content-type': 'application/json' });
    let sent = 0;
    const second = requests === 2;
    const pump = () => {
      while (!res.destroyed && sent < 300 << 20) {
        sent += chunk.length;
        if (second) streamed = sent;
        if (!res.write(chunk)) break;
      }
    };
    res.on('drain', pump);
    pump();
  });
  try {
    const { c, rejected } = client();
    await assert.rejects(c.fetch({ host: '127.0.0.1', port: peer.port }, 5000), /larger than 262144 bytes \(Content-Length 314572800\)/);
    const t0 = Date.now();
    await assert.rejects(c.fetch({ host: '127.0.0.1', port: peer.port }, 5000), (err: unknown) => err instanceof PeerRejected && err.reason === 'malformed' && /larger than/.test(err.message));
    assert.ok(Date.now() - t0 < 2000, 'cut at once, not after reading it all');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(streamed > 0 && streamed < 32 << 20, `the peer got to write ${streamed} bytes before we hung up`);
    assert.deepEqual(
      rejected.map(([r]) => r),
      ['malformed', 'malformed'],
    );
    assert.equal(MAX_PEER_BODY_BYTES, 256 * 1024);
  } finally {
    await peer.close();
  }
});

test('peer client: one deadline covers headers and body (a trickling peer is cut at it)', async () => {
  const timers: NodeJS.Timeout[] = [];
  const peer = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{');
    timers.push(setInterval(() => res.write(' '), 100));
  });
  try {
    const { c, rejected } = client();
    const t0 = Date.now();
    await assert.rejects(c.fetch({ host: '127.0.0.1', port: peer.port }, 500), /no complete answer within 500 ms/);
    const took = Date.now() - t0;
    assert.ok(took >= 450 && took < 1500, `cut after ${took} ms`);
    assert.deepEqual(rejected, [], 'a slow peer is down, not a forger');
  } finally {
    timers.forEach(clearInterval);
    await peer.close();
  }
});

test('peer client: a peer with the secret that lies is refused as malformed, after the signature check', async () => {
  const lies: Record<string, unknown>[] = [{ priority: 1000 }, { address: 'x' }, { name: 'n'.repeat(2 << 20) }, { vips: Array.from({ length: 10_000 }, () => '10.0.0.100') }];
  let k = 0;
  let unsigned = false;
  const peer = await serve((req, res) => {
    if (unsigned) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ instances: [instanceOk] }));
    answer(req, res, JSON.stringify({ node: 'mallory', instances: [{ ...instanceOk, ...lies[k++ % lies.length] }] }));
  });
  try {
    const { c, rejected } = client();
    const errors: string[] = [];
    for (let i = 0; i < lies.length; i++) {
      await assert.rejects(c.fetch({ host: '127.0.0.1', port: peer.port }, 3000), (err: unknown) => {
        assert.ok(err instanceof PeerRejected && err.reason === 'malformed', String(err));
        errors.push(err.message);
        return true;
      });
    }
    assert.match(errors[0]!, /priority 1000 is not an integer 0-255/);
    assert.match(errors[1]!, /address is not an ipv4 address/);
    assert.match(errors[2]!, /larger than 262144 bytes/);
    assert.match(errors[3]!, /vips must be an array of at most 256/);
    unsigned = true;
    await assert.rejects(c.fetch({ host: '127.0.0.1', port: peer.port }, 3000), (err: unknown) => err instanceof PeerRejected && err.reason === 'unsigned');
    assert.deepEqual(
      rejected.map(([r]) => r),
      ['malformed', 'malformed', 'malformed', 'malformed', 'unsigned'],
    );
  } finally {
    await peer.close();
  }
});

test('peer client: an answer signed for another node (or another request) is refused', async () => {
  const peer = await serve((req, res) => {
    const body = JSON.stringify({ instances: [] });
    const ts = Date.now();
    res.writeHead(200, { [HEADER_TIMESTAMP]: String(ts), [HEADER_SIGNATURE]: signResponse(SECRET, body, String(req.headers[HEADER_NONCE]), ts, '10.9.9.9:11200') }).end(body);
  });
  try {
    const { c, rejected } = client();
    await assert.rejects(c.fetch({ host: '127.0.0.1', port: peer.port }, 2000), (err: unknown) => err instanceof PeerRejected && err.reason === 'bad-signature');
    assert.deepEqual(rejected.map(([r]) => r), ['bad-signature']);
  } finally {
    await peer.close();
  }
});
