/**
 * LvsService end to end on loopback: the real probes (src/adapters/lvs-probes.ts), the system
 * clock, two real HTTP servers on 127.0.0.1. Stopping one server's listener takes it out of the
 * table after its checker's delays; starting it again brings it back. (Loopback only; the network
 * test with namespaces and a data plane is the agent's.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfigText, formatDiagnostic } from '../../../src/config/index.js';
import { AgentBus } from '../../../src/events/index.js';
import { LvsService } from '../../../src/lvs/service.js';
import { NodeLvsProbes } from '../../../src/adapters/lvs-probes.js';
import { SystemClock } from '../../../src/adapters/clock.js';
import { FakeProcessRunner } from '../../fakes/process.js';

const web = (name: string): Server => createServer((_req, res) => res.end(`${name}\n`));
const listen = (s: Server, port = 0): Promise<number> => new Promise((r) => s.listen(port, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
const close = (s: Server): Promise<void> => new Promise((r) => { s.closeAllConnections(); s.close(() => r()); });

async function until(what: string, ok: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

test('a real server whose web process stops leaves the table after retry × delay_before_retry, and comes back', async () => {
  const a = web('a');
  const b = web('b');
  const pa = await listen(a);
  const pb = await listen(b);
  const text = `virtual_server 127.0.0.1 8080 {
  delay_loop 0.2
  lb_algo rr
  lb_kind NAT
  real_server 127.0.0.1 ${pa} {
    HTTP_GET {
      url {
        path /
        status_code 200
      }
      connect_timeout 1
      retry 1
      delay_before_retry 0.1
    }
  }
  real_server 127.0.0.1 ${pb} {
    TCP_CHECK {
      connect_timeout 1
      retry 1
      delay_before_retry 0.1
    }
  }
}
`;
  const r = parseConfigText(text, 'l.conf');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), []);
  const bus = new AgentBus();
  const transitions: string[] = [];
  bus.on('lvs-real-server', (e) => transitions.push(`${e.realServer} ${e.up ? 'up' : 'down'} ${e.reason}`));
  const lvs = new LvsService({ config: r.config!, clock: new SystemClock(), probes: new NodeLvsProbes(), processes: new FakeProcessRunner(), bus });
  lvs.start();
  const ports = () => lvs.table().services[0]!.realServers.map((s) => s.port);
  try {
    assert.deepEqual(ports(), [pa, pb]);
    await until('first checks', () => lvs.state().virtualServers[0]!.realServers.every((x) => x.checkers[0]!.checks > 0), 3000);
    await close(b);
    const outMs = await until('b out of the table', () => !ports().includes(pb), 3000);
    assert.deepEqual(ports(), [pa]);
    await listen(b, pb);
    const backMs = await until('b back in the table', () => ports().includes(pb), 3000);
    assert.deepEqual(ports(), [pa, pb]);
    assert.deepEqual(transitions, [`127.0.0.1:${pb} down check-failed`, `127.0.0.1:${pb} up check-ok`]);
    console.log(`loopback: out after ${outMs} ms (delay_loop 200 + retry 100), back after ${backMs} ms`);
  } finally {
    lvs.stop();
    await close(a);
    await close(b).catch(() => {});
  }
});
