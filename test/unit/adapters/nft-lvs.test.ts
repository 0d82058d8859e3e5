/**
 * The nftables LVS data plane (adapters/nft-lvs.ts): what each scheduler and lb_kind renders to,
 * the weighted buckets (exact quotas, stability when a server leaves, the same on every
 * director), what is left out and why, and the adapter's transaction (one nft run, the whole
 * ruleset replaced, unchanged tables not re-applied, a refusal reported). The real nft applies
 * these tables in test/net/lvs.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BUCKETS,
  LVS_REMOVE,
  NftLvsDataPlane,
  assignBuckets,
  granularityBits,
  nftSchedulerEffect,
  renderLvsRuleset,
  selectionFor,
  wrrSequence,
  type DrMacs,
  type Neighbours,
} from '../../../src/adapters/nft-lvs.js';
import type { DataPlaneRealServer, DataPlaneService, NftResult, NftRunner } from '../../../src/ports/index.js';

const rs = (address: string, weight: number, port: number | undefined = 80): DataPlaneRealServer => ({ address, weight, ...(port !== undefined ? { port } : {}) });

function svc(over: Partial<DataPlaneService> = {}): DataPlaneService {
  return {
    key: 'tcp 192.168.2.240:80',
    family: 'ipv4',
    address: '192.168.2.240',
    port: 80,
    protocol: 'tcp',
    scheduler: 'wlc',
    method: 'dr',
    persistenceTimeoutS: 0,
    realServers: [rs('192.168.2.212', 3), rs('192.168.2.213', 3)],
    interface: 'eth0',
    ...over,
  };
}

const MACS: DrMacs = {
  interfaces: new Map([['eth0', '02:00:00:00:00:01']]),
  realServers: new Map([
    ['eth0|192.168.2.212', '02:00:00:00:02:12'],
    ['eth0|192.168.2.213', '02:00:00:00:02:13'],
  ]),
};

function count<T>(xs: readonly T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

test('buckets: exact quotas by weight, servers of weight 0 get none', () => {
  const b = assignBuckets([rs('10.0.0.1', 3), rs('10.0.0.2', 1), rs('10.0.0.3', 0)]);
  assert.equal(b.length, BUCKETS);
  assert.deepEqual([...count(b).entries()].sort(), [
    [0, 192],
    [1, 64],
  ]);
  assert.deepEqual(assignBuckets([rs('10.0.0.1', 0)]), []);
});

test('buckets: when a server leaves, only its buckets move; the order of the servers does not matter', () => {
  const three = [rs('10.0.0.1', 1), rs('10.0.0.2', 1), rs('10.0.0.3', 1)];
  const before = assignBuckets(three).map((i) => three[i]!.address);
  const reversed = [...three].reverse();
  assert.deepEqual(
    assignBuckets(reversed).map((i) => reversed[i]!.address),
    before,
  );
  const two = [three[0]!, three[2]!];
  const after = assignBuckets(two).map((i) => two[i]!.address);
  let kept = 0;
  let moved = 0;
  before.forEach((a, bucket) => {
    if (a === '10.0.0.2') return;
    if (after[bucket] === a) kept++;
    else moved++;
  });
  // 2/3 of the buckets were on the staying servers: nearly all of them stay where they were.
  assert.ok(kept / (kept + moved) > 0.9, `kept ${kept}, moved ${moved}`);
});

test('smooth weighted round robin: interleaved, proportional, scaled to fit', () => {
  assert.deepEqual(wrrSequence([rs('a', 2), rs('b', 1)]), [0, 1, 0]);
  assert.deepEqual(wrrSequence([rs('a', 3), rs('b', 3)]), [0, 1]);
  assert.deepEqual(wrrSequence([rs('a', 5), rs('b', 0), rs('c', 1)]), [0, 0, 0, 2, 0, 0]);
  const big = wrrSequence([rs('a', 1000), rs('b', 1)], 256);
  assert.ok(big.length <= 257 && big.includes(1), `${big.length}`);
});

test('scheduler choice: NAT per connection, DR per flow, hashes, failover, persistence', () => {
  assert.deepEqual(selectionFor(svc({ method: 'nat', scheduler: 'rr', realServers: [rs('a', 5), rs('b', 0), rs('c', 1)] })), { kind: 'sequence', entries: [0, 2] });
  assert.equal(selectionFor(svc({ method: 'nat', scheduler: 'wlc' })).kind, 'sequence');
  const dr = selectionFor(svc({ scheduler: 'wlc' }));
  assert.ok(dr.kind === 'hash' && dr.over === 'flow');
  const sh = selectionFor(svc({ method: 'nat', scheduler: 'sh' }));
  assert.ok(sh.kind === 'hash' && sh.over === 'source');
  const dh = selectionFor(svc({ scheduler: 'lblc' }));
  assert.ok(dh.kind === 'hash' && dh.over === 'destination');
  assert.deepEqual(selectionFor(svc({ scheduler: 'fo', realServers: [rs('a', 1), rs('b', 5), rs('c', 5)] })), { kind: 'sequence', entries: [1] });
  const p = selectionFor(svc({ method: 'nat', scheduler: 'rr', persistenceTimeoutS: 60 }));
  assert.ok(p.kind === 'hash' && p.over === 'source');
  assert.deepEqual(selectionFor(svc({ realServers: [rs('a', 0)] })), { kind: 'none' });
  assert.match(nftSchedulerEffect(svc({ scheduler: 'wlc', method: 'nat' })), /weighted round robin/);
  assert.match(nftSchedulerEffect(svc({ persistenceTimeoutS: 60 })), /source affinity/);
});

test('persistence_granularity: whole bytes of the source address', () => {
  assert.equal(granularityBits('ipv4', '255.255.255.0'), '@nh,96,24');
  assert.equal(granularityBits('ipv4', '255.255.240.0'), '@nh,96,24');
  assert.equal(granularityBits('ipv4', '255.255.255.255'), undefined);
  assert.equal(granularityBits('ipv6', '64'), '@nh,64,64');
  assert.equal(granularityBits('ipv6', '128'), undefined);
  assert.equal(granularityBits('ipv4', undefined), undefined);
});

test("seed 003's service (DR, wlc, persistence 60): netdev ingress, both MACs rewritten, source affinity, fwd", () => {
  const { ruleset, notes } = renderLvsRuleset({ services: [svc({ persistenceTimeoutS: 60 })] }, MACS);
  assert.deepEqual(notes, []);
  assert.ok(ruleset.startsWith(LVS_REMOVE), 'the transaction first removes both tables');
  assert.doesNotMatch(ruleset, /table inet keepwatch_lvs \{\n/, 'no NAT table without a NAT service');
  assert.match(ruleset, /type filter hook ingress device "eth0" priority -100; policy accept;/);
  const rule = ruleset.split('\n').find((l) => l.includes('fwd to'))!;
  assert.match(rule, /^ {4}meta pkttype host ip daddr 192\.168\.2\.240 meta l4proto tcp th dport 80 counter ether saddr set 02:00:00:00:00:01 ether daddr set jhash ip saddr mod 256 seed 0x4b57 map \{ .* \} fwd to "eth0"$/);
  const macs = [...rule.matchAll(/(\d+)(?:-(\d+))? : (02:00:00:00:02:1[23])/g)];
  const per = new Map<string, number>();
  for (const m of macs) per.set(m[3]!, (per.get(m[3]!) ?? 0) + (Number(m[2] ?? m[1]) - Number(m[1]) + 1));
  assert.deepEqual(Object.fromEntries(per), { '02:00:00:00:02:12': 128, '02:00:00:00:02:13': 128 });
});

test("DR without persistence (seed 002's rr): a hash of the flow", () => {
  const { ruleset } = renderLvsRuleset({ services: [svc({ scheduler: 'rr', realServers: [rs('192.168.2.212', 1), rs('192.168.2.213', 1)] })] }, MACS);
  assert.match(ruleset, /jhash ip saddr \. th sport \. ip daddr \. th dport mod 256 seed 0x4b57/);
});

test('NAT: dnat in prerouting and output, per connection, to address . port; a fwmark service keeps the port', () => {
  const nat = svc({ key: 'tcp 192.168.200.100:443', address: '192.168.200.100', port: 443, method: 'nat', scheduler: 'wrr', realServers: [rs('192.168.201.100', 2, 443), rs('192.168.201.101', 1, 8443)] });
  const fw = svc({ key: 'fwmark 1 inet', address: undefined, port: undefined, protocol: undefined, fwmark: 1, method: 'nat', scheduler: 'rr', realServers: [{ address: '10.1.0.1', weight: 1 }] });
  const { ruleset } = renderLvsRuleset({ services: [nat, fw] }, MACS);
  assert.equal(ruleset.match(/dnat ip to numgen inc mod 3 map \{ 0 : 192\.168\.201\.100 \. 443, 1 : 192\.168\.201\.101 \. 8443, 2 : 192\.168\.201\.100 \. 443 \}/g)?.length, 2);
  assert.match(ruleset, /type nat hook prerouting priority -100/);
  assert.match(ruleset, /type nat hook output priority -100/);
  assert.match(ruleset, /meta nfproto ipv4 meta mark 1 counter dnat ip to numgen inc mod 1 map \{ 0 : 10\.1\.0\.1 \}/);
  assert.doesNotMatch(ruleset, /table netdev keepwatch_lvs_dr \{\n/);
});

test('IPv6 and UDP: ip6 matches, dnat ip6', () => {
  const v6 = svc({ key: 'udp [2001:db8::1]:53', family: 'ipv6', address: '2001:db8::1', port: 53, protocol: 'udp', method: 'nat', scheduler: 'rr', realServers: [rs('2001:db8::10', 1, 53)] });
  const { ruleset } = renderLvsRuleset({ services: [v6] }, MACS);
  assert.match(ruleset, /ip6 daddr 2001:db8::1 meta l4proto udp th dport 53 counter dnat ip6 to numgen inc mod 1 map \{ 0 : 2001:db8::10 \. 53 \}/);
});

test('no server in service: the service is dropped, not passed to the director itself', () => {
  const { ruleset } = renderLvsRuleset({ services: [svc({ realServers: [rs('192.168.2.212', 0)] }), svc({ key: 'tcp 10.0.0.1:80', address: '10.0.0.1', method: 'nat', realServers: [] })] }, MACS);
  assert.match(ruleset, /meta pkttype host ip daddr 192\.168\.2\.240 meta l4proto tcp th dport 80 counter drop/);
  assert.match(ruleset, /ip daddr 10\.0\.0\.1 meta l4proto tcp th dport 80 counter drop/);
});

test('left out, with a note: TUN, DR under fwmark, a real server without MAC, no interface', () => {
  const { ruleset, notes } = renderLvsRuleset(
    {
      services: [
        svc({ key: 'tun', method: 'tun' }),
        svc({ key: 'fwmark 2 inet', fwmark: 2, address: undefined, port: undefined }),
        svc({ key: 'nomac', realServers: [rs('192.168.2.212', 1), rs('192.168.2.99', 1)] }),
        svc({ key: 'noif', interface: 'eth9' }),
      ],
    },
    MACS,
  );
  assert.deepEqual(
    notes.map((n) => [n.kind, n.service, n.realServer]),
    [
      ['tun-unsupported', 'tun', undefined],
      ['fwmark-dr-unsupported', 'fwmark 2 inet', undefined],
      ['mac-unresolved', 'nomac', '192.168.2.99:80'],
      ['no-interface', 'noif', undefined],
    ],
  );
  // The server with a MAC takes every bucket.
  assert.match(ruleset, /map \{ 0-255 : 02:00:00:00:02:12 \} fwd to "eth0"/);
});

test('both directors render the same table for the same input (the fixed seed and the buckets)', () => {
  const t = { services: [svc({ persistenceTimeoutS: 60 }), svc({ key: 'b', method: 'nat', scheduler: 'sh' })] };
  assert.equal(renderLvsRuleset(t, MACS).ruleset, renderLvsRuleset(JSON.parse(JSON.stringify(t)) as typeof t, MACS).ruleset);
});

class FakeRunner implements NftRunner {
  readonly runs: string[] = [];
  next: Omit<Extract<NftResult, { ok: false }>, 'durationMs'> | undefined;
  async apply(ruleset: string): Promise<NftResult> {
    this.runs.push(ruleset);
    const f = this.next;
    this.next = undefined;
    return f ? { ...f, durationMs: 1 } : { ok: true, durationMs: 1 };
  }
}

class FakeNeighbours implements Neighbours {
  readonly table = new Map<string, string>();
  readonly solicited: string[] = [];
  /** What appears in the table once solicited. */
  readonly answers = new Map<string, string>();
  interfaceMac(iface: string): string | undefined {
    return iface === 'eth0' ? '02:00:00:00:00:01' : undefined;
  }
  async routeInterface(): Promise<string | undefined> {
    return 'eth0';
  }
  async entries(): Promise<Map<string, string>> {
    return new Map(this.table);
  }
  solicit(address: string): void {
    this.solicited.push(address);
    const a = this.answers.get(address);
    if (a) this.table.set(address, a);
  }
  async sleep(): Promise<void> {}
}

