/**
 * What TrackerSet needs of a router (its config, name, faults and priority offset), recorded for
 * the tracking unit tests: the current offset, every offset set in order, and the faults by key.
 */
import type { KeepalivedConfig } from '../../src/config/model.js';

export class TrackedRouter {
  offset = 0;
  readonly faults = new Map<string, string>();
  readonly offsets: number[] = [];
  constructor(readonly config: KeepalivedConfig['instances'][number]) {}
  get name(): string {
    return this.config.name;
  }
  setFault(key: string, detail: string | undefined): void {
    if (detail === undefined) this.faults.delete(key);
    else this.faults.set(key, detail);
  }
  setPriorityOffset(o: number): void {
    this.offset = o;
    this.offsets.push(o);
  }
}
