/**
 * MISC_CHECK (keepalived/check/check_misc.c): runs `misc_path` (no shell, its own process group,
 * killed with the group at `misc_timeout`, default delay_loop) as `user` when given. Exit 0: up;
 * anything else: down — except with `misc_dynamic`, where exit 2..255 is up with weight
 * exit-2, and exit 0 puts the configured weight back.
 */
import { fail, ok, type Checker } from './common.js';

export const miscCheck: Checker = async (c, t, ctx) => {
  const argv = c.miscPath;
  if (!argv || argv.length === 0) return fail('error', 'no misc_path');
  const timeoutMs = c.miscTimeoutMs ?? c.delayLoopMs;
  const r = await ctx.processes.run(argv, { timeoutMs, ...(ctx.runAs ? { runAs: ctx.runAs } : {}) });
  if (r.result === 'timeout') return fail('timeout', `misc_path ran over ${timeoutMs} ms and was killed`);
  if (r.result === 'error') return fail('error', r.error ?? 'could not run misc_path');
  const code = r.exitCode;
  if (code === null) return fail('exit-code', `killed by ${r.signal ?? 'a signal'}`);
  if (code === 0) return c.miscDynamic ? { result: 'ok', weight: t.weight } : ok();
  if (c.miscDynamic && code >= 2 && code <= 255) return { result: 'ok', weight: code - 2, detail: `exit ${code}: weight ${code - 2}` };
  return fail('exit-code', `exit ${code}`);
};
