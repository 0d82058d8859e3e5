/**
 * keepalived's configuration preprocessor: what happens to a line before it is a statement.
 * keepalived.conf(5) "Conditional configuration and configuration id", "Parameter substitution",
 * "Sequence blocks", "List blocks"; the reference is keepalived 2.2.7's lib/parser.c (`read_line`,
 * `decomment`, `check_definition`, `find_definition`, `replace_param`, `add_seq`, `add_lst`), whose
 * rules this follows line for line:
 *
 * - A line is read, its comments removed (`decomment`: `!`/`#` outside double quotes; `\#`, `\!` are
 *   literal; leading and trailing blanks go; a trailing `\` stays).
 * - `@ID rest` keeps `rest` when ID is the config id (`-i`, default the short host name); `@^ID rest`
 *   keeps it when ID is not. Nothing after the id: the line is dropped.
 * - `$NAME=VALUE` (no space before `=`; NAME `[A-Za-z_][A-Za-z0-9_]*`) defines NAME; the value is
 *   stored as written and substituted when used, not when defined. A value ending in `\` is
 *   multi-line: each following line ending in `\` adds a line, the first one without ends it (a
 *   truly empty line ends it early; comment-only lines are skipped).
 * - `~SEQ(VAR, END)`, `~SEQ(VAR, START, END)`, `~SEQ(VAR, START, STEP, END)` (`~SEQx`: VAR in
 *   hexadecimal) repeat the rest of the line with $VAR set to each value; numbers as C `strtol`
 *   base 0 (`0x..` hex, `0..` octal); START defaults to 1 (-1 if END < 0), STEP to +1 or -1.
 *   `~LST(VAR, v1, v2, ...)` and `~LST({A, B}, {a1, b1}, {a2, b2})` repeat it over listed values.
 *   Both nest (`~SEQ(A,1,3) ~SEQ(B,1,2) x${A}.${B}`) and run in full before the next line.
 * - Any other line with a `$`: `$NAME` (followed by a blank, `,`, `)` or the end) and `${NAME}` are
 *   replaced by NAME's value, and the value is scanned again where it now stands (so definitions
 *   may use definitions, and a value may build a name with what follows it). An undefined name
 *   stays as written (so `$1`, `$(cmd)` and `${HOME}` in scripts are untouched). A multi-line value
 *   is used only at the end of a line: its first line replaces the reference, its other lines follow
 *   as lines of their own. After a replacement the line loses its comments again, and if it starts
 *   with `@` or still holds a `$` it goes through these steps once more.
 * - Predefined: `${_PWD}` (the directory of the file being read), `${_INSTANCE}` (the config id),
 *   `${_RANDOM [MIN [MAX]]}` (0-32767 by default), `${_HASH}` (`#`), `${_BANG}` (`!`).
 * - After a `{` or `}` outside quotes, what follows is read as a new line (keepalived's
 *   `line_residue`): `x { @node1 priority 100` works there too.
 *
 * A line with none of `@`, `$`, `~` goes to the lexer as it is, and so does any line these steps
 * leave unchanged: for a configuration without them, tokens and diagnostics are what they were.
 *
 * Where keepwatch differs on purpose: what keepalived would loop on for ever or truncate, it
 * refuses with an error and drops the line (a definition that uses itself, an expansion over the
 * caps below); a `~SEQ` variable must be a name, and its numbers may be written at any length; a
 * definition with a space before `=` is an error (keepalived reads the line as an unknown keyword);
 * `$NAME` left undefined gets a warning when a defined name is one typo away; a multi-line
 * definition ends with its file (keepalived goes on into the next file read) and cannot start
 * inside an expansion; `include` lines made by `@ID`, `$NAME` or `~SEQ` are read in the order made
 * (keepalived's include stack reads those of one `~SEQ` last first, and its man page warns that
 * such includes "will not work" in its child processes).
 *
 * Every character keeps where it was written: a token from a definition's value is placed at the
 * value (file:line:col), with which expansion brought it (`SourceLocation.expansion`: `$VIP at
 * f.conf:9:5`, `~SEQ(I=2) at f.conf:3:1`), and diagnostics add that to their message.
 *
 * Bounds (each an error at the line that hits it; the totals stop the reading of the configuration):
 * one expanded line at most MAX_EXPANDED_LINE_CHARS; all text made by expansion at most
 * MAX_EXPANDED_CHARS; expansions nested at most MAX_EXPANSION_DEPTH deep; one `~SEQ`/`~LST` at most
 * MAX_SEQUENCE_VALUES values and all of them MAX_SEQUENCE_ITERATIONS; MAX_SUBSTITUTIONS
 * substitutions; MAX_DEFINITIONS names; MAX_RESCANS passes over one line. So `$A=${B}${B}`,
 * `$B=${C}${C}`, ... (each level doubling) is refused at the first line that uses it, after
 * MAX_EXPANDED_LINE_CHARS characters of work. The words of expanded lines count towards the
 * loader's word cap like any other.
 *
 * Pure: text in, token lines out (through `onLine`, in reading order, so the loader reads an
 * `include` before the lines after it, with the definitions made so far); `${_RANDOM}` uses the
 * injected `random`; `${_PWD}` is the file's directory made absolute against the working
 * directory (as keepalived's getcwd() after its chdir to that directory).
 */
import { dirname, resolve } from 'node:path';
import type { SourceLocation } from './model.js';
import { closestMatch, formatLocation, type DiagnosticSink } from './diagnostics.js';
import { eachLine, joinIncludeBraces, lexLine, lexPhysicalLine, type LexBudget, type Locator, type TokenLine } from './lexer.js';

