/**
 * track_bfd weights (src/bfd/track.ts), keepalived's table (vrrp_track.c
 * initialise_track_bfd_state, vrrp_scheduler.c vrrp_handle_bfd_event), and the group rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import { bfdTrackEffect, trackedBfd } from '../../../src/bfd/track.js';

const eff = (weight: number, reverse: boolean, up: boolean) => {
  const e = bfdTrackEffect([{ name: 'gw', weight, reverse }], () => up);
  return { offset: e.offset, fault: e.faults.has('bfd:gw') };
};

test('weights: 0 faults while down (reverse: while up); +w added while up; -w subtracted while down; reverse flips', () => {
  assert.deepEqual(eff(0, false, false), { offset: 0, fault: true });
  assert.deepEqual(eff(0, false, true), { offset: 0, fault: false });
  assert.deepEqual(eff(0, true, true), { offset: 0, fault: true });
  assert.deepEqual(eff(0, true, false), { offset: 0, fault: false });
  assert.deepEqual(eff(10, false, true), { offset: 10, fault: false });
  assert.deepEqual(eff(10, false, false), { offset: 0, fault: false });
  assert.deepEqual(eff(-10, false, false), { offset: -10, fault: false });
  assert.deepEqual(eff(-10, false, true), { offset: 0, fault: false });
  assert.deepEqual(eff(10, true, true), { offset: -10, fault: false });
  assert.deepEqual(eff(-10, true, false), { offset: 10, fault: false });
});

test('references: the instance weight, else the bfd_instance weight; a group entry applies to members, weight 0 with an owner', () => {
  const text = `bfd_instance a {\n  neighbor_ip 10.0.0.1\n  weight 7 reverse\n}\nbfd_instance b {\n  neighbor_ip 10.0.0.2\n}\n
vrrp_instance V {\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  virtual_ipaddress {\n    10.0.0.100/24\n  }\n  track_bfd {\n    a\n    b weight 0\n  }\n}
vrrp_instance O {\n  interface eth0\n  virtual_router_id 52\n  priority 255\n  virtual_ipaddress {\n    10.0.0.101/24\n  }\n}
vrrp_sync_group G {\n  group {\n    V\n    O\n  }\n  track_bfd {\n    b weight 20\n  }\n}\n`;
  const r = parseConfigText(text, 't.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  const c = r.config;
  const v = trackedBfd(c.instances.find((i) => i.name === 'V')!, c);
  assert.deepEqual(v.map((x) => [x.name, x.weight, x.reverse]), [['a', 7, true], ['b', 0, false]], "V keeps its own weight 0 for b; a's default weight 7 reverse");
  const o = trackedBfd(c.instances.find((i) => i.name === 'O')!, c);
  assert.deepEqual(o.map((x) => [x.name, x.weight]), [['b', 0]], 'a group with an owner (255): weighted entries count as 0');
});
