/**
 * Accept mode (RFC 5798 §6.1 Accept_Mode; keepalived's `accept` / `no_accept`, and `vrrp_strict`,
 * which makes `no_accept` the default) as one nftables table that keepwatch owns: `inet keepwatch`.
 * Input: the instances; output: the text of one `nft -f -` transaction (adapters/nft.ts runs it,
 * agent/firewall.ts decides when). Pure.
 *
 * What keepalived does (keepalived/vrrp/vrrp_nftables.c, 2.2.7): tables `ip keepalived` and
 * `ip6 keepalived` (its `nftables` keyword names them), base chains `in` (hook input) and `out`
 * (hook output) at priority -1 (`nftables_priority`), policy accept; a set `vips` per family with
 * the rules `ip daddr @vips drop` (in) and `ip saddr @vips drop` (out); for IPv6 first
 * `icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept`, so neighbour discovery for a
 * VIP still works, and link-local VIPs in a set of address and interface. An instance that does
 * not accept (not an address owner, `accept` unset or off) puts its VIPs in the sets when it
 * becomes master, before it adds them to the interface, and takes them out after it removed them
 * when it leaves: the master holds the VIPs (answers ARP / NS for them: routing through it works)
 * but takes no traffic addressed to them and sends none from them. keepalived deletes a table of
 * its name left by a crash when it first creates its own, and deletes its tables at exit.
 *
 * keepwatch: one `inet keepwatch` table (both families; the name keepalived never uses, so the two
 * can run on one host, even each other's leftovers), the same chains (`input`, `output`), priority,
 * sets (`vips4`, `vips6`, `vips6_link_local` by interface name) and rules, with counters on the
 * drops. The sets hold the VIPs of every instance that does not accept, in every state, from start
 * to exit: on a backup the VIP is not on the host, so the input rule never matches there (a
 * forwarded packet does not pass the input hook) — the wire sees what keepalived's gives — and the
 * table never changes at a transition, so no takeover waits for `nft` (~20 ms a run here) and no
 * VIP is ever up while its drop rule is not. The table changes only with the config (start,
 * reload) and is replaced as a whole each time, atomically: `table inet keepwatch {}` (made if
 * missing) then `delete table inet keepwatch` then the table, in one transaction — so a table left
 * by a crash is replaced too, and removal (`NFT_REMOVE`) works whether it exists or not.
 */
import type { VrrpInstanceConfig } from '../config/model.js';

export const NFT_TABLE = 'inet keepwatch';

/** keepalived's default `nftables_priority`: just before the usual filter chains (0). */
export const NFT_PRIORITY = -1;

/** One VIP whose traffic is dropped, with the interface it lives on (for link-local ones). */
export interface NoAcceptVip {
  readonly instance: string;
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly interface: string;
}

/** The VIPs (and excluded VIPs) of the instances that do not accept, in config order, once each. */
export function noAcceptVips(instances: readonly VrrpInstanceConfig[]): NoAcceptVip[] {
  const out: NoAcceptVip[] = [];
  const seen = new Set<string>();
  for (const i of instances) {
    if (i.accept) continue;
    for (const v of [...i.virtualAddresses, ...i.virtualAddressesExcluded]) {
      const vip = { instance: i.name, address: v.address, family: v.family, interface: v.device ?? i.interface };
      const key = `${vip.address}|${isLinkLocal(vip) ? vip.interface : ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(vip);
    }
  }
  return out;
}

const isLinkLocal = (v: Pick<NoAcceptVip, 'family' | 'address'>): boolean => v.family === 'ipv6' && /^fe[89ab]/i.test(v.address);

/**
 * An interface name as an nft string: what the kernel accepts (dev_valid_name: 1-15 bytes, no
 * '/', ':' or white space) and no '"' or '\\' (nft strings have no escapes). Throws otherwise.
 */
function nftInterfaceName(name: string): string {
  if (!/^[^\s/:"\\]+$/.test(name) || new TextEncoder().encode(name).length > 15) throw new RangeError(`interface name ${JSON.stringify(name)} cannot be an nftables set element`);
  return name;
}

/** Deletes the table if it exists (one transaction; no error when it does not). */
export const NFT_REMOVE = `table ${NFT_TABLE} {}\ndelete table ${NFT_TABLE}\n`;

/**
 * The whole transaction for these instances: the table replaced by one holding their no-accept
 * VIPs, or only removed when there are none. Interface names are quoted (nft strings).
 */
export function acceptModeRuleset(instances: readonly VrrpInstanceConfig[]): string {
  const vips = noAcceptVips(instances);
  if (vips.length === 0) return NFT_REMOVE;
  const v4 = vips.filter((v) => v.family === 'ipv4').map((v) => v.address);
  const v6 = vips.filter((v) => v.family === 'ipv6' && !isLinkLocal(v)).map((v) => v.address);
  const ll = vips.filter(isLinkLocal).map((v) => `${v.address} . "${nftInterfaceName(v.interface)}"`);
  const set = (name: string, type: string, elements: readonly string[]): string[] =>
    elements.length === 0 ? [] : [`\tset ${name} {`, `\t\ttype ${type}`, `\t\telements = { ${elements.join(', ')} }`, '\t}'];
  const chain = (name: 'input' | 'output', addr: 'daddr' | 'saddr', ifname: 'iifname' | 'oifname'): string[] => [
    `\tchain ${name} {`,
    `\t\ttype filter hook ${name} priority ${NFT_PRIORITY}; policy accept;`,
    ...(v6.length + ll.length > 0 ? ['\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept'] : []),
    ...(v4.length > 0 ? [`\t\tip ${addr} @vips4 counter drop`] : []),
    ...(v6.length > 0 ? [`\t\tip6 ${addr} @vips6 counter drop`] : []),
    ...(ll.length > 0 ? [`\t\tip6 ${addr} . ${ifname} @vips6_link_local counter drop`] : []),
    '\t}',
  ];
  return [
    `# keepwatch: accept mode off (no_accept, vrrp_strict) for ${[...new Set(vips.map((v) => v.instance))].join(', ')}`,
    NFT_REMOVE.trimEnd(),
    `table ${NFT_TABLE} {`,
    ...set('vips4', 'ipv4_addr', v4),
    ...set('vips6', 'ipv6_addr', v6),
    ...set('vips6_link_local', 'ipv6_addr . ifname', ll),
    ...chain('input', 'daddr', 'iifname'),
    ...chain('output', 'saddr', 'oifname'),
    '}',
    '',
  ].join('\n');
}
