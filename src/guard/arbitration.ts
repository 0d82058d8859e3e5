/**
 * Split-brain arbitration: when two nodes hold the same VIP, which one keeps it. The rules are the
 * same on both sides, so with the same facts exactly one node yields:
 *
 * 0. The other holder is not authenticated (its MAC was never learned from an accepted advert or a
 *    signed peer agent): nothing it claims is a fact. The configured policy decides — `hold`
 *    (default: keep the VIP and alert) or `yield` (opt-in; unsafe on a LAN you don't trust: a forged
 *    ARP reply is enough to make this node yield).
 * 1. Witness (optional, e.g. the gateway): a node that cannot reach it yields — it is the isolated
 *    one. (Both unreachable: both yield; the normal Master_Down_Interval brings one back.)
 * 2. Higher effective priority keeps the VIP.
 * 3. Equal priority: the higher primary address keeps it (RFC 5798 §6.4.3's tie-break).
 * 4. The other side's priority (or, on a tie, address) unknown: the configured policy decides.
 *
 * Pure: facts in, a decision and its reason out.
 */
import { compareIp } from '../protocol/inet.js';
import type { Decision, NodeFacts, Verdict } from '../events/guard.js';

export type UnknownPeerPolicy = 'hold' | 'yield';

export type { Decision, NodeFacts, Verdict };

export function arbitrate(self: Required<Pick<NodeFacts, 'priority' | 'address'>> & NodeFacts, other: NodeFacts, policy: UnknownPeerPolicy): Verdict {
  if (other.authenticated === false) {
    return { decision: policy === 'hold' ? 'keep' : 'yield', reason: `the other holder is not authenticated (its MAC was never seen in an accepted advert or from a signed peer) (policy: ${policy})` };
  }
  if (self.witnessUp === false) return { decision: 'yield', reason: 'this node cannot reach the witness' };
  if (other.witnessUp === false) return { decision: 'keep', reason: 'the other node cannot reach the witness' };
  if (other.priority === undefined) {
    return { decision: policy === 'hold' ? 'keep' : 'yield', reason: `the other node's priority is unknown (policy: ${policy})` };
  }
  if (self.priority !== other.priority) {
    const keep = self.priority > other.priority;
    return { decision: keep ? 'keep' : 'yield', reason: `priority ${self.priority} ${keep ? '>' : '<'} ${other.priority}` };
  }
  if (other.address === undefined || other.address === self.address) {
    return { decision: policy === 'hold' ? 'keep' : 'yield', reason: `equal priority ${self.priority} and the other node's address is ${other.address === undefined ? 'unknown' : 'ours'} (policy: ${policy})` };
  }
  const keep = compareIp(self.address, other.address) > 0;
  return { decision: keep ? 'keep' : 'yield', reason: `equal priority ${self.priority}, address ${self.address} ${keep ? '>' : '<'} ${other.address}` };
}
