// A minimal OTLP/HTTP (JSON) trace receiver for tests: appends every POSTed body to a file.
// Usage: node otlp-receiver.mjs PORT FILE
import { createServer } from 'node:http';
import { appendFileSync } from 'node:fs';
const [port, file] = process.argv.slice(2);
createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/v1/traces') appendFileSync(file, `${body}\n`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
}).listen(Number(port), '0.0.0.0');
