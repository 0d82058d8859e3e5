/**
 * Interpretation and validation: statement tree → `KeepalivedConfig`, with every finding as a
 * diagnostic. Two passes:
 * 1. `Interpreter` walks the tree with the keyword tables of schema.ts: unknown keywords (with a
 *    did-you-mean), keywords keepwatch does not act on (a warning each), argument counts and value
 *    syntax. Values land in `Section`s keyed by keyword; list blocks are parsed entry by entry.
 * 2. `assemble*` applies keepalived's defaults and its completion rules
 *    (keepalived/vrrp/vrrp.c `vrrp_complete_instance`) and the cross-instance checks.
 * Where keepalived refuses a configuration the finding is an error; where it adjusts a value and
 * logs, a warning that says what keepalived does.
 *
 * Secrets: no diagnostic shows the arguments of a `SECRET_KEYWORDS` keyword (`auth_pass my secret`
 * says "takes one value (the password; not shown)"), nor any token of a `SECRET_BLOCKS` block but
 * its keywords (a password on a line of its own reads as an unknown keyword there).
 * Cost: linear in the statements; did-you-mean searches stop once the sink is saturated, and
 * VRID conflicts are found through a map, not by comparing every pair of instances.
 */
import type {
  AddressFamily,
  AuthenticationConfig,
  GlobalDefs,
  InitialState,
  KeepalivedConfig,
  NotifyScripts,
  RealServerConfig,
  SourceLocation,
  SyncGroupConfig,
  TrackFileConfig,
  TrackReference,
  UnicastPeerConfig,
  VirtualAddressConfig,
  VirtualServerConfig,
  VrrpInstanceConfig,
  VrrpScriptConfig,
  VrrpVersion,
} from './model.js';
import { closestMatch, didYouMean, formatLocation, type DiagnosticSink } from './diagnostics.js';
import type { Statement } from './parser.js';
import type { Token } from './lexer.js';
import {
  KEYWORD_MAPS,
  LVS_CHECKERS,
  SECRET_BLOCKS,
  SECRET_KEYWORDS,
  TRUE_FALSE,
  VIP_OPTIONS_ACTED,
  VIP_OPTIONS_IGNORED,
  VIP_SCOPES,
  addressKind,
  describe,
  isMulticast,
  oneOf,
  parseAddress,
  parseDecimalSeconds,
  parseIPv4,
  parseWhole,
  type BlockKind,
  type Keyword,
  type ListEntry,
  type ParsedAddress,
  type ValueSpec,
} from './schema.js';

export const NOT_ACTED_ON = (keyword: string): string => `'${keyword}' is accepted but not acted on by keepwatch yet`;
export const LVS_WARNING = 'virtual_server (LVS) is parsed but not run by keepwatch yet; its health checks are ignored';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const FAMILY_NAME: Record<AddressFamily, string> = { ipv4: 'IPv4', ipv6: 'IPv6' };

interface Setting {
  readonly value: unknown;
  readonly stmt: Statement;
  /** The value's location (first argument), else the keyword's. */
  readonly loc: SourceLocation;
}

interface PeerEntry extends UnicastPeerConfig {
  readonly family: AddressFamily;
}
interface NameEntry {
  readonly name: string;
  readonly location: SourceLocation;
}

/** The keywords read from one block (or several blocks merged, like repeated `global_defs`). */
class Section {
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

/** Pass 1: keyword tables, argument syntax. */
class Interpreter {
  readonly global = new Section('global_defs', 'global_defs', '', { file: '', line: 1, column: 1 });
  readonly named: Record<'vrrp_instance' | 'vrrp_script' | 'vrrp_track_file' | 'vrrp_sync_group', Section[]> = {
    vrrp_instance: [],
    vrrp_script: [],
    vrrp_track_file: [],
    vrrp_sync_group: [],
  };
  readonly virtualServers: VirtualServerConfig[] = [];
  /** > 0 while reading a `SECRET_BLOCKS` block: its tokens are not shown. */
  private secretDepth = 0;

