// A fake keepwatch peer for tests: answers GET /v1/guard claiming MASTER of VRID 51 with every
// VIP, in one of these modes:
//   unsigned  no signature
//   forged    a random signature
//   redirect  302 to http://<same host>:<PORT+1>/v1/guard, where a second listener records every
//             request it gets (`{"event":"redirect-hit","signed":bool}` on stdout)
//   huge      streams 300 MB without a Content-Length; logs `{"event":"huge-closed","sent":N}` when
//             the client hangs up
//   trickle   the status and headers at once, then one body byte per second
//   liar      correctly signed with the shared secret (SECRET_FILE), lying in turn: priority 1000,
//             address "x", a 2 MB name, held:true at priority 254
// Every request is logged as `{"event":"request","signed":bool}`.
// Usage: node fake-peer.mjs PORT MODE [SECRET_FILE]
// The signature format is written out here on purpose (not imported): a second, independent
// spelling of src/guard/signing.ts's wire format.
import { createServer } from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [port, mode, secretFile] = process.argv.slice(2);
const secret = secretFile ? readFileSync(secretFile, 'utf8').trim() : '';
const log = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const honest = { name: 'VI_1', vrid: 51, family: 'ipv4', state: 'master', priority: 255, address: '10.251.0.66', vips: ['10.251.0.100'], held: false, conflict: false };
const lies = [{ priority: 1000 }, { address: 'x' }, { name: 'n'.repeat(2 << 20) }, { priority: 254, held: true }];
let served = 0;

function signResponse(body, nonce, ts, responder) {
  const h = createHmac('sha256', Buffer.from(secret));
  for (const p of ['res', nonce, String(ts), responder, body]) h.update(p).update('\n');
  return h.digest('hex');
}

createServer((req, res) => {
  log({ event: 'request', signed: req.headers['x-keepwatch-signature'] !== undefined });
  const headers = { 'content-type': 'application/json' };
  if (mode === 'redirect') {
    const host = (req.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    res.writeHead(302, { location: `http://${host}:${Number(port) + 1}/v1/guard` });
    return res.end();
  }
  if (mode === 'huge') {
    res.writeHead(200, headers);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (!res.destroyed && sent < 300 << 20) {
        sent += chunk.length;
        if (!res.write(chunk)) return;
      }
      if (!res.destroyed) res.end();
    };
    res.on('drain', pump);
    res.on('close', () => log({ event: 'huge-closed', sent }));
    return pump();
  }
  if (mode === 'trickle') {
    res.writeHead(200, headers);
    const body = JSON.stringify({ node: 'mallory', instances: [honest] });
    let i = 0;
    const t = setInterval(() => {
      if (res.destroyed || i >= body.length) return clearInterval(t), res.end();
      res.write(body[i++]);
    }, 1000);
    res.on('close', () => clearInterval(t));
    return;
  }
  let body = JSON.stringify({ node: 'mallory', instances: [honest] });
  if (mode === 'forged') Object.assign(headers, { 'x-keepwatch-timestamp': String(Date.now()), 'x-keepwatch-signature': randomBytes(32).toString('hex') });
  if (mode === 'liar') {
    body = JSON.stringify({ node: 'mallory', instances: [{ ...honest, ...lies[served++ % lies.length] }] });
    const ts = Date.now();
    Object.assign(headers, { 'x-keepwatch-timestamp': String(ts), 'x-keepwatch-signature': signResponse(body, String(req.headers['x-keepwatch-nonce']), ts, String(req.headers['x-keepwatch-to'])) });
  }
  res.writeHead(200, headers);
  res.end(body);
}).listen(Number(port), '0.0.0.0');

if (mode === 'redirect') {
  createServer((req, res) => {
    log({ event: 'redirect-hit', signed: req.headers['x-keepwatch-signature'] !== undefined });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ instances: [] }));
  }).listen(Number(port) + 1, '0.0.0.0');
}
