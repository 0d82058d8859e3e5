/**
 * How log lines are written: JSON by default (what LabRouter and log shippers parse, unchanged);
 * `-l` human lines (time level message key=value); under journald each line starts with its
 * sd-daemon priority (<3> error ... <7> debug, <2> fatal) so `journalctl -p err` works; `-S`
 * frames each line for syslog with the facility; secrets are masked whatever the format. And one
 * key scheme on every line: span attribute names for VRRP facts, never their bare twins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LEVEL_SEVERITY, createLogger, humanLine, logCoreEvents, logGuardEvents, logTrackingEvents, parseLogFacility, REDACTED, type LogOptions } from '../../../src/observability/logging.js';
import { SPAN_ATTRIBUTES } from '../../../src/observability/names.js';
import { AgentBus, type AgentEvent } from '../../../src/events/index.js';

function sink(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

const tick = () => new Promise((r) => setImmediate(r));

function capture(opts: Omit<LogOptions, 'console'> = {}) {
  const out = sink();
  const frames: string[] = [];
  const log = createLogger({ level: 'debug', env: {}, ...opts, console: out.stream, ...(opts.syslog ? { syslog: { facility: opts.syslog.facility, send: (f: string) => frames.push(f) } } : {}) });
  return { log, lines: out.lines, frames };
}

test('default: one JSON object per line, nothing before it (LabRouter and shippers parse it as it is)', async () => {
  const { log, lines } = capture();
  log.info({ event: 'transition', [SPAN_ATTRIBUTES.stateTo]: 'master', [SPAN_ATTRIBUTES.cause]: 'master-down-timer' }, '(VI_1) BACKUP -> MASTER');
  log.error({ event: 'split-brain' }, 'split brain');
  await tick();
  assert.equal(lines().length, 2);
  for (const l of lines()) assert.ok(l.startsWith('{"level":'), l);
  const j = JSON.parse(lines()[0]!) as Record<string, unknown>;
  assert.equal(j.event, 'transition');
  assert.equal(j['vrrp.state.to'], 'master');
  assert.equal(j['vrrp.cause'], 'master-down-timer');
});

test('under journald every line carries its priority: error 3, warn 4, info 6, debug 7, fatal 2', async () => {
  const { log, lines } = capture({ journalPrefix: true, level: 'trace' });
  log.fatal('f');
  log.error('e');
  log.warn('w');
  log.info('i');
  log.debug('d');
  log.trace('t');
  await tick();
  assert.deepEqual(
    lines().map((l) => l.slice(0, 3)),
    ['<2>', '<3>', '<4>', '<6>', '<7>', '<7>'],
  );
  // After the prefix, the JSON line is intact (journald stores it as MESSAGE).
  for (const l of lines()) assert.equal((JSON.parse(l.slice(3)) as { service: string }).service, 'keepwatch');
  assert.deepEqual(LEVEL_SEVERITY, { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 });
});

test('-l: human lines, `time LEVEL message key=value`, with the prefix under journald too', async () => {
  const { log, lines } = capture({ format: 'human', journalPrefix: true });
  log.warn({ event: 'advert-dropped', [SPAN_ATTRIBUTES.instance]: 'VI_1', reason: 'auth-mismatch', suppressed: 0, note: 'two words', list: ['a', 'b'] }, 'dropped advert from 10.0.0.2');
  log.error({ err: new Error('boom'), event: 'crash' }, 'a crash\nwith a second line');
  await tick();
  const [a, b] = lines();
  assert.match(a!, /^<4>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN  dropped advert from 10\.0\.0\.2 event=advert-dropped vrrp\.instance=VI_1 reason=auth-mismatch suppressed=0 note="two words" list=\["a","b"\]$/);
  assert.match(b!, /^<3>\S+ ERROR a crash\\nwith a second line err="Error: boom" event=crash$/, 'one entry, one line; no stack without -D');
  assert.equal(lines().length, 2);
  // -D: the stack too, as one quoted value.
  const detailed = capture({ format: 'human', detail: true });
  detailed.log.error({ err: new Error('boom') }, 'x');
  await tick();
  assert.match(detailed.lines()[0]!, /err="Error: boom" stack="Error: boom\\n    at /);
});

test('humanLine: values that need quotes get them; the message comes first; service/time/level are not repeated as fields', () => {
  const line = humanLine({ level: 'info', time: '2026-01-01T00:00:00.000Z', service: 'keepwatch', msg: 'hello', a: 1, b: true, c: null, d: 'x=y', e: 'plain', f: { g: 1 } });
  assert.equal(line, '2026-01-01T00:00:00.000Z INFO  hello a=1 b=true c=null d="x=y" e=plain f={"g":1}');
});

test('-S: each line framed for syslog with facility and severity; the console gets nothing unless -l', async () => {
  const facility = parseLogFacility('0')!;
  const { log, lines, frames } = capture({ syslog: { facility, send: () => {} } });
  log.error({ event: 'split-brain' }, 'split brain');
  log.info('fine');
  await tick();
  assert.equal(frames.length, 2);
  // local0 = 16: error = 16*8+3 = 131, info = 134; syslog(3)'s `Mmm dd hh:mm:ss ident[pid]: `.
  assert.match(frames[0]!, new RegExp(`^<131>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d keepwatch\\[${process.pid}\\]: \\{"level":"error"`));
  assert.match(frames[1]!, /^<134>/);
  assert.equal(lines().length, 2, 'this capture has a console; main.ts passes console: null for -S without -l');
  const silent = createLogger({ env: {}, console: null, syslog: { facility, send: () => {} } });
  silent.info('nowhere but syslog');
});

test('keepalived\'s -S values: 0-7 and local0-7 are local facilities, user and daemon too; anything else is refused', () => {
  assert.deepEqual(['0', '7', 'local3', 'LOCAL5', 'user', 'daemon'].map(parseLogFacility), [16, 23, 19, 21, 1, 3]);
  for (const bad of ['8', '-1', 'local8', 'kern', '', 'mail']) assert.equal(parseLogFacility(bad), undefined, bad);
});

test('secrets are masked in every format: human lines and syslog frames too', async () => {
  const url = 'https://alice:s3cret@am.example:9093';
  for (const opts of [{ format: 'human' as const }, { journalPrefix: true }, { syslog: { facility: 16, send: () => {} } }]) {
    const { log, lines, frames } = capture(opts);
    log.warn({ event: 'alertmanager', url }, `could not push to ${url}`);
    await tick();
    const all = [...lines(), ...frames].join('\n');
    assert.ok(!all.includes('s3cret'), all);
    assert.ok(all.includes(REDACTED));
  }
});

// ------------------------------------------------------------------------------------------------
// One key scheme
// ------------------------------------------------------------------------------------------------

/** Bare keys whose fact has a span attribute name (or that clash with pino's own `level`). */
const BARE = ['instance', 'vrid', 'interface', 'vip', 'mac', 'source', 'decision', 'cause', 'priority', 'level', 'state'];

