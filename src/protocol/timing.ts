/**
 * VRRP timer arithmetic. All values in milliseconds (fractions allowed: keepalived computes in
 * microseconds).
 */
import type { VrrpVersion } from './advert.js';

/**
 * Skew_Time.
 * RFC 3768 §6.1 (v2): (256 - Priority) / 256 seconds.
 * RFC 5798 §6.1 (v3): ((256 - Priority) * Master_Adver_Interval) / 256.
 */
export function skewTimeMs(version: VrrpVersion, priority: number, masterAdvertIntervalMs: number): number {
  return version === 2 ? ((256 - priority) * 1000) / 256 : ((256 - priority) * masterAdvertIntervalMs) / 256;
}

/**
 * Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time
 * (RFC 3768 §6.1 with Advertisement_Interval; RFC 5798 §6.1 with the master's advertised interval).
 */
export function masterDownIntervalMs(version: VrrpVersion, priority: number, masterAdvertIntervalMs: number): number {
  return 3 * masterAdvertIntervalMs + skewTimeMs(version, priority, masterAdvertIntervalMs);
}
