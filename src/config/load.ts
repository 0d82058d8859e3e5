/**
 * Entry points: read a keepalived.conf and its includes, lex, parse, then interpret (pass 1,
 * interpret.ts) and assemble (pass 2, assemble.ts) the statements into a `KeepalivedConfig`.
 *
 * File access goes through `ConfigFs` only, so everything here is testable with an in-memory
 * file system. Each file's lines go through expand.ts first (keepalived's `@id` conditionals,
 * `$NAME` definitions, `~SEQ`/`~LST`), in reading order: an `include` is read when its line is
 * reached, so definitions made before it hold inside it, and those it makes hold after it.
 *
 * `include PATTERN` (keepalived.conf(5) "include") may appear wherever a statement may; the
 * pattern is relative to the directory of the file that includes it (absolute patterns as they
 * are) and may use `*`, `?`, `[...]` in any path segment and csh braces (`{a,b}`, nested, as glob(3)
 * GLOB_BRACE: alternatives in the order written, each one's matches sorted). What a problem is
 * follows keepalived 2.2.7's include checks (lib/parser.c `open_and_check_glob`,
 * `check_glob_file`, `check_include`, `include_check_set`): the checks in force are the variant's
 * (`include` none, `includer` read, `includem` read+match, `includew` read+match+wildcard_match,
 * `includeb` read+brace_match, `includea` all) plus `include_check` in global_defs (saved when an
 * include opens a file and restored after it) or `-e` (all); the main file has read+match+
 * wildcard_match. A problem whose check is in force is an error (keepalived refuses to start);
 * otherwise it is a warning and the file is skipped (keepalived logs it and runs):
 * - match: an explicit file (or a glob's directory) that does not exist;
 * - wildcard_match: a glob that matches nothing;
 * - brace_match: a brace alternative that matches nothing (then, when in force, none is read);
 * - read: a match that is a directory (skipped silently otherwise, as before), not a regular
 *   file, executable (keepalived reads no executable configuration file), or unreadable.
 * An include cycle and includes nested more than 20 deep are always errors.
 *
 * Hostile input stays bounded (every limit is an error at the `include` that goes over it, and
 * loading stops reading files from there on):
 * - only regular files are read; a FIFO, socket, device or directory, named or matched by a glob,
 *   is refused without being opened (files.ts);
 * - a file is at most `MAX_FILE_BYTES`; one configuration reads at most `MAX_FILE_READS` files and
 *   `MAX_TOTAL_BYTES` in all, so a file included many times (`a` includes `b` twice, `b` includes
 *   `c` twice, ...: 2^n reads) is stopped after `MAX_FILE_READS` reads, not expanded exponentially;
 * - a glob pattern matches at most `MAX_GLOB_MATCHES` paths (none is read past that), and globbing
 *   reads at most `MAX_DIR_ENTRIES` directory entries per configuration.
 * Everything here is synchronous (a reload is one bounded burst of reads; no FIFO is ever opened);
 * only `-f -` (standard input, asked for by the operator) waits for its writer.
 */
import { opendirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { ConfigLoadResult, SourceLocation } from './model.js';
import { DiagnosticSink, didYouMean, sortDiagnostics } from './diagnostics.js';
import { FileRefusedError, formatBytes, readRegularFile, readStdin, refuseExecutable, statKind, type FileKind } from './files.js';
import type { LexBudget, Token, TokenLine } from './lexer.js';
import { Expander, type ExpandOptions } from './expand.js';
import { parse, type Statement } from './parser.js';
import { NEEDS_BLOCK, SECRET_KEYWORDS, TOP_LEVEL_BLOCKS } from './schema.js';
import { interpret } from './interpret.js';
import { assemble } from './assemble.js';

export interface ConfigFs {
  /**
   * The text of the regular file `path`. An implementation must refuse anything else without
   * blocking (throw a `FileRefusedError` 'ENOTREG') and should stop past `maxBytes` ('EFBIG'); the
   * loader checks the size of what it gets as well.
   */
  readFile(path: string, maxBytes: number): string;
  /** The names in `dir`; may stop (throw) past `maxEntries`, which the loader checks as well. */
  listDir(dir: string, maxEntries: number): string[];
  isFile(path: string): boolean;
  /**
   * What `path` is (symlinks followed), undefined when nothing is there. Optional: without it a
   * glob returns regular files only (`isFile`); with it, a glob also returns FIFOs, sockets and
   * devices, so that they are refused with an error rather than skipped in silence.
   */
  kind?(path: string): FileKind | undefined;
  /** Standard input, for a main file named `-` or `/dev/stdin` (never for an include). */
  readStdin?(maxBytes: number): string;
}

/** A directory with more entries than a glob may read. */
class TooManyEntriesError extends Error {
  readonly code = 'E2BIG';
}

export const nodeConfigFs: ConfigFs = {
  readFile: (path, maxBytes) => readRegularFile(path, maxBytes, refuseExecutable).bytes.toString('utf8'),
  listDir: (dir, maxEntries) => {
    const d = opendirSync(dir);
    const names: string[] = [];
    try {
      for (let e = d.readSync(); e; e = d.readSync()) {
        if (names.length >= maxEntries) throw new TooManyEntriesError(`more than ${maxEntries} entries in '${dir}'`);
        names.push(e.name);
      }
    } finally {
      d.closeSync();
    }
    return names;
  },
  isFile: (path) => statKind(path) === 'regular file',
  kind: statKind,
  // `-f /dev/stdin` (or `-`): read descriptor 0, which also works when stdin is a socket.
  readStdin: (maxBytes) => readStdin(maxBytes).toString('utf8'),
};

/** keepalived has no limit of its own that we mirror; 20 levels is far beyond any real layout. */
export const MAX_INCLUDE_DEPTH = 20;
/** One file: a large real keepalived.conf (hundreds of instances) is well under 1 MiB. */
export const MAX_FILE_BYTES = 4 << 20;
/** All files of one configuration together. */
export const MAX_TOTAL_BYTES = 16 << 20;
/** File reads for one configuration (the main file included; a file included twice counts twice). */
export const MAX_FILE_READS = 1000;
/** Paths one glob pattern may match. */
export const MAX_GLOB_MATCHES = 1000;
/** Directory entries globbing may read for one configuration. */
export const MAX_DIR_ENTRIES = 100_000;
/**
 * Words (tokens) of one configuration. A keepalived.conf of 2,000 instances of 50 words each has
 * 100k; every word costs a few hundred bytes and a few microseconds through lexer, parser and
 * validation, so this bounds a hostile file to well under a second and ~100 MB.
 */
export const MAX_TOKENS = 250_000;

/** Characters of an include pattern (Linux PATH_MAX). */
export const MAX_PATTERN_CHARS = 4096;
/** Brace nesting in an include pattern. */
export const MAX_BRACE_DEPTH = 64;

const HINTS = { needsBlock: NEEDS_BLOCK, topLevelBlocks: TOP_LEVEL_BLOCKS, secrets: SECRET_KEYWORDS, nestedWithArgsNoBlock: new Set(['track_file']) };
const GLOB_MAGIC = /[*?[]/;
/** `include` and keepalived's stricter variants (`includer`, `includem`, ...). */
const INCLUDE = /^include[rmwba]?$/;

/** keepalived's include checks (lib/parser.c `include_t`). */
const READ = 1;
const MATCH = 2;
const WILDCARD_MATCH = 4;
const BRACE_MATCH = 8;
const ALL_CHECKS = READ | MATCH | WILDCARD_MATCH | BRACE_MATCH;
/** The checks each variant adds (lib/parser.c `check_include`); the main file has read+match+wildcard_match. */
const VARIANT_CHECKS: Readonly<Record<string, number>> = {
  include: 0,
  includer: READ,
  includem: READ | MATCH,
  includew: READ | MATCH | WILDCARD_MATCH,
  includeb: READ | BRACE_MATCH,
  includea: ALL_CHECKS,
};
const MAIN_FILE_CHECKS = READ | MATCH | WILDCARD_MATCH;
/** `include_check` words (lib/parser.c `include_check_set`). */
const CHECK_WORDS: Readonly<Record<string, number>> = { read: READ, match: MATCH, wildcard_match: WILDCARD_MATCH, brace_match: BRACE_MATCH };
/** For a warning: the variant that would make the problem an error. */
const STRICTER: Readonly<Record<number, string>> = { [READ]: 'includer', [MATCH]: 'includem', [BRACE_MATCH]: 'includeb', [WILDCARD_MATCH]: 'includew' };

export interface LoadOptions extends ExpandOptions {
  /** keepalived's `-e` (`--all-config`): every include check in force from the start. */
  readonly allConfig?: boolean;
}

/** keepalived's default config id: the host name up to its first '.' (keepalived/core/main.c). */
export function defaultConfigId(host: string = hostname()): string {
  const dot = host.indexOf('.');
  return dot < 0 ? host : host.slice(0, dot);
}

/**
 * glob(3) GLOB_BRACE: `{a,b}` alternatives (nested, several per pattern, `\` escapes), in the
 * order written; a `{` without its `}` is literal (the pattern is used as it is).
 */
export function expandBraces(pattern: string, max: number = MAX_GLOB_MATCHES, depth = 0): string[] {
  let begin = -1;
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === '{') {
      begin = i;
      break;
    }
  }
  if (begin < 0) return [pattern];
  if (depth >= MAX_BRACE_DEPTH) throw new GlobLimitError(`nests braces more than ${MAX_BRACE_DEPTH} deep`);
  const alternatives: string[] = [];
  let nested = 0;
  let start = begin + 1;
  let end = -1;
  for (let i = begin + 1; i < pattern.length && end < 0; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '{') nested++;
    else if (c === '}') {
      if (nested-- === 0) {
        alternatives.push(pattern.slice(start, i));
        end = i;
      }
    } else if (c === ',' && nested === 0) {
      alternatives.push(pattern.slice(start, i));
      start = i + 1;
    }
  }
  if (end < 0) return [pattern];
  const prefix = pattern.slice(0, begin);
  const rest = pattern.slice(end + 1);
  const out: string[] = [];
  for (const a of alternatives) {
    for (const p of expandBraces(prefix + a + rest, max, depth + 1)) {
      if (out.length >= max) throw new GlobLimitError(`has more than ${max} brace alternatives`);
      out.push(p);
    }
  }
  return out;
}

