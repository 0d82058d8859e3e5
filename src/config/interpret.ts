/**
 * Pass 1 of reading keepalived.conf: the statement tree (includes already expanded, parser.ts)
 * → `Section`s of settings and lists, with every finding as a diagnostic. Pass 2 (assemble.ts)
 * turns the sections into a `KeepalivedConfig`.
 *
 * `interpret` walks the tree with the keyword tables of schema.ts: unknown keywords (with a
 * did-you-mean, or "is a '}' missing?" when the word belongs to the enclosing block), keywords
 * keepwatch does not act on (a warning each, `NOT_ACTED_ON`), argument counts and value syntax
 * (`ValueSpec`). Values land in `Section`s keyed by keyword; a keyword given twice keeps the value
 * keepalived keeps (the last, or the first for `notify*`), with a warning. List blocks
 * (`virtual_ipaddress`, `unicast_peer`, `track_*`, `group`, ...) are parsed entry by entry;
 * `virtual_server` and `virtual_server_group` blocks (LVS) are read by config/virtual-server.ts.
 * Units: a `secs` value is whole microseconds (schema.ts `parseDecimalSecondsUs`), a whole-seconds
 * `int` is seconds; pass 2 converts both to the model's milliseconds.
 *
 * Secrets: no diagnostic shows the arguments of a `SECRET_KEYWORDS` keyword (`auth_pass my secret`
 * says "takes one value (the password; not shown)"), nor any token of a `SECRET_BLOCKS` block but
 * its keywords (a password on a line of its own reads as an unknown keyword there).
 * Cost: linear in the statements; did-you-mean searches stop once the sink is saturated.
 */
import type {
  AddressFamily,
  SourceLocation,
  TrackReference,
  UnicastPeerConfig,
  VirtualAddressConfig,
  VirtualServerConfig,
  VirtualServerGroupConfig,
} from './model.js';
import { VirtualServerReader } from './virtual-server.js';
import { closestMatch, formatLocation, type DiagnosticSink } from './diagnostics.js';
import type { Statement } from './parser.js';
import type { Token } from './lexer.js';
import {
  KEYWORD_MAPS,
  SECRET_BLOCKS,
  SECRET_KEYWORDS,
  TRUE_FALSE,
  VIP_FLAGS,
  VIP_OPTIONS_ACTED,
  VIP_OPTIONS_IGNORED,
  VIP_SCOPES,
  addressKind,
  describeValueSpec,
  oneOf,
  parseAddress,
  parseDecimalSecondsUs,
  parseWhole,
  type BlockKind,
  type Keyword,
  type ListEntry,
  type ParsedAddress,
  type ValueSpec,
} from './schema.js';
import { formatIpv4, isMulticastBytes, parseIpv4 } from '../protocol/inet.js';
import { RulePriorities, parseRouteLine, parseRuleLine, type LineContext } from './routes.js';
import { OPTION_REASONS } from './compat.js';

/** The warning for a keyword keepwatch accepts but does not act on, with the reason (compat.ts). */
export const NOT_ACTED_ON = (keyword: string, reason: string): string => `'${keyword}' is accepted but not acted on by keepwatch: ${reason}`;

/** `T` without `readonly`, for a model object filled in a few steps. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** An address family as messages name it. */
export const FAMILY_NAME: Record<AddressFamily, string> = { ipv4: 'IPv4', ipv6: 'IPv6' };

/** One keyword's value, with the statement it came from. */
export interface Setting {
  readonly value: unknown;
  readonly stmt: Statement;
  /** The value's location (first argument), else the keyword's. */
  readonly loc: SourceLocation;
}

/** A `unicast_peer` entry (its family is checked against the instance's in pass 2). */
export interface PeerEntry extends UnicastPeerConfig {
  readonly family: AddressFamily;
}

/** A word of a list block (`group`, `notification_email`). */
export interface NameEntry {
  readonly name: string;
  readonly location: SourceLocation;
}

