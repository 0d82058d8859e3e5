/**
 * Reads the observability artefacts (dashboards/*.json, alerts/*.rules.yml) and pulls the PromQL
 * out of them, for the contract test (test/unit/observability-contract.test.ts):
 *
 * - dashboardExpressions(): every target `expr` of every panel (rows and their nested panels
 *   included), the annotation queries, and the templating queries (for `label_values(selector,
 *   label)` the selector, for `query_result(expr)` the expression).
 * - ruleExpressions(): every rule's `expr`, and the PromQL of `query` calls in its annotation
 *   templates (printf verbs filled in).
 * - metricNamesIn(expr), selectorsIn(expr), groupingLabelsIn(expr): a small PromQL lexer that
 *   tells metric names from function names, keywords, label names, strings, numbers and durations.
 * - substituteGrafanaVars(expr): Grafana variables replaced by values PromQL accepts.
 * - parseYaml(text): a strict reader for the YAML subset the alert files use (no dependency:
 *   node_modules has no YAML parser and python3-yaml is not guaranteed on CI machines).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// ------------------------------------------------------------------------------------------------
// YAML subset
// ------------------------------------------------------------------------------------------------

export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

export class YamlError extends Error {}

interface Line {
  readonly no: number;
  indent: number;
  content: string;
}

/**
 * Parses the YAML subset used in alerts/: block mappings and sequences, plain / single-quoted /
 * double-quoted scalars, `|` and `>` block scalars (with `-` or `+` chomping), one-line flow
 * sequences and mappings of scalars, comments. Everything else (anchors, aliases, tags, multi-line
 * plain or flow scalars, several documents, tabs in indentation, YAML 1.1 booleans such as `yes`)
 * is an error rather than a guess.
 */
