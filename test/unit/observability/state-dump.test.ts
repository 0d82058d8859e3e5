/**
 * The SIGUSR1/SIGUSR2 dumps: what the state dump shows of each instance, the statistics read
 * from a live metrics registry, and files written the safe way (0600, atomic, never through a
 * planted symlink, refused in a directory others can swap files in).
 */
import { FakeClock } from '../../fakes/clock.js';
import { AgentBus } from '../../../src/events/index.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DumpFileError, formatStateDump, formatStatsDump, writeDumpFile, STATE_DUMP_FILE, STATS_METRIC_NAMES, type StateDumpInput } from '../../../src/observability/state-dump.js';
import { AgentMetrics } from '../../../src/observability/metrics.js';
import { ElectionTracker } from '../../../src/observability/elections.js';
import { EventBus, type VrrpEvent, type StateChangedEvent } from '../../../src/events/index.js';
import type { HostEvent } from '../../../src/events/index.js';
import type { RouterSnapshot } from '../../../src/core/router.js';
import { vip } from '../../helpers/instances.js';

const WALL = Date.parse('2026-11-23T10:00:00.000Z');

const transition = (from: StateChangedEvent['from'], to: StateChangedEvent['to'], cause: StateChangedEvent['cause'], instance = 'VI_1'): StateChangedEvent => ({
  type: 'state-changed', instance, vrid: 51, interface: 'eth0', family: 'ipv4', version: 3, from, to, cause, atMs: 1000, wallMs: WALL - 5000, startedAtMs: 1000, priority: 150, basePriority: 150,
});

const master: RouterSnapshot = {
  name: 'VI_1', vrid: 51, interface: 'eth0', family: 'ipv4', version: 3, state: 'master', basePriority: 150, effectivePriority: 140,
  advertIntervalMs: 100, masterAdvertIntervalMs: 100, masterDownIntervalMs: 341.40625,
  master: { address: '10.0.0.1', priority: 140, advertIntervalMs: 100, self: true },
  vips: [vip('10.0.0.100/24'), vip('10.0.1.100/24', { device: 'eth1' })], faults: [],
  lastTransition: transition('backup', 'master', 'master-down-timer'),
};
const backup: RouterSnapshot = {
  name: 'VI_2', vrid: 52, interface: 'eth0', family: 'ipv4', version: 3, state: 'backup', basePriority: 100, effectivePriority: 100,
  advertIntervalMs: 100, masterAdvertIntervalMs: 200, masterDownIntervalMs: 721.875,
  master: { address: '10.0.0.2', priority: 200, advertIntervalMs: 200, self: false, lastAdvertAtMs: 9_950 },
  vips: [vip('10.0.0.102/24')], faults: ['script chk failed'], held: 'peer 10.0.0.2 holds it',
};

test('state dump: state, priorities, master, VIPs with their kernel presence, timers, faults, guard view', () => {
  const input: StateDumpInput = {
    version: '0.1.0', pid: 4242, configPath: '/etc/keepalived/keepalived.conf', startedAt: new Date(WALL - 3_600_000), nowMs: 10_000, wallMs: WALL,
    instances: [
      { snapshot: master, vips: [{ address: '10.0.0.100', interface: 'eth0', present: true }, { address: '10.0.1.100', interface: 'eth1', present: false }], guard: { guard: { conflict: false, held: null } } },
      { snapshot: backup, vips: [{ address: '10.0.0.102', interface: 'eth0', present: false }], guard: { guard: { conflict: true, held: 'peer 10.0.0.2 holds it' } } },
    ],
  };
  const d = formatStateDump(input);
  assert.equal(d.kind, 'keepwatch-state');
  assert.equal(d.time, '2026-11-23T10:00:00.000Z');
  assert.equal(d.uptimeS, 3600);
  assert.equal(d.pid, 4242);
  assert.deepEqual(d.instances[0], {
    name: 'VI_1', vrid: 51, interface: 'eth0', family: 'ipv4', version: 3, state: 'master',
    priority: { base: 150, effective: 140 },
    master: { address: '10.0.0.1', priority: 140, self: true, advertIntervalMs: 100 },
    vips: [{ address: '10.0.0.100', interface: 'eth0', present: true }, { address: '10.0.1.100', interface: 'eth1', present: false }],
    timers: { advertIntervalMs: 100, masterAdvertIntervalMs: 100, masterDownIntervalMs: 341.4 },
    faults: [], held: null,
    lastTransition: { from: 'backup', to: 'master', cause: 'master-down-timer', at: '2026-11-23T09:59:55.000Z' },
    guard: { conflict: false, held: null },
  });
  const b = d.instances[1]!;
  assert.deepEqual(b.master, { address: '10.0.0.2', priority: 200, self: false, advertIntervalMs: 200, lastAdvertAgoMs: 50 });
  assert.deepEqual(b.faults, ['script chk failed']);
  assert.equal(b.held, 'peer 10.0.0.2 holds it');
  assert.equal(b.lastTransition, null);
  // One JSON document (the log line and the file).
  assert.deepEqual(JSON.parse(JSON.stringify(d)), d);
});

