/**
 * `vrrp_sync_group`: member instances move together, as keepalived does. A member that goes
 * FAULT puts the others in FAULT; one that becomes MASTER pulls the others up; one that falls
 * back to BACKUP takes the others with it. Moves made for the group carry cause `sync-group` and
 * do not trigger further moves.
 */
import type { SyncGroupConfig } from '../config/model.js';
import type { CoreEvent, EventBus } from './events.js';
import type { VrrpRouter } from './router.js';

const FAULT_KEY = (group: string) => `sync-group:${group}`;

export class SyncGroups {
  constructor(
    private readonly groupsOf: () => readonly SyncGroupConfig[],
    private readonly routers: () => ReadonlyMap<string, VrrpRouter>,
    events: EventBus<CoreEvent>,
  ) {
    events.on('state-changed', (e) => {
      if (e.cause === 'sync-group') return;
      for (const g of this.groupsOf()) {
        if (!g.members.some((m) => m.name === e.instance)) continue;
        const members = this.members(g);
        const others = members.filter((r) => r.name !== e.instance);
        const ownFault = (r: VrrpRouter) => r.faultSources().some((k) => k !== FAULT_KEY(g.name));
        if (e.to === 'fault') {
          // A member faulted because of the group itself: nothing more to spread.
          const self = members.find((r) => r.name === e.instance);
          if (!self || !ownFault(self)) continue;
          for (const r of others) r.setFault(FAULT_KEY(g.name), `vrrp_sync_group ${g.name}: ${e.instance} is FAULT`);
        } else if (e.from === 'fault') {
          // Release the group fault once no member has a fault of its own.
          if (!members.some((r) => r.state === 'fault' && ownFault(r))) for (const r of others) r.setFault(FAULT_KEY(g.name), undefined);
        } else if (e.to === 'master') {
          for (const r of others) r.syncTo('master', `vrrp_sync_group ${g.name}: ${e.instance} became MASTER`);
        } else if (e.to === 'backup' && e.from === 'master') {
          for (const r of others) r.syncTo('backup', `vrrp_sync_group ${g.name}: ${e.instance} became BACKUP`);
        }
      }
    });
  }

  private members(g: SyncGroupConfig): VrrpRouter[] {
    const all = this.routers();
    return g.members.map((m) => all.get(m.name)).filter((r): r is VrrpRouter => r !== undefined);
  }
}
