import { GatewayCloseCodes } from '../protocol.ts';

/**
 * The reason text every close carries, as Discord words it (websocket close reasons are at most
 * 123 bytes). The detail of why a connection was closed goes to the logs, not to the client.
 * 4000 is also the reconnectable close guildcast picks for slow consumers and drains.
 */
const CLOSE_REASONS: Readonly<Record<GatewayCloseCodes, string>> = {
  [GatewayCloseCodes.UnknownError]: 'Reconnect and resume.',
  [GatewayCloseCodes.UnknownOpcode]: 'Unknown opcode.',
  [GatewayCloseCodes.DecodeError]: 'Error while decoding payload.',
  [GatewayCloseCodes.NotAuthenticated]: 'Not authenticated.',
  [GatewayCloseCodes.AuthenticationFailed]: 'Authentication failed.',
  [GatewayCloseCodes.AlreadyAuthenticated]: 'Already authenticated.',
  [GatewayCloseCodes.InvalidSeq]: 'Invalid seq.',
  [GatewayCloseCodes.RateLimited]: 'Rate limited.',
  [GatewayCloseCodes.SessionTimedOut]: 'Session timed out.',
  [GatewayCloseCodes.InvalidShard]: 'Invalid shard.',
  [GatewayCloseCodes.ShardingRequired]: 'Sharding required.',
  [GatewayCloseCodes.InvalidAPIVersion]: 'Invalid API version.',
  [GatewayCloseCodes.InvalidIntents]: 'Invalid intent(s).',
  [GatewayCloseCodes.DisallowedIntents]: 'Disallowed intent(s).',
};

export function closeReason(code: GatewayCloseCodes): string {
  return CLOSE_REASONS[code];
}

/** A client command the server refuses, and the close code that answers it. */
export class ProtocolViolation extends Error {
  override name = 'ProtocolViolation';
  constructor(
    readonly code: GatewayCloseCodes,
    detail: string,
  ) {
    super(detail);
  }
}
