/**
 * Who check and notify scripts run as: `script_user USER [GROUP]` (global) and `user USER [GROUP]`
 * (inside a `vrrp_script`), resolved to numeric ids through NSS with `getent passwd` / `getent
 * group` — the same databases keepalived's getpwnam()/getgrnam() read (files, LDAP, sssd ...) —
 * through the ProcessRunner (src/adapters/process.ts bounds each lookup in time and size).
 *
 * keepalived's rule for the default (keepalived.conf(5), `script_user`): without `script_user`,
 * scripts run as `keepalived_script` if that user exists, else as root — with a warning when
 * `enable_script_security` is set. We follow it.
 *
 * Fail safe: a user or group that does not resolve (unknown, or NSS failed or timed out) is an
 * error with the place of its keyword; the agent refuses to start (or to reload) and `keepwatch
 * -t` rejects the config. Nothing ever falls back to root because a lookup failed — the old
 * `Number('') === 0` turned an unknown user into uid 0. Only a clean "no such user
 * keepalived_script" answer (getent exit 2) lets the default fall back to root.
 *
 * The answers are parsed strictly: exactly one line, the expected number of fields, the name
 * equal to the one asked for (getent also answers numeric ids: `script_user 0` must not become
 * root by the back door), ids decimal and below 2^32-1.
 */
import type { Diagnostic, KeepalivedConfig, NotifyConfig, NotifyScripts, SourceLocation } from '../config/model.js';
import { NOTIFY_KEYWORD } from '../config/scripts.js';
import type { GetentAnswer, GetentDb, RunAs } from '../ports/index.js';

export type { GetentAnswer, GetentDb };

/**
 * One lookup (ProcessRunner.getentSync / getent; src/adapters/process.ts asks the host's NSS);
 * a function, so tests hand in a fake NSS.
 */
export type Getent = (db: GetentDb, key: string) => GetentAnswer;
export type GetentAsync = (db: GetentDb, key: string) => Promise<GetentAnswer>;

/** keepalived's default script user. */
export const DEFAULT_SCRIPT_USER = 'keepalived_script';
/** POSIX portable user/group names (plus the `$` of machine accounts); no leading `-`. */
const NAME_RE = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,255}\$?$/;
/** (uid_t)-1 means "unchanged" to setuid(2): never a valid id. */
const MAX_ID = 0xfffffffe;

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