/** One line after expansion; keepalived's own line buffer is 1024 bytes. */
export const MAX_EXPANDED_LINE_CHARS = 64 * 1024;
/** All text made by expansion in one configuration (the size of all files together, MAX_TOTAL_BYTES). */
export const MAX_EXPANDED_CHARS = 16 << 20;
/** Definitions in definitions, multi-line values in multi-line values, `~SEQ` in `~SEQ`. */
export const MAX_EXPANSION_DEPTH = 32;
/** Values of one `~SEQ` or `~LST` (a VLAN range is 4094). */
export const MAX_SEQUENCE_VALUES = 10_000;
/** Repetitions by all `~SEQ` and `~LST` of one configuration. */
export const MAX_SEQUENCE_ITERATIONS = 100_000;
/** Substitutions of `$NAME` in one configuration. */
export const MAX_SUBSTITUTIONS = 1_000_000;
/** Names defined in one configuration. */
export const MAX_DEFINITIONS = 10_000;
/** Characters of a name; a longer `$NAME` is not a reference. */
export const MAX_NAME_CHARS = 256;
/** Passes over one line (keepalived rescans a line after a replacement that leaves a `$`). */
export const MAX_RESCANS = 16;
/** Lines of their own that one line may split into after braces (`{ @id ...`). */
export const MAX_LINE_PIECES = 256;
/** Did-you-mean searches for undefined `$NAME`s in one configuration. */
const MAX_GUESSES = 1000;

export interface ExpandOptions {
  /** keepalived's config id (`-i`): `@ID` lines and `${_INSTANCE}`. Undefined: no `@ID` line is kept. */
  readonly configId?: string;
  /** `${_RANDOM}`: a number in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

// ---------------------------------------------------------------------------------------------
// Text that remembers where each character was written.

interface Run {
  /** Index in the text where the run starts; it lasts to the next run. */
  readonly at: number;
  readonly file: string;
  readonly line: number;
  /** Column of the run's first character; the others follow it (in code points). */
  readonly column: number;
  readonly via?: string;
}

const SURROGATE = /[\uD800-\uDFFF]/;
const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** `inner, outer`: how a piece of text came to be here, innermost expansion first. */
function joinVia(inner: string | undefined, outer: string | undefined): string | undefined {
  if (!inner) return outer;
  return outer ? `${inner}, ${outer}` : inner;
}

function run(at: number, file: string, line: number, column: number, via: string | undefined): Run {
  return via ? { at, file, line, column, via } : { at, file, line, column };
}

/** A string whose characters each know their source place. */
export class SText {
  private cps: Int32Array | undefined;
  private readonly astral: boolean;

  constructor(
    readonly text: string,
    /** Sorted by `at`; the first starts at 0 (none for the empty text). */
    readonly runs: readonly Run[],
  ) {
    this.astral = SURROGATE.test(text);
  }

  static physical(line: string, file: string, lineNo: number): SText {
    return new SText(line, [run(0, file, lineNo, 1, undefined)]);
  }

  /** `text` placed at `loc` (text that was never written: a `~SEQ` value, `${_PWD}`). */
  static at(text: string, loc: SourceLocation): SText {
    return new SText(text, text ? [run(0, loc.file, loc.line, loc.column, loc.expansion)] : []);
  }

  get length(): number {
    return this.text.length;
  }

  /** Code points in text[0..i). */
  private cp(i: number): number {
    if (!this.astral) return i;
    if (!this.cps) {
      const t = this.text;
      const cps = new Int32Array(t.length + 1);
      for (let k = 0, n = 0; k < t.length; k++) {
        cps[k] = n;
        if (!(isLow(t.charCodeAt(k)) && k > 0 && isHigh(t.charCodeAt(k - 1)))) n++;
        cps[k + 1] = n;
      }
      this.cps = cps;
    }
    return this.cps[i]!;
  }

