/**
 * The notify FIFOs (`notify_fifo` and `vrrp_notify_fifo PATH [user [group]]`, global_defs), as
 * keepalived 2.2.7 writes them (vrrp/vrrp_notify.c `notify_fifo`, lib/notify.c `fifo_open`):
 *
 * - At start the FIFO is made when missing (keepwatch: mode 0600, owned by the line's user, else
 *   the default script user; keepalived makes it 0644), its `..._script` is started with the
 *   FIFO's path as its last argument (as the script's own `[user [group]]`, without a timeout),
 *   and the FIFO is opened read-write and non-blocking: a write never waits for a reader.
 * - One line per event, to every FIFO, in the order of the events:
 *   `INSTANCE "VI_1" MASTER 100` (the effective priority), `GROUP "G1" BACKUP 0` (keepalived
 *   writes 0 for a group), `INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100`, and with
 *   `notify_priority_changes` `INSTANCE "VI_1" MASTER_PRIORITY 90` / `BACKUP_PRIORITY`. States:
 *   MASTER, BACKUP, FAULT, STOP, DELETED.
 * - Never blocking the agent: when the pipe is full (the reader is slow, or there is none) the
 *   lines wait in a queue of FIFO_QUEUE_MAX_LINES, retried every FIFO_RETRY_MS; beyond it the
 *   oldest waiting line is dropped and counted (keepwatch_notify_fifo_lines_total{result=
 *   "dropped"}), so what the reader sees when it catches up ends with the latest states.
 *   keepalived drops the new line at once when the pipe is full.
 * - A reload keeps a FIFO whose settings did not change (the reader keeps reading); one that
 *   changed is closed (removed if we made it) and the new one opened. With
 *   `fifo_write_vrrp_states_on_reload`, every instance's and group's state is written after a
 *   reload.
 *
 * `enable_script_security` applies to the `..._script` as to every script: an unsafe one is not
 * started.
 */
import type { KeepalivedConfig, NotifyFifoConfig } from '../config/model.js';
import type { AgentBus, NotifyState } from '../events/index.js';
import type { Clock, FifoHandle, NotifyFifoPort, ProcessRunner, StartedProcess, TimerHandle } from '../ports/index.js';
import { checkScript } from '../tracking/run.js';
import { runAsFor, type ScriptUsers } from '../tracking/users.js';

/** Lines that wait for a slow reader, per FIFO; beyond it the oldest is dropped. */
export const FIFO_QUEUE_MAX_LINES = 1024;
/** How soon a full pipe is tried again. */
export const FIFO_RETRY_MS = 100;

/** The third word of a FIFO line. */
export type FifoWord = NotifyState | 'MASTER_RX_LOWER_PRI' | 'MASTER_PRIORITY' | 'BACKUP_PRIORITY';

/** keepalived's `"%s \"%s\" %s %d\n"`. */
export function fifoLine(scope: 'INSTANCE' | 'GROUP', name: string, word: FifoWord, priority: number): string {
  return `${scope} "${name}" ${word} ${priority}\n`;
}

export interface NotifyFifosDeps {
  /** The current config (a reload may change the FIFOs). */
  config(): KeepalivedConfig;
  readonly port: NotifyFifoPort;
  readonly bus: AgentBus;
  readonly clock: Pick<Clock, 'setTimer' | 'clearTimer'>;
  /** enable_script_security's check of the readers (src/adapters/process.ts). */
  readonly processes: Pick<ProcessRunner, 'checkExecutable'>;
  /** Who the readers run as and who owns the FIFOs (absent: this process). */
  readonly users?: () => ScriptUsers | undefined;
}

interface OpenFifo {
  readonly cfg: NotifyFifoConfig;
  /** What decides whether a reload keeps it. */
  readonly key: string;
  readonly handle: FifoHandle;
  readonly queue: string[];
  timer: TimerHandle | undefined;
  reader: StartedProcess | undefined;
}

export class NotifyFifos {
  private readonly fifos = new Map<NotifyFifoConfig['keyword'], OpenFifo>();
  private closed = false;

  constructor(private readonly deps: NotifyFifosDeps) {}

  /** Opens, keeps or closes the FIFOs to match the current config (start, and after each reload). */
  sync(): void {
    if (this.closed) return;
    const wanted = this.deps.config().global.notifyFifos ?? [];
    for (const [keyword, f] of this.fifos) {
      const cfg = wanted.find((w) => w.keyword === keyword);
      if (!cfg || keyOf(cfg) !== f.key) this.closeOne(keyword, f);
    }
    for (const cfg of wanted) if (!this.fifos.has(cfg.keyword)) this.openOne(cfg);
  }

