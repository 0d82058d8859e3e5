/**
 * The LVS side of keepalived.conf: `virtual_server`, `virtual_server_group`, `real_server` and the
 * checker blocks, read with keepalived 2.2.7's keyword tables (keepalived/check/check_parser.c,
 * check_api.c `install_checker_common_keywords`, check_http.c, check_tcp.c, check_misc.c,
 * check_smtp.c, check_dns.c, check_udp.c, check_ping.c, check_file.c). Every keyword is known or
 * an error with a did-you-mean, every value is checked, and the model gets keepalived's defaults,
 * resolved checker → real_server → virtual_server as keepalived's check_data.c does
 * (delay_loop 60 s, connect_timeout 5 s, retry 1, delay_before_retry 1 s (HTTP_GET/SSL_GET: 3 s),
 * warmup = delay_loop, weight 1, quorum 1, hysteresis 0, lb_algo wlc, lb_kind NAT, protocol TCP).
 *
 * Pure: statements in, model and diagnostics out (`file:line:col`).
 */
import type {
  AddressFamily,
  HttpUrlConfig,
  LvsCheckerConfig,
  LvsCheckerKind,
  RealServerConfig,
  SourceLocation,
  VirtualServerConfig,
  VirtualServerGroupConfig,
  VirtualServerGroupEntry,
} from './model.js';
import { closestMatch, formatLocation, type DiagnosticSink } from './diagnostics.js';
import type { Statement } from './parser.js';
import type { Token } from './lexer.js';
import { TRUE_FALSE, oneOf, parseAddress, parseDecimalSecondsUs, parseWhole } from './schema.js';
import { readScriptLine } from './script-line.js';

/** ipvsadm's schedulers (keepalived passes `lb_algo` to the kernel as is). */
export const LVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'] as const;
export const LVS_METHODS = ['NAT', 'DR', 'TUN'] as const;
export const LVS_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export const DNS_TYPES = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA', 'RRSIG', 'DNSKEY'] as const;
export const LVS_CHECKER_KINDS: readonly LvsCheckerKind[] = ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK'];

/** keepalived's defaults (check_data.c alloc_vs, check_api.c queue_checker). */
export const LVS_DEFAULTS = {
  delayLoopMs: 60_000,
  connectTimeoutMs: 5_000,
  retry: 1,
  delayBeforeRetryMs: 1_000,
  httpDelayBeforeRetryMs: 3_000,
  weight: 1,
  quorum: 1,
  hysteresis: 0,
  scheduler: 'wlc',
} as const;

/** ipvsadm's weight range (IPVS_WEIGHT_MAX). */
export const LVS_WEIGHT_MAX = 65535;
/** keepalived's LVS_MAX_TIMEOUT: 31 days. */
const LVS_MAX_TIMEOUT_S = 86400 * 31;
/** Addresses one group range may name (`10.0.0.1-254`): each is a service in the table. */
export const GROUP_RANGE_MAX = 256;
/** Services one group may stand for (its entries, ranges expanded): each is a service in the table. */
export const GROUP_SERVICES_MAX = 4096;
/** Real servers per virtual server, and checkers per real server: a hostile file stays bounded. */
export const MAX_REAL_SERVERS = 4096;
export const MAX_CHECKERS = 16;
/** UDP_CHECK payload bytes (hex-written). */
export const UDP_PAYLOAD_MAX = 1472;
const UINT32 = 4294967295;
/** Seconds keepalived's microsecond timers hold. */
const TIMER_MAX_S = 4294;

/** How a keyword's arguments are read in these blocks. */
type Val =
  | { t: 'flag' }
  | { t: 'bool' }
  | { t: 'word' }
  | { t: 'int'; min: number; max: number }
  /** Seconds with up to 6 decimals, read as ms; `positive`: more than 0 (keepalived's minimum of 1 µs). */
  | { t: 'secs'; positive: boolean; maxS: number }
  | { t: 'enum'; values: readonly string[]; caseless?: boolean }
  | { t: 'ip' }
  | { t: 'cmd' }
  | { t: 'hostport'; portOptional: true }
  | { t: 'hex' }
  | { t: 'any' }
  | { t: 'block' };

const FLAG: Val = { t: 'flag' };
const BOOL: Val = { t: 'bool' };
const WORD: Val = { t: 'word' };
const CMD: Val = { t: 'cmd' };
const IP: Val = { t: 'ip' };
const BLOCK: Val = { t: 'block' };
const int = (min: number, max: number): Val => ({ t: 'int', min, max });
/** keepalived's read_timer: µs precision, min 0 or 1 µs; max UINT_MAX µs (connect_timeout) or its TIMER_MAXIMUM (a year will do). */
const secs = (min: 0 | 1, maxS = LONG_TIMER_MAX_S): Val => ({ t: 'secs', positive: min === 1, maxS });
const LONG_TIMER_MAX_S = 365 * 86400;
const en = (values: readonly string[]): Val => ({ t: 'enum', values });

type Table = Readonly<Record<string, Val>>;

/** check_api.c install_checker_common_keywords(connection_keywords). */
const CHECKER_TIMING: Table = {
  retry: int(0, UINT32),
  /** keepalived < 2.0's name of `retry`, still in many configs (seed 002): read as `retry`, with a warning. */
  nb_get_retry: int(0, UINT32),
  delay_before_retry: secs(0),
  warmup: secs(0),
  delay_loop: secs(1),
  alpha: BOOL,
  log_all_failures: BOOL,
};
const CHECKER_CONNECTION: Table = {
  connect_ip: IP,
  connect_port: int(1, 65535),
  bindto: IP,
  bind_port: int(1, 65535),
  bind_if: WORD,
  connect_timeout: secs(1, TIMER_MAX_S),
  fwmark: int(0, UINT32),
};
const COMMON: Table = { ...CHECKER_CONNECTION, ...CHECKER_TIMING };

export const URL_KEYWORDS: Table = {
  path: WORD,
  digest: WORD,
  status_code: { t: 'any' },
  virtualhost: WORD,
  regex: WORD,
  regex_no_match: FLAG,
  regex_options: { t: 'any' },
  regex_min_offset: int(0, UINT32),
  regex_max_offset: int(0, UINT32),
  regex_stack: { t: 'any' },
};

const HTTP_KEYWORDS: Table = {
  ...COMMON,
  virtualhost: WORD,
  http_protocol: en(['1.0', '1.1', '1.0C', '1.0c']),
  enable_sni: BOOL,
  fast_recovery: BOOL,
  url: BLOCK,
};