  constructor(private readonly sink: DiagnosticSink) {}

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
        this.named[v.kind as keyof Interpreter['named']].push(section);
      } else if (v.t === 'lvs') {
        const vs = this.virtualServer(stmt);
        if (vs) this.virtualServers.push(vs);
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
        this.sink.error(stmt.keyword.location, `parameter definitions and substitutions ('${word}') are not supported by keepwatch`);
      } else if (word.startsWith('@')) {
        this.sink.error(stmt.keyword.location, `conditional configuration lines ('${word}') are not supported by keepwatch`);
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
      this.sink.warning(stmt.keyword.location, NOT_ACTED_ON(word));
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
      this.sink.error(stmt.keyword.location, `missing value for '${stmt.keyword.text}': expected ${describe(v)}`);
      return false;
    }
    if (stmt.args.length > max) {
      this.extra(stmt, max);
      return false;
    }
    return true;
  }

  private invalid(t: Token, what: string, v: ValueSpec | string, suffix = ''): undefined {
    this.sink.error(t.location, `invalid ${what} '${t.text}': expected ${typeof v === 'string' ? v : describe(v)}${suffix}`);
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
          this.sink.error(a[0]!.location, `invalid ${kw} (not shown: it may be a password): expected ${describe(v)}${note}`);
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
        const us = parseDecimalSeconds(a[0]!.text, v.decimals);
        return us !== undefined && us >= v.min * 1e6 && us <= v.max * 1e6 ? us : this.invalid(a[0]!, kw, v);
      }
      case 'ip': {
        if (!this.count(stmt, 1, 1, v)) return undefined;
        const ip = parseAddress(a[0]!.text);
        if (!ip || (v.family && ip.family !== v.family) || (v.multicast && !isMulticast(ip))) return this.invalid(a[0]!, kw, v);
        return ip;
      }
      case 'cmd':
        if (!this.count(stmt, 1, Infinity, v)) return undefined;
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
          this.sink.warning(opt.location, NOT_ACTED_ON(opt.text));
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
      if (!VIP_OPTIONS_ACTED.has(o) && !Object.hasOwn(VIP_OPTIONS_IGNORED, o)) {
        if (parseAddress(o.split('/')[0]!)) {
          this.sink.error(opt.location, `unexpected '${o}' after virtual address ${shown}: write one address per line`);
          return undefined;
        }
        const all = [...VIP_OPTIONS_ACTED, ...Object.keys(VIP_OPTIONS_IGNORED)];
        const guess = this.guess(o, all);
        this.sink.error(opt.location, `unknown option '${o}' for virtual address ${shown}${guess ? `; did you mean '${guess}'?` : ''}`);
        return undefined;
      }
      const param = takesValue ? a[i + 1] : undefined;
      if (takesValue && !param) {
        this.sink.error(opt.location, `'${o}' needs a value: ${needs[o] ?? 'a value'}`);
        return undefined;
      }
      if (takesValue) i++;
      if (!VIP_OPTIONS_ACTED.has(o)) {
        this.sink.warning(opt.location, NOT_ACTED_ON(o));
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
          const b = parseIPv4(p.text);
          if (!b) {
            this.sink.error(p.location, `invalid broadcast address '${p.text}' for ${shown}: expected an IPv4 address, '+' or '-'`);
            return undefined;
          }
          broadcast = b.join('.');
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
      location: e.keyword.location,
    });
  }

  /** `virtual_server IP PORT | fwmark N | group NAME { ... }`: read, not validated deeply. */
  private virtualServer(stmt: Statement): VirtualServerConfig | undefined {
    this.sink.warning(stmt.keyword.location, LVS_WARNING);
    const [a0, a1, a2] = stmt.args;
    if (!a0 || !a1) {
      this.sink.error(stmt.keyword.location, `missing value for 'virtual_server': expected ${describe({ t: 'lvs' })}`);
      return undefined;
    }
    if (a2) this.extra(stmt, 2);
    let address: string;
    let port: number | undefined;
    if (a0.text === 'fwmark' || a0.text === 'group') {
      if (a0.text === 'fwmark' && parseWhole(a1.text) === undefined) return this.invalid(a1, 'fwmark', 'a whole number');
      address = `${a0.text} ${a1.text}`;
    } else {
      const hp = this.hostPort(a0, a1, 'virtual_server');
      if (!hp) return undefined;
      [address, port] = hp;
    }
    const vs: Mutable<VirtualServerConfig> = defined({ address, port, location: stmt.keyword.location, realServers: [] });
    const realServers: RealServerConfig[] = [];
    for (const s of stmt.block?.statements ?? []) {
      const arg = s.args[0]?.text;
      const k = s.keyword.text;
      if (k === 'real_server') {
        const rs = this.realServer(s);
        if (rs) realServers.push(rs);
      } else if (arg === undefined) continue;
      else if (k === 'delay_loop') {
        const us = parseDecimalSeconds(arg, 6);
        if (us !== undefined) vs.delayLoopMs = us / 1000;
      } else if (k === 'lb_algo' || k === 'lvs_sched') vs.lbAlgo = arg;
      else if (k === 'lb_kind' || k === 'lvs_method') vs.lbKind = arg;
      else if (k === 'persistence_timeout') {
        const n = parseWhole(arg);
        if (n !== undefined) vs.persistenceTimeoutMs = n * 1000;
      } else if (k === 'protocol') vs.protocol = arg;
    }
    vs.realServers = realServers;
    return vs;
  }

  private hostPort(a0: Token, a1: Token | undefined, what: string): [string, number] | undefined {
    const ip = parseAddress(a0.text);
    if (!ip) return this.invalid(a0, `${what} address`, 'an IPv4 or IPv6 address');
    const port = a1 ? parseWhole(a1.text) : undefined;
    if (!a1 || port === undefined || port > 65535) {
      if (a1) return this.invalid(a1, `${what} port`, 'a port number from 0 to 65535');
      this.sink.error(a0.location, `missing value for '${what}': expected an address and a port`);
      return undefined;
    }
    return [ip.address, port];
  }

  private realServer(s: Statement): RealServerConfig | undefined {
    if (s.args[2]) this.extra(s, 2);
    const hp = s.args[0] ? this.hostPort(s.args[0], s.args[1], 'real_server') : undefined;
    if (!s.args[0]) this.sink.error(s.keyword.location, `missing value for 'real_server': expected an address and a port`);
    if (!hp) return undefined;
    const options: Record<string, string> = {};
    let weight: number | undefined;
    let checker: string | undefined;
    const flatten = (stmts: readonly Statement[], prefix: string): void => {
      const seen = new Map<string, number>();
      for (const x of stmts) {
        const n = (seen.get(x.keyword.text) ?? 0) + 1;
        seen.set(x.keyword.text, n);
        const key = `${prefix}${x.keyword.text}${n > 1 ? `#${n}` : ''}`;
        if (x.block) flatten(x.block.statements, `${key}.`);
        else options[key] = x.argsText;
      }
    };
    for (const x of s.block?.statements ?? []) {
      if (!x.block && x.keyword.text === 'weight' && parseWhole(x.args[0]?.text ?? '') !== undefined) {
        weight = parseWhole(x.args[0]!.text);
        continue;
      }
      if (x.block && LVS_CHECKERS.has(x.keyword.text)) checker ??= x.keyword.text;
      flatten([x], '');
    }
    return defined<RealServerConfig>({ address: hp[0], port: hp[1], location: s.keyword.location, weight, checker, options });
  }
}

