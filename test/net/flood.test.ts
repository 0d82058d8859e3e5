/**
 * A flood of invalid adverts from a third namespace (root only): thousands per second for a few
 * seconds, every kind of invalid (each a priority-254 takeover attempt if it were accepted). No
 * takeover, the master's adverts keep flowing, drops are counted by reason, the log is
 * rate-limited. keepalived's backup takes the VIP under such floods (bench/timing.ts measures it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, keepwatchPair, metric, sleep, VIP, type NetEnv } from './helpers.js';
import { CLI_PATH } from '../../src/lab/routers.js';

const RATE = Number(process.env.KW_FLOOD_RATE) || 4000;
const SECONDS = Number(process.env.KW_FLOOD_SECONDS) || 6;


test(`${RATE} invalid adverts/s for ${SECONDS} s: no takeover, adverts keep flowing, drops counted by reason, log rate-limited`, async () => {
  await withLab(async (env) => {
    const [r1, r2] = await keepwatchPair(env, 0.1);
    const before = { t1: r1.transitions.length, t2: r2.transitions.length, received: metric(env, 'r2', 'keepwatch_vrrp_adverts_received_total'), lines: r2.logLines.length };
    // VRRPv3 at 0.1 s: a stall of 0.36 s in r2 would be a false takeover.
    const f = env.lab.exec('client', process.execPath, [CLI_PATH, 'flood', '--source', '10.251.0.10', '--vrid', '51', '--vip', VIP, '--version', '3', '--rate', String(RATE), '--seconds', String(SECONDS)]);
    assert.equal(f.status, 0, f.stderr);
    const { sent } = JSON.parse(f.stdout) as { sent: number };
    assert.ok(sent >= RATE * SECONDS * 0.8, `the flood sent ${sent} packets`);
    await sleep(500);
    assert.equal(r1.transitions.length, before.t1, 'the master never moved');
    assert.equal(r2.transitions.length, before.t2, 'the backup never took over');
    assert.equal(r1.state, 'master');
    assert.deepEqual(env.lab.holders(VIP), ['r1']);
    const received = metric(env, 'r2', 'keepwatch_vrrp_adverts_received_total') - before.received;
    assert.ok(received >= (SECONDS / 0.1) * 0.9, `the backup kept receiving the master's adverts: ${received} in ${SECONDS} s`);
    for (const reason of ['ttl-not-255', 'checksum-invalid', 'version-invalid', 'type-invalid', 'vrid-not-configured', 'version-mismatch']) {
      assert.ok(metric(env, 'r2', 'keepwatch_vrrp_adverts_dropped_total', { reason }) >= (sent / 6) * 0.8, `${reason} counted on the backup`);
    }
    const logLines = r2.logLines.slice(before.lines).filter((l) => l.includes('"event":"advert-dropped"')).length;
    assert.ok(logLines <= 6 * (1 + Math.ceil(SECONDS / 10)), `${logLines} drop log lines for ${sent} drops: rate-limited`);
    const lag = metric(env, 'r2', 'nodejs_eventloop_lag_p99_seconds');
    process.stdout.write(`flood: ${sent} packets in ${SECONDS} s; backup received ${received} master adverts; ${logLines} log lines; event-loop lag p99 ${(lag * 1000).toFixed(1)} ms\n`);
  });
});
