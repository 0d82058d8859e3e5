/**
 * Script checks at config-test and start-up time: every `vrrp_script` and `notify*` command must
 * exist and be executable (keepalived disables such a script with a log line; we say where it is
 * and what happens); with `enable_script_security`, a check or notify script writable by a
 * non-root user is an error (keepalived refuses to run it; so do we, src/tracking/trackers.ts and
 * src/notify/notifier.ts). `script_user` and every `vrrp_script`'s `user` must resolve to a user
 * (and group) of this host (src/tracking/users.ts): an error otherwise, since the agent would
 * refuse to start. A `track_file` that exists but is not a regular file is a warning: it is never
 * opened, and counts as 0.
 */
import { statSync } from 'node:fs';
import type { Diagnostic, KeepalivedConfig, NotifyConfig, NotifyScripts } from '../config/model.js';
import { NOTIFY_KEYWORD } from '../config/scripts.js';
import type { ProcessRunner } from '../ports/index.js';
import { checkScript } from './run.js';
import { resolveScriptUsers } from './users.js';

/** `processes`: the host's (src/adapters/process.ts), or a fake. */
export function preflightScripts(config: KeepalivedConfig, processes: Pick<ProcessRunner, 'checkExecutable' | 'getentSync'>): Diagnostic[] {
  const out: Diagnostic[] = [...resolveScriptUsers(config, (db, key) => processes.getentSync(db, key)).diagnostics];
  const security = config.global.enableScriptSecurity;
  const check = (command: readonly string[], location: Diagnostic['location'], what: string, consequence: (kind: 'missing' | 'not-executable' | 'insecure') => string) => {
    const p = checkScript(processes, command, { scriptSecurity: security });
    if (!p) return;
    out.push({ severity: p.kind === 'insecure' ? 'error' : 'warning', location, message: `${what}: ${p.message}; ${consequence(p.kind)}` });
  };
  const tracked = new Set(config.instances.flatMap((i) => i.trackScripts.map((r) => r.name)).concat(config.syncGroups.flatMap((g) => g.trackScripts.map((r) => r.name))));
  for (const s of config.scripts) {
    if (!tracked.has(s.name)) continue;
    check(s.argv, s.scriptLocation, `vrrp_script ${s.name}`, () => 'it will not be run or tracked (as keepalived does)');
  }
  const notifies = (n: NotifyScripts, owner: string) => {
    for (const [k, v] of Object.entries(n) as [keyof NotifyScripts, NotifyConfig | undefined][]) {
      if (v) check(v.argv, v.location, `${NOTIFY_KEYWORD[k]} of ${owner}`, notifyConsequence);
    }
  };
  const notifyConsequence = (kind: 'missing' | 'not-executable' | 'insecure') => (kind === 'insecure' ? 'it will not be run (enable_script_security)' : 'it will fail when run');
  for (const i of config.instances) notifies(i.notify, `vrrp_instance ${i.name}`);
  for (const g of config.syncGroups) notifies(g.notify, `vrrp_sync_group ${g.name}`);
  for (const f of config.global.notifyFifos ?? []) if (f.script) check(f.script.argv, f.script.location, `${f.keyword}_script`, notifyConsequence);
  for (const f of config.trackFiles) {
    let isFile = true;
    try {
      isFile = statSync(f.file).isFile();
    } catch {
      // Not there (yet): keepalived reads it as 0 until it appears; so do we.
    }
    if (!isFile) out.push({ severity: 'warning', location: f.location, message: `vrrp_track_file ${f.name}: '${f.file}' is not a regular file; it will not be opened and counts as 0` });
  }
  return out;
}
