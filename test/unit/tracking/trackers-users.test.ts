/**
 * TrackerSet (src/tracking/trackers.ts): a vrrp_script runs as its own `user`, other scripts as
 * the default user; a script that cannot be checked or is unsafe is disabled, never run.
 */
import { AgentBus } from '../../../src/events/index.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.js';
import { EventBus } from '../../../src/events/index.js';
import { TrackerSet, type TrackEvent } from '../../../src/tracking/trackers.js';
import type { ScriptUsers } from '../../../src/tracking/users.js';
import { SystemClock } from '../../../src/adapters/clock.js';
import { SystemProcessRunner } from '../../../src/adapters/process.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const TEXT = `vrrp_script as_nobody {
    script "/bin/sh -c 'test $(id -u):$(id -g) = 65534:65534'"
    interval 1
    user nobody
}
vrrp_script as_default {
    script "/bin/sh -c 'test $(id -u):$(id -g) = 65534:65534'"
    interval 1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        10.0.0.100
    }
    track_script {
        as_nobody
        as_default
    }
}
`;

test("a vrrp_script runs as its own user; the others as the default", { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
  const r = parseConfigText(TEXT, 'test.conf');
  assert.ok(r.config, r.diagnostics.map((d) => d.message).join('\n'));
  const events = new AgentBus();
  const results = new Map<string, string>();
  events.on('script-result', (e) => results.set(e.script, e.result));
  // The resolution itself is tested in tracking-users.test.ts; here its outcome is given.
  const users: ScriptUsers = { default: { uid: 0, gid: 0 }, defaultFrom: 'root', scripts: new Map([['as_nobody', { uid: 65534, gid: 65534 }]]) };
  const router = { name: 'VI_1', config: r.config.instances[0]!, setFault: () => undefined, setPriorityOffset: () => undefined };
  const set = new TrackerSet({ config: r.config, routers: () => [router as never], linkUp: () => true, bus: events, clock: new SystemClock(), processes: new SystemProcessRunner(), users });
  assert.equal(set.users, users);
  set.start();
  try {
    for (let i = 0; i < 40 && results.size < 2; i++) await sleep(50);
  } finally {
    set.stop();
  }
  assert.equal(results.get('as_nobody'), 'ok', 'ran as nobody:nogroup');
  assert.equal(results.get('as_default'), 'fail', 'ran as root');
});
