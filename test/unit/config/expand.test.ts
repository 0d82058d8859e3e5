/**
 * keepalived's configuration preprocessor (src/config/expand.ts): `@ID`/`@^ID` lines, `$NAME`
 * definitions (one line and multi-line), `~SEQ`/`~LST`, the predefined names, errors at the place
 * the text was written (with the expansion that brought it), and the bounds on hostile input.
 * The expectations follow keepalived 2.2.7's lib/parser.c and keepalived.conf(5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Expander,
  MAX_EXPANDED_LINE_CHARS,
  MAX_EXPANSION_DEPTH,
  MAX_SEQUENCE_ITERATIONS,
  MAX_SEQUENCE_VALUES,
  defaultConfigId,
  formatDiagnostic,
  lex,
  loadConfig,
  parseConfigText,
  type ConfigFs,
  type ExpandOptions,
  type TokenLine,
} from '../../../src/config/index.js';
import { DiagnosticSink } from '../../../src/config/diagnostics.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

function expand(text: string, options: ExpandOptions = { configId: 'main' }): { lines: TokenLine[]; diags: string[] } {
  const sink = new DiagnosticSink();
  const lines = new Expander(sink, { random: () => 0.5, ...options }).expandFile(text, 't.conf');
  return { lines, diags: sink.items.map(formatDiagnostic) };
}
/** The words of each line, as the parser sees them. */
const words = (text: string, options?: ExpandOptions): string[] => expand(text, options).lines.map((l) => l.map((t) => t.text).join(' '));
/** `word@line:col` for each token, with its expansion in brackets. */
const placed = (text: string, options?: ExpandOptions): string[] =>
  expand(text, options).lines.map((l) => l.map((t) => `${t.text}@${t.location.line}:${t.location.column}${t.location.expansion ? ` [${t.location.expansion}]` : ''}`).join(' '));

const INSTANCE = (body: string): string => `vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n${body}    virtual_ipaddress {\n        10.0.0.1/24\n    }\n}\n`;

// --- Conditional lines -----------------------------------------------------------------------------

test('@ID keeps the line for that config id only, @^ID for every other; the id must be followed by a blank', () => {
  const text = '@main a 1\n@backup b 2\n@^main c 3\n@^backup d 4\n  @main\te 5\n@main\n@ f 6\n@^ g 7\n@mainx h 8\n';
  assert.deepEqual(words(text, { configId: 'main' }), ['a 1', 'd 4', 'e 5', 'g 7']);
  assert.deepEqual(words(text, { configId: 'backup' }), ['b 2', 'c 3', 'g 7']);
  // keepalived with no config id: no @ID matches, every @^ID does.
  assert.deepEqual(words(text, {}), ['c 3', 'd 4', 'g 7']);
});

test("the config id defaults to the host name up to its first '.' (keepalived's uname nodename)", () => {
  assert.equal(defaultConfigId('lb1.example.com'), 'lb1');
  assert.equal(defaultConfigId('lb2'), 'lb2');
  assert.equal(defaultConfigId(), defaultConfigId(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()));
});

test('keepalived.conf(5) example: a conditional definition, and a definition that is a condition', () => {
  const text = '@main $PRIORITY=240\n@backup $PRIORITY=200\npriority $PRIORITY\n$IF_MAIN=@main\n$IF_MAIN priority 240\n';
  assert.deepEqual(words(text, { configId: 'main' }), ['priority 240', 'priority 240']);
  assert.deepEqual(words(text, { configId: 'backup' }), ['priority 200']);
});

test("after a '{' or '}', '@ID' starts a line of its own (keepalived's line residue)", () => {
  assert.deepEqual(words('unicast_peer { @^main 10.0.0.1\n}\nx { @main y }\n', { configId: 'main' }), ['unicast_peer {', '}', 'x {', 'y }']);
  assert.deepEqual(words('email { a@b.c }\n'), ['email { a@b.c }'], "an '@' inside a word is nothing special");
});

// --- Definitions --------------------------------------------------------------------------------------

