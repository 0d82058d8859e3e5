/**
 * The host's processes (the ProcessRunner port): check and notify scripts, the checks keepalived
 * makes before it runs one, and the NSS lookups of the users they run as.
 *
 * Runs are executed directly, not through a shell (src/tracking/run.ts splits the command line as
 * keepalived does). Each run has a timeout; on expiry the whole process group gets SIGKILL. Runs
 * are asynchronous (the event loop is never blocked) and always reaped (no zombies).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { GetentAnswer, GetentDb, ProcessRunner, RunAs, RunOptions, RunOutcome, ScriptProblem } from '../ports/index.js';

const DEFAULT_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/** Whether a spawn must switch ids: not when it would run as ourselves (root to root). */
function switchTo(runAs: RunAs | undefined): RunAs | undefined {
  if (!runAs) return undefined;
  return runAs.uid === process.getuid?.() && runAs.gid === process.getgid?.() ? undefined : runAs;
}

/**
 * Runs `argv` with a timeout; never throws and never rejects: a spawn that fails (synchronously,
 * like an argument with a NUL byte or an invalid uid, or asynchronously, like ENOENT or EPERM)
 * is the result 'error'.
 */
export function runCommand(argv: readonly string[], opts: RunOptions): Promise<RunOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    // Declared before anything can settle: a synchronous spawn error calls done() at once.
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    let settled = false;
    const done = (o: Omit<RunOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve({ ...o, durationMs: performance.now() - started });
    };
    const ids = switchTo(opts.runAs);
    let child: ReturnType<typeof spawn>;
    try {
      if (argv.length === 0 || !argv[0]) throw new Error('empty command');
      child = spawn(argv[0], argv.slice(1), {
        stdio: 'ignore',
        detached: true, // its own process group, so a timeout kills what it started too
        ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
        env: opts.env ?? { PATH: process.env.PATH ?? DEFAULT_PATH },
      });
    } catch (err) {
      done({ result: 'error', exitCode: null, signal: null, error: (err as Error).message });
      return;
    }
    timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, opts.timeoutMs);
    child.once('error', (err) => done({ result: 'error', exitCode: null, signal: null, error: err.message }));
    child.once('exit', (code, signal) => {
      if (timedOut) done({ result: 'timeout', exitCode: code, signal });
      else done({ result: code === 0 ? 'ok' : 'fail', exitCode: code, signal });
    });
  });
}

/**
 * What keepalived checks before it runs a script: the file exists and is executable, and with
 * `enable_script_security` neither it nor a directory above it is writable by a non-root user.
 * An executable without a `/` is looked up in PATH. Never throws: every stat is guarded (a path
 * may vanish while we look).
 */
export function checkExecutable(exe: string, opts: { readonly scriptSecurity: boolean; readonly path?: string }): ScriptProblem | undefined {
  if (!exe) return { kind: 'missing', message: 'empty command' };
  const candidates = exe.includes('/') ? [exe] : (opts.path ?? process.env.PATH ?? DEFAULT_PATH).split(':').map((d) => `${d}/${exe}`);
  const found = candidates.find((c) => {
    try {
      return statSync(c).isFile();
    } catch {
      return false;
    }
  });
  if (!found) return { kind: 'missing', message: `'${exe}' does not exist${exe.includes('/') ? '' : ' in PATH'}` };
  try {
    accessSync(found, constants.X_OK);
  } catch {
    return { kind: 'not-executable', message: `'${found}' is not executable (chmod +x)` };
  }
  if (opts.scriptSecurity) {
    for (let p = found; ; p = dirname(p)) {
      let st;
      try {
        st = statSync(p);
      } catch (err) {
        // Gone between two stats: not provably safe.
        return { kind: 'insecure', message: `'${found}' could not be checked: ${(err as Error).message}` };
      }
      if ((st.mode & 0o002) !== 0 || (st.uid !== 0 && (st.mode & 0o200) !== 0) || (st.gid !== 0 && (st.mode & 0o020) !== 0)) {
        return { kind: 'insecure', message: `'${found}' is unsafe to run as root: '${p}' is writable by a non-root user (enable_script_security)` };
      }
      if (p === '/' || p === dirname(p)) break;
    }
  }
  return undefined;
}