function subnetBroadcast(ip: ParsedAddress, prefix: number, plus: boolean): string {
  const n = ip.bytes.reduce((acc, b) => acc * 256 + b, 0);
  const hostBits = 2 ** (32 - prefix);
  const network = n - (n % hostBits);
  const v = plus ? network + hostBits - 1 : network;
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
}

// ---------------------------------------------------------------------------------------------
// Pass 2: defaults, keepalived's completion rules, cross-checks.

const ms = (us: number | undefined): number | undefined => (us === undefined ? undefined : us / 1000);

/**
 * The object without its undefined-valued keys: optional model fields are absent, not undefined.
 * (Cheaper than many conditional spreads, which V8 builds slowly.)
 */
function defined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out as T;
}

/** `X 0` where keepalived raises a repeat count to 1, with a warning. */
function repeatCount(s: Section, k: string, sink: DiagnosticSink): number | undefined {
  const r = s.get<number>(k);
  if (r?.value === 0) {
    sink.warning(r.loc, `${k} 0 is raised to 1 (as keepalived does)`);
    return 1;
  }
  return r?.value;
}

/**
 * A lower-priority GARP setting (vrrp_complete_instance): unset, it is 0 in strict mode and the
 * global value otherwise; set non-zero in strict mode, keepalived resets it to 0.
 */
function lowerPrio(s: Section, k: string, strict: boolean, dflt: number, sink: DiagnosticSink): number {
  const r = s.get<number>(k);
  if (!r) return strict ? 0 : dflt;
  if (strict && r.value !== 0) {
    sink.warning(r.loc, `${k} must be 0 in strict mode; keepalived resets it to 0`);
    return 0;
  }
  return r.value;
}

