import type { Registry } from 'prom-client';
import { findChannel, type GuildObject, type GuildSnapshot } from '../../core/discord/guild-state.ts';
import { isSnowflake } from '../../core/discord/snowflake.ts';
import type { GuildStateStore } from './guild-state-store.ts';
import { invalidatedCache } from './invalidated-cache.ts';
import { invalidateOn, type StateChangeSource } from './state-changes-follower.ts';

/** The store's point lookups the cache reads through (guild-state-store.ts in a role, memory in tests). */
export type GuildStateReader = Pick<GuildStateStore, 'loadGuild' | 'guildOfChannel'>;

/** A channel or thread object with its guild, as Discord's channel object has it. */
export type GuildChannel = GuildObject & { id: string; guild_id: string };

export interface CachedGuildState {
  guild(guildId: string): Promise<GuildSnapshot | undefined>;
  guildOfChannel(channelId: string): Promise<string | undefined>;
  /** The channel or thread with its `guild_id`, as Discord's channel object has it. */
  channel(channelId: string): Promise<GuildChannel | undefined>;
  close(): void;
}

export interface CachedGuildStateOptions {
  changes: StateChangeSource;
  ttlMs: number;
  /** Entries per cache (guilds; channel → guild). */
  max: number;
  registry?: Registry;
}

/**
 * Guild state through two read-through caches, guilds by id and channel → guild, dropped by
 * `state-changes` records (the guild's entry, and the entries of the channels the change added
 * or removed). A channel object is read from its guild's snapshot rather than cached on its own,
 * so a channel's update, which names only its guild, cannot leave a stale copy behind.
 */
export function cachedGuildState(reader: GuildStateReader, { changes, ttlMs, max, registry }: CachedGuildStateOptions): CachedGuildState {
  const metrics = registry ? { registry } : {};
  // An id the tables cannot hold (above 2^63 - 1) names nothing stored: absent, not an error.
  const guilds = invalidatedCache<GuildSnapshot>({ name: 'guilds', max, ttlMs, load: async (id) => (storable(id) ? reader.loadGuild(id) : undefined), ...metrics });
  const channelGuilds = invalidatedCache<string>({ name: 'channel_guilds', max, ttlMs, load: async (id) => (storable(id) ? reader.guildOfChannel(id) : undefined), ...metrics });
  const unsubscribe = invalidateOn(changes, { guilds: [guilds], channels: [channelGuilds] });
  const guildOfChannel = (channelId: string) => channelGuilds.get(channelId);
  return {
    guild: (guildId) => guilds.get(guildId),
    guildOfChannel,
    async channel(channelId) {
      const guildId = await guildOfChannel(channelId);
      if (guildId === undefined) return undefined;
      const snapshot = await guilds.get(guildId);
      const found = snapshot && findChannel(snapshot, channelId);
      return found && { ...found, id: channelId, guild_id: guildId };
    },
    close: unsubscribe,
  };
}

const MAX_STORABLE_ID = (1n << 63n) - 1n;
const storable = (id: string) => isSnowflake(id) && BigInt(id) <= MAX_STORABLE_ID;

/** A reader over plain maps, for unit tests and tools. */
export function memoryGuildState(guilds: readonly GuildSnapshot[] = []) {
  const byId = new Map<string, GuildSnapshot>();
  const reads = { guilds: 0, channels: 0 };
  const reader = {
    reads,
    /** Makes every read fail as an unreachable database does. */
    failing: undefined as Error | undefined,
    put(snapshot: GuildSnapshot) {
      byId.set(snapshot.id, snapshot);
    },
    remove(guildId: string) {
      byId.delete(guildId);
    },
    async loadGuild(guildId: string | bigint) {
      reads.guilds++;
      if (reader.failing) throw reader.failing;
      return byId.get(String(guildId));
    },
    async guildOfChannel(channelId: string | bigint) {
      reads.channels++;
      if (reader.failing) throw reader.failing;
      for (const g of byId.values()) if (findChannel(g, String(channelId))) return g.id;
      return undefined;
    },
  };
  for (const g of guilds) reader.put(g);
  return reader satisfies GuildStateReader;
}
