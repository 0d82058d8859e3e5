/**
 * Entry points: read a keepalived.conf and its includes, lex, parse, validate.
 *
 * File access goes through `ConfigFs` only, so everything here is testable with an in-memory
 * file system. `include PATTERN` (keepalived.conf(5) "include") may appear wherever a statement
 * may; the pattern is relative to the directory of the file that includes it (absolute patterns
 * as they are) and may use `*`, `?` and `[...]` in any path segment. Matches are read in sorted
 * order. A pattern without matches is a warning (keepalived carries on); an explicit file that
 * cannot be read, an include cycle and includes nested more than 20 deep are errors.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { ConfigLoadResult, SourceLocation } from './model.js';
import { DiagnosticSink, sortDiagnostics } from './diagnostics.js';
import { lex } from './lexer.js';
import { parse, type Statement } from './parser.js';
import { NEEDS_BLOCK, TOP_LEVEL_BLOCKS } from './schema.js';
import { buildConfig } from './validate.js';

export interface ConfigFs {
  readFile(path: string): string;
  listDir(dir: string): string[];
  isFile(path: string): boolean;
}

export const nodeConfigFs: ConfigFs = {
  // `-f /dev/stdin` (or `-`): read descriptor 0, which also works when stdin is a socket.
  readFile: (path) => readFileSync(path === '-' || path === '/dev/stdin' ? 0 : path, 'utf8'),
  listDir: (dir) => readdirSync(dir),
  isFile: (path) => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false,
};

/** keepalived has no limit of its own that we mirror; 20 levels is far beyond any real layout. */
export const MAX_INCLUDE_DEPTH = 20;

