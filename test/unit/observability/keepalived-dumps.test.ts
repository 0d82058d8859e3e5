/**
 * keepalived's dump files as keepwatch writes them (issue 15 point 3): the paths keepalived
 * computes (tmp dir, state_dump_file & co., data_use_instance), keepalived.data's lines,
 * keepalived.stats' counters from keepwatch's drop reasons, and keepalived.json's layout (2.2.7
 * vrrp_json.c) without the password.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatKeepalivedData,
  formatKeepalivedJson,
  formatKeepalivedStats,
  keepalivedDumpPath,
  type KeepalivedInstanceView,
  type StatsDump,
  type StateDumpInput,
} from '../../../src/observability/state-dump.js';
import type { RouterSnapshot } from '../../../src/core/router.js';
import { vip } from '../../helpers/instances.js';

test('dump paths: keepalived tmp dir, state_dump_file as a directory, a name or a path; data_use_instance on the data file only', () => {
  const s = { dir: '/tmp' };
  assert.equal(keepalivedDumpPath('data', s), '/tmp/keepalived.data');
  assert.equal(keepalivedDumpPath('stats', s), '/tmp/keepalived.stats');
  assert.equal(keepalivedDumpPath('json', { dir: '/var/tmp/' }), '/var/tmp/keepalived.json');
  assert.equal(keepalivedDumpPath('data', { dir: '/tmp', stateDumpFile: '/run/ka/' }), '/run/ka/keepalived.data');
  assert.equal(keepalivedDumpPath('data', { dir: '/tmp', stateDumpFile: '/run/ka/state.txt' }), '/run/ka/state.txt');
  assert.equal(keepalivedDumpPath('data', { dir: '/tmp', stateDumpFile: 'state.txt' }), '/tmp/state.txt', 'no leading /: in the tmp dir');
  assert.equal(keepalivedDumpPath('json', { dir: '/tmp', jsonDumpFile: '/srv/k.json' }), '/srv/k.json');
  const inst = { dir: '/tmp', dataUseInstance: true, instanceName: 'edge', netNamespace: 'blue' };
  assert.equal(keepalivedDumpPath('data', inst), '/tmp/keepalived.blue_edge.data');
  assert.equal(keepalivedDumpPath('data', { ...inst, netNamespace: undefined }), '/tmp/keepalived.edge.data');
  assert.equal(keepalivedDumpPath('stats', inst), '/tmp/keepalived.stats');
  assert.equal(keepalivedDumpPath('data', { dir: '/tmp', dataUseInstance: true }), '/tmp/keepalived.data', 'no instance, no namespace: the plain name');
});

const WALL = Date.parse('2026-11-30T10:00:00.000Z');
const backup: RouterSnapshot = {
  name: 'VI_2', vrid: 52, interface: 'eth0', family: 'ipv4', version: 3, state: 'backup', basePriority: 100, effectivePriority: 90,
  advertIntervalMs: 1000, masterAdvertIntervalMs: 1000, masterDownIntervalMs: 3609.375,
  master: { address: '10.0.0.2', priority: 200, advertIntervalMs: 1000, self: false, lastAdvertAtMs: 9_950 },
  vips: [vip('10.0.0.102/24')], faults: [],
};
const input: StateDumpInput = {
  version: '0.1.0', pid: 4242, configPath: '/etc/keepalived/keepalived.conf', startedAt: new Date(WALL - 60_000), nowMs: 10_000, wallMs: WALL,
  instances: [{ snapshot: backup, vips: [{ address: '10.0.0.102', interface: 'eth0', present: false }], guard: {} }],
};
const view: KeepalivedInstanceView = {
  syncGroup: 'G', unicastPeers: [], mcastGroup: '224.0.0.18', garpDelayMs: 5000, garpRepeat: 5, garpRefreshMs: 0, garpRefreshRepeat: 1,
  garpLowerPrioDelayMs: 5000, garpLowerPrioRepeat: 5, lowerPrioNoAdvert: false, higherPrioSendAdvert: false, accept: true, nopreempt: true,
  preemptDelayMs: 0, strict: false, skipCheckAdvAddr: false, dontTrackPrimary: false, promoteSecondaries: false, smtpAlert: false, notifyDeleted: false,
  scripts: { script_master: '/bin/m.sh' }, excludedVips: [], virtualRoutes: [], virtualRules: [], trackInterfaces: ['eth1'], trackScripts: ['/bin/chk'], authType: 1,
};
const views = new Map([['VI_2', view]]);
const stats: StatsDump = {
  kind: 'keepwatch-stats', time: '', version: '0.1.0', pid: 4242, unattributedDrops: {},
  instances: [{
    name: 'VI_2', vrid: 52, interface: 'eth0',
    adverts: { sent: 3, received: 40, dropped: 9, droppedByReason: { 'ttl-not-255': 2, 'length-invalid': 1, 'auth-mismatch': 4, 'interval-mismatch': 2 }, priorityZeroSent: 0, priorityZeroReceived: 1, addressListMismatch: 5 },
    transitions: { total: 3, becameMaster: 1, releasedMaster: 1, list: [] },
    garpSent: 5, sendErrors: 0,
  }],
};

test("keepalived.data: keepalived's VRRP Topology lines for a backup", () => {
  const text = formatKeepalivedData(input, views);
  for (const line of [
    '------< VRRP Topology >------',
    ' VRRP Instance = VI_2',
    '   VRRP Version = 3',
    '   Sync group = G',
    '   State = BACKUP',
    '   Master router = 10.0.0.2',
    '   Master priority = 200',
    '   Master advert int = 1.00 sec',
    '   Wantstate = BACKUP',
    '   Master down timer = 3609375 usecs',
    '   Interface = eth0',
    '   Multicast address 224.0.0.18',
    '   Gratuitous ARP delay = 5',
    '   Virtual Router ID = 52',
    '   Priority = 100',
    '   Effective priority = 90',
    '   Advert interval = 1000 milli-sec',
    '   Preempt = disabled',
    '   Authentication type = SIMPLE_PASSWORD',
    '   Virtual IP (1):',
    '     10.0.0.102 dev eth0 (not set)',
    '   Tracked interfaces :',
    '     eth1',
    '   script_master = /bin/m.sh',
    '------< VRRP Sync groups >------',
    ' VRRP Sync Group = G, BACKUP',
    '   Num member fault 0, num member init 0',
    '   VRRP member instances :',
    '     VI_2',
  ]) {
    assert.ok(text.split('\n').includes(line), `missing line ${JSON.stringify(line)} in\n${text}`);
  }
});

test("keepalived.stats: keepalived's counters, the packet and authentication errors from keepwatch's drop reasons", () => {
  assert.equal(
    formatKeepalivedStats(stats),
    [
      'VRRP Instance: VI_2', '  Advertisements:', '    Received: 40', '    Sent: 3', '  Became master: 1', '  Released master: 1',
      '  Packet Errors:', '    Length: 1', '    TTL: 2', '    Invalid Type: 0', '    Advertisement Interval: 2', '    Address List: 5',
      '  Authentication Errors:', '    Invalid Type: 0', '    Type Mismatch: 0', '    Failure: 4',
      '  Priority Zero:', '    Received: 1', '    Sent: 0', '',
    ].join('\n'),
  );
});

test("keepalived.json: 2.2.7's layout, keepalived's state numbers, no auth_data", () => {
  const [j] = formatKeepalivedJson(input, views, stats) as { data: Record<string, unknown>; stats: Record<string, number> }[];
  assert.ok(j);
  assert.deepEqual(
    [j.data.iname, j.data.state, j.data.wantstate, j.data.vrid, j.data.base_priority, j.data.effective_priority, j.data.master_priority, j.data.adver_int, j.data.nopreempt, j.data.auth_type, j.data.script_master],
    ['VI_2', 1, 1, 52, 100, 90, 200, 1, true, 1, '/bin/m.sh'],
  );
  assert.deepEqual(j.data.vips, ['10.0.0.102 dev eth0 scope global']);
  assert.deepEqual(j.data.track_script, ['/bin/chk']);
  assert.equal('auth_data' in j.data, false);
  assert.deepEqual(j.stats, {
    advert_rcvd: 40, advert_sent: 3, become_master: 1, release_master: 1, packet_len_err: 1, advert_interval_err: 2, ip_ttl_err: 2,
    invalid_type_rcvd: 0, addr_list_err: 5, invalid_authtype: 0, authtype_mismatch: 0, auth_failure: 4, pri_zero_rcvd: 1, pri_zero_sent: 0,
  });
});
