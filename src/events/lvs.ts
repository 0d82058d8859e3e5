/**
 * The events of the LVS side (src/lvs): checker results, real servers going up or down, a virtual
 * server's quorum, and the desired data-plane table changing. Their unions are metric labels.
 */
/** keepalived's checkers (keepalived/check/check_*.c). */
export const CHECKER_KINDS = ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK'] as const;
export type CheckerKind = (typeof CHECKER_KINDS)[number];

/**
 * How one check ended: `ok`, or why it failed (a metric label, `last failure reason`).
 * refused: connection refused / ICMP port unreachable; timeout: connect_timeout (or misc_timeout)
 * passed; unreachable: no route / host unreachable; error: any other socket or TLS error;
 * bad-status: HTTP status not in status_code; bad-digest: MD5 of the body differs; too-large: the
 * reply passed its byte cap; bad-reply: a reply that is not what the protocol says (SMTP code, DNS
 * answer, UDP reply length); exit-code: MISC_CHECK's script exited non-zero (or was killed);
 * file-value: FILE_CHECK's tracked file says down; bfd-down: BFD_CHECK's session is not Up.
 */
export const CHECK_RESULTS = ['ok', 'refused', 'timeout', 'unreachable', 'error', 'bad-status', 'bad-digest', 'too-large', 'bad-reply', 'exit-code', 'file-value', 'bfd-down'] as const;
export type CheckResult = (typeof CHECK_RESULTS)[number];
export type CheckFailure = Exclude<CheckResult, 'ok'>;

/**
 * Why a real server's state (in service or not, its weight) changed; a metric label.
 * check-ok / check-failed: its checkers (after retries; with `alpha` a server starts down, and its
 * first passes bring it up with check-ok); dynamic-weight: misc_dynamic or FILE_CHECK changed its
 * weight while it stays up.
 */
export const REAL_SERVER_REASONS = ['check-ok', 'check-failed', 'dynamic-weight'] as const;
export type RealServerReason = (typeof REAL_SERVER_REASONS)[number];

/** One check of one real server by one of its checkers (every run, retries included). */
export interface LvsCheckEvent {
  readonly type: 'lvs-check';
  /** The data-plane service key (`tcp 192.168.2.240:80`, `fwmark 1 inet`, `group NAME`). */
  readonly virtualServer: string;
  /** `192.168.2.10:80`, `[2001:db8::10]:80`, or the address alone under a fwmark service. */
  readonly realServer: string;
  readonly checker: CheckerKind;
  /** The checker's index among the real server's checkers (several of one kind may exist). */
  readonly checkerIndex: number;
  readonly result: CheckResult;
  readonly durationMs: number;
  /** 1 for the first try, 2.. for retries (`retry`). */
  readonly attempt: number;
  /** For people: `status 503`, `connect ECONNREFUSED`. Never holds reply bytes. */
  readonly detail?: string;
}

/** A real server went into or out of service, or changed weight. */
export interface LvsRealServerEvent {
  readonly type: 'lvs-real-server';
  readonly virtualServer: string;
  readonly realServer: string;
  readonly up: boolean;
  /** The weight it now has in the table (0 when inhibited: `inhibit_on_failure`). */
  readonly weight: number;
  readonly reason: RealServerReason;
  /** The checker whose result decided it. */
  readonly checker?: CheckerKind;
  /** The failing result (`check-failed`). */
  readonly result?: CheckResult;
  readonly atMs: number;
  readonly wallMs: number;
}

/** A virtual server's quorum was gained or lost (keepalived's quorum_up / quorum_down). */
export interface LvsQuorumEvent {
  readonly type: 'lvs-quorum';
  readonly virtualServer: string;
  readonly up: boolean;
  /** The sum of the weights of the real servers up. */
  readonly liveWeight: number;
  readonly quorum: number;
  readonly hysteresis: number;
  /** The sorry server is now in service (quorum lost and a sorry_server configured). */
  readonly sorryServer: boolean;
  readonly atMs: number;
}

/** ha_suspend: a virtual server's checks stopped (its VIP's instance is not MASTER) or started again. */
export interface LvsSuspendEvent {
  readonly type: 'lvs-suspend';
  readonly virtualServer: string;
  readonly suspended: boolean;
}

/** A notify_up / notify_down / quorum_up / quorum_down command ran. */
export interface LvsNotifyEvent {
  readonly type: 'lvs-notify';
  readonly virtualServer: string;
  readonly realServer?: string;
  readonly what: 'notify_up' | 'notify_down' | 'quorum_up' | 'quorum_down';
  readonly command: string;
  /** A RunResult (`ok`, `fail`, `timeout`, `error`). */
  readonly result: 'ok' | 'fail' | 'timeout' | 'error';
  readonly exitCode: number | null;
  readonly durationMs: number;
  /** Why it could not run (refused by the script checks, or failed to start). */
  readonly error?: string;
}

/**
 * The desired data-plane table changed: the agent applies `LvsService.table()` (the whole table;
 * events/ may not import the ports' types, so the table itself is not carried here).
 */
export interface LvsTableEvent {
  readonly type: 'lvs-table';
  /** Increases with every change (1 for the first table, at start()). */
  readonly generation: number;
  /** Services and real servers in the new table (for the log). */
  readonly services: number;
  readonly realServers: number;
}

export type LvsEvent = LvsCheckEvent | LvsRealServerEvent | LvsQuorumEvent | LvsSuspendEvent | LvsNotifyEvent | LvsTableEvent;