// --- getent: the users scripts run as (src/tracking/users.ts parses the answers) --------------

/** A slow NSS backend (LDAP) must not hold the agent: each lookup is bounded. */
export const GETENT_TIMEOUT_MS = 2000;
/** One passwd or group line; more is not an answer we asked for. */
export const GETENT_MAX_BYTES = 64 * 1024;

const GETENT_ENV = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', LC_ALL: 'C' };

interface ProcessEnd {
  /** A string error code of the spawn (ENOENT, ETIMEDOUT, ENOBUFS ...). */
  readonly code?: string;
  readonly message?: string;
  readonly status: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly stdout: string;
}

function answerOf(p: ProcessEnd): GetentAnswer {
  if (p.code === 'ENOENT') return { status: 'failed', message: 'getent is not installed' };
  if (p.timedOut || p.code === 'ETIMEDOUT') return { status: 'failed', message: `getent did not answer within ${GETENT_TIMEOUT_MS} ms` };
  if (p.code === 'ENOBUFS' || p.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return { status: 'failed', message: `getent answered more than ${GETENT_MAX_BYTES} bytes` };
  if (p.code) return { status: 'failed', message: `getent failed: ${p.message ?? p.code}` };
  if (p.signal) return { status: 'failed', message: `getent was killed by ${p.signal}` };
  if (p.status === 0) return { status: 'found', stdout: p.stdout };
  if (p.status === 2) return { status: 'not-found' };
  return { status: 'failed', message: `getent exited with status ${p.status}` };
}

const codeOf = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
};

/** The host's NSS, synchronously (start-up and `keepwatch -t`: nothing else runs yet). */
export function systemGetent(db: GetentDb, key: string): GetentAnswer {
  const r = spawnSync('getent', [db, '--', key], { encoding: 'utf8', timeout: GETENT_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: GETENT_MAX_BYTES, env: GETENT_ENV, stdio: ['ignore', 'pipe', 'ignore'] });
  const code = codeOf(r.error);
  return answerOf({ ...(code ? { code, message: r.error!.message } : {}), status: r.status, signal: r.signal, timedOut: false, stdout: r.stdout ?? '' });
}

/** The host's NSS without blocking the event loop (SIGHUP reloads while VRRP runs). */
export function systemGetentAsync(db: GetentDb, key: string): Promise<GetentAnswer> {
  return new Promise((resolve) => {
    execFile('getent', [db, '--', key], { encoding: 'utf8', timeout: GETENT_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: GETENT_MAX_BYTES, env: GETENT_ENV }, (error, stdout) => {
      const e = error as (Error & { code?: unknown; signal?: NodeJS.Signals | null; killed?: boolean }) | null;
      const code = codeOf(e);
      resolve(
        answerOf({
          ...(code ? { code, message: e!.message } : {}),
          status: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          timedOut: e?.killed === true && e.signal === 'SIGKILL',
          stdout,
        }),
      );
    });
  });
}

/** The ProcessRunner of this host. Stateless: its methods may be passed around unbound. */
export class SystemProcessRunner implements ProcessRunner {
  run(argv: readonly string[], opts: RunOptions): Promise<RunOutcome> {
    return runCommand(argv, opts);
  }
  checkExecutable(exe: string, opts: { readonly scriptSecurity: boolean }): ScriptProblem | undefined {
    return checkExecutable(exe, opts);
  }
  getent(db: GetentDb, key: string): Promise<GetentAnswer> {
    return systemGetentAsync(db, key);
  }
  getentSync(db: GetentDb, key: string): GetentAnswer {
    return systemGetent(db, key);
  }
}