function assembleGlobal(s: Section, sink: DiagnosticSink): GlobalDefs {
  const timeout = s.get<number>('smtp_connect_timeout');
  if (timeout?.value === 0) sink.warning(timeout.loc, 'smtp_connect_timeout 0 is raised to 1 second (as keepalived does)');
  const scriptUser = s.get<string[]>('script_user');
  const lowerDelay = s.val<number>('vrrp_garp_lower_prio_delay');
  return defined<GlobalDefs>({
    routerId: s.val<string>('router_id'),
    notificationEmail: s.list<NameEntry>('notification_email').map((e) => e.name),
    notificationEmailFrom: s.val<string>('notification_email_from'),
    smtpServer: s.val<{ host: string; port: number; location: SourceLocation }>('smtp_server'),
    smtpHeloName: s.val<string>('smtp_helo_name'),
    smtpConnectTimeoutMs: Math.max(1, timeout?.value ?? 30) * 1000,
    smtpAlert: s.val<boolean>('smtp_alert_vrrp') ?? s.val<boolean>('smtp_alert') ?? false,
    vrrpMcastGroup4: s.val<ParsedAddress>('vrrp_mcast_group4')?.address ?? '224.0.0.18',
    vrrpMcastGroup6: s.val<ParsedAddress>('vrrp_mcast_group6')?.address ?? 'ff02::12',
    vrrpVersion: (s.val<number>('vrrp_version') ?? 2) as VrrpVersion,
    vrrpStrict: s.val<boolean>('vrrp_strict') ?? false,
    vrrpSkipCheckAdvAddr: s.val<boolean>('vrrp_skip_check_adv_addr') ?? false,
    vrrpCheckUnicastSrc: s.val<boolean>('vrrp_check_unicast_src') ?? false,
    v3ChecksumAsV2: s.val<boolean>('v3_checksum_as_v2') ?? false,
    vrrpGarpIntervalMs: ms(s.val<number>('vrrp_garp_interval')) ?? 0,
    vrrpGnaIntervalMs: ms(s.val<number>('vrrp_gna_interval')) ?? 0,
    vrrpGarpMasterDelayMs: (s.val<number>('vrrp_garp_master_delay') ?? 5) * 1000,
    vrrpGarpMasterRepeat: repeatCount(s, 'vrrp_garp_master_repeat', sink) ?? 5,
    vrrpGarpMasterRefreshMs: (s.val<number>('vrrp_garp_master_refresh') ?? 0) * 1000,
    vrrpGarpMasterRefreshRepeat: repeatCount(s, 'vrrp_garp_master_refresh_repeat', sink) ?? 1,
    vrrpGarpLowerPrioDelayMs: lowerDelay === undefined ? undefined : lowerDelay * 1000,
    vrrpGarpLowerPrioRepeat: s.val<number>('vrrp_garp_lower_prio_repeat'),
    scriptUser: scriptUser && defined({ user: scriptUser.value[0]!, group: scriptUser.value[1], location: scriptUser.stmt.keyword.location }),
    enableScriptSecurity: s.val<boolean>('enable_script_security') ?? false,
  });
}

function notifyScripts(s: Section): NotifyScripts {
  const out: Record<string, { command: string; location: SourceLocation }> = {};
  for (const [k, field] of [
    ['notify_master', 'master'],
    ['notify_backup', 'backup'],
    ['notify_fault', 'fault'],
    ['notify_stop', 'stop'],
    ['notify', 'generic'],
  ] as const) {
    const n = s.get<string>(k);
    if (n) out[field] = { command: n.value, location: n.loc };
  }
  return out;
}

interface Known {
  readonly scripts: ReadonlySet<string>;
  readonly trackFiles: ReadonlySet<string>;
}

/** Drops (with a warning) references to vrrp_scripts / vrrp_track_files that do not exist. */
function trackRefs(s: Section, known: Known, sink: DiagnosticSink): Pick<VrrpInstanceConfig, 'trackInterfaces' | 'trackScripts' | 'trackFiles'> {
  const check = (k: string, defined: ReadonlySet<string>, of: string): TrackReference[] =>
    s.list<TrackReference>(k).filter((r) => {
      if (defined.has(r.name)) return true;
      sink.warning(r.location, `${k} '${r.name}' refers to an undefined ${of}; ignored (keepalived logs and ignores it too)`);
      return false;
    });
  return {
    trackInterfaces: s.list<TrackReference>('track_interface'),
    trackScripts: check('track_script', known.scripts, 'vrrp_script'),
    trackFiles: check('track_file', known.trackFiles, 'vrrp_track_file'),
  };
}