export function parseYaml(text: string, file = '<yaml>'): YamlValue {
  const lines: Line[] = text.split(/\r?\n/).map((raw, i) => {
    const m = /^( *)(.*)$/.exec(raw)!;
    return { no: i + 1, indent: m[1]!.length, content: m[2]! };
  });
  const fail = (line: Line | undefined, msg: string): never => {
    throw new YamlError(`${file}:${line ? line.no : lines.length}: ${msg}`);
  };
  const insignificant = (l: Line) => l.content === '' || l.content.startsWith('#');
  const next = (i: number): number => {
    while (i < lines.length && insignificant(lines[i]!)) i++;
    return i;
  };
  for (const l of lines) if (/^\t/.test(l.content) && !insignificant(l)) fail(l, 'tab in indentation');

  let start = next(0);
  if (lines[start]?.content === '---') start = next(start + 1);
  if (start >= lines.length) return null;

  const isSeqItem = (c: string) => c === '-' || c.startsWith('- ');
  const KEY = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[A-Za-z0-9_][A-Za-z0-9_.\/-]*)[ ]*:(?: +(.*)|)$/;

  function parseBlock(i: number, indent: number): [YamlValue, number] {
    const l = lines[i]!;
    if (l.indent !== indent) fail(l, `expected indentation ${indent}, got ${l.indent}`);
    if (isSeqItem(l.content)) return parseSeq(i, indent);
    if (KEY.test(l.content)) return parseMap(i, indent);
    return fail(l, `expected a mapping key or a sequence item: '${l.content}'`);
  }

  function parseSeq(i: number, indent: number): [YamlValue[], number] {
    const out: YamlValue[] = [];
    while (i < lines.length && lines[i]!.indent === indent && isSeqItem(lines[i]!.content)) {
      const l = lines[i]!;
      const rest = l.content.slice(1);
      const body = rest.trimStart();
      if (body === '' || body.startsWith('#')) {
        const j = next(i + 1);
        if (j < lines.length && lines[j]!.indent > indent) {
          const [v, k] = parseBlock(j, lines[j]!.indent);
          out.push(v);
          i = next(k);
        } else {
          out.push(null);
          i = j;
        }
        continue;
      }
      const col = indent + 1 + (rest.length - body.length);
      if (isSeqItem(body) || (KEY.test(body) && !/^["'[{]/.test(body))) {
        // "- key: value" / "- - item": the item is a block starting at the column after "- ".
        l.indent = col;
        l.content = body;
        const [v, k] = parseBlock(i, col);
        out.push(v);
        i = next(k);
      } else if (/^[|>]/.test(body)) {
        const [v, k] = parseBlockScalar(i, indent, body);
        out.push(v);
        i = next(k);
      } else {
        out.push(parseInline(body, l));
        i = next(i + 1);
      }
    }
    if (i < lines.length && lines[i]!.indent > indent) fail(lines[i], 'unexpected indentation after a sequence item');
    return [out, i];
  }

  function parseMap(i: number, indent: number): [{ [key: string]: YamlValue }, number] {
    const out: { [key: string]: YamlValue } = {};
    while (i < lines.length && lines[i]!.indent === indent && !isSeqItem(lines[i]!.content)) {
      const l = lines[i]!;
      const m = KEY.exec(l.content);
      if (!m) return fail(l, `expected 'key: value': '${l.content}'`);
      const key = unquoteKey(m[1]!, l);
      if (Object.prototype.hasOwnProperty.call(out, key)) fail(l, `duplicate key '${key}'`);
      const rest = (m[2] ?? '').trim();
      if (rest === '' || rest.startsWith('#')) {
        const j = next(i + 1);
        if (j < lines.length && lines[j]!.indent > indent) {
          const [v, k] = parseBlock(j, lines[j]!.indent);
          out[key] = v;
          i = next(k);
        } else if (j < lines.length && lines[j]!.indent === indent && isSeqItem(lines[j]!.content)) {
          const [v, k] = parseSeq(j, indent);
          out[key] = v;
          i = next(k);
        } else {
          out[key] = null;
          i = j;
        }
      } else if (/^[|>]/.test(rest)) {
        const [v, k] = parseBlockScalar(i, indent, rest);
        out[key] = v;
        i = next(k);
      } else {
        out[key] = parseInline(rest, l);
        i = next(i + 1);
      }
    }
    if (i < lines.length && lines[i]!.indent > indent) fail(lines[i], 'unexpected indentation (a multi-line plain scalar? use | or >)');
    return [out, i];
  }

  function unquoteKey(k: string, l: Line): string {
    if (k.startsWith('"') || k.startsWith("'")) {
      const v = parseInline(k, l);
      if (typeof v !== 'string') fail(l, 'bad key');
      return v as string;
    }
    return k;
  }

  /** `|`, `|-`, `|+`, `>`, `>-`, `>+` (no explicit indentation indicator). */
  function parseBlockScalar(i: number, parentIndent: number, header: string): [string, number] {
    const l = lines[i]!;
    const h = /^([|>])([+-]?)[ ]*(?:#.*)?$/.exec(header);
    if (!h) fail(l, `unsupported block scalar header '${header}'`);
    const folded = h![1] === '>';
    const chomp = h![2];
    const body: Line[] = [];
    let j = i + 1;
    while (j < lines.length && (lines[j]!.content === '' || lines[j]!.indent > parentIndent)) body.push(lines[j++]!);
    while (body.length > 0 && body[body.length - 1]!.content === '') {
      body.pop();
      j--;
    }
    // Restore: trailing blank lines belong to the scalar only for keep chomping (not used here).
    const first = body.find((b) => b.content !== '');
    if (!first) return ['', j];
    const ind = first.indent;
    const texts = body.map((b) => {
      if (b.content === '') return '';
      if (b.indent < ind) fail(b, 'block scalar line less indented than its first line');
      return ' '.repeat(b.indent - ind) + b.content;
    });
    let value: string;
    if (!folded) {
      value = texts.join('\n');
    } else {
      value = '';
      let blank = 0;
      texts.forEach((t, k) => {
        if (t === '') {
          blank++;
          return;
        }
        if (t.startsWith(' ')) fail(body[k], 'more-indented lines in a folded scalar are not supported');
        if (value === '') value = '\n'.repeat(blank) + t;
        else value += (blank > 0 ? '\n'.repeat(blank) : ' ') + t;
        blank = 0;
      });
    }
    if (chomp === '-') return [value, j];
    return [value + '\n', j];
  }

  function parseInline(s: string, l: Line): YamlValue {
    const c = s[0];
    if (c === '"' || c === "'") {
      const [v, end] = quoted(s, 0, l);
      const tail = s.slice(end).trim();
      if (tail !== '' && !tail.startsWith('#')) fail(l, `text after a quoted scalar: '${tail}'`);
      return v;
    }
    if (c === '[' || c === '{') return flow(s, l);
    if (c !== undefined && '&*!%@`|>?'.includes(c)) return fail(l, `unsupported YAML construct starting with '${c}'`);
    const plain = stripComment(s).trim();
    if (/:( |$)/.test(plain)) fail(l, `':' followed by a space inside a plain scalar: quote '${plain}'`);
    return scalar(plain, l);
  }

  function stripComment(s: string): string {
    const m = / #/.exec(s);
    return m ? s.slice(0, m.index) : s;
  }

  function quoted(s: string, at: number, l: Line): [string, number] {
    const q = s[at];
    let out = '';
    let i = at + 1;
    for (;;) {
      if (i >= s.length) return fail(l, 'unterminated quoted scalar (multi-line quoted scalars are not supported)');
      const ch = s[i]!;
      if (q === "'") {
        if (ch === "'") {
          if (s[i + 1] === "'") {
            out += "'";
            i += 2;
            continue;
          }
          return [out, i + 1];
        }
        out += ch;
        i++;
        continue;
      }
      if (ch === '"') return [out, i + 1];
      if (ch === '\\') {
        const e = s[i + 1];
        const simple: Record<string, string> = { '\\': '\\', '"': '"', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0', ' ': ' ' };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          return fail(l, `unsupported escape '\\${e ?? ''}'`);
        }
        continue;
      }
      out += ch;
      i++;
    }
  }

  /** One-line flow collections of scalars: [a, "b"], {k: v}, [], {}. */
  function flow(s: string, l: Line): YamlValue {
    const open = s[0]!;
    const close = open === '[' ? ']' : '}';
    const items: string[] = [];
    let cur = '';
    let i = 1;
    let closed = -1;
    while (i < s.length) {
      const ch = s[i]!;
      if (ch === '"' || ch === "'") {
        const [, end] = quoted(s, i, l);
        cur += s.slice(i, end);
        i = end;
        continue;
      }
      if (ch === '[' || ch === '{') fail(l, 'nested flow collections are not supported');
      if (ch === close) {
        closed = i;
        break;
      }
      if (ch === ',') {
        items.push(cur);
        cur = '';
      } else cur += ch;
      i++;
    }
    if (closed < 0) fail(l, `unterminated flow collection (multi-line flow collections are not supported)`);
    const tail = s.slice(closed + 1).trim();
    if (tail !== '' && !tail.startsWith('#')) fail(l, `text after a flow collection: '${tail}'`);
    if (cur.trim() !== '' || items.length > 0) items.push(cur);
    const parts = items.map((x) => x.trim());
    if (parts.some((p) => p === '')) fail(l, 'empty entry in a flow collection');
    const value = (p: string): YamlValue => (p.startsWith('"') || p.startsWith("'") ? parseInline(p, l) : scalar(p, l));
    if (open === '[') return parts.map(value);
    const obj: { [key: string]: YamlValue } = {};
    for (const p of parts) {
      const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[A-Za-z0-9_][A-Za-z0-9_.\/-]*)[ ]*:(?: +(.*)|)$/.exec(p);
      if (!m) fail(l, `expected 'key: value' in a flow mapping: '${p}'`);
      const key = unquoteKey(m![1]!, l);
      if (Object.prototype.hasOwnProperty.call(obj, key)) fail(l, `duplicate key '${key}'`);
      obj[key] = m![2] === undefined ? null : value(m![2].trim());
    }
    return obj;
  }

  function scalar(p: string, l: Line): YamlValue {
    if (p === '' || p === '~' || /^(null|Null|NULL)$/.test(p)) return null;
    if (/^(true|True|TRUE)$/.test(p)) return true;
    if (/^(false|False|FALSE)$/.test(p)) return false;
    if (/^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/.test(p)) return fail(l, `'${p}' is a boolean in YAML 1.1 and a string in 1.2: quote it`);
    if (/^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/.test(p)) return fail(l, `'${p}' is a sexagesimal number in YAML 1.1: quote it`);
    if (/^[-+]?0[0-9]+$/.test(p) || /^[-+]?0[xob]/.test(p)) return fail(l, `'${p}' reads differently in YAML 1.1 and 1.2: quote it`);
    if (/^[-+]?[0-9]+$/.test(p)) return Number(p);
    if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(p)) return Number(p);
    if (/^[-+]?\.(inf|Inf|INF)$/.test(p)) return p.startsWith('-') ? -Infinity : Infinity;
    if (/^\.(nan|NaN|NAN)$/.test(p)) return NaN;
    return p;
  }

  const [value, end] = parseBlock(start, 0);
  const rest = next(end);
  if (rest < lines.length) fail(lines[rest], lines[rest]!.content === '---' ? 'several YAML documents are not supported' : `unexpected content: '${lines[rest]!.content}'`);
  return value;
}

