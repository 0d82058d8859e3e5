/**
 * HTTP_GET/SSL_GET `regex`, bounded: the body a real server sends is hostile input, and a
 * backtracking pattern on crafted text can take exponential time (keepalived's PCRE2 stops at its
 * match limit). keepwatch runs the match in a `node:vm` context with a CPU timeout (V8 interrupts
 * the regular expression there), so no body can hold the event loop — VRRP's timers — for longer
 * than REGEX_TIMEOUT_MS; a match that runs out of time fails the check (`bad-reply`).
 */
import { Script, createContext } from 'node:vm';
import type { HttpUrlConfig } from '../../config/model.js';

/** The longest one match may run. */
export const REGEX_TIMEOUT_MS = 50;

const context = createContext({ re: /(?:)/, text: '', from: 0 });
const script = new Script('(() => { re.lastIndex = from; const m = re.exec(text); return m === null ? -1 : m.index; })()');

export type RegexVerdict = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/** Whether `body` satisfies the url's regex (match, or no match with regex_no_match, within the offsets). */
export function judgeRegex(rx: NonNullable<HttpUrlConfig['regex']>, body: string, timeoutMs = REGEX_TIMEOUT_MS): RegexVerdict {
  const re = new RegExp(rx.source, rx.flags.includes('g') ? rx.flags : `${rx.flags}g`);
  let index: number;
  try {
    Object.assign(context, { re, text: body, from: rx.minOffset });
    index = script.runInContext(context, { timeout: timeoutMs }) as number;
  } catch (e) {
    const timedOut = (e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
    return { ok: false, detail: timedOut ? `regex ran over ${timeoutMs} ms on the body` : `regex failed: ${(e as Error).message}` };
  } finally {
    Object.assign(context, { re: /(?:)/, text: '' });
  }
  const matched = index >= 0 && (rx.maxOffset === undefined || index < rx.maxOffset);
  if (matched === !rx.noMatch) return { ok: true };
  return { ok: false, detail: rx.noMatch ? `body matches regex '${rx.source}' (regex_no_match)` : `body does not match regex '${rx.source}'` };
}
