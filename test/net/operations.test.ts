/**
 * Issue 15 point 3, operations, on real hosts (root; network namespaces): the signal dumps land in
 * keepalived's files with keepalived's structure, pid files live and die with the process (and a
 * live holder stops a second start), an instance whose interface is missing starts in FAULT with
 * dynamic_interfaces and recovers when the interface appears, vrrp_startup_delay holds the
 * instances in INIT, and net_namespace refuses a start outside its namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withLab, waitFor, fastInstance, VIP } from './helpers.js';
import { CLI_PATH, renderConfig } from '../../src/lab/routers.js';

const eventsOf = (lines: readonly string[], event: string) => lines.filter((l) => l.startsWith('{') && (JSON.parse(l) as { event?: string }).event === event);

test('SIGUSR1/SIGUSR2 write keepalived.data, keepalived.json and keepalived.stats (data_use_instance names the data file)', async () => {
  await withLab(async (env) => {
    const dumps = join(env.dir, 'dumps');
    mkdirSync(dumps, { mode: 0o700 });
    const conf = `instance edge\n${renderConfig({ instances: [fastInstance(150)], globalExtra: ['data_use_instance'] })}`;
    const r1 = env.router('r1', 'keepwatch', conf, ['--dump-dir', dumps, '-p', join(env.dir, 'r1.pid'), '-r', join(env.dir, 'r1.vrrp.pid')]);
    r1.start();
    await waitFor('r1 master', () => r1.state === 'master', 15_000);
    await r1.signal('SIGUSR1', 0);
    const data = join(dumps, 'keepalived.edge.data');
    const json = join(dumps, 'keepalived.json');
    await waitFor('the SIGUSR1 files', () => existsSync(data) && existsSync(json) && existsSync(join(dumps, 'keepwatch.data')), 5000);
    const text = readFileSync(data, 'utf8');
    assert.match(text, /^------< VRRP Topology >------$/m);
    assert.match(text, /^ VRRP Instance = VI_1$/m);
    assert.match(text, /^ {3}State = MASTER$/m);
    assert.match(text, /^ {3}Virtual Router ID = 51$/m);
    assert.match(text, new RegExp(`^ {5}${VIP.replace(/\./g, '\\.')} dev eth0$`, 'm'));
    const j = JSON.parse(readFileSync(json, 'utf8')) as { data: Record<string, unknown>; stats: Record<string, number> }[];
    assert.equal(j.length, 1);
    assert.equal(j[0]!.data.iname, 'VI_1');
    assert.equal(j[0]!.data.state, 2, 'keepalived numbers MASTER 2');
    assert.equal(j[0]!.data.vrid, 51);
    assert.ok((j[0]!.stats.advert_sent ?? 0) > 0 && j[0]!.stats.become_master === 1, JSON.stringify(j[0]!.stats));
    assert.equal(j[0]!.data.auth_data, undefined, 'no secret in the file');

    await r1.signal('SIGUSR2', 0);
    const stats = join(dumps, 'keepalived.stats');
    await waitFor('keepalived.stats and keepwatch.stats', () => existsSync(stats) && existsSync(join(dumps, 'keepwatch.stats')), 5000);
    const s = readFileSync(stats, 'utf8');
    assert.match(s, /^VRRP Instance: VI_1$/m);
    assert.match(s, /^ {2}Became master: 1$/m);
    const sent = Number(/^ {4}Sent: (\d+)$/m.exec(s)?.[1]);
    assert.ok(sent > 0, s);
    assert.ok(r1.running, 'the dumps did not stop the agent');
  });
});

test('pid files: written with the pid, a live holder refuses a second start, removed at exit; a stale one is replaced', async () => {
  await withLab(async (env) => {
    const pid = join(env.dir, 'kw.pid');
    const vrrpPid = join(env.dir, 'kw.vrrp.pid');
    // umask and vrrp_priority (nice) from global_defs act on the process: the pid file's mode, /proc's nice.
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)], globalExtra: ['umask IWGRP|IROTH|IWOTH|IXOTH', 'vrrp_priority 5'] }, ['-p', pid, '-r', vrrpPid, '--listen', 'off']);
    r1.start();
    await waitFor('r1 master', () => r1.state === 'master', 15_000);
    const written = Number(readFileSync(pid, 'utf8').trim());
    assert.ok(written > 1);
    assert.equal(statSync(pid).mode & 0o777, 0o640, 'umask 027 on the 0644 pid file');
    const nice = Number(readFileSync(`/proc/${written}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[16]);
    assert.equal(nice, 5, 'vrrp_priority 5 is the nice value');
    assert.equal(readFileSync(vrrpPid, 'utf8'), `${written}\n`);
    process.kill(written, 0); // the process it names is alive

    // A second agent on the same pid files (another host, same files): refused, nothing started.
    const conf = join(env.dir, 'second.conf');
    writeFileSync(conf, renderConfig({ instances: [fastInstance(100)] }));
    const second = env.lab.exec('r2', process.execPath, [CLI_PATH, '-f', conf, '-p', pid, '-r', vrrpPid, '--listen', 'off']);
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`pid file ${pid.replace(/\//g, '\\/')} names process ${written}, which is running`));
    assert.equal(readFileSync(pid, 'utf8'), `${written}\n`, 'the holder keeps its file');

    await r1.signal('SIGTERM');
    assert.equal(r1.running, false);
    assert.ok(!existsSync(pid) && !existsSync(vrrpPid), 'removed at exit');

    // A stale file (its process gone) does not stop a start.
    writeFileSync(pid, '4194000\n');
    r1.start();
    await waitFor('r1 master again', () => r1.state === 'master', 15_000);
    assert.notEqual(readFileSync(pid, 'utf8'), '4194000\n');

    // `instance NAME` (use_pid_dir): keepalived's names under /run/keepalived/, without -p/-r.
    const name = `kwtest${process.pid}x${Date.now() % 100000}`;
    const r2 = env.router('r2', 'keepwatch', `instance ${name}\n${renderConfig({ instances: [fastInstance(100)] })}`, ['--listen', 'off']);
    r2.start();
    await waitFor('r2 backup', () => r2.state === 'backup', 15_000);
    const files = [`/run/keepalived/keepalived_${name}.pid`, `/run/keepalived/vrrp_${name}.pid`];
    for (const f of files) assert.match(readFileSync(f, 'utf8'), /^\d+\n$/, f);
    await r2.signal('SIGTERM');
    for (const f of files) assert.ok(!existsSync(f), `${f} removed at exit`);
  });
});

test('dynamic_interfaces: a missing interface starts its instance in FAULT; it recovers when the interface appears (without it: exit 1 with the hint)', async () => {
  await withLab(async (env) => {
    const spec = (extra: string[]) =>
      renderConfig({ instances: [fastInstance(150, { vips: ['10.252.0.100/24'] })], globalExtra: extra }, 'dyn0');
    const conf = join(env.dir, 'nodyn.conf');
    writeFileSync(conf, spec([]));
    const refused = env.lab.exec('r1', process.execPath, [CLI_PATH, '-f', conf, '--listen', 'off']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /interface 'dyn0' of vrrp_instance VI_1 does not exist on this host \(with dynamic_interfaces in global_defs the instance starts in FAULT and waits for it\)/);

    const r1 = env.router('r1', 'keepwatch', spec(['dynamic_interfaces']));
    r1.start();
    await waitFor('VI_1 in FAULT', () => r1.state === 'fault', 15_000);
    assert.equal(eventsOf(r1.logLines, 'interface-missing').length, 1);
    // A veth pair (this kernel may lack the dummy driver); both ends up: dyn0 gets carrier.
    for (const args of [['link', 'add', 'dyn0', 'type', 'veth', 'peer', 'name', 'dyn0p'], ['link', 'set', 'dyn0p', 'up'], ['link', 'set', 'dyn0', 'up']]) {
      const r = env.lab.exec('r1', 'ip', args);
      assert.equal(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
    }
    const appearedAt = Date.now();
    await waitFor('VI_1 master on the new interface', () => r1.state === 'master', 10_000);
    const backupAt = r1.transitions.find((t) => t.to === 'backup')?.atMs ?? NaN;
    process.stdout.write(`dynamic_interfaces: FAULT -> BACKUP ${backupAt - appearedAt} ms after the interface came up, MASTER ${Date.now() - appearedAt} ms after (Master_Down_Interval of advert_int 0.1 included)\n`);
    await waitFor('VIP on dyn0', () => /10\.252\.0\.100/.test(env.lab.exec('r1', 'ip', ['-4', 'addr', 'show', 'dev', 'dyn0']).stdout), 5000);
    // The interface goes away again: FAULT, the VIP with it.
    env.lab.exec('r1', 'ip', ['link', 'del', 'dyn0']);
    await waitFor('VI_1 in FAULT again', () => r1.state === 'fault', 5000);
    assert.ok(r1.running);
  });
});

test('vrrp_startup_delay holds the instances in INIT; net_namespace refuses a start outside its namespace', async () => {
  await withLab(async (env) => {
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)], globalExtra: ['vrrp_startup_delay 2'] });
    const t0 = Date.now();
    r1.start();
    await waitFor('the delay announced', () => eventsOf(r1.logLines, 'startup-delay').length === 1, 15_000);
    const announcedAt = Date.now();
    await waitFor('r1 master', () => r1.state === 'master', 15_000);
    const first = r1.transitions[0]!;
    assert.ok(first.atMs - announcedAt >= 1500, `first transition ${first.atMs - announcedAt} ms after the delay was announced (${Date.now() - t0} ms since spawn)`);
    process.stdout.write(`vrrp_startup_delay 2: first transition (${first.to}) ${first.atMs - announcedAt} ms after the delay was announced\n`);

    const ns = env.lab.host('r1').ns;
    const conf = join(env.dir, 'ns.conf');
    writeFileSync(conf, `net_namespace ${env.lab.host('r2').ns}\n${renderConfig({ instances: [fastInstance(100, { vrid: 60 })] })}`);
    const wrong = env.lab.exec('r1', process.execPath, [CLI_PATH, '-f', conf, '--listen', 'off']);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /net_namespace kw\S+: keepwatch is not running in that network namespace/);
    writeFileSync(conf, `net_namespace nosuch-ns-${process.pid}\n${renderConfig({ instances: [fastInstance(100, { vrid: 60 })] })}`);
    const missing = env.lab.exec('r1', process.execPath, [CLI_PATH, '-f', conf, '--listen', 'off']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no \/run\/netns\/nosuch-ns-/);
    // Inside the right one it starts (-p/-r keep its pid files out of /run/keepalived/).
    const inside = env.router('r1', 'keepwatch', `net_namespace ${ns}\n${renderConfig({ instances: [fastInstance(100, { vrid: 60 })] })}`, ['-p', join(env.dir, 'ns.pid'), '-r', join(env.dir, 'ns.vrrp.pid'), '--listen', 'off']);
    inside.start();
    await waitFor('the instance inside net_namespace becomes master', () => inside.state === 'master', 15_000);
  });
});
