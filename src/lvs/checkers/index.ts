/** The checkers by kind (each its own module). */
import type { LvsCheckerKind } from '../../config/model.js';
import type { Checker } from './common.js';
import { dnsCheck } from './dns.js';
import { fileCheck } from './file.js';
import { httpCheck } from './http.js';
import { miscCheck } from './misc.js';
import { pingCheck } from './ping.js';
import { smtpCheck } from './smtp.js';
import { tcpCheck } from './tcp.js';
import { udpCheck } from './udp.js';

/** The polled checkers; BFD_CHECK follows its session's events instead (bfd.ts, service.ts). */
export const CHECKERS: Readonly<Record<Exclude<LvsCheckerKind, 'BFD_CHECK'>, Checker>> = {
  TCP_CHECK: tcpCheck,
  HTTP_GET: httpCheck,
  SSL_GET: httpCheck,
  MISC_CHECK: miscCheck,
  SMTP_CHECK: smtpCheck,
  DNS_CHECK: dnsCheck,
  UDP_CHECK: udpCheck,
  PING_CHECK: pingCheck,
  FILE_CHECK: fileCheck,
};

export * from './common.js';
export { bfdOutcome } from './bfd.js';