/** The keywords read from one block (or several blocks merged, like repeated `global_defs`). */
export class Section {
  readonly settings = new Map<string, Setting>();
  readonly lists = new Map<string, { readonly stmt: Statement; readonly entries: unknown[]; lines: number }>();
  /**
   * Keywords written here (even with a bad value), and the suggestions made for misspelt ones:
   * a "missing X" complaint would only repeat what was already said about them.
   */
  readonly written = new Set<string>();
  readonly suggested = new Set<string>();
  constructor(
    readonly kind: BlockKind,
    readonly label: string,
    readonly name: string,
    readonly nameLoc: SourceLocation,
  ) {}
  get<T>(k: string): { value: T; stmt: Statement; loc: SourceLocation } | undefined {
    return this.settings.get(k) as { value: T; stmt: Statement; loc: SourceLocation } | undefined;
  }
  val<T>(k: string): T | undefined {
    return this.settings.get(k)?.value as T | undefined;
  }
  list<T>(k: string): T[] {
    return (this.lists.get(k)?.entries ?? []) as T[];
  }
  /** True when `k` was not written at all (nor misspelt into something that suggested it). */
  lacks(k: string): boolean {
    return !this.written.has(k) && !this.suggested.has(k);
  }
}

const tableOf = (kind: BlockKind): ReadonlyMap<string, Keyword> => KEYWORD_MAPS.get(kind)!;
const locOf = (stmt: Statement): SourceLocation => stmt.args[0]?.location ?? stmt.keyword.location;

/** The sections read from a whole configuration: what pass 2 (assemble.ts) works from. */
export interface Interpretation {
  /** Every `global_defs` block, merged. */
  readonly global: Section;
  /** The named top-level blocks, in file order (duplicates included: pass 2 reports them). */
  readonly named: Readonly<Record<NamedKind, readonly Section[]>>;
  readonly virtualServers: readonly VirtualServerConfig[];
  readonly virtualServerGroups: readonly VirtualServerGroupConfig[];
  /** The top-level lists: `static_ipaddress`, `static_routes`, `static_rules`. */
  readonly statics: Section;
}

/** Top-level blocks that carry a name (`vrrp_instance NAME { ... }`). */
export type NamedKind = 'vrrp_instance' | 'vrrp_script' | 'vrrp_track_file' | 'vrrp_track_process' | 'vrrp_sync_group' | 'bfd_instance';

/** Pass 1 over the top-level statements (includes already expanded). */
export function interpret(stmts: readonly Statement[], sink: DiagnosticSink): Interpretation {
  const it = new Interpreter(sink);
  it.topLevel(stmts);
  return it;
}

/** Pass 1: keyword tables, argument syntax. */
class Interpreter implements Interpretation {
  readonly global = new Section('global_defs', 'global_defs', '', { file: '', line: 1, column: 1 });
  readonly named: Record<NamedKind, Section[]> = {
    vrrp_instance: [],
    vrrp_script: [],
    vrrp_track_file: [],
    vrrp_track_process: [],
    vrrp_sync_group: [],
    bfd_instance: [],
  };
  readonly virtualServers: VirtualServerConfig[] = [];
  readonly virtualServerGroups: VirtualServerGroupConfig[] = [];
  private readonly lvs: VirtualServerReader;
  readonly statics = new Section('top level', 'top level', '', { file: '', line: 1, column: 1 });
  /** keepalived's numbering of rules written without a preference, in file order. */
  private readonly rulePriorities = new RulePriorities();
  /** > 0 while reading a `SECRET_BLOCKS` block: its tokens are not shown. */
  private secretDepth = 0;

  constructor(private readonly sink: DiagnosticSink) {
    this.lvs = new VirtualServerReader(sink);
  }

  /** The closest candidate, unless nobody would read the suggestion (the sink is saturated). */
  private guess(word: string, candidates: Iterable<string>): string | undefined {
    return this.sink.saturated ? undefined : closestMatch(word, candidates);
  }

  topLevel(stmts: readonly Statement[]): void {
    for (const stmt of stmts) {
      const spec = this.lookup(stmt, 'top level');
      if (!spec) continue;
      const v = spec.value;
      if (v.t === 'block') {
        if (stmt.args[0]) this.extra(stmt, 0);
        this.fill(this.global, stmt);
      } else if (v.t === 'named' && Object.hasOwn(this.named, v.kind)) {
        const name = stmt.args[0];
        if (!name) {
          this.sink.error(stmt.keyword.location, `${stmt.keyword.text} needs a name`);
          continue;
        }
        if (stmt.args[1]) this.extra(stmt, 1);
        const section = new Section(v.kind, `${v.kind} ${name.text}`, name.text, name.location);
        this.fill(section, stmt);
        this.named[v.kind as NamedKind].push(section);
      } else if (v.t === 'lvs') {
        this.virtualServer(stmt);
      } else if (v.t === 'list') {
        // static_ipaddress / static_routes / static_rules: a list block of its own, like an instance's.
        this.fillStatements(this.statics, { keyword: stmt.keyword, args: [], argsText: '', block: { statements: [stmt] } });
      } else if (v.t === 'word' || v.t === 'flag') {
        // net_namespace, instance, use_pid_dir: settings of the top level (assemble.ts operationsOf).
        this.fillStatements(this.statics, { keyword: stmt.keyword, args: [], argsText: '', block: { statements: [stmt] } });
      }
    }
  }

