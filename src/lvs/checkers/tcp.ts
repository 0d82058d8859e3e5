/** TCP_CHECK (keepalived/check/check_tcp.c): the check passes when a TCP connection opens. */
import { Deadline, connectOptions, connectWithin, destination, fail, ok, type Checker } from './common.js';

export const tcpCheck: Checker = async (c, t, ctx) => {
  const { host, port } = destination(c, t);
  if (port === undefined) return fail('error', 'no port to connect to (set connect_port)');
  const deadline = new Deadline(ctx.clock, c.connectTimeoutMs);
  try {
    const r = await connectWithin(ctx.probes, connectOptions(c, host, port), deadline);
    if (!r.ok) return r.outcome;
    r.connection.close();
    return ok();
  } finally {
    deadline.cancel();
  }
};
