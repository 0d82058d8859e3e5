/**
 * Hitless reload on real agents (root only): a VRRPv3 0.1 s pair, SIGHUP on both with a VIP added
 * (the master first, then the backup), the VIPs sampled every 20 ms throughout: the original VIP
 * is never missing on the master and never on the backup, the new one appears on the master only,
 * and nobody changes state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLab, waitFor, sleep, fastInstance, hears, VIP } from './helpers.js';

const VIP2 = '10.251.0.101';

test('SIGHUP adding a VIP to a running pair: zero samples without the VIP on the master, zero with it on the backup, no transition', async () => {
  await withLab(async (env) => {
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)] });
    const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance(100)] });
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 hears it', () => r1.state === 'master' && r2.state === 'backup' && hears(env, 'r2', '10.251.0.1'), 15_000, 100);
    await sleep(1000);
    const before = r1.transitions.length + r2.transitions.length;
    let samples = 0;
    let missingOnMaster = 0;
    let onBackup = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const r1Addrs = env.lab.addresses('r1');
        const r2Addrs = env.lab.addresses('r2');
        samples++;
        if (!r1Addrs.includes(VIP)) missingOnMaster++;
        if (r2Addrs.includes(VIP) || r2Addrs.includes(VIP2)) onBackup++;
        await sleep(20);
      }
    })();
    await sleep(500);
    for (const r of [r1, r2]) {
      r.config = { instances: [fastInstance(r === r1 ? 150 : 100, { vips: [`${VIP}/24`, `${VIP2}/24`] })] };
      r.writeConfig();
      r.proc!.kill('SIGHUP');
      await waitFor(`${r.host} reloaded`, () => r.logLines.some((l) => l.includes('"event":"reload"') && l.includes('"result":"success"')), 5000, 20);
      await sleep(300);
    }
    await waitFor('the new VIP on the master', () => env.lab.addresses('r1').includes(VIP2), 3000, 20);
    await sleep(1000);
    sampling = false;
    await sampler;
    const reloadLine = r1.logLines.find((l) => l.includes('"event":"reload"') && l.includes('"result":"success"')) ?? '';
    process.stdout.write(`reload: ${samples} samples, VIP missing on the master in ${missingOnMaster}, a VIP on the backup in ${onBackup}\n`);
    assert.ok(samples >= 20, `${samples} samples`);
    assert.equal(missingOnMaster, 0, 'the VIP never missing on the master');
    assert.equal(onBackup, 0, 'never a VIP on the backup');
    assert.equal(r1.transitions.length + r2.transitions.length, before, 'no transition');
    assert.match(reloadLine, /"reconfigured":\["VI_1"\]/, 'changed in place, not restarted');
  });
});
