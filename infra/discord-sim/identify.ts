import { GatewayCloseCodes } from '../../core/discord/protocol.ts';
import { ProtocolViolation } from '../../core/discord/gateway/close-codes.ts';

/**
 * What Discord checks in IDENTIFY, as the simulator plays it: the one bot token (4004), intents
 * (4013), and the shard pair against the recommended count (4011 too few, 4010 otherwise).
 * Returns the shard id; throws ProtocolViolation with the close code.
 */
export function identifiedShard(d: unknown, settings: { token: string; shardCount: number }): number {
  if (!isRecord(d)) throw new ProtocolViolation(GatewayCloseCodes.DecodeError, 'IDENTIFY needs an object d');
  if (d.token !== settings.token) throw new ProtocolViolation(GatewayCloseCodes.AuthenticationFailed, 'authentication failed');
  if (typeof d.intents !== 'number' || !Number.isInteger(d.intents) || d.intents < 0)
    throw new ProtocolViolation(GatewayCloseCodes.InvalidIntents, 'intents must be a non-negative integer');
  const { shardCount } = settings;
  if (d.shard === undefined) {
    if (shardCount > 1) throw new ProtocolViolation(GatewayCloseCodes.ShardingRequired, `sharding required: shard [i, ${shardCount}]`);
    return 0;
  }
  const pair = d.shard;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every(Number.isInteger)) throw new ProtocolViolation(GatewayCloseCodes.InvalidShard, 'shard must be [id, count]');
  const [id, count] = pair as [number, number];
  if (count !== shardCount) {
    const code = count < shardCount ? GatewayCloseCodes.ShardingRequired : GatewayCloseCodes.InvalidShard;
    throw new ProtocolViolation(code, `shard count must be ${shardCount}, got ${count}`);
  }
  if (id < 0 || id >= count) throw new ProtocolViolation(GatewayCloseCodes.InvalidShard, `shard id must be 0..${count - 1}, got ${id}`);
  return id;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