test('keepalived.conf(5) example: values are substituted when used, and again where they now stand', () => {
  const text = '$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\n';
  assert.deepEqual(words(text), ['10.2.0.100/32', '10.2.10.100/32']);
});

test('$NAME needs a blank, a comma, a parenthesis or the end after it; ${NAME} does not; undefined names stay as written', () => {
  const text = '$A=x\n$B_2=y z\n$A ${A}1 $A, ($A) $A.b $AB ${B_2} $UNDEF ${UNDEF} $1 $(cmd) "$A" "${A}"\n';
  assert.deepEqual(expand(text).lines[0]!.map((t) => t.text), ['x', 'x1', 'x,', '(x)', '$A.b', '$AB', 'y', 'z', '$UNDEF', '$', '{', 'UNDEF', '}', '$1', '$(cmd)', '$A', 'x']);
});

test('a definition: no space before =, blanks after it skipped, comments removed, may be empty, may be redefined', () => {
  assert.deepEqual(words('$V=   a b   # comment\nk $V\n$V=\nk $V end\n$V=2\nk $V\n'), ['k a b', 'k end', 'k 2']);
  // `\#` makes a literal '#' in the value; where it is used, keepalived decomments the line again,
  // so it stays a '#' only inside quotes.
  assert.deepEqual(words('$H=a\\#b\nk "${H}" ${H} c\n'), ['k a#b a']);
  const r = expand('$NAME = value\n');
  assert.deepEqual(r.lines, []);
  assert.deepEqual(r.diags, ["t.conf:1:1: error: '$NAME =': a definition has no space before '=' (keepalived reads this line as a keyword '$NAME'); write '$NAME=VALUE'"]);
});

test('predefined: ${_PWD} ${_INSTANCE} ${_RANDOM [MIN [MAX]]} ${_HASH} ${_BANG}; they may be redefined', () => {
  const sink = new DiagnosticSink();
  const lines = new Expander(sink, { configId: 'node7', random: () => 0.9999999 }).expandFile('k ${_PWD} ${_INSTANCE} ${_RANDOM} ${_RANDOM 5} ${_RANDOM 1 10} "${_HASH}${_BANG}"\n$_INSTANCE=mine\nk ${_INSTANCE}\n', 'etc/kw/x.conf');
  assert.deepEqual(lines.map((l) => l.map((t) => t.text)), [['k', resolve('etc/kw'), 'node7', '32767', '32767', '10', '#!'], ['k', 'mine']]);
  assert.deepEqual(sink.items, []);
  // Outside quotes a substituted '#' starts a comment, as keepalived decomments the line again.
  assert.deepEqual(words('k a${_HASH}b c\n'), ['k a']);
  assert.deepEqual(expand('k ${_RANDOM 9 3}\n').diags, ['t.conf:1:3: error: ${_RANDOM 9 3}: MIN must not be more than MAX']);
});

test('an undefined name one typo away from a defined one gets a warning (it stays as written)', () => {
  const r = expand('$PRIORITY=100\npriority ${PRIORTY}\nnotify "kill -HUP ${PID}"\n');
  assert.deepEqual(r.diags, ["t.conf:2:10: warning: '${PRIORTY}' is not defined, so it stays as written (as keepalived leaves it); did you mean '${PRIORITY}'?"]);
});

// --- Multi-line definitions ------------------------------------------------------------------------

test('keepalived.conf(5) example: a multi-line definition used twice, with @ID lines inside', () => {
  const text = [
    '$INSTANCE= \\',
    'vrrp_instance VI_${NUM} { \\',
    '    interface eth0.${NUM} \\',
    '    @high priority 130 \\',
    '    @low priority 120 \\',
    '    ! a comment line inside is skipped',
    '    virtual_ipaddress { \\',
    '        10.0.${NUM}.254/24 \\',
    '    } \\',
    '}',
    '$NUM=0',
    '$INSTANCE',
    '$NUM=1',
    '$INSTANCE',
  ].join('\n');
  assert.deepEqual(words(text, { configId: 'low' }), [
    'vrrp_instance VI_0 {', 'interface eth0.0', 'priority 120', 'virtual_ipaddress {', '10.0.0.254/24', '}', '}',
    'vrrp_instance VI_1 {', 'interface eth0.1', 'priority 120', 'virtual_ipaddress {', '10.0.1.254/24', '}', '}',
  ]);
});