function assembleInstance(s: Section, g: GlobalDefs, known: Known, sink: DiagnosticSink): VrrpInstanceConfig | undefined {
  const who = `vrrp_instance ${s.name}`;
  const errorsBefore = sink.errorCount;

  // Family: from the VIPs, else the source address or peers (keepalived: `vrrp->family`).
  const vips = s.list<VirtualAddressConfig>('virtual_ipaddress');
  const first = vips[0];
  for (const v of vips) {
    if (first && v.family !== first.family) {
      sink.error(
        v.location,
        `virtual_ipaddress mixes address families: ${v.address} is ${FAMILY_NAME[v.family]} but ${first.address} (line ${first.location.line}) is ${FAMILY_NAME[first.family]}; use one vrrp_instance per family`,
      );
      break;
    }
  }
  const usrc = s.get<ParsedAddress>('unicast_src_ip');
  const msrc = s.get<ParsedAddress>('mcast_src_ip');
  const peers = s.list<PeerEntry>('unicast_peer');
  const family: AddressFamily = first?.family ?? usrc?.value.family ?? msrc?.value.family ?? peers[0]?.family ?? 'ipv4';
  const familyOf = first ? `the virtual addresses of ${who} are` : `${who} is`;
  const sources: [string, ParsedAddress | PeerEntry | undefined, SourceLocation | undefined][] = [
    ['unicast_src_ip', usrc?.value, usrc?.loc],
    ['mcast_src_ip', msrc?.value, msrc?.loc],
  ];
  for (const p of peers) sources.push(['unicast_peer', p, p.location]);
  for (const [what, a, loc] of sources) {
    if (a && loc && a.family !== family) {
      sink.error(loc, `${what} ${a.address} is ${FAMILY_NAME[a.family]} but ${familyOf} ${FAMILY_NAME[family]}`);
    }
  }

  const strict = s.val<boolean>('strict_mode') ?? g.vrrpStrict;

  // Version: the instance's, else 3 for IPv6, else global vrrp_version (vrrp_complete_instance).
  const ver = s.get<number>('version');
  let version = (ver?.value ?? (family === 'ipv6' ? 3 : g.vrrpVersion)) as VrrpVersion;
  if (family === 'ipv6' && version === 2) {
    if (strict) {
      sink.warning(ver!.loc, 'VRRPv2 does not support IPv6; using version 3 (as keepalived does in strict mode)');
      version = 3;
    } else {
      sink.error(ver!.loc, "version 2 cannot be used with IPv6 addresses: VRRPv2 (RFC 3768) is IPv4 only; use 'version 3'");
    }
  }

  const iface = s.val<string>('interface');
  const vrid = s.val<number>('virtual_router_id');
  if (s.lacks('interface')) sink.error(s.nameLoc, `${who} has no 'interface'`);
  if (s.lacks('virtual_router_id')) {
    sink.error(s.nameLoc, `${who} has no 'virtual_router_id' (a number from 1 to 255, the same on all routers of this instance)`);
  }

  // State and priority (vrrp_complete_instance: an unset priority follows the state, an unset
  // state follows the priority, strict mode makes them agree).
  const st = s.get<InitialState>('state');
  const prio = s.get<number>('priority');
  const priority = prio?.value ?? (st?.value === 'MASTER' ? 255 : 100);
  if (!prio && st?.value === 'MASTER') {
    sink.warning(st.loc, "state MASTER without 'priority': keepalived makes such an instance the address owner (priority 255); write the priority you mean");
  }
  let initialState: InitialState = st?.value ?? (priority === 255 ? 'MASTER' : 'BACKUP');
  if (strict && st && (st.value === 'MASTER') !== (priority === 255)) {
    initialState = priority === 255 ? 'MASTER' : 'BACKUP';
    sink.warning(
      st.loc,
      st.value === 'MASTER'
        ? `in strict mode state MASTER needs priority 255 (address owner); keepalived starts ${who} as BACKUP`
        : `in strict mode priority 255 (address owner) means state MASTER; keepalived starts ${who} as MASTER`,
    );
  }

  if (vips.length === 0 && !s.lists.get('virtual_ipaddress')?.lines && !s.suggested.has('virtual_ipaddress')) {
    if (version === 3 || strict) sink.error(s.nameLoc, `${who} has no virtual_ipaddress; keepalived requires at least one with VRRPv3 or in strict mode`);
    else sink.warning(s.nameLoc, `${who} has no virtual_ipaddress; keepalived accepts this, but the instance moves no address`);
  }
  if (family === 'ipv6' && peers.length === 0 && first?.family === 'ipv6' && !/^fe[89ab]/.test(first.address)) {
    const msg = 'the first IPv6 virtual address should be link-local (fe80::/10), as RFC 5798 §5.2.9 asks';
    if (strict) sink.error(first.location, `${msg}; keepalived requires it in strict mode`);
    else sink.warning(first.location, `${msg}; keepalived warns too`);
  }

  // Authentication (VRRPv2 only; vrrp_complete_instance ignores it in strict mode and for v3).
  let authentication: AuthenticationConfig | undefined;
  const auth = s.get<Section>('authentication');
  if (auth) {
    const kw = auth.stmt.keyword.location;
    const type = auth.value.get<string>('auth_type');
    const pass = auth.value.get<string>('auth_pass');
    if (strict) sink.warning(kw, 'authentication is not supported in strict mode; ignored (keepalived: "Strict mode does not support authentication")');
    else if (version === 3) sink.warning(kw, 'authentication is not part of VRRPv3; ignored (as keepalived does)');
    else if (!type) {
      if (auth.value.lacks('auth_type')) sink.error(kw, "authentication has no 'auth_type': expected PASS");
    } else if (type.value === 'AH') sink.error(type.loc, 'auth_type AH is not supported by keepwatch');
    else if (!pass || pass.value === '') {
      if (pass || auth.value.lacks('auth_pass')) sink.error(pass?.loc ?? type.loc, 'auth_type PASS needs a non-empty auth_pass');
    } else {
      if (Buffer.byteLength(pass.value) > 8) {
        sink.warning(pass.loc, 'auth_pass is longer than 8 characters; only the first 8 are used (as keepalived does)');
      }
      authentication = { type: 'PASS', password: pass.value, location: kw };
    }
  }

  // Preemption.
  const np = s.get<boolean>('nopreempt');
  const pre = s.get<boolean>('preempt');
  // Whichever comes last wins (keepalived applies the lines in order).
  let nopreempt = np !== undefined && !(pre && (pre.loc.line > np.loc.line || (pre.loc.line === np.loc.line && pre.loc.column > np.loc.column)));
  if (nopreempt && st?.value === 'MASTER') {
    sink.error(np!.loc, 'nopreempt requires state BACKUP (keepalived ignores nopreempt when state is MASTER)');
  } else if (nopreempt && priority === 255) {
    sink.warning(np!.loc, 'nopreempt has no effect with priority 255: the address owner always takes over (keepalived resets nopreempt)');
    nopreempt = false;
  }
  const pd = s.get<number>('preempt_delay');
  let preemptDelayMs = ms(pd?.value) ?? 0;
  if (pd && preemptDelayMs > 0) {
    const why =
      initialState === 'MASTER' ? 'has no effect with state MASTER'
      : strict ? 'is not allowed in strict mode'
      : nopreempt ? 'has no effect with nopreempt'
      : undefined;
    if (why) {
      sink.warning(pd.loc, `preempt_delay ${why}; keepalived resets it to 0`);
      preemptDelayMs = 0;
    }
  }

  // Advertisement interval (vrrp_complete_instance; keepalived rounds, keepwatch refuses).
  const adv = s.get<number>('advert_int');
  if (adv) {
    const us = adv.value;
    const text = adv.stmt.args[0]!.text;
    if (version === 2 && (us % 1e6 !== 0 || us < 1e6 || us > 255e6)) {
      sink.error(adv.loc, `advert_int ${text} is not valid for VRRPv2: expected a whole number of seconds from 1 to 255`);
    } else if (version === 3 && (us % 1e4 !== 0 || us < 1e4 || us > 40.95e6)) {
      sink.error(adv.loc, `advert_int ${text} is not valid for VRRPv3: expected a multiple of 0.01 s from 0.01 to 40.95`);
    }
  }

  if (strict && peers.length > 0) {
    sink.error(
      s.lists.get('unicast_peer')!.stmt.keyword.location,
      'unicast_peer is not allowed in strict mode (keepalived refuses the instance: "Unicast peers are not supported in strict mode")',
    );
  }

  // GARP settings: instance, else global; the lower-priority ones are 0 in strict mode.
  const garpMasterRepeat = repeatCount(s, 'garp_master_repeat', sink) ?? g.vrrpGarpMasterRepeat;
  const garpMasterRefreshRepeat = repeatCount(s, 'garp_master_refresh_repeat', sink) ?? g.vrrpGarpMasterRefreshRepeat;
  const lowerDelay = lowerPrio(s, 'garp_lower_prio_delay', strict, (g.vrrpGarpLowerPrioDelayMs ?? g.vrrpGarpMasterDelayMs) / 1000, sink);
  const lowerRepeat = lowerPrio(s, 'garp_lower_prio_repeat', strict, g.vrrpGarpLowerPrioRepeat ?? g.vrrpGarpMasterRepeat, sink);
  const { trackInterfaces, trackScripts, trackFiles } = trackRefs(s, known, sink);

  if (iface === undefined || vrid === undefined || sink.errorCount > errorsBefore) return undefined;
  const instance: Mutable<VrrpInstanceConfig> = {
    name: s.name,
    location: s.nameLoc,
    initialState,
    interface: iface,
    vrid,
    priority,
    advertIntervalMs: ms(adv?.value) ?? 1000,
    version,
    family,
    nopreempt,
    preemptDelayMs,
    virtualAddresses: vips,
    virtualAddressesExcluded: s.list<VirtualAddressConfig>('virtual_ipaddress_excluded'),
    unicastPeers: peers.map(({ address, location }) => ({ address, location })),
    mcastGroup: family === 'ipv4' ? g.vrrpMcastGroup4 : g.vrrpMcastGroup6,
    garpMasterDelayMs: (s.val<number>('garp_master_delay') ?? g.vrrpGarpMasterDelayMs / 1000) * 1000,
    garpMasterRepeat,
    garpMasterRefreshMs: (s.val<number>('garp_master_refresh') ?? g.vrrpGarpMasterRefreshMs / 1000) * 1000,
    garpMasterRefreshRepeat,
    garpIntervalMs: ms(s.val<number>('garp_interval')) ?? g.vrrpGarpIntervalMs,
    garpLowerPrioDelayMs: lowerDelay * 1000,
    garpLowerPrioRepeat: lowerRepeat,
    notify: notifyScripts(s),
    trackInterfaces,
    trackScripts,
    trackFiles,
    strict,
    skipCheckAdvAddr: s.val<boolean>('skip_check_adv_addr') ?? g.vrrpSkipCheckAdvAddr,
    checkUnicastSrc: s.val<boolean>('check_unicast_src') ?? g.vrrpCheckUnicastSrc,
    v3ChecksumAsV2: s.val<boolean>('v3_checksum_as_v2') ?? g.v3ChecksumAsV2,
    dontTrackPrimary: s.val<boolean>('dont_track_primary') ?? false,
  };
  if (authentication) instance.authentication = authentication;
  if (usrc) instance.unicastSrcIp = usrc.value.address;
  if (msrc) instance.mcastSrcIp = msrc.value.address;
  const smtpAlert = s.val<boolean>('smtp_alert');
  if (smtpAlert !== undefined) instance.smtpAlert = smtpAlert;
  return instance;
}