// ------------------------------------------------------------------------------------------------
// Grafana variables
// ------------------------------------------------------------------------------------------------

const GRAFANA_DURATIONS: Record<string, string> = {
  __rate_interval: '5m',
  __interval: '1m',
  __range: '6h',
  __range_s: '21600',
  __range_ms: '21600000',
  __interval_ms: '60000',
};

/**
 * Replaces Grafana variables so the expression is plain PromQL: `$__rate_interval`, `$__interval`,
 * `$__range` by durations (`[5m]`...), `$__range_s` and `*_ms` by numbers, every other variable
 * (`$job`, `${vrid}`, `${node:regex}`, `[[job]]`) by `.*` (they only appear in regex matchers).
 */
export function substituteGrafanaVars(expr: string): string {
  const value = (name: string) => GRAFANA_DURATIONS[name] ?? '.*';
  return expr
    .replace(/\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}/g, (_, n: string) => value(n))
    .replace(/\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]/g, (_, n: string) => value(n))
    .replace(/\$([A-Za-z0-9_]+)/g, (_, n: string) => value(n));
}

// ------------------------------------------------------------------------------------------------
// PromQL lexer
// ------------------------------------------------------------------------------------------------

type TokenKind = 'ident' | 'string' | 'number' | 'duration' | 'range' | 'punct';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** For strings: the unquoted value. */
  readonly value?: string;
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'atan2']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile']);
const NUMBER_WORDS = new Set(['inf', 'nan']);

