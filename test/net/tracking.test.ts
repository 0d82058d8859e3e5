/**
 * Tracking and notifications on real agents (root only): the source documents' nginx pair and
 * dual-master pair running their keepalived.conf files unchanged (scripts placed at
 * /etc/keepalived/... inside the router namespaces), notify arguments and order, a hanging check
 * killed at its timeout, mail alerts to a local SMTP sink, and a sync group moving together.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withLab, waitFor, metric, sleep, fastInstance, masterFaultMasterStop, VIP, type NetEnv } from './helpers.js';
import { CLI_PATH } from '../../src/lab/routers.js';

const SEEDS = fileURLToPath(new URL('../fixtures/seed-configs/', import.meta.url));
const SMTP_SINK = fileURLToPath(new URL('./smtp-sink.mjs', import.meta.url));
const seed = (name: string) => readFileSync(join(SEEDS, name), 'utf8');

/** A stand-in for nginx: answers every request with the host's name. */
function webServer(env: NetEnv, host: string): { stop(): Promise<void> } {
  const p = env.lab.spawn(host, process.execPath, ['-e', `require('http').createServer((q, s) => s.end('${host}\\n')).listen(80)`]);
  return {
    stop: () =>
      new Promise((r) => {
        p.once('exit', () => r());
        p.kill('SIGKILL');
      }),
  };
}

function curlVip(env: NetEnv, vip: string): string {
  return env.lab.exec('client', 'curl', ['-s', '-m', '1', `http://${vip}/`]).stdout.trim();
}


test("the source documents' nginx pair (seed 004), unchanged: a failing chk_nginx moves the VIP and the service, and back", async () => {
  await withLab(async (env) => {
    const check = '#!/bin/sh\n# chk_nginx: is the local web server answering?\nexec curl -sf -m 1 -o /dev/null http://127.0.0.1/\n';
    const notify = (state: string) => `#!/bin/sh\necho "${state} $(date +%s.%N)" >> /etc/keepalived/notify.log\n`;
    for (const h of ['r1', 'r2']) {
      env.lab.writeEtc(h, 'keepalived/check_nginx.sh', check);
      env.lab.writeEtc(h, 'keepalived/master.sh', notify('master'));
      env.lab.writeEtc(h, 'keepalived/backup.sh', notify('backup'));
    }
    env.lab.exec('client', 'ip', ['route', 'add', '192.168.5.18/32', 'dev', 'eth0']);
    const web1 = webServer(env, 'r1');
    webServer(env, 'r2');
    const r1 = env.router('r1', 'keepwatch', seed('004-nginx-master.conf'));
    const r2 = env.router('r2', 'keepwatch', seed('004-nginx-backup.conf'));
    r1.start();
    r2.start();
    await waitFor('r1 serves the VIP', () => r1.state === 'master' && r2.state === 'backup' && curlVip(env, '192.168.5.18') === 'r1', 20_000, 200);
    await waitFor('chk_nginx ok on r1', () => metric(env, 'r1', 'keepwatch_script_status', { script: 'chk_nginx' }) === 1 && metric(env, 'r1', 'keepwatch_script_runs_total', { script: 'chk_nginx', result: 'ok' }) >= 2, 10_000, 200);

    // nginx dies on the master: after fall (3) checks at interval 2 s, priority 100-5 = 95 < 99.
    const stoppedAt = Date.now();
    await web1.stop();
    await waitFor('r2 serves the VIP', () => r2.state === 'master' && curlVip(env, '192.168.5.18') === 'r2', 20_000, 200);
    const movedMs = Date.now() - stoppedAt;
    assert.equal(metric(env, 'r1', 'keepwatch_script_status', { script: 'chk_nginx' }), 0);
    assert.equal(metric(env, 'r1', 'keepwatch_vrrp_priority'), 95);
    assert.equal(metric(env, 'r1', 'keepwatch_track_weight', { vrrp_instance: 'nginx', tracker: 'script:chk_nginx' }), -5);
    assert.ok(movedMs > 4000, `moved after ${movedMs} ms: not before fall x interval`);

    // nginx is back: after rise (2) checks the priority is 100 again and r1 preempts.
    webServer(env, 'r1');
    await waitFor('r1 serves the VIP again', () => r1.state === 'master' && curlVip(env, '192.168.5.18') === 'r1', 20_000, 200);
    assert.equal(metric(env, 'r1', 'keepwatch_vrrp_priority'), 100);
    // notify_master / notify_backup ran, in order, on each side.
    await waitFor('notify logs', () => existsSync(`/etc/netns/${env.lab.host('r2').ns}/keepalived/notify.log`), 3000);
    const log2 = readFileSync(`/etc/netns/${env.lab.host('r2').ns}/keepalived/notify.log`, 'utf8').trim().split('\n').map((l) => l.split(' ')[0]);
    assert.deepEqual(log2.slice(-2), ['master', 'backup']);
  });
});

