/**
 * Fuzz smoke test: mutate every seed config 2,000 times with a seeded PRNG and check that
 * `parseConfigText` never throws and that every diagnostic has a sane position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { parseConfigText, type ConfigFs } from '../../../src/config/index.js';
import { prng } from '../../helpers/prng.js';

const DIR = 'test/fixtures/seed-configs';
// 300 mutations per seed in the suite (~5k parses); KW_FUZZ_ROUNDS raises it for a longer run.
const ROUNDS = Number(process.env.KW_FUZZ_ROUNDS) || 300;


const ALPHABET = [...'{}{}""#!\\/ \t\n\r.:0123456789abcdefxyzMASTERBACKUP_-+*?[]$@', '调', '😀', '\u00a0', '\uFEFF'];
const WORDS = ['include', 'vrrp_instance', 'global_defs', 'virtual_ipaddress', 'authentication', 'track_script', '}', '{', 'priority', 'state', 'nopreempt', 'vrrp_strict', 'version', '3', 'fd00::1', '255', 'include *.conf'];

/** Nothing on disk: mutations may well invent `include` lines. */
const noFiles: ConfigFs = {
  readFile: () => {
    throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  },
  listDir: () => [],
  isFile: () => false,
};

function mutate(text: string, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let s = text;
  const ops = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(rnd() * (s.length + 1));
    const op = Math.floor(rnd() * 8);
    const lines = op === 3 || op === 4 ? s.split('\n') : [];
    const li = Math.floor(rnd() * lines.length);
    switch (op) {
      case 0: // delete a run of characters
        s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rnd() * 4));
        break;
      case 1: // insert a character
        s = s.slice(0, at) + pick(ALPHABET) + s.slice(at);
        break;
      case 2: // duplicate a character
        s = s.slice(0, at) + s.slice(at, at + 1) + s.slice(at);
        break;
      case 3: // delete a line
        lines.splice(li, 1);
        s = lines.join('\n');
        break;
      case 4: // duplicate a line
        lines.splice(li, 0, lines[li] ?? '');
        s = lines.join('\n');
        break;
      case 5: {
        // swap two tokens
        const toks = s.split(/(\s+)/);
        const i = 2 * Math.floor((rnd() * toks.length) / 2);
        const j = 2 * Math.floor((rnd() * toks.length) / 2);
        if (i < toks.length && j < toks.length) [toks[i], toks[j]] = [toks[j]!, toks[i]!];
        s = toks.join('');
        break;
      }
      case 6: // insert a keyword-ish word
        s = s.slice(0, at) + ' ' + pick(WORDS) + ' ' + s.slice(at);
        break;
      default: // replace a digit run with another number
        s = s.replace(/\d+/, String(Math.floor(rnd() * 1000) - 100));
    }
  }
  return s;
}

test(`fuzz: ${ROUNDS} mutations of every seed config never throw and give sane positions`, () => {
  const rnd = prng(0x6b656570); // "keep"
  let diagnostics = 0;
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.conf')).sort()) {
    const text = readFileSync(`${DIR}/${f}`, 'utf8');
    for (let n = 0; n < ROUNDS; n++) {
      const m = mutate(text, rnd);
      let r;
      try {
        r = parseConfigText(m, 'fuzz.conf', noFiles);
      } catch (e) {
        assert.fail(`${f} mutation ${n} threw ${String(e)}\n--- input ---\n${m}`);
      }
      for (const d of r.diagnostics) {
        if (!(d.location.line >= 1 && d.location.column >= 1 && !d.message.startsWith('internal error'))) {
          assert.fail(`${f} mutation ${n}: bad diagnostic ${JSON.stringify(d)}\n--- input ---\n${m}`);
        }
      }
      assert.equal(r.config === undefined, r.diagnostics.some((d) => d.severity === 'error'));
      diagnostics += r.diagnostics.length;
    }
  }
  assert.ok(diagnostics > 0, 'the mutations do produce diagnostics');
});