/** The keywords of each checker block. */
export const CHECKER_KEYWORDS: Readonly<Record<LvsCheckerKind, Table>> = {
  TCP_CHECK: COMMON,
  HTTP_GET: HTTP_KEYWORDS,
  SSL_GET: HTTP_KEYWORDS,
  MISC_CHECK: { ...CHECKER_TIMING, misc_path: CMD, misc_timeout: secs(1, TIMER_MAX_S), misc_dynamic: BOOL, user: { t: 'any' } },
  SMTP_CHECK: { ...COMMON, helo_name: WORD, host: BLOCK },
  DNS_CHECK: { ...COMMON, type: en(DNS_TYPES), name: WORD },
  UDP_CHECK: { ...COMMON, payload: { t: 'hex' }, require_reply: { t: 'any' }, min_reply_length: int(0, 65535), max_reply_length: int(0, 65535) },
  PING_CHECK: COMMON,
  FILE_CHECK: { track_file: WORD, weight: { t: 'any' } },
  /** keepalived/check/check_bfd.c: follows a bfd_instance's session. */
  BFD_CHECK: { name: WORD, alpha: BOOL },
};

const SCHED_FLAGS = ['hashed', 'ops', 'flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback'];

/** `real_server IP [PORT] { ... }` (check_parser.c after install_sublevel). */
export const REAL_SERVER_KEYWORDS: Table = {
  weight: int(0, LVS_WEIGHT_MAX),
  lvs_method: { t: 'any' },
  uthreshold: int(0, UINT32),
  lthreshold: int(0, UINT32),
  inhibit_on_failure: BOOL,
  notify_up: CMD,
  notify_down: CMD,
  alpha: BOOL,
  retry: int(1, UINT32),
  delay_before_retry: secs(0),
  warmup: secs(0),
  connect_timeout: secs(1, TIMER_MAX_S),
  delay_loop: secs(1),
  smtp_alert: BOOL,
  virtualhost: WORD,
  snmp_name: WORD,
  ...Object.fromEntries(LVS_CHECKER_KINDS.map((k) => [k, BLOCK])),
};

/** `virtual_server IP PORT | fwmark N | group NAME { ... }`. */
export const VIRTUAL_SERVER_KEYWORDS: Table = {
  ip_family: en(['inet', 'inet6']),
  retry: int(1, UINT32),
  delay_before_retry: secs(0),
  warmup: secs(0),
  connect_timeout: secs(1, TIMER_MAX_S),
  delay_loop: secs(1),
  inhibit_on_failure: BOOL,
  lb_algo: en(LVS_SCHEDULERS),
  lvs_sched: en(LVS_SCHEDULERS),
  ...Object.fromEntries(SCHED_FLAGS.map((k) => [k, FLAG])),
  lb_kind: { t: 'any' },
  lvs_method: { t: 'any' },
  persistence_engine: WORD,
  persistence_timeout: { t: 'any' },
  persistence_granularity: WORD,
  /** keepalived compares with strcasecmp: `tcp` is TCP. */
  protocol: { t: 'enum', values: LVS_PROTOCOLS, caseless: true },
  ha_suspend: FLAG,
  smtp_alert: BOOL,
  virtualhost: WORD,
  snmp_name: WORD,
  alpha: FLAG,
  omega: FLAG,
  quorum_up: CMD,
  quorum_down: CMD,
  quorum: int(1, UINT32),
  hysteresis: int(0, UINT32),
  weight: int(1, LVS_WEIGHT_MAX),
  sorry_server: { t: 'hostport', portOptional: true },
  sorry_server_inhibit: BOOL,
  sorry_server_lvs_method: { t: 'any' },
  real_server: BLOCK,
};

/**
 * Keywords of these blocks that keepwatch reads and validates but does not act on, with why (the
 * warning has the form of every "not acted on" warning, so `-t --migrate` classifies it).
 */
export const LVS_NOT_ACTED: Readonly<Record<string, string>> = {
  smtp_alert: 'keepwatch sends no mail for LVS changes: the lvs-real-server and lvs-quorum events are logged and on /metrics; use notify_up/notify_down or quorum_up/quorum_down for a script',
  snmp_name: 'keepwatch has no SNMP agent: the same facts are on /metrics and /v1/state',
  persistence_engine: 'the data plane has no persistence engines (IPVS pe sip); persistence_timeout is applied',
  fast_recovery: 'keepwatch checks a failed server again after delay_before_retry while retrying and after delay_loop otherwise, as without it',
  log_all_failures: 'every check result is an event (lvs-check) and on /metrics; nothing more is logged with it',
  regex_stack: "JavaScript's regular expressions have no JIT stack to size",
  ...Object.fromEntries(['hashed', 'ops', 'flag-1', 'flag-2', 'flag-3', 'sh-port', 'sh-fallback', 'mh-port', 'mh-fallback'].map((k) => [k, 'scheduler flags are not part of the data-plane table (the nftables adapter has no use for them)'])),
};

type Method = 'nat' | 'dr' | 'tun';
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function defined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out as T;
}

/** Values read from one block, keyed by keyword (the last one written wins, as in keepalived). */
class Values {
  readonly map = new Map<string, { value: unknown; stmt: Statement }>();
  get<T>(k: string): T | undefined {
    return this.map.get(k)?.value as T | undefined;
  }
  has(k: string): boolean {
    return this.map.has(k);
  }
}

/** What the reader says about a `virtual_server` statement, for `keepwatch -t` and the model. */
export class VirtualServerReader {
  constructor(private readonly sink: DiagnosticSink) {}

  private guess(word: string, candidates: Iterable<string>): string | undefined {
    return this.sink.saturated ? undefined : closestMatch(word, candidates);
  }

  /**
   * Reads every statement of `stmts` against `table`: unknown keywords (did-you-mean) and bad values
   * are errors; returns the values and the block statements for the caller.
   */
  private read(stmts: readonly Statement[], table: Table, where: string, blocks: (s: Statement) => void): Values {
    const out = new Values();
    for (const s of stmts) {
      const k = s.keyword.text;
      const spec = Object.hasOwn(table, k) ? table[k] : undefined;
      if (!spec) {
        const g = this.guess(k, Object.keys(table));
        this.sink.error(s.keyword.location, `unknown keyword '${k}' in ${where}${g ? `; did you mean '${g}'?` : ''}`);
        continue;
      }
      if (spec.t === 'block') {
        if (!s.block) this.sink.error(s.keyword.location, `'${k}' in ${where} needs a block ('{ ... }')`);
        else blocks(s);
        continue;
      }
      if (s.block) this.sink.error(s.block.open?.location ?? s.keyword.location, `'${k}' takes no block`);
      const why = LVS_NOT_ACTED[k];
      if (why) this.sink.warning(s.keyword.location, `'${k}' is accepted but not acted on by keepwatch: ${why}`);
      const v = this.value(s, spec);
      if (v !== undefined) out.map.set(k, { value: v, stmt: s });
    }
    return out;
  }

  private bad(t: Token, what: string, expected: string): undefined {
    this.sink.error(t.location, `invalid ${what} '${t.text}': expected ${expected}`);
    return undefined;
  }