test('multi-line: an empty line ends the definition (keepalived 2.2.7), nested uses, a use not at the end of a line stays', () => {
  const text = ['$RS= \\', 'real_server ${IP} { \\', '  weight 1 \\', '', '  weight 2', '}', '$VS= \\', 'vs { \\', '  $IP=1 \\', '  $RS \\', '  $IP=2 \\', '  $RS \\', '}', '$VS', 'x $VS y'].join('\n');
  const r = expand(text);
  assert.deepEqual(r.lines.map((l) => l.map((t) => t.text).join(' ')), [
    'weight 2', '}', // after the empty line: plain lines
    'vs {', 'real_server 1 {', 'weight 1', 'real_server 2 {', 'weight 1', '}',
    'x $VS y',
  ]);
  assert.deepEqual(r.diags, ["t.conf:15:3: warning: '$VS' is a multi-line definition: keepalived uses one only at the end of a line, so it stays as written here"]);
  assert.deepEqual(words('$ONE=\\\nsingle line\n$ONE x\n'), ['single line x'], 'a multi-line definition of one line is a one-line one');
});

// --- ~SEQ and ~LST -----------------------------------------------------------------------------------

test('~SEQ forms: (VAR, END), (VAR, START, END), (VAR, START, STEP, END), ~SEQx in hex, strtol numbers', () => {
  const seq = (spec: string): string[] => words(`${spec} \${I}\n`);
  assert.deepEqual(seq('~SEQ(I, 3)'), ['1', '2', '3']);
  assert.deepEqual(seq('~SEQ(I, 0)'), ['1', '0'], 'END < 1: from 1 down');
  assert.deepEqual(seq('~SEQ(I, -2)'), ['-1', '-2']);
  assert.deepEqual(seq('~SEQ(I, 0, 3)'), ['0', '1', '2', '3']);
  assert.deepEqual(seq('~SEQ(I, 3, 1)'), ['3', '2', '1']);
  assert.deepEqual(seq('~SEQ(I, 0, 5, 12)'), ['0', '5', '10']);
  assert.deepEqual(seq('~SEQ(I, 10, -4, 1)'), ['10', '6', '2']);
  assert.deepEqual(seq('~SEQx(I, 0x90, 0x10, 0xc0)'), ['90', 'a0', 'b0', 'c0']);
  assert.deepEqual(seq('~SEQx(I, 144, 16, 192)'), ['90', 'a0', 'b0', 'c0']);
  assert.deepEqual(seq('~SEQ(I, 010, 011)'), ['8', '9'], 'a leading 0 is octal (strtol base 0)');
  assert.deepEqual(words('$N=3\n~SEQ(I, 1, $N) ${I}\n'), ['1', '2', '3'], 'numbers may be definitions');
  assert.deepEqual(words('~SEQ(S, 0, 3) ip_address 10.0.${S}.1\nafter ${S}\n'), ['ip_address 10.0.0.1', 'ip_address 10.0.1.1', 'ip_address 10.0.2.1', 'ip_address 10.0.3.1', 'after 3']);
});

test('~SEQ nests, with multi-line definitions (each repetition runs in full before the next)', () => {
  assert.deepEqual(words('~SEQ(A, 1, 2) ~SEQ(B, 2) x${A}.${B}\n'), ['x1.1', 'x1.2', 'x2.1', 'x2.2']);
  assert.deepEqual(words('$M=a${I} \\\nb${I}\n~SEQ(I, 2) $M\n'), ['a1', 'b1', 'a2', 'b2']);
});