test('the adapter: one nft run per change, nothing when unchanged, a refusal rejects and is retried next time', async () => {
  const nft = new FakeRunner();
  const n = new FakeNeighbours();
  n.table.set('192.168.2.212', '02:00:00:00:02:12');
  n.answers.set('192.168.2.213', '02:00:00:00:02:13');
  const dp = new NftLvsDataPlane({ nft, neighbours: n, neighbourWaitMs: 200 });
  assert.equal(dp.kind, 'nftables');
  const table = { services: [svc({ interface: undefined })] };
  await dp.apply(table);
  assert.equal(nft.runs.length, 1);
  assert.deepEqual(n.solicited, ['192.168.2.213'], 'only the missing entry is asked for');
  assert.match(nft.runs[0]!, /02:00:00:00:02:12/);
  assert.match(nft.runs[0]!, /02:00:00:00:02:13/);
  assert.match(nft.runs[0]!, /device "eth0"/, 'the interface of the route to the real servers');
  await dp.apply(table);
  assert.equal(nft.runs.length, 1, 'an unchanged table is not applied again');
  nft.next = { ok: false, reason: 'failed', message: 'Error: Could not process rule: No such file or directory' };
  const changed = { services: [svc({ interface: undefined, realServers: [rs('192.168.2.212', 3)] })] };
  await assert.rejects(dp.apply(changed), /nft refused the LVS table \(failed\): Error: Could not process rule/);
  await dp.apply(changed);
  assert.equal(nft.runs.length, 3);
  await dp.removeAll();
  assert.equal(nft.runs.at(-1), LVS_REMOVE);
  nft.next = { ok: false, reason: 'missing', message: 'nft not found' };
  await dp.removeAll();
  nft.next = { ok: false, reason: 'timeout', message: 'slow' };
  await assert.rejects(dp.removeAll(), /could not remove/);
});

test('the adapter: an entry that never appears is waited for, bounded, and the server left out', async () => {
  const nft = new FakeRunner();
  const n = new FakeNeighbours();
  n.table.set('192.168.2.212', '02:00:00:00:02:12');
  const dp = new NftLvsDataPlane({ nft, neighbours: n, neighbourWaitMs: 200 });
  await dp.apply({ services: [svc()] });
  assert.deepEqual(
    dp.notes.map((x) => x.kind),
    ['mac-unresolved'],
  );
  assert.doesNotMatch(nft.runs[0]!, /02:00:00:00:02:13/);
});
