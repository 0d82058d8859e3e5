/**
 * Scripts and tracked files that misbehave, on real agents in namespaces (root only):
 * - `script_user` naming a user that does not exist: the agent refuses to start (exit 1, the
 *   place of the keyword in the message), and `keepwatch -t` rejects the config the same way —
 *   never "run every script as root" (the old `Number('') === 0`);
 * - a notify script that hangs while the instance goes through 50+ transitions: VRRP goes on
 *   (each link-up is followed by MASTER again, the backup takes over each time), at most one run
 *   and one waiting (every other transition is counted as coalesced), and when the hang ends only
 *   the latest state runs — no notify with a stale state;
 * - a `track_file` that is a FIFO: never opened, the agent keeps running, adverts continue (the
 *   backup never takes over), and the failure is logged and counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withLab, waitFor, metric, sleep, VIP } from './helpers.js';
import { CLI_PATH, renderConfig, type InstanceSpec } from '../../src/lab/routers.js';

const inst = (priority: number, extra: string[] = []): InstanceSpec => ({ priority, version: 3, advertInt: 0.1, vips: [`${VIP}/24`], garpMasterDelay: 1, garpMasterRepeat: 1, extra });

test('script_user naming an unknown user: the agent refuses to start, with the place; -t rejects it', async () => {
  await withLab(async (env) => {
    const user = `kwnouser${process.pid}`;
    const conf = renderConfig({ instances: [inst(150, ['notify_master /bin/true'])], globalExtra: [`script_user ${user}`] });
    const r1 = env.router('r1', 'keepwatch', conf);
    // Line 3, column 3: `  script_user ...` after `global_defs {` and `  router_id lab`.
    const where = `${r1.confPath}:3:3`;
    r1.writeConfig();
    const t = env.lab.exec('r1', process.execPath, [CLI_PATH, '-t', '-f', r1.confPath]);
    assert.equal(t.status, 1, t.stdout + t.stderr);
    assert.ok(t.stderr.includes(`${where}: error: script_user ${user}: no user '${user}' on this host`), t.stderr);
    const t0 = Date.now();
    r1.start();
    await waitFor('the agent exits', () => !r1.running, 15_000, 50);
    assert.equal(r1.proc!.exitCode, 1, 'exit status 1 (Restart=on-failure restarts it; systemd shows the failure)');
    assert.ok(
      r1.logLines.some((l) => l.includes(where) && l.includes(`no user '${user}'`)),
      `a line names ${where}:\n${r1.logLines.slice(-10).join('\n')}`,
    );
    assert.ok(Date.now() - t0 < 15_000);
    assert.equal(r1.transitions.length, 0, 'no instance ran');
    assert.deepEqual(env.lab.holders(VIP), [], 'no VIP taken');
  });
});

test('a hanging notify under 50+ transitions: VRRP goes on, 1 running + 1 waiting, only the latest state runs after the hang', async () => {
  await withLab(async (env) => {
    const log = join(env.dir, 'notify.log');
    const hold = join(env.dir, 'hold');
    const script = join(env.dir, 'notify.sh');
    // Logs its state, then hangs while the hold file exists (the hang "ends" when it goes).
    writeFileSync(script, `#!/bin/sh\necho "$3" >> ${log}\nwhile [ -e ${hold} ]; do sleep 0.05; done\n`, { mode: 0o755 });
    writeFileSync(hold, '');
    const r1 = env.router('r1', 'keepwatch', { instances: [inst(150, [`notify ${script}`])], globalExtra: ['script_user root'] });
    const r2 = env.router('r2', 'keepwatch', { instances: [inst(100)] });
    r2.start();
    await waitFor('r2 master', () => r2.state === 'master', 10_000);
    r1.start();
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
    await waitFor('the first notify is running (and hangs)', () => existsSync(log), 5000);

    // Flap r1's link: FAULT, BACKUP, MASTER per cycle while the first notify hangs.
    const startTransitions = r1.transitions.length;
    const takeoverMs: number[] = [];
    const backMs: number[] = [];
    for (let cycle = 0; r1.transitions.length - startTransitions < 50 && cycle < 40; cycle++) {
      env.lab.setLink('r1', false);
      takeoverMs.push(await waitFor('r1 fault, r2 master', () => r1.state === 'fault' && r2.state === 'master', 5000, 10));
      env.lab.setLink('r1', true);
      backMs.push(await waitFor('r1 master again', () => r1.state === 'master' && r2.state === 'backup', 5000, 10));
    }
    const total = r1.transitions.length; // since start: INIT->BACKUP, BACKUP->MASTER, then the flaps
    assert.ok(total - startTransitions >= 50, `${total - startTransitions} transitions`);
    assert.ok(Math.max(...takeoverMs) < 2000, `r2 took over in ${Math.max(...takeoverMs)} ms at worst`);
    assert.ok(Math.max(...backMs) < 3000, `r1 came back in ${Math.max(...backMs)} ms at worst`);
    assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 1, 'still the first run only');

    // Bounded: of all transitions, one runs, one waits, the rest are coalesced.
    await waitFor('coalesced counted', () => metric(env, 'r1', 'keepwatch_notify_runs_total', { result: 'coalesced' }) === total - 2, 5000, 100);
    assert.equal(metric(env, 'r1', 'keepwatch_notify_runs_total', { result: 'ok' }), 0);

    // The hang ends: the waiting notify (the latest state, MASTER) runs, and nothing after it.
    const releasedAt = Date.now();
    rmSync(hold);
    await waitFor('two notifies ran', () => readFileSync(log, 'utf8').trim().split('\n').length >= 2, 5000, 20);
    const ranAfterMs = Date.now() - releasedAt;
    await waitFor('both counted ok', () => metric(env, 'r1', 'keepwatch_notify_runs_total', { result: 'ok' }) === 2, 5000, 100);
    await sleep(1000);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['BACKUP', 'MASTER'], 'no stale state ran');
    assert.equal(r1.state, 'master');
    assert.deepEqual(env.lab.holders(VIP), ['r1'], 'one holder');
    process.stderr.write(`    hanging notify: ${total - startTransitions} flap transitions, ${total - 2} coalesced, r2 takeover max ${Math.max(...takeoverMs)} ms, r1 back max ${Math.max(...backMs)} ms, latest notify ran ${ranAfterMs} ms after the hang ended\n`);
  });
});

test('a FIFO as track_file: never opened, the agent keeps running, adverts continue, the failure is counted', async () => {
  await withLab(async (env) => {
    const fifo = join(env.dir, 'maint.fifo');
    execFileSync('mkfifo', [fifo]);
    const trackFile = [`vrrp_track_file maint {`, `    file ${fifo}`, `    weight -100`, `}`, ``].join('\n');
    const r1 = env.router('r1', 'keepwatch', trackFile + renderConfig({ instances: [inst(150, ['track_file {', '    maint', '}'])] }));
    const r2 = env.router('r2', 'keepwatch', { instances: [inst(100)] });
    r1.writeConfig();
    const t = env.lab.exec('r1', process.execPath, [CLI_PATH, '-t', '-f', r1.confPath]);
    assert.equal(t.status, 5, `warnings only: exit 5, as keepalived -t\n${t.stderr}`);
    assert.match(t.stderr, /warning: vrrp_track_file maint: '.*maint\.fifo' is not a regular file; it will not be opened and counts as 0/);
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
    const sent0 = metric(env, 'r1', 'keepwatch_vrrp_adverts_sent_total');
    const failures0 = metric(env, 'r1', 'keepwatch_track_file_read_failures_total', { reason: 'not-regular' });
    const t0 = Date.now();
    await sleep(4000);
    const sent = metric(env, 'r1', 'keepwatch_vrrp_adverts_sent_total') - sent0;
    const seconds = (Date.now() - t0) / 1000;
    const failures = metric(env, 'r1', 'keepwatch_track_file_read_failures_total', { reason: 'not-regular' });
    assert.ok(r1.running, 'the agent runs');
    assert.ok(sent >= 8 * seconds, `${sent} adverts in ${seconds.toFixed(1)} s at advert_int 0.1`);
    assert.ok(failures - failures0 >= 3, `track_file failures counted: ${failures0} -> ${failures}`);
    assert.equal(metric(env, 'r1', 'keepwatch_vrrp_priority'), 150, 'a refused file weighs 0');
    assert.deepEqual([r1.state, r2.state], ['master', 'backup'], 'no takeover: no stall');
    assert.equal(r1.transitions.filter((x) => x.to === 'master').length, 1, 'r1 stayed master');
    assert.ok(r1.logLines.some((l) => l.includes('file:maint') && l.includes('is not a regular file (a FIFO)')), 'the refusal is logged');
  });
});
