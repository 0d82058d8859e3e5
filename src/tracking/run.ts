/**
 * Running check and notify scripts the way keepalived does: the command line is split into words
 * (double or single quotes group words) and executed directly, not through a shell — write
 * `"/bin/sh -c '...'"` for shell features, as with keepalived. Each run has a timeout; on expiry
 * the whole process group gets SIGKILL. Runs are asynchronous (the event loop is never blocked)
 * and always reaped (no zombies).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';

/** How a run ended; a metric label (keepwatch_script_runs_total, keepwatch_notify_runs_total). */
export const RUN_RESULTS = ['ok', 'fail', 'timeout', 'error'] as const;
export type RunResult = (typeof RUN_RESULTS)[number];

export interface RunOutcome {
  readonly result: RunResult;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly durationMs: number;
  readonly error?: string;
}

export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

/** keepalived's splitting of a `script`/`notify` value into argv. */
export function splitCommand(command: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of command.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

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
export function runCommand(argv: readonly string[], opts: { timeoutMs: number; runAs?: RunAs; env?: NodeJS.ProcessEnv }): Promise<RunOutcome> {
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
        env: opts.env ?? { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
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

export type ScriptProblem = { readonly kind: 'missing' | 'not-executable' | 'insecure'; readonly message: string };

/**
 * What keepalived checks before it runs a script: the file exists and is executable, and with
 * `enable_script_security` neither it nor a directory above it is writable by a non-root user.
 * Commands without a `/` are looked up in PATH.
 */
export function checkScript(command: string, opts: { scriptSecurity: boolean; path?: string }): ScriptProblem | undefined {
  // Never throws: every stat is guarded (a path may vanish while we look).
  const argv = splitCommand(command);
  const exe = argv[0];
  if (!exe) return { kind: 'missing', message: 'empty command' };
  const candidates = exe.includes('/') ? [exe] : (opts.path ?? process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').map((d) => `${d}/${exe}`);
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
