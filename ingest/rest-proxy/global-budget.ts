/**
 * This node's share of the bot's global budget: at most `limit` requests reach Discord in any
 * `windowMs`. With N peers each holding floor(global / N), the nodes together stay within the
 * global limit in every window, whatever their clocks and however their windows fall.
 *
 * A slot is held from the send until the answer arrives and is reusable `windowMs` after that
 * answer: Discord counted the request at some moment between the two, so the next request on the
 * slot is counted at least `windowMs` later however the network delayed either. (Counting from the
 * send, as @discordjs/rest does, let a batch delayed by connection set-up and a fast batch after it
 * land inside one of the simulator's seconds: measured, 12 global 429s of 60 requests.)
 */
export class GlobalBudget {
  /** Per slot: when its last request's answer arrived; +Infinity while one is in flight. */
  private readonly slots: number[];
  private blockedUntil = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    /** How soon to look again when every slot is in flight (when it frees is not known in advance). */
    private readonly pollMs = 10,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    this.slots = new Array<number>(limit).fill(Number.NEGATIVE_INFINITY);
  }

  /** Milliseconds until a send is allowed (0: now). */
  waitMs(now: number): number {
    const soonest = this.slots[this.soonest()]!;
    const slotWait = soonest === Number.POSITIVE_INFINITY ? this.pollMs : soonest + this.windowMs - now;
    return Math.max(0, this.blockedUntil - now, slotWait);
  }

  /** Holds a slot for a request going out now; call only when `waitMs(now)` is 0. */
  take(): number {
    const slot = this.soonest();
    this.slots[slot] = Number.POSITIVE_INFINITY;
    return slot;
  }

  /** The request on `slot` was answered (or failed) at `now`. */
  finish(slot: number, now: number): void {
    this.slots[slot] = now;
  }

  /** The slot free soonest (a loop: a share can be large enough to overflow a spread call). */
  private soonest(): number {
    let best = 0;
    for (let i = 1; i < this.slots.length; i++) if (this.slots[i]! < this.slots[best]!) best = i;
    return best;
  }

  /** A global 429 from Discord: nothing goes out from this node before `until`. */
  block(until: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, until);
  }
}