function assembleScript(s: Section, sink: DiagnosticSink): VrrpScriptConfig | undefined {
  const script = s.get<string>('script');
  if (!script) {
    if (s.lacks('script')) sink.error(s.nameLoc, `vrrp_script ${s.name} has no 'script' (keepalived drops a vrrp_script without one)`);
    return undefined;
  }
  const intervalMs = (s.val<number>('interval') ?? 1) * 1000;
  const weight = s.val<{ weight: number; reverse: boolean }>('weight');
  const user = s.get<string[]>('user');
  return defined<VrrpScriptConfig>({
    name: s.name,
    location: s.nameLoc,
    script: script.value,
    scriptLocation: script.loc,
    intervalMs,
    timeoutMs: (s.val<number>('timeout') ?? intervalMs / 1000) * 1000,
    weight: weight?.weight ?? 0,
    weightReverse: weight?.reverse ?? false,
    rise: s.val<number>('rise') ?? 1,
    fall: s.val<number>('fall') ?? 1,
    initFail: s.val<boolean>('init_fail') ?? false,
    user: user?.value[0],
    group: user?.value[1],
    userLocation: user?.stmt.keyword.location,
  });
}

function assembleTrackFile(s: Section, sink: DiagnosticSink): TrackFileConfig | undefined {
  const file = s.val<string>('file');
  if (file === undefined) {
    if (s.lacks('file')) sink.error(s.nameLoc, `vrrp_track_file ${s.name} has no 'file'`);
    return undefined;
  }
  const weight = s.val<{ weight: number; reverse: boolean }>('weight');
  const init = s.val<{ value: number; overwrite: boolean }>('init_file');
  return defined<TrackFileConfig>({
    name: s.name,
    location: s.nameLoc,
    file,
    weight: weight?.weight ?? 1,
    weightReverse: weight?.reverse ?? false,
    initFile: init,
  });
}

