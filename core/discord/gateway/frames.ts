/**
 * A dispatch frame is `{"t":<type>,"s":<seq>,"op":0,"d":<d>}`. Only `s` differs between sessions,
 * so an event is serialized once into a head and a tail and each session's frame is the two with
 * its sequence number spliced between them: no JSON work per session.
 */
export interface FrameBody {
  readonly head: Buffer;
  readonly tail: Buffer;
  /** Unix ms the event entered guildcast (0 for frames the server made itself): the start of lag. */
  readonly receivedAt: number;
}

/** One session's dispatch: shared body, own sequence number. Also what the replay buffer keeps. */
export interface SequencedFrame {
  readonly seq: number;
  readonly body: FrameBody;
}

/** A frame due to a socket: a dispatch (shared body + seq) or a whole control frame. */
export type Outgoing = SequencedFrame | Buffer;

const heads = new Map<string, Buffer>();
function headFor(type: string): Buffer {
  let head = heads.get(type);
  if (!head) {
    head = Buffer.from(`{"t":${JSON.stringify(type)},"s":`);
    if (heads.size < 1024) heads.set(type, head); // dispatch names are a small fixed set; don't let junk grow it
  }
  return head;
}

export function frameBody(type: string, d: unknown, receivedAt = 0): FrameBody {
  return { head: headFor(type), tail: ownBuffer(`,"op":0,"d":${JSON.stringify(d ?? null)}}`), receivedAt };
}

/**
 * `text` in a buffer of its own. A body lives on in replay buffers for a thousand events, and
 * `Buffer.from` puts a short string in a slice of Node's shared pool (64 KiB slabs on Node 24),
 * whose other slices are the writers' transient flush buffers: each kept body held a whole slab of
 * garbage, and the external memory that piled up made V8 mark the heap more often. In alternated
 * e2e trials (broadcast, 80 msg/s) the edge used 4-6 points of a core less with this, and less GC.
 */
function ownBuffer(text: string): Buffer {
  const out = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  out.write(text);
  return out;
}

export function frameLength(frame: SequencedFrame): number {
  return frame.body.head.length + digits(frame.seq) + frame.body.tail.length;
}

export function digits(n: number): number {
  let count = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    count++;
  }
  return count;
}

/** Writes the frame's JSON at `offset` of `target`; returns the offset after it. */
export function writeFrame(frame: SequencedFrame, target: Buffer, offset: number): number {
  offset += frame.body.head.copy(target, offset);
  offset += target.write(String(frame.seq), offset, 'latin1');
  return offset + frame.body.tail.copy(target, offset);
}

/** One frame's JSON as its own buffer. */
export function frameBytes(frame: Outgoing): Buffer {
  if (Buffer.isBuffer(frame)) return frame;
  const out = Buffer.allocUnsafe(frameLength(frame));
  writeFrame(frame, out, 0);
  return out;
}

/** A whole non-dispatch frame (HELLO, ACK, ...), built once. */
export function controlFrame(op: number, d: unknown): Buffer {
  return Buffer.from(JSON.stringify({ op, d, s: null, t: null }));
}
