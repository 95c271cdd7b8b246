/**
 * Delivery accounting in O(1) per message and O(sessions × guilds) memory, flat over a run.
 *
 * The load generator numbers each guild's messages 0, 1, 2, ... and puts the number in the
 * message's nonce. Per (session, guild) a tracker keeps the highest number seen and a 32-bit window
 * of which of the 32 numbers below it arrived (the anti-replay window of IPsec, RFC 4303 §3.4.3):
 * - a jump past `last + 1` opens a gap (missing until a late copy fills it);
 * - a number equal to `last`, or already set in the window, is a duplicate;
 * - a number below `last` not yet seen is out of order (and fills its gap).
 * Beyond the window (more than 32 behind) a late arrival cannot be told from a duplicate in O(1):
 * it is counted out of order and as filling a gap; either way the trial fails on it.
 */
export const WINDOW = 32;

export interface Counts {
  received: number;
  duplicated: number;
  outOfOrder: number;
}

export class SequenceTracker {
  /** Per slot: highest sequence seen (-1: none). */
  private readonly last: Float64Array;
  private readonly window: Uint32Array;
  /** Per slot: numbers below `last` not (yet) received. */
  private readonly gaps: Float64Array;
  readonly counts: Counts = { received: 0, duplicated: 0, outOfOrder: 0 };

  constructor(readonly slots: number) {
    this.last = new Float64Array(slots).fill(-1);
    this.window = new Uint32Array(slots);
    this.gaps = new Float64Array(slots);
  }

  record(slot: number, seq: number): void {
    this.counts.received++;
    const last = this.last[slot]!;
    if (seq > last) {
      const shift = seq - last;
      this.gaps[slot]! += shift - 1;
      // Bit k stands for `last - 1 - k`; the old `last` (when there was one) moves to bit shift-1.
      const had = last >= 0 ? 1 : 0;
      this.window[slot] = shift > WINDOW ? 0 : shift === WINDOW ? (had << 31) >>> 0 : ((this.window[slot]! << shift) | (had << (shift - 1))) >>> 0;
      this.last[slot] = seq;
      return;
    }
    if (seq === last) {
      this.counts.duplicated++;
      return;
    }
    const behind = last - seq;
    if (behind <= WINDOW) {
      const bit = (1 << (behind - 1)) >>> 0;
      if ((this.window[slot]! & bit) !== 0) {
        this.counts.duplicated++;
        return;
      }
      this.window[slot] = (this.window[slot]! | bit) >>> 0;
    }
    this.counts.outOfOrder++;
    if (this.gaps[slot]! > 0) this.gaps[slot]!--;
  }

  /** Messages of `slot` not received, given that `sent` were numbered 0..sent-1. */
  missing(slot: number, sent: number): number {
    const last = this.last[slot]!;
    return Math.max(0, sent - 1 - last) + this.gaps[slot]!;
  }
}

/**
 * The nonce the load generator stamps: `<intended send, µs since the epoch, base 36>.<guild index,
 * base 36>.<sequence, base 36>`: at most 19 characters, inside Discord's 25, so it passes any
 * validation a real client's would.
 */
export function encodeNonce(intendedAtMs: number, guildIndex: number, seq: number): string {
  return `${Math.round(intendedAtMs * 1000).toString(36)}.${guildIndex.toString(36)}.${seq.toString(36)}`;
}

export interface Nonce {
  intendedAtMs: number;
  guildIndex: number;
  seq: number;
}

export function decodeNonce(text: string): Nonce | undefined {
  const a = text.indexOf('.');
  const b = text.indexOf('.', a + 1);
  if (a <= 0 || b <= a + 1 || b === text.length - 1) return undefined;
  const us = parseInt(text.slice(0, a), 36);
  const guildIndex = parseInt(text.slice(a + 1, b), 36);
  const seq = parseInt(text.slice(b + 1), 36);
  if (!Number.isFinite(us) || !Number.isFinite(guildIndex) || !Number.isFinite(seq)) return undefined;
  return { intendedAtMs: us / 1000, guildIndex, seq };
}