function parseId(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

/** The one line of a getent answer (a trailing newline allowed, nothing else). */
function oneLine(stdout: string): string | undefined {
  const text = stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout;
  return text.length === 0 || text.includes('\n') || text.includes('\0') ? undefined : text;
}

/** `name:passwd:uid:gid:gecos:home:shell` for exactly `name`. */
export function parsePasswdEntry(stdout: string, name: string): Parsed<{ uid: number; gid: number }> {
  const line = oneLine(stdout);
  const f = line?.split(':');
  if (!f || f.length !== 7) return { ok: false, message: `unexpected answer from getent passwd ${name}` };
  if (f[0] !== name) return { ok: false, message: `getent passwd ${name} answered for '${f[0]}'` };
  const uid = parseId(f[2]);
  const gid = parseId(f[3]);
  if (uid === undefined || gid === undefined) return { ok: false, message: `getent passwd ${name}: uid/gid not numeric` };
  return { ok: true, value: { uid, gid } };
}

/** `name:passwd:gid:members` for exactly `name`. */
export function parseGroupEntry(stdout: string, name: string): Parsed<number> {
  const line = oneLine(stdout);
  const f = line?.split(':');
  if (!f || f.length !== 4) return { ok: false, message: `unexpected answer from getent group ${name}` };
  if (f[0] !== name) return { ok: false, message: `getent group ${name} answered for '${f[0]}'` };
  const gid = parseId(f[2]);
  if (gid === undefined) return { ok: false, message: `getent group ${name}: gid not numeric` };
  return { ok: true, value: gid };
}

/** Who scripts run as, once every name of the config has resolved. */
export interface ScriptUsers {
  /** Check scripts without their own `user`, and every notify script. */
  readonly default: RunAs;
  /** Why the default is what it is. */
  readonly defaultFrom: 'script_user' | typeof DEFAULT_SCRIPT_USER | 'root';
  /** `vrrp_script` name -> its own `user`. */
  readonly scripts: ReadonlyMap<string, RunAs>;
  /**
   * The `[user [group]]` of notify lines, `notify_fifo_script`s and FIFO owners, by
   * accountKey(user, group). Absent in older callers' fakes: notify commands then run as the default.
   */
  readonly accounts?: ReadonlyMap<string, RunAs>;
}

/** The key of a `user [group]` pair in ScriptUsers.accounts. */
export function accountKey(user: string, group: string | undefined): string {
  return group === undefined ? user : `${user}:${group}`;
}

/**
 * Who a notify command (or a FIFO's reader) runs as: its own `[user [group]]`, else the default
 * (`runAs` undefined only without `users`: tests run commands as this process). A named user
 * missing from `users` (resolution refuses such a config, so only a hand-made ScriptUsers can
 * lack it) is `ok: false`: the command is not run, never run as root in its place.
 */
export function runAsFor(users: ScriptUsers | undefined, account: { readonly user?: string; readonly group?: string }): { readonly ok: true; readonly runAs: RunAs | undefined } | { readonly ok: false } {
  if (!users) return { ok: true, runAs: undefined };
  if (account.user === undefined) return { ok: true, runAs: users.default };
  const r = users.accounts?.get(accountKey(account.user, account.group));
  return r ? { ok: true, runAs: r } : { ok: false };
}

export type UserResolution = { readonly users: ScriptUsers; readonly diagnostics: readonly Diagnostic[] } | { readonly users?: undefined; readonly diagnostics: readonly Diagnostic[] };

export const ROOT: RunAs = { uid: 0, gid: 0 };

interface Wanted {
  readonly what: string;
  readonly user: string;
  readonly group?: string;
  readonly location: SourceLocation;
}

/** Whether the config runs any script at all (then the default user matters). */
function runsScripts(config: KeepalivedConfig): boolean {
  const hasNotify = (n: object) => Object.values(n).some(Boolean);
  return (
    config.scripts.length > 0 ||
    config.instances.some((i) => hasNotify(i.notify)) ||
    config.syncGroups.some((g) => hasNotify(g.notify)) ||
    (config.global.notifyFifos ?? []).some((f) => f.script !== undefined || f.user === undefined) ||
    // LVS: MISC_CHECK, notify_up/notify_down, quorum_up/quorum_down run as the default user too.
    config.virtualServers.some(
      (vs) => vs.quorumUp !== undefined || vs.quorumDown !== undefined || vs.realServers.some((rs) => rs.notifyUp !== undefined || rs.notifyDown !== undefined || (rs.checkers ?? []).some((c) => c.kind === 'MISC_CHECK')),
    )
  );
}

/**
 * Every `[user [group]]` written on a notify line, a `notify_fifo_script` or a `notify_fifo`
 * (its owner), with what to call it in a message. keepalived (`set_script_uid_gid`): a user
 * without a group runs with the user's primary group.
 */
function namedAccounts(config: KeepalivedConfig): Wanted[] {
  const out: Wanted[] = [];
  const add = (what: string, n: { readonly user?: string; readonly group?: string; readonly userLocation?: SourceLocation; readonly location: SourceLocation } | undefined) => {
    if (!n || n.user === undefined) return;
    out.push({ what: `user ${n.user}${n.group ? ` ${n.group}` : ''} of ${what}`, user: n.user, ...(n.group ? { group: n.group } : {}), location: n.userLocation ?? n.location });
  };
  const scripts = (n: NotifyScripts, of: string) => {
    for (const [field, c] of Object.entries(n) as [keyof NotifyScripts, NotifyConfig | undefined][]) add(`${NOTIFY_KEYWORD[field]} of ${of}`, c);
  };
  for (const i of config.instances) scripts(i.notify, `vrrp_instance ${i.name}`);
  for (const g of config.syncGroups) scripts(g.notify, `vrrp_sync_group ${g.name}`);
  for (const f of config.global.notifyFifos ?? []) {
    add(f.keyword, f);
    add(`${f.keyword}_script`, f.script);
  }
  // MISC_CHECK's `user USER [GROUP]` (keepalived check_misc.c): refused when unknown, as above.
  for (const vs of config.virtualServers) {
    for (const rs of vs.realServers) {
      for (const c of rs.checkers ?? []) {
        if (c.kind === 'MISC_CHECK' && c.user !== undefined) add(`MISC_CHECK of real_server ${rs.address}${rs.port !== undefined ? ` ${rs.port}` : ''}`, c);
      }
    }
  }
  return out;
}

/** A place to hang a config-wide note on: the first script or notify command. */
function firstScriptLocation(config: KeepalivedConfig): SourceLocation | undefined {
  for (const s of config.scripts) return s.scriptLocation;
  for (const n of [...config.instances.map((i) => i.notify), ...config.syncGroups.map((g) => g.notify)]) for (const v of Object.values(n)) if (v) return (v as { location: SourceLocation }).location;
  return undefined;
}

/** The lookups a config needs: [db, key], without repeats. Pure. */
export function lookupsFor(config: KeepalivedConfig): [GetentDb, string][] {
  const out = new Map<string, [GetentDb, string]>();
  const add = (db: GetentDb, key: string) => {
    if (NAME_RE.test(key)) out.set(`${db}:${key}`, [db, key]);
  };
  const su = config.global.scriptUser;
  if (su) {
    add('passwd', su.user);
    if (su.group) add('group', su.group);
  } else if (runsScripts(config)) add('passwd', DEFAULT_SCRIPT_USER);
  for (const s of config.scripts) {
    if (s.user === undefined) continue;
    add('passwd', s.user);
    if (s.group) add('group', s.group);
  }
  for (const a of namedAccounts(config)) {
    add('passwd', a.user);
    if (a.group) add('group', a.group);
  }
  return [...out.values()];
}

/** Turns the answers into uid/gid pairs and diagnostics with the keywords' places. Pure. */
export function assembleUsers(config: KeepalivedConfig, answers: ReadonlyMap<string, GetentAnswer>): UserResolution {
  const diagnostics: Diagnostic[] = [];
  const answer = (db: GetentDb, key: string): GetentAnswer => answers.get(`${db}:${key}`) ?? { status: 'failed', message: 'not looked up' };
  const resolve = (w: Wanted): RunAs | undefined => {
    const fail = (message: string) => {
      diagnostics.push({ severity: 'error', location: w.location, message: `${w.what}: ${message}; scripts are not run as root in its place` });
      return undefined;
    };
    for (const [kind, name] of [['user', w.user], ['group', w.group]] as const) {
      if (name !== undefined && !NAME_RE.test(name)) return fail(`'${name}' is not a valid ${kind} name`);
    }
    const pw = answer('passwd', w.user);
    if (pw.status === 'not-found') return fail(`no user '${w.user}' on this host`);
    if (pw.status === 'failed') return fail(`cannot look up user '${w.user}': ${pw.message}`);
    const entry = parsePasswdEntry(pw.stdout, w.user);
    if (!entry.ok) return fail(entry.message);
    if (w.group === undefined) return entry.value;
    const gr = answer('group', w.group);
    if (gr.status === 'not-found') return fail(`no group '${w.group}' on this host`);
    if (gr.status === 'failed') return fail(`cannot look up group '${w.group}': ${gr.message}`);
    const gid = parseGroupEntry(gr.stdout, w.group);
    if (!gid.ok) return fail(gid.message);
    return { uid: entry.value.uid, gid: gid.value };
  };

  let dflt: RunAs | undefined = ROOT;
  let defaultFrom: ScriptUsers['defaultFrom'] = 'root';
  const su = config.global.scriptUser;
  if (su) {
    dflt = resolve({ what: `script_user ${su.user}${su.group ? ` ${su.group}` : ''}`, user: su.user, ...(su.group ? { group: su.group } : {}), location: su.location });
    defaultFrom = 'script_user';
  } else if (runsScripts(config)) {
    const pw = answer('passwd', DEFAULT_SCRIPT_USER);
    const where = firstScriptLocation(config);
    if (pw.status === 'found') {
      const entry = parsePasswdEntry(pw.stdout, DEFAULT_SCRIPT_USER);
      if (entry.ok) {
        dflt = entry.value;
        defaultFrom = DEFAULT_SCRIPT_USER;
      } else if (where) {
        dflt = undefined;
        diagnostics.push({ severity: 'error', location: where, message: `default script user ${DEFAULT_SCRIPT_USER}: ${entry.message}; scripts are not run as root in its place` });
      }
    } else if (pw.status === 'failed') {
      // We could not tell whether keepalived_script exists: root might be the wrong answer.
      dflt = undefined;
      if (where) diagnostics.push({ severity: 'error', location: where, message: `cannot tell whether user ${DEFAULT_SCRIPT_USER} exists (${pw.message}); set script_user` });
    } else if (config.global.enableScriptSecurity && where) {
      diagnostics.push({ severity: 'warning', location: where, message: `scripts run as root: no script_user and no user '${DEFAULT_SCRIPT_USER}' (keepalived's default); create it or set script_user` });
    }
  }

  const scripts = new Map<string, RunAs>();
  for (const s of config.scripts) {
    if (s.user === undefined) continue;
    const r = resolve({ what: `user ${s.user}${s.group ? ` ${s.group}` : ''} of vrrp_script ${s.name}`, user: s.user, ...(s.group ? { group: s.group } : {}), location: s.userLocation ?? s.location });
    if (r) scripts.set(s.name, r);
  }
  const accounts = new Map<string, RunAs>();
  for (const a of namedAccounts(config)) {
    const r = resolve(a);
    if (r) accounts.set(accountKey(a.user, a.group), r);
  }
  if (!dflt || diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  return { users: { default: dflt, defaultFrom, scripts, accounts }, diagnostics };
}

/** Every user and group of a config, looked up now (start-up, `keepwatch -t`). */
export function resolveScriptUsers(config: KeepalivedConfig, getent: Getent): UserResolution {
  const answers = new Map<string, GetentAnswer>();
  for (const [db, key] of lookupsFor(config)) answers.set(`${db}:${key}`, getent(db, key));
  return assembleUsers(config, answers);
}

/** The same without blocking the event loop (reload). */
export async function resolveScriptUsersAsync(config: KeepalivedConfig, getent: GetentAsync): Promise<UserResolution> {
  const lookups = lookupsFor(config);
  const results = await Promise.all(lookups.map(([db, key]) => getent(db, key)));
  return assembleUsers(config, new Map(lookups.map(([db, key], i) => [`${db}:${key}`, results[i]!])));
}