  private count(s: Statement, min: number, max: number, expected: string): boolean {
    if (s.args.length < min) {
      this.sink.error(s.keyword.location, `missing value for '${s.keyword.text}': expected ${expected}`);
      return false;
    }
    if (s.args.length > max) {
      this.sink.error(s.args[max]!.location, `'${s.keyword.text}' takes ${max === 0 ? 'no argument' : `${max} value${max === 1 ? '' : 's'}`}; extra '${s.args[max]!.text}'`);
      return false;
    }
    return true;
  }

  /** One statement's value by its spec, or undefined after an error. */
  private value(s: Statement, v: Val): unknown {
    const a = s.args;
    const kw = s.keyword.text;
    switch (v.t) {
      case 'flag':
        return this.count(s, 0, 0, 'no argument') ? true : undefined;
      case 'bool': {
        if (!this.count(s, 0, 1, 'true or false')) return undefined;
        if (!a[0]) return true;
        const b = TRUE_FALSE[a[0].text.toLowerCase()];
        return b === undefined ? this.bad(a[0], kw, 'true, false, on, off, yes or no (or nothing, meaning true)') : b;
      }
      case 'word':
        return this.count(s, 1, 1, 'one word') ? a[0]!.text : undefined;
      case 'int': {
        const expected = `a whole number from ${v.min} to ${v.max}`;
        if (!this.count(s, 1, 1, expected)) return undefined;
        const n = parseWhole(a[0]!.text);
        return n === undefined || n < v.min || n > v.max ? this.bad(a[0]!, kw, expected) : n;
      }
      case 'secs': {
        const expected = `a number of seconds ${v.positive ? 'above 0' : 'from 0'} up to ${v.maxS} (up to 6 decimals)`;
        if (!this.count(s, 1, 1, expected)) return undefined;
        const us = parseDecimalSecondsUs(a[0]!.text, 6);
        return us === undefined || (v.positive && us === 0) || us > v.maxS * 1e6 ? this.bad(a[0]!, kw, expected) : us / 1000;
      }
      case 'enum': {
        const expected = oneOf(v.values);
        if (!this.count(s, 1, 1, expected)) return undefined;
        const w = a[0]!.text;
        if (v.values.includes(w)) return w;
        if (v.caseless && v.values.includes(w.toUpperCase())) return w.toUpperCase();
        if (kw === 'lb_algo' || kw === 'lvs_sched') {
          if (w === 'twos') return this.bad(a[0]!, kw, `${expected}: keepalived 2.2.7 also knows 'twos', which keepwatch's data planes do not run yet`);
        }
        const g = this.guess(w, v.values);
        return this.bad(a[0]!, kw, `${expected}${g ? `; did you mean '${g}'?` : ''}`);
      }
      case 'ip': {
        if (!this.count(s, 1, 1, 'an IPv4 or IPv6 address')) return undefined;
        const p = parseAddress(a[0]!.text);
        return p ? p.address : this.bad(a[0]!, kw, 'an IPv4 or IPv6 address');
      }
      case 'cmd': {
        if (!this.count(s, 1, Infinity, 'a command line')) return undefined;
        const line = readScriptLine(s);
        if (!line.ok) {
          this.sink.error(line.location, `invalid '${kw}': ${line.message}`);
          return undefined;
        }
        return line;
      }
      case 'hostport': {
        if (!this.count(s, 1, 2, 'an address and an optional port')) return undefined;
        const p = parseAddress(a[0]!.text);
        if (!p) return this.bad(a[0]!, `${kw} address`, 'an IPv4 or IPv6 address');
        let port: number | undefined;
        if (a[1]) {
          port = parseWhole(a[1].text);
          if (port === undefined || port > 65535) return this.bad(a[1], `${kw} port`, 'a port number from 0 to 65535');
        }
        return { address: p.address, family: p.family, port };
      }
      case 'hex': {
        if (!this.count(s, 1, 1, 'hexadecimal bytes')) return undefined;
        const bytes = hexBytes(a[0]!.text);
        if (!bytes || bytes.length > UDP_PAYLOAD_MAX) return this.bad(a[0]!, kw, `up to ${UDP_PAYLOAD_MAX} bytes in hexadecimal (an even number of digits)`);
        return bytes;
      }
      case 'any':
        return s;
      default:
        return undefined;
    }
  }

  /** `lb_kind` / `lvs_method` / `sorry_server_lvs_method`: NAT, DR or TUN (TUN's options accepted). */
  private method(s: Statement | undefined): Method | undefined {
    if (!s) return undefined;
    const w = s.args[0];
    if (!w) {
      this.sink.error(s.keyword.location, `missing value for '${s.keyword.text}': expected NAT, DR or TUN`);
      return undefined;
    }
    // keepalived compares with strcmp: NAT, DR and TUN in capitals only (`dr` gets a did-you-mean).
    const up = w.text;
    if (up === 'NAT' || up === 'DR' || up === 'TUN') {
      if (up === 'TUN') {
        if (s.args.length > 1) this.sink.warning(s.args[1]!.location, `'${s.keyword.text} TUN' tunnel options (type, port, checksum) are accepted and not acted on by keepwatch: IPIP is used`);
      } else if (s.args[1]) this.sink.error(s.args[1].location, `'${s.keyword.text}' takes one value; extra '${s.args[1].text}'`);
      return up.toLowerCase() as Method;
    }
    const g = this.guess(w.text, LVS_METHODS);
    this.bad(w, s.keyword.text, `NAT, DR or TUN${g ? `; did you mean '${g}'?` : ''}`);
    return undefined;
  }

