/**
 * LvsService (src/lvs/service.ts) on a fake clock and fake probes: keepalived's checker schedule
 * (warmup, delay_loop, retry/delay_before_retry), real servers leaving and rejoining the table,
 * inhibit_on_failure, alpha, quorum with hysteresis and the sorry server, notify scripts,
 * misc_dynamic weights, ha_suspend following the VIP's instance, and the table's keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic, parseConfigText } from '../../../src/config/index.js';
import { AgentBus, type AgentEvent } from '../../../src/events/index.js';
import { LvsService } from '../../../src/lvs/service.js';
import { FakeClock } from '../../fakes/clock.js';
import { FakeLvsProbes } from '../../fakes/lvs-probes.js';
import { FakeProcessRunner, flush } from '../../fakes/process.js';

function setup(text: string, random = () => 0) {
  const r = parseConfigText(text, 's.conf');
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(errors.map(formatDiagnostic).join('\n'));
  const clock = new FakeClock();
  const probes = new FakeLvsProbes();
  const processes = new FakeProcessRunner({ clock });
  const bus = new AgentBus();
  const events: AgentEvent[] = [];
  bus.onAny((e) => events.push(e));
  const lvs = new LvsService({ config: r.config!, clock, probes, processes, bus, random });
  const run = async (ms: number, stepMs = 100): Promise<void> => {
    for (let t = 0; t < ms; t += stepMs) {
      clock.advance(Math.min(stepMs, ms - t));
      for (let i = 0; i < 4; i++) await flush();
    }
  };
  const servers = (i = 0) => lvs.table().services[i]!.realServers.map((s) => `${s.address}:${s.port ?? '-'}/${s.weight}`);
  const of = <T extends AgentEvent['type']>(type: T) => events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);
  return { lvs, clock, probes, processes, bus, events, run, servers, of };
}

const DR = `vrrp_instance VI_1 {
  interface eth1
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.168.2.240
  }
}
virtual_server 192.168.2.240 80 {
  delay_loop 6
  lb_algo wlc
  lb_kind DR
  persistence_timeout 60
  protocol TCP
  real_server 192.168.2.11 80 {
    weight 3
    TCP_CHECK {
      connect_timeout 3
      retry 2
      delay_before_retry 1
    }
  }
  real_server 192.168.2.12 80 {
    weight 3
    TCP_CHECK {
      connect_timeout 3
      retry 2
      delay_before_retry 1
    }
  }
}
`;

test('the table of seed 003: DR on the VIP instance interface, wlc, persistence 60 s, both servers weight 3', () => {
  const { lvs, of } = setup(DR);
  lvs.start();
  assert.deepEqual(lvs.table(), {
    services: [{
      key: 'tcp 192.168.2.240:80', family: 'ipv4', address: '192.168.2.240', port: 80, protocol: 'tcp', scheduler: 'wlc', method: 'dr', persistenceTimeoutS: 60,
      interface: 'eth1',
      realServers: [{ address: '192.168.2.11', port: 80, weight: 3 }, { address: '192.168.2.12', port: 80, weight: 3 }],
    }],
  });
  assert.deepEqual(of('lvs-table').map((e) => [e.generation, e.services, e.realServers]), [[1, 1, 2]]);
  lvs.stop();
});

test('a failing server leaves after its retries (retry × delay_before_retry), traffic stays on the other; it comes back on the first pass', async () => {
  const { lvs, probes, run, servers, of } = setup(DR);
  lvs.start();
  await run(1100); // BOOTSTRAP_DELAY 1 s + warmup × random 0: the first checks
  assert.equal(of('lvs-check').length, 2);
  probes.set('192.168.2.11', 80, { kind: 'refuse' });
  await run(6000); // next check at delay_loop 6 s: fails, retry 1
  assert.deepEqual(servers(), ['192.168.2.11:80/3', '192.168.2.12:80/3']);
  await run(1000); // retry 1 fails (retry 2 left)
  assert.deepEqual(servers(), ['192.168.2.11:80/3', '192.168.2.12:80/3']);
  await run(1000); // retry 2 fails: down
  assert.deepEqual(servers(), ['192.168.2.12:80/3']);
  const down = of('lvs-real-server');
  assert.deepEqual(down.map((e) => [e.realServer, e.up, e.reason, e.result, e.atMs]), [['192.168.2.11:80', false, 'check-failed', 'refused', 9000]]);
  assert.deepEqual(of('lvs-check').filter((e) => e.realServer === '192.168.2.11:80').map((e) => [e.result, e.attempt]), [['ok', 1], ['refused', 1], ['refused', 2], ['refused', 3]]);
  probes.set('192.168.2.11', 80, { kind: 'accept' });
  await run(6000);
  assert.deepEqual(servers(), ['192.168.2.11:80/3', '192.168.2.12:80/3']);
  assert.deepEqual(of('lvs-real-server').at(-1)!.reason, 'check-ok');
  assert.equal(lvs.state().virtualServers[0]!.realServers[0]!.checkers[0]!.lastFailure, 'refused');
  lvs.stop();
});

test('inhibit_on_failure keeps a failed server with weight 0; notify_down / notify_up run', async () => {
  const text = DR.replace('  real_server 192.168.2.11 80 {\n    weight 3', '  real_server 192.168.2.11 80 {\n    weight 3\n    inhibit_on_failure\n    notify_down "/bin/rs down"\n    notify_up /bin/rs-up').replace(/retry 2/g, 'retry 0');
  const { lvs, probes, processes, run, servers } = setup(text);
  lvs.start();
  await run(1100);
  probes.set('192.168.2.11', 80, { kind: 'refuse' });
  await run(6000);
  assert.deepEqual(servers(), ['192.168.2.11:80/0', '192.168.2.12:80/3']);
  probes.set('192.168.2.11', 80, { kind: 'accept' });
  await run(6000);
  assert.deepEqual(servers(), ['192.168.2.11:80/3', '192.168.2.12:80/3']);
  assert.deepEqual(processes.runs.map((r) => r.argv), [['/bin/rs', 'down'], ['/bin/rs-up']]);
  lvs.stop();
});

test('alpha: servers start down and join after their first pass; warmup spreads the first checks by the random source', async () => {
  const text = DR.replace('  delay_loop 6', '  delay_loop 6\n  alpha\n  warmup 4');
  const { lvs, run, servers, of } = setup(text, () => 0.5);
  lvs.start();
  assert.deepEqual(lvs.table().services[0]!.realServers, []);
  await run(2900); // 1 s bootstrap + 4 s warmup × 0.5
  assert.equal(of('lvs-check').length, 0);
  await run(200);
  assert.equal(of('lvs-check').length, 2);
  assert.deepEqual(servers(), ['192.168.2.11:80/3', '192.168.2.12:80/3']);
  lvs.stop();
});

test('quorum with hysteresis: lost below quorum − hysteresis (sorry server alone, quorum_down), gained at quorum + hysteresis (quorum_up)', async () => {
  const text = `virtual_server 10.0.0.1 80 {
  delay_loop 1
  quorum 3
  hysteresis 1
  quorum_up /bin/qup
  quorum_down /bin/qdown
  sorry_server 10.0.0.99 80
  real_server 10.0.0.2 80 {
    weight 2
    TCP_CHECK {
      retry 0
    }
  }
  real_server 10.0.0.3 80 {
    weight 2
    TCP_CHECK {
      retry 0
    }
  }
}
`;
  const { lvs, probes, processes, run, servers, of } = setup(text);
  lvs.start();
  await run(1100);
  assert.deepEqual(servers(), ['10.0.0.2:80/2', '10.0.0.3:80/2']);
  probes.set('10.0.0.2', 80, { kind: 'refuse' });
  await run(1000); // live 2 ≥ quorum − hysteresis = 2: kept
  assert.deepEqual(servers(), ['10.0.0.3:80/2']);
  probes.set('10.0.0.3', 80, { kind: 'refuse' });
  await run(1000); // live 0 < 2: lost
  assert.deepEqual(servers(), ['10.0.0.99:80/1']);
  probes.set('10.0.0.3', 80, { kind: 'accept' });
  await run(1000); // live 2 < quorum + hysteresis = 4: still lost
  assert.deepEqual(servers(), ['10.0.0.99:80/1']);
  probes.set('10.0.0.2', 80, { kind: 'accept' });
  await run(1000); // live 4: gained
  assert.deepEqual(servers(), ['10.0.0.2:80/2', '10.0.0.3:80/2']);
  assert.deepEqual(of('lvs-quorum').map((e) => [e.up, e.liveWeight, e.sorryServer]), [[false, 0, true], [true, 4, false]]);
  assert.deepEqual(processes.runs.map((r) => r.argv[0]), ['/bin/qdown', '/bin/qup']);
  assert.deepEqual(of('lvs-notify').map((e) => [e.what, e.result]), [['quorum_down', 'ok'], ['quorum_up', 'ok']]);
  lvs.stop();
});

test('sorry_server_inhibit: the sorry server stays in the table with weight 0 while quorum holds', () => {
  const { lvs } = setup(`virtual_server 10.0.0.1 80 {\n  sorry_server 10.0.0.99 80\n  sorry_server_inhibit\n  real_server 10.0.0.2 80 {\n  }\n}\n`);
  lvs.start();
  assert.deepEqual(lvs.table().services[0]!.realServers, [{ address: '10.0.0.2', port: 80, weight: 1 }, { address: '10.0.0.99', port: 80, weight: 0 }]);
  lvs.stop();
});

test('misc_dynamic sets the weight in the table (exit 2..255 → exit-2)', async () => {
  const { lvs, processes, run, servers, of } = setup(`virtual_server 10.0.0.1 80 {\n  delay_loop 2\n  real_server 10.0.0.2 80 {\n    weight 10\n    MISC_CHECK {\n      misc_path /bin/load\n      misc_dynamic\n    }\n  }\n}\n`);
  processes.script('/bin/load', { result: 'fail', exitCode: 7 }, { result: 'ok', exitCode: 0 });
  lvs.start();
  await run(1100);
  assert.deepEqual(servers(), ['10.0.0.2:80/5']);
  assert.equal(of('lvs-real-server')[0]!.reason, 'dynamic-weight');
  await run(2000);
  assert.deepEqual(servers(), ['10.0.0.2:80/10']);
  lvs.stop();
});

test('ha_suspend: no checks until the instance holding the VIP is MASTER; they stop when it leaves MASTER', async () => {
  const text = DR.replace('  delay_loop 6', '  delay_loop 6\n  ha_suspend');
  const { lvs, bus, run, of } = setup(text);
  lvs.start();
  await run(10_000);
  assert.equal(of('lvs-check').length, 0);
  const sc = (to: 'master' | 'backup') => bus.emit({ type: 'state-changed', instance: 'VI_1', vrid: 51, family: 'ipv4', version: 2, from: to === 'master' ? 'backup' : 'master', to, cause: 'master-down', atMs: 0, wallMs: 0, startedAtMs: 0, priority: 100, basePriority: 100 } as unknown as AgentEvent);
  sc('master');
  await run(1100);
  assert.equal(of('lvs-check').length, 2);
  sc('backup');
  await run(20_000);
  assert.equal(of('lvs-check').length, 2);
  assert.deepEqual(of('lvs-suspend').map((e) => e.suspended), [false, true]);
  assert.equal(lvs.state().virtualServers[0]!.suspended, true);
  lvs.stop();
});

test('fwmark, IPv6 and group services: keys, one service per group address, real servers without ports', () => {
  const { lvs } = setup(`virtual_server_group g {\n  10.0.0.1-2 80\n  fwmark 9\n}\nvirtual_server group g {\n  real_server 10.0.0.9 80 {\n  }\n}\nvirtual_server fwmark 1 {\n  real_server 10.0.0.7 {\n  }\n}\nvirtual_server 2001:db8::1 53 {\n  protocol UDP\n  real_server 2001:db8::10 53 {\n  }\n}\n`);
  lvs.start();
  const t = lvs.table();
  assert.deepEqual(t.services.map((s) => s.key), ['tcp 10.0.0.1:80', 'tcp 10.0.0.2:80', 'fwmark 9 inet', 'fwmark 1 inet', 'udp [2001:db8::1]:53']);
  assert.deepEqual(t.services[3]!.realServers, [{ address: '10.0.0.7', weight: 1 }]);
  assert.deepEqual(lvs.state().virtualServers.map((v) => v.virtualServer), ['group g', 'fwmark 1 inet', 'udp [2001:db8::1]:53']);
  lvs.stop();
});

test('stop: no check runs after it, a check in flight is ignored; omega runs notify_down and quorum_down', async () => {
  const text = `virtual_server 10.0.0.1 80 {\n  omega\n  quorum_down /bin/qdown\n  real_server 10.0.0.2 80 {\n    notify_down /bin/down\n    TCP_CHECK {\n    }\n  }\n}\n`;
  const { lvs, probes, processes, run, of } = setup(text);
  probes.set('10.0.0.2', 80, { kind: 'hang' });
  lvs.start();
  await run(1100);
  lvs.stop();
  await run(120_000);
  assert.equal(of('lvs-check').length, 0);
  await flush();
  assert.deepEqual(processes.runs.map((r) => r.argv[0]).sort(), ['/bin/down', '/bin/qdown']);
});

test('every seed and keepalived sample with virtual_server gives a table (no error), one service per virtual address', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const files = [
    ...['002-lvs-dr-master.conf', '002-lvs-nat-sample.conf', '003-lvs-dr-wlc.conf', '001-sample-default.conf'].map((f) => `test/fixtures/seed-configs/${f}`),
    ...readdirSync('test/fixtures/keepalived-samples').filter((f) => f.startsWith('keepalived.conf.')).map((f) => `test/fixtures/keepalived-samples/${f}`),
  ];
  let services = 0;
  for (const f of files) {
    const r = parseConfigText(readFileSync(f, 'utf8'), f);
    const errors = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    if (!r.config) continue; // samples that need other files (includes): keepalived-samples.test.ts covers them
    assert.deepEqual(errors, [], f);
    const lvs = new LvsService({ config: r.config, clock: new FakeClock(), probes: new FakeLvsProbes(), processes: new FakeProcessRunner(), bus: new AgentBus() });
    lvs.start();
    // Before any check: every real server is in (alpha: none until their first pass).
    const expected = r.config.virtualServers.flatMap((v) => (v.group ? [] : [v.alpha && !v.sorryServer ? 0 : v.alpha ? 1 : v.realServers.length + (v.sorryServerInhibit ? 1 : 0)]));
    const got = lvs.table().services.filter((s) => !r.config!.virtualServers.some((v) => v.group && lvs.state().virtualServers.some((x) => x.virtualServer === `group ${v.group}` && x.services.includes(s.key)))).map((s) => s.realServers.length);
    assert.deepEqual(got, expected, f);
    services += lvs.table().services.length;
    lvs.stop();
  }
  assert.ok(services >= 20, `${services} services`);
});

test('ha_suspend after a reload: an instance already MASTER (isMaster) lets the checks run at once', async () => {
  const r = parseConfigText(DR.replace('  delay_loop 6', '  delay_loop 6\n  ha_suspend'), 's.conf');
  const clock = new FakeClock();
  const bus = new AgentBus();
  let checks = 0;
  bus.on('lvs-check', () => checks++);
  const lvs = new LvsService({ config: r.config!, clock, probes: new FakeLvsProbes(), processes: new FakeProcessRunner(), bus, random: () => 0, isMaster: (i) => i === 'VI_1' });
  lvs.start();
  clock.advance(1010);
  for (let i = 0; i < 4; i++) await flush();
  assert.equal(checks, 2);
  assert.equal(lvs.state().virtualServers[0]!.suspended, false);
  lvs.stop();
});

test('alpha with quorum: keepalived starts with quorum down (quorum_down runs, the sorry server serves) until the checks pass', async () => {
  const text = `virtual_server 10.0.0.1 80 {\n  alpha\n  quorum_down /bin/qdown\n  quorum_up /bin/qup\n  sorry_server 10.0.0.99 80\n  real_server 10.0.0.2 80 {\n    TCP_CHECK {\n    }\n  }\n}\n`;
  const { lvs, processes, run, servers, of } = setup(text);
  lvs.start();
  assert.deepEqual(servers(), ['10.0.0.99:80/1']);
  await run(1100);
  assert.deepEqual(servers(), ['10.0.0.2:80/1']);
  assert.deepEqual(of('lvs-quorum').map((e) => e.up), [false, true]);
  assert.deepEqual(processes.runs.map((x) => x.argv[0]), ['/bin/qdown', '/bin/qup']);
  lvs.stop();
});

test('FILE_CHECK follows its file every second without retries: the weight moves, a negative sum takes the server out', async () => {
  const text = `track_file tf {\n  file /run/rs-weight\n}\nvirtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    weight 10\n    FILE_CHECK {\n      track_file tf\n      weight 2\n    }\n  }\n}\n`;
  const { lvs, probes, run, servers, of } = setup(text);
  probes.files.set('/run/rs-weight', { ok: true, value: 3 });
  lvs.start();
  await run(1100);
  assert.deepEqual(servers(), ['10.0.0.2:80/16']);
  probes.files.set('/run/rs-weight', { ok: true, value: -6 });
  await run(1000);
  assert.deepEqual(servers(), []);
  assert.deepEqual(of('lvs-real-server').map((e) => [e.up, e.reason, e.weight]), [[true, 'dynamic-weight', 16], [false, 'check-failed', 0]]);
  lvs.stop();
});

test('scripts refused by the script checks: a MISC_CHECK fails visibly (error), a notify script is not run', async () => {
  const text = `global_defs {\n  enable_script_security\n}\nvirtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    notify_down /tmp/down.sh\n    MISC_CHECK {\n      misc_path /tmp/check.sh\n      retry 0\n    }\n  }\n}\n`;
  const { lvs, processes, run, servers, of } = setup(text);
  processes.setProblem('/tmp/check.sh', 'insecure').setProblem('/tmp/down.sh', 'missing');
  lvs.start();
  await run(1100);
  assert.deepEqual(servers(), []);
  assert.match(of('lvs-check')[0]!.detail!, /^misc_path not run: insecure/);
  assert.deepEqual(of('lvs-notify').map((e) => [e.what, e.result]), [['notify_down', 'error']]);
  assert.equal(processes.runs.length, 0);
  lvs.stop();
});

test('reload (restore): a server that was down stays down in the new service until it passes; an unchanged one stays in', async () => {
  const first = setup(DR.replace(/retry 2/g, 'retry 0'));
  first.probes.set('192.168.2.11', 80, { kind: 'refuse' });
  first.lvs.start();
  await first.run(1100);
  assert.deepEqual(first.servers(), ['192.168.2.12:80/3']);
  const saved = first.lvs.state();
  first.lvs.stop();
  const r = parseConfigText(DR.replace(/retry 2/g, 'retry 0').replace('delay_loop 6', 'delay_loop 5'), 's.conf');
  const bus = new AgentBus();
  const lvs = new LvsService({ config: r.config!, clock: new FakeClock(), probes: new FakeLvsProbes(), processes: new FakeProcessRunner(), bus, restore: saved });
  lvs.start();
  assert.deepEqual(lvs.table().services[0]!.realServers.map((x) => x.address), ['192.168.2.12']);
  lvs.stop();
});

test('BFD_CHECK follows its bfd_instance session: out when it leaves Up, back when Up again (no retries, no polling)', async () => {
  const text = `bfd_instance rs1 {\n  neighbor_ip 10.0.0.2\n}\nvirtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    BFD_CHECK {\n      name rs1\n    }\n  }\n  real_server 10.0.0.3 80 {\n  }\n}\n`;
  const { lvs, bus, run, servers, of, probes } = setup(text);
  lvs.start();
  await run(5000);
  assert.deepEqual(servers(), ['10.0.0.2:80/1', '10.0.0.3:80/1']);
  const bfd = (from: string, to: string) => bus.emit({ type: 'bfd-state-changed', bfdInstance: 'rs1', neighbor: '10.0.0.2', from, to, cause: 'detection-timeout', localDiag: 1, remoteDiag: 0, detectionTimeMs: 50 } as unknown as AgentEvent);
  bfd('up', 'down');
  assert.deepEqual(servers(), ['10.0.0.3:80/1']);
  bfd('down', 'up');
  assert.deepEqual(servers(), ['10.0.0.2:80/1', '10.0.0.3:80/1']);
  assert.deepEqual(of('lvs-check').map((e) => [e.checker, e.result]), [['BFD_CHECK', 'bfd-down'], ['BFD_CHECK', 'ok']]);
  assert.equal(probes.connects.length + probes.pings.length, 0);
  lvs.stop();
});
