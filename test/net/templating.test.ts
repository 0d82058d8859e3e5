/**
 * One keepalived.conf for every node (issue 15; keepalived.conf(5) "Conditional configuration and
 * configuration id", "Parameter substitution"): the same text drives both routers of a pair, one
 * started with `-i r1`, the other with `-i r2`. Root only (network namespaces).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, waitFor, VIP } from './helpers.js';

const template = (r1Priority: number): string => `! the same file on r1 and r2: keepwatch -i r1 / -i r2
@r1 $PRIO=${r1Priority}
@r2 $PRIO=100
@r1 $SELF=10.251.0.1
@r2 $SELF=10.251.0.2
$VIP=${VIP}

global_defs {
    router_id \${_INSTANCE}
}

vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    version 3
    priority $PRIO
    advert_int 0.1
    garp_master_delay 1
    garp_master_repeat 2
    unicast_src_ip $SELF
    unicast_peer {
        @^r1 10.251.0.1
        @^r2 10.251.0.2
    }
    virtual_ipaddress {
        \${VIP}/24
    }
}
`;

test('one templated file, two nodes (-i r1, -i r2): the node the file gives the higher priority is master; a reload keeps the config id', async () => {
  await withLab(async (env) => {
    const text = template(150);
    const r1 = env.router('r1', 'keepwatch', text, ['-i', 'r1']);
    const r2 = env.router('r2', 'keepwatch', text, ['--config-id', 'r2']);
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 15_000);
    await waitFor('the VIP on r1 only', () => env.lab.holders(VIP).join() === 'r1', 5000);
    // Unicast, from the templated addresses: each node sends to the other one only.
    const seen = env.lab.exec('r2', 'timeout', ['1', 'tcpdump', '-i', 'eth0', '--immediate-mode', '-n', '-l', 'ip proto 112']).stdout;
    assert.match(seen, /10\.251\.0\.1 > 10\.251\.0\.2: VRRPv3, Advertisement, vrid 51, prio 150/);
    // The same template with r1 at 90: after SIGHUP r1 reads its own lines again (-i r1 kept),
    // advertises 90, and r2 (100) preempts.
    r1.config = template(90);
    r1.writeConfig();
    r1.proc!.kill('SIGHUP');
    await waitFor('r2 master, r1 backup', () => r2.state === 'master' && r1.state === 'backup', 10_000);
    await waitFor('the VIP on r2 only', () => env.lab.holders(VIP).join() === 'r2', 5000);
    assert.ok(r1.logLines.some((l) => /"event":"reload"/.test(l) && /"result":"success"/.test(l)), 'the reload was applied');
    assert.ok(!r1.logLines.some((l) => /"level":"error"|reload refused/.test(l)), r1.logLines.filter((l) => /error|refused/.test(l)).join('\n'));
  });
});
