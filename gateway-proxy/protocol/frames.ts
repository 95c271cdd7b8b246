import { z } from 'zod';
import { GatewayCloseCodes, GatewayOpcodes } from '../../core/discord/protocol.ts';
import { ProtocolViolation } from '../../core/discord/gateway/close-codes.ts';
import { parseIntents } from './intents.ts';

/**
 * What the edge requires of IDENTIFY (the protocol envelope, heartbeats and RESUME are decoded by
 * core/discord/gateway). Each way it can be wrong maps to the close code Discord answers it with.
 */
const identifyData = z.object({
  token: z.string().min(1).max(4096),
  properties: z.record(z.string(), z.unknown()).optional(),
  intents: z.unknown(),
  shard: z.unknown().optional(),
  compress: z.boolean().optional(),
  large_threshold: z.number().optional(),
  presence: z.unknown().optional(),
});

const shardPair = z.tuple([z.number().int().min(0), z.number().int().min(1)]).refine(([id, count]) => id < count);

export interface Identify {
  token: string;
  intents: number;
  /** `[shard_id, num_shards]`; `[0, 1]` when the client sent none. */
  shard: readonly [number, number];
}

/**
 * Client commands the edge accepts but has nothing to do with: guildcast relays events, it does
 * not own presences, voice or member lists. They still count against the command rate limit.
 */
export const IGNORED_CLIENT_OPS: ReadonlySet<number> = new Set([GatewayOpcodes.PresenceUpdate, GatewayOpcodes.VoiceStateUpdate, GatewayOpcodes.RequestGuildMembers]);

/** IDENTIFY's `d`, validated; throws ProtocolViolation with the close code to send. */
export function parseIdentify(d: unknown, limits: { maxShards: number }): Identify {
  const identify = identifyData.safeParse(d);
  if (!identify.success) throw new ProtocolViolation(GatewayCloseCodes.DecodeError, 'invalid IDENTIFY payload');
  const intents = parseIntents(identify.data.intents);
  if (intents === null) throw new ProtocolViolation(GatewayCloseCodes.InvalidIntents, 'intents must be an integer of known intent bits');
  let shard: readonly [number, number] = [0, 1];
  if (identify.data.shard !== undefined) {
    const parsed = shardPair.safeParse(identify.data.shard);
    if (!parsed.success || parsed.data[1] > limits.maxShards)
      throw new ProtocolViolation(GatewayCloseCodes.InvalidShard, `shard must be [id, count] with 0 <= id < count <= ${limits.maxShards}`);
    shard = parsed.data;
  }
  return { token: identify.data.token, intents, shard };
}
