// A fake keepwatch peer for tests: answers GET /v1/guard claiming MASTER of VRID 51 with every
// VIP, but with no signature (MODE=unsigned) or a forged one (MODE=forged).
// Usage: node fake-peer.mjs PORT MODE
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
const [port, mode] = process.argv.slice(2);
createServer((req, res) => {
  const body = JSON.stringify({ node: 'mallory', instances: [{ name: 'VI_1', vrid: 51, family: 'ipv4', state: 'master', priority: 255, address: '10.251.0.66', vips: ['10.251.0.100'], held: false, conflict: false }] });
  const headers = { 'content-type': 'application/json' };
  if (mode === 'forged') Object.assign(headers, { 'x-keepwatch-timestamp': String(Date.now()), 'x-keepwatch-signature': randomBytes(32).toString('hex') });
  res.writeHead(200, headers);
  res.end(body);
}).listen(Number(port), '0.0.0.0');
