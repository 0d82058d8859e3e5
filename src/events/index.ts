/**
 * The ground floor beside protocol/: every event of the agent in one union, and the one bus that
 * carries them. Imports protocol/ types only. The catalogue (what each event means, who emits it,
 * who listens) is in ARCHITECTURE.md.
 */
import { EventBus } from './bus.js';
import type { GuardEvent } from './guard.js';
import type { HostEvent } from './host.js';
import type { ScriptEvent } from './scripts.js';
import type { VrrpEvent } from './vrrp.js';
import type { BfdEvent } from './bfd.js';
import type { LvsEvent } from './lvs.js';

export * from './bus.js';
export * from './vrrp.js';
export * from './host.js';
export * from './guard.js';
export * from './scripts.js';
export * from './bfd.js';
export * from './lvs.js';

/** Every event of the agent: VRRP core, host, split-brain guard, scripts. */
export type AgentEvent = VrrpEvent | HostEvent | GuardEvent | ScriptEvent | BfdEvent | LvsEvent;

/** The agent's one bus. */
export class AgentBus extends EventBus<AgentEvent> {}