test('the bus subscribers: every line names its event, and VRRP facts use the span attribute names', async () => {
  const { log, lines } = capture({ level: 'debug' });
  const bus = new AgentBus();
  logCoreEvents(bus, log);
  logGuardEvents(bus, log);
  logTrackingEvents(bus, log);
  const base = { instance: 'VI_1', vrid: 51, interface: 'eth0', atMs: 1, wallMs: 1 };
  const events = [
    { ...base, type: 'state-changed', from: 'backup', to: 'master', cause: 'master-down-timer', startedAtMs: 0, priority: 100, basePriority: 100, peer: { address: '10.0.0.2', priority: 150 } },
    { ...base, type: 'advert-dropped', reason: 'auth-mismatch', source: '10.0.0.9' },
    { ...base, type: 'garp-sent', vips: ['10.0.0.100'], mac: '02:00:00:00:00:01', count: 5, reason: 'become-master' },
    { ...base, type: 'priority-changed', from: 100, to: 90, basePriority: 100 },
    { ...base, type: 'send-failed', reason: 'advert to 224.0.0.18 failed: ENETDOWN' },
    { type: 'guard-detection', instance: 'VI_1', vrid: 51, evidence: { source: 'arp', atMs: 1, mac: '02:00:00:00:00:02', address: '10.0.0.2', priority: 100, detail: 'another holder' } },
    { type: 'guard-decision', instance: 'VI_1', vrid: 51, verdict: { decision: 'yield', reason: 'lower priority' }, evidence: { source: 'arp', atMs: 1, detail: 'x' }, self: { priority: 100 }, other: { priority: 150 }, atMs: 1, wallMs: 1 },
    { type: 'guard-conflict', instance: 'VI_1', vrid: 51, level: 'confirmed', active: true, sources: ['arp'], atMs: 1, wallMs: 1 },
    { type: 'guard-release', instance: 'VI_1', vrid: 51, reason: 'winner gone', atMs: 1 },
    { type: 'track-weight', instance: 'VI_1', vrid: 51, tracker: 'script:chk', weight: -10 },
    { type: 'notify-run', scope: 'INSTANCE', name: 'VI_1', state: 'MASTER', command: '/bin/true', result: 'fail', exitCode: 1, durationMs: 3, startedWallMs: 2, transitionWallMs: 1 },
    { type: 'mail-sent', instance: 'VI_1', state: 'MASTER', result: 'failed', durationMs: 5, error: 'refused' },
  ];
  for (const e of events) bus.emit(e as unknown as AgentEvent);
  await tick();
  await tick();
  const records = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(records.length, events.length, lines().join('\n'));
  for (const r of records) {
    assert.equal(typeof r.event, 'string', JSON.stringify(r));
    assert.equal(r.level === 'debug' || r.level === 'info' || r.level === 'warn' || r.level === 'error', true, `pino's level, not another: ${JSON.stringify(r)}`);
    for (const k of BARE) if (k !== 'level') assert.ok(!(k in r), `${r.event}: bare '${k}' (use its span attribute name): ${JSON.stringify(r)}`);
  }
  const by = (event: string) => records.find((r) => r.event === event)!;
  assert.equal(by('transition')['vrrp.peer.address'], '10.0.0.2');
  assert.equal(by('advert-dropped')['vrrp.peer.address'], '10.0.0.9');
  assert.equal(by('advert-dropped')['vrrp.instance'], 'VI_1');
  assert.equal(by('guard-decision')['vrrp.guard.decision'], 'yield');
  assert.equal(by('guard-detection')['vrrp.guard.source'], 'arp');
  assert.equal(by('split-brain').conflict, 'confirmed');
  assert.equal(by('notify')['vrrp.state.to'], 'MASTER');
  assert.equal(by('garp')['vrrp.garp.count'], 5);
});