export class PromqlLexError extends Error {}

function lex(expr: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new PromqlLexError(`${msg} at offset ${i} in: ${expr}`);
  };
  while (i < expr.length) {
    const rest = expr.slice(i);
    const ch = expr[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '#') {
      const nl = expr.indexOf('\n', i);
      i = nl < 0 ? expr.length : nl + 1;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1;
      let value = '';
      while (j < expr.length && expr[j] !== ch) {
        if (expr[j] === '\\' && ch !== '`') {
          value += expr[j + 1] ?? '';
          j += 2;
        } else value += expr[j++];
      }
      if (j >= expr.length) fail('unterminated string');
      out.push({ kind: 'string', text: expr.slice(i, j + 1), value });
      i = j + 1;
      continue;
    }
    if (ch === '[') {
      // Range or subquery: durations, ':' and (before substitution) Grafana variables only.
      const j = expr.indexOf(']', i);
      if (j < 0) fail('unterminated [');
      const inner = expr.slice(i + 1, j);
      if (!/^[\s0-9a-zA-Z_:$.{}]*$/.test(inner)) fail(`unexpected range '[${inner}]'`);
      out.push({ kind: 'range', text: expr.slice(i, j + 1) });
      i = j + 1;
      continue;
    }
    let m = /^(?:\d+(?:ms|[smhdwy]))+/.exec(rest);
    if (m && !/^[A-Za-z0-9_]/.test(rest.slice(m[0].length))) {
      out.push({ kind: 'duration', text: m[0] });
      i += m[0].length;
      continue;
    }
    m = /^(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/.exec(rest);
    if (m) {
      if (/^[A-Za-z_:]/.test(rest.slice(m[0].length))) fail(`bad number '${rest.slice(0, m[0].length + 1)}'`);
      out.push({ kind: 'number', text: m[0] });
      i += m[0].length;
      continue;
    }
    m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(rest);
    if (m) {
      out.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
      continue;
    }
    m = /^(?:==|!=|=~|!~|<=|>=|[-+*/%^<>=(){},@])/.exec(rest);
    if (m) {
      out.push({ kind: 'punct', text: m[0] });
      i += m[0].length;
      continue;
    }
    fail(`unexpected character '${ch}'`);
  }
  return out;
}

