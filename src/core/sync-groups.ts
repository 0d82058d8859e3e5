/**
 * `vrrp_sync_group`: member instances move together, as keepalived does. A member that goes
 * FAULT puts the others in FAULT; one that becomes MASTER pulls the others up; one that falls
 * back to BACKUP takes the others with it. Moves made for the group carry cause `sync-group` and
 * do not trigger further moves.
 */
import type { SyncGroupConfig } from '../config/model.js';
import type { StateChangedEvent } from '../events/index.js';
import type { VrrpRouter } from './router.js';

const FAULT_KEY = (group: string) => `sync-group:${group}`;

/** The reactions the engine runs for sync groups, synchronously, in config order. */
export interface SyncGroupReactions {
  /** After every transition: MASTER pulls the other members up, MASTER → BACKUP takes them down. */
  afterTransition(e: StateChangedEvent): void;
  /**
   * After a router's faults changed (whether or not it changed state): the group is FAULT while
   * any member has a fault of its own, and every other member holds the group's fault; once no
   * member has one, the group's fault is released everywhere. Changes of the group's own fault
   * key are ignored (they are this reaction's doing).
   */
  afterFaultChange(router: VrrpRouter, source: string): void;
}

/**
 * The reactions are critical: a listener on the bus would be isolated from errors and could be
 * reordered, so the engine runs them itself, right after the router acted.
 */
export function syncGroupReactions(groupsOf: () => readonly SyncGroupConfig[], routers: () => ReadonlyMap<string, VrrpRouter>): SyncGroupReactions {
  const members = (g: SyncGroupConfig): VrrpRouter[] => {
    const all = routers();
    return g.members.map((m) => all.get(m.name)).filter((r): r is VrrpRouter => r !== undefined);
  };
  const ownFault = (g: SyncGroupConfig, r: VrrpRouter) => r.faultSources().some((k) => k !== FAULT_KEY(g.name));
  const groupsWith = (name: string) => groupsOf().filter((g) => g.members.some((m) => m.name === name));
  return {
    afterTransition(e) {
      if (e.cause === 'sync-group' || e.to === 'fault' || e.from === 'fault') return;
      for (const g of groupsWith(e.instance)) {
        const others = members(g).filter((r) => r.name !== e.instance);
        if (e.to === 'master') {
          for (const r of others) r.syncTo('master', `vrrp_sync_group ${g.name}: ${e.instance} became MASTER`);
        } else if (e.to === 'backup' && e.from === 'master') {
          for (const r of others) r.syncTo('backup', `vrrp_sync_group ${g.name}: ${e.instance} became BACKUP`);
        }
      }
    },
    afterFaultChange(router, source) {
      for (const g of groupsWith(router.name)) {
        if (source === FAULT_KEY(g.name)) continue;
        const all = members(g);
        const faulty = all.filter((r) => ownFault(g, r));
        for (const r of all) {
          if (faulty.length > 0 && !ownFault(g, r)) r.setFault(FAULT_KEY(g.name), `vrrp_sync_group ${g.name}: ${faulty.map((f) => f.name).join(', ')} is FAULT`);
          else if (faulty.length === 0) r.setFault(FAULT_KEY(g.name), undefined);
        }
      }
    },
  };
}
