/** Gateway v10 opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes). */
export const Op = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/**
 * Client commands the edge accepts but has nothing to do with: guildcast relays events, it does
 * not own presences, voice or member lists. They still count against the command rate limit.
 */
export const IGNORED_CLIENT_OPS: ReadonlySet<number> = new Set([Op.PresenceUpdate, Op.VoiceStateUpdate, Op.RequestGuildMembers]);
