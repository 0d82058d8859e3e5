/**
 * Secrets never reach the log: URL credentials (in any field, the message, an error's stack),
 * fields named like a secret, and the OTLP exporter headers from the environment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { RateLimiter, createLogger, environmentSecrets, redactLine, redactUrlCredentials, REDACTED } from '../../../src/observability/logging.js';

function capture(env: NodeJS.ProcessEnv = {}): { log: ReturnType<typeof createLogger>; lines: () => string[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: createLogger('debug', sink, env), lines: () => chunks.join('').split('\n').filter(Boolean) };
}

const tick = () => new Promise((r) => setImmediate(r));

test('URL credentials are masked; the user stays, a bare token goes whole; plain URLs are untouched', () => {
  assert.equal(redactUrlCredentials('push to https://alice:s3cret@am.example:9093/api/v2/alerts failed'), `push to https://alice:${REDACTED}@am.example:9093/api/v2/alerts failed`);
  assert.equal(redactUrlCredentials('https://ghp_token123@github.com/x'), `https://${REDACTED}@github.com/x`);
  assert.equal(redactUrlCredentials('http://u:p@ss@host/x'), `http://u:${REDACTED}@host/x`, 'an unencoded @ in the password');
  assert.equal(redactUrlCredentials('http://am:9093/api?to=ops@example.com'), 'http://am:9093/api?to=ops@example.com');
  assert.equal(redactUrlCredentials('a@b and http://x/ and mailto:ops@example.com'), 'a@b and http://x/ and mailto:ops@example.com');
  assert.equal(redactUrlCredentials('two: http://a:1234@h1 https://b:5678@h2'), `two: http://a:${REDACTED}@h1 https://b:${REDACTED}@h2`);
  // JSON-escaped quote inside a password (as in a serialized line).
  assert.equal(redactLine('{"msg":"http://u:p\\"w@h/"}'), `{"msg":"http://u:${REDACTED}@h/"}`);
  // Idempotent.
  const once = redactUrlCredentials('https://alice:s3cret@am/');
  assert.equal(redactUrlCredentials(once), once);
});

test('a line full of schemes is scrubbed in linear time', () => {
  const hostile = 'a://'.repeat(50_000) + 'x';
  const t0 = process.hrtime.bigint();
  redactLine(hostile);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms < 500, `${ms} ms for 200 kB`);
});

test('the logger masks credentials in url/endpoint fields, messages, nested fields and error stacks', async () => {
  const { log, lines } = capture();
  const url = 'https://alice:s3cret@am.example:9093';
  log.warn({ event: 'alertmanager', url }, `could not push the split-brain alert to ${url}: connect ECONNREFUSED`);
  log.info({ endpoint: new URL('http://bob:hunter2@collector:4318/v1/traces') }, 'endpoint');
  log.info({ nested: { deeper: { target: 'smtp://mail:pw12345@relay:25' } } }, 'nested');
  log.error({ err: new Error(`fetch failed for ${url}`) }, 'with an error');
  const child = log.child({ peer: 'http://p:peerpass@10.0.0.2:11200' });
  child.info('child binding');
  await tick();
  const out = lines().join('\n');
  assert.equal(lines().length, 5);
  for (const secret of ['s3cret', 'hunter2', 'pw12345', 'peerpass']) assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
  assert.ok(out.includes(`"url":"https://alice:${REDACTED}@am.example:9093"`));
  assert.ok(out.includes(`to https://alice:${REDACTED}@am.example:9093: connect ECONNREFUSED`), 'the message keeps everything but the password');
  assert.ok(out.includes(`"endpoint":"http://bob:${REDACTED}@collector:4318/v1/traces"`));
  const err = JSON.parse(lines()[3]!) as { err: { message: string; stack: string } };
  assert.match(err.err.message, /alice:\[REDACTED\]@/);
  assert.match(err.err.stack, /^Error: fetch failed for https:\/\/alice:\[REDACTED\]@/);
});

test('fields named like a secret are censored, top level and one level down', async () => {
  const { log, lines } = capture();
  log.info({ headers: { authorization: 'Bearer abc' }, request: { authorization: 'Basic xyz', path: '/v1/state' }, password: 'pw', secret: 'k' }, 'fields');
  await tick();
  const j = JSON.parse(lines()[0]!) as Record<string, unknown>;
  assert.equal(j.headers, REDACTED);
  assert.deepEqual(j.request, { authorization: REDACTED, path: '/v1/state' });
  assert.equal(j.password, REDACTED);
  assert.equal(j.secret, REDACTED);
});

test('OTLP exporter header values from the environment never appear in a line', async () => {
  const env = { OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=k3yV4lue-123,authorization=Bearer%20tok.en-456', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-honeycomb-team=hc_team_secret', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
  assert.deepEqual(new Set(environmentSecrets(env)), new Set([env.OTEL_EXPORTER_OTLP_HEADERS, 'k3yV4lue-123', 'Bearer%20tok.en-456', 'Bearer tok.en-456', env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, 'hc_team_secret']));
  const { log, lines } = capture(env);
  log.info({ event: 'tracing', env: env.OTEL_EXPORTER_OTLP_HEADERS }, `exporter said: 401 for key k3yV4lue-123 and "Bearer tok.en-456"; team hc_team_secret`);
  await tick();
  const out = lines().join('\n');
  for (const s of ['k3yV4lue-123', 'tok.en-456', 'hc_team_secret']) assert.ok(!out.includes(s), `${s} leaked: ${out}`);
  assert.ok(out.includes('"event":"tracing"'));
  // Values under 4 characters are not masked (they would garble every line); absent ones neither.
  assert.deepEqual(environmentSecrets({ OTEL_EXPORTER_OTLP_HEADERS: 'k=1' }), []);
  assert.deepEqual(environmentSecrets({}), []);
});

test('RateLimiter: keys a peer controls are capped; beyond the cap new keys share one overflow key', () => {
  const rl = new RateLimiter(10_000, 4);
  for (let i = 0; i < 4; i++) assert.equal(rl.allow(`peer-${i}`, 0), 0);
  assert.equal(rl.allow('peer-new', 1), 0, 'first overflow line');
  assert.equal(rl.allow('peer-newer', 2), undefined, 'the overflow key is rate-limited too');
  // Quiet keys are forgotten once their window passed: room again.
  assert.equal(rl.allow('peer-late', 20_000), 0);
  assert.equal(rl.allow('peer-late', 20_001), undefined);
});