test('~LST(VAR, v1, v2) and ~LST({A, B}, {a1, b1}, ...) (missing values are empty)', () => {
  assert.deepEqual(words('~LST(IF, eth0, eth1) interface ${IF}\n'), ['interface eth0', 'interface eth1']);
  assert.deepEqual(words('~LST({IP, IP1}, {10,1},{20,4}, {5}) 192.168.${IP}.${IP1}x\n'), ['192.168.10.1x', '192.168.20.4x', '192.168.5.x']);
});

test('~SEQ and ~LST errors: at the ~, with what was written', () => {
  const r = expand(['~SEQ(I) x', '~SEQ I, 3) x', '~SEQ(I, 1, 0, 5) x', '~SEQ(I, 5, 1, 1) x', '~SEQx(I, -1, 5) x', '~SEQ(I, 1, 3 x', '~SEQ(1X, 2) x', '~SEQ(I, 1 2) x', '~LST(A) x', '~LST({A}, {1, 2}) x', `~SEQ(I, 1, ${MAX_SEQUENCE_VALUES + 1}) x`].join('\n'));
  assert.deepEqual(r.lines, []);
  const usage = 'expected ~SEQ(VAR, END), ~SEQ(VAR, START, END) or ~SEQ(VAR, START, STEP, END)';
  assert.deepEqual(r.diags, [
    `t.conf:1:1: error: invalid ~SEQ(I): ${usage}`,
    `t.conf:2:1: error: invalid ~SEQ I, 3): ${usage}`,
    't.conf:3:1: error: invalid ~SEQ(I, 1, 0, 5): STEP must not be 0 and must go from START towards END',
    't.conf:4:1: error: invalid ~SEQ(I, 5, 1, 1): STEP must not be 0 and must go from START towards END',
    't.conf:5:1: error: invalid ~SEQx(I, -1, 5): ~SEQx takes numbers from 0 up',
    "t.conf:6:1: error: invalid ~SEQ(I, 1, 3 x: missing ')'",
    "t.conf:7:1: error: invalid ~SEQ(1X, 2): '1X' is not a name ([A-Za-z_][A-Za-z0-9_]*)",
    `t.conf:8:1: error: invalid ~SEQ(I, 1 2): ${usage}`,
    't.conf:9:1: error: invalid ~LST(A): expected ~LST(VAR, VALUE, ...) or ~LST({VAR, VAR}, {VALUE, VALUE}, ...)',
    't.conf:10:1: error: invalid ~LST({A}, {1, 2}): a set of values has more values than there are variables (1)',
    `t.conf:11:1: error: ~SEQ(I, 1, ${MAX_SEQUENCE_VALUES + 1}) repeats its line ${MAX_SEQUENCE_VALUES + 1} times; keepwatch allows at most ${MAX_SEQUENCE_VALUES}; not expanded`,
  ]);
});

// --- Places --------------------------------------------------------------------------------------

test('each token keeps the place it was written, and the expansion that brought it', () => {
  assert.deepEqual(placed('$P=150\n  priority $P\n~SEQ(I, 1, 2) vip 10.0.0.${I}\n'), [
    'priority@2:3 150@1:4 [$P at t.conf:2:12]',
    'vip@3:15 [~SEQ(I=1) at t.conf:3:1] 10.0.0.1@3:19 [~SEQ(I=1) at t.conf:3:1]',
    'vip@3:15 [~SEQ(I=2) at t.conf:3:1] 10.0.0.2@3:19 [~SEQ(I=2) at t.conf:3:1]',
  ]);
  // Nested: innermost first.
  assert.deepEqual(placed('$IN=x\n$OUT=a ${IN}\nk $OUT\n'), ['k@3:1 a@2:6 [$OUT at t.conf:3:3] x@1:5 [${IN} at t.conf:2:8, $OUT at t.conf:3:3]']);
  // Columns count code points, also after substitution.
  assert.deepEqual(placed('$V=😀 x\nk "é" $V\n'), ['k@2:1 é@2:3 😀@1:4 [$V at t.conf:2:7] x@1:6 [$V at t.conf:2:7]']);
});

