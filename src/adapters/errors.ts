/**
 * Errors of the host side, turned into messages a person can act on (never a stack trace).
 */

export type HostErrorKind = 'privileges' | 'interface' | 'libpcap' | 'netlink' | 'socket' | 'user' | 'firewall' | 'namespace' | 'pid-file';

export class HostError extends Error {
  override readonly name = 'HostError';
  constructor(
    readonly kind: HostErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** EPERM/EACCES from socket(), bind or setsockopt: the process lacks a capability. */
export function isPermissionError(err: unknown): boolean {
  const m = text(err);
  return /EPERM|EACCES|Operation not permitted|Permission denied|not permitted/i.test(m);
}

export function privilegeError(capability: 'CAP_NET_RAW' | 'CAP_NET_ADMIN', what: string, err: unknown): HostError {
  return new HostError(
    'privileges',
    `${what} needs ${capability}: run keepwatch as root, or grant it with ` +
      `'setcap cap_net_raw,cap_net_admin+ep $(readlink -f $(which node))' or AmbientCapabilities= in the systemd unit (${text(err)})`,
    { cause: err },
  );
}

export function describe(err: unknown): string {
  return text(err);
}
