/**
 * Diagnostics of the keepalived.conf reader: creation, ordering, formatting, the throwable
 * `ConfigError` (the one error class for an unusable configuration), and the did-you-mean helper
 * used for misspelt keywords and values.
 */
import type { Diagnostic, Severity, SourceLocation } from './model.js';

/** `FILE:LINE:COL: error: MESSAGE` (or `warning:`), the form compilers and editors understand. */
export function formatDiagnostic(d: Diagnostic): string {
  const { file, line, column } = d.location;
  return `${file}:${line}:${column}: ${d.severity}: ${d.message}`;
}

/** `FILE:LINE:COL`, for messages that point at a second place (e.g. the first definition). */
export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

/** Errors kept for the report; past it errors are counted (a hostile file may hold millions). */
export const MAX_REPORTED_ERRORS = 100;
/** Warnings kept for the report; past it they are counted. */
export const MAX_REPORTED_WARNINGS = 100;

/**
 * Collects diagnostics while lexing, parsing and validating. It keeps the first
 * `MAX_REPORTED_ERRORS` errors and `MAX_REPORTED_WARNINGS` warnings found and counts the rest
 * (`overflow()` says how many); `saturated` tells callers to skip costly detail (did-you-mean
 * searches) that nobody would see.
 */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  private errors = 0;
  private warnings = 0;
  private firstDropped: SourceLocation | undefined;

  error(location: SourceLocation, message: string): void {
    this.add('error', location, message);
  }

  warning(location: SourceLocation, message: string): void {
    this.add('warning', location, message);
  }

  /** A place made by expansion (expand.ts) adds which expansion to the message: `(expanded from $X at f:1:2)`. */
  add(severity: Severity, location: SourceLocation, message: string): void {
    const n = severity === 'error' ? ++this.errors : ++this.warnings;
    if (location.expansion) message = `${message} (expanded from ${location.expansion})`;
    if (n <= (severity === 'error' ? MAX_REPORTED_ERRORS : MAX_REPORTED_WARNINGS)) this.items.push({ severity, message, location });
    else this.firstDropped ??= location;
  }

  get errorCount(): number {
    return this.errors;
  }

  get hasErrors(): boolean {
    return this.errors > 0;
  }

  /** True once no further error would be reported. */
  get saturated(): boolean {
    return this.errors >= MAX_REPORTED_ERRORS;
  }

  /**
   * One closing diagnostic when some were only counted (`N more errors not shown ...`), at the
   * place of the first one left out; undefined when everything was kept.
   */
  overflow(): Diagnostic | undefined {
    const errors = Math.max(0, this.errors - MAX_REPORTED_ERRORS);
    const warnings = Math.max(0, this.warnings - MAX_REPORTED_WARNINGS);
    if (!this.firstDropped) return undefined;
    const parts = [
      ...(errors ? [`${errors} more error${errors === 1 ? '' : 's'}`] : []),
      ...(warnings ? [`${warnings} more warning${warnings === 1 ? '' : 's'}`] : []),
    ];
    return {
      severity: errors ? 'error' : 'warning',
      message: `${parts.join(' and ')} not shown (keepwatch reports the first ${MAX_REPORTED_ERRORS} errors and ${MAX_REPORTED_WARNINGS} warnings it finds; this is where the first one left out is)`,
      location: this.firstDropped,
    };
  }
}

/**
 * Sorts by file (in the order the files were read: `fileOrder`), then line, then column. The sort
 * is stable, so two findings at one place keep the order they were found in.
 */
export function sortDiagnostics(diags: readonly Diagnostic[], fileOrder: readonly string[]): Diagnostic[] {
  const rank = new Map<string, number>();
  fileOrder.forEach((f, i) => {
    if (!rank.has(f)) rank.set(f, i);
  });
  const fileRank = (f: string): number => rank.get(f) ?? fileOrder.length;
  return [...diags].sort(
    (a, b) =>
      fileRank(a.location.file) - fileRank(b.location.file) ||
      a.location.line - b.location.line ||
      a.location.column - b.location.column,
  );
}

/**
 * The one error for a configuration file that cannot be used (keepalived.conf, or any file read
 * with these diagnostics, such as the guard's), for callers that throw rather than hand back a
 * `ConfigLoadResult`. It carries every diagnostic; the message is the first error (with how many
 * more there are), and `file`/`line`/`column` say where that error is.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly diagnostics: readonly Diagnostic[];
  /** Where the first error is. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /**
   * Every error, one `FILE:LINE:COL: error: MESSAGE` line each, in the order of `diagnostics`
   * (warnings left out): what keepwatch prints before it refuses to start.
   */
  readonly report: string;

  constructor(diagnostics: readonly Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0] ?? diagnostics[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
    super(first ? formatDiagnostic(first) + more : 'invalid configuration');
    this.diagnostics = diagnostics;
    this.file = first?.location.file ?? '';
    this.line = first?.location.line ?? 0;
    this.column = first?.location.column ?? 0;
    this.report = errors.map(formatDiagnostic).join('\n');
  }
}

/** Reused rows of the distance table (the fuzz tests compute millions of distances). */
let rows: Int32Array[] = [new Int32Array(64), new Int32Array(64), new Int32Array(64)];

/**
 * Damerau–Levenshtein distance (optimal string alignment: insertions, deletions, substitutions and
 * transpositions of adjacent characters), giving up early once the distance exceeds `max`.
 */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = b.length;
  if (rows[0]!.length <= n) rows = [new Int32Array(n + 1), new Int32Array(n + 1), new Int32Array(n + 1)];
  let [prev2, prev, cur] = rows as [Int32Array, Int32Array, Int32Array];
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      const bj = b.charCodeAt(j - 1);
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (ai === bj ? 0 : 1));
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

/**
 * The closest candidate to `word`: distance ≤ 2, or ≤ 1 for words shorter than 5 characters. A
 * candidate equal but for letter case wins outright (`Master` → `MASTER`).
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const limit = word.length < 5 ? 1 : 2;
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    if (c === word || Math.abs(c.length - word.length) > limit) continue;
    if (c.length === word.length && c.toLowerCase() === lower) return c;
    const d = editDistance(word, c, Math.min(limit, bestDistance - 1));
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** `; did you mean 'X'?` or the empty string. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const m = closestMatch(word, candidates);
  return m === undefined ? '' : `; did you mean '${m}'?`;
}
