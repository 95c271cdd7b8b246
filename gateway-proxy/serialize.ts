import type { EventEnvelope } from '../core/events/envelope.ts';
import { frameBody, type FrameBody } from '../core/discord/gateway/frames.ts';
import { CONTENT_BEARING_TYPES, requiredIntent } from './protocol/intents.ts';

/** An event as the edge fans it out: serialized once (core/discord/gateway/frames.ts), with what decides who gets it. */
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