export interface LabelMatcher {
  readonly label: string;
  readonly op: string;
  readonly value: string;
}
export interface Selector {
  /** The metric name, or undefined for a bare `{...}` without `__name__`. */
  readonly metric: string | undefined;
  readonly matchers: LabelMatcher[];
}
export interface PromqlParts {
  readonly selectors: Selector[];
  /** Label names in by/without/on/ignoring/group_left/group_right lists. */
  readonly groupingLabels: string[];
  /** Labels created by label_replace/label_join (their destination argument). */
  readonly createdLabels: string[];
}

/** Walks the tokens of a PromQL expression (Grafana variables must be substituted first). */
export function analyzePromql(expr: string): PromqlParts {
  const t = lex(expr);
  const selectors: Selector[] = [];
  const groupingLabels: string[] = [];
  const createdLabels: string[] = [];
  // label_replace / label_join calls in progress: paren depth of their '(' and commas seen.
  const labelFns: { depth: number; commas: number }[] = [];
  let depth = 0;
  const peek = (k: number) => t[k];
  for (let k = 0; k < t.length; k++) {
    const tok = t[k]!;
    if (tok.kind === 'punct' && tok.text === '(') depth++;
    else if (tok.kind === 'punct' && tok.text === ')') {
      if (labelFns.length && labelFns[labelFns.length - 1]!.depth === depth) labelFns.pop();
      depth--;
    } else if (tok.kind === 'punct' && tok.text === ',') {
      const f = labelFns[labelFns.length - 1];
      if (f && f.depth === depth) f.commas++;
    } else if (tok.kind === 'string') {
      const f = labelFns[labelFns.length - 1];
      if (f && f.depth === depth && f.commas === 1) createdLabels.push(tok.value!);
    }
    if (tok.kind === 'punct' && tok.text === '{') {
      // A bare selector {__name__="x", ...}.
      const [sel, end] = readMatchers(t, k, undefined, expr);
      selectors.push(sel);
      k = end;
      continue;
    }
    if (tok.kind !== 'ident') continue;
    const word = tok.text;
    const lower = word.toLowerCase();
    const nextTok = peek(k + 1);
    if (KEYWORDS.has(lower)) {
      if (GROUPING.has(lower) && nextTok?.kind === 'punct' && nextTok.text === '(') {
        let j = k + 2;
        for (; j < t.length && !(t[j]!.kind === 'punct' && t[j]!.text === ')'); j++) {
          const x = t[j]!;
          if (x.kind === 'ident') groupingLabels.push(x.text);
          else if (!(x.kind === 'punct' && x.text === ',')) throw new PromqlLexError(`unexpected '${x.text}' in a ${lower}(...) list: ${expr}`);
        }
        k = j;
      }
      continue;
    }
    if (NUMBER_WORDS.has(lower) && !(nextTok?.kind === 'punct' && nextTok.text === '{')) continue;
    if (nextTok?.kind === 'punct' && nextTok.text === '(') {
      if (word === 'label_replace' || word === 'label_join') labelFns.push({ depth: depth + 1, commas: 0 });
      continue; // a function or an aggregation
    }
    if (AGGREGATIONS.has(lower) && nextTok?.kind === 'ident' && (nextTok.text === 'by' || nextTok.text === 'without')) continue;
    // After '@': start() / end() are caught above as functions.
    if (nextTok?.kind === 'punct' && nextTok.text === '{') {
      const [sel, end] = readMatchers(t, k + 1, word, expr);
      selectors.push(sel);
      k = end;
      continue;
    }
    selectors.push({ metric: word, matchers: [] });
  }
  return { selectors, groupingLabels, createdLabels };
}

