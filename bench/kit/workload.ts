import { SnowflakeGenerator } from '../../core/discord/snowflake.ts';
import { MessageFactory } from '../../infra/discord-sim/payloads.ts';
import { seededRandom, type Random } from '../../infra/discord-sim/random.ts';
import { buildWorld, type World } from '../../infra/discord-sim/world.ts';

/**
 * The bench's synthetic chat: the simulator's world (guilds, channels, members with real snowflake
 * ids) and its message factory, so every scenario sends the same shapes the simulator does.
 */
/** The shape of a run's load that every scenario shares (CLI options, scenario options). */
export interface LoadShape {
  durationSeconds: number;
  warmupSeconds: number;
  guilds: number;
  channelsPerGuild: number;
  contentBytes: { min: number; max: number };
  /** Websocket sessions subscribed. */
  clients: number;
}

export interface Workload {
  world: World;
  random: Random;
  /** A MESSAGE_CREATE payload in a guild picked uniformly, content length uniform in [min, max]. */
  nextMessage(): { guildId: string; channelId: string; d: Record<string, unknown> };
}

export function createWorkload({ guilds, channelsPerGuild, contentBytes, seed = 7 }: { guilds: number | readonly string[]; channelsPerGuild: number; contentBytes: { min: number; max: number }; seed?: number }): Workload {
  const random = seededRandom(seed);
  const world = buildWorld({ shardCount: 1, guilds, channelsPerGuild, random });
  const messages = new MessageFactory(new SnowflakeGenerator({ workerId: 7, processId: 7 }));
  const filler = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor '.repeat(40);
  return {
    world,
    random,
    nextMessage() {
      const guild = random.pick(world.guilds);
      const channel = random.pick(guild.channels);
      const author = random.pick(guild.members);
      const length = random.int(contentBytes.min, contentBytes.max);
      return { guildId: guild.id, channelId: channel.id, d: messages.create(guild, channel, author, filler.slice(0, length)) };
    },
  };
}
