/**
 * keepalived.conf parser: token lines → a tree of statements. It knows nothing of keyword meaning
 * beyond two hints used for error recovery (`ParseHints`); interpret.ts (pass 1) and assemble.ts
 * (pass 2) give the tree its meaning.
 *
 * A statement is a keyword and its arguments up to the end of the line, as in keepalived
 * (keepalived/core/parser.c reads one line per keyword). A `{` on the line, or alone at the start
 * of the next line, opens the statement's block; text after `{` on the same line is already inside
 * the block (`virtual_ipaddress { 10.0.0.1 }`), and a `}` ends the statement before it
 * (`auth_pass 1111 }`).
 *
 * Recovery: a stray `}` is reported and skipped; a keyword that needs a block but has no `{` gets
 * an error and an implicit block (so its contents are not read as top-level statements); a
 * top-level block keyword followed by `{` inside another block means braces are missing, so every
 * open block is reported unclosed and closed there; at end of file every open block is reported.
 *
 * Bounds: blocks nest at most `MAX_BLOCK_DEPTH` deep; a `{` deeper than that is an error and what
 * it holds is skipped (only its braces are counted, to find where it ends), so later passes never
 * recurse deeper. Work is linear in the number of tokens.
 */
import type { SourceLocation } from './model.js';
import type { DiagnosticSink } from './diagnostics.js';
import type { Token, TokenLine } from './lexer.js';

export interface Statement {
  readonly keyword: Token;
  readonly args: readonly Token[];
  /** The arguments as written, with their original spacing and quotes. */
  readonly argsText: string;
  block?: Block;
}

export interface Block {
  /** The `{` token; undefined for an implicit block made during error recovery. */
  readonly open?: Token;
  close?: Token;
  statements: Statement[];
}

export interface ParseHints {
  /** Keywords that always open a block (`vrrp_instance`, `authentication`, ...). */
  readonly needsBlock: ReadonlySet<string>;
  /** Keywords that only exist at the top level (`vrrp_instance`, `global_defs`, ...). */
  readonly topLevelBlocks: ReadonlySet<string>;
  /** Keywords whose arguments are secrets: messages name the keyword only (`auth_pass`). */
  readonly secrets?: ReadonlySet<string>;
  /**
   * Keywords of `needsBlock` that open no block when written with arguments inside a block:
   * FILE_CHECK's `track_file NAME` (config/virtual-server.ts), unlike the top-level `track_file NAME {`.
   */
  readonly nestedWithArgsNoBlock?: ReadonlySet<string>;
}

/** keepalived.conf never needs more than a handful of levels; 64 leaves room for LVS checkers. */
export const MAX_BLOCK_DEPTH = 64;

interface Frame {
  readonly block: Block;
  readonly owner?: Statement;
  readonly location?: SourceLocation;
}

/** `keyword arg arg` for messages; the arguments of a secret keyword are not shown. */
export function statementLabel(s: Statement, secrets?: ReadonlySet<string>): string {
  if (!s.args.length) return s.keyword.text;
  if (secrets?.has(s.keyword.text)) return `${s.keyword.text} (value not shown)`;
  return `${s.keyword.text} ${s.args.map((a) => a.text).join(' ')}`;
}

function argsText(args: readonly Token[]): string {
  let out = args[0]?.raw ?? '';
  for (let i = 1; i < args.length; i++) out += args[i]!.lead + args[i]!.raw;
  return out;
}

export function parse(lines: readonly TokenLine[], hints: ParseHints, sink: DiagnosticSink): Statement[] {
  return new Parser(hints, sink).run(lines);
}

/** A class rather than closures: the parser runs for every fuzz input. */
class Parser {
  private readonly root: Block = { statements: [] };
  private readonly stack: Frame[] = [{ block: this.root }];
  /** The last statement, if it ended its line without a block: a `{` starting the next line is its. */
  private awaiting: Statement | undefined;
  /** Open braces of a block skipped for being nested too deep (0: not skipping). */
  private skipping = 0;
  private skippedBlock: Block | undefined;