function readMatchers(t: Token[], open: number, metric: string | undefined, expr: string): [Selector, number] {
  const matchers: LabelMatcher[] = [];
  let k = open + 1;
  let name = metric;
  for (;;) {
    const tok = t[k];
    if (!tok) throw new PromqlLexError(`unterminated {: ${expr}`);
    if (tok.kind === 'punct' && tok.text === '}') break;
    if (tok.kind === 'punct' && tok.text === ',') {
      k++;
      continue;
    }
    const op = t[k + 1];
    const val = t[k + 2];
    if (tok.kind !== 'ident' || op?.kind !== 'punct' || !['=', '!=', '=~', '!~'].includes(op.text) || val?.kind !== 'string') {
      throw new PromqlLexError(`bad label matcher near '${tok.text}': ${expr}`);
    }
    if (tok.text === '__name__' && op.text === '=') name = val.value!;
    else matchers.push({ label: tok.text, op: op.text, value: val.value! });
    k += 3;
  }
  return [{ metric: name, matchers }, k];
}

/** Metric names used in a PromQL expression (substitute Grafana variables first), each once. */
export function metricNamesIn(expr: string): string[] {
  return [...new Set(analyzePromql(expr).selectors.flatMap((s) => (s.metric ? [s.metric] : [])))];
}

/** Selectors (metric name and label matchers) of a PromQL expression. */
export function selectorsIn(expr: string): Selector[] {
  return analyzePromql(expr).selectors;
}

/** Label names in by/without/on/ignoring/group_left/group_right lists. */
export function groupingLabelsIn(expr: string): string[] {
  return [...new Set(analyzePromql(expr).groupingLabels)];
}

// ------------------------------------------------------------------------------------------------
// Dashboards
// ------------------------------------------------------------------------------------------------

