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

export type RunResult = 'ok' | 'fail' | 'timeout' | 'error';

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

export function runCommand(argv: readonly string[], opts: { timeoutMs: number; runAs?: RunAs; env?: NodeJS.ProcessEnv }): Promise<RunOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    let timedOut = false;
    let settled = false;
    const done = (o: Omit<RunOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...o, durationMs: performance.now() - started });
    };
    let child;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        stdio: 'ignore',
        detached: true, // its own process group, so a timeout kills what it started too
        ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
        env: opts.env ?? { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      });
    } catch (err) {
      done({ result: 'error', exitCode: null, signal: null, error: (err as Error).message });
      return;
    }
    const timer = setTimeout(() => {
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
      const st = statSync(p);
      if ((st.mode & 0o002) !== 0 || (st.uid !== 0 && (st.mode & 0o200) !== 0) || (st.gid !== 0 && (st.mode & 0o020) !== 0)) {
        return { kind: 'insecure', message: `'${found}' is unsafe to run as root: '${p}' is writable by a non-root user (enable_script_security)` };
      }
      if (p === '/' || p === dirname(p)) break;
    }
  }
  return undefined;
}