  /** The keyword's spec, or undefined after reporting it as unknown or not acted on. */
  private lookup(stmt: Statement, kind: BlockKind, section?: Section, parent?: Section): Keyword | undefined {
    const table = tableOf(kind);
    const word = stmt.keyword.text;
    const spec = table.get(word);
    if (!spec) {
      const where = kind === 'top level' ? 'at top level' : `in ${kind}`;
      const guess = parent && tableOf(parent.kind).has(word) ? undefined : this.guess(word, table.keys());
      if (this.secretDepth > 0 && !guess && !(parent && tableOf(parent.kind).has(word))) {
        // Maybe the password on a line of its own: not shown. (A near miss of a keyword is shown:
        // its did-you-mean would tell the word all but two letters anyway.)
        this.sink.error(stmt.keyword.location, `unknown keyword ${where} (not shown: it may be a password); expected ${[...table.keys()].join(' or ')}`);
      } else if (word.startsWith('$')) {
        // expand.ts left it: not defined (yet) where it is used, or not a definition's form.
        this.sink.error(stmt.keyword.location, `'${word}' is not a defined name here, so it stays a keyword, an unknown one (keepalived leaves an undefined '$NAME' as written; '$NAME=VALUE' before its use defines it)`);
      } else if (word.startsWith('@')) {
        this.sink.error(stmt.keyword.location, `'${word}' is not a condition here: a line takes one '@ID' (or '@^ID') at its start, followed by a blank (keepalived reads this as a keyword too)`);
      } else if (parent && tableOf(parent.kind).has(word)) {
        // A keyword of the enclosing block: most likely this block's '}' is missing.
        parent.suggested.add(word);
        this.sink.error(stmt.keyword.location, `unknown keyword '${word}' ${where}; is a '}' missing before it? ('${word}' belongs in ${parent.kind})`);
      } else {
        if (guess) section?.suggested.add(guess);
        this.sink.error(stmt.keyword.location, `unknown keyword '${word}' ${where}${guess ? `; did you mean '${guess}'?` : ''}`);
      }
      return undefined;
    }
    section?.written.add(word);
    if (!spec.acted) {
      // Every keyword not acted on has its reason (compat.ts; test/unit/config/keyword-coverage.test.ts).
      const why = spec.notActed;
      if (!why?.silent) this.sink.warning(stmt.keyword.location, NOT_ACTED_ON(word, why?.reason ?? 'no reason recorded'));
      return undefined;
    }
    const wantsBlock = spec.opensBlock;
    if (!wantsBlock && stmt.block) {
      this.sink.error(stmt.block.open?.location ?? stmt.keyword.location, `'${word}' does not take a '{' block`);
    }
    // A block keyword without a block was reported by the parser ("expected '{' after ...").
    if (wantsBlock && !stmt.block) return undefined;
    return spec;
  }

  private fill(section: Section, owner: Statement, parent?: Section): void {
    const secret = SECRET_BLOCKS.has(section.kind);
    if (secret) this.secretDepth++;
    try {
      this.fillStatements(section, owner, parent);
    } finally {
      if (secret) this.secretDepth--;
    }
  }

