/** The agent, for main.ts: start it, stop it, reload it. Nothing else imports src/agent/. */
export { Agent, DEFAULT_GUARD_CONFIG, type AgentOptions } from './lifecycle.js';