/** An unescaped `{` (keepalived `have_brace`). */
function hasBrace(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === '{') return true;
  }
  return false;
}

type GlobToken =
  | { readonly t: 'char'; readonly c: string }
  | { readonly t: 'any' }
  | { readonly t: 'star' }
  | { readonly t: 'class'; readonly negate: boolean; readonly chars: ReadonlySet<string>; readonly ranges: readonly (readonly [number, number])[] };

/**
 * One glob path segment as a matcher: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`/`[^x]`, `\x`; an
 * unterminated `[` is literal, and a segment with a reversed range (`[z-a]`) matches itself only.
 * Matching walks name and pattern with one star to back up to (the glob(3) way), so it costs at
 * most |name| x |pattern| steps: no regular expression, whose backtracking `*a*a*a*a*b` would
 * make exponential.
 */
export function segmentMatcher(seg: string): (name: string) => boolean {
  const cp = Array.from(seg);
  const tokens: GlobToken[] = [];
  for (let i = 0; i < cp.length; i++) {
    const c = cp[i]!;
    if (c === '*') {
      if (tokens.at(-1)?.t !== 'star') tokens.push({ t: 'star' });
    } else if (c === '?') tokens.push({ t: 'any' });
    else if (c === '\\' && i + 1 < cp.length) tokens.push({ t: 'char', c: cp[++i]! });
    else if (c === '[') {
      let j = i + 1;
      if (cp[j] === '!' || cp[j] === '^') j++;
      if (cp[j] === ']') j++;
      while (j < cp.length && cp[j] !== ']') j++;
      if (j >= cp.length) {
        tokens.push({ t: 'char', c });
        continue;
      }
      let body = cp.slice(i + 1, j);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      const chars = new Set<string>();
      const ranges: [number, number][] = [];
      for (let k = 0; k < body.length; k++) {
        if (body[k + 1] === '-' && k + 2 < body.length) {
          const lo = body[k]!.codePointAt(0)!;
          const hi = body[k + 2]!.codePointAt(0)!;
          if (lo > hi) return (name) => name === seg; // as a RegExp would refuse it
          ranges.push([lo, hi]);
          k += 2;
        } else chars.add(body[k]!);
      }
      tokens.push({ t: 'class', negate, chars, ranges });
      i = j;
    } else tokens.push({ t: 'char', c });
  }
  const one = (tok: GlobToken, ch: string): boolean => {
    if (tok.t === 'char') return tok.c === ch;
    if (tok.t === 'any') return true;
    if (tok.t === 'star') return false;
    const code = ch.codePointAt(0)!;
    const hit = tok.chars.has(ch) || tok.ranges.some(([lo, hi]) => code >= lo && code <= hi);
    return hit !== tok.negate;
  };
  return (name) => {
    const s = Array.from(name);
    let ti = 0;
    let si = 0;
    let starT = -1;
    let starS = 0;
    while (si < s.length) {
      const tok = tokens[ti];
      if (tok && tok.t === 'star') {
        starT = ti++;
        starS = si;
      } else if (tok && one(tok, s[si]!)) {
        ti++;
        si++;
      } else if (starT >= 0) {
        ti = starT + 1;
        si = ++starS;
      } else return false;
    }
    while (tokens[ti]?.t === 'star') ti++;
    return ti === tokens.length;
  };
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A glob that went over a limit: `reason` completes "include pattern 'P' ...". */
export class GlobLimitError extends Error {
  override name = 'GlobLimitError';
}

/** What a glob met besides its matches (keepalived counts these as missing files and directories). */
export interface GlobFindings {
  /** Directories that could not be listed, and paths of fixed segments that do not exist. */
  readonly missing: string[];
  /** Matches that are directories (never returned). */
  readonly directories: string[];
}

export interface GlobLimits {
  /** Paths the pattern may match (also bounds the directories walked for it). */
  readonly maxMatches: number;
  /** Directory entries left to read; decreased as entries are read. */
  entriesLeft: number;
}

/**
 * Expands a glob `pattern` relative to `baseDir` over `fs.listDir` (Node 20 has no fs.glob).
 * Like glob(3), a wildcard does not match a leading `.`. Returned sorted: the regular files, and
 * where `fs.kind` tells them apart also FIFOs, sockets and devices (so the caller refuses them
 * aloud); directories and dangling links are not returned. Throws `GlobLimitError` past `limits`.
 */
export function expandGlob(
  fs: ConfigFs,
  pattern: string,
  baseDir: string,
  limits: GlobLimits = { maxMatches: MAX_GLOB_MATCHES, entriesLeft: MAX_DIR_ENTRIES },
  findings?: GlobFindings,
): string[] {
  let paths = [isAbsolute(pattern) ? '/' : baseDir];
  for (const seg of pattern.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (!GLOB_MAGIC.test(seg)) {
      paths = paths.map((p) => join(p, seg));
      continue;
    }
    const matches = segmentMatcher(seg);
    const next: string[] = [];
    for (const p of paths) {
      let names: string[];
      try {
        names = fs.listDir(p === '' ? '.' : p, limits.entriesLeft);
      } catch (e) {
        if (e instanceof TooManyEntriesError) throw new GlobLimitError(`reads more than ${MAX_DIR_ENTRIES} directory entries (${e.message})`);
        findings?.missing.push(p);
        continue;
      }
      if (names.length > limits.entriesLeft) throw new GlobLimitError(`reads more than ${MAX_DIR_ENTRIES} directory entries (in '${p}')`);
      limits.entriesLeft -= names.length;
      for (const n of names.slice().sort(byCodeUnit)) {
        if ((!n.startsWith('.') || seg.startsWith('.')) && matches(n)) {
          if (next.length >= limits.maxMatches) throw new GlobLimitError(`matches more than ${limits.maxMatches} paths`);
          next.push(join(p, n));
        }
      }
    }
    paths = next;
  }
  const wanted = (p: string): boolean => {
    try {
      if (!fs.kind) return fs.isFile(p);
      const k = fs.kind(p);
      if (k === undefined) findings?.missing.push(p);
      else if (k === 'directory') findings?.directories.push(p);
      return k !== undefined && k !== 'directory';
    } catch {
      findings?.missing.push(p);
      return false;
    }
  };
  return paths.filter(wanted).sort(byCodeUnit);
}

function reason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'ELOOP') return 'too many levels of symbolic links';
  if (e instanceof FileRefusedError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

class Loader {
  /** Files read, in order (the model's `files`). */
  readonly files: string[] = [];
  /** Files tried, in order (for sorting diagnostics, including files that could not be read). */
  readonly attempted: string[] = [];
  private readonly seen = new Set<string>();
  /** Times each path was read (to name a file included over and over). */
  private readonly reads = new Map<string, number>();
  private fileReads = 0;
  private totalBytes = 0;
  private readonly glob: GlobLimits = { maxMatches: MAX_GLOB_MATCHES, entriesLeft: MAX_DIR_ENTRIES };
  private readonly tokens: LexBudget = { maxTokens: MAX_TOKENS, used: 0 };
  private readonly expander: Expander;
  /** The statements each `include` (its keyword token) brought, read when its line was reached. */
  private readonly included = new Map<Token, Statement[]>();
  /** keepalived's `include_check`: checks in force for every include (`-e`, global_defs). */
  private includeCheck: number;
  /** Set once a per-configuration limit is hit: no file is read after that. */
  private stopped = false;

  constructor(
    private readonly fs: ConfigFs,
    readonly sink: DiagnosticSink,
    options: LoadOptions,
  ) {
    const { allConfig, ...expand } = options;
    this.expander = new Expander(sink, expand, this.tokens);
    this.includeCheck = allConfig ? ALL_CHECKS : 0;
  }

  private attempt(path: string): void {
    if (this.seen.has(path)) return;
    this.seen.add(path);
    this.attempted.push(path);
  }

  /** Reports the first limit hit (at the include that hit it) and stops reading files. */
  private stop(site: SourceLocation, message: string): void {
    this.sink.error(site, message);
    this.stopped = true;
  }

  /**
   * A problem with an include: an error when `check` is in force (`checks`), else a warning that
   * says keepalived carries on too and which variant makes it an error.
   */
  private problem(checks: number, check: number, at: SourceLocation, message: string, keyword?: string): void {
    if (checks & check || !keyword) {
      this.sink.error(at, message);
      return;
    }
    const stricter = STRICTER[check]!;
    const note =
      check === BRACE_MATCH
        ? `the files that exist are read (keepalived does the same for '${keyword}'; '${stricter}' makes it an error)`
        : `not included (keepalived logs this for '${keyword}' and runs without it; '${stricter}' makes it an error)`;
    this.sink.warning(at, `${message}; ${note}`);
  }

  /**
   * `site`: the include's argument and `keyword` (`include`, `includer`, ...); undefined for the
   * main file. `checks`: the include checks in force.
   */
  loadFile(path: string, chain: readonly string[], site?: SourceLocation, checks = MAIN_FILE_CHECKS, keyword?: string): Statement[] {
    const where = site ?? { file: path, line: 1, column: 1 };
    if (this.stopped) return [];
    if (this.fileReads >= MAX_FILE_READS) {
      const n = this.reads.get(path) ?? 0;
      const again = n > 1 ? `, and this one was read ${n} times already (included over and over?)` : '';
      this.stop(where, `'${path}' is not read: one configuration reads at most ${MAX_FILE_READS} files${again}; no further file is read`);
      return [];
    }
    this.fileReads++;
    this.reads.set(path, (this.reads.get(path) ?? 0) + 1);
    this.attempt(path);
    const maxBytes = Math.min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - this.totalBytes);
    let text: string;
    try {
      const stdin = !site && (path === '-' || path === '/dev/stdin') && this.fs.readStdin !== undefined;
      text = stdin ? this.fs.readStdin!(MAX_FILE_BYTES) : this.fs.readFile(path, maxBytes);
    } catch (e) {
      if (e instanceof FileRefusedError && e.code === 'EFBIG') {
        if (maxBytes < MAX_FILE_BYTES) this.stop(where, `'${path}' is not read: one configuration is at most ${formatBytes(MAX_TOTAL_BYTES)} in all its files; no further file is read`);
        else this.sink.error(where, `cannot read '${path}': ${reason(e)}`);
      } else {
        const code = (e as { code?: unknown } | null)?.code;
        this.problem(checks, code === 'ENOENT' || code === 'ENOTDIR' ? MATCH : READ, where, `cannot read '${path}': ${reason(e)}`, keyword);
      }
      return [];
    }
    return this.parseText(text, path, chain, where);
  }

  parseText(text: string, path: string, chain: readonly string[], where?: SourceLocation): Statement[] {
    this.attempt(path);
    const bytes = Buffer.byteLength(text);
    if (bytes > MAX_FILE_BYTES) {
      // An in-memory text or a ConfigFs that does not stop at maxBytes itself.
      this.sink.error(where ?? { file: path, line: 1, column: 1 }, `cannot read '${path}': it is larger than ${formatBytes(MAX_FILE_BYTES)}, the most keepwatch reads from one file`);
      return [];
    }
    if (this.totalBytes + bytes > MAX_TOTAL_BYTES) {
      this.stop(where ?? { file: path, line: 1, column: 1 }, `'${path}' is not read: one configuration is at most ${formatBytes(MAX_TOTAL_BYTES)} in all its files; no further file is read`);
      return [];
    }
    this.totalBytes += bytes;
    this.files.push(path);
    const here = [...chain, path];
    const lines = this.expander.expandFile(text, path, (tokens) => this.onLine(tokens, path, here));
    // Reported by the lexer or the expander.
    if (this.tokens.used > this.tokens.maxTokens || this.expander.stopped) this.stopped = true;
    const stmts = parse(lines, HINTS, this.sink);
    return this.expand(stmts);
  }

  /**
   * Each token line as expand.ts makes it: an `include` is read now (so that the definitions made
   * so far hold in it), `include_check` takes effect now (as keepalived's does, for what follows).
   */
  private onLine(tokens: TokenLine, file: string, chain: readonly string[]): void {
    for (let k = 0; k < tokens.length; k++) {
      const t = tokens[k]!;
      // A statement's keyword: the first word of the line or the first after a brace.
      if (t.kind !== 'word' || t.quoted || (k > 0 && tokens[k - 1]!.kind === 'word')) continue;
      const include = INCLUDE.test(t.text);
      if (!include && t.text !== 'include_check') continue;
      let e = k + 1;
      while (e < tokens.length && tokens[e]!.kind === 'word') e++;
      const args = tokens.slice(k + 1, e);
      if (!include) this.setIncludeCheck(args);
      else if (args[0]) this.included.set(t, this.include(t.text, args[0], file, chain));
    }
  }

  /** keepalived `include_check_set`: `include_check [[+|-]read|match|wildcard_match|brace_match ...]`. */
  private setIncludeCheck(args: readonly Token[]): void {
    if (!args.length) {
      this.includeCheck = ALL_CHECKS;
      return;
    }
    args.forEach((a, i) => {
      const sign = a.text[0] === '+' || a.text[0] === '-' ? a.text[0] : '';
      const word = a.text.slice(sign.length);
      if (!sign) {
        if (i > 0) {
          this.sink.error(a.location, `include_check '${a.text}': only the first word sets the checks; '+${word}' adds one, '-${word}' removes one`);
          return;
        }
        this.includeCheck = 0;
      }
      const check = CHECK_WORDS[word];
      if (check === undefined) {
        const hint = word === 'readable' ? " (keepalived.conf(5) says 'readable', but keepalived reads 'read' and refuses 'readable')" : didYouMean(word, Object.keys(CHECK_WORDS));
        this.sink.error(a.location, `unknown include_check '${word}': expected read, match, wildcard_match or brace_match${hint}`);
        return;
      }
      if (sign === '+') this.includeCheck |= check;
      else if (sign === '-') this.includeCheck &= ~check;
      else this.includeCheck = READ | check;
    });
  }

  /** Replaces `include` statements (at any depth) by the statements of the files they read. */
  private expand(stmts: Statement[]): Statement[] {
    let out: Statement[] | undefined; // copied on the first include only
    for (let k = 0; k < stmts.length; k++) {
      const s = stmts[k]!;
      if (INCLUDE.test(s.keyword.text) && !s.keyword.quoted) {
        out ??= stmts.slice(0, k);
        for (const t of this.includeStatement(s)) out.push(t);
        continue;
      }
      if (s.block) {
        const inner = this.expand(s.block.statements);
        if (inner !== s.block.statements) s.block.statements = inner;
      }
      out?.push(s);
    }
    return out ?? stmts;
  }

  /** An `include` statement: its form checked; what it read (when its line was reached). */
  private includeStatement(s: Statement): Statement[] {
    const [arg, extra] = s.args;
    const kw = s.keyword.text;
    if (s.block) this.sink.error(s.block.open?.location ?? s.keyword.location, `'${kw}' does not take a '{' block`);
    if (!arg) {
      this.sink.error(s.keyword.location, `missing value for '${kw}': expected a file name or glob pattern`);
      return [];
    }
    if (extra) this.sink.error(extra.location, `unexpected extra argument '${extra.text}' for '${kw}'`);
    return this.included.get(s.keyword) ?? [];
  }

  /** keepalived `open_and_check_glob` + `check_glob_file` for `KEYWORD PATTERN`. */
  private include(kw: string, arg: Token, file: string, chain: readonly string[]): Statement[] {
    if (this.stopped) return [];
    if (chain.length > MAX_INCLUDE_DEPTH) {
      this.sink.error(arg.location, `includes are nested more than ${MAX_INCLUDE_DEPTH} deep; '${arg.text}' is not read`);
      return [];
    }
    const checks = this.includeCheck | (VARIANT_CHECKS[kw] ?? 0);
    const pattern = arg.text;
    const base = dirname(file);
    const found: GlobFindings = { missing: [], directories: [] };
    const paths: string[] = [];
    const braces = hasBrace(pattern);
    try {
      if (pattern.length > MAX_PATTERN_CHARS) throw new GlobLimitError(`is longer than ${MAX_PATTERN_CHARS} characters`);
      const alternatives = expandBraces(pattern);
      for (const alt of alternatives) {
        if (GLOB_MAGIC.test(alt)) {
          for (const p of expandGlob(this.fs, alt, isAbsolute(alt) ? '/' : base, this.glob, found)) paths.push(p);
          if (paths.length > MAX_GLOB_MATCHES) throw new GlobLimitError(`matches more than ${MAX_GLOB_MATCHES} paths`);
        } else {
          const p = isAbsolute(alt) ? alt : join(base, alt);
          if (braces && !this.exists(p)) found.missing.push(p);
          else paths.push(p);
        }
      }
    } catch (e) {
      if (!(e instanceof GlobLimitError)) throw e;
      this.stop(arg.location, `include pattern '${pattern}' ${e.message}; none is read, and no further file`);
      return [];
    }
    if (paths.length === 0) {
      const check = found.missing.length ? (braces ? BRACE_MATCH : MATCH) : WILDCARD_MATCH;
      // keepalived logs nothing for an empty wildcard match; keepwatch has always warned.
      if (checks & check) this.sink.error(arg.location, `include pattern '${pattern}' matched no files`);
      else this.sink.warning(arg.location, `include pattern '${pattern}' matched no files`);
      return [];
    }
    if (found.missing.length) {
      this.problem(checks, BRACE_MATCH, arg.location, `include pattern '${pattern}': '${found.missing[0]}'${found.missing.length > 1 ? ` and ${found.missing.length - 1} more` : ''} not found`, kw);
      if (checks & BRACE_MATCH) return [];
    }
    if (checks & READ) for (const d of found.directories) this.sink.error(arg.location, `cannot read '${d}': it is a directory, not a regular file; not opened`);
    const out: Statement[] = [];
    const saved = this.includeCheck;
    for (const p of paths) {
      if (chain.includes(p)) {
        this.sink.error(arg.location, `include cycle: '${p}' is already being read (${[...chain, p].join(' -> ')})`);
        continue;
      }
      for (const t of this.loadFile(p, chain, arg.location, checks, kw)) out.push(t);
      // keepalived: an included file's include_check ends with it.
      this.includeCheck = saved;
    }
    return out;
  }

  private exists(path: string): boolean {
    try {
      return this.fs.kind ? this.fs.kind(path) !== undefined : this.fs.isFile(path);
    } catch {
      return false;
    }
  }
}

