/**
 * What every entry point shares: keepwatch's version, its install root (this file is one level
 * below it, in src/ or dist/) and the default HTTP port.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT: string = fileURLToPath(new URL('..', import.meta.url));
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The HTTP port (/metrics, /healthz, /v1/state, the guard's cross-check) when --listen is not
 * given. Not 9650: that is keepalived_exporter's (gen2brain), which keepalived users run. The
 * Prometheus exporter range 9100-9999 is fully allocated (prometheus/prometheus wiki, "Default
 * port allocations"); 11200 (VRRP is IP protocol 112) is outside it and below Linux's ephemeral
 * port range.
 */
export const DEFAULT_PORT = 11200;