test('a configuration error in expanded text: at the place written, saying which expansion', () => {
  const text = `$PRIO=300\n$VIPS=10.0.0.999/24\n${INSTANCE('    priority $PRIO\n    ~SEQ(N, 1, 2) notify_master "/bin/true ${N}"\n')}`.replace('        10.0.0.1/24\n', '        $VIPS\n');
  const r = parseConfigText(text, 'e.conf', undefined, { configId: 'x' });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    "e.conf:1:7: error: invalid priority '300': expected a whole number from 1 to 255 (expanded from $PRIO at e.conf:6:14)",
    "e.conf:2:7: error: invalid IPv4 address '10.0.0.999' in virtual_ipaddress (expanded from $VIPS at e.conf:9:9)",
    // The same place twice: which repetition says which one is meant.
    "e.conf:7:19: warning: 'notify_master' is given more than once in vrrp_instance VI_1 (first at e.conf:7:19); keepalived uses the first one (expanded from ~SEQ(N=2) at e.conf:7:5)",
  ]);
});

// --- Unchanged lines, includes ---------------------------------------------------------------------

test('lines with nothing to expand give exactly the tokens the lexer gives (every seed and broken config)', () => {
  const dirs = ['test/fixtures/seed-configs', 'test/fixtures/broken-configs', 'test/fixtures/include-configs'];
  let n = 0;
  for (const dir of dirs) {
    for (const f of readdirSync(`${ROOT}/${dir}`)) {
      if (!f.endsWith('.conf')) continue;
      const text = readFileSync(`${ROOT}/${dir}/${f}`, 'utf8');
      if (/[$~]|^\s*@|^\s*include\w?\s.*\{/m.test(text)) continue; // the ones that use the language, or brace globs
      const a = new Expander(new DiagnosticSink(), { configId: 'x' }).expandFile(text, f);
      const b = lex(text, f, new DiagnosticSink(), { dropEmpty: true });
      assert.deepEqual(a, b, f);
      n++;
    }
  }
  assert.ok(n >= 60, `${n} files compared`);
});

function memFs(files: Record<string, string>): ConfigFs {
  const fail = (code: string): Error => Object.assign(new Error(code), { code });
  return {
    readFile(p) {
      const f = files[p];
      if (f === undefined) throw fail('ENOENT');
      return f;
    },
    listDir(d) {
      const names = Object.keys(files).filter((p) => dirname(p) === d).map((p) => p.slice(d.length + 1));
      if (!names.length) throw fail('ENOENT');
      return names;
    },
    isFile: (p) => Object.hasOwn(files, p),
  };
}

test('definitions flow through includes in reading order; an include line may use them and @ID', () => {
  const fs = memFs({
    'd/main.conf': '$NODE=n2\n@main include ${NODE}.conf\n@^main include other.conf\n$VIP=10.0.0.9/24\ninclude vips.conf\n',
    'd/n2.conf': `$PRIO=77\n${INSTANCE('    priority $PRIO\n    virtual_ipaddress {\n        $VIP\n    }\n')}`,
    'd/other.conf': '',
    'd/vips.conf': '',
  });
  const r = loadConfig('d/main.conf', fs, { configId: 'main' });
  // $VIP is defined after n2.conf is read: it stays as written there, as in keepalived.
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), ["d/n2.conf:7:9: error: invalid address '$VIP' in virtual_ipaddress"]);
  const fixed = memFs({
    'd/main.conf': '$VIP=10.0.0.9/24\n$NODE=n2\n@main include ${NODE}.conf\nvrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n priority $PRIO\n virtual_ipaddress {\n  10.0.0.2\n }\n}\n',
    'd/n2.conf': `$PRIO=77\n${INSTANCE('    priority $PRIO\n')}`.replace('10.0.0.1/24', '$VIP'),
  });
  const ok = loadConfig('d/main.conf', fixed, { configId: 'main' });
  assert.ok(ok.config, ok.diagnostics.map(formatDiagnostic).join('\n'));
  assert.deepEqual(ok.config.instances.map((i) => [i.name, i.priority, i.virtualAddresses.map((v) => v.address)]), [['VI_1', 77, ['10.0.0.9']], ['VI_2', 77, ['10.0.0.2']]]);
  assert.deepEqual(ok.config.files, ['d/main.conf', 'd/n2.conf']);
});