test('stats dump: read from a live metrics registry, per instance and per drop reason', async () => {
  const core = new AgentBus();
  const metrics = new AgentMetrics({ routers: () => [], vipPresent: () => false, captureStats: () => new Map(), version: 'test' });
  metrics.subscribe(core, new ElectionTracker(core, new FakeClock()));
  const ref = { instance: 'VI_1', vrid: 51, interface: 'eth0', family: 'ipv4' as const, version: 3 as const };
  for (let i = 0; i < 7; i++) core.emit({ type: 'advert-sent', ...ref, priority: 150, atMs: i, destinations: ['224.0.0.18'] });
  core.emit({ type: 'advert-sent', ...ref, priority: 0, atMs: 8, destinations: ['224.0.0.18'] });
  for (let i = 0; i < 3; i++) core.emit({ type: 'advert-received', ...ref, source: '10.0.0.2', priority: 100, advertIntervalMs: 100, addressListMismatch: false, atMs: i, state: 'master' });
  for (let i = 0; i < 4; i++) core.emit({ type: 'advert-dropped', interface: 'eth0', reason: 'interval-invalid', source: '10.0.0.66', vrid: 51, instance: 'VI_1', atMs: i });
  core.emit({ type: 'advert-dropped', interface: 'eth0', reason: 'checksum-invalid', source: '10.0.0.66', vrid: 51, instance: 'VI_1', atMs: 5 });
  core.emit({ type: 'advert-dropped', interface: 'eth0', reason: 'vrid-not-configured', source: '10.0.0.66', vrid: 99, atMs: 5 });
  core.emit(transition('init', 'backup', 'startup'));
  core.emit(transition('backup', 'master', 'master-down-timer'));
  core.emit(transition('master', 'init', 'shutdown'));

  const d = formatStatsDump({
    version: 'test', pid: 1, wallMs: WALL,
    instances: [{ name: 'VI_1', vrid: 51, interface: 'eth0' }, { name: 'VI_9', vrid: 59, interface: 'eth0' }],
    metrics: await Promise.all(STATS_METRIC_NAMES.map((n) => metrics.registry.getSingleMetric(n)!.get())),
  });
  const s = d.instances[0]!;
  assert.deepEqual(s.adverts, { sent: 8, received: 3, dropped: 5, droppedByReason: { 'interval-invalid': 4, 'checksum-invalid': 1 }, priorityZeroSent: 1, priorityZeroReceived: 0, addressListMismatch: 0 });
  assert.equal(s.transitions.total, 3);
  assert.equal(s.transitions.becameMaster, 1);
  assert.equal(s.transitions.releasedMaster, 1);
  assert.deepEqual(s.transitions.list.find((t) => t.cause === 'master-down-timer'), { from: 'backup', to: 'master', cause: 'master-down-timer', count: 1 });
  // An instance with no traffic still has its line, with zeros.
  assert.equal(d.instances[1]!.adverts.sent, 0);
  assert.equal(d.instances[1]!.transitions.total, 0);
  assert.deepEqual(d.unattributedDrops, { eth0: { 'vrid-not-configured': 1 } });
});

test('dump files: 0600, replaced atomically, a planted symlink is replaced (its target untouched), unsafe directories refused', async () => {
  const base = mkdtempSync(join(tmpdir(), 'kw-dump-'));
  const oldUmask = process.umask(0);
  try {
    // A sticky world-writable directory, as /tmp.
    const shared = join(base, 'tmp');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const victim = join(base, 'etc-passwd-standin');
    writeFileSync(victim, 'root:x:0:0\n');
    chmodSync(victim, 0o644);
    symlinkSync(victim, join(shared, STATE_DUMP_FILE));
    const file = await writeDumpFile(shared, STATE_DUMP_FILE, '{"first":1}\n');
    assert.equal(file, join(shared, STATE_DUMP_FILE));
    assert.equal(readFileSync(victim, 'utf8'), 'root:x:0:0\n', 'the symlink target is untouched');
    const st = lstatSync(file);
    assert.ok(st.isFile(), 'the symlink itself was replaced by our file');
    assert.equal(st.mode & 0o777, 0o600, '0600 even with umask 0');
    await writeDumpFile(shared, STATE_DUMP_FILE, '{"second":2}\n');
    assert.equal(readFileSync(file, 'utf8'), '{"second":2}\n');
    assert.deepEqual(readdirSync(shared), [STATE_DUMP_FILE], 'no temporary file left behind');
    assert.equal(statSync(victim).mode & 0o777, 0o644);

    // Others may write there and nothing stops them from swapping names: refused.
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    await assert.rejects(writeDumpFile(open, STATE_DUMP_FILE, 'x'), (e: Error) => e instanceof DumpFileError && /mode 0777 .* without the sticky bit; refused/.test(e.message));
    assert.deepEqual(readdirSync(open), []);
    await assert.rejects(writeDumpFile(join(base, 'nope'), STATE_DUMP_FILE, 'x'), DumpFileError);
    // A directory planted at the target name: the write fails, the temp file is cleaned up.
    mkdirSync(join(shared, 'keepwatch.stats'));
    await assert.rejects(writeDumpFile(shared, 'keepwatch.stats', 'x'), DumpFileError);
    assert.deepEqual(readdirSync(shared).sort(), [STATE_DUMP_FILE, 'keepwatch.stats']);
  } finally {
    process.umask(oldUmask);
    rmSync(base, { recursive: true, force: true });
  }
});