  /** `virtual_server_group NAME { IP[-END] PORT | fwmark N ... }`. */
  group(stmt: Statement): VirtualServerGroupConfig | undefined {
    const name = stmt.args[0];
    if (!name) {
      this.sink.error(stmt.keyword.location, 'virtual_server_group needs a name');
      return undefined;
    }
    if (stmt.args[1]) this.sink.error(stmt.args[1].location, `'virtual_server_group' takes one name; extra '${stmt.args[1].text}'`);
    const entries: VirtualServerGroupEntry[] = [];
    let services = 0;
    for (const s of stmt.block?.statements ?? []) {
      const w = s.keyword;
      if (s.block) this.sink.error(s.keyword.location, `a virtual_server_group entry takes no block`);
      if (w.text === 'fwmark') {
        const n = s.args[0] ? parseWhole(s.args[0].text) : undefined;
        if (n === undefined || n > UINT32) {
          if (s.args[0]) this.bad(s.args[0], 'fwmark', `a whole number from 0 to ${UINT32}`);
          else this.sink.error(w.location, "missing value for 'fwmark': expected a number");
          continue;
        }
        if (++services > GROUP_SERVICES_MAX) {
          this.sink.error(w.location, `virtual_server_group ${name.text} stands for more than ${GROUP_SERVICES_MAX} services; the rest are not read`);
          break;
        }
        entries.push({ fwmark: n, location: w.location });
        continue;
      }
      const m = /^([^-]+)(?:-([0-9a-fA-F]+))?$/.exec(w.text);
      const ip = m ? parseAddress(m[1]!) : undefined;
      if (!m || !ip) {
        const g = this.guess(w.text, ['fwmark']);
        this.sink.error(w.location, `invalid virtual_server_group entry '${w.text}': expected 'IP PORT', 'IP-LAST PORT' or 'fwmark N'${g ? `; did you mean '${g}'?` : ''}`);
        continue;
      }
      let rangeEnd: number | undefined;
      if (m[2] !== undefined) {
        rangeEnd = ip.family === 'ipv4' ? parseWhole(m[2]) : parseInt(m[2], 16);
        const first = ip.family === 'ipv4' ? ip.bytes[3]! : ip.bytes[14]! * 256 + ip.bytes[15]!;
        const top = ip.family === 'ipv4' ? 255 : 0xffff;
        if (rangeEnd === undefined || rangeEnd < first || rangeEnd > top || rangeEnd - first + 1 > GROUP_RANGE_MAX) {
          this.sink.error(w.location, `invalid range '${w.text}': the last ${ip.family === 'ipv4' ? 'byte' : 'group'} must be from ${first} to ${Math.min(top, first + GROUP_RANGE_MAX - 1)} (at most ${GROUP_RANGE_MAX} addresses)`);
          continue;
        }
      }
      const p = s.args[0];
      const port = p ? parseWhole(p.text) : undefined;
      if (!p || port === undefined || port > 65535) {
        if (p) this.bad(p, 'virtual_server_group port', 'a port number from 0 to 65535');
        else this.sink.error(w.location, `missing port after '${w.text}' in virtual_server_group ${name.text}`);
        continue;
      }
      if (s.args[1]) this.sink.error(s.args[1].location, `a virtual_server_group entry is 'IP PORT'; extra '${s.args[1].text}'`);
      const count = rangeEnd === undefined ? 1 : rangeEnd - (ip.family === 'ipv4' ? ip.bytes[3]! : ip.bytes[14]! * 256 + ip.bytes[15]!) + 1;
      if (services + count > GROUP_SERVICES_MAX) {
        this.sink.error(w.location, `virtual_server_group ${name.text} stands for more than ${GROUP_SERVICES_MAX} services; the rest are not read`);
        break;
      }
      services += count;
      entries.push(defined({ address: ip.address, family: ip.family, rangeEnd, port, location: w.location }));
    }
    if (entries.length === 0) this.sink.warning(name.location, `virtual_server_group ${name.text} is empty`);
    return { name: name.text, location: name.location, entries };
  }