// --- Bounds ----------------------------------------------------------------------------------------

test('a definition bomb ($A=${B}${B}, 25 levels: 2^25 copies) is refused at its use, fast, with one error', () => {
  const L = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const defs = [...L.slice(0, 25)].map((c, i) => `$${c}=\${${L[i + 1]}}\${${L[i + 1]}}`).join('\n');
  const started = performance.now();
  const r = parseConfigText(`${defs}\n$Z=0123456789\n${INSTANCE('    priority 100\n    notify_master "/bin/echo ${A}"\n')}`, 'b.conf', undefined, { configId: 'x' });
  const ms = performance.now() - started;
  assert.ok(ms < 2000, `${ms} ms`);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    `b.conf:31:30: error: '\${A}' expands to more than ${MAX_EXPANDED_LINE_CHARS} characters on one line (definitions that repeat each other, doubling at each level?); the line is not used`,
  ]);
  assert.equal(r.config, undefined);
});

test('a definition that uses itself, directly or through others, is an error (keepalived loops for ever)', () => {
  assert.deepEqual(expand('$A=x ${A}\nk $A\n$B=${C}\n$C=${B}\nk ${B}\n$M=a \\\n$M\nk $M\n').diags, [
    "t.conf:1:6: error: '${A}' uses itself ($A -> $A): keepalived substitutes a definition where it is used, so this never ends; the line is not used (expanded from $A at t.conf:2:3)",
    "t.conf:4:4: error: '${B}' uses itself ($B -> $C -> $B): keepalived substitutes a definition where it is used, so this never ends; the line is not used (expanded from ${C} at t.conf:3:4, ${B} at t.conf:5:3)",
    "t.conf:7:1: error: '$M' uses itself ($M -> $M): keepalived substitutes a definition where it is used, so this never ends; the line is not used (expanded from $M at t.conf:8:3)",
  ]);
});

test('a line that keeps changing, or splits into too many pieces after braces, is refused', () => {
  // Each round builds '$R' anew out of '$' and 'R' (never a reference within one round).
  assert.deepEqual(expand('$D=$\n$E=R\n$R=${D}${E}\n$R\nk\n').diags, [
    't.conf:4:1: error: this line is still changing after 16 rounds of substitution (keepalived would go on for ever); it is not used',
  ]);
  const r = expand(`x ${'{ @main y '.repeat(300)}\n`);
  assert.equal(r.lines.length, 256, 'x { and 255 more pieces, then the rest is dropped');
  assert.deepEqual(r.diags, ["t.conf:1:2555: error: this line splits into more than 256 lines at a '{' or '}' followed by '@', a definition or ~SEQ; the rest of it is not used"]);
});

test(`nesting is bounded: ${MAX_EXPANSION_DEPTH} definitions deep, ~SEQ in ~SEQ, ${MAX_SEQUENCE_ITERATIONS} repetitions in all`, () => {
  const chain = Array.from({ length: 40 }, (_, i) => `$D${i}=\${D${i + 1}}`).join('\n');
  const deep = expand(`${chain}\n$D40=end\nk $D0\n$D30=short\nk $D0\n`);
  assert.deepEqual(deep.lines.map((l) => l.map((t) => t.text).join(' ')), ['k short']);
  assert.equal(deep.diags.length, 1);
  assert.ok(deep.diags[0]!.startsWith(`t.conf:32:6: error: definitions are nested more than ${MAX_EXPANSION_DEPTH} deep at '\${D32}'; the line is not used (expanded from \${D31} at t.conf:31:6, \${D30} at t.conf:30:6, `), deep.diags[0]);
  assert.ok(deep.diags[0]!.endsWith(', ${D1} at t.conf:1:5, $D0 at t.conf:42:3)'), deep.diags[0]);
  // A definition that restarts a ~SEQ of itself: stopped at the nesting bound, once.
  const runaway = expand('$N=~SEQ(I,1,2) $N\n$N\nnot read\n');
  assert.equal(runaway.diags.length, 1);
  assert.match(runaway.diags[0]!, new RegExp(`^t\\.conf:1:16: error: expansions are nested more than ${MAX_EXPANSION_DEPTH} deep here .*; nothing from here on is read`));
  // 10^12 repetitions asked for: stopped at the total, in bounded time.
  const started = performance.now();
  const product = expand('~SEQ(A,1,10000) ~SEQ(B,1,10000) ~SEQ(C,1,10000) x\nnot read\n');
  assert.ok(performance.now() - started < 10_000);
  assert.equal(product.lines.length, 80_000, "A and B take 20000 repetitions, then 8 full rounds of C");
  assert.deepEqual(product.diags, [`t.conf:1:33: error: ~SEQ(C,1,10000): more than ${MAX_SEQUENCE_ITERATIONS} repetitions by ~SEQ and ~LST in this configuration; nothing from here on is read (expanded from ~SEQ(B=9) at t.conf:1:17, ~SEQ(A=1) at t.conf:1:1)`]);
});

