/**
 * keepalived.conf lexer. The rules follow keepalived's own reader (keepalived/core/parser.c,
 * `alloc_strvec`) and keepalived.conf(5):
 * - a statement is one line; `!` and `#` start a comment anywhere outside double quotes;
 * - `{` and `}` are tokens of their own even when glued to a word (`PASS}`);
 * - a double-quoted string is one token with its quotes removed and its spaces kept;
 * - whitespace is space, tab, CR, VT and FF (C `isspace`); a tab counts as one column;
 * - outside quotes, `\#` and `\!` are a literal `#` and `!` (keepalived `decomment`).
 * Columns are 1-based and count Unicode code points; lines are split at LF, CRLF or CR.
 * expand.ts runs before it (`@ID` lines, `$NAME`, `~SEQ`) and hands it each line with a `Locator`
 * that places every character where it was written; `joinIncludeBraces` keeps a brace glob one word.
 */
import type { SourceLocation } from './model.js';
import type { DiagnosticSink } from './diagnostics.js';

export type TokenKind = 'word' | 'open' | 'close';

export interface Token {
  readonly kind: TokenKind;
  /** The value: for a quoted string, its content without the quotes. */
  readonly text: string;
  /** The token exactly as written (quotes included). */
  readonly raw: string;
  readonly quoted: boolean;
  /** The whitespace between the previous token on the line and this one. */
  readonly lead: string;
  readonly location: SourceLocation;
}

/** One physical line's tokens; empty lines and comment-only lines give an empty array. */
export type TokenLine = readonly Token[];

