/**
 * A scripted ProcessRunner (src/ports): no process is ever started. Each executable (argv[0])
 * answers from a queue of steps — a result, an outcome, or 'hang' (until the test releases the
 * run, or, with a clock, until its timeout on that clock, like the real runner's SIGKILL) — then
 * from its default. Every run is recorded with its argv, user and timeout, and how many runs of
 * one executable overlapped. checkExecutable and getent answer from tables.
 */
import type { GetentAnswer, GetentDb, ProcessRunner, RunOptions, RunOutcome, ScriptProblem } from '../../src/ports/index.js';
import type { RunResult } from '../../src/events/index.js';
import type { FakeClock } from './clock.js';

/** What one run does: end at once with a result (or a fuller outcome), or hang. */
export type Step = RunResult | 'hang' | { readonly result: RunResult; readonly exitCode?: number | null; readonly error?: string; readonly durationMs?: number };

export interface FakeRun {
  readonly argv: readonly string[];
  readonly opts: RunOptions;
  /** The clock's time when it started (0 without a clock). */
  readonly startedAtMs: number;
  /** The outcome, once it has ended. */
  outcome: RunOutcome | undefined;
  /** Ends a hanging run now (default: 'ok'); a no-op once it has ended. */
  release(step?: Exclude<Step, 'hang'>): void;
}

/** Lets every promise that can settle now settle (a run's outcome reaches its caller). */
export const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

export class FakeProcessRunner implements ProcessRunner {
  readonly runs: FakeRun[] = [];
  readonly checked: { exe: string; scriptSecurity: boolean }[] = [];
  readonly lookups: string[] = [];
  /** What an executable without steps left does. */
  defaultStep: Step = 'ok';
  private readonly steps = new Map<string, Step[]>();
  private readonly problems = new Map<string, ScriptProblem>();
  private readonly peak = new Map<string, number>();

  constructor(
    private readonly opts: {
      /** Hanging runs end with 'timeout' at their timeout on this clock; durations come from it. */
      readonly clock?: FakeClock;
      /** NSS answers; default: nobody exists. */
      readonly getent?: (db: GetentDb, key: string) => GetentAnswer;
    } = {},
  ) {}

  /** The next runs of `exe` do these steps, in order (then the default). */
  script(exe: string, ...steps: Step[]): this {
    this.steps.set(exe, [...(this.steps.get(exe) ?? []), ...steps]);
    return this;
  }

  /** What checkExecutable says about `exe` ('insecure' only under script security, as on a host). */
  setProblem(exe: string, kind: ScriptProblem['kind'] | undefined): this {
    if (kind) this.problems.set(exe, { kind, message: `'${exe}' is ${kind} (fake)` });
    else this.problems.delete(exe);
    return this;
  }

  /** Runs of `exe` (argv[0]), in start order. */
  runsOf(exe: string): FakeRun[] {
    return this.runs.filter((r) => r.argv[0] === exe);
  }

  /** Runs not ended yet. */
  running(): FakeRun[] {
    return this.runs.filter((r) => !r.outcome);
  }

  /** The most runs of `exe` that were going at once. */
  peakConcurrent(exe: string): number {
    return this.peak.get(exe) ?? 0;
  }

  run(argv: readonly string[], opts: RunOptions): Promise<RunOutcome> {
    const exe = argv[0] ?? '';
    const clock = this.opts.clock;
    const startedAtMs = clock?.now() ?? 0;
    const queue = this.steps.get(exe);
    const step = queue?.shift() ?? this.defaultStep;
    return new Promise((resolve) => {
      let timer: ReturnType<FakeClock['setTimer']> | undefined;
      const end = (s: Exclude<Step, 'hang'>, signal: NodeJS.Signals | null = null) => {
        if (run.outcome) return;
        if (timer && clock) clock.clearTimer(timer);
        const o = typeof s === 'string' ? { result: s } : s;
        const exitCode = o.exitCode !== undefined ? o.exitCode : o.result === 'ok' ? 0 : o.result === 'fail' ? 1 : null;
        run.outcome = { result: o.result, exitCode, signal, durationMs: o.durationMs ?? (clock ? clock.now() - startedAtMs : 0), ...(o.error ? { error: o.error } : {}) };
        resolve(run.outcome);
      };
      const run: FakeRun = { argv: [...argv], opts, startedAtMs, outcome: undefined, release: (s = 'ok') => end(s) };
      this.runs.push(run);
      const going = this.runs.filter((r) => r.argv[0] === exe && !r.outcome).length;
      this.peak.set(exe, Math.max(this.peak.get(exe) ?? 0, going));
      if (step !== 'hang') return end(step);
      if (clock) timer = clock.setTimer(opts.timeoutMs, () => end({ result: 'timeout', exitCode: null }, 'SIGKILL'));
    });
  }

  checkExecutable(exe: string, opts: { readonly scriptSecurity: boolean }): ScriptProblem | undefined {
    this.checked.push({ exe, scriptSecurity: opts.scriptSecurity });
    const p = this.problems.get(exe);
    return p && (p.kind !== 'insecure' || opts.scriptSecurity) ? p : undefined;
  }

  getentSync(db: GetentDb, key: string): GetentAnswer {
    this.lookups.push(`${db}:${key}`);
    return this.opts.getent?.(db, key) ?? { status: 'not-found' };
  }

  getent(db: GetentDb, key: string): Promise<GetentAnswer> {
    return Promise.resolve(this.getentSync(db, key));
  }
}
