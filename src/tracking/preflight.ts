/**
 * Script checks at config-test and start-up time: every `vrrp_script` and `notify*` command must
 * exist and be executable (keepalived disables such a script with a log line; we say where it is
 * and what happens); with `enable_script_security`, a script writable by a non-root user is an
 * error (keepalived refuses to run it).
 */
import type { Diagnostic, KeepalivedConfig, NotifyScripts } from '../config/model.js';
import { checkScript } from './run.js';

export function preflightScripts(config: KeepalivedConfig): Diagnostic[] {
  const out: Diagnostic[] = [];
  const security = config.global.enableScriptSecurity;
  const check = (command: string, location: Diagnostic['location'], what: string, consequence: string) => {
    const p = checkScript(command, { scriptSecurity: security });
    if (!p) return;
    out.push({ severity: p.kind === 'insecure' ? 'error' : 'warning', location, message: `${what}: ${p.message}; ${consequence}` });
  };
  const tracked = new Set(config.instances.flatMap((i) => i.trackScripts.map((r) => r.name)).concat(config.syncGroups.flatMap((g) => g.trackScripts.map((r) => r.name))));
  for (const s of config.scripts) {
    if (!tracked.has(s.name)) continue;
    check(s.script, s.scriptLocation, `vrrp_script ${s.name}`, 'it will not be run or tracked (as keepalived does)');
  }
  const notifies = (n: NotifyScripts, owner: string) => {
    for (const [k, v] of Object.entries(n)) if (v) check(v.command, v.location, `${k === 'generic' ? 'notify' : `notify_${k}`} of ${owner}`, 'it will fail when run');
  };
  for (const i of config.instances) notifies(i.notify, `vrrp_instance ${i.name}`);
  for (const g of config.syncGroups) notifies(g.notify, `vrrp_sync_group ${g.name}`);
  return out;
}
