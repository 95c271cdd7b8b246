import type { SequencedFrame } from './frames.ts';

/**
 * The last `capacity` frames a session was sent, for RESUME. A ring: memory is bounded per
 * session, and the frames share their bodies with every other session that got the same event.
 */
export class ReplayBuffer {
  private readonly frames: (SequencedFrame | undefined)[] = [];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  push(frame: SequencedFrame): void {
    if (this.count < this.capacity) {
      this.frames[(this.start + this.count) % this.capacity] = frame;
      this.count++;
    } else {
      this.frames[this.start] = frame;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** Every frame after `seq`, oldest first; null when some of them were already dropped. */
  after(seq: number): SequencedFrame[] | null {
    const out: SequencedFrame[] = [];
    for (let i = 0; i < this.count; i++) {
      const frame = this.frames[(this.start + i) % this.capacity]!;
      if (frame.seq > seq) out.push(frame);
    }
    const first = out[0];
    if (first !== undefined && first.seq !== seq + 1) return null;
    return out;
  }

  clear(): void {
    this.frames.length = 0;
    this.start = 0;
    this.count = 0;
  }
}
