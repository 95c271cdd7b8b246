import { randomBytes } from 'node:crypto';
import type { FrameBody, SequencedFrame } from './frames.ts';
import { ReplayBuffer } from './replay-buffer.ts';

/** Where a session's frames go while it has a connection. */
export interface FrameSink {
  send(frame: SequencedFrame): void;
  /** Drops the connection; a RESUME elsewhere replaced it. */
  terminate(): void;
}

export interface SessionOptions {
  /** Frames kept for RESUME. */
  replayCapacity: number;
  /**
   * Called once when more frames than the replay buffer holds were dispatched while no connection
   * was attached: nothing can resume it any more, so it stops buffering. Without it, the buffer
   * just keeps the newest frames and a RESUME from before them gets op 9.
   */
  onOverflow?: (session: GatewaySession) => void;
  /** An existing session's id (taken over from another process); default a fresh random one. */
  id?: string;
  /** The last seq the session already sent (taken over: the client's), so its next frame is `seq + 1`; default 0. */
  seq?: number;
}

/**
 * One gateway session: its sequence numbers and the frames it was sent. It outlives its connection
 * by the resume window: frames keep landing in the replay buffer, and a RESUME attaches a new
 * connection and replays what the old one missed.
 */
export class GatewaySession {
  readonly id: string;
  private seq: number;
  private readonly replay: ReplayBuffer;
  private sink: FrameSink | null = null;
  /** Frames appended since the last connection went away. */
  private missedWhileDetached = 0;
  private readonly onOverflow: ((session: GatewaySession) => void) | undefined;
  /** Set when the session can no longer be resumed (overflow, expiry, forgotten). */
  invalidated = false;
  expiryTimer: NodeJS.Timeout | undefined;

  constructor(options: SessionOptions) {
    this.id = options.id ?? randomBytes(16).toString('hex');
    this.seq = options.seq ?? 0;
    this.replay = new ReplayBuffer(options.replayCapacity);
    this.onOverflow = options.onOverflow;
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

  /** Gives `body` this session's next sequence number, keeps it for RESUME and sends it if connected; returns the seq (0: invalidated, not sent). */
  dispatch(body: FrameBody): number {
    if (this.invalidated) return 0;
    const frame = { seq: ++this.seq, body };
    this.replay.push(frame);
    if (this.sink) this.sink.send(frame);
    else if (this.onOverflow && ++this.missedWhileDetached > this.replay.capacity) {
      this.invalidated = true;
      this.replay.clear();
      this.onOverflow(this);
    }
    return frame.seq;
  }

  attach(sink: FrameSink): void {
    this.sink = sink;
    this.missedWhileDetached = 0;
  }

  /** Returns whether `sink` was the attached one. */
  detach(sink: FrameSink): boolean {
    if (this.sink !== sink) return false;
    this.sink = null;
    return true;
  }

  /** The frames a client that last saw `seq` missed; null when they are gone or `seq` is from the future. */
  framesAfter(seq: number): SequencedFrame[] | null {
    if (this.invalidated || seq > this.seq) return null;
    return this.replay.after(seq);
  }
}