  private fillStatements(section: Section, owner: Statement, parent?: Section): void {
    for (const stmt of owner.block?.statements ?? []) {
      const spec = this.lookup(stmt, section.kind, section, parent);
      if (!spec) continue;
      const word = stmt.keyword.text;
      const v = spec.value;
      // Acted on while loading (load.ts: `include_check`, which may be given again and again).
      if (v.t === 'any') continue;
      if (v.t === 'list') {
        if (stmt.args[0]) this.extra(stmt, 0);
        const list = section.lists.get(word) ?? { stmt, entries: [], lines: 0 };
        section.lists.set(word, list);
        for (const e of stmt.block?.statements ?? []) for (const x of this.entry(v.entry, e, word)) list.entries.push(x);
        list.lines += stmt.block?.statements.length ?? 0;
        continue;
      }
      let value: unknown;
      if (v.t === 'block') {
        if (stmt.args[0]) this.extra(stmt, 0);
        const sub = new Section(v.kind, v.kind, section.name, section.nameLoc);
        this.fill(sub, stmt, section);
        value = sub;
      } else {
        value = this.value(stmt, v);
      }
      if (value === undefined) continue;
      const prev = section.settings.get(word);
      if (prev) {
        const which = spec.keep === 'first' ? 'first' : 'last';
        this.sink.warning(
          stmt.keyword.location,
          `'${word}' is given more than once in ${section.label} (first at ${formatLocation(prev.stmt.keyword.location)}); keepalived uses the ${which} one`,
        );
        if (spec.keep === 'first') continue;
      }
      section.settings.set(word, { value, stmt, loc: locOf(stmt) });
    }
  }

  /** An option keepwatch reads but does not act on: the warning with its reason (compat.ts), unless keepwatch always does it. */
  private optionNotActed(opt: Token): void {
    const why = OPTION_REASONS[opt.text];
    if (!why?.silent) this.sink.warning(opt.location, NOT_ACTED_ON(opt.text, why?.reason ?? 'no reason recorded'));
  }

  private extra(stmt: Statement, index: number): void {
    const t = stmt.args[index]!;
    const kw = stmt.keyword.text;
    if (kw === 'auth_pass') {
      this.sink.error(t.location, `'auth_pass' takes one value (the password; not shown); write a password with spaces in double quotes`);
    } else if (SECRET_KEYWORDS.has(kw) || this.secretDepth > 0) {
      this.sink.error(t.location, `unexpected extra argument for '${kw}' (not shown: it may be a password)`);
    } else {
      this.sink.error(t.location, `unexpected extra argument '${t.text}' for '${kw}'`);
    }
  }

  private count(stmt: Statement, min: number, max: number, v: ValueSpec): boolean {
    if (stmt.args.length < min) {
      this.sink.error(stmt.keyword.location, `missing value for '${stmt.keyword.text}': expected ${describeValueSpec(v)}`);
      return false;
    }
    if (stmt.args.length > max) {
      this.extra(stmt, max);
      return false;
    }
    return true;
  }

  private invalid(t: Token, what: string, v: ValueSpec | string, suffix = ''): undefined {
    this.sink.error(t.location, `invalid ${what} '${t.text}': expected ${typeof v === 'string' ? v : describeValueSpec(v)}${suffix}`);
    return undefined;
  }

