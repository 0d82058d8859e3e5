// A minimal SMTP server for tests: accepts every message and appends it (as JSON) to a file.
// Usage: node smtp-sink.mjs PORT FILE
import { createServer } from 'node:net';
import { appendFileSync } from 'node:fs';
const [port, file] = process.argv.slice(2);
createServer((sock) => {
  let buf = '';
  let data = false;
  let msg = { from: '', to: [], body: '' };
  const say = (l) => sock.write(`${l}\r\n`);
  say('220 sink ESMTP');
  sock.on('data', (d) => {
    buf += d.toString('utf8');
    for (;;) {
      if (data) {
        const end = buf.indexOf('\r\n.\r\n');
        if (end < 0) return;
        msg.body = buf.slice(0, end);
        buf = buf.slice(end + 5);
        data = false;
        appendFileSync(file, `${JSON.stringify({ ...msg, at: Date.now() })}\n`);
        msg = { from: '', to: [], body: '' };
        say('250 OK queued');
        continue;
      }
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      const cmd = line.slice(0, 4).toUpperCase();
      if (cmd === 'EHLO' || cmd === 'HELO') say('250 sink');
      else if (cmd === 'MAIL') { msg.from = line; say('250 OK'); }
      else if (cmd === 'RCPT') { msg.to.push(line); say('250 OK'); }
      else if (cmd === 'DATA') { data = true; say('354 go ahead'); }
      else if (cmd === 'QUIT') { say('221 bye'); sock.end(); }
      else say('250 OK');
    }
  });
  sock.on('error', () => {});
}).listen(Number(port), '0.0.0.0');
