/** The split-brain guard on a fake LAN node: events recorded, a view, optional signed peers. */
import { FakeLan, type FakeNode } from '../fakes/lan.js';
import { SplitBrainGuard, type GuardEvent, type PeerClient, type PeerInstance } from '../../src/guard/guard.js';
import { GuardView } from '../../src/guard/view.js';
import { DEFAULT_GUARD, type GuardConfig } from '../../src/guard/config.js';

export interface Guarded {
  node: FakeNode;
  guard: SplitBrainGuard;
  events: GuardEvent[];
  view: GuardView;
}

export function withGuard(node: FakeNode, config: GuardConfig = DEFAULT_GUARD, peers?: PeerClient): Guarded {
  const bus = node.events;
  const events: GuardEvent[] = [];
  bus.onAny((e) => {
    if (e.type.startsWith('guard-')) events.push(e as GuardEvent);
  });
  const routers = () => [...(node.engine?.routers.values() ?? [])];
  const guard = new SplitBrainGuard({
    config,
    routers,
    bus,
    clock: node.clock,
    frames: node.frames,
    interfaces: node.interfaces,
    ...(peers ? { peers } : {}),
  });
  guard.start();
  return { node, guard, events, view: new GuardView(guard, routers, node.interfaces) };
}

/** A signed peer as far as the guard can tell: the client hands it `view()` as verified. */
export function peerOf(view: () => PeerInstance[]): PeerClient {
  return { fetch: async () => view() };
}

export const PEER_GUARD: GuardConfig = { ...DEFAULT_GUARD, peers: [{ host: 'peer', port: 11200 }], sources: new Set(['pcap', 'arp', 'peer']) };

/** Lets the fake clock run `ms` in steps, so the guard's async peer polls settle in between. */
export async function run(lan: FakeLan, ms: number, stepMs = 50): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    lan.clock.advance(stepMs);
    await new Promise((r) => setImmediate(r));
  }
}

export const isVrrp = (f: Uint8Array) => f[12] === 0x08 && f[13] === 0x00 && f[23] === 112;

