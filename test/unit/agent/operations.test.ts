/**
 * The agent's operations helpers (issue 15 point 3): the start-up delay (vrrp_startup_delay,
 * vrrp_delay_after_boot) and the net_namespace check; the rest is in test/net/operations.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkNetNamespace, startupDelayMs } from '../../../src/agent/operations.js';

test('start-up delay: vrrp_startup_delay, or what is left of vrrp_delay_after_boot, whichever is longer', () => {
  assert.equal(startupDelayMs({ startupDelayMs: 0, delayAfterBootMs: 0 }, 5_000), 0);
  assert.equal(startupDelayMs({ startupDelayMs: 2_500, delayAfterBootMs: 0 }, 5_000), 2_500);
  assert.equal(startupDelayMs({ startupDelayMs: 0, delayAfterBootMs: 60_000 }, 45_000), 15_000, 'booted 45 s ago: 15 s to go');
  assert.equal(startupDelayMs({ startupDelayMs: 0, delayAfterBootMs: 60_000 }, 3_600_000), 0, 'up for an hour: no delay');
  assert.equal(startupDelayMs({ startupDelayMs: 20_000, delayAfterBootMs: 60_000 }, 45_000), 20_000);
});

test('net_namespace: refused outside the namespace or when it does not exist, with the place and what to do', () => {
  const ns = { name: 'blue', location: { file: 'k.conf', line: 1, column: 15 } };
  const stat = (inodes: Record<string, number>) => (path: string) => {
    const ino = inodes[path];
    if (ino === undefined) throw new Error(`ENOENT: ${path}`);
    return { dev: 4, ino };
  };
  checkNetNamespace(undefined, stat({}));
  checkNetNamespace(ns, stat({ '/run/netns/blue': 7, '/proc/self/ns/net': 7 }));
  assert.throws(() => checkNetNamespace(ns, stat({ '/run/netns/blue': 7, '/proc/self/ns/net': 8 })), /^HostError: k\.conf:1:15: net_namespace blue: keepwatch is not running in that network namespace; start it inside it \('ip netns exec blue keepwatch/);
  assert.throws(() => checkNetNamespace(ns, stat({ '/proc/self/ns/net': 8 })), /k\.conf:1:15: net_namespace blue: no \/run\/netns\/blue/);
});