export interface DashboardExpression {
  readonly file: string;
  /** Panel title (nested panels: "Row / Panel"), `variable $name` or `annotation Name`. */
  readonly title: string;
  readonly expr: string;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Json = any;

export function dashboardFiles(): string[] {
  const dir = join(ROOT, 'dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
}

export function loadDashboard(path: string): Json {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Every panel, rows and the panels nested in (collapsed) rows included, with its row's title. */
export function allPanels(dashboard: Json): { panel: Json; row: string | undefined }[] {
  const out: { panel: Json; row: string | undefined }[] = [];
  let row: string | undefined;
  const walk = (panels: Json[] | undefined, parentRow: string | undefined) => {
    for (const p of panels ?? []) {
      if (p.type === 'row') {
        row = p.title;
        out.push({ panel: p, row: undefined });
        walk(p.panels, p.title);
      } else {
        out.push({ panel: p, row: parentRow ?? row });
        if (Array.isArray(p.panels)) walk(p.panels, parentRow ?? row);
      }
    }
  };
  walk(dashboard.panels, undefined);
  return out;
}

/**
 * The PromQL of a templating query: `label_values(selector, label)` gives the selector,
 * `query_result(expr)` the expression; `label_values(label)`, `label_names()`, `metrics(re)` none.
 */
export function templatingQueryExpression(query: string): string | undefined {
  const q = query.trim();
  let m = /^label_values\(([\s\S]*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/.exec(q);
  if (m) return m[1]!.trim();
  if (/^label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$/.test(q) || /^(label_names|metrics)\(/.test(q)) return undefined;
  m = /^query_result\(([\s\S]*)\)$/.exec(q);
  if (m) return m[1]!.trim();
  return q === '' ? undefined : q;
}

export function dashboardExpressions(): DashboardExpression[] {
  const out: DashboardExpression[] = [];
  for (const path of dashboardFiles()) {
    const file = relative(ROOT, path);
    const d = loadDashboard(path);
    for (const { panel, row } of allPanels(d)) {
      const title = row ? `${row} / ${panel.title}` : String(panel.title);
      for (const t of panel.targets ?? []) if (typeof t.expr === 'string' && t.expr.trim() !== '') out.push({ file, title, expr: t.expr });
    }
    for (const v of d.templating?.list ?? []) {
      if (v.type !== 'query') continue;
      const q = typeof v.query === 'string' ? v.query : v.query?.query;
      const expr = typeof q === 'string' ? templatingQueryExpression(q) : undefined;
      if (expr) out.push({ file, title: `variable $${v.name}`, expr });
    }
    for (const a of d.annotations?.list ?? []) {
      const expr = a.expr ?? a.target?.expr;
      if (typeof expr === 'string' && expr.trim() !== '') out.push({ file, title: `annotation ${a.name}`, expr });
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Alerting rules
// ------------------------------------------------------------------------------------------------

export interface RuleExpression {
  readonly file: string;
  readonly alert: string;
  readonly expr: string;
  /** `expr`, or `annotations.<name>` for a query in an annotation template. */
  readonly where: string;
}

export interface Rule {
  readonly file: string;
  readonly group: string;
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

export function ruleFiles(): string[] {
  const dir = join(ROOT, 'alerts');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.rules.yml') || f.endsWith('.rules.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

export function loadRules(path: string): Rule[] {
  const file = relative(ROOT, path);
  const doc = parseYaml(readFileSync(path, 'utf8'), file) as Json;
  if (!doc || !Array.isArray(doc.groups)) throw new Error(`${file}: no 'groups' list`);
  const out: Rule[] = [];
  for (const g of doc.groups) {
    for (const r of g.rules ?? []) {
      out.push({
        file,
        group: String(g.name),
        alert: r.alert,
        record: r.record,
        expr: String(r.expr ?? ''),
        for: r.for === undefined ? undefined : String(r.for),
        labels: r.labels ?? {},
        annotations: r.annotations ?? {},
      });
    }
  }
  return out;
}

/**
 * PromQL inside annotation templates: the string given to `query` directly (`query "up"`) or
 * through printf (`printf "x{job=%q}" .Labels.job | query`), with printf verbs filled in
 * (%q -> ".*", other verbs -> x).
 */
export function templateQueries(template: string): string[] {
  const out: string[] = [];
  for (const action of template.match(/\{\{[\s\S]*?\}\}/g) ?? []) {
    if (!/\bquery\b/.test(action)) continue;
    for (const m of action.matchAll(/\b(?:printf|query)\s+(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`)/g)) {
      const raw: string = m[2] ?? JSON.parse(`"${m[1]}"`);
      out.push(raw.replace(/%q/g, '".*"').replace(/%[-+# 0]*\d*(?:\.\d+)?[svdfg]/g, 'x'));
    }
  }
  return out;
}

export function ruleExpressions(): RuleExpression[] {
  const out: RuleExpression[] = [];
  for (const path of ruleFiles()) {
    for (const r of loadRules(path)) {
      const alert = r.alert ?? r.record ?? '?';
      out.push({ file: r.file, alert, expr: r.expr, where: 'expr' });
      for (const [k, v] of Object.entries(r.annotations)) for (const q of templateQueries(String(v))) out.push({ file: r.file, alert, expr: q, where: `annotations.${k}` });
    }
  }
  return out;
}