  constructor(
    private readonly hints: ParseHints,
    private readonly sink: DiagnosticSink,
  ) {}

  run(lines: readonly TokenLine[]): Statement[] {
    for (const toks of lines) if (toks.length) this.line(toks);
    if (this.awaiting && this.needsBlock(this.awaiting)) this.expectedBrace(this.awaiting);
    this.closeAll();
    return this.root.statements;
  }

  private line(toks: TokenLine): void {
    const { stack, hints, sink } = this;
    let i = 0;
    const awaiting = this.awaiting;
    this.awaiting = undefined;
    if (awaiting) {
      if (toks[0]!.kind === 'open') {
        this.openBlock(awaiting, toks[0]);
        i = 1;
      } else if (this.needsBlock(awaiting)) {
        this.expectedBrace(awaiting);
        this.openBlock(awaiting, undefined);
      }
    }
    while (i < toks.length) {
      const t = toks[i]!;
      if (this.skipping > 0) {
        // Inside a block nested too deep: count its braces only.
        if (t.kind === 'open') this.skipping++;
        else if (t.kind === 'close' && --this.skipping === 0) this.skippedBlock!.close = t;
        i++;
        continue;
      }
      if (t.kind === 'close') {
        if (stack.length === 1) sink.error(t.location, `unexpected '}': no block is open here`);
        else stack.pop()!.block.close = t;
        i++;
        continue;
      }
      if (t.kind === 'open') {
        sink.error(t.location, `unexpected '{': a block must follow a keyword on the same line`);
        this.openBlock(undefined, t);
        i++;
        continue;
      }
      let j = i + 1;
      while (j < toks.length && toks[j]!.kind === 'word') j++;
      const args = toks.slice(i + 1, j);
      const opens = toks[j]?.kind === 'open';
      if (opens && stack.length > 1 && hints.topLevelBlocks.has(t.text)) this.closeAll();
      const stmt: Statement = { keyword: t, args, argsText: argsText(args) };
      stack[stack.length - 1]!.block.statements.push(stmt);
      if (opens) {
        this.openBlock(stmt, toks[j]);
        j++;
      } else if (j >= toks.length) {
        this.awaiting = stmt;
      } else if (this.needsBlock(stmt)) {
        this.expectedBrace(stmt); // followed by '}' on the same line: `authentication }`
      }
      i = j;
    }
  }

  /** Whether `s`, the last statement of the innermost open block, must open a block. */
  private needsBlock(s: Statement): boolean {
    if (!this.hints.needsBlock.has(s.keyword.text)) return false;
    return !(this.stack.length > 1 && s.args.length > 0 && this.hints.nestedWithArgsNoBlock?.has(s.keyword.text));
  }

  private expectedBrace(s: Statement): void {
    this.sink.error(s.keyword.location, `expected '{' after '${statementLabel(s, this.hints.secrets)}'`);
  }

  private openBlock(owner: Statement | undefined, open: Token | undefined): void {
    const block: Block = open ? { open, statements: [] } : { statements: [] };
    if (owner) owner.block = block;
    if (this.stack.length > MAX_BLOCK_DEPTH) {
      // Too deep: an explicit block is skipped to its '}'; an implicit one (no '{' was written)
      // is not opened, its statements stay where they are.
      const at = open?.location ?? owner?.keyword.location;
      if (at) this.sink.error(at, `blocks are nested more than ${MAX_BLOCK_DEPTH} deep; the contents of this one are not read`);
      if (open) {
        this.skipping = 1;
        this.skippedBlock = block;
      }
      return;
    }
    this.stack.push({ block, owner, location: open?.location });
  }

  /** Reports every open block as unclosed (outermost first) and closes them. */
  private closeAll(): void {
    for (const frame of this.stack.splice(1)) {
      if (!frame.location) continue; // implicit block: "expected '{'" was reported
      const what = frame.owner ? statementLabel(frame.owner, this.hints.secrets) : 'a block';
      this.sink.error(frame.location, `unclosed '{' opened here for ${what}`);
    }
  }
}
