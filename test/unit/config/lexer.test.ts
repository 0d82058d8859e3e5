/** Lexer and parser: keepalived's line rules, comments, quotes, braces, Unicode, CRLF. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { lex, parse, parseConfigText, formatDiagnostic, type Statement, type TokenLine } from '../../../src/config/index.js';
import { DiagnosticSink } from '../../../src/config/diagnostics.js';
import { NEEDS_BLOCK, TOP_LEVEL_BLOCKS } from '../../../src/config/schema.js';

const toks = (text: string): { lines: TokenLine[]; sink: DiagnosticSink } => {
  const sink = new DiagnosticSink();
  return { lines: lex(text, 't.conf', sink), sink };
};
const words = (text: string): string[][] => toks(text).lines.map((l) => l.map((t) => t.text));
const cols = (text: string): number[][] => toks(text).lines.map((l) => l.map((t) => t.location.column));

const tree = (text: string): { stmts: Statement[]; diags: string[] } => {
  const sink = new DiagnosticSink();
  const stmts = parse(lex(text, 't.conf', sink), { needsBlock: NEEDS_BLOCK, topLevelBlocks: TOP_LEVEL_BLOCKS }, sink);
  return { stmts, diags: sink.items.map(formatDiagnostic) };
};
const shape = (stmts: readonly Statement[]): unknown =>
  stmts.map((s) => (s.block ? [s.keyword.text, ...s.args.map((a) => a.text), shape(s.block.statements)] : [s.keyword.text, ...s.args.map((a) => a.text)]));

test('comments start at ! or # anywhere outside quotes', () => {
  assert.deepEqual(words('priority 150 # the MASTER\n! whole line\n# also\nstate MASTER! x\nab#cd ef'), [
    ['priority', '150'],
    [],
    [],
    ['state', 'MASTER'],
    ['ab'],
  ]);
  assert.deepEqual(words('notification_email {     # where to mail'), [['notification_email', '{']]);
  assert.deepEqual(words('auth_pass a\\#b\\!c'), [['auth_pass', 'a#b!c']], '\\# and \\! are literal');
});

test('double quotes keep spaces, # and !, and are removed', () => {
  const { lines } = toks('script "/path/x.sh arg # not a comment!"  "" tail');
  assert.deepEqual(lines[0]!.map((t) => [t.text, t.quoted, t.raw]), [
    ['script', false, 'script'],
    ['/path/x.sh arg # not a comment!', true, '"/path/x.sh arg # not a comment!"'],
    ['', true, '""'],
    ['tail', false, 'tail'],
  ]);
  assert.deepEqual(words('a"b c"d'), [['a', 'b c', 'd']], 'a quote ends a word');
});

test('an unterminated quote is an error at the quote', () => {
  const { lines, sink } = toks('script "/bin/x y');
  assert.deepEqual(lines[0]!.map((t) => t.text), ['script', '/bin/x y']);
  assert.deepEqual(sink.items.map(formatDiagnostic), [`t.conf:1:8: error: unterminated quoted string: missing closing '"'`]);
});

test('braces are tokens even when glued to words', () => {
  assert.deepEqual(words('auth_type PASS}\nvirtual_ipaddress {10.0.0.1}\n}}'), [
    ['auth_type', 'PASS', '}'],
    ['virtual_ipaddress', '{', '10.0.0.1', '}'],
    ['}', '}'],
  ]);
  assert.deepEqual(shape(tree('virtual_ipaddress { 10.0.0.1 }\nauthentication {\n auth_type PASS\n auth_pass 1111 }\n').stmts), [
    ['virtual_ipaddress', [['10.0.0.1']]],
    ['authentication', [['auth_type', 'PASS'], ['auth_pass', '1111']]],
  ]);
});

test('a { alone at the start of the next line opens the previous statement\'s block', () => {
  const { stmts, diags } = tree('vrrp_instance VI_1\n\n{\n state BACKUP\n}\n');
  assert.deepEqual(diags, []);
  assert.deepEqual(shape(stmts), [['vrrp_instance', 'VI_1', [['state', 'BACKUP']]]]);
});

test('columns are 1-based code points; a tab is one column; trailing whitespace is ignored', () => {
  assert.deepEqual(cols('\tpriority\t150   '), [[2, 11]]);
  assert.deepEqual(cols('  a  b'), [[3, 6]]);
  // "调用" is two code points; "😀" is one code point (two UTF-16 units)
  assert.deepEqual(cols('notify "调用.sh" 😀x y'), [[1, 8, 16, 19]]);
  assert.deepEqual(words('#2.调用并运行该脚本\nrouter_id 节点一'), [[], ['router_id', '节点一']]);
});

test('CRLF, CR and a BOM are handled; a CRLF seed gives the same model and positions', () => {
  assert.deepEqual(words('a 1\r\nb 2\rc 3\n'), [['a', '1'], ['b', '2'], ['c', '3'], []]);
  assert.deepEqual(cols('\uFEFFglobal_defs {'), [[1, 13]]);
  const lf = readFileSync('test/fixtures/seed-configs/000-master.conf', 'utf8');
  const crlf = lf.replace(/\n/g, '\r\n');
  const a = parseConfigText(lf, 'x.conf');
  const b = parseConfigText(crlf, 'x.conf');
  assert.ok(a.config && b.config);
  assert.deepEqual(b.config, a.config);
  assert.deepEqual(b.diagnostics, a.diagnostics);
});

test('argsText keeps the arguments as written', () => {
  const { stmts } = tree('notify /bin/n.sh  "a b"\tc\n');
  assert.equal(stmts[0]!.argsText, '/bin/n.sh  "a b"\tc');
});

test('syntax recovery: stray }, unclosed {, missing {', () => {
  assert.deepEqual(tree('}\na 1\n').diags, ["t.conf:1:1: error: unexpected '}': no block is open here"]);
  assert.deepEqual(tree('x {\n y {\n').diags, [
    "t.conf:1:3: error: unclosed '{' opened here for x",
    "t.conf:2:4: error: unclosed '{' opened here for y",
  ]);
  const r = tree('vrrp_instance A\n state BACKUP\n}\nvrrp_instance B {\n priority 1\n');
  assert.deepEqual(r.diags, [
    "t.conf:1:1: error: expected '{' after 'vrrp_instance A'",
    "t.conf:4:17: error: unclosed '{' opened here for vrrp_instance B",
  ]);
  assert.deepEqual(shape(r.stmts), [
    ['vrrp_instance', 'A', [['state', 'BACKUP']]],
    ['vrrp_instance', 'B', [['priority', '1']]],
  ]);
});

test('a top-level block keyword inside a block closes the open blocks (missing braces)', () => {
  const r = tree('vrrp_instance A {\n state BACKUP\nvrrp_instance B {\n state MASTER\n}\n');
  assert.deepEqual(r.diags, ["t.conf:1:17: error: unclosed '{' opened here for vrrp_instance A"]);
  assert.deepEqual(shape(r.stmts), [
    ['vrrp_instance', 'A', [['state', 'BACKUP']]],
    ['vrrp_instance', 'B', [['state', 'MASTER']]],
  ]);
});
