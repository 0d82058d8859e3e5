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
  | { readonly type: 'track-file-read'; readonly tracker: string; readonly file: string; readonly result: 'ok' | TrackFileProblem; readonly previous?: 'ok' | TrackFileProblem; readonly value: number; readonly detail?: string };

/** Results of a notify script; a metric label (keepwatch_notify_runs_total). */
export const NOTIFY_RESULTS = [...RUN_RESULTS, 'coalesced', 'disabled'] as const;
export type NotifyResult = (typeof NOTIFY_RESULTS)[number];

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

export interface NotifyRunEvent {
  readonly type: 'notify-run';
  readonly scope: 'INSTANCE' | 'GROUP';
  readonly name: string;
  readonly state: NotifyState;
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

export type ScriptEvent = TrackEvent | NotifyRunEvent | MailEvent;