  /** `virtual_server IP PORT | fwmark N | group NAME { ... }`. */
  virtualServer(stmt: Statement): VirtualServerConfig | undefined {
    const [a0, a1, a2] = stmt.args;
    if (!a0 || !a1) {
      this.sink.error(stmt.keyword.location, "missing value for 'virtual_server': expected 'IP PORT', 'fwmark N' or 'group NAME'");
      return undefined;
    }
    if (a2) this.sink.error(a2.location, `'virtual_server' takes two values; extra '${a2.text}'`);
    const head: Mutable<Partial<VirtualServerConfig>> = { location: stmt.keyword.location };
    let where: string;
    if (a0.text === 'fwmark') {
      const n = parseWhole(a1.text);
      if (n === undefined || n < 1 || n > UINT32) return this.bad(a1, 'fwmark', `a whole number from 1 to ${UINT32}`);
      head.address = `fwmark ${n}`;
      head.fwmark = n;
      where = `virtual_server fwmark ${n}`;
    } else if (a0.text === 'group') {
      head.address = `group ${a1.text}`;
      head.group = a1.text;
      where = `virtual_server group ${a1.text}`;
    } else {
      const ip = parseAddress(a0.text);
      if (!ip) {
        const g = this.guess(a0.text, ['fwmark', 'group']);
        return this.bad(a0, 'virtual_server address', `an IPv4 or IPv6 address${g ? `; did you mean '${g}'?` : ''}`);
      }
      const port = parseWhole(a1.text);
      if (port === undefined || port > 65535) return this.bad(a1, 'virtual_server port', 'a port number from 0 to 65535');
      head.address = ip.address;
      head.port = port;
      head.family = ip.family;
      where = `virtual_server ${ip.family === 'ipv6' ? `[${ip.address}]` : ip.address}:${port}`;
    }
    if (!stmt.block) this.sink.error(stmt.keyword.location, `${where} has no block`);
    const rsStmts: Statement[] = [];
    const v = this.read(stmt.block?.statements ?? [], VIRTUAL_SERVER_KEYWORDS, where, (s) => rsStmts.push(s));

    const family = head.family ?? (v.get<string>('ip_family') === 'inet6' ? 'ipv6' : v.has('ip_family') ? 'ipv4' : undefined);
    if (head.family && v.has('ip_family') && (v.get<string>('ip_family') === 'inet6') !== (head.family === 'ipv6')) {
      this.sink.error(v.map.get('ip_family')!.stmt.args[0]!.location, `ip_family ${v.get<string>('ip_family')} does not match the virtual server's address ${head.address}`);
    }
    const scheduler = v.get<string>('lvs_sched') ?? v.get<string>('lb_algo') ?? LVS_DEFAULTS.scheduler;
    const kindStmt = v.get<Statement>('lvs_method') ?? v.get<Statement>('lb_kind');
    const method = this.method(kindStmt) ?? 'nat';
    let persistenceTimeoutMs: number | undefined;
    const pto = v.get<Statement>('persistence_timeout');
    if (pto) {
      const t = pto.args[0];
      // keepalived: no value means its default of 6 minutes (IPVS_SVC_PERSISTENT_TIMEOUT).
      const n = t ? parseWhole(t.text) : 360;
      if (pto.args[1]) this.sink.error(pto.args[1].location, `'persistence_timeout' takes one value; extra '${pto.args[1].text}'`);
      if (n === 0) {
        this.sink.warning(t!.location, 'persistence_timeout 0: no persistence (keepalived reports it invalid and ignores it)');
        persistenceTimeoutMs = 0;
      }
      else if (n === undefined || n > LVS_MAX_TIMEOUT_S) this.bad(t!, 'persistence_timeout', `a whole number of seconds from 1 to ${LVS_MAX_TIMEOUT_S}`);
      else persistenceTimeoutMs = n * 1000;
    }
    const pgr = v.get<string>('persistence_granularity');
    if (pgr !== undefined) {
      const ok = parseAddress(pgr)?.family === 'ipv4' || (parseWhole(pgr) ?? 0) >= 1 && (parseWhole(pgr) ?? 0) <= 128;
      if (!ok) this.bad(v.map.get('persistence_granularity')!.stmt.args[0]!, 'persistence_granularity', 'an IPv4 netmask or an IPv6 prefix length from 1 to 128');
    }
    const protocol = v.get<string>('protocol');
    const vsWeight = v.get<number>('weight') ?? LVS_DEFAULTS.weight;
    const quorumUp = v.get<ScriptLineOk>('quorum_up');
    const quorumDown = v.get<ScriptLineOk>('quorum_down');
    const sorry = v.get<{ address: string; family: AddressFamily; port?: number }>('sorry_server');
    const sorryMethod = this.method(v.get<Statement>('sorry_server_lvs_method'));
    if (sorry && head.port !== undefined && sorry.port === undefined) {
      this.sink.error(v.map.get('sorry_server')!.stmt.keyword.location, `sorry_server needs a port in ${where} (only a fwmark service may leave it out)`);
    }

    const vsTiming = {
      retry: v.get<number>('retry'),
      delayBeforeRetryMs: v.get<number>('delay_before_retry'),
      warmupMs: v.get<number>('warmup'),
      connectTimeoutMs: v.get<number>('connect_timeout') ?? LVS_DEFAULTS.connectTimeoutMs,
      delayLoopMs: v.get<number>('delay_loop') ?? LVS_DEFAULTS.delayLoopMs,
      alpha: v.get<boolean>('alpha') ?? false,
      inhibit: v.get<boolean>('inhibit_on_failure') ?? false,
      virtualhost: v.get<string>('virtualhost'),
    };

    const realServers: RealServerConfig[] = [];
    let vsFamily = family;
    for (const s of rsStmts) {
      if (realServers.length >= MAX_REAL_SERVERS) {
        this.sink.error(s.keyword.location, `more than ${MAX_REAL_SERVERS} real servers in ${where}`);
        break;
      }
      const rs = this.realServer(s, where, head, vsWeight, vsTiming);
      if (!rs) continue;
      if (vsFamily && rs.family !== vsFamily && rs.method !== 'tun') {
        this.sink.error(rs.location, `real_server ${rs.address} is ${rs.family === 'ipv6' ? 'IPv6' : 'IPv4'} but ${where} is ${vsFamily === 'ipv6' ? 'IPv6' : 'IPv4'} (only a TUN real server may differ)`);
        continue;
      }
      vsFamily ??= rs.family;
      const dup = realServers.find((r) => r.address === rs.address && r.port === rs.port);
      if (dup) {
        this.sink.error(rs.location, `real_server ${rs.address}${rs.port !== undefined ? ` ${rs.port}` : ''} is already in ${where} (at ${formatLocation(dup.location)})`);
        continue;
      }
      realServers.push(rs);
    }

    let quorum = v.get<number>('quorum') ?? LVS_DEFAULTS.quorum;
    let hysteresis = v.get<number>('hysteresis') ?? LVS_DEFAULTS.hysteresis;
    const weightSum = realServers.reduce((n, r) => n + r.effectiveWeight, 0);
    if (v.has('quorum') && quorum > weightSum && realServers.length > 0) {
      this.sink.warning(v.map.get('quorum')!.stmt.args[0]!.location, `quorum ${quorum} exceeds the total weight of the real servers (${weightSum}) in ${where}; using ${weightSum} (as keepalived does)`);
      quorum = Math.max(1, weightSum);
    }
    if (hysteresis >= quorum) {
      if (v.has('hysteresis')) this.sink.warning(v.map.get('hysteresis')!.stmt.args[0]!.location, `hysteresis ${hysteresis} is not below quorum ${quorum} in ${where}; using ${quorum - 1} (as keepalived does)`);
      hysteresis = quorum - 1;
    }
    if (realServers.length === 0 && !sorry) this.sink.warning(stmt.keyword.location, `no real_server in ${where}: its traffic is dropped`);

    return defined<VirtualServerConfig>({
      ...(head as Pick<VirtualServerConfig, 'address' | 'location'>),
      family: vsFamily,
      delayLoopMs: v.get<number>('delay_loop'),
      lbAlgo: v.get<string>('lvs_sched') ?? v.get<string>('lb_algo'),
      lbKind: kindStmt?.args[0]?.text,
      persistenceTimeoutMs,
      persistenceGranularity: pgr,
      persistenceEngine: v.get<string>('persistence_engine'),
      protocol,
      realServers,
      scheduler,
      method,
      serviceProtocol: (protocol ?? 'TCP').toLowerCase() as 'tcp' | 'udp' | 'sctp',
      schedulerFlags: SCHED_FLAGS.filter((f) => f !== 'ops' && v.has(f)),
      opsFlag: v.has('ops'),
      haSuspend: v.has('ha_suspend'),
      alpha: vsTiming.alpha,
      omega: v.get<boolean>('omega') ?? false,
      inhibitOnFailure: vsTiming.inhibit,
      quorum,
      hysteresis,
      quorumUp: quorumUp?.argv,
      quorumDown: quorumDown?.argv,
      quorumUpText: quorumUp?.command,
      quorumDownText: quorumDown?.command,
      weight: vsWeight,
      sorryServer: sorry && defined({ address: sorry.address, port: sorry.port ?? head.port, method: sorryMethod }),
      sorryServerInhibit: v.get<boolean>('sorry_server_inhibit') ?? false,
      virtualhost: vsTiming.virtualhost,
    });
  }

