import { shardFor } from '../../core/events/partition.ts';
import { DISCORD_EPOCH, parseSnowflake, timestampOf } from '../../core/discord/snowflake.ts';
import type { Random } from './random.ts';

/**
 * The simulated bot's world: its guilds with channels and members. Ids are real snowflakes whose
 * timestamps lie in the past, spread so that the guilds divide evenly over the shards (a guild's
 * shard depends only on its creation millisecond).
 */
export interface SimUser {
  id: string;
  username: string;
}

export interface SimChannel {
  id: string;
  name: string;
  position: number;
}

export interface SimGuild {
  id: string;
  shard: number;
  name: string;
  ownerId: string;
  createdAt: number;
  channels: SimChannel[];
  members: SimUser[];
}

export interface World {
  readonly shardCount: number;
  readonly guilds: readonly SimGuild[];
  readonly guildsById: ReadonlyMap<string, SimGuild>;
  readonly guildsByShard: readonly (readonly SimGuild[])[];
  readonly bot: SimUser;
  readonly applicationId: string;
}

export interface WorldOptions {
  shardCount: number;
  guilds: number | readonly string[];
  channelsPerGuild: number;
  membersPerGuild?: number;
  random: Random;
}

const FIRST_GUILD_MS = Date.UTC(2016, 0, 1);
const LAST_GUILD_MS = Date.UTC(2024, 0, 1);
const DAY_MS = 86_400_000;

export function buildWorld({ shardCount, guilds, channelsPerGuild, membersPerGuild = 16, random }: WorldOptions): World {
  const ids = new IdMaker(random);
  const guildIds = typeof guilds === 'number' ? balancedGuildIds(guilds, shardCount, ids, random) : guilds.map(checkedGuildId);
  if (new Set(guildIds).size !== guildIds.length) throw new RangeError('guild ids must be unique');
  const list = guildIds.map((id, index): SimGuild => {
    const createdAt = timestampOf(BigInt(id));
    const channels = Array.from({ length: channelsPerGuild }, (_, position) => ({
      id: ids.at(createdAt + random.int(0, 30 * DAY_MS)),
      name: position === 0 ? 'general' : `channel-${position}`,
      position,
    }));
    const members = Array.from({ length: membersPerGuild }, (_, n) => ({
      id: ids.at(random.int(FIRST_GUILD_MS - 365 * DAY_MS, LAST_GUILD_MS)),
      username: `user${index}_${n}`,
    }));
    return { id, shard: shardFor(BigInt(id), shardCount), name: `guild ${index}`, ownerId: members[0]?.id ?? id, createdAt, channels, members };
  });
  const guildsByShard: SimGuild[][] = Array.from({ length: shardCount }, () => []);
  for (const guild of list) guildsByShard[guild.shard]!.push(guild);
  return {
    shardCount,
    guilds: list,
    guildsById: new Map(list.map((g) => [g.id, g])),
    guildsByShard,
    bot: { id: ids.at(FIRST_GUILD_MS), username: 'guildcast-sim' },
    applicationId: ids.at(FIRST_GUILD_MS),
  };
}

function checkedGuildId(id: string): string {
  if (parseSnowflake(id) === undefined) throw new RangeError(`guild id ${JSON.stringify(id)} is not a decimal snowflake`);
  return id;
}

/** Guild i gets a creation millisecond congruent to i modulo the shard count: every shard gets its share. */
function balancedGuildIds(count: number, shardCount: number, ids: IdMaker, random: Random): string[] {
  const n = BigInt(shardCount);
  return Array.from({ length: count }, (_, i) => {
    const since = BigInt(random.int(FIRST_GUILD_MS, LAST_GUILD_MS)) - DISCORD_EPOCH;
    return ids.at(Number(since - (since % n) + (BigInt(i) % n) + DISCORD_EPOCH));
  });
}

/** Snowflakes for given past milliseconds, unique within one world. */
class IdMaker {
  private readonly issued = new Set<string>();
  constructor(private readonly random: Random) {}

  at(ms: number): string {
    for (;;) {
      const id = ((BigInt(ms) - DISCORD_EPOCH) << 22n) | BigInt(this.random.int(0, 0x3fffff));
      const text = id.toString();
      if (!this.issued.has(text)) {
        this.issued.add(text);
        return text;
      }
    }
  }
}
