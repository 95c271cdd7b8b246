import { randomBytes } from 'node:crypto';
import type { AccessGrant } from './tokens.ts';
import { ReplayBuffer } from './replay-buffer.ts';
import { Intent } from './protocol/intents.ts';
import type { FrameBody, PreparedEvent, SequencedFrame } from './serialize.ts';

/** Where a session's frames go while it has a connection. */
export interface FrameSink {
  send(frame: SequencedFrame): void;
  /** Drops the connection; a RESUME elsewhere replaced it. */
  terminate(): void;
}

/**
 * One gateway session: what it may see and the frames it was sent. It outlives its connection by
 * the resume window: events keep landing in the replay buffer, and a RESUME attaches a new
 * connection and replays what the old one missed.
 */
export class Session {
  readonly id = randomBytes(16).toString('hex');
  private seq = 0;
  private readonly replay: ReplayBuffer;
  private sink: FrameSink | null = null;
  /** Frames appended since the last connection went away; past the buffer's capacity nothing can resume. */
  private missedWhileDetached = 0;
  /** Set when the session can no longer be resumed (overflow or expiry). */
  invalidated = false;
  expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly grant: AccessGrant,
    readonly shard: readonly [number, number],
    readonly intents: number,
    replayCapacity: number,
    private readonly onOverflow: (session: Session) => void,
  ) {
    this.replay = new ReplayBuffer(replayCapacity);
  }

  get sequence(): number {
    return this.seq;
  }

  get current(): FrameSink | null {
    return this.sink;
  }

  get attached(): boolean {
    return this.sink !== null;
  }

  wants(event: PreparedEvent): boolean {
    return event.intent === 0 || (this.intents & event.intent) !== 0;
  }

  deliver(event: PreparedEvent): void {
    this.dispatch((this.intents & Intent.MessageContent) !== 0 ? event.body : event.withoutContent());
  }

  /** Gives `body` this session's next sequence number, keeps it for RESUME and sends it if connected. */
  dispatch(body: FrameBody): void {
    if (this.invalidated) return;
    const frame = { seq: ++this.seq, body };
    this.replay.push(frame);
    if (this.sink) this.sink.send(frame);
    else if (++this.missedWhileDetached > this.replay.capacity) {
      this.invalidated = true;
      this.replay.clear();
      this.onOverflow(this);
    }
  }

  attach(sink: FrameSink): void {
    this.sink = sink;
    this.missedWhileDetached = 0;
  }

  detach(sink: FrameSink): void {
    if (this.sink === sink) this.sink = null;
  }

  /** The frames a client that last saw `seq` missed; null when they are gone or `seq` is from the future. */
  framesAfter(seq: number): SequencedFrame[] | null {
    if (this.invalidated || seq > this.seq) return null;
    return this.replay.after(seq);
  }
}
