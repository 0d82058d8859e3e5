/**
 * Scripts and notifications on real agents (root only), issue 15:
 * (a) track_process on the source documents' nginx setup — a stand-in web server (node, which
 *     names itself through process.title, i.e. prctl(PR_SET_NAME), distinctly per router since
 *     the namespaces share one process table; nginx is not installed here) is tracked by name;
 *     when it dies the VIP and the service move, when it is back they come back;
 * (b) a notify_fifo reader (started by the agent, as nobody, with the FIFO's path last) gets
 *     every transition in order, in keepalived's line format;
 * (c) `notify x.sh nobody` runs x.sh as nobody, without `nobody` among its arguments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withLab, waitFor, metric, fastInstance, masterFaultMasterStop, VIP, type NetEnv } from './helpers.js';

/** A directory nobody can read scripts from and write results to (the test's own dir is 0700). */
function openDir(env: NetEnv, name: string): string {
  chmodSync(env.dir, 0o755);
  const d = join(env.dir, name);
  mkdirSync(d, { mode: 0o777 });
  chmodSync(d, 0o777);
  return d;
}

/**
 * A stand-in for nginx whose process name (comm) is `name` (node's own comm is "MainThread":
 * process.title sets it, as nginx's is "nginx").
 */
function webServer(env: NetEnv, host: string, name: string): { pid: number | undefined; stop(): Promise<void> } {
  const p = env.lab.spawn(host, process.execPath, ['-e', `process.title = '${name}'; require('http').createServer((q, s) => s.end('${host}\\n')).listen(80)`]);
  return {
    pid: p.pid,
    stop: () =>
      new Promise((r) => {
        p.once('exit', () => r());
        p.kill('SIGKILL');
      }),
  };
}

const curlVip = (env: NetEnv, vip: string): string => env.lab.exec('client', 'curl', ['-s', '-m', '1', `http://${vip}/`]).stdout.trim();

/** The source documents' nginx pair, with the web server tracked as a process instead of a check script. */
const nginxConf = (proc: string, priority: number, state: string) => `global_defs {
    router_id ${state === 'MASTER' ? 'LVS_MASTER' : 'LVS_BACKUP'}
}
vrrp_track_process track_nginx {
    process ${proc}
    weight -60
    delay 0.5
}
vrrp_instance nginx {
    state ${state}
    interface eth0
    virtual_router_id 51
    priority ${priority}
    version 3
    advert_int 0.2
    virtual_ipaddress {
        ${VIP}/24
    }
    track_process {
        track_nginx
    }
}
`;

test('track_process on the nginx setup: the VIP and the service move when the web server dies, and come back with it', async () => {
  await withLab(async (env) => {
    // One process name per router: both namespaces share the host's process table.
    const web1 = webServer(env, 'r1', 'kw-web-r1');
    webServer(env, 'r2', 'kw-web-r2');
    const r1 = env.router('r1', 'keepwatch', nginxConf('kw-web-r1', 150, 'MASTER'));
    const r2 = env.router('r2', 'keepwatch', nginxConf('kw-web-r2', 100, 'BACKUP'));
    r1.start();
    r2.start();
    await waitFor('r1 serves the VIP', () => r1.state === 'master' && r2.state === 'backup' && curlVip(env, VIP) === 'r1', 20_000, 200);
    await waitFor('r1 counts its web server', () => metric(env, 'r1', 'keepwatch_track_process_processes', { track_process: 'track_nginx' }) === 1, 5000, 200);
    assert.equal(metric(env, 'r1', 'keepwatch_track_process_quorum', { track_process: 'track_nginx' }), 1);
    assert.equal(metric(env, 'r1', 'keepwatch_vrrp_priority'), 150);

    const stoppedAt = Date.now();
    await web1.stop();
    await waitFor('r2 serves the VIP', () => r2.state === 'master' && curlVip(env, VIP) === 'r2', 10_000, 50);
    const movedMs = Date.now() - stoppedAt;
    assert.equal(metric(env, 'r1', 'keepwatch_track_process_quorum', { track_process: 'track_nginx' }), 0);
    assert.equal(metric(env, 'r1', 'keepwatch_vrrp_priority'), 90);
    assert.equal(metric(env, 'r1', 'keepwatch_track_weight', { vrrp_instance: 'nginx', tracker: 'process:track_nginx' }), -60);
    // A 500 ms poll + the 0.5 s terminate_delay + the election; generous for a busy machine.
    assert.ok(movedMs >= 500 && movedMs < 6000, `moved after ${movedMs} ms`);

    const startedAt = Date.now();
    webServer(env, 'r1', 'kw-web-r1');
    await waitFor('r1 serves the VIP again', () => r1.state === 'master' && curlVip(env, VIP) === 'r1', 10_000, 50);
    const backMs = Date.now() - startedAt;
    assert.equal(metric(env, 'r1', 'keepwatch_vrrp_priority'), 150);
    process.stdout.write(`# track_process: VIP moved ${movedMs} ms after the web server died, back ${backMs} ms after it started\n`);
  });
});