  private realServer(
    s: Statement,
    vsWhere: string,
    head: Partial<VirtualServerConfig>,
    vsWeight: number,
    vs: { retry?: number; delayBeforeRetryMs?: number; warmupMs?: number; connectTimeoutMs: number; delayLoopMs: number; alpha: boolean; inhibit: boolean; virtualhost?: string },
  ): RealServerConfig | undefined {
    const [a0, a1, a2] = s.args;
    if (!a0) {
      this.sink.error(s.keyword.location, "missing value for 'real_server': expected an address and a port");
      return undefined;
    }
    if (a2) this.sink.error(a2.location, `'real_server' takes an address and a port; extra '${a2.text}'`);
    const ip = parseAddress(a0.text);
    if (!ip) return this.bad(a0, 'real_server address', 'an IPv4 or IPv6 address');
    let port: number | undefined;
    if (a1) {
      port = parseWhole(a1.text);
      if (port === undefined || port > 65535) return this.bad(a1, 'real_server port', 'a port number from 0 to 65535');
    } else if (head.port !== undefined) {
      port = head.port; // keepalived: the virtual server's port
    }
    const where = `real_server ${ip.family === 'ipv6' ? `[${ip.address}]` : ip.address}${port !== undefined ? `:${port}` : ''} of ${vsWhere}`;
    const checkerStmts: Statement[] = [];
    const v = this.read(s.block?.statements ?? [], REAL_SERVER_KEYWORDS, where, (c) => checkerStmts.push(c));
    const rsT = {
      retry: v.get<number>('retry') ?? vs.retry,
      delayBeforeRetryMs: v.get<number>('delay_before_retry') ?? vs.delayBeforeRetryMs,
      warmupMs: v.get<number>('warmup') ?? vs.warmupMs,
      connectTimeoutMs: v.get<number>('connect_timeout') ?? vs.connectTimeoutMs,
      delayLoopMs: v.get<number>('delay_loop') ?? vs.delayLoopMs,
      alpha: v.get<boolean>('alpha') ?? vs.alpha,
      virtualhost: v.get<string>('virtualhost') ?? vs.virtualhost,
    };
    const checkers: LvsCheckerConfig[] = [];
    for (const c of checkerStmts) {
      if (checkers.length >= MAX_CHECKERS) {
        this.sink.error(c.keyword.location, `more than ${MAX_CHECKERS} checkers in ${where}`);
        break;
      }
      checkers.push(...this.checker(c, `${c.keyword.text} of ${where}`, rsT, port));
    }
    const notifyUp = v.get<ScriptLineOk>('notify_up');
    const notifyDown = v.get<ScriptLineOk>('notify_down');
    const weight = v.get<number>('weight');
    const uth = v.get<number>('uthreshold');
    const lth = v.get<number>('lthreshold');
    if (uth !== undefined && lth !== undefined && lth > uth) this.sink.error(v.map.get('lthreshold')!.stmt.args[0]!.location, `lthreshold ${lth} is above uthreshold ${uth}`);
    return defined<RealServerConfig>({
      address: ip.address,
      family: ip.family,
      port,
      location: s.keyword.location,
      weight,
      effectiveWeight: weight ?? vsWeight,
      checker: checkers[0]?.kind,
      checkers,
      options: flatten(s.block?.statements ?? []),
      method: this.method(v.get<Statement>('lvs_method')),
      upperThreshold: uth,
      lowerThreshold: lth,
      inhibitOnFailure: v.get<boolean>('inhibit_on_failure') ?? vs.inhibit,
      alpha: rsT.alpha,
      notifyUp: notifyUp?.argv,
      notifyDown: notifyDown?.argv,
      notifyUpText: notifyUp?.command,
      notifyDownText: notifyDown?.command,
    });
  }

  private checker(
    c: Statement,
    where: string,
    rs: { retry?: number; delayBeforeRetryMs?: number; warmupMs?: number; connectTimeoutMs: number; delayLoopMs: number; alpha: boolean; virtualhost?: string },
    rsPort: number | undefined,
  ): LvsCheckerConfig[] {
    const kind = c.keyword.text as LvsCheckerKind;
    if (c.args[0]) this.sink.error(c.args[0].location, `'${kind}' takes no argument; extra '${c.args[0].text}'`);
    const urls: HttpUrlConfig[] = [];
    const hosts: Statement[] = [];
    const v = this.read(c.block?.statements ?? [], CHECKER_KEYWORDS[kind], where, (b) => {
      if (b.keyword.text === 'url') {
        const u = this.url(b, `url of ${where}`);
        if (u) urls.push(u);
      } else hosts.push(b);
    });
    if (hosts.length === 0) {
      const one = this.build(c, kind, v, urls, where, rs, rsPort);
      return one ? [one] : [];
    }
    // SMTP_CHECK's deprecated `host { ... }` blocks: one checker each (keepalived's smtp_host_handler),
    // the SMTP_CHECK's own settings as their defaults.
    const out: LvsCheckerConfig[] = [];
    for (const h of hosts) {
      const hv = this.read(h.block?.statements ?? [], COMMON, `host of ${where}`, () => {});
      const merged = new Values();
      for (const [k, x] of v.map) merged.map.set(k, x);
      for (const [k, x] of hv.map) merged.map.set(k, x);
      const one = this.build(h, kind, merged, urls, `host of ${where}`, rs, rsPort);
      if (one) out.push(one);
    }
    return out;
  }

