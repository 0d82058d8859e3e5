/**
 * Check and notify scripts as keepalived words them: the config reader splits each command line
 * into argv (config/script-line.ts: quotes, escapes, `[user [group]]`), and it is executed
 * directly, not through a shell — write `"/bin/sh -c '...'"` for shell features, as with
 * keepalived. Running them (with a timeout that
 * kills the whole process group), the file checks and the user lookups are the ProcessRunner's
 * (src/ports; src/adapters/process.ts on a real host).
 */
import type { ProcessRunner, RunAs, RunOptions, RunOutcome, ScriptProblem } from '../ports/index.js';

/** How a run ended; a metric label (keepwatch_script_runs_total, keepwatch_notify_runs_total). */
import { RUN_RESULTS, type RunResult } from '../events/scripts.js';

export { RUN_RESULTS, type RunResult };
export type { RunAs, RunOptions, RunOutcome, ScriptProblem };

/**
 * A plain split of a command line into words (double or single quotes group words). The agent
 * runs the argv the config reader made (config/script-line.ts has keepalived's full rules); this
 * is for commands that come from elsewhere (tests, the lab).
 */
export function splitCommand(command: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of command.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

/**
 * What keepalived checks before it runs a script, for an argv (or a command line): its executable exists and
 * is executable, and with `enable_script_security` nothing on its path is writable by a non-root
 * user (ProcessRunner.checkExecutable). Never throws.
 */
export function checkScript(processes: Pick<ProcessRunner, 'checkExecutable'>, command: string | readonly string[], opts: { readonly scriptSecurity: boolean }): ScriptProblem | undefined {
  const exe = typeof command === 'string' ? splitCommand(command)[0] : command[0];
  if (!exe) return { kind: 'missing', message: 'empty command' };
  return processes.checkExecutable(exe, opts);
}