test('a notify FIFO reader gets every transition, in order, in keepalived\'s format', async () => {
  await withLab(async (env) => {
    const d = openDir(env, 'fifo');
    const fifo = join(d, 'keepwatch.fifo');
    const out = join(d, 'lines');
    const reader = join(d, 'reader.sh');
    // The reader keepalived's docs show: read lines until the writer goes away.
    writeFileSync(reader, `#!/bin/sh\n# $1 is the FIFO (added by the agent)\nid -u > ${out}.uid\nwhile read -r line; do echo "$line" >> ${out}; done < "$1"\n`, { mode: 0o755 });
    chmodSync(reader, 0o755);
    const r1 = env.router('r1', 'keepwatch', {
      globalExtra: [`notify_fifo ${fifo} nobody`, `notify_fifo_script ${reader} nobody`],
      instances: [fastInstance(150)],
    });
    await masterFaultMasterStop(env, r1);
    const expected = ['INSTANCE "VI_1" BACKUP 150', 'INSTANCE "VI_1" MASTER 150', 'INSTANCE "VI_1" FAULT 150', 'INSTANCE "VI_1" BACKUP 150', 'INSTANCE "VI_1" MASTER 150', 'INSTANCE "VI_1" STOP 150'];
    await waitFor('six lines', () => existsSync(out) && readFileSync(out, 'utf8').trim().split('\n').length >= expected.length, 5000);
    assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n'), expected);
    assert.equal(readFileSync(`${out}.uid`, 'utf8').trim(), '65534', 'the reader ran as nobody');
    assert.equal(existsSync(fifo), false, 'the FIFO the agent made is gone with it');
  });
});

test('`notify x.sh nobody` runs x.sh as nobody, without `nobody` as an argument', async () => {
  await withLab(async (env) => {
    const d = openDir(env, 'notify');
    const log = join(d, 'notify.log');
    const x = join(d, 'x.sh');
    writeFileSync(x, `#!/bin/sh\necho "uid=$(id -u) argc=$# args=$*" >> ${log}\n`, { mode: 0o755 });
    chmodSync(x, 0o755);
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150, { extra: [`notify ${x} nobody`, `notify_master "${x} master-only" nobody nogroup`] })] });
    r1.start();
    await waitFor('r1 master', () => r1.state === 'master', 10_000);
    await waitFor('three notify lines', () => existsSync(log) && readFileSync(log, 'utf8').trim().split('\n').length >= 3, 5000);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.deepEqual(lines.slice(0, 3), ['uid=65534 argc=4 args=INSTANCE VI_1 BACKUP 150', 'uid=65534 argc=1 args=master-only', 'uid=65534 argc=4 args=INSTANCE VI_1 MASTER 150']);
    assert.ok(statSync(log).uid === 65534, 'the log was written by nobody');
  });
});

test('a reload that deletes an instance: DELETED to the FIFO and notify_deleted runs; the kept one is written again (fifo_write_vrrp_states_on_reload)', async () => {
  await withLab(async (env) => {
    const d = openDir(env, 'reload');
    const fifo = join(d, 'vrrp.fifo');
    const out = join(d, 'lines');
    const reader = join(d, 'reader.sh');
    const gone = join(d, 'gone.sh');
    writeFileSync(reader, `#!/bin/sh\nwhile read -r line; do echo "$line" >> ${out}; done < "$1"\n`, { mode: 0o755 });
    writeFileSync(gone, `#!/bin/sh\necho "deleted uid=$(id -u) argc=$#" >> ${out}.deleted\n`, { mode: 0o755 });
    const vi1 = fastInstance(150, { name: 'VI_1', vrid: 51, extra: [`notify_deleted ${gone} nobody`] });
    const vi2 = fastInstance(150, { name: 'VI_2', vrid: 52, vips: ['10.251.0.102/24'] });
    const globalExtra = [`vrrp_notify_fifo ${fifo}`, `vrrp_notify_fifo_script ${reader}`, 'fifo_write_vrrp_states_on_reload'];
    const r1 = env.router('r1', 'keepwatch', { globalExtra, instances: [vi1, vi2] });
    r1.start();
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n') : []);
    await waitFor('both masters on the FIFO', () => lines().filter((l) => l.endsWith('MASTER 150')).length === 2, 10_000, 50);
    const before = lines().length;
    r1.config = { globalExtra, instances: [vi2] };
    r1.writeConfig();
    r1.proc!.kill('SIGHUP');
    await waitFor('DELETED and the states after the reload', () => lines().length >= before + 2, 10_000, 50);
    assert.deepEqual(lines().slice(before), ['INSTANCE "VI_1" DELETED 150', 'INSTANCE "VI_2" MASTER 150']);
    await waitFor('notify_deleted ran', () => existsSync(`${out}.deleted`), 5000, 50);
    assert.equal(readFileSync(`${out}.deleted`, 'utf8').trim(), 'deleted uid=65534 argc=0');
  });
});
