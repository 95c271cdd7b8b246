import { REST } from '@discordjs/rest';
import { WebSocketManager, type SessionInfo } from '@discordjs/ws';
import { GatewayIntentBits } from 'discord-api-types/v10';

/**
 * An unmodified @discordjs/ws client of one shard pointed at a guildcast edge (its REST base is
 * the only change), as a bot's worker would run it. Session info is kept synchronously in memory:
 * async session callbacks were seen reordering dispatches (REFERENCE.md). No identify throttle:
 * tests connect one client at a time.
 */
export function edgeGatewayClient({ edgeBase, token, shard }: { edgeBase: string; token: string; shard?: readonly [id: number, count: number] }): WebSocketManager {
  const sessions = new Map<number, SessionInfo | null>();
  return new WebSocketManager({
    token,
    rest: new REST({ api: `${edgeBase}/api` }).setToken(token),
    intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent,
    shardCount: shard ? shard[1] : 1,
    ...(shard ? { shardIds: [shard[0]] } : {}),
    buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }),
    retrieveSessionInfo: (id) => sessions.get(id) ?? null,
    updateSessionInfo: (id, info) => void sessions.set(id, info),
  });
}