test('all text made by expansion is bounded (16 MiB), and so are the words, through the loader', () => {
  const big = `$Q=${'y'.repeat(60_000)}\n${'k ${Q}\n'.repeat(400)}`;
  const r = expand(big);
  assert.ok(r.lines.length < 300, `${r.lines.length} lines`);
  assert.match(r.diags.at(-1)!, /^t\.conf:\d+:1: error: expanding definitions and sequences makes more than 16 MiB of text in this configuration; nothing from here on is read$/);
  const words = parseConfigText(`$W=${'w '.repeat(1000)}\n~SEQ(I, 1, 1000) $W\n`, 'w.conf', undefined, { configId: 'x' });
  assert.match(formatDiagnostic(words.diagnostics[0]!), /^w\.conf:1:\d+: error: more than 250000 words in this configuration; nothing from here on is read \(expanded from \$W at w\.conf:2:18, ~SEQ\(I=251\) at w\.conf:2:1\)$/);
});

// --- One file for two nodes: keepwatch -t -i ------------------------------------------------------

test('one templated file for two nodes: keepwatch -t -i node1 / -i node2 print the expected summaries', () => {
  const dir = 'test/fixtures/templating';
  for (const node of ['node1', 'node2']) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '-t', '-i', node, '-f', `${dir}/pair.conf`], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 60_000 });
    assert.equal(r.stderr, '', node);
    assert.equal(r.status, 0, node);
    assert.equal(r.stdout, readFileSync(`${ROOT}/${dir}/pair.${node}.expected`, 'utf8'), node);
  }
  // A config id the file does not know: $PRIORITY is never defined.
  const other = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config-test', '--config-id', 'node3', '-f', `${dir}/pair.conf`], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeout: 60_000 });
  assert.equal(other.status, 1);
  assert.match(other.stderr, /pair\.conf:\d+:14: error: invalid priority '\$PRIORITY': expected a whole number from 1 to 255/);
});

test('random text built from the language\'s own characters never throws and stays fast', () => {
  const pieces = ['$', '${', '}', '{', '@', '@^', '~SEQ(', '~SEQx(', '~LST(', '{A,B}', ')', ',', ' ', '\t', '\\', '#', '!', '"', '=', 'A', 'B', '_PWD', '_RANDOM 3 1', '1', '-2', '0x1f', '\n', 'include ', 'main', 'priority', '$A=', '$B=', '😀'];
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const started = performance.now();
  for (let round = 0; round < 300; round++) {
    let text = '';
    for (let k = 0; k < 200; k++) text += pieces[rand(pieces.length)];
    const r = parseConfigText(text, 'f.conf', memFs({}), { configId: 'main' });
    for (const d of r.diagnostics) {
      assert.ok(!d.message.includes('internal error'), `${formatDiagnostic(d)}\n--- input ---\n${text}`);
      assert.ok(d.location.line >= 1 && d.location.column >= 1, formatDiagnostic(d));
    }
  }
  assert.ok(performance.now() - started < 15_000);
});
