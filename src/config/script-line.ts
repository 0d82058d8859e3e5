/**
 * Command lines as keepalived reads them (`notify*`, `notify_fifo_script`, `vrrp_script`'s
 * `script`, keepalived 2.2.7 lib/notify.c `notify_script_init`, `set_script_params_array`):
 *
 * 1. The whole line is split again with quotes and escapes (lib/parser.c
 *    `alloc_strvec_quoted_escaped`): `"` and `'` group words (quotes removed, a quoted part may be
 *    glued to unquoted text: `ab"c d"e` is one word), a backslash escapes (`\n`, `\t`, `\xHH`,
 *    `\NNN` octal, `\cC`, and `\C` for any other C: `\"`, `\\`, `\ `).
 * 2. The first word after the keyword is the command — one word, or a quoted string — and is split
 *    the same way into the argv that runs (so `"/bin/x.sh a 'b c'"` runs `/bin/x.sh` with `a` and
 *    `b c`).
 * 3. The words after it are `[user [group]]` (notify lines: `notify /bin/x.sh nobody` runs
 *    `/bin/x.sh` as nobody, without `nobody` as an argument). `vrrp_script`'s `script` reads only
 *    the command (its user is the block's `user` keyword) and keepalived ignores the words after it:
 *    `script /usr/bin/pgrep nginx` runs `pgrep` with no argument (seen with keepalived 2.2.7).
 *
 * Pure: the statement's tokens in, words with their places out.
 */
import type { SourceLocation } from './model.js';
import type { Statement } from './parser.js';

/** A word of a line, and where it starts in the text it was split from (a UTF-16 index). */
export interface QuotedWord {
  readonly text: string;
  readonly start: number;
}

export type QuotedSplit = { readonly ok: true; readonly words: readonly QuotedWord[] } | { readonly ok: false; readonly message: string; readonly at: number };

/** keepalived's WHITE_SPACE_STR. */
const BLANKS = ' \t\f\n\r\v';
const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { a: 7, b: 8, E: 0x1b, f: 12, n: 10, r: 13, t: 9, v: 11 };
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);
const isOctal = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '7';

/**
 * keepalived's `alloc_strvec_quoted_escaped`. An escape that makes a NUL byte (which would end the
 * word in keepalived, and cannot be passed to a program) or a byte above 0x7f (keepalived works on
 * bytes, keepwatch on characters) is refused.
 */
export function splitQuotedEscaped(src: string): QuotedSplit {
  const words: QuotedWord[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    while (i < n && BLANKS.includes(src[i]!)) i++;
    if (i >= n) break;
    const start = i;
    let out = '';
    let quote: '"' | "'" | undefined;
    for (; i < n; ) {
      const c = src[i]!;
      if (c === '\\') {
        const escAt = i;
        i++;
        if (i >= n) return { ok: false, message: "a '\\' at the end of the line escapes nothing", at: escAt };
        let code: number;
        let numeric = true;
        const e = src[i]!;
        if (e === 'x' && isHex(src[i + 1])) {
          code = 0;
          i++;
          // keepalived reads every hex digit that follows, keeping the last byte's worth.
          while (isHex(src[i])) code = ((code << 4) | parseInt(src[i++]!, 16)) & 0xff;
        } else if (e === 'c' && i + 1 < n) {
          code = src.charCodeAt(i + 1) & 0x1f;
          i += 2;
        } else if (isOctal(e)) {
          code = 0;
          for (let k = 0; k < 3 && isOctal(src[i]); k++) code = ((code << 3) + Number(src[i++])) & 0xff;
        } else {
          numeric = false;
          i++;
          const simple = SIMPLE_ESCAPES[e];
          if (simple === undefined) {
            // `\C`: C itself (`\"`, `\\`, `\ `), whatever character it is.
            out += e;
            continue;
          }
          code = simple;
        }
        if (code === 0) return { ok: false, message: 'an escape that makes a NUL character cannot be passed to a program', at: escAt };
        if (numeric && code > 0x7f) return { ok: false, message: 'an escape that makes a byte above 0x7f is not supported; write the character itself', at: escAt };
        out += String.fromCharCode(code);
        continue;
      }
      if (quote) {
        if (c === quote) quote = undefined;
        else out += c;
        i++;
        continue;
      }
      if (c === '"' || c === "'") {
        quote = c;
        i++;
        continue;
      }
      if (BLANKS.includes(c)) break;
      out += c;
      i++;
    }
    if (quote) return { ok: false, message: `missing terminating ${quote}`, at: start };
    words.push({ text: out, start });
  }
  return { ok: true, words };
}

/** A word of a statement, with its place in the file. */
export interface LineWord {
  readonly text: string;
  readonly location: SourceLocation;
}

export type ScriptLine =
  | {
      readonly ok: true;
      /** The first word or quoted string after the keyword, as keepalived reads it. */
      readonly command: string;
      readonly commandLocation: SourceLocation;
      /** What runs: the command split again. */
      readonly argv: readonly string[];
      /** The words after the command (`[user [group]]` on notify lines). */
      readonly rest: readonly LineWord[];
    }
  | { readonly ok: false; readonly message: string; readonly location: SourceLocation };

/**
 * The arguments of `stmt` as keepalived's reader leaves them (comments removed, `\#` and `\!`
 * already plain), each character placed in its file.
 */
function argumentText(stmt: Statement): { text: string; at(i: number): SourceLocation } {
  let text = '';
  const spans: { from: number; location: SourceLocation }[] = [];
  stmt.args.forEach((t, k) => {
    if (k > 0) text += t.lead;
    spans.push({ from: text.length, location: t.location });
    // A quoted token's raw form keeps its quotes (they matter to the second split); an unquoted
    // one's text has the `\#` and `\!` of the first reader resolved, as keepalived's decomment does.
    // An unterminated quoted token was reported by the lexer already: closed here, so the
    // second reading does not report it again.
    text += t.quoted ? (t.raw.length >= 2 && t.raw.endsWith('"') ? t.raw : `${t.raw}"`) : t.text;
  });
  const at = (i: number): SourceLocation => {
    let s = spans[0];
    for (const x of spans) if (x.from <= i) s = x;
    if (!s) return stmt.keyword.location;
    return { ...s.location, column: s.location.column + (i - s.from) };
  };
  return { text, at };
}

/** A `notify*` / `script` / `notify_fifo_script` statement, read as keepalived reads it. */
export function readScriptLine(stmt: Statement): ScriptLine {
  const { text, at } = argumentText(stmt);
  const line = splitQuotedEscaped(text);
  if (!line.ok) return { ok: false, message: line.message, location: at(line.at) };
  const first = line.words[0];
  if (!first) return { ok: false, message: 'missing command', location: stmt.keyword.location };
  const argv = splitQuotedEscaped(first.text);
  if (!argv.ok) return { ok: false, message: `${argv.message} in the command '${first.text}'`, location: at(first.start) };
  if (argv.words.length === 0) return { ok: false, message: 'the command is empty', location: at(first.start) };
  return {
    ok: true,
    command: first.text,
    commandLocation: at(first.start),
    argv: argv.words.map((w) => w.text),
    rest: line.words.slice(1).map((w) => ({ text: w.text, location: at(w.start) })),
  };
}