test('dual master (seed 001 lb01/lb02), unchanged: each node masters one VIP; one down, the other holds both; back, each its own', async () => {
  await withLab(async (env) => {
    const lb01 = env.router('r1', 'keepwatch', seed('001-lb01-dual-master.conf'));
    const lb02 = env.router('r2', 'keepwatch', seed('001-lb02-dual-master.conf'));
    lb01.start();
    lb02.start();
    const settled = () => env.lab.holders('10.0.0.3').join() === 'r1' && env.lab.holders('10.0.0.4').join() === 'r2';
    await waitFor('each its own VIP', settled, 20_000, 200);
    assert.ok(env.lab.exec('r1', 'ip', ['addr', 'show', 'dev', 'eth0']).stdout.includes('eth0:1'), 'label eth0:1 applied');
    await lb02.signal('SIGTERM');
    await waitFor('lb01 holds both', () => env.lab.holders('10.0.0.3').join() === 'r1' && env.lab.holders('10.0.0.4').join() === 'r1', 10_000, 100);
    lb02.start();
    await waitFor('each its own again', settled, 20_000, 200);
  });
});

test("notify scripts: every transition, in order, with keepalived's arguments", async () => {
  await withLab(async (env) => {
    const log = join(env.dir, 'notify.log');
    const script = join(env.dir, 'notify.sh');
    writeFileSync(script, `#!/bin/sh\necho "$*" >> ${log}\n`, { mode: 0o755 });
    const extra = [`notify_master "${script} specific-master"`, `notify_backup "${script} specific-backup"`, `notify_fault "${script} specific-fault"`, `notify_stop "${script} specific-stop"`, `notify ${script}`];
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150, { extra })] });
    await masterFaultMasterStop(env, r1);
    await waitFor('7 transitions x 2 lines', () => existsSync(log) && readFileSync(log, 'utf8').trim().split('\n').length >= 10, 5000);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.deepEqual(lines, [
      'specific-backup',
      'INSTANCE VI_1 BACKUP 150',
      'specific-master',
      'INSTANCE VI_1 MASTER 150',
      'specific-fault',
      'INSTANCE VI_1 FAULT 150',
      'specific-backup',
      'INSTANCE VI_1 BACKUP 150',
      'specific-master',
      'INSTANCE VI_1 MASTER 150',
      'specific-stop',
      'INSTANCE VI_1 STOP 150',
    ].slice(0, lines.length));
    assert.ok(lines.length >= 10);
  });
});

test('a hanging check script is killed at its timeout and counted; a missing one is reported at config-test time', async () => {
  await withLab(async (env) => {
    const hang = join(env.dir, 'hang.sh');
    writeFileSync(hang, '#!/bin/sh\nsleep 30\n', { mode: 0o755 });
    const conf = `vrrp_script hang {\n    script "${hang}"\n    interval 1\n    timeout 1\n    weight -20\n}\nvrrp_script gone {\n    script "/nonexistent/check.sh"\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    advert_int 1\n    virtual_ipaddress {\n        ${VIP}/24\n    }\n    track_script {\n        hang\n        gone\n    }\n}\n`;
    const t = env.lab.exec('r1', process.execPath, [CLI_PATH, '-t', '-f', '/dev/stdin'], conf);
    assert.equal(t.status, 5, `warnings only: exit 5, as keepalived -t\n${t.stderr}${t.stdout}`);
    assert.match(t.stderr, /\/dev\/stdin:8:12: warning: vrrp_script gone: '\/nonexistent\/check\.sh' does not exist; it will not be run or tracked/);
    const r1 = env.router('r1', 'keepwatch', conf);
    r1.start();
    await waitFor('two timeouts counted', () => metric(env, 'r1', 'keepwatch_script_runs_total', { script: 'hang', result: 'timeout' }) >= 2, 10_000, 250);
    await waitFor('the failing check lowers the priority', () => metric(env, 'r1', 'keepwatch_vrrp_priority') === 130, 5000, 250);
    const sleeps = env.lab.exec('r1', 'sh', ['-c', "ps -eo pid,stat,args | grep '[s]leep 30' | wc -l"]).stdout.trim();
    assert.ok(Number(sleeps) <= 1, `hung scripts are killed, not piling up (${sleeps} left)`);
    // Zombies among the agent's children (ps sees the whole machine: filter by parent).
    const zombies = env.lab.exec('r1', 'sh', ['-c', `ps -eo ppid=,stat= | awk '$1 == ${r1.proc!.pid} && $2 ~ /^Z/' | wc -l`]).stdout.trim();
    assert.equal(zombies, '0', 'no zombies');
    assert.equal(metric(env, 'r1', 'keepwatch_script_status', { script: 'gone' }), 0, 'the missing script shows as not ok');
  });
});

