/**
 * virtual_routes, virtual_rules and static_* on real agents (root only): a VRRPv3 0.1 s pair whose
 * instances carry a default route into table 100 via the lab's gateway (the client), a route with
 * the VIP as its `src`, and a rule for the VIP; both agents have a static route, rule and address.
 * The master's kernel holds the virtual ones and the backup's does not; they move on kill -9 (the
 * restarted agent removes what its crash left, then takes them back), someone deleting one on the
 * master sees it put back, the static ones are there on both from the start, and SIGTERM removes
 * the virtual and static ones alike (as keepalived 2.2.7 does). Bounds are generous.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, waitFor, sleep, fastInstance, hears, metric, VIP, type NetEnv } from './helpers.js';
import { renderConfig } from '../../src/lab/routers.js';

const GATEWAY = '10.251.0.10';

function config(priority: number, staticAddress: string): string {
  const text = renderConfig({
    instances: [
      fastInstance(priority, {
        extra: [
          'virtual_routes {',
          `    default via ${GATEWAY} table 100`,
          `    src ${VIP} 10.99.0.0/16 via ${GATEWAY}`,
          '}',
          'virtual_rules {',
          `    from ${VIP} table 100 preference 100`,
          '}',
        ],
      }),
    ],
  });
  return `${text}
static_ipaddress {
    ${staticAddress}/32 dev eth0
}
static_routes {
    10.98.0.0/16 via ${GATEWAY}
}
static_rules {
    fwmark 7 table 101 preference 200
}
`;
}

const ip = (env: NetEnv, host: string, args: string[]) => env.lab.exec(host, 'ip', args).stdout;

/** What a host's kernel holds of ours: the virtual route and rule, and the static ones. */
function table(env: NetEnv, host: string) {
  const defaultRoute = ip(env, host, ['route', 'show', 'table', '100']);
  const srcRoute = ip(env, host, ['route', 'show', '10.99.0.0/16']);
  const rules = ip(env, host, ['rule', 'show']);
  return {
    virtualDefault: defaultRoute.includes(`default via ${GATEWAY} dev eth0 proto keepalived`),
    virtualSrc: srcRoute.includes(`via ${GATEWAY} dev eth0 proto keepalived src ${VIP}`),
    virtualRule: /^100:\s+from 10\.251\.0\.100 lookup 100 proto keepalived/m.test(rules),
    staticRoute: ip(env, host, ['route', 'show', '10.98.0.0/16']).includes(`via ${GATEWAY} dev eth0 proto keepalived`),
    staticRule: /^200:\s+from all fwmark 0x7 lookup 101 proto keepalived/m.test(rules),
  };
}
const virtualAll = (t: ReturnType<typeof table>) => t.virtualDefault && t.virtualSrc && t.virtualRule;
const virtualNone = (t: ReturnType<typeof table>) => !t.virtualDefault && !t.virtualSrc && !t.virtualRule;

interface StateJson {
  instances: { name: string; virtualRoutes?: { route: string; present: boolean }[]; virtualRules?: { rule: string; present: boolean }[] }[];
}
function state(env: NetEnv, host: string): StateJson['instances'][number] | undefined {
  const r = env.lab.exec(host, 'curl', ['-s', '--max-time', '2', 'http://127.0.0.1:11200/v1/state']);
  try {
    return (JSON.parse(r.stdout) as StateJson).instances[0];
  } catch {
    return undefined;
  }
}

test('virtual routes and rules live on the master only and follow it; static ones on both; SIGTERM removes both', async () => {
  await withLab(async (env) => {
    const r1 = env.router('r1', 'keepwatch', config(150, '10.251.1.1'));
    const r2 = env.router('r2', 'keepwatch', config(100, '10.251.1.2'));
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 hears it', () => r1.state === 'master' && r2.state === 'backup' && hears(env, 'r2', '10.251.0.1'), 15_000, 100);
    await waitFor("the master's kernel holds the virtual routes and rule", () => virtualAll(table(env, 'r1')), 5000);
    await sleep(500);
    const t2 = table(env, 'r2');
    assert.ok(virtualNone(t2), `the backup holds none of them: ${JSON.stringify(t2)}`);
    for (const h of ['r1', 'r2']) {
      const t = table(env, h);
      assert.ok(t.staticRoute && t.staticRule, `${h} has its static route and rule from the start: ${JSON.stringify(t)}`);
    }
    assert.ok(env.lab.addresses('r1').includes('10.251.1.1') && env.lab.addresses('r2').includes('10.251.1.2'), 'static addresses');

    // /v1/state: the instance's virtual routes and rules, and whether the kernel holds them.
    assert.deepEqual(state(env, 'r1')?.virtualRoutes, [
      { route: `default via ${GATEWAY} table 100`, present: true },
      { route: `src ${VIP} 10.99.0.0/16 via ${GATEWAY}`, present: true },
    ]);
    assert.deepEqual(state(env, 'r1')?.virtualRules, [{ rule: `from ${VIP} table 100 preference 100`, present: true }]);
    assert.deepEqual(state(env, 'r2')?.virtualRoutes?.map((r) => r.present), [false, false]);

    // Someone deletes a tracked virtual route on the master: put back, counted.
    env.lab.exec('r1', 'ip', ['route', 'del', 'default', 'via', GATEWAY, 'table', '100']);
    await waitFor('the deleted route put back (at the next check, every 2 s)', () => table(env, 'r1').virtualDefault, 6000);
    await waitFor('the repair counted', () => metric(env, 'r1', 'keepwatch_route_repairs_total', { vrrp_instance: 'VI_1', kind: 'route' }) === 1, 6000);

    // kill -9: r2 takes over and adds them; r1's kernel keeps what it had (nothing ran to remove it).
    await r1.signal('SIGKILL');
    await waitFor('r2 master with the virtual routes and rule', () => r2.state === 'master' && virtualAll(table(env, 'r2')), 5000);
    assert.ok(virtualAll(table(env, 'r1')), 'a crashed agent leaves its routes (as keepalived would)');

    // r1 returns: it removes what its crash left before joining, then preempts and takes them back.
    r1.start();
    await waitFor('r1 master again, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 15_000, 50);
    assert.ok(r1.logLines.some((l) => l.includes('"event":"route-reconciled"')), 'the leftovers were reconciled at start');
    await waitFor('the virtual routes back on r1 only', () => virtualAll(table(env, 'r1')) && virtualNone(table(env, 'r2')), 5000);
    assert.ok(table(env, 'r1').staticRoute, 'the static route stayed across the crash and the restart');

    // SIGTERM: the virtual and static entries go with r1 (keepalived removes static ones at exit
    // too); r2 takes the virtual ones.
    await r1.signal('SIGTERM');
    assert.equal(r1.proc?.exitCode, 0);
    const t1 = table(env, 'r1');
    assert.ok(virtualNone(t1) && !t1.staticRoute && !t1.staticRule, `r1 left nothing behind: ${JSON.stringify(t1)}`);
    assert.ok(!env.lab.addresses('r1').includes('10.251.1.1'), 'the static address went too');
    await waitFor('r2 master with the virtual routes and rule', () => r2.state === 'master' && virtualAll(table(env, 'r2')), 5000);
    assert.ok(table(env, 'r2').staticRoute, "r2's static route stays");
    assert.equal(metric(env, 'r2', 'keepwatch_route_errors_total'), 0, 'no request refused');
  });
});
