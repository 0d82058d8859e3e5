/** Shared by the checker tests: a checker's config from a keepalived.conf snippet, and a context on fakes. */
import { parseConfigText, formatDiagnostic } from '../../../../src/config/index.js';
import type { LvsCheckerConfig } from '../../../../src/config/model.js';
import type { CheckContext } from '../../../../src/lvs/checkers/index.js';
import { FakeClock } from '../../../fakes/clock.js';
import { FakeLvsProbes } from '../../../fakes/lvs-probes.js';
import { FakeProcessRunner, flush } from '../../../fakes/process.js';

/** The first checker of `real_server 10.0.0.2 80 { <body> }`. */
export function checkerOf(body: string, pre = ''): LvsCheckerConfig {
  const r = parseConfigText(`${pre}virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n${body}\n  }\n}\n`, 'c.conf');
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(errors.map(formatDiagnostic).join('\n'));
  return r.config!.virtualServers[0]!.realServers[0]!.checkers[0]!;
}

export function context(): { ctx: CheckContext; clock: FakeClock; probes: FakeLvsProbes; processes: FakeProcessRunner } {
  const clock = new FakeClock();
  const probes = new FakeLvsProbes();
  const processes = new FakeProcessRunner({ clock });
  return { ctx: { clock, probes, processes }, clock, probes, processes };
}

export const TARGET = { address: '10.0.0.2', port: 80, weight: 1 };

/** Lets promises settle, then moves the fake clock, a few times (a check waits on both). */
export async function settle(clock: FakeClock, ms = 0, steps = 4): Promise<void> {
  for (let i = 0; i < steps; i++) {
    await flush();
    clock.advance(ms / steps);
  }
  await flush();
}
