import type { EventEnvelope } from '../core/events/envelope.ts';
import { CONTENT_BEARING_TYPES, requiredIntent } from './protocol/intents.ts';

/**
 * A dispatch frame is `{"t":<type>,"s":<seq>,"op":0,"d":<d>}`. Only `s` differs between sessions,
 * so an event is serialized once into a head and a tail and each session's frame is the two with
 * its sequence number spliced between them: no JSON work per session.
 */
export interface FrameBody {
  readonly head: Buffer;
  readonly tail: Buffer;
  /** Unix ms the event entered guildcast (0 for frames the edge made itself): the start of lag. */
  readonly receivedAt: number;
}

/** One session's dispatch: shared body, own sequence number. Also what the replay buffer keeps. */
export interface SequencedFrame {
  readonly seq: number;
  readonly body: FrameBody;
}

export interface PreparedEvent {
  readonly type: string;
  readonly guildId: string | undefined;
  /** The id the shard formula applies to: the guild's (events without one belong to shard 0). */
  readonly shardKey: bigint | undefined;
  /** Intent bit a session needs to receive it; 0 for none. */
  readonly intent: number;
  readonly body: FrameBody;
  /** The variant for sessions without MESSAGE_CONTENT; the same body when nothing is blanked. */
  readonly withoutContent: () => FrameBody;
}

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
  return { head: headFor(type), tail: Buffer.from(`,"op":0,"d":${JSON.stringify(d ?? null)}}`), receivedAt };
}

/** Discord blanks these for apps without the MESSAGE_CONTENT intent (outside DMs). */
const CONTENT_FIELDS = { content: '', embeds: [], attachments: [], components: [] } as const;

export function prepareEvent(event: EventEnvelope): PreparedEvent {
  const body = frameBody(event.type, event.d, event.received_at);
  const inGuild = event.guild_id !== undefined;
  let redacted: FrameBody | undefined;
  const needsRedaction = inGuild && CONTENT_BEARING_TYPES.has(event.type) && typeof event.d === 'object' && event.d !== null;
  return {
    type: event.type,
    guildId: event.guild_id,
    shardKey: event.guild_id === undefined ? undefined : BigInt(event.guild_id),
    intent: requiredIntent(event.type, inGuild),
    body,
    withoutContent: needsRedaction
      ? () => (redacted ??= frameBody(event.type, blankContent(event.d as Record<string, unknown>), event.received_at))
      : () => body,
  };
}

function blankContent(d: Record<string, unknown>): Record<string, unknown> {
  const out = { ...d };
  for (const [field, blank] of Object.entries(CONTENT_FIELDS)) if (field in out) out[field] = blank;
  if ('poll' in out) delete out.poll;
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

/** A whole non-dispatch frame (HELLO, ACK, ...), built once. */
export function controlFrame(op: number, d: unknown): Buffer {
  return Buffer.from(JSON.stringify({ op, d, s: null, t: null }));
}