  /** Reads a keyword's arguments as `v` says; undefined (after an error) when they are wrong. */
  private value(stmt: Statement, v: ValueSpec): unknown {
    const kw = stmt.keyword.text;
    const a = stmt.args;
    switch (v.t) {
      case 'flag':
        return this.count(stmt, 0, 0, v) ? true : undefined;
      case 'bool': {
        if (!this.count(stmt, 0, 1, v)) return undefined;
        if (!a[0]) return true;
        const b = TRUE_FALSE[a[0].text];
        return b ?? this.invalid(a[0], kw, v);
      }
      case 'word':
        return this.count(stmt, 1, 1, v) ? a[0]!.text : undefined;
      case 'words':
        return this.count(stmt, v.min, v.max, v) ? a.map((t) => t.text) : undefined;
      case 'enum': {
        if (!this.count(stmt, 1, 1, v)) return undefined;
        if (v.values.includes(a[0]!.text)) return a[0]!.text;
        const note = v.note ? ` (${v.note})` : '';
        const guess = this.guess(a[0]!.text, v.values);
        if (!guess && (this.secretDepth > 0 || SECRET_KEYWORDS.has(kw))) {
          this.sink.error(a[0]!.location, `invalid ${kw} (not shown: it may be a password): expected ${describeValueSpec(v)}${note}`);
          return undefined;
        }
        return this.invalid(a[0]!, kw, v, note + (guess ? `; did you mean '${guess}'?` : ''));
      }
      case 'int': {
        if (!this.count(stmt, 1, 1, v)) return undefined;
        const n = parseWhole(a[0]!.text);
        return n !== undefined && n >= v.min && n <= v.max ? n : this.invalid(a[0]!, kw, v);
      }
      case 'secs': {
        if (!this.count(stmt, 1, 1, v)) return undefined;
        const us = parseDecimalSecondsUs(a[0]!.text, v.decimals);
        return us !== undefined && us >= v.min * 1e6 && us <= v.max * 1e6 ? us : this.invalid(a[0]!, kw, v);
      }
      case 'ip': {
        if (!this.count(stmt, 1, 1, v)) return undefined;
        const ip = parseAddress(a[0]!.text);
        if (!ip || (v.family && ip.family !== v.family) || (v.multicast && !isMulticastBytes(ip.bytes))) return this.invalid(a[0]!, kw, v);
        return ip;
      }
      case 'cmd':
        if (!this.count(stmt, v.optional ? 0 : 1, Infinity, v)) return undefined;
        if (a.length === 0) return true;
        return a.length === 1 ? a[0]!.text : stmt.argsText;
      case 'weight': {
        if (!this.count(stmt, 1, 2, v)) return undefined;
        const w = this.weight(a[0]!, v.min, v.max);
        if (w === undefined) return undefined;
        if (a[1] && a[1].text !== 'reverse') return this.afterWeight(a[1], `${kw} ${a[0]!.text}`);
        return { weight: w, reverse: a[1] !== undefined };
      }
      case 'smtp': {
        if (!this.count(stmt, 1, 2, v)) return undefined;
        const port = a[1] ? parseWhole(a[1].text) : 25;
        if (port === undefined || port < 1 || port > 65535) return this.invalid(a[1]!, 'smtp_server port', 'a port number from 1 to 65535');
        return { host: a[0]!.text, port, location: a[0]!.location };
      }
      case 'init_file': {
        if (!this.count(stmt, 0, 2, v)) return undefined;
        let value = 0;
        let overwrite = false;
        for (const [i, t] of a.entries()) {
          if (t.text === 'overwrite') overwrite = true;
          else if (i === 0 && parseWhole(t.text, true) !== undefined) value = parseWhole(t.text, true)!;
          else return this.invalid(t, 'init_file argument', "a number, then optionally 'overwrite'");
        }
        return { value, overwrite };
      }
      default:
        return true;
    }
  }

  private afterWeight(t: Token, what: string): undefined {
    this.sink.error(t.location, `unexpected '${t.text}' after '${what}': expected 'reverse' or nothing`);
    return undefined;
  }

  private weight(t: Token, min: number, max: number): number | undefined {
    const w = parseWhole(t.text, true);
    return w !== undefined && w >= min && w <= max ? w : this.invalid(t, 'weight', `a whole number from ${min} to ${max}`);
  }

  /** One line of a list block (`virtual_ipaddress`, `unicast_peer`, `track_script`, ...). */
  private entry(kind: ListEntry, e: Statement, list: string): unknown[] {
    if (e.block) this.sink.error(e.block.open?.location ?? e.keyword.location, `an entry of ${list} does not take a '{' block`);
    switch (kind) {
      case 'word':
        return [e.keyword, ...e.args].map((t): NameEntry => ({ name: t.text, location: t.location }));
      case 'vip': {
        const vip = this.vip(e, list);
        return vip ? [vip] : [];
      }
      case 'route': {
        const r = parseRouteLine([e.keyword, ...e.args], this.lineContext(list));
        return r ? [r] : [];
      }
      case 'rule': {
        const r = parseRuleLine([e.keyword, ...e.args], this.lineContext(list), this.rulePriorities);
        return r ? [r] : [];
      }
      case 'static-address': {
        const tg = e.args.find((t) => t.text === 'track_group');
        if (tg) {
          this.sink.error(tg.location, `'track_group' in ${list} is not supported by keepwatch: static track groups (track_group) are not implemented`);
          return [];
        }
        const vip = this.vip(e, list);
        if (vip && vip.device === undefined) {
          this.sink.error(e.keyword.location, `static address ${vip.address} in ${list} needs 'dev IF' (keepalived would use default_interface, eth0 unless set; keepwatch does not guess)`);
          return [];
        }
        return vip ? [vip] : [];
      }
      case 'peer': {
        const ip = parseAddress(e.keyword.text);
        if (!ip) {
          this.sink.error(e.keyword.location, `invalid ${addressKind(e.keyword.text)} '${e.keyword.text}' in ${list}`);
          return [];
        }
        for (let i = 0; i < e.args.length; i += 2) {
          const opt = e.args[i]!;
          if (opt.text !== 'min_ttl' && opt.text !== 'max_ttl') {
            this.sink.error(opt.location, `unexpected '${opt.text}' after unicast peer ${ip.address}: expected 'min_ttl N' or 'max_ttl N'`);
            break;
          }
          const n = e.args[i + 1];
          if (!n || parseWhole(n.text) === undefined || parseWhole(n.text)! > 255) {
            this.sink.error((n ?? opt).location, `'${opt.text}' needs a value: a whole number from 0 to 255`);
            break;
          }
          this.optionNotActed(opt);
        }
        const peer: PeerEntry = { address: ip.address, family: ip.family, location: e.keyword.location };
        return [peer];
      }
      case 'track': {
        const [w, n, r, x] = e.args;
        let weight: number | undefined;
        if (w) {
          if (w.text !== 'weight') {
            this.sink.error(w.location, `unexpected '${w.text}' after ${list} entry '${e.keyword.text}': expected 'weight N [reverse]'`);
            return [];
          }
          if (!n) {
            this.sink.error(w.location, `'weight' needs a value after ${list} entry '${e.keyword.text}'`);
            return [];
          }
          weight = this.weight(n, -254, 254);
          if (weight === undefined) return [];
          if (Math.abs(weight) === 254) {
            weight = Math.sign(weight) * 253;
            this.sink.warning(n.location, `weight ${n.text} is clamped to ${weight} (as keepalived does)`);
          }
          if (r && r.text !== 'reverse') return this.afterWeight(r, `weight ${n.text}`) ?? [];
          if (x) {
            this.sink.error(x.location, `unexpected '${x.text}' after ${list} entry '${e.keyword.text}'`);
            return [];
          }
        }
        const ref: TrackReference = { name: e.keyword.text, reverse: r !== undefined, location: e.keyword.location };
        if (weight !== undefined) (ref as { weight?: number }).weight = weight;
        return [ref];
      }
    }
  }

