/**
 * BFD_CHECK (keepalived/check/check_bfd.c): no probe of its own — the checker follows the session
 * of the `bfd_instance` it names (src/bfd/, events `bfd-state-changed`): up while the session is
 * Up, down (`bfd-down`) when it leaves Up. No retries, no delay_loop: BFD's own detection time is
 * the delay.
 */
import type { BfdState, BfdCause } from '../../events/index.js';
import type { CheckOutcome } from './common.js';

export function bfdOutcome(to: BfdState, cause: BfdCause): CheckOutcome {
  return to === 'up' ? { result: 'ok', detail: 'BFD session up' } : { result: 'bfd-down', detail: `BFD session ${to} (${cause})` };
}