/** Reports a second definition of a name; returns false for it. */
function uniqueNames(sections: readonly Section[], sink: DiagnosticSink): Section[] {
  const seen = new Map<string, Section>();
  return sections.filter((s) => {
    const prev = seen.get(s.name);
    if (prev) {
      sink.error(s.nameLoc, `${s.kind} '${s.name}' is already defined at ${formatLocation(prev.nameLoc)}`);
      return false;
    }
    seen.set(s.name, s);
    return true;
  });
}

/**
 * keepalived's `check_vrid_conflicts` (vrrp.c): two instances conflict with the same VRID, family
 * and interface, and either both multicast to the same group, or both unicast from the same source
 * address with a common peer. As keys: two instances conflict iff they share one.
 */
function vridKeys(i: VrrpInstanceConfig): string[] {
  const base = `${i.vrid} ${i.family} ${i.interface}`;
  if (i.unicastPeers.length === 0) return [`m ${base} ${i.mcastGroup}`];
  return i.unicastPeers.map((p) => `u ${base} ${i.unicastSrcIp ?? '-'} ${p.address}`);
}

/** Interprets and validates a statement tree (includes already expanded). */
export function buildConfig(stmts: readonly Statement[], files: readonly string[], sink: DiagnosticSink): KeepalivedConfig {
  const it = new Interpreter(sink);
  it.topLevel(stmts);
  const global = assembleGlobal(it.global, sink);

  const scripts = uniqueNames(it.named.vrrp_script, sink).flatMap((s) => assembleScript(s, sink) ?? []);
  const trackFiles = uniqueNames(it.named.vrrp_track_file, sink).flatMap((s) => assembleTrackFile(s, sink) ?? []);
  const known: Known = {
    scripts: new Set(it.named.vrrp_script.map((s) => s.name)),
    trackFiles: new Set(it.named.vrrp_track_file.map((s) => s.name)),
  };

  const instanceSections = uniqueNames(it.named.vrrp_instance, sink);
  const instances: VrrpInstanceConfig[] = [];
  const vridLoc = new Map<VrrpInstanceConfig, SourceLocation>();
  /** VRID key → the first instance (by its index in `instances`) that has it. */
  const vridOwner = new Map<string, number>();
  for (const s of instanceSections) {
    const inst = assembleInstance(s, global, known, sink);
    if (!inst) continue;
    const loc = s.get<number>('virtual_router_id')!.loc;
    let first = Infinity;
    for (const k of vridKeys(inst)) {
      const at = vridOwner.get(k);
      if (at === undefined) vridOwner.set(k, instances.length);
      else first = Math.min(first, at);
    }
    const prev = instances[first];
    if (prev) {
      sink.error(
        loc,
        `virtual_router_id ${inst.vrid} is already used on ${inst.interface} (${FAMILY_NAME[inst.family]}) by vrrp_instance ${prev.name} at ${formatLocation(vridLoc.get(prev)!)}`,
      );
    }
    vridLoc.set(inst, loc);
    instances.push(inst);
  }

  const instanceNames = new Set(instanceSections.map((s) => s.name));
  const memberOf = new Map<string, Section>();
  const syncGroups: SyncGroupConfig[] = [];
  for (const s of uniqueNames(it.named.vrrp_sync_group, sink)) {
    const members = s.list<NameEntry>('group');
    if (s.lacks('group')) sink.error(s.nameLoc, `vrrp_sync_group ${s.name} has no 'group' block listing its vrrp_instances`);
    for (const m of members) {
      const other = memberOf.get(m.name);
      if (!instanceNames.has(m.name)) {
        const guess = sink.saturated ? '' : didYouMean(m.name, instanceNames);
        sink.error(m.location, `'${m.name}' in vrrp_sync_group ${s.name} is not a vrrp_instance${guess}`);
      } else if (other) {
        sink.error(m.location, `vrrp_instance ${m.name} is already in vrrp_sync_group ${other.name} (${formatLocation(other.nameLoc)}); an instance can be in one sync group only`);
      } else memberOf.set(m.name, s);
    }
    if (members.length === 1) {
      sink.warning(s.nameLoc, `vrrp_sync_group ${s.name} has only one vrrp_instance; a sync group synchronises two or more (keepalived warns too)`);
    }
    const smtp = s.val<boolean>('smtp_alert');
    syncGroups.push(
      defined<SyncGroupConfig>({ name: s.name, location: s.nameLoc, members, notify: notifyScripts(s), ...trackRefs(s, known, sink), smtpAlert: smtp }),
    );
  }

  return { files, global, instances, scripts, trackFiles, syncGroups, virtualServers: it.virtualServers };
}