/** An unquoted word: up to whitespace, a brace, a quote or a comment start. */
const WORD = /[^ \t\r\v\f{}"!#]+/y;
const ASTRAL = /[\uD800-\uDBFF][\uDC00-\uDFFF]/;

/** A cap on the words (tokens) of one configuration, shared by the files it reads. */
export interface LexBudget {
  readonly maxTokens: number;
  /** Tokens made so far; lexing stops (with an error) when it would pass `maxTokens`. */
  used: number;
}

export interface LexOptions {
  readonly budget?: LexBudget;
  /** Leave out lines without tokens (the parser skips them anyway; a file of blank lines then costs no memory). */
  readonly dropEmpty?: boolean;
}

const EMPTY: TokenLine = Object.freeze([]) as TokenLine;
const LINE_BREAK = /\r\n|\n|\r/g;

/**
 * Calls `each(line, lineNo)` for every physical line of `text` (split at LF, CRLF or CR; a leading
 * byte-order mark dropped), until it returns false.
 */
export function eachLine(text: string, each: (line: string, lineNo: number) => boolean): void {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const crs = text.includes('\r');
  let from = 0;
  for (let lineNo = 1; ; lineNo++) {
    let to: number;
    let next: number;
    if (crs) {
      LINE_BREAK.lastIndex = from;
      const m = LINE_BREAK.exec(text);
      to = m ? m.index : text.length;
      next = m ? m.index + m[0].length : -1;
    } else {
      const nl = text.indexOf('\n', from);
      to = nl < 0 ? text.length : nl;
      next = nl < 0 ? -1 : nl + 1;
    }
    if (!each(to > from ? text.slice(from, to) : '', lineNo)) break;
    if (next < 0) break;
    from = next;
  }
}

export function lex(text: string, file: string, sink: DiagnosticSink, options: LexOptions = {}): TokenLine[] {
  const out: TokenLine[] = [];
  const { budget, dropEmpty } = options;
  eachLine(text, (line, lineNo) => {
    const toks = line ? lexPhysicalLine(line, file, lineNo, sink, budget) : EMPTY;
    if (toks.length || !dropEmpty) out.push(toks);
    return !(budget && budget.used > budget.maxTokens);
  });
  return out;
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** Where character `i` of a line is; asked for in increasing order of `i`. */
export interface Locator {
  at(i: number): SourceLocation;
}

/**
 * A physical line of a file: 1-based columns of UTF-16 indexes in code points (a surrogate pair is
 * one column). Counting resumes where the last call stopped, so a line costs its length once.
 */
class PhysicalLine implements Locator {
  private index = 0;
  private column = 1;
  private readonly astral: boolean;
  constructor(
    private readonly line: string,
    private readonly file: string,
    private readonly lineNo: number,
  ) {
    this.astral = ASTRAL.test(line);
  }
  at(i: number): SourceLocation {
    return { file: this.file, line: this.lineNo, column: this.columnAt(i) };
  }
  private columnAt(i: number): number {
    if (!this.astral) return i + 1;
    const { line } = this;
    for (let k = this.index; k < i; k++) {
      // a low surrogate right after a high one is the same code point, so the same column
      const low = isLow(line.charCodeAt(k)) && k > 0 && isHigh(line.charCodeAt(k - 1));
      if (!low) this.column++;
    }
    this.index = i;
    return this.column;
  }
}

/** The tokens of one physical line (`lineNo` of `file`). */
export function lexPhysicalLine(line: string, file: string, lineNo: number, sink: DiagnosticSink, budget?: LexBudget): TokenLine {
  return lexLine(line, new PhysicalLine(line, file, lineNo), sink, budget);
}

/**
 * The tokens of one line of text whose characters `locator` places (a physical line, or a line
 * made by expanding definitions: expand.ts).
 */
export function lexLine(line: string, locator: Locator, sink: DiagnosticSink, budget?: LexBudget): TokenLine {
  let tokens: Token[] | undefined;
  const n = line.length;
  let i = 0;
  while (i < n) {
    // whitespace: C `isspace` minus the newline (space, tab, CR, VT, FF)
    const from = i;
    for (let c = line.charCodeAt(i); c === 32 || (c >= 9 && c <= 13); c = line.charCodeAt(++i));
    const lead = i === from ? '' : line.slice(from, i);
    if (i >= n) break;
    const c = line[i]!;
    if (c === '!' || c === '#') break;
    const location = locator.at(i);
    if (budget && ++budget.used > budget.maxTokens) {
      sink.error(location, `more than ${budget.maxTokens} words in this configuration; nothing from here on is read`);
      break;
    }
    tokens ??= [];
    const start = i;
    if (c === '{' || c === '}') {
      tokens.push({ kind: c === '{' ? 'open' : 'close', text: c, raw: c, quoted: false, lead, location });
      i++;
    } else if (c === '"') {
      const close = line.indexOf('"', i + 1);
      if (close < 0) {
        sink.error(location, 'unterminated quoted string: missing closing \'"\'');
        tokens.push({ kind: 'word', text: line.slice(i + 1), raw: line.slice(i), quoted: true, lead, location });
        i = n;
      } else {
        tokens.push({ kind: 'word', text: line.slice(i + 1, close), raw: line.slice(i, close + 1), quoted: true, lead, location });
        i = close + 1;
      }
    } else {
      // A word; `\#` and `\!` inside it are a literal '#' and '!' (keepalived `decomment`). Pieces
      // are joined once at the end: rewriting the text at each escape would be quadratic.
      let text = '';
      let pieces: string[] | undefined;
      let last = '';
      for (;;) {
        WORD.lastIndex = i;
        if (WORD.test(line)) {
          last = line.slice(i, WORD.lastIndex);
          if (pieces) pieces.push(last);
          else text = last;
          i = WORD.lastIndex;
        }
        const next = line[i];
        if (last.endsWith('\\') && (next === '#' || next === '!')) {
          pieces ??= [text];
          pieces[pieces.length - 1] = pieces.at(-1)!.slice(0, -1);
          pieces.push(next);
          last = next;
          i++;
        } else break;
      }
      if (pieces) text = pieces.join('');
      tokens.push({ kind: 'word', text, raw: pieces ? line.slice(start, i) : text, quoted: false, lead, location });
    }
  }
  return tokens ?? EMPTY;
}

const INCLUDE_KEYWORD = /^include[rmwba]?$/;

/**
 * On an `include` line, a brace glob is one word: `inc/{a,b}.conf` lexes as `inc/`, `{`, `a,b`,
 * `}`, `.conf`, which are joined back (keepalived takes the rest of an include line as the
 * pattern). Joined: a run of tokens with no blank between them, of two or more tokens, holding
 * a `{`. A lone `{` or `}` stays a brace (`include x.conf }` still closes a block).
 */
export function joinIncludeBraces(tokens: TokenLine): TokenLine {
  const first = tokens[0];
  if (!first || first.kind !== 'word' || first.quoted || !INCLUDE_KEYWORD.test(first.text) || tokens.length < 3) return tokens;
  if (!tokens.some((t) => t.kind === 'open')) return tokens;
  const out: Token[] = [first];
  for (let i = 1; i < tokens.length; ) {
    let j = i + 1;
    while (j < tokens.length && tokens[j]!.lead === '') j++;
    const run = tokens.slice(i, j);
    if (run.length >= 2 && run.some((t) => t.kind === 'open')) {
      out.push({
        kind: 'word',
        text: run.map((t) => t.text).join(''),
        raw: run.map((t) => t.raw).join(''),
        quoted: false,
        lead: run[0]!.lead,
        location: run[0]!.location,
      });
    } else out.push(...run);
    i = j;
  }
  return out;
}
