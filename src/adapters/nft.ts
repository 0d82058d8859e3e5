/**
 * The NftRunner port on a host: `nft -f -` (the nftables package's command), the ruleset on its
 * standard input. The kernel applies the whole input as one transaction. No decisions here: what
 * the ruleset says is core/accept-mode.ts's, when it runs agent/firewall.ts's.
 *
 * Bounds: a timeout (SIGKILL), and at most `MAX_STDERR_BYTES` of nft's messages kept for the
 * error. Never throws, never rejects: a missing command is `missing`, anything else `failed`.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { NftResult, NftRunner } from '../ports/index.js';

const MAX_STDERR_BYTES = 4096;
const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

export class SystemNftRunner implements NftRunner {
  constructor(private readonly command = 'nft') {}

  apply(ruleset: string, opts: { readonly timeoutMs: number }): Promise<NftResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const done = (r: { ok: true } | { ok: false; reason: 'missing' | 'failed' | 'timeout'; message: string }): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        resolve({ ...r, durationMs: performance.now() - started });
      };
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(this.command, ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? PATH } });
      } catch (err) {
        done({ ok: false, reason: 'failed', message: (err as Error).message });
        return;
      }
      let stderr = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        if (stderr.length < MAX_STDERR_BYTES) stderr = (stderr + chunk).slice(0, MAX_STDERR_BYTES);
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        done(err.code === 'ENOENT' ? { ok: false, reason: 'missing', message: `${this.command} not found (install nftables)` } : { ok: false, reason: 'failed', message: err.message });
      });
      child.on('close', (code, signal) => {
        if (code === 0) done({ ok: true });
        else done({ ok: false, reason: 'failed', message: stderr.trim() || `${this.command} exited with ${code ?? signal}` });
      });
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        done({ ok: false, reason: 'timeout', message: `${this.command} did not finish within ${opts.timeoutMs} ms` });
      }, opts.timeoutMs);
      // EPIPE when nft exits before reading it all: its exit status tells what went wrong.
      child.stdin?.on('error', () => {});
      child.stdin?.end(ruleset);
    });
  }
}