  private lineContext(list: string): LineContext {
    return { sink: this.sink, list, isStatic: list.startsWith('static_'), guess: (w, c) => this.guess(w, c) };
  }

  /** `ADDR[/PREFIX] [brd ADDR|+|-] [dev IF] [scope SCOPE] [label LABEL] [no_track] ...` */
  private vip(e: Statement, list: string): VirtualAddressConfig | undefined {
    const text = e.keyword.text;
    const slash = text.indexOf('/');
    const addrText = slash < 0 ? text : text.slice(0, slash);
    const ip = parseAddress(addrText);
    if (!ip) {
      this.sink.error(e.keyword.location, `invalid ${addressKind(addrText)} '${addrText}' in ${list}`);
      return undefined;
    }
    const maxPrefix = ip.family === 'ipv4' ? 32 : 128;
    let prefixLength = maxPrefix;
    if (slash >= 0) {
      const p = parseWhole(text.slice(slash + 1));
      if (p === undefined || p > maxPrefix) {
        const col = e.keyword.location.column + Array.from(addrText).length;
        this.sink.error(
          { ...e.keyword.location, column: col },
          `invalid prefix length '${text.slice(slash)}' for ${FAMILY_NAME[ip.family]} address ${ip.address}: expected 0-${maxPrefix}`,
        );
        return undefined;
      }
      prefixLength = p;
    }
    const shown = `${ip.address}${slash >= 0 ? '/' + prefixLength : ''}`;
    let broadcast: string | undefined;
    let device: string | undefined;
    let scope = 'global';
    let label: string | undefined;
    const ignoredOptions: string[] = [];
    let useVmac: true | undefined;
    const a = e.args;
    const needs: Record<string, string> = {
      dev: 'an interface name',
      label: 'a label such as eth0:1',
      scope: `${oneOf([...VIP_SCOPES, 'a number from 0 to 255'])}`,
      brd: "an IPv4 address, '+' or '-'",
      broadcast: "an IPv4 address, '+' or '-'",
      peer: 'an address',
      preferred_lft: "a number of seconds or 'forever'",
    };
    for (let i = 0; i < a.length; i++) {
      const opt = a[i]!;
      const o = opt.text;
      const takesValue = VIP_OPTIONS_ACTED.has(o) || VIP_OPTIONS_IGNORED[o] === true;
      if (!VIP_OPTIONS_ACTED.has(o) && !VIP_FLAGS.has(o) && !Object.hasOwn(VIP_OPTIONS_IGNORED, o)) {
        if (parseAddress(o.split('/')[0]!)) {
          this.sink.error(opt.location, `unexpected '${o}' after virtual address ${shown}: write one address per line`);
          return undefined;
        }
        const all = [...VIP_OPTIONS_ACTED, ...VIP_FLAGS, ...Object.keys(VIP_OPTIONS_IGNORED)];
        const guess = this.guess(o, all);
        this.sink.error(opt.location, `unknown option '${o}' for virtual address ${shown}${guess ? `; did you mean '${guess}'?` : ''}`);
        return undefined;
      }
      if (o === 'use_vmac') {
        if (list.startsWith('static_')) {
          // keepalived: "Unknown configuration entry 'use_vmac' for ip address - ignoring".
          this.sink.error(opt.location, `'use_vmac' is not an option of ${list} (only of a VRRP instance's addresses)`);
          return undefined;
        }
        useVmac = true;
        continue;
      }
      const param = takesValue ? a[i + 1] : undefined;
      if (takesValue && !param) {
        this.sink.error(opt.location, `'${o}' needs a value: ${needs[o] ?? 'a value'}`);
        return undefined;
      }
      if (takesValue) i++;
      if (!VIP_OPTIONS_ACTED.has(o)) {
        this.optionNotActed(opt);
        ignoredOptions.push(param ? `${o} ${param.text}` : o);
        continue;
      }
      const p = param!;
      if (o === 'dev') {
        if (device !== undefined) {
          this.sink.error(opt.location, `'dev' is given more than once for virtual address ${shown}`);
          return undefined;
        }
        device = p.text;
      } else if (o === 'label') {
        if (ip.family === 'ipv6') this.sink.warning(opt.location, `'label' is ignored for IPv6 address ${shown} (as keepalived does)`);
        else label = p.text;
      } else if (o === 'scope') {
        const n = parseWhole(p.text);
        if (!VIP_SCOPES.includes(p.text) && (n === undefined || n > 255)) {
          const guess = this.guess(p.text, VIP_SCOPES);
          this.sink.error(p.location, `invalid scope '${p.text}' for ${shown}: expected ${needs.scope}${guess ? `; did you mean '${guess}'?` : ''}`);
          return undefined;
        }
        if (ip.family === 'ipv6') this.sink.warning(opt.location, `'scope' is ignored for IPv6 address ${shown} (as keepalived does)`);
        else scope = p.text;
      } else {
        if (ip.family === 'ipv6') {
          this.sink.error(opt.location, `'${o}' is not possible for IPv6 address ${shown}: IPv6 has no broadcast`);
          return undefined;
        }
        if (p.text === '+' || p.text === '-') {
          if (prefixLength > 30) {
            this.sink.warning(p.location, `'${o} ${p.text}' needs a prefix length of 30 or less; no broadcast address is set for ${shown} (as keepalived does)`);
          } else {
            broadcast = subnetBroadcast(ip, prefixLength, p.text === '+');
          }
        } else {
          const b = parseIpv4(p.text);
          if (!b) {
            this.sink.error(p.location, `invalid broadcast address '${p.text}' for ${shown}: expected an IPv4 address, '+' or '-'`);
            return undefined;
          }
          broadcast = formatIpv4(b);
        }
      }
    }
    return defined<VirtualAddressConfig>({
      address: ip.address,
      family: ip.family,
      prefixLength,
      broadcast,
      device,
      scope,
      label,
      ignoredOptions,
      useVmac,
      location: e.keyword.location,
    });
  }

  /** `virtual_server ...` and `virtual_server_group NAME`: read and checked by config/virtual-server.ts. */
  private virtualServer(stmt: Statement): void {
    if (stmt.keyword.text === 'virtual_server_group') {
      const g = this.lvs.group(stmt);
      if (g) this.virtualServerGroups.push(g);
      return;
    }
    const vs = this.lvs.virtualServer(stmt);
    if (vs) this.virtualServers.push(vs);
  }
}

function subnetBroadcast(ip: ParsedAddress, prefix: number, plus: boolean): string {
  const n = ip.bytes.reduce((acc, b) => acc * 256 + b, 0);
  const hostBits = 2 ** (32 - prefix);
  const network = n - (n % hostBits);
  const v = plus ? network + hostBits - 1 : network;
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}

/**
 * The object without its undefined-valued keys: optional model fields are absent, not undefined.
 * (Cheaper than many conditional spreads, which V8 builds slowly.)
 */
export function defined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out as T;
}
