/**
 * Who scripts run as, at start and at every reload (src/tracking/users.ts resolves): warnings are
 * logged with their place; a user or group that does not resolve refuses the config
 * (HostError 'user'), so scripts never run as root by accident.
 */
import { formatDiagnostic } from '../config/index.js';
import { HostError } from '../adapters/errors.js';
import type { Logger } from '../observability/logging.js';
import type { ScriptUsers, UserResolution } from '../tracking/users.js';

export function scriptUsersOrThrow(log: Logger, resolved: UserResolution): ScriptUsers {
  for (const d of resolved.diagnostics) if (d.severity === 'warning') log.warn({ event: 'config-warning', location: `${d.location.file}:${d.location.line}:${d.location.column}` }, d.message);
  if (!resolved.users) throw new HostError('user', resolved.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n'));
  return resolved.users;
}
