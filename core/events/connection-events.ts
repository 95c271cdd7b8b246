/**
 * Dispatches that belong to ingest's own gateway connection rather than to any guild's stream:
 * they describe (or hand out credentials for) that one connection, so a client that received
 * them would adopt the bot's upstream session. Ingest never publishes them as events and the edge
 * drops any already on the topic. From discord-api-types' GatewayDispatchEvents:
 * - READY: the bot's `session_id`, `resume_gateway_url`, user and application;
 * - RESUMED: the end of the bot's own replay;
 * - RATE_LIMITED: an answer to a command the bot's connection sent (op 8);
 * - VOICE_SERVER_UPDATE: the voice `token` and endpoint of the bot's own voice connection.
 * VOICE_STATE_UPDATE carries the bot's session id only for the bot's own voice state, which needs
 * an op 4 ingest never sends; other users' voice states are ordinary guild data and still flow.
 */
export const CONNECTION_DISPATCHES: ReadonlySet<string> = new Set(['READY', 'RESUMED', 'RATE_LIMITED', 'VOICE_SERVER_UPDATE']);

export function isConnectionDispatch(type: unknown): boolean {
  return typeof type === 'string' && CONNECTION_DISPATCHES.has(type);
}