/** The first `{...}` argument of every log call in src/, with the keys at its top level. */
function logCallKeys(): { where: string; keys: string[] }[] {
  const root = fileURLToPath(new URL('../../../src/', import.meta.url));
  const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const out: { where: string; keys: string[] }[] = [];
  for (const f of files(root)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/\blog\.(?:trace|debug|info|warn|error|fatal)(?:\.bind\(log\)\))?\(\s*\{|\blog\.(?:warn|info|error)\.bind\(log\)\)\(\{/g)) {
      let i = m.index! + m[0].length;
      let depth = 1;
      const keys: string[] = [];
      let segment = '';
      for (; i < text.length && depth > 0; i++) {
        const c = text[i]!;
        if (c === '{' || c === '[' || c === '(') depth++;
        if (c === '}' || c === ']' || c === ')') depth--;
        if (depth === 0 || (depth === 1 && c === ',')) {
          const k = /^\s*(?:\.\.\.)?\s*([A-Za-z_$][\w$]*|\[[^\]]+\]|'[^']*')/.exec(segment)?.[1];
          if (k && !segment.trim().startsWith('...')) keys.push(k);
          segment = '';
          continue;
        }
        segment += c;
      }
      const line = text.slice(0, m.index).split('\n').length;
      out.push({ where: `${relative(root, f)}:${line}`, keys });
    }
  }
  return out;
}

test('every log call in src/ follows the scheme: no bare key where a span attribute name exists', () => {
  const calls = logCallKeys();
  assert.ok(calls.length > 40, `found ${calls.length} log calls`);
  const problems = calls.flatMap((c) => c.keys.filter((k) => BARE.includes(k)).map((k) => `${c.where}: '${k}'`));
  assert.deepEqual(problems, []);
  const withoutEvent = calls.filter((c) => !c.keys.includes('event')).map((c) => c.where);
  assert.deepEqual(withoutEvent, [], 'every structured line names its event');
});
