/**
 * UDP_CHECK (keepalived/check/check_udp.c): sends `payload` (default: one zero byte... keepalived
 * sends an empty datagram; keepwatch does too) to the real server. Without `require_reply` the
 * check fails only when the port is refused (ICMP port unreachable); no reply within
 * connect_timeout is success. With `require_reply` a reply must come, start with the given bytes
 * (if any), and be min_reply_length..max_reply_length long.
 */
import { destination, fail, ok, type Checker } from './common.js';

/** Reply bytes kept; longer replies are cut (max_reply_length can't exceed 65535 anyway). */
export const UDP_REPLY_CAP = 65535;

export const udpCheck: Checker = async (c, t, ctx) => {
  const { host, port } = destination(c, t);
  if (port === undefined) return fail('error', 'no port to send to (set connect_port)');
  const r = await ctx.probes.datagram({ host, port, payload: c.payload ?? new Uint8Array(0), timeoutMs: c.connectTimeoutMs, maxReplyBytes: UDP_REPLY_CAP, ...(c.bindTo ? { bindAddress: c.bindTo } : {}), ...(c.bindPort ? { bindPort: c.bindPort } : {}) });
  if (!r.ok) {
    if (r.reason === 'timeout' && c.requireReply === undefined) return ok('no reply (none required)');
    return { result: r.reason, detail: r.detail };
  }
  if (c.requireReply === undefined) return ok();
  const reply = r.reply;
  if (c.minReplyLength !== undefined && reply.length < c.minReplyLength) return fail('bad-reply', `reply of ${reply.length} bytes, under min_reply_length ${c.minReplyLength}`);
  if (c.maxReplyLength !== undefined && (reply.length > c.maxReplyLength || r.truncated)) return fail('bad-reply', `reply of ${reply.length} bytes, over max_reply_length ${c.maxReplyLength}`);
  if (c.requireReply instanceof Uint8Array) {
    const want = c.requireReply;
    if (reply.length < want.length || want.some((b, i) => reply[i] !== b)) return fail('bad-reply', 'reply does not start with require_reply');
  }
  return ok();
};
