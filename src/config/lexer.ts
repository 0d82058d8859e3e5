/**
 * keepalived.conf lexer. The rules follow keepalived's own reader (keepalived/core/parser.c,
 * `alloc_strvec`) and keepalived.conf(5):
 * - a statement is one line; `!` and `#` start a comment anywhere outside double quotes;
 * - `{` and `}` are tokens of their own even when glued to a word (`PASS}`);
 * - a double-quoted string is one token with its quotes removed and its spaces kept;
 * - whitespace is space, tab, CR, VT and FF (C `isspace`); a tab counts as one column;
 * - outside quotes, `\#` and `\!` are a literal `#` and `!` (keepalived `decomment`).
 * Columns are 1-based and count Unicode code points; lines are split at LF, CRLF or CR.
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

export function lex(text: string, file: string, sink: DiagnosticSink): TokenLine[] {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const lines = text.includes('\r') ? text.split(/\r\n|\n|\r/) : text.split('\n');
  const out: TokenLine[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) out[i] = lexLine(lines[i]!, file, i + 1, sink);
  return out;
}

/** The 1-based column of UTF-16 index `i`: code points, so a surrogate pair is one column. */
function columnOf(line: string, i: number, astral: boolean): number {
  return astral ? Array.from(line.slice(0, i)).length + 1 : i + 1;
}

function lexLine(line: string, file: string, lineNo: number, sink: DiagnosticSink): TokenLine {
  const tokens: Token[] = [];
  const n = line.length;
  const astral = ASTRAL.test(line);
  let i = 0;
  while (i < n) {
    // whitespace: C `isspace` minus the newline (space, tab, CR, VT, FF)
    const from = i;
    for (let c = line.charCodeAt(i); c === 32 || (c >= 9 && c <= 13); c = line.charCodeAt(++i));
    const lead = i === from ? '' : line.slice(from, i);
    if (i >= n) break;
    const c = line[i]!;
    if (c === '!' || c === '#') break;
    const location: SourceLocation = { file, line: lineNo, column: columnOf(line, i, astral) };
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
      // A word; `\#` and `\!` inside it are a literal '#' and '!' (keepalived `decomment`).
      let text = '';
      for (;;) {
        WORD.lastIndex = i;
        if (WORD.test(line)) {
          text += line.slice(i, WORD.lastIndex);
          i = WORD.lastIndex;
        }
        const next = line[i];
        if (text.endsWith('\\') && (next === '#' || next === '!')) {
          text = text.slice(0, -1) + next;
          i++;
        } else break;
      }
      tokens.push({ kind: 'word', text, raw: line.slice(start, i), quoted: false, lead, location });
    }
  }
  return tokens;
}
