import { randomBytes } from 'node:crypto';

/** Where a session's frames go while it has a connection. */
export interface FrameSink {
  send(frame: string): void;
  terminate(): void;
}

/**
 * The newest `capacity` dispatch frames of a session, by seq, already serialized so a replay sends
 * exactly the bytes of the first delivery.
 */
export class ReplayBuffer {
  private frames: string[] = [];
  private firstSeq = 1;

  constructor(private readonly capacity: number) {}

  push(seq: number, frame: string): void {
    if (this.frames.length === 0) this.firstSeq = seq;
    this.frames.push(frame);
    // Trim in chunks so dropping the oldest frame is not a copy per dispatch.
    if (this.frames.length >= 2 * this.capacity) {
      const drop = this.frames.length - this.capacity;
      this.frames = this.frames.slice(drop);
      this.firstSeq += drop;
    }
  }

  /** Frames with seq > `seq`, or undefined when some of them were already dropped. */
  after(seq: number): string[] | undefined {
    const oldestKept = Math.max(this.firstSeq, this.firstSeq + this.frames.length - this.capacity);
    if (seq + 1 < oldestKept) return undefined;
    return this.frames.slice(Math.max(0, seq + 1 - this.firstSeq));
  }
}

/** One gateway session: its seq counter and replay buffer outlive the connections it resumes on. */
export class GatewaySession {
  readonly id = randomBytes(16).toString('hex');
  seq = 0;
  sink: FrameSink | undefined;
  expiry: NodeJS.Timeout | undefined;
  private readonly buffer: ReplayBuffer;

  constructor(
    readonly shard: number,
    replayBufferSize: number,
  ) {
    this.buffer = new ReplayBuffer(replayBufferSize);
  }

  /** Takes the next seq, keeps the frame for RESUME and sends it now if a connection is attached. */
  dispatch(t: string, d: unknown): number {
    const seq = ++this.seq;
    const frame = JSON.stringify({ op: 0, t, s: seq, d });
    this.buffer.push(seq, frame);
    this.sink?.send(frame);
    return seq;
  }

  framesAfter(seq: number): string[] | undefined {
    return this.buffer.after(seq);
  }
}

export interface SessionStoreOptions {
  resumeWindowMs: number;
  replayBufferSize: number;
  onExpired?: (session: GatewaySession) => void;
}

/**
 * Sessions by id, and the current one per shard (the one traffic goes to). A session without a
 * connection stays resumable for the resume window, buffering its shard's dispatches meanwhile.
 */
export class SessionStore {
  private readonly byId = new Map<string, GatewaySession>();
  private readonly currentByShard = new Map<number, GatewaySession>();
  private live: number[] = [];

  constructor(private readonly options: SessionStoreOptions) {}

  /** A new session for `shard`; the shard's previous session gets no further traffic. */
  create(shard: number): GatewaySession {
    const session = new GatewaySession(shard, this.options.replayBufferSize);
    this.byId.set(session.id, session);
    this.currentByShard.set(shard, session);
    this.refreshLive();
    return session;
  }

  get(id: string): GatewaySession | undefined {
    return this.byId.get(id);
  }

  current(shard: number): GatewaySession | undefined {
    return this.currentByShard.get(shard);
  }

  currentSessions(): GatewaySession[] {
    return [...this.currentByShard.values()];
  }

  /** Shards that have a session (connected or resumable), in ascending order. */
  liveShards(): readonly number[] {
    return this.live;
  }

  attach(session: GatewaySession, sink: FrameSink): void {
    if (session.sink && session.sink !== sink) session.sink.terminate();
    clearTimeout(session.expiry);
    session.expiry = undefined;
    session.sink = sink;
  }

  /** The connection went away: the session stays resumable for the resume window. */
  detach(session: GatewaySession, sink: FrameSink): void {
    if (session.sink !== sink) return;
    session.sink = undefined;
    if (!this.byId.has(session.id)) return;
    session.expiry = setTimeout(() => {
      this.remove(session);
      this.options.onExpired?.(session);
    }, this.options.resumeWindowMs);
    session.expiry.unref();
  }

  remove(session: GatewaySession): void {
    clearTimeout(session.expiry);
    this.byId.delete(session.id);
    if (this.currentByShard.get(session.shard) === session) {
      this.currentByShard.delete(session.shard);
      this.refreshLive();
    }
  }

  clear(): void {
    for (const session of this.byId.values()) clearTimeout(session.expiry);
    this.byId.clear();
    this.currentByShard.clear();
    this.live = [];
  }

  private refreshLive(): void {
    this.live = [...this.currentByShard.keys()].sort((a, b) => a - b);
  }
}