function run(sink: DiagnosticSink, loader: Loader, read: () => Statement[]): ConfigLoadResult {
  let config;
  try {
    config = assemble(interpret(read(), sink), loader.files, sink);
  } catch (e) {
    // Never throw on any input: a bug here becomes a diagnostic instead of a crash.
    const file = loader.attempted[0] ?? '<config>';
    sink.error({ file, line: 1, column: 1 }, `internal error while reading the configuration: ${reason(e)}`);
  }
  const diagnostics = sortDiagnostics(sink.items, loader.attempted);
  const more = sink.overflow();
  if (more) diagnostics.push(more);
  return sink.hasErrors || !config ? { diagnostics } : { config, diagnostics };
}

/**
 * Reads `path` and its includes. `config` is present iff there is no error. `options.configId`
 * defaults to keepalived's (the short host name).
 */
export function loadConfig(path: string, fs: ConfigFs = nodeConfigFs, options: LoadOptions = {}): ConfigLoadResult {
  const sink = new DiagnosticSink();
  const loader = new Loader(fs, sink, withDefaults(options));
  return run(sink, loader, () => loader.loadFile(path, []));
}

/** Like `loadConfig` for text already in memory (`file` names it in diagnostics and includes). */
export function parseConfigText(text: string, file: string, fs: ConfigFs = nodeConfigFs, options: LoadOptions = {}): ConfigLoadResult {
  const sink = new DiagnosticSink();
  const loader = new Loader(fs, sink, withDefaults(options));
  return run(sink, loader, () => loader.parseText(text, file, []));
}

function withDefaults(options: LoadOptions): LoadOptions {
  return options.configId === undefined ? { ...options, configId: defaultConfigId() } : options;
}