const HINTS = { needsBlock: NEEDS_BLOCK, topLevelBlocks: TOP_LEVEL_BLOCKS };
const GLOB_MAGIC = /[*?[]/;
/** `include` and keepalived's stricter variants (`includer`, `includem`, ...), read alike here. */
const INCLUDE = /^include[rmwba]?$/;

/** One glob path segment as a RegExp: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`/`[^x]`, `\x`. */
export function segmentRegExp(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '\\' && i + 1 < seg.length) re += escapeRe(seg[++i]!);
    else if (c === '[') {
      let j = i + 1;
      if (seg[j] === '!' || seg[j] === '^') j++;
      if (seg[j] === ']') j++;
      while (j < seg.length && seg[j] !== ']') j++;
      if (j >= seg.length) {
        re += '\\[';
        continue;
      }
      let body = seg.slice(i + 1, j);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^[]/g, '\\$&')}]`;
      i = j;
    } else re += escapeRe(c);
  }
  try {
    return new RegExp(`^${re}$`, 'su');
  } catch {
    return new RegExp(`^${[...seg].map(escapeRe).join('')}$`, 'su'); // e.g. a reversed range [z-a]
  }
}

const escapeRe = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Expands a glob `pattern` relative to `baseDir` over `fs.listDir` (Node 20 has no fs.glob).
 * Like glob(3), a wildcard does not match a leading `.`; only regular files are returned, sorted.
 */
export function expandGlob(fs: ConfigFs, pattern: string, baseDir: string): string[] {
  let paths = [isAbsolute(pattern) ? '/' : baseDir];
  for (const seg of pattern.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (!GLOB_MAGIC.test(seg)) {
      paths = paths.map((p) => join(p, seg));
      continue;
    }
    const re = segmentRegExp(seg);
    const next: string[] = [];
    for (const p of paths) {
      let names: string[];
      try {
        names = fs.listDir(p === '' ? '.' : p);
      } catch {
        continue;
      }
      for (const n of [...names].sort(byCodeUnit)) {
        if (re.test(n) && (!n.startsWith('.') || seg.startsWith('.'))) next.push(join(p, n));
      }
    }
    paths = next;
  }
  return paths.filter((p) => {
    try {
      return fs.isFile(p);
    } catch {
      return false;
    }
  }).sort(byCodeUnit);
}

function reason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return e instanceof Error ? e.message : String(e);
}

class Loader {
  /** Files read, in order (the model's `files`). */
  readonly files: string[] = [];
  /** Files tried, in order (for sorting diagnostics, including files that could not be read). */
  readonly attempted: string[] = [];

  constructor(
    private readonly fs: ConfigFs,
    readonly sink: DiagnosticSink,
  ) {}

  loadFile(path: string, chain: readonly string[], site?: SourceLocation): Statement[] {
    this.attempted.push(path);
    let text: string;
    try {
      text = this.fs.readFile(path);
    } catch (e) {
      this.sink.error(site ?? { file: path, line: 1, column: 1 }, `cannot read '${path}': ${reason(e)}`);
      return [];
    }
    return this.parseText(text, path, chain);
  }

  parseText(text: string, path: string, chain: readonly string[]): Statement[] {
    if (!this.attempted.includes(path)) this.attempted.push(path);
    this.files.push(path);
    const stmts = parse(lex(text, path, this.sink), HINTS, this.sink);
    return this.expand(stmts, path, [...chain, path]);
  }

  /** Replaces `include` statements (at any depth) by the statements of the files they name. */
  private expand(stmts: Statement[], file: string, chain: readonly string[]): Statement[] {
    let out: Statement[] | undefined; // copied on the first include only
    for (let k = 0; k < stmts.length; k++) {
      const s = stmts[k]!;
      if (INCLUDE.test(s.keyword.text) && !s.keyword.quoted) {
        out ??= stmts.slice(0, k);
        out.push(...this.include(s, file, chain));
        continue;
      }
      if (s.block) {
        const inner = this.expand(s.block.statements, file, chain);
        if (inner !== s.block.statements) s.block.statements.splice(0, s.block.statements.length, ...inner);
      }
      out?.push(s);
    }
    return out ?? stmts;
  }

  private include(s: Statement, file: string, chain: readonly string[]): Statement[] {
    const [arg, extra] = s.args;
    const kw = s.keyword.text;
    if (s.block) this.sink.error(s.block.open?.location ?? s.keyword.location, `'${kw}' does not take a '{' block`);
    if (!arg) {
      this.sink.error(s.keyword.location, `missing value for '${kw}': expected a file name or glob pattern`);
      return [];
    }
    if (extra) this.sink.error(extra.location, `unexpected extra argument '${extra.text}' for '${kw}'`);
    if (chain.length > MAX_INCLUDE_DEPTH) {
      this.sink.error(arg.location, `includes are nested more than ${MAX_INCLUDE_DEPTH} deep; '${arg.text}' is not read`);
      return [];
    }
    const pattern = arg.text;
    const base = dirname(file);
    let paths: string[];
    if (GLOB_MAGIC.test(pattern)) {
      paths = expandGlob(this.fs, pattern, isAbsolute(pattern) ? '/' : base);
      if (paths.length === 0) {
        this.sink.warning(arg.location, `include pattern '${pattern}' matched no files`);
        return [];
      }
    } else {
      paths = [isAbsolute(pattern) ? pattern : join(base, pattern)];
    }
    const out: Statement[] = [];
    for (const p of paths) {
      if (chain.includes(p)) {
        this.sink.error(arg.location, `include cycle: '${p}' is already being read (${[...chain, p].join(' -> ')})`);
        continue;
      }
      out.push(...this.loadFile(p, chain, arg.location));
    }
    return out;
  }
}

function run(sink: DiagnosticSink, loader: Loader, read: () => Statement[]): ConfigLoadResult {
  let config;
  try {
    config = buildConfig(read(), loader.files, sink);
  } catch (e) {
    // Never throw on any input: a bug here becomes a diagnostic instead of a crash.
    const file = loader.attempted[0] ?? '<config>';
    sink.error({ file, line: 1, column: 1 }, `internal error while reading the configuration: ${reason(e)}`);
  }
  const diagnostics = sortDiagnostics(sink.items, loader.attempted);
  return sink.hasErrors || !config ? { diagnostics } : { config, diagnostics };
}

/** Reads `path` and its includes. `config` is present iff there is no error. */
export function loadConfig(path: string, fs: ConfigFs = nodeConfigFs): ConfigLoadResult {
  const sink = new DiagnosticSink();
  const loader = new Loader(fs, sink);
  return run(sink, loader, () => loader.loadFile(path, []));
}

/** Like `loadConfig` for text already in memory (`file` names it in diagnostics and includes). */
export function parseConfigText(text: string, file: string, fs: ConfigFs = nodeConfigFs): ConfigLoadResult {
  const sink = new DiagnosticSink();
  const loader = new Loader(fs, sink);
  return run(sink, loader, () => loader.parseText(text, file, []));
}
