/** Builds instance configs for core tests with keepalived's defaults (no parser involved). */
import type { VirtualAddressConfig, VrrpInstanceConfig } from '../../src/config/model.js';
import { parseIp } from '../../src/protocol/inet.js';

const loc = { file: 'test.conf', line: 1, column: 1 };

export function vip(text: string, extra: Partial<VirtualAddressConfig> = {}): VirtualAddressConfig {
  const [address, prefix] = text.split('/');
  const family = parseIp(address!)!.family;
  return {
    address: address!,
    family,
    prefixLength: prefix ? Number(prefix) : family === 'ipv4' ? 32 : 128,
    scope: 'global',
    ignoredOptions: [],
    location: loc,
    ...extra,
  };
}

export type InstanceInit = Partial<Omit<VrrpInstanceConfig, 'virtualAddresses' | 'unicastPeers'>> & {
  vips?: string[];
  unicastPeers?: string[];
  password?: string;
};

export function instance(init: InstanceInit = {}): VrrpInstanceConfig {
  const { vips = ['10.0.0.100'], unicastPeers = [], password, ...rest } = init;
  const virtualAddresses = vips.map((v) => vip(v));
  const family = virtualAddresses[0]?.family ?? 'ipv4';
  const version = rest.version ?? 2;
  return {
    name: 'VI_1',
    location: loc,
    initialState: 'BACKUP',
    interface: 'eth0',
    vrid: 51,
    priority: 100,
    advertIntervalMs: 1000,
    version,
    family,
    nopreempt: false,
    preemptDelayMs: 0,
    virtualAddresses,
    virtualAddressesExcluded: [],
    unicastPeers: unicastPeers.map((address) => ({ address, location: loc })),
    mcastGroup: family === 'ipv4' ? '224.0.0.18' : 'ff02::12',
    garpMasterDelayMs: 5000,
    garpMasterRepeat: 5,
    garpMasterRefreshMs: 0,
    garpMasterRefreshRepeat: 1,
    garpIntervalMs: 0,
    gnaIntervalMs: 0,
    garpLowerPrioDelayMs: 5000,
    garpLowerPrioRepeat: 5,
    notify: {},
    trackInterfaces: [],
    trackScripts: [],
    trackFiles: [],
    strict: false,
    skipCheckAdvAddr: false,
    checkUnicastSrc: false,
    v3ChecksumAsV2: false,
    dontTrackPrimary: false,
    virtualRoutes: [],
    virtualRules: [],
    accept: true,
    lowerPrioNoAdvert: false,
    higherPrioSendAdvert: false,
    ...(password !== undefined && version === 2 ? { authentication: { type: 'PASS' as const, password, location: loc } } : {}),
    ...rest,
  };
}