  /** Index in `runs` of the run holding character i. */
  runIndex(i: number): number {
    const { runs } = this;
    let lo = 0;
    let hi = runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (runs[mid]!.at <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  columnAt(r: Run, i: number): number {
    return r.column + this.cp(i) - this.cp(r.at);
  }

  /** Where character i was written; `outer` is added to the expansions that brought it. */
  location(i: number, outer?: string): SourceLocation {
    const r = this.runs[this.runIndex(Math.min(i, this.text.length - 1))];
    if (!r) return { file: '<expansion>', line: 1, column: 1 };
    const via = joinVia(r.via, outer);
    const loc = { file: r.file, line: r.line, column: this.columnAt(r, Math.max(r.at, Math.min(i, this.text.length))) };
    return via ? { ...loc, expansion: via } : loc;
  }

  slice(from: number, to = this.text.length): SText {
    if (from <= 0 && to >= this.text.length) return this;
    const b = new Builder();
    b.append(this, from, to);
    return b.build();
  }

  /** The same text brought here by one more expansion (the innermost). */
  withVia(via: string): SText {
    return new SText(
      this.text,
      this.runs.map((r) => run(r.at, r.file, r.line, r.column, joinVia(via, r.via))),
    );
  }
}

class Builder {
  private readonly parts: string[] = [];
  private readonly runs: Run[] = [];
  length = 0;

  /** Appends src[from..to), its expansions followed by `outer`. */
  append(src: SText, from: number, to: number, outer?: string): void {
    if (to <= from) return;
    for (let r = src.runIndex(from); r < src.runs.length && src.runs[r]!.at < to; r++) {
      const x = src.runs[r]!;
      const start = Math.max(x.at, from);
      this.runs.push(run(this.length + start - from, x.file, x.line, src.columnAt(x, start), joinVia(x.via, outer)));
    }
    this.parts.push(src.text.slice(from, to));
    this.length += to - from;
  }

  /** Appends text that was not written anywhere, placed at `loc`. */
  appendAt(text: string, loc: SourceLocation): void {
    if (!text) return;
    this.runs.push(run(this.length, loc.file, loc.line, loc.column, loc.expansion));
    this.parts.push(text);
    this.length += text.length;
  }

  build(): SText {
    return new SText(this.parts.join(''), this.runs);
  }
}

class STextLocator implements Locator {
  constructor(private readonly s: SText) {}
  at(i: number): SourceLocation {
    return this.s.location(i);
  }
}

const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';

/**
 * keepalived's `decomment`: leading blanks and the comment (`!` or `#` outside double quotes, to
 * the end) removed, `\#` and `\!` outside quotes made literal, trailing blanks removed; a `\` ending
 * the line (even inside the comment) is kept as the line's last character (a continuation).
 */
export function decomment(s: SText): SText {
  const t = s.text;
  const n = t.length;
  let i = 0;
  while (i < n && isBlank(t[i])) i++;
  const start = i;
  let quote = false;
  let comment = -1;
  let cont = -1;
  const drops: number[] = [];
  while (i < n) {
    const c = t[i];
    if (c === '"') {
      if (comment < 0) quote = !quote;
      i++;
    } else if (c === '\\') {
      if (i + 1 >= n) {
        cont = i;
        break;
      }
      if (!quote && (t[i + 1] === '#' || t[i + 1] === '!')) drops.push(i);
      i += 2;
    } else {
      if ((c === '!' || c === '#') && !quote && comment < 0) comment = i;
      i++;
    }
  }
  let end = comment >= 0 ? comment : cont >= 0 ? cont : n;
  while (end > start && isBlank(t[end - 1])) end--;
  if (start === 0 && end === n && drops.length === 0) return s;
  const b = new Builder();
  let from = start;
  for (const d of drops) {
    if (d >= end) break;
    b.append(s, from, d);
    from = d + 1;
  }
  b.append(s, from, end);
  if (cont >= 0) b.append(s, cont, cont + 1);
  return b.build();
}

/** The text for the lexer: `#` and `!` outside quotes (literal by now) escaped as `\#`, `\!`. */
function escapeForLexer(s: SText): SText {
  const t = s.text;
  if (!/[#!]/.test(t)) return s;
  const b = new Builder();
  let last = 0;
  for (let k = 0; k < t.length; k++) {
    const c = t[k];
    if (c === '"') {
      const q = t.indexOf('"', k + 1);
      if (q < 0) break;
      k = q;
    } else if (c === '#' || c === '!') {
      b.append(s, last, k);
      b.appendAt('\\', s.location(k));
      last = k;
    }
  }
  b.append(s, last, t.length);
  return b.build();
}

// ---------------------------------------------------------------------------------------------
// Definitions, references, sequences.

type Predefined = 'pwd' | 'instance' | 'random' | 'hash' | 'bang';

interface Definition {
  readonly name: string;
  /** The value as written (a user's definition). */
  readonly value?: SText;
  /** A value never written (a `~SEQ`/`~LST` value): placed where it is used. */
  readonly text?: string;
  readonly predefined?: Predefined;
  readonly multiline: boolean;
}

const PREDEFINED: readonly (readonly [string, Predefined])[] = [
  ['_PWD', 'pwd'],
  ['_INSTANCE', 'instance'],
  ['_RANDOM', 'random'],
  ['_HASH', 'hash'],
  ['_BANG', 'bang'],
];

/** A `$NAME` or `${NAME ...}` reference, read at a `$`. */
interface Reference {
  readonly name: string;
  readonly braces: boolean;
  /** `${_RANDOM 1 10}`: "1 10". */
  readonly params?: string;
  /** Characters it takes, the `$` included. */
  readonly length: number;
  /** Nothing follows it on the line (where a multi-line value may be used). */
  readonly atEnd: boolean;
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
const DEFINITION = /^\$([A-Za-z_][A-Za-z0-9_]*)=/;
const SPACED_DEFINITION = /^\$([A-Za-z_][A-Za-z0-9_]*)[ \t]+=/;
const DEFINITION_AT = /\$[A-Za-z_][A-Za-z0-9_]*=/y;
/** Lines with none of these need no expansion: they go to the lexer as they are. */
const MAY_EXPAND = /[@$~]/;
const LOOKAHEAD = MAX_NAME_CHARS + 64;

/** A place in the pending text of a line being substituted. */
interface Frame {
  readonly st: SText;
  pos: number;
  /** The definitions whose values this text is in (to refuse a definition that uses itself). */
  readonly ancestry: readonly string[];
  /** The expansion that brought this text (for the characters copied from it). */
  readonly via: string | undefined;
}

/** Lines of a multi-line value after its first, read after the line that used it. */
interface Queued {
  readonly lines: readonly SText[];
  readonly ancestry: readonly string[];
}

interface FileState {
  readonly path: string;
  readonly out: TokenLine[];
  readonly onLine: (tokens: TokenLine) => void;
  /** A multi-line definition being read. */
  multi?: { readonly name: string; readonly value: Builder; readonly at: SourceLocation };
}

interface Context {
  readonly file: FileState;
  readonly depth: number;
  readonly ancestry: readonly string[];
  /** The line comes from the file itself (a multi-line definition may start only there). */
  readonly fromFile: boolean;
  /** The physical line it was read from: emitted unchanged, it is lexed as it is. */
  readonly original?: { readonly st: SText; readonly raw: string; readonly lineNo: number };
}

/** C `strtol(text + p, &end, 0)`: the value and where it stopped (`end === p`: no number). */
function strtol(t: string, p: number): { value: number; end: number } {
  let k = p;
  while (k < t.length && /[ \t\n\v\f\r]/.test(t[k]!)) k++;
  let negative = false;
  if (t[k] === '+' || t[k] === '-') negative = t[k++] === '-';
  let base = 10;
  if (t[k] === '0' && (t[k + 1] === 'x' || t[k + 1] === 'X') && /[0-9a-fA-F]/.test(t[k + 2] ?? '')) {
    base = 16;
    k += 2;
  } else if (t[k] === '0') base = 8;
  const from = k;
  let value = 0;
  for (; k < t.length; k++) {
    const d = parseInt(t[k]!, 36);
    if (Number.isNaN(d) || d >= base) break;
    value = value * base + d;
  }
  if (k === from) return { value: 0, end: p };
  return { value: negative ? -value : value, end: k };
}

/** One `~SEQ`/`~LST`: its variables and, for each repetition, their values. */
interface Sequence {
  readonly label: string;
  readonly vars: readonly string[];
  readonly count: number;
  values(k: number): readonly string[];
  readonly rest: SText;
}

/**
 * The preprocessor of one configuration: definitions made in one file hold in the files read
 * after it (and in the rest of the file that included it), as in keepalived.
 */
export class Expander {
  private readonly defs = new Map<string, Definition>();
  private readonly random: () => number;
  private substitutions = 0;
  private guesses = 0;
  private iterations = 0;
  private expandedChars = 0;
  private readonly noted = new Set<string>();
  /** Set once a cap of the whole configuration is hit: nothing more is read. */
  stopped = false;

  constructor(
    private readonly sink: DiagnosticSink,
    private readonly options: ExpandOptions = {},
    private readonly budget?: LexBudget,
  ) {
    this.random = options.random ?? Math.random;
    for (const [name, predefined] of PREDEFINED) this.defs.set(name, { name, predefined, multiline: false });
  }

  /**
   * The token lines of `text` (the file `path`), without empty ones; `onLine` sees each as it is
   * made, before the next line is expanded.
   */
  expandFile(text: string, path: string, onLine: (tokens: TokenLine) => void = () => {}): TokenLine[] {
    const file: FileState = { path, out: [], onLine };
    eachLine(text, (raw, lineNo) => {
      if (this.stopped || this.overBudget()) return false;
      if (file.multi) {
        this.continueDefinition(file, raw, lineNo);
        return true;
      }
      if (!raw) return true;
      if (!MAY_EXPAND.test(raw)) {
        this.push(file, lexPhysicalLine(raw, path, lineNo, this.sink, this.budget));
        return true;
      }
      const st = decomment(SText.physical(raw, path, lineNo));
      if (st.length) this.line(st, { file, depth: 0, ancestry: [], fromFile: true, original: { st, raw, lineNo } });
      return true;
    });
    if (file.multi) this.endDefinition(file);
    return file.out;
  }

  private overBudget(): boolean {
    return this.budget !== undefined && this.budget.used > this.budget.maxTokens;
  }

  private push(file: FileState, lexed: TokenLine): void {
    if (!lexed.length) return;
    const tokens = joinIncludeBraces(lexed);
    file.out.push(tokens);
    file.onLine(tokens);
  }

  /** Counts text made by expansion; past the cap, says so once and stops. */
  private spend(chars: number, at: SourceLocation): boolean {
    this.expandedChars += chars;
    if (this.expandedChars <= MAX_EXPANDED_CHARS) return true;
    this.sink.error(at, `expanding definitions and sequences makes more than ${MAX_EXPANDED_CHARS / (1 << 20)} MiB of text in this configuration; nothing from here on is read`);
    this.stopped = true;
    return false;
  }

  private noteOnce(at: SourceLocation, message: string): void {
    const key = `${at.file}:${at.line}:${at.column}:${message}`;
    if (this.noted.has(key) || this.noted.size >= 1000) return;
    this.noted.add(key);
    this.sink.warning(at, message);
  }

  // --- One line ----------------------------------------------------------------------------------

  /**
   * keepalived's `read_line` for one line: conditional, definition, sequence, substitution; then
   * what follows a brace as a line of its own, then the other lines of multi-line values it used.
   */
  private line(s0: SText, ctx0: Context): void {
    if (this.stopped || !s0.length) return;
    if (ctx0.depth > MAX_EXPANSION_DEPTH) {
      this.sink.error(s0.location(0), `expansions are nested more than ${MAX_EXPANSION_DEPTH} deep here (a definition or ~SEQ that brings itself back?); nothing from here on is read`);
      this.stopped = true;
      return;
    }
    if (s0 !== ctx0.original?.st && !this.spend(s0.length, s0.location(0))) return;
    const queued: Queued[] = [];
    let s: SText | undefined = s0;
    let ctx = ctx0;
    for (let pieces = 0; s && !this.stopped; pieces++) {
      if (pieces >= MAX_LINE_PIECES) {
        this.sink.error(s.location(0), `this line splits into more than ${MAX_LINE_PIECES} lines at a '{' or '}' followed by '@', a definition or ~SEQ; the rest of it is not used`);
        break;
      }
      const final = this.passes(s, ctx, queued);
      s = final?.length ? this.emit(final, ctx) : undefined;
      ctx = { ...ctx, original: undefined };
    }
    for (let q = queued.length - 1; q >= 0 && !this.stopped; q--) {
      const { lines, ancestry } = queued[q]!;
      for (const l of lines) {
        if (this.stopped) return;
        this.line(l, { file: ctx0.file, depth: ctx0.depth + 1, ancestry, fromFile: false });
      }
    }
  }

  /** The steps of `read_line` on one line, repeated after a substitution: the line to emit, if any. */
  private passes(s: SText, ctx: Context, queued: Queued[]): SText | undefined {
    let final: SText | undefined = s;
    for (let pass = 0; ; pass++) {
      if (pass >= MAX_RESCANS) {
        this.sink.error(s.location(0), `this line is still changing after ${MAX_RESCANS} rounds of substitution (keepalived would go on for ever); it is not used`);
        return undefined;
      }
      if (final.text.startsWith('@')) {
        final = this.conditional(final);
        if (!final) return undefined;
      }
      if (final.text.startsWith('$') && this.definition(final, ctx)) return undefined;
      if (final.text.startsWith('~SEQ') || final.text.startsWith('~LST')) {
        this.sequence(final, ctx);
        return undefined;
      }
      if (final.text.startsWith('~') || !final.text.includes('$')) return final;
      const r = this.substitute(final, ctx);
      if (!r) return undefined;
      queued.push(...r.queued);
      if (!r.found) return final;
      if (!this.spend(r.out.length, s.location(0))) return undefined;
      final = decomment(r.out);
      if (!(final.text.startsWith('@') || final.text.includes('$'))) return final;
    }
  }

  /** `@ID rest` / `@^ID rest`: rest, or undefined when the line is not for this config id. */
  private conditional(s: SText): SText | undefined {
    const t = s.text;
    const negated = t[1] === '^';
    const from = negated ? 2 : 1;
    let space = from;
    while (space < t.length && !isBlank(t[space])) space++;
    if (space >= t.length) return undefined;
    const matches = this.options.configId !== undefined && t.slice(from, space) === this.options.configId;
    if (matches === negated) return undefined;
    while (space < t.length && isBlank(t[space])) space++;
    return s.slice(space);
  }

  /** `$NAME=VALUE`: defined (true), or not a definition (false). */
  private definition(s: SText, ctx: Context): boolean {
    const m = DEFINITION.exec(s.text);
    if (!m) {
      const spaced = SPACED_DEFINITION.exec(s.text);
      if (!spaced) return false;
      const name = spaced[1]!;
      this.sink.error(s.location(0), `'$${name} =': a definition has no space before '=' (keepalived reads this line as a keyword '$${name}'); write '$${name}=VALUE'`);
      return true;
    }
    const name = m[1]!;
    const at = s.location(0);
    if (name.length > MAX_NAME_CHARS) {
      this.sink.error(at, `a definition's name is at most ${MAX_NAME_CHARS} characters; this one is ${name.length}`);
      return true;
    }
    let v = m[0].length;
    while (isBlank(s.text[v])) v++;
    const value = s.slice(v);
    if (!value.text.endsWith('\\')) {
      this.define({ name, value, multiline: false }, at);
      return true;
    }
    if (!ctx.fromFile) {
      this.sink.error(at, `a multi-line definition ('$${name}=...\\') cannot start inside an expansion; it is not defined`);
      return true;
    }
    let end = value.length - 1;
    while (end > 0 && isBlank(value.text[end - 1])) end--;
    const b = new Builder();
    if (end > 0) {
      b.append(value, 0, end);
      b.appendAt('\n', value.location(value.length - 1));
    }
    ctx.file.multi = { name, value: b, at };
    return true;
  }

  /** A line of a multi-line definition (keepalived `read_line`, `multiline_param_def`). */
  private continueDefinition(file: FileState, raw: string, lineNo: number): void {
    const multi = file.multi!;
    if (raw === '') {
      this.endDefinition(file);
      return;
    }
    const d = decomment(SText.physical(raw, file.path, lineNo));
    if (!d.length) return;
    const more = d.text.endsWith('\\');
    let end = d.length;
    if (more) {
      end--;
      while (end > 0 && isBlank(d.text[end - 1])) end--;
    }
    const len = end + (more ? 1 : 0);
    if (!more && multi.value.length === 0) {
      // keepalived: a definition whose lines after the first add up to one line is single-line.
      file.multi = undefined;
      this.define({ name: multi.name, value: d.slice(0, end), multiline: false }, multi.at);
      return;
    }
    if (len >= 2 || (len && !more)) {
      multi.value.append(d, 0, end);
      if (more) multi.value.appendAt('\n', d.location(d.length - 1));
    }
    if (!more) this.endDefinition(file);
  }

  private endDefinition(file: FileState): void {
    const multi = file.multi!;
    file.multi = undefined;
    const value = multi.value.build();
    this.define({ name: multi.name, value, multiline: value.length > 0 }, multi.at);
  }

  private define(def: Definition, at: SourceLocation): void {
    if (!this.defs.has(def.name) && this.defs.size >= MAX_DEFINITIONS + PREDEFINED.length) {
      this.sink.error(at, `more than ${MAX_DEFINITIONS} names are defined in this configuration; '$${def.name}' is not`);
      return;
    }
    this.defs.set(def.name, def);
  }

  // --- Substitution --------------------------------------------------------------------------------

  /**
   * keepalived's `replace_param`: references replaced left to right, each value scanned again
   * where it now stands. Undefined when the line is refused (reported).
   */
  private substitute(s: SText, ctx: Context): { out: SText; found: boolean; queued: Queued[] } | undefined {
    const out = new Builder();
    const bottom: Frame = { st: s, pos: 0, ancestry: ctx.ancestry, via: undefined };
    const stack: Frame[] = [bottom];
    const queued: Queued[] = [];
    let found = false;
    /** The reference of the line itself being expanded (where a line too long is reported). */
    let outer: { shown: string; at: SourceLocation } | undefined;
    const put = (f: Frame, from: number, to: number): boolean => {
      out.append(f.st, from, to, f.via);
      if (out.length <= MAX_EXPANDED_LINE_CHARS) return true;
      const where = outer?.at ?? s.location(0);
      const what = outer ? `'${outer.shown}' expands` : 'this line expands';
      this.sink.error(where, `${what} to more than ${MAX_EXPANDED_LINE_CHARS} characters on one line (definitions that repeat each other, doubling at each level?); the line is not used`);
      return false;
    };
    while (stack.length) {
      const f = stack[stack.length - 1]!;
      const t = f.st.text;
      if (f.pos >= t.length) {
        stack.pop();
        continue;
      }
      const i = t.indexOf('$', f.pos);
      const to = i < 0 ? t.length : i;
      if (to > f.pos && !put(f, f.pos, to)) return undefined;
      f.pos = to;
      if (i < 0) continue;
      const ref = readReference(stack);
      const def = ref && this.defs.get(ref.name);
      const usable = def && (ref.params === undefined || def.predefined === 'random') && (!def.multiline || ref.atEnd);
      if (!ref || !def || !usable) {
        if (ref) this.unresolved(ref, def, f.st.location(i, f.via));
        if (!put(f, i, i + 1)) return undefined;
        f.pos = i + 1;
        continue;
      }
      const at = f.st.location(i, f.via);
      const shown = ref.braces ? `\${${ref.name}}` : `$${ref.name}`;
      if (f.ancestry.includes(def.name)) {
        const chain = [...f.ancestry.slice(f.ancestry.indexOf(def.name)), def.name].map((n) => `$${n}`).join(' -> ');
        this.sink.error(at, `'${shown}' uses itself (${chain}): keepalived substitutes a definition where it is used, so this never ends; the line is not used`);
        return undefined;
      }
      if (f.ancestry.length >= MAX_EXPANSION_DEPTH) {
        this.sink.error(at, `definitions are nested more than ${MAX_EXPANSION_DEPTH} deep at '${shown}'; the line is not used`);
        return undefined;
      }
      if (++this.substitutions > MAX_SUBSTITUTIONS) {
        this.sink.error(at, `more than ${MAX_SUBSTITUTIONS} substitutions in this configuration; nothing from here on is read`);
        this.stopped = true;
        return undefined;
      }
      if (f === bottom) outer = { shown, at };
      const value = this.valueOf(def, ref, at, ctx);
      if (!value) return undefined;
      consume(stack, ref.length);
      found = true;
      const ancestry = [...f.ancestry, def.name];
      const via = def.value ? joinVia(`${shown} at ${formatLocation(at)}`, at.expansion) : undefined;
      let first = value;
      if (def.multiline) {
        const nl = value.text.indexOf('\n');
        if (nl >= 0) {
          first = value.slice(0, nl);
          const lines: SText[] = [];
          for (let from = nl + 1; from < value.length; ) {
            let e = value.text.indexOf('\n', from);
            if (e < 0) e = value.length;
            if (e > from) lines.push(via ? value.slice(from, e).withVia(via) : value.slice(from, e));
            from = e + 1;
          }
          if (lines.length) queued.push({ lines, ancestry });
        }
      }
      stack.push({ st: first, pos: 0, ancestry, via });
      if (/^[ \t]*~/.test(value.text)) {
        // keepalived stops substituting the line at a value that starts with '~'.
        for (let k = stack.length - 1; k >= 0; k--) if (!put(stack[k]!, stack[k]!.pos, stack[k]!.st.length)) return undefined;
        break;
      }
    }
    return { out: out.build(), found, queued };
  }

  /** A reference left as written: a warning when it looks like a typo or a misplaced multi-line value. */
  private unresolved(ref: Reference, def: Definition | undefined, at: SourceLocation): void {
    const shown = ref.braces ? `\${${ref.name}}` : `$${ref.name}`;
    if (def?.multiline && !ref.atEnd) {
      this.noteOnce(at, `'${shown}' is a multi-line definition: keepalived uses one only at the end of a line, so it stays as written here`);
      return;
    }
    if (def || this.sink.saturated || ++this.guesses > MAX_GUESSES) return;
    const names: string[] = [];
    for (const d of this.defs.values()) if (!d.predefined) names.push(d.name);
    const guess = closestMatch(ref.name, names);
    if (guess === undefined) return;
    this.noteOnce(at, `'${shown}' is not defined, so it stays as written (as keepalived leaves it); did you mean '${ref.braces ? `\${${guess}}` : `$${guess}`}'?`);
  }

  /** The text that replaces a reference (undefined: refused, reported). */
  private valueOf(def: Definition, ref: Reference, at: SourceLocation, ctx: Context): SText | undefined {
    if (def.value) return def.value;
    if (def.text !== undefined) return SText.at(def.text, at);
    switch (def.predefined) {
      case 'pwd':
        return SText.at(resolve(dirname(ctx.file.path)), at);
      case 'instance':
        return SText.at(this.options.configId ?? '', at);
      case 'hash':
        return SText.at('#', at);
      case 'bang':
        return SText.at('!', at);
      case 'random': {
        const params = ref.params?.split(/ +/) ?? [];
        const min = params[0] === undefined ? 0 : Number(params[0]);
        const max = params[1] === undefined ? 32767 : Number(params[1]);
        if (params.length > 2) this.noteOnce(at, `\${_RANDOM} takes at most MIN and MAX; '${params.slice(2).join(' ')}' is ignored (keepalived logs it too)`);
        if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) {
          this.sink.error(at, `\${_RANDOM ${ref.params}}: MIN must not be more than MAX`);
          return undefined;
        }
        return SText.at(String(min + Math.floor(this.random() * (max - min + 1))), at);
      }
      default:
        return SText.at('', at);
    }
  }

  // --- ~SEQ and ~LST -------------------------------------------------------------------------------

  private sequence(s: SText, ctx: Context): void {
    const seq = s.text.startsWith('~SEQ') ? this.parseSeq(s, ctx) : this.parseLst(s);
    if (!seq) return;
    const at = s.location(0);
    if (seq.count > MAX_SEQUENCE_VALUES) {
      this.sink.error(at, `${seq.label} repeats its line ${seq.count} times; keepwatch allows at most ${MAX_SEQUENCE_VALUES}; not expanded`);
      return;
    }
    if (this.iterations + seq.count > MAX_SEQUENCE_ITERATIONS) {
      this.sink.error(at, `${seq.label}: more than ${MAX_SEQUENCE_ITERATIONS} repetitions by ~SEQ and ~LST in this configuration; nothing from here on is read`);
      this.stopped = true;
      return;
    }
    this.iterations += seq.count;
    const kind = seq.label.slice(0, 4);
    const where = `at ${formatLocation(at)}`;
    for (let k = 0; k < seq.count && !this.stopped; k++) {
      const values = seq.values(k);
      seq.vars.forEach((name, v) => this.define({ name, text: values[v] ?? '', multiline: false }, at));
      const via = `${kind}(${seq.vars.map((name, v) => `${name}=${values[v] ?? ''}`).join(', ')}) ${where}`;
      this.line(seq.rest.withVia(via), { file: ctx.file, depth: ctx.depth + 1, ancestry: ctx.ancestry, fromFile: false });
    }
  }

  /** keepalived `add_seq`. */
  private parseSeq(s: SText, ctx: Context): Sequence | undefined {
    const t = s.text;
    const at = s.location(0);
    const close = t.indexOf(')');
    const label = close >= 0 ? t.slice(0, close + 1) : t;
    const usage = `expected ~SEQ(VAR, END), ~SEQ(VAR, START, END) or ~SEQ(VAR, START, STEP, END)`;
    const invalid = (why: string): undefined => {
      this.sink.error(at, `invalid ${label}: ${why}`);
      return undefined;
    };
    let p = 4;
    const hex = t[p] === 'x';
    if (hex) p++;
    while (isBlank(t[p])) p++;
    if (t[p] !== '(') return invalid(usage);
    p++;
    while (isBlank(t[p])) p++;
    const varFrom = p;
    while (p < t.length && !' \t,)'.includes(t[p]!)) p++;
    const name = t.slice(varFrom, p);
    while (isBlank(t[p])) p++;
    if (!name || t[p] !== ',') return invalid(usage);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.length > MAX_NAME_CHARS) return invalid(`'${name}' is not a name ([A-Za-z_][A-Za-z0-9_]*)`);
    p++;
    if (close < 0) return invalid(`missing ')'`);
    // The numbers may be definitions: `~SEQ(I, 1, $COUNT)`.
    const params = s.slice(p, close + 1);
    const r = this.substitute(params, ctx);
    if (!r) return undefined;
    if (r.queued.length) return invalid('a number is a multi-line definition');
    const n = r.found ? r.out.text : params.text;
    const nums: number[] = [];
    let q = 0;
    for (;;) {
      const { value, end } = strtol(n, q);
      if (!Number.isSafeInteger(value)) return invalid(`${n.slice(q, end).trim()} is out of range`);
      nums.push(value);
      q = end;
      while (isBlank(n[q])) q++;
      if (n[q] === ')') break;
      if (n[q] !== ',' || nums.length === 3) return invalid(usage);
      q++;
    }
    let start: number;
    let step: number;
    let end: number;
    if (nums.length === 1) {
      end = nums[0]!;
      step = end < 1 ? -1 : 1;
      start = end < 0 ? -1 : 1;
    } else if (nums.length === 2) {
      [start, end] = nums as [number, number];
      step = start <= end ? 1 : -1;
    } else {
      [start, step, end] = nums as [number, number, number];
      if (!step || (start < end && step < 0) || (start > end && step > 0)) return invalid('STEP must not be 0 and must go from START towards END');
    }
    if (hex && (start < 0 || end < 0)) return invalid('~SEQx takes numbers from 0 up');
    let restFrom = close + 1;
    while (isBlank(t[restFrom])) restFrom++;
    const count = Math.floor((end - start) / step) + 1;
    return {
      label,
      vars: [name],
      count,
      values: (k) => {
        const v = start + k * step;
        return [hex ? v.toString(16) : String(v)];
      },
      rest: s.slice(restFrom),
    };
  }

  /** keepalived `add_lst`: `~LST(VAR, v1, v2)` or `~LST({A, B}, {a1, b1}, {a2, b2})`. */
  private parseLst(s: SText): Sequence | undefined {
    const t = s.text;
    const at = s.location(0);
    const close = t.indexOf(')');
    const label = close >= 0 ? t.slice(0, close + 1) : t;
    const invalid = (why: string): undefined => {
      this.sink.error(at, `invalid ${label}: ${why}`);
      return undefined;
    };
    const usage = 'expected ~LST(VAR, VALUE, ...) or ~LST({VAR, VAR}, {VALUE, VALUE}, ...)';
    let p = 4;
    const skip = (): void => {
      while (isBlank(t[p])) p++;
    };
    /** A list `a, b` or `{a, b}` up to one of `stops`; words end at a blank, ',', '}' or ')'. */
    const items = (stops: string): string[] | undefined => {
      skip();
      const braced = t[p] === '{';
      if (braced) {
        p++;
        skip();
      }
      const words: string[] = [];
      for (;;) {
        const from = p;
        while (p < t.length && !' \t,})'.includes(t[p]!)) p++;
        words.push(t.slice(from, p));
        skip();
        if (braced ? t[p] === '}' : true) break;
        if (t[p] !== ',') return undefined;
        p++;
        skip();
      }
      if (braced) {
        p++;
        skip();
      }
      return stops.includes(t[p] ?? '') ? words : undefined;
    };
    skip();
    if (t[p] !== '(') return invalid(usage);
    p++;
    const vars = items(',');
    if (!vars || vars.some((v) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v) || v.length > MAX_NAME_CHARS)) return invalid(usage);
    const sets: string[][] = [];
    while (t[p] === ',') {
      p++;
      const set = items(',)');
      if (!set) return invalid(usage);
      if (set.length > vars.length) return invalid(`a set of values has more values than there are variables (${vars.length})`);
      sets.push(set);
      if (sets.length > MAX_SEQUENCE_VALUES) break;
    }
    if (t[p] !== ')' && sets.length <= MAX_SEQUENCE_VALUES) return invalid(usage);
    if (!sets.length) return invalid('no values');
    let restFrom = close + 1;
    while (isBlank(t[restFrom])) restFrom++;
    return { label, vars, count: sets.length, values: (k) => sets[k]!, rest: s.slice(restFrom) };
  }

  // --- Output --------------------------------------------------------------------------------------

  /**
   * A finished line to the lexer; after a `{` or `}` outside quotes, a `@`, a definition or a
   * `~SEQ`/`~LST` starts a new line (keepalived's `line_residue`): that rest is returned, to be
   * read as a line.
   */
  private emit(s: SText, ctx: Context): SText | undefined {
    const t = s.text;
    const n = t.length;
    for (let p = 0; ; ) {
      let b = -1;
      for (let k = p; k < n; k++) {
        const c = t[k];
        if (c === '"') {
          const q = t.indexOf('"', k + 1);
          if (q < 0) break;
          k = q;
        } else if (c === '{' || c === '}') {
          b = k;
          break;
        }
      }
      if (b < 0) break;
      let r = b + 1;
      while (isBlank(t[r])) r++;
      if (r < n && startsLine(t, r)) {
        this.emitOne(s.slice(0, b + 1), ctx);
        return s.slice(r);
      }
      p = r;
    }
    this.emitOne(s, ctx);
    return undefined;
  }

  private emitOne(s: SText, ctx: Context): void {
    if (this.stopped || this.overBudget()) return;
    const { file, original } = ctx;
    if (original && s === original.st) {
      this.push(file, lexPhysicalLine(original.raw, file.path, original.lineNo, this.sink, this.budget));
      return;
    }
    const text = escapeForLexer(s);
    this.push(file, lexLine(text.text, new STextLocator(text), this.sink, this.budget));
  }
}

/** At t[r], after a brace: what keepalived reads as the start of a line of its own. */
function startsLine(t: string, r: number): boolean {
  if (t[r] === '@') return true;
  if (t.startsWith('~SEQ', r) || t.startsWith('~LST', r)) return true;
  DEFINITION_AT.lastIndex = r;
  return t[r] === '$' && DEFINITION_AT.test(t);
}

/**
 * keepalived `find_definition` at a `$` (the top frame's position): `$NAME` followed by a blank,
 * `,`, `)` or the end, or `${NAME}` (`${NAME 1 2}` for parameters). Undefined: not a reference.
 */
function readReference(stack: readonly Frame[]): Reference | undefined {
  // What follows the '$', across the frames (a value may end with '$' or a part of a name).
  let la = '';
  let more = false;
  for (let k = stack.length - 1; k >= 0; k--) {
    const f = stack[k]!;
    const left = f.st.text.slice(f.pos, f.pos + LOOKAHEAD - la.length);
    la += left;
    if (la.length >= LOOKAHEAD) {
      more = f.pos + left.length < f.st.length || k > 0;
      break;
    }
  }
  const braces = la[1] === '{';
  const from = braces ? 2 : 1;
  if (!NAME_START.test(la[from] ?? '')) return undefined;
  let e = from + 1;
  while (e < la.length && NAME_CHAR.test(la[e]!)) e++;
  if (e >= la.length && more) return undefined; // longer than any name
  const name = la.slice(from, e);
  let length: number;
  let params: string | undefined;
  if (braces) {
    let p = e;
    let first = -1;
    let last = -1;
    while (p < la.length && (la[p] === ' ' || (la[p]! >= '0' && la[p]! <= '9'))) {
      if (la[p] !== ' ') {
        if (first < 0) first = p;
        last = p;
      }
      p++;
    }
    if (first >= 0 && last + 1 !== p) return undefined;
    if (la[p] !== '}') return undefined;
    if (first >= 0) params = la.slice(first, last + 1);
    length = p + 1;
  } else {
    if (e < la.length && !' \t,)'.includes(la[e]!)) return undefined;
    length = e;
  }
  const atEnd = length === la.length && !more;
  return params === undefined ? { name, braces, length, atEnd } : { name, braces, params, length, atEnd };
}

/** Moves past `length` characters of the pending text (frames run out and are dropped). */
function consume(stack: Frame[], length: number): void {
  let left = length;
  while (left > 0 && stack.length) {
    const f = stack[stack.length - 1]!;
    const avail = f.st.length - f.pos;
    if (avail > left) {
      f.pos += left;
      return;
    }
    left -= avail;
    stack.pop();
  }
}