  /** One checker's config from its values, with keepalived's defaults. */
  private build(
    c: Statement,
    kind: LvsCheckerKind,
    v: Values,
    urls: HttpUrlConfig[],
    where: string,
    rs: { retry?: number; delayBeforeRetryMs?: number; warmupMs?: number; connectTimeoutMs: number; delayLoopMs: number; alpha: boolean; virtualhost?: string },
    rsPort: number | undefined,
  ): LvsCheckerConfig | undefined {
    const delayLoopMs = v.get<number>('delay_loop') ?? rs.delayLoopMs;
    const isHttp = kind === 'HTTP_GET' || kind === 'SSL_GET';
    const retry = v.get<number>('retry') ?? v.get<number>('nb_get_retry') ?? rs.retry ?? LVS_DEFAULTS.retry;
    // keepalived 2.2.7 still takes it in HTTP_GET/SSL_GET; elsewhere it calls it unknown, keepwatch reads it.
    if (!isHttp && v.has('nb_get_retry') && !v.has('retry')) this.sink.warning(v.map.get('nb_get_retry')!.stmt.keyword.location, "'nb_get_retry' is keepalived 1.x's name of 'retry' (keepalived 2.2.7 only knows it in HTTP_GET and SSL_GET): keepwatch reads it as 'retry'");
    const base: Mutable<LvsCheckerConfig> = {
      kind,
      location: c.keyword.location,
      connectIp: v.get<string>('connect_ip'),
      connectPort: v.get<number>('connect_port'),
      bindTo: v.get<string>('bindto'),
      bindPort: v.get<number>('bind_port'),
      bindInterface: v.get<string>('bind_if'),
      fwmark: v.get<number>('fwmark'),
      connectTimeoutMs: v.get<number>('connect_timeout') ?? rs.connectTimeoutMs,
      delayLoopMs,
      retry,
      delayBeforeRetryMs: v.get<number>('delay_before_retry') ?? rs.delayBeforeRetryMs ?? (isHttp ? LVS_DEFAULTS.httpDelayBeforeRetryMs : LVS_DEFAULTS.delayBeforeRetryMs),
      warmupMs: v.get<number>('warmup') ?? rs.warmupMs ?? delayLoopMs,
      alpha: v.get<boolean>('alpha') ?? rs.alpha,
      logAllFailures: v.get<boolean>('log_all_failures') ?? false,
    };
    const needsPort = kind !== 'MISC_CHECK' && kind !== 'FILE_CHECK' && kind !== 'PING_CHECK' && kind !== 'BFD_CHECK';
    if (needsPort && rsPort === undefined && base.connectPort === undefined && !(kind === 'DNS_CHECK' || kind === 'SMTP_CHECK')) {
      this.sink.error(c.keyword.location, `${where} needs 'connect_port': the real server has no port (a fwmark service)`);
    }
    const bindIp = base.bindTo && parseAddress(base.bindTo);
    const target = base.connectIp && parseAddress(base.connectIp);
    if (bindIp && target && bindIp.family !== target.family) this.sink.error(v.map.get('bindto')!.stmt.args[0]!.location, `bindto ${base.bindTo} and connect_ip ${base.connectIp} are of different families`);
    switch (kind) {
      case 'HTTP_GET':
      case 'SSL_GET': {
        if (urls.length === 0) {
          this.sink.error(c.keyword.location, `${where} has no url (keepalived ignores such a checker); add 'url { path / }'`);
          return undefined;
        }
        base.urls = urls;
        base.virtualhost = v.get<string>('virtualhost') ?? rs.virtualhost;
        const hp = v.get<string>('http_protocol');
        base.httpProtocol = hp === undefined ? '1.0' : hp === '1.0c' ? '1.0C' : (hp as '1.0' | '1.1' | '1.0C');
        base.enableSni = v.get<boolean>('enable_sni') ?? false;
        base.fastRecovery = v.get<boolean>('fast_recovery') ?? false;
        if (kind === 'HTTP_GET' && v.has('enable_sni')) this.sink.warning(v.map.get('enable_sni')!.stmt.keyword.location, "'enable_sni' only matters to SSL_GET");
        break;
      }
      case 'MISC_CHECK': {
        const line = v.get<ScriptLineOk>('misc_path');
        if (!line) {
          this.sink.error(c.keyword.location, `${where} has no misc_path`);
          return undefined;
        }
        base.miscPath = line.argv;
        base.miscPathText = line.command;
        base.miscTimeoutMs = v.get<number>('misc_timeout');
        base.miscDynamic = v.get<boolean>('misc_dynamic') ?? false;
        const u = v.get<Statement>('user');
        if (u) {
          if (!u.args[0]) this.sink.error(u.keyword.location, "missing value for 'user': expected a user name and an optional group");
          else if (u.args[2]) this.sink.error(u.args[2].location, `'user' takes a user and an optional group; extra '${u.args[2].text}'`);
          else {
            base.user = u.args[0].text;
            if (u.args[1]) base.group = u.args[1].text;
          }
        }
        break;
      }
      case 'SMTP_CHECK':
        base.heloName = v.get<string>('helo_name');
        break;
      case 'DNS_CHECK':
        base.dnsType = v.get<string>('type') ?? 'SOA';
        base.dnsName = v.get<string>('name') ?? '.';
        if (base.dnsName.length > 253) this.sink.error(v.map.get('name')!.stmt.args[0]!.location, 'a DNS name has at most 253 characters');
        break;
      case 'UDP_CHECK': {
        base.payload = v.get<Uint8Array>('payload');
        const rr = v.get<Statement>('require_reply');
        if (rr) {
          if (rr.args[1]) this.sink.error(rr.args[1].location, `'require_reply' takes one optional value; extra '${rr.args[1].text}'`);
          const bytes = rr.args[0] ? hexBytes(rr.args[0].text) : undefined;
          if (rr.args[0] && !bytes) this.bad(rr.args[0], 'require_reply', 'hexadecimal bytes (an even number of digits)');
          base.requireReply = bytes ?? true;
        }
        base.minReplyLength = v.get<number>('min_reply_length');
        base.maxReplyLength = v.get<number>('max_reply_length');
        if (base.minReplyLength !== undefined && base.maxReplyLength !== undefined && base.minReplyLength > base.maxReplyLength) {
          this.sink.error(v.map.get('min_reply_length')!.stmt.args[0]!.location, `min_reply_length ${base.minReplyLength} is above max_reply_length ${base.maxReplyLength}`);
        }
        break;
      }
      case 'BFD_CHECK': {
        const name = v.get<string>('name');
        if (!name) {
          this.sink.error(c.keyword.location, `${where} has no name (the bfd_instance it follows)`);
          return undefined;
        }
        base.bfdName = name;
        break;
      }
      case 'FILE_CHECK': {
        const tf = v.get<string>('track_file');
        if (!tf) {
          this.sink.error(c.keyword.location, `${where} has no track_file`);
          return undefined;
        }
        base.trackFile = tf;
        const w = v.get<Statement>('weight');
        if (w) {
          const n = w.args[0] ? parseWhole(w.args[0].text, true) : undefined;
          if (n === undefined || Math.abs(n) > LVS_WEIGHT_MAX) {
            if (w.args[0]) this.bad(w.args[0], 'weight', `a whole number from -${LVS_WEIGHT_MAX} to ${LVS_WEIGHT_MAX}, optionally followed by 'reverse'`);
            else this.sink.error(w.keyword.location, "missing value for 'weight'");
          } else {
            base.fileWeight = n;
            const r = w.args[1]?.text;
            if (r !== undefined && r !== 'reverse' && r !== 'noreverse') this.bad(w.args[1]!, 'weight option', "'reverse' or 'noreverse'");
            base.fileWeightReverse = r === 'reverse';
          }
        }
        break;
      }
      default:
        break;
    }
    return defined(base);
  }

  /** `regex` and its options: compiled here (file:line:col errors), run by the HTTP checker. */
  private regex(v: Values, where: string): HttpUrlConfig['regex'] {
    const source = v.get<string>('regex');
    const others = ['regex_no_match', 'regex_options', 'regex_min_offset', 'regex_max_offset'].filter((k) => v.has(k));
    if (source === undefined) {
      if (others.length) this.sink.warning(v.map.get(others[0]!)!.stmt.keyword.location, `'${others[0]}' without 'regex' in ${where} does nothing (keepalived ignores it too)`);
      return undefined;
    }
    const at = v.map.get('regex')!.stmt.args[0]!;
    let flags = '';
    const opts = v.get<Statement>('regex_options');
    for (const t of opts?.args ?? []) {
      const f = REGEX_OPTION_FLAGS[t.text];
      if (f !== undefined) {
        if (!flags.includes(f)) flags += f;
      } else if (REGEX_OPTIONS_REFUSED.includes(t.text)) {
        this.sink.error(t.location, `regex_options '${t.text}' changes what PCRE2 matches and JavaScript regular expressions (keepwatch's) have no such option; rewrite the pattern without it`);
      } else {
        const g = this.guess(t.text, [...Object.keys(REGEX_OPTION_FLAGS), ...REGEX_OPTIONS_REFUSED]);
        this.bad(t, 'regex_options', `PCRE2 option names (caseless, multiline, dotall, utf, ...)${g ? `; did you mean '${g}'?` : ''}`);
      }
    }
    try {
      new RegExp(source, flags);
    } catch (e) {
      this.sink.error(at.location, `invalid regex '${source}': ${(e as Error).message.replace(/^Invalid regular expression: /, '')} (keepwatch runs it as a JavaScript regular expression)`);
      return undefined;
    }
    const minOffset = v.get<number>('regex_min_offset') ?? 0;
    const max = v.get<number>('regex_max_offset');
    if (max !== undefined && minOffset > max) {
      this.sink.error(v.map.get('regex_max_offset')!.stmt.args[0]!.location, `regex_max_offset ${max} is below regex_min_offset ${minOffset}`);
      return undefined;
    }
    return defined({ source, flags, noMatch: v.has('regex_no_match'), minOffset, maxOffset: max === undefined ? undefined : max + 1 });
  }

