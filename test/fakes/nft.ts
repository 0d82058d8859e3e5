/**
 * An NftRunner in memory: records every ruleset it is given and keeps the table the last
 * successful one leaves (`table`: the ruleset text after its remove prologue, or undefined when
 * none), with a result chosen by the test (`next`: one result, then ok again).
 */
import type { NftResult, NftRunner } from '../../src/ports/index.js';
import { NFT_REMOVE } from '../../src/core/accept-mode.js';

export class FakeNft implements NftRunner {
  readonly runs: string[] = [];
  /** What is in the kernel: the table as the last successful run left it. */
  table: string | undefined;
  /** The result of the next run (then back to ok). */
  next: Omit<Extract<NftResult, { ok: false }>, 'durationMs'> | undefined;

  async apply(ruleset: string): Promise<NftResult> {
    this.runs.push(ruleset);
    const fail = this.next;
    this.next = undefined;
    if (fail) return { ...fail, durationMs: 1 };
    // Every ruleset starts by removing the table; what follows it (if anything) is the new one.
    if (!ruleset.includes(NFT_REMOVE.trimEnd())) throw new Error('a keepwatch ruleset always replaces the whole table');
    const rest = ruleset.slice(ruleset.indexOf(NFT_REMOVE.trimEnd()) + NFT_REMOVE.trimEnd().length).trim();
    this.table = rest === '' ? undefined : rest;
    return { ok: true, durationMs: 1 };
  }
}
