/**
 * The static and leftover routing entries' life (agent/routing.ts) on the fake kernel table:
 * leftovers of a crash removed at start before the static entries are set (keepalived's order),
 * a reload that touches only what changed, removal at exit, release after a crash, a log line and
 * an event per failure, /v1/state's view, and the check for interfaces that do not exist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Routing, missingRoutingInterfaces } from '../../../src/agent/routing.js';
import { parseConfigText, type KeepalivedConfig } from '../../../src/config/index.js';
import { AgentBus, type AgentEvent } from '../../../src/events/index.js';
import { createLogger } from '../../../src/observability/logging.js';
import { FakeRouteManager } from '../../fakes/routes.js';

function config(statics: string, virtual = ''): KeepalivedConfig {
  const r = parseConfigText(`${statics}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress { 10.0.0.100 }
${virtual}
}
`, 'r.conf');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  return r.config!;
}

const STATICS = `static_ipaddress {
  10.0.1.1/32 dev eth0
}
static_routes {
  10.98.0.0/16 via 10.0.0.254
  10.97.0.0/16 via 10.0.0.254
}
static_rules {
  fwmark 7 table 101 preference 200
}`;
const VIRTUAL = `  virtual_routes {
    default via 10.0.0.254 table 100
  }
  virtual_rules {
    from 10.0.0.100 table 100 preference 100
  }`;

function setup() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const bus = new AgentBus();
  const events: AgentEvent[] = [];
  bus.onAny((e) => events.push(e));
  const routing = new Routing({ log: createLogger('debug', sink, {}), clock: { now: () => 1234 }, bus });
  const port = new FakeRouteManager();
  routing.attach(port);
  return { routing, port, lines, events };
}

const asked = (port: FakeRouteManager, from = 0) =>
  port.requests.slice(from).map((r) => `${r.action} ${r.entry.kind} ${r.entry.kind === 'route' ? r.entry.route.text : r.entry.kind === 'rule' ? r.entry.rule.text : r.entry.address.address}`);

test('start: the virtual routes and rules a crash may have left are removed (rules first), then static addresses, routes, rules are set', async () => {
  const { routing, port } = setup();
  await routing.start(config(STATICS, VIRTUAL));
  assert.deepEqual(asked(port), [
    'remove rule from 10.0.0.100 table 100 preference 100',
    'remove route default via 10.0.0.254 table 100',
    'add address 10.0.1.1',
    'add route 10.98.0.0/16 via 10.0.0.254',
    'add route 10.97.0.0/16 via 10.0.0.254',
    'add rule fwmark 7 table 101 preference 200',
  ]);
  for (const r of port.requests) assert.equal(r.entry.owner, r.entry.kind === 'address' || r.action === 'add' ? '' : 'VI_1');
});

test('reload: a static route dropped is removed, a new one added, the unchanged ones untouched (however they are written)', async () => {
  const { routing, port } = setup();
  const before = config(STATICS);
  await routing.start(before);
  const n = port.requests.length;
  const after = config(STATICS.replace('10.97.0.0/16 via 10.0.0.254', '10.96.0.0/16 via 10.0.0.254').replace('10.98.0.0/16 via 10.0.0.254', '10.98.0.0/16   via   10.0.0.254'));
  routing.reload(before, after);
  assert.deepEqual(asked(port, n), ['remove route 10.97.0.0/16 via 10.0.0.254', 'add route 10.96.0.0/16 via 10.0.0.254']);
  assert.deepEqual(port.texts('route').sort(), ['10.96.0.0/16 via 10.0.0.254', '10.98.0.0/16 via 10.0.0.254']);
});

test('stop: the static entries go, rules first, then routes, then addresses (keepalived stop_vrrp)', async () => {
  const { routing, port } = setup();
  const c = config(STATICS);
  await routing.start(c);
  const n = port.requests.length;
  routing.stopStatic(c);
  assert.deepEqual(asked(port, n), ['remove rule fwmark 7 table 101 preference 200', 'remove route 10.97.0.0/16 via 10.0.0.254', 'remove route 10.98.0.0/16 via 10.0.0.254', 'remove address 10.0.1.1']);
  assert.equal(port.held.size, 0);
});

test('after a crash the virtual routes and rules go, the static ones stay', async () => {
  const { routing, port } = setup();
  const c = config(STATICS, VIRTUAL);
  await routing.start(c);
  for (const e of [...c.instances[0]!.virtualRoutes.map((route) => ({ kind: 'route' as const, owner: 'VI_1', route }))]) port.add(e);
  routing.releaseVirtual(c);
  assert.deepEqual(port.texts('route').sort(), ['10.97.0.0/16 via 10.0.0.254', '10.98.0.0/16 via 10.0.0.254']);
  assert.deepEqual(port.texts('rule'), ['fwmark 7 table 101 preference 200']);
});

test('a refused request: one error line with the route and its place, and a route-result event with the error', () => {
  const { routing, lines, events } = setup();
  const c = config('', VIRTUAL);
  const route = c.instances[0]!.virtualRoutes[0]!;
  routing.onResult({ kind: 'route', owner: 'VI_1', route }, 'add', new Error("adding route 'default via 10.0.0.254 table 100' failed: Request rejected: ENETUNREACH"), 0.4, false);
  const line = JSON.parse(lines.find((l) => l.includes('route-failed'))!) as Record<string, unknown>;
  assert.equal(line.level, 'error');
  assert.equal(line['vrrp.instance'], 'VI_1');
  assert.equal(line.route, 'default via 10.0.0.254 table 100');
  assert.equal(line.location, 'r.conf:7:5');
  assert.match(String(line.msg), /^\(VI_1\) adding route .* ENETUNREACH/);
  const e = events.find((x) => x.type === 'route-result');
  assert.ok(e && e.type === 'route-result' && e.error && e.entry.kind === 'route' && e.entry.owner === 'VI_1' && e.action === 'add');
  routing.onResult({ kind: 'route', owner: 'VI_1', route }, 'remove', undefined, 0.2, true);
  assert.equal(lines.filter((l) => l.includes('"level":"error"')).length, 1, 'a success logs nothing');
  routing.onRepaired({ kind: 'route', owner: 'VI_1', route });
  assert.ok(lines.some((l) => l.includes('"event":"route-repaired"') && l.includes('deleted by someone else')));
  assert.ok(events.some((x) => x.type === 'route-repaired'));
});

test('/v1/state: the virtual routes and rules of an instance and whether the kernel holds them; nothing for an instance without any', () => {
  const { routing, port } = setup();
  const c = config('', VIRTUAL);
  assert.deepEqual(routing.stateOf(c, 'VI_1'), {
    virtualRoutes: [{ route: 'default via 10.0.0.254 table 100', present: false }],
    virtualRules: [{ rule: 'from 10.0.0.100 table 100 preference 100', present: false }],
  });
  port.add({ kind: 'route', owner: 'VI_1', route: c.instances[0]!.virtualRoutes[0]! });
  assert.equal((routing.stateOf(c, 'VI_1').virtualRoutes as { present: boolean }[])[0]!.present, true);
  assert.deepEqual(routing.stateOf(config(''), 'VI_1'), {});
  assert.deepEqual(routing.stateOf(c, 'nope'), {});
});

test('interfaces named by routes, rules and static addresses must exist (file:line:col for each)', () => {
  const c = config(`static_ipaddress {\n  10.0.1.1/32 dev eth8\n}\nstatic_routes {\n  10.98.0.0/16 nexthop via 10.0.0.1 dev eth0 nexthop via 10.0.0.2 dev eth9\n}`, `  virtual_rules {\n    iif eth7 table 5 preference 1\n  }`);
  assert.deepEqual(missingRoutingInterfaces(c, (n) => n === 'eth0'), [
    "r.conf:12:5: interface 'eth7' of a virtual rule of vrrp_instance VI_1 does not exist on this host",
    "r.conf:2:3: interface 'eth8' of a static address does not exist on this host",
    "r.conf:5:3: interface 'eth9' of a static route does not exist on this host",
  ]);
});
