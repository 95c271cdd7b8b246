/**
 * Discord's gateway close codes, and the one guildcast uses for its own reconnectable closes.
 * 4004 and 4010–4014 tell a client not to reconnect; the others let it RESUME.
 */
export const CloseCode = {
  /** Reconnectable close chosen by guildcast for slow consumers and drains: clients RESUME after it. */
  UnknownError: 4000,
  UnknownOpcode: 4001,
  DecodeError: 4002,
  NotAuthenticated: 4003,
  AuthenticationFailed: 4004,
  AlreadyAuthenticated: 4005,
  InvalidSeq: 4007,
  RateLimited: 4008,
  SessionTimedOut: 4009,
  InvalidShard: 4010,
  InvalidApiVersion: 4012,
  InvalidIntents: 4013,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Every close the edge sends carries one of these reasons (websocket close reasons are at most 123 bytes). */
export const CLOSE_REASONS: Record<CloseCode, string> = {
  [CloseCode.UnknownError]: 'Reconnect and resume.',
  [CloseCode.UnknownOpcode]: 'Unknown opcode.',
  [CloseCode.DecodeError]: 'Error while decoding payload.',
  [CloseCode.NotAuthenticated]: 'Not authenticated.',
  [CloseCode.AuthenticationFailed]: 'Authentication failed.',
  [CloseCode.AlreadyAuthenticated]: 'Already authenticated.',
  [CloseCode.InvalidSeq]: 'Invalid seq.',
  [CloseCode.RateLimited]: 'Rate limited.',
  [CloseCode.SessionTimedOut]: 'Session timed out.',
  [CloseCode.InvalidShard]: 'Invalid shard.',
  [CloseCode.InvalidApiVersion]: 'Invalid API version.',
  [CloseCode.InvalidIntents]: 'Invalid intent(s).',
};

/** A client command the edge refuses, and the close code that answers it. */
export class ProtocolViolation extends Error {
  override name = 'ProtocolViolation';
  constructor(
    readonly code: CloseCode,
    detail: string,
  ) {
    super(detail);
  }
}
