/** PING_CHECK (keepalived/check/check_ping.c): one ICMP echo; a reply within connect_timeout passes. */
import { destination, fromFailure, ok, type Checker } from './common.js';

export const pingCheck: Checker = async (c, t, ctx) => {
  const { host } = destination(c, t);
  const r = await ctx.probes.ping({ host, timeoutMs: c.connectTimeoutMs, ...(c.bindTo ? { bindAddress: c.bindTo } : {}) });
  return r.ok ? ok() : fromFailure(r);
};
