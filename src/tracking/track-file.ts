/**
 * Reading a `track_file` without trusting it. keepalived reads one integer from the file; the
 * file is outside our control (any process that can write it, or replace it, decides what we
 * open). So: stat first and refuse anything but a regular file (a FIFO would block the reader
 * forever, a device could stream without end); open with O_NONBLOCK (a FIFO swapped in between
 * the stat and the open does not block either) and O_NOCTTY; fstat the open file again and refuse
 * it unless it is the regular file we checked; read at most TRACK_FILE_MAX_BYTES (a number is a
 * few bytes; a file with more in it is refused rather than read).
 *
 * A file we refuse or cannot read counts as the value 0 — what keepalived takes for a missing or
 * non-numeric file — so a broken track_file neither adds nor subtracts weight, and it is reported
 * with its reason (a closed union: a metric label).
 */
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/** Enough for any integer keepalived would read, with spaces and a newline around it. */
export const TRACK_FILE_MAX_BYTES = 64;

import { TRACK_FILE_PROBLEMS, type TrackFileProblem } from '../events/scripts.js';

export { TRACK_FILE_PROBLEMS, type TrackFileProblem };

export type TrackFileRead = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly problem: TrackFileProblem; readonly detail: string };

/** keepalived.conf(5): a track_file's value is an integer; the weighted result is clamped later. */
const INTEGER_RE = /^[-+]?\d{1,10}$/;

function problem(p: TrackFileProblem, detail: string): TrackFileRead {
  return { ok: false, problem: p, detail };
}

export async function readTrackFile(path: string): Promise<TrackFileRead> {
  let before;
  try {
    before = await stat(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? problem('missing', `${path} does not exist`) : problem('unreadable', `${path}: ${(err as Error).message}`);
  }
  if (!before.isFile()) return problem('not-regular', `${path} is not a regular file (${kindOf(before)}); not opened`);
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return problem('unreadable', `${path}: ${(err as Error).message}`);
  }
  try {
    const now = await fh.stat();
    if (!now.isFile() || now.ino !== before.ino || now.dev !== before.dev) return problem('not-regular', `${path} was replaced while being opened (now ${kindOf(now)}); not read`);
    // One byte more than allowed tells "too large" from "exactly the limit". sysfs and procfs
    // report sizes that are not the content's, so the bytes read decide, not st_size.
    const buf = Buffer.alloc(TRACK_FILE_MAX_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > TRACK_FILE_MAX_BYTES) return problem('too-large', `${path} holds more than ${TRACK_FILE_MAX_BYTES} bytes; a track_file holds one integer`);
    const text = buf.subarray(0, bytesRead).toString('latin1').trim();
    // An empty file is 0, as with keepalived (`touch` creates a track_file that weighs nothing).
    if (text === '') return { ok: true, value: 0 };
    if (!INTEGER_RE.test(text)) return problem('not-a-number', `${path} does not hold an integer`);
    return { ok: true, value: Number(text) };
  } catch (err) {
    return problem('unreadable', `${path}: ${(err as Error).message}`);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isFile(): boolean }): string {
  if (st.isFile()) return 'a regular file';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}