  private url(b: Statement, where: string): HttpUrlConfig | undefined {
    const v = this.read(b.block?.statements ?? [], URL_KEYWORDS, where, () => {});
    const path = v.get<string>('path');
    if (!path) {
      this.sink.error(b.keyword.location, `${where} has no path`);
      return undefined;
    }
    if (!path.startsWith('/') && !/^https?:\/\//.test(path)) this.sink.warning(v.map.get('path')!.stmt.args[0]!.location, `url path '${path}' does not start with '/'`);
    if (/[\r\n\s]/.test(path)) {
      this.sink.error(v.map.get('path')!.stmt.args[0]!.location, `url path '${path}' holds white space`);
      return undefined;
    }
    let digest = v.get<string>('digest');
    if (digest !== undefined) {
      if (!/^[0-9a-fA-F]{32}$/.test(digest)) {
        this.bad(v.map.get('digest')!.stmt.args[0]!, 'digest', 'an MD5 digest: 32 hexadecimal digits');
        digest = undefined;
      } else digest = digest.toLowerCase();
    }
    const statusCodes: [number, number][] = [];
    const sc = v.get<Statement>('status_code');
    if (sc) {
      if (sc.args.length === 0) this.sink.error(sc.keyword.location, "missing value for 'status_code': expected codes or ranges like 200 or 200-299");
      for (const t of sc.args) {
        const m = /^(\d{3})(?:-(\d{3}))?$/.exec(t.text);
        const lo = m ? Number(m[1]) : NaN;
        const hi = m ? Number(m[2] ?? m[1]) : NaN;
        if (!m || lo < 100 || hi > 599 || lo > hi) this.bad(t, 'status_code', 'an HTTP status code from 100 to 599, or a range like 200-299');
        else statusCodes.push([lo, hi]);
      }
    }
    const regex = this.regex(v, where);
    return defined<HttpUrlConfig>({
      path,
      digest,
      regex,
      statusCodes: statusCodes.length ? statusCodes : [[200, 299]],
      virtualhost: v.get<string>('virtualhost'),
      location: b.keyword.location,
    });
  }
}

type ScriptLineOk = Extract<ReturnType<typeof readScriptLine>, { ok: true }>;

/** PCRE2 options (keepalived's regex_options) as JavaScript flags; '' when JavaScript matches the same without one. */
const REGEX_OPTION_FLAGS: Readonly<Record<string, string>> = {
  caseless: 'i', multiline: 'm', dotall: 's', utf: 'u', ucp: 'u',
  allow_empty_class: '', auto_callout: '', dupnames: '', match_unset_backref: '', never_ucp: '', never_utf: '',
  no_auto_capture: '', no_auto_possess: '', no_dotstar_anchor: '', no_start_optimize: '', never_backslash_c: '', use_offset_limit: '',
};
/** PCRE2 options that change what matches and that JavaScript has no equivalent for. */
const REGEX_OPTIONS_REFUSED = ['alt_bsux', 'dollar_endonly', 'extended', 'firstline', 'ungreedy', 'alt_circumflex', 'alt_verbnames'];

function hexBytes(text: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(text)) return undefined;
  return Uint8Array.from(text.match(/../g)!.map((h) => parseInt(h, 16)));
}

/** Every `keyword value...` inside a block, flattened as written (`TCP_CHECK.connect_port`). */
function flatten(stmts: readonly Statement[], prefix = '', out: Record<string, string> = {}): Record<string, string> {
  const seen = new Map<string, number>();
  for (const x of stmts) {
    const n = (seen.get(x.keyword.text) ?? 0) + 1;
    seen.set(x.keyword.text, n);
    const key = `${prefix}${x.keyword.text}${n > 1 ? `#${n}` : ''}`;
    if (x.block) flatten(x.block.statements, `${key}.`, out);
    else if (x.keyword.text !== 'weight' || prefix !== '') out[key] = x.argsText;
  }
  return out;
}

/**
 * Checks across blocks, once everything is read: a `virtual_server group NAME` names a
 * `virtual_server_group`, a FILE_CHECK names a `track_file`, no service is defined twice.
 */
export function checkLvsReferences(
  servers: readonly VirtualServerConfig[],
  groups: readonly VirtualServerGroupConfig[],
  trackFiles: ReadonlySet<string>,
  sink: DiagnosticSink,
  /** Every vrrp_instance's VIPs (ha_suspend follows the instance holding the address). */
  vips?: ReadonlySet<string>,
  /** The bfd_instance names (BFD_CHECK follows one). */
  bfdNames?: ReadonlySet<string>,
): void {
  const groupNames = new Map<string, VirtualServerGroupConfig>();
  for (const g of groups) {
    const first = groupNames.get(g.name);
    if (first) sink.error(g.location, `virtual_server_group ${g.name} is already defined at ${formatLocation(first.location)}`);
    else groupNames.set(g.name, g);
  }
  const seen = new Map<string, SourceLocation>();
  for (const vs of servers) {
    if (vs.group !== undefined && !groupNames.has(vs.group)) {
      const g = closestMatch(vs.group, groupNames.keys());
      sink.error(vs.location, `virtual_server group ${vs.group}: no virtual_server_group of that name${g ? `; did you mean '${g}'?` : ''}`);
    }
    if (vs.haSuspend && vips && vs.fwmark === undefined && vs.group === undefined && !vips.has(vs.address)) {
      sink.warning(vs.location, `ha_suspend: no vrrp_instance holds ${vs.address} as a virtual_ipaddress, so keepwatch checks this virtual_server always (keepalived checks it while the address is on the host)`);
    }
    const key = `${vs.address} ${vs.port ?? ''} ${vs.serviceProtocol}`;
    const first = seen.get(key);
    if (first) sink.error(vs.location, `virtual_server ${vs.address}${vs.port !== undefined ? ` ${vs.port}` : ''} (${vs.serviceProtocol}) is already defined at ${formatLocation(first)}`);
    else seen.set(key, vs.location);
    for (const rs of vs.realServers) {
      for (const c of rs.checkers) {
        if (c.kind === 'BFD_CHECK' && c.bfdName !== undefined && bfdNames && !bfdNames.has(c.bfdName)) {
          const g = closestMatch(c.bfdName, bfdNames);
          sink.error(c.location, `BFD_CHECK name ${c.bfdName}: no bfd_instance of that name${g ? `; did you mean '${g}'?` : ''}`);
        }
        if (c.kind === 'FILE_CHECK' && c.trackFile !== undefined && !trackFiles.has(c.trackFile)) {
          const g = closestMatch(c.trackFile, trackFiles);
          sink.error(c.location, `FILE_CHECK track_file ${c.trackFile}: no track_file (vrrp_track_file) of that name${g ? `; did you mean '${g}'?` : ''}`);
        }
      }
    }
  }
}
