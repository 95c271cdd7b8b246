import type { FrameBody, SequencedFrame } from './frames.ts';

/**
 * The last `capacity` frames a session was sent, for RESUME. A ring: memory is bounded per
 * session, and the frames share their bodies with every other session that got the same event.
 *
 * A session's sequence numbers are consecutive, so only the bodies are kept and each frame's seq
 * follows from its place; frames are rebuilt on RESUME only. A `{seq, body}` object kept per
 * session per event made a full 1,000-frame buffer 49.4 KB of heap per session; references alone
 * are 10.4 KB (bench/README.md, #14).
 */
export class ReplayBuffer {
  private readonly bodies: (FrameBody | undefined)[] = [];
  private start = 0;
  private count = 0;
  /** seq of the newest frame kept. */
  private last = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  /** `frame.seq` must follow the previous frame's (the first one may start anywhere). */
  push(frame: SequencedFrame): void {
    if (this.count > 0 && frame.seq !== this.last + 1) throw new RangeError(`replay buffer: seq ${frame.seq} does not follow ${this.last}`);
    this.last = frame.seq;
    if (this.count < this.capacity) {
      this.bodies[(this.start + this.count) % this.capacity] = frame.body;
      this.count++;
    } else {
      this.bodies[this.start] = frame.body;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** Every frame after `seq`, oldest first; null when some of them were already dropped. */
  after(seq: number): SequencedFrame[] | null {
    const out: SequencedFrame[] = [];
    if (this.count === 0 || seq >= this.last) return out;
    const oldest = this.last - this.count + 1;
    if (seq + 1 < oldest) return null;
    for (let next = seq + 1; next <= this.last; next++) out.push({ seq: next, body: this.bodies[(this.start + next - oldest) % this.capacity]! });
    return out;
  }

  clear(): void {
    this.bodies.length = 0;
    this.start = 0;
    this.count = 0;
  }
}
