/**
 * The events of the tracking and notification side: check-script runs and status, tracker
 * weights, track_file reads, notify runs, mail. Their result unions are metric labels.
 */

/** How one run of a script (check or notify) ended. */
export const RUN_RESULTS = ['ok', 'fail', 'timeout', 'error'] as const;
export type RunResult = (typeof RUN_RESULTS)[number];

export type ScriptStatus = 'init' | 'good' | 'failed' | 'disabled';

/** Why a track_file read counted as 0 (keepalived's value for a missing or non-numeric file). */
export const TRACK_FILE_PROBLEMS = ['missing', 'not-regular', 'too-large', 'not-a-number', 'unreadable'] as const;
export type TrackFileProblem = (typeof TRACK_FILE_PROBLEMS)[number];

export type TrackEvent =
  | { readonly type: 'script-result'; readonly script: string; readonly result: RunResult; readonly durationMs: number; readonly exitCode: number | null; readonly error?: string }
  | { readonly type: 'script-status'; readonly script: string; readonly status: ScriptStatus; readonly detail?: string }
  | { readonly type: 'track-weight'; readonly instance: string; readonly vrid: number; readonly tracker: string; readonly weight: number }
  /**
   * One read of a track_file (every second). `result` is 'ok' or why the file was refused or
   * unreadable (it then counts as 0); `previous` is the result before (absent on the first read).
   */
  | { readonly type: 'track-file-read'; readonly tracker: string; readonly file: string; readonly result: 'ok' | TrackFileProblem; readonly previous?: 'ok' | TrackFileProblem; readonly value: number; readonly detail?: string }
  /**
   * A vrrp_track_process's count of matching processes or its quorum changed (tracking/
   * track-process.ts). `up`: the quorum holds (after fork_delay / terminate_delay).
   */
  | { readonly type: 'track-process'; readonly process: string; readonly count: number; readonly up: boolean; readonly quorum: number; readonly quorumMax: number }
  /** A /proc scan met its cap (more processes than PROC_MAX_PIDS): the rest were not looked at. */
  | { readonly type: 'process-scan-truncated'; readonly read: number };

/** Results of a notify script; a metric label (keepwatch_notify_runs_total). */
export const NOTIFY_RESULTS = [...RUN_RESULTS, 'coalesced', 'disabled'] as const;
export type NotifyResult = (typeof NOTIFY_RESULTS)[number];

/** The states a notify says; DELETED: a reload removed the instance (with `notify_deleted`). */
export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';

/**
 * Notify FIFO lines (notify/fifo.ts), a metric label (keepwatch_notify_fifo_lines_total):
 * written; dropped (the reader is slow or absent, the pipe and the bounded queue are full).
 */
export const FIFO_LINE_RESULTS = ['written', 'dropped'] as const;
export type FifoLineResult = (typeof FIFO_LINE_RESULTS)[number];

export type NotifyFifoEvent =
  | { readonly type: 'notify-fifo-line'; readonly fifo: string; readonly result: FifoLineResult; readonly line: string }
  /** The FIFO could not be made or opened (no lines are written to it), or was, or its reader ended. */
  | { readonly type: 'notify-fifo'; readonly fifo: string; readonly path: string; readonly what: 'opened' | 'open-failed' | 'reader-started' | 'reader-exited' | 'reader-refused'; readonly detail?: string };

export interface NotifyRunEvent {
  readonly type: 'notify-run';
  readonly scope: 'INSTANCE' | 'GROUP';
  readonly name: string;
  /** The transition's state, or MASTER_RX_LOWER_PRI (`notify_master_rx_lower_pri`). */
  readonly state: NotifyState | 'MASTER_RX_LOWER_PRI';
  readonly command: string;
  /**
   * A run's result, or `coalesced` (not run: a newer transition replaced it while another script
   * of the same instance/group was running) or `disabled` (not run: unsafe under
   * enable_script_security).
   */
  readonly result: NotifyResult;
  readonly exitCode: number | null;
  readonly durationMs: number;
  /** Wall clock when the script started (or was dropped). */
  readonly startedWallMs: number;
  /** Wall clock of the transition the script is for (startedWallMs minus this: how late it ran). */
  readonly transitionWallMs: number;
  readonly error?: string;
}

/** Results of a mail alert; a metric label (keepwatch_mail_sends_total). */
export const MAIL_RESULTS = ['sent', 'failed', 'coalesced'] as const;
export type MailResult = (typeof MAIL_RESULTS)[number];

export interface MailEvent {
  readonly type: 'mail-sent';
  readonly instance: string;
  readonly state: string;
  readonly result: MailResult;
  readonly error?: string;
  readonly durationMs: number;
}

export type ScriptEvent = TrackEvent | NotifyRunEvent | NotifyFifoEvent | MailEvent;