  /** Whether any FIFO is open (callers skip building lines otherwise). */
  get active(): boolean {
    return this.fifos.size > 0;
  }

  /** One line to every FIFO, after what waits there. */
  write(line: string): void {
    for (const f of this.fifos.values()) {
      f.queue.push(line);
      if (f.queue.length > FIFO_QUEUE_MAX_LINES) this.drop(f, f.queue.shift()!);
      this.flush(f);
    }
  }

  /** What waits, per FIFO (tests, views). */
  waiting(): { fifo: string; lines: number }[] {
    return [...this.fifos].map(([fifo, f]) => ({ fifo, lines: f.queue.length }));
  }

  /** Closes every FIFO (the agent stops); what still waits is dropped. */
  close(): void {
    this.closed = true;
    for (const [keyword, f] of this.fifos) this.closeOne(keyword, f);
  }

  private openOne(cfg: NotifyFifoConfig): void {
    const users = this.deps.users?.();
    const owner = runAsFor(users, cfg);
    const base = { type: 'notify-fifo', fifo: cfg.keyword, path: cfg.path } as const;
    if (!owner.ok) {
      this.deps.bus.emit({ ...base, what: 'open-failed', detail: `its owner ${cfg.user} is not resolved` });
      return;
    }
    const opened = this.deps.port.open(cfg.path, owner.runAs);
    if (!opened.ok) {
      this.deps.bus.emit({ ...base, what: 'open-failed', detail: opened.error });
      return;
    }
    const f: OpenFifo = { cfg, key: keyOf(cfg), handle: opened.handle, queue: [], timer: undefined, reader: undefined };
    this.fifos.set(cfg.keyword, f);
    this.deps.bus.emit({ ...base, what: 'opened', detail: opened.created ? 'made' : 'already there' });
    const script = cfg.script;
    if (!script) return;
    if (this.deps.config().global.enableScriptSecurity) {
      const p = checkScript(this.deps.processes, script.argv, { scriptSecurity: true });
      if (p) {
        this.deps.bus.emit({ ...base, what: 'reader-refused', detail: `${p.message}: not started` });
        return;
      }
    }
    const runAs = runAsFor(users, script);
    if (!runAs.ok) {
      this.deps.bus.emit({ ...base, what: 'reader-refused', detail: `its user ${script.user} is not resolved: not started` });
      return;
    }
    const reader = this.deps.port.start([...script.argv, cfg.path], runAs.runAs);
    f.reader = reader;
    this.deps.bus.emit({ ...base, what: 'reader-started', detail: `${script.argv.join(' ')} ${cfg.path} (pid ${reader.pid ?? 'none'})` });
    void reader.exited.then((e) => {
      // keepalived logs the end of the reader and does not start it again; neither do we.
      this.deps.bus.emit({ ...base, what: 'reader-exited', detail: e.error ?? (e.signal ? `killed by ${e.signal}` : `exit ${e.exitCode}`) });
    });
  }

  private closeOne(keyword: NotifyFifoConfig['keyword'], f: OpenFifo): void {
    if (f.timer) this.deps.clock.clearTimer(f.timer);
    f.timer = undefined;
    for (const line of f.queue.splice(0)) this.drop(f, line);
    f.handle.close();
    this.fifos.delete(keyword);
  }

  /** Writes what waits, in order, until the pipe is full; then tries again later. */
  private flush(f: OpenFifo): void {
    if (f.timer) return;
    while (f.queue.length > 0) {
      const line = f.queue[0]!;
      const r = f.handle.write(line);
      if (r === 'again') {
        f.timer = this.deps.clock.setTimer(FIFO_RETRY_MS, () => {
          f.timer = undefined;
          if (this.fifos.get(f.cfg.keyword) === f) this.flush(f);
        });
        return;
      }
      f.queue.shift();
      if (r === 'written') this.deps.bus.emit({ type: 'notify-fifo-line', fifo: f.cfg.keyword, result: 'written', line });
      else this.drop(f, line);
    }
  }

  private drop(f: OpenFifo, line: string): void {
    this.deps.bus.emit({ type: 'notify-fifo-line', fifo: f.cfg.keyword, result: 'dropped', line });
  }
}

/** A reload keeps a FIFO whose path, owner and reader are the same. */
function keyOf(cfg: NotifyFifoConfig): string {
  return JSON.stringify([cfg.path, cfg.user, cfg.group, cfg.script?.argv, cfg.script?.user, cfg.script?.group]);
}
