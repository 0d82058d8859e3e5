/**
 * virtual_routes / virtual_rules on the in-memory LAN (the router's hook, through the
 * RouteManager port; test/fakes/routes.ts is the kernel's table): the master holds them, a
 * backup never does; they are added after the VIPs (a route may use a VIP as `src`) and removed
 * before them, rules after routes on the way in and before them on the way out (keepalived's
 * order); they follow a failover, a fault and a stop; a reload changes them in place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeLan, type FakeNode } from '../../fakes/lan.js';
import { instance } from '../../helpers/instances.js';
import { parseConfigText } from '../../../src/config/index.js';
import type { RouteConfig, RuleConfig } from '../../../src/config/model.js';

/** Routes and rules as the config reader makes them from these lines. */
function routing(routes: readonly string[], rules: readonly string[] = []): { virtualRoutes: RouteConfig[]; virtualRules: RuleConfig[] } {
  const text = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress { 10.0.0.100 }
  virtual_routes {
${routes.map((r) => `    ${r}`).join('\n')}
  }
  virtual_rules {
${rules.map((r) => `    ${r}`).join('\n')}
  }
}`;
  const r = parseConfigText(text, 'routes.conf');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  const i = r.config!.instances[0]!;
  return { virtualRoutes: [...i.virtualRoutes], virtualRules: [...i.virtualRules] };
}

const ROUTES = ['default via 10.0.0.254 table 100', 'src 10.0.0.100 10.9.0.0/16 via 10.0.0.254'];
const RULES = ['from 10.0.0.100 table 100 preference 100'];

function pair(routes = ROUTES, rules = RULES) {
  const lan = new FakeLan();
  const na = lan.addNode('a', { ipv4: '10.0.0.1' });
  const nb = lan.addNode('b', { ipv4: '10.0.0.2' });
  na.start([instance({ priority: 150, vips: ['10.0.0.100'], ...routing(routes, rules) })]);
  nb.start([instance({ priority: 100, vips: ['10.0.0.100'], ...routing(routes, rules) })]);
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a']);
  return { lan, na, nb };
}

const kinds = (n: FakeNode) => n.routes.requests.map((r) => `${r.action} ${r.entry.kind}`);

test('the master holds the virtual routes and rules, the backup none; none is refused (the src VIP is there first)', () => {
  const { na, nb } = pair();
  assert.deepEqual(na.routes.texts('route').sort(), [...ROUTES].sort());
  assert.deepEqual(na.routes.texts('rule'), RULES);
  assert.deepEqual(nb.routes.texts('route'), []);
  assert.deepEqual(nb.routes.texts('rule'), []);
  assert.deepEqual(nb.routes.requests, [], 'a backup asks for nothing');
  assert.deepEqual(na.routes.refused(), []);
  assert.deepEqual(kinds(na), ['add route', 'add route', 'add rule'], 'routes, then rules');
  for (const r of na.routes.requests) assert.equal(r.entry.owner, 'VI_1');
});

test('a failover moves them: the old master removes rules then routes (before its VIPs), the new one adds them', () => {
  const { lan, na, nb } = pair();
  let vipsWhenRoutesLeft: boolean | undefined;
  const remove = na.routes.remove.bind(na.routes);
  na.routes.remove = (e) => {
    if (e.kind === 'route') vipsWhenRoutesLeft ??= na.vips.has('eth0/10.0.0.100');
    remove(e);
  };
  na.stop();
  lan.clock.advance(5000);
  assert.deepEqual(lan.masters(), ['b']);
  assert.deepEqual(na.routes.texts('route'), []);
  assert.deepEqual(na.routes.texts('rule'), []);
  assert.deepEqual(kinds(na).slice(3), ['remove rule', 'remove route', 'remove route'], 'rules first, then routes');
  assert.equal(vipsWhenRoutesLeft, true, 'routes leave before the VIPs');
  assert.deepEqual(nb.routes.texts('route').sort(), [...ROUTES].sort());
  assert.deepEqual(nb.routes.texts('rule'), RULES);
  assert.deepEqual(nb.routes.refused(), []);
});

test('a master that goes to FAULT (link down) removes them; back as master, it adds them again', () => {
  const { lan, na, nb } = pair();
  na.setLink(false);
  lan.clock.advance(5000);
  assert.equal(na.state(), 'fault');
  assert.deepEqual(na.routes.texts('route'), []);
  assert.deepEqual(nb.routes.texts('route').sort(), [...ROUTES].sort());
  na.setLink(true);
  lan.clock.advance(10_000);
  assert.deepEqual(lan.masters(), ['a'], 'a preempts again');
  assert.deepEqual(na.routes.texts('route').sort(), [...ROUTES].sort());
  assert.deepEqual(nb.routes.texts('route'), [], 'the backup gave them up');
});

test('kill -9 leaves them in the kernel (as a crash does; the next start removes them) while the backup takes over', () => {
  const { lan, na, nb } = pair();
  na.kill();
  lan.clock.advance(5000);
  assert.deepEqual(lan.masters(), ['b']);
  assert.deepEqual(na.routes.texts('route').sort(), [...ROUTES].sort(), 'nothing ran on a to remove them');
  assert.deepEqual(nb.routes.texts('route').sort(), [...ROUTES].sort());
});

test('a reload on the master adds and removes routes in place; a route in both is never removed, no transition', () => {
  const { lan, na } = pair();
  const before = na.transitions.length;
  const asked = na.routes.requests.length;
  const next = routing(['default via 10.0.0.254 table 100', '10.8.0.0/16 via 10.0.0.254 metric 5'], ['from 10.0.0.100 table 100 preference 100']);
  na.engine!.reconfigureInstance(instance({ priority: 150, vips: ['10.0.0.100'], ...next }));
  lan.clock.advance(1000);
  const changes = na.routes.requests.slice(asked).map((r) => `${r.action} ${r.entry.kind === 'route' ? r.entry.route.text : ''}`);
  assert.deepEqual(changes, ['remove src 10.0.0.100 10.9.0.0/16 via 10.0.0.254', 'add 10.8.0.0/16 via 10.0.0.254 metric 5']);
  assert.deepEqual(na.routes.texts('route').sort(), ['10.8.0.0/16 via 10.0.0.254 metric 5', 'default via 10.0.0.254 table 100']);
  assert.deepEqual(na.routes.texts('rule'), RULES);
  assert.equal(na.transitions.length, before);
});

test('a reload on a backup asks for nothing', () => {
  const { nb } = pair();
  nb.engine!.reconfigureInstance(instance({ priority: 100, vips: ['10.0.0.100'], ...routing(['10.8.0.0/16 via 10.0.0.254']) }));
  assert.deepEqual(nb.routes.requests, []);
});

test('an instance without virtual routes or rules never calls the port', () => {
  const { na, nb } = pair([], []);
  assert.deepEqual(na.routes.requests, []);
  assert.deepEqual(nb.routes.requests, []);
});
