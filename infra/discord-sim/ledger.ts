import type { SentDispatch } from './index.ts';

/**
 * What the simulator dispatched, in generation order, for tests and benchmarks to compare with
 * what arrived downstream. Holds the newest `capacity` entries (each keeps its payload object), so
 * a long unbounded run cannot exhaust memory; a run with a `total` raises the capacity to fit it.
 */
export class SentLedger {
  private entries: SentDispatch[] = [];

  constructor(private capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ledgerLimit must be a positive integer, got ${capacity}`);
  }

  add(entry: SentDispatch): void {
    this.entries.push(entry);
    // Trim in chunks so the per-dispatch cost stays constant.
    if (this.entries.length >= 2 * this.capacity) this.entries = this.entries.slice(-this.capacity);
  }

  /** Makes room for `count` more entries on top of the ones held now. */
  reserve(count: number): void {
    this.capacity = Math.max(this.capacity, Math.min(this.entries.length, this.capacity) + count);
  }

  list(): readonly SentDispatch[] {
    return this.entries.length > this.capacity ? this.entries.slice(-this.capacity) : this.entries;
  }
}
