/**
 * The LVS data plane: the table of virtual services and their real servers that the kernel should
 * forward (keepalived's check module programs IPVS with the same information). The LVS room
 * (src/lvs) computes the desired table from the config and the health checks; an adapter
 * (nftables here, IPVS where the kernel has `ip_vs`) makes the kernel match it. Adapters make no
 * health or scheduling decisions: they render what they are given, atomically.
 */
import type { IpFamily } from '../protocol/inet.js';

/** keepalived's `lb_kind` (NAT, DR, TUN). */
export type ForwardingMethod = 'nat' | 'dr' | 'tun';

/** keepalived's `lb_algo` / `lvs_sched` (ipvsadm's scheduler names). */
export type Scheduler = 'rr' | 'wrr' | 'lc' | 'wlc' | 'lblc' | 'lblcr' | 'dh' | 'sh' | 'sed' | 'nq' | 'fo' | 'ovf' | 'mh';

export type ServiceProtocol = 'tcp' | 'udp' | 'sctp';

/** One real server as the kernel should forward to it. Weight 0: kept, but given no new connections. */
export interface DataPlaneRealServer {
  readonly address: string;
  /** Absent under a fwmark service: the packet's own port. */
  readonly port?: number;
  readonly weight: number;
  /** Per-server `lb_kind` override (keepalived allows it per real_server); the service's if absent. */
  readonly method?: ForwardingMethod;
  /**
   * `uthreshold` / `lthreshold` (IPVS connection limits: no new connections above the upper one
   * until below the lower one). Absent: none. (Added by the LVS room; IPVS can apply them.)
   */
  readonly upperThreshold?: number;
  readonly lowerThreshold?: number;
}

/** One virtual service: `IP PORT` (with protocol) or `fwmark N`. */
export interface DataPlaneService {
  /** A stable key: `tcp 192.168.2.240:80`, `fwmark 1 inet`. */
  readonly key: string;
  readonly family: IpFamily;
  readonly address?: string;
  readonly port?: number;
  readonly protocol?: ServiceProtocol;
  readonly fwmark?: number;
  readonly scheduler: Scheduler;
  readonly method: ForwardingMethod;
  /** `persistence_timeout` in seconds (0: none): a client stays on its server that long. */
  readonly persistenceTimeoutS: number;
  /** `persistence_granularity` (an IPv4 netmask or IPv6 prefix length), absent: per client address. */
  readonly persistenceGranularity?: string;
  /** The servers in service now (a sorry server alone when quorum is lost). Empty: traffic is dropped. */
  readonly realServers: readonly DataPlaneRealServer[];
  /** Where the director's own interface is for DR (`fwd` needs it): resolved by the LVS room. */
  readonly interface?: string;
}

export interface DataPlaneTable {
  readonly services: readonly DataPlaneService[];
}

/** Which adapter runs: shown in /v1/state and the logs. */
export type DataPlaneKind = 'nftables' | 'ipvs' | 'none';

/** What failed when the kernel refused a table, for the counter (closed union: metric labels). */
export type DataPlaneErrorKind = 'apply' | 'remove' | 'reconcile';

export interface DataPlane {
  readonly kind: DataPlaneKind;
  /**
   * Makes the kernel forward exactly `table`, all at once (nothing half applied): services not in
   * it are removed. Rejects with the kernel's reason; the previous table then stays in force.
   */
  apply(table: DataPlaneTable): Promise<void>;
  /** Removes everything this agent put there (stop), and leftovers of an earlier run (start). */
  removeAll(): Promise<void>;
}
