/**
 * A fake kernel routing table for the RouteManager port: what `virtual_routes`, `virtual_rules`
 * and the static entries would leave in the kernel, and every request in order. Like the kernel,
 * it refuses a route whose `src` is not an address of the node (so a test sees a route asked for
 * before its VIP), and it is idempotent (adding what is there, removing what is gone: no error).
 */
import type { RouteManager, RoutingEntry } from '../../src/ports/index.js';

export interface RouteRequest {
  readonly action: 'add' | 'remove';
  readonly entry: RoutingEntry;
  /** Why the fake kernel refused it, if it did. */
  readonly refused?: string;
}

function keyOf(e: RoutingEntry): string {
  if (e.kind === 'address') return `address ${e.interface} ${e.address.address}/${e.address.prefixLength}`;
  return `${e.kind} ${e.kind === 'route' ? e.route.text : e.rule.text}`;
}

export class FakeRouteManager implements RouteManager {
  /** What the fake kernel holds, by kind and text. */
  readonly held = new Map<string, RoutingEntry>();
  readonly requests: RouteRequest[] = [];

  /** `hasAddress`: whether the node holds an address (a route's `src` must be one). */
  constructor(private readonly hasAddress: (address: string) => boolean = () => true) {}

  add(entry: RoutingEntry): void {
    if (entry.kind === 'route' && entry.route.source !== undefined && !this.hasAddress(entry.route.source)) {
      this.requests.push({ action: 'add', entry, refused: `EINVAL: ${entry.route.source} is not an address of this node` });
      return;
    }
    this.held.set(keyOf(entry), entry);
    this.requests.push({ action: 'add', entry });
  }

  remove(entry: RoutingEntry): void {
    this.held.delete(keyOf(entry));
    this.requests.push({ action: 'remove', entry });
  }

  /** Whether the fake kernel holds it (static addresses: not watched, as NetlinkRoutes). */
  present(entry: RoutingEntry): boolean | undefined {
    return entry.kind === 'address' ? undefined : this.held.has(keyOf(entry));
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}

  /** The texts of the routes held now (`kind` 'rule' for the rules). */
  texts(kind: 'route' | 'rule' = 'route'): string[] {
    return [...this.held.values()].flatMap((e) => (e.kind === kind ? [e.kind === 'route' ? e.route.text : e.rule.text] : []));
  }

  /** Requests the fake kernel refused. */
  refused(): RouteRequest[] {
    return this.requests.filter((r) => r.refused !== undefined);
  }
}