test('mail alerts: one message per transition to a local SMTP server; an unreachable one does not delay a failover', async () => {
  await withLab(async (env) => {
    const mails = join(env.dir, 'mails.jsonl');
    writeFileSync(mails, '');
    env.lab.spawn('client', process.execPath, [SMTP_SINK, '2525', mails]);
    const mail = (server: string) => ['notification_email {', '    ops@example.test', '}', 'notification_email_from keepwatch@example.test', `smtp_server ${server}`, 'smtp_connect_timeout 3', 'smtp_alert'];
    const r1 = env.router('r1', 'keepwatch', { routerId: 'node1', globalExtra: mail('10.251.0.10 2525'), instances: [fastInstance(150)] });
    const r2 = env.router('r2', 'keepwatch', { routerId: 'node2', globalExtra: mail('10.251.0.99 2525'), instances: [fastInstance(100)] });
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
    await waitFor('two mails from r1 (BACKUP, MASTER)', () => readFileSync(mails, 'utf8').trim().split('\n').filter(Boolean).length >= 2, 5000);
    const subjects = readFileSync(mails, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { body: string }).body.match(/^Subject: (.*)$/m)?.[1]);
    assert.deepEqual(subjects, ['[node1] VRRP Instance VI_1 - Entering BACKUP state', '[node1] VRRP Instance VI_1 - Entering MASTER state']);
    // r2's SMTP server does not answer; r2 still takes over at once on SIGTERM of r1.
    const t0 = Date.now();
    await r1.signal('SIGTERM');
    await waitFor('r2 master', () => r2.state === 'master' && env.lab.holders(VIP).includes('r2'), 5000, 20);
    assert.ok(Date.now() - t0 < 2000, `takeover took ${Date.now() - t0} ms`);
    await waitFor('the failed mails are counted', () => metric(env, 'r2', 'keepwatch_mail_sends_total', { result: 'failed' }) >= 1, 10_000, 250);
  });
});

test('a sync group: failing one member’s tracked interface moves both members', async () => {
  await withLab(async (env) => {
    // A second link to track (a veth pair inside the namespace: no dummy module needed).
    for (const h of ['r1', 'r2']) {
      env.lab.exec(h, 'ip', ['link', 'add', 'dummy0', 'type', 'veth', 'peer', 'name', 'dummy1']);
      env.lab.exec(h, 'ip', ['link', 'set', 'dummy1', 'up']);
      env.lab.exec(h, 'ip', ['link', 'set', 'dummy0', 'up']);
    }
    const group = (p: number, track: boolean) =>
      [
        'vrrp_sync_group G1 {',
        '    group {',
        '        VI_1',
        '        VI_2',
        '    }',
        '}',
        ...[
          ['VI_1', 51, '10.251.0.101/24'],
          ['VI_2', 52, '10.251.0.102/24'],
        ].flatMap(([n, vrid, vip]) => [
          `vrrp_instance ${n} {`,
          '    interface eth0',
          `    virtual_router_id ${vrid}`,
          `    priority ${p}`,
          '    version 3',
          '    advert_int 0.1',
          ...(track && n === 'VI_1' ? ['    track_interface {', '        dummy0', '    }'] : []),
          '    virtual_ipaddress {',
          `        ${vip}`,
          '    }',
          '}',
        ]),
        '',
      ].join('\n');
    const r1 = env.router('r1', 'keepwatch', group(150, true));
    const r2 = env.router('r2', 'keepwatch', group(100, false));
    r1.start();
    r2.start();
    await waitFor('r1 holds both', () => env.lab.holders('10.251.0.101').join() === 'r1' && env.lab.holders('10.251.0.102').join() === 'r1', 10_000, 100);
    env.lab.exec('r1', 'ip', ['link', 'set', 'dummy0', 'down']);
    await waitFor('r2 holds both', () => env.lab.holders('10.251.0.101').join() === 'r2' && env.lab.holders('10.251.0.102').join() === 'r2', 5000, 50);
    assert.ok(r1.logLines.some((l) => l.includes('vrrp_sync_group G1: VI_1 is FAULT')), 'VI_2 followed VI_1 into FAULT');
    env.lab.exec('r1', 'ip', ['link', 'set', 'dummy0', 'up']);
    await waitFor('r1 holds both again', () => env.lab.holders('10.251.0.101').join() === 'r1' && env.lab.holders('10.251.0.102').join() === 'r1', 10_000, 100);
    await sleep(200);
  });
});
