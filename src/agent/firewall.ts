/**
 * Accept mode on the host: keepwatch's nftables table (core/accept-mode.ts says what is in it)
 * put in place, changed and removed through the NftRunner port.
 *
 * - start: before any instance runs (so before a VIP can be added), the table for the config
 *   replaces whatever is there — a table left by a crash or kill -9 included — or is removed when
 *   no instance needs it. An instance needs it and nft fails (missing, refused): the agent does not
 *   start (it would take traffic for VIPs the config says it must not).
 * - reload: before the instances change, the table for the old and the new VIPs together (a VIP
 *   being added is dropped from its first moment on); once the change has settled, the new one.
 *   A failure is logged and keeps the running table.
 * - stop and crash release: removed, after the VIPs (so no VIP is ever up without its rule).
 */
import type { VrrpInstanceConfig } from '../config/model.js';
import type { NftResult, NftRunner } from '../ports/index.js';
import { acceptModeRuleset, noAcceptVips, NFT_REMOVE, NFT_TABLE } from '../core/accept-mode.js';
import { HostError, describe } from '../adapters/errors.js';
import type { Logger } from '../observability/logging.js';

/** How long one `nft` run may take (it takes ~20 ms). */
export const NFT_TIMEOUT_MS = 3000;

export class AcceptModeFirewall {
  /** The ruleset applied last (NFT_REMOVE: no table of ours), or undefined before start. */
  private applied: string | undefined;

  constructor(
    private readonly nft: NftRunner,
    private readonly log: Logger,
  ) {}

  /** Whether keepwatch's table is (as far as it knows) on the host. */
  get installed(): boolean {
    return this.applied !== undefined && this.applied !== NFT_REMOVE;
  }

  /** Start: replaces any leftover table with the config's (or removes it). Throws a HostError when an instance needs it and it fails. */
  async start(instances: readonly VrrpInstanceConfig[]): Promise<void> {
    const ruleset = this.ruleset(instances, 'start');
    const needed = ruleset !== NFT_REMOVE;
    const r = await this.nft.apply(ruleset, { timeoutMs: NFT_TIMEOUT_MS });
    if (r.ok) {
      this.applied = ruleset;
      this.logApplied(instances, r, 'start');
      return;
    }
    if (needed) {
      throw new HostError('firewall', `no_accept (or vrrp_strict) needs keepwatch's nftables table ${NFT_TABLE}, and nft failed: ${r.message}`);
    }
    // Nothing needs it: only a leftover could be removed. Without nft there can be none.
    if (r.reason !== 'missing') this.log.warn({ event: 'firewall', result: r.reason }, `could not remove a leftover nftables table ${NFT_TABLE}: ${r.message}`);
    this.applied = undefined;
  }

  /**
   * Reload, step 1: the table for both configs' VIPs (returns false, logged, on failure). Step 2,
   * `settle`, once the instances changed and the kernel answered: the new config's.
   */
  async widen(before: readonly VrrpInstanceConfig[], after: readonly VrrpInstanceConfig[]): Promise<boolean> {
    return this.apply([...after, ...before], 'reload');
  }

  async settle(instances: readonly VrrpInstanceConfig[]): Promise<boolean> {
    return this.apply(instances, 'reload');
  }

  /** Stop and crash release: removes the table if keepwatch put one there. */
  async remove(timeoutMs = NFT_TIMEOUT_MS): Promise<void> {
    if (!this.installed) return;
    const r = await this.nft.apply(NFT_REMOVE, { timeoutMs });
    if (r.ok) {
      this.applied = NFT_REMOVE;
      this.log.info({ event: 'firewall', action: 'remove', durationMs: Math.round(r.durationMs) }, `nftables table ${NFT_TABLE} removed`);
    } else {
      this.log.error({ event: 'firewall', action: 'remove', result: r.reason }, `could not remove nftables table ${NFT_TABLE}: ${r.message} (the next start replaces it)`);
    }
  }

  private async apply(instances: readonly VrrpInstanceConfig[], why: 'reload'): Promise<boolean> {
    let ruleset: string;
    try {
      ruleset = this.ruleset(instances, why);
    } catch (err) {
      this.log.error({ event: 'firewall', action: why }, describe(err));
      return false;
    }
    // Unchanged, or nothing to remove (no table of ours; start removed any leftover).
    if (ruleset === this.applied || (ruleset === NFT_REMOVE && !this.installed)) return true;
    const r = await this.nft.apply(ruleset, { timeoutMs: NFT_TIMEOUT_MS });
    if (!r.ok) {
      this.log.error({ event: 'firewall', action: why, result: r.reason }, `could not update nftables table ${NFT_TABLE}: ${r.message}; the previous one stays`);
      return false;
    }
    this.applied = ruleset;
    this.logApplied(instances, r, why);
    return true;
  }

  private ruleset(instances: readonly VrrpInstanceConfig[], why: string): string {
    try {
      return acceptModeRuleset(instances);
    } catch (err) {
      throw new HostError('firewall', `${why}: ${describe(err)}`, { cause: err });
    }
  }

  private logApplied(instances: readonly VrrpInstanceConfig[], r: NftResult, action: string): void {
    const vips = noAcceptVips(instances).map((v) => v.address);
    if (vips.length === 0) {
      this.log.debug({ event: 'firewall', action, durationMs: Math.round(r.durationMs) }, `no instance needs nftables table ${NFT_TABLE}; none is left`);
      return;
    }
    this.log.info(
      { event: 'firewall', action, vips, durationMs: Math.round(r.durationMs) },
      `nftables table ${NFT_TABLE}: traffic to and from ${vips.join(', ')} is dropped (no_accept)`,
    );
  }
}
