/**
 * Issue 14's "Done when": the config test (what `keepwatch -t` reads) on keepalived's own
 * doc/samples configurations (test/fixtures/keepalived-samples/, see its README) gives no
 * "not acted on" warning for any keyword of the issue; and every one of them is acted on in the
 * keyword tables, so no other configuration gets that warning for them either. What each one does
 * is tested where it acts (test/unit/core/keepalived-keywords.test.ts, accept-mode.test.ts, ...).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { formatDiagnostic, loadConfig } from '../../../src/config/index.js';
import { KEYWORD_MAPS, type BlockKind } from '../../../src/config/schema.js';

const DIR = 'test/fixtures/keepalived-samples';
const samples = readdirSync(DIR).filter((f) => f.startsWith('keepalived.conf.')).sort();

/** Issue 14's keywords, by the block they are written in (old names keepalived still reads included). */
const ISSUE_14: readonly [BlockKind, readonly string[]][] = [
  ['top level', ['static_ipaddress', 'static_routes', 'static_rules']],
  [
    'global_defs',
    [
      'vrrp_gna_interval', 'vrrp_garp_extra_if', 'vrrp_vmac_garp_intvl', 'vrrp_min_garp', 'vrrp_lower_prio_no_advert',
      'vrrp_higher_prio_send_advert', 'vrrp_strict', 'vrrp_skip_check_adv_addr',
    ],
  ],
  [
    'vrrp_instance',
    [
      'use_vmac', 'vmac_xmit_base', 'use_ipvlan', 'virtual_routes', 'virtual_rules', 'garp_extra_if', 'vmac_garp_intvl',
      'lower_prio_no_advert', 'higher_prio_send_advert', 'unicast_ttl', 'mcast_dst_ip', 'dont_track_primary',
      'skip_check_adv_addr', 'strict_mode', 'accept', 'no_accept', 'authentication',
    ],
  ],
  ['authentication', ['auth_type', 'auth_pass']],
];
const KEYWORDS = new Set(ISSUE_14.flatMap(([, k]) => k));

test('the samples are all there', () => {
  assert.equal(samples.length, 25, samples.join(' '));
});

for (const name of samples) {
  test(`keepalived sample ${name}: no issue-14 keyword is "not acted on"`, () => {
    const r = loadConfig(`${DIR}/${name}`);
    const notActed = r.diagnostics.filter((d) => /is accepted but not acted on/.test(d.message));
    const ours = notActed.filter((d) => KEYWORDS.has(/'([^']+)'/.exec(d.message)?.[1] ?? ''));
    assert.deepEqual(ours.map(formatDiagnostic), []);
  });
}

test('every issue-14 keyword is acted on in its keyword table (no config can get "not acted on" for it)', () => {
  const missing: string[] = [];
  for (const [kind, words] of ISSUE_14) {
    for (const w of words) {
      const spec = KEYWORD_MAPS.get(kind)?.get(w);
      if (!spec?.acted) missing.push(`${kind}: ${w}${spec ? ' (not acted on)' : ' (unknown)'}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('auth_type AH in a sample (keepalived.conf.SSL_GET) is read as AH, not refused', () => {
  const r = loadConfig(`${DIR}/keepalived.conf.SSL_GET`);
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.equal(r.config.instances[0]?.authentication?.type, 'AH');
});
