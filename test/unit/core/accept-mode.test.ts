/**
 * Accept mode as nftables text (core/accept-mode.ts): the golden ruleset of
 * test/fixtures/nft/accept-mode.nft (checked by `nft -c` in test/net/strict.test.ts), which VIPs
 * go in it, and the removal when no instance needs the table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { acceptModeRuleset, noAcceptVips, NFT_REMOVE } from '../../../src/core/accept-mode.js';
import { parseConfigText, formatDiagnostic } from '../../../src/config/index.js';
import { instance, vip } from '../../helpers/instances.js';

const GOLDEN = 'test/fixtures/nft/accept-mode.nft';

/** IPv4 VIPs; IPv6 global and link-local (one on another interface, excluded); an owner; one that accepts. */
const instances = [
  instance({ name: 'VI_4', accept: false, vips: ['10.0.0.100', '10.0.0.101'] }),
  { ...instance({ name: 'VI_6', vrid: 52, version: 3, accept: false, vips: ['fe80::100', 'fd00::100'] }), virtualAddressesExcluded: [vip('fe80::200', { device: 'eth1' })] },
  instance({ name: 'VI_OWNER', vrid: 53, priority: 255, vips: ['10.0.0.200'] }),
  instance({ name: 'VI_ACCEPT', vrid: 54, vips: ['10.0.0.201'] }),
];

test('the ruleset: one transaction that replaces table inet keepwatch (golden text)', () => {
  assert.equal(acceptModeRuleset(instances), readFileSync(GOLDEN, 'utf8'));
});

test('what goes in: the VIPs and excluded VIPs of instances that do not accept, once each; link-local ones with their interface', () => {
  assert.deepEqual(
    noAcceptVips(instances).map((v) => `${v.instance} ${v.address} ${v.interface}`),
    ['VI_4 10.0.0.100 eth0', 'VI_4 10.0.0.101 eth0', 'VI_6 fe80::100 eth0', 'VI_6 fd00::100 eth0', 'VI_6 fe80::200 eth1'],
  );
  const twice = [instance({ accept: false }), instance({ name: 'VI_2', vrid: 52, accept: false })];
  assert.equal(noAcceptVips(twice).length, 1, 'one address, one element');
});

test('only what is needed: an IPv4-only table has no IPv6 rules; no instance without accept mode: only the removal', () => {
  const v4 = acceptModeRuleset([instance({ accept: false })]);
  assert.match(v4, /ip daddr @vips4 counter drop/);
  assert.doesNotMatch(v4, /ip6|icmpv6/);
  assert.equal(acceptModeRuleset([instance(), instance({ name: 'O', vrid: 52, priority: 255 })]), NFT_REMOVE);
  assert.equal(acceptModeRuleset([]), NFT_REMOVE);
  assert.equal(NFT_REMOVE, 'table inet keepwatch {}\ndelete table inet keepwatch\n');
});

test('from keepalived.conf: vrrp_strict makes no_accept the default; accept and priority 255 stay out', () => {
  const r = parseConfigText(
    'global_defs {\n vrrp_strict\n}\n' +
      ['S 51 100 ""', 'A 52 100 "accept"', 'O 53 255 ""'].map((l) => {
        const [name, vrid, prio, extra] = l.split(' ');
        return `vrrp_instance ${name} {\n interface eth0\n virtual_router_id ${vrid}\n priority ${prio}\n version 3\n ${JSON.parse(extra!)}\n virtual_ipaddress {\n  10.0.0.${vrid}\n }\n}\n`;
      }).join(''),
    'k.conf',
  );
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.deepEqual(noAcceptVips(r.config.instances).map((v) => v.address), ['10.0.0.51']);
});

test('an interface name nft could not take as a string is refused, never written into the ruleset', () => {
  const bad = { ...instance({ accept: false, version: 3, vips: ['fe80::1'] }), interface: 'eth0" accept' };
  assert.throws(() => acceptModeRuleset([bad]), /cannot be an nftables set element/);
  assert.throws(() => acceptModeRuleset([{ ...bad, interface: 'averyveryverylongname' }]), /cannot be an nftables set element/);
});