// ---------------------------------------------------------------------------------------------

const seconds = (msv: number): string => `${Number((msv / 1000).toFixed(6))}s`;
const vipText = (v: VirtualAddressConfig): string =>
  v.prefixLength === (v.family === 'ipv4' ? 32 : 128) ? v.address : `${v.address}/${v.prefixLength}`;

/**
 * One line per instance, e.g. `VI_1: vrid 51 on eth0, VRRPv2, BACKUP prio 99, advert 1s, auth PASS,
 * 1 VIP (192.168.128.130), multicast 224.0.0.18`.
 */
export function summarizeInstance(i: VrrpInstanceConfig): string {
  const n = i.virtualAddresses.length;
  const transport = i.unicastPeers.length
    ? `unicast ${i.unicastSrcIp ?? '(interface address)'} -> ${i.unicastPeers.map((p) => p.address).join(', ')}`
    : `multicast ${i.mcastGroup}`;
  return [
    `${i.name}: vrid ${i.vrid} on ${i.interface}`,
    `VRRPv${i.version}`,
    `${i.initialState} prio ${i.priority}${i.nopreempt ? ' nopreempt' : ''}`,
    `advert ${seconds(i.advertIntervalMs)}`,
    i.authentication ? `auth ${i.authentication.type}` : 'no auth',
    `${n} VIP${n === 1 ? '' : 's'}${n ? ` (${i.virtualAddresses.map(vipText).join(', ')})` : ''}`,
    transport,
  ].join(', ');
}
