import type { Registry } from 'prom-client';
import { GatewayDispatchEvents as E } from 'discord-api-types/v10';
import {
  applyGuildEvent,
  changedChannelIds,
  channelIdsOf,
  deletedChannelIds,
  findChannel,
  guildEventProblem,
  guildIdOf,
  isGuildStateEvent,
  type GuildEvent,
  type GuildObject,
  type GuildSnapshot,
} from '../../core/discord/guild-state.ts';
import { isSnowflake } from '../../core/discord/snowflake.ts';
import { partitionFor } from '../../core/events/partition.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import type { CqlClient } from '../cql/client.ts';
import { Limiter } from '../cql/limiter.ts';
import { guardUnavailable, StoreValidationError, type ValidationFailure } from '../errors.ts';
import { storeMetrics } from '../metrics.ts';

export interface GuildStateStoreOptions {
  client: CqlClient;
  keyspace: string;
  registry: Registry;
  logger?: Logger;
  /** Statements in flight across all writes of this store (default 64). */
  writeConcurrency?: number;
  /** Driver read timeout for each read, in ms (default 2000). */
  readTimeoutMs?: number;
  now?: () => number;
  /** Rows per page of a partition's guild list (default 5000). */
  pageSize?: number;
}

/** What one `applyGuildEvents` call did to one guild: the `state-changes` record to announce it. */
export interface GuildStateChange {
  guild_id: string;
  /** Channels and threads added, replaced or removed (for caches keyed by channel). */
  channel_ids: string[];
}

/**
 * Durable guild state (tables of migration 0002): one snapshot row per guild (the reducer's
 * `GuildSnapshot` as JSON), kept in step with `channel_guilds` (channel or thread → guild) and
 * `guilds_by_partition` (the guilds of each partition of the events topic, for that partition count).
 */
export interface GuildStateStore {
  /**
   * Applies guild-state events (others are ignored) in order: per guild, one read of the snapshot,
   * the reducer over that guild's events, then the lookups and last the snapshot written. Written
   * last so that a write that failed halfway is repeated whole: the retry reads the old snapshot
   * and recomputes the same changes (re-applying events converges).
   *
   * A batch with any malformed event (guildEventProblem, or an id a CQL bigint cannot hold) is
   * refused whole with StoreValidationError naming the positions; StoreUnavailableError means retry.
   *
   * Returns the guilds to announce on `state-changes`: every guild a guild-state event concerned,
   * even when the event changed nothing, except for member events (nothing a cache serves) and
   * outages (GUILD_DELETE with `unavailable`), which count only when they changed the snapshot. A
   * retried batch finds its first attempt's writes already there (a delete finds nothing to
   * delete, an archived thread is already gone), and its announcement must not be lost; a spare
   * one only costs a cache a read. `channel_ids`: channels and threads the events named, added,
   * replaced or removed.
   */
  applyGuildEvents(events: readonly GuildEvent[], options: { partitions: number }): Promise<GuildStateChange[]>;
  loadGuild(guildId: string | bigint): Promise<GuildSnapshot | undefined>;
  /** The guild a channel or thread belongs to. Archived threads keep theirs (their history stays readable). */
  guildOfChannel(channelId: string | bigint): Promise<string | undefined>;
  /** Guild ids on `partition` of a topic with `partitions` partitions (partitionFor of the guild id). */
  guildsOnPartition(partition: number, partitions: number): Promise<string[]>;
  /** The channel or active thread from its guild's snapshot, with `guild_id` as Discord's channel object has it. */
  getChannel(channelId: string | bigint): Promise<(GuildObject & { id: string; guild_id: string }) | undefined>;
}

const MAX_STORABLE_ID = (1n << 63n) - 1n;

export function createGuildStateStore(options: GuildStateStoreOptions): GuildStateStore {
  const { client, keyspace: ks, writeConcurrency = 64, readTimeoutMs = 2000, now = Date.now, pageSize = 5000 } = options;
  const logger = (options.logger ?? silentLogger).child({ component: 'guild-state-store' });
  const metrics = storeMetrics(options.registry);
  const slots = new Limiter(writeConcurrency);
  const readOptions = { prepare: true, readTimeout: readTimeoutMs };
  const cql = {
    selectSnapshot: `SELECT snapshot FROM ${ks}.guild_state WHERE guild_id = ?`,
    upsertSnapshot: `INSERT INTO ${ks}.guild_state (guild_id, snapshot, updated_at) VALUES (?, ?, ?)`,
    deleteSnapshot: `DELETE FROM ${ks}.guild_state WHERE guild_id = ?`,
    selectChannel: `SELECT guild_id FROM ${ks}.channel_guilds WHERE channel_id = ?`,
    insertChannel: `INSERT INTO ${ks}.channel_guilds (channel_id, guild_id) VALUES (?, ?)`,
    deleteChannel: `DELETE FROM ${ks}.channel_guilds WHERE channel_id = ?`,
    selectPartition: `SELECT guild_id FROM ${ks}.guilds_by_partition WHERE partitions = ? AND partition = ?`,
    insertPartition: `INSERT INTO ${ks}.guilds_by_partition (partitions, partition, guild_id) VALUES (?, ?, ?)`,
    deletePartition: `DELETE FROM ${ks}.guilds_by_partition WHERE partitions = ? AND partition = ? AND guild_id = ?`,
  };

  const write = (kind: string, query: string, params: unknown[]) => {
    metrics.dbQueries.inc({ query: kind });
    return slots.run(() => client.execute(query, params, { prepare: true }));
  };

  async function readSnapshot(guildId: bigint): Promise<GuildSnapshot | undefined> {
    metrics.dbQueries.inc({ query: 'guild_state_get' });
    const row = (await guardUnavailable('guild state read', () => client.execute(cql.selectSnapshot, [guildId], readOptions))).first();
    const text = row?.get('snapshot') as string | null | undefined;
    if (text == null) return undefined;
    try {
      return JSON.parse(text) as GuildSnapshot;
    } catch (err) {
      // Written only by this store; a GUILD_CREATE replaces it. Until then the guild reads as unknown.
      logger.error({ err, guild_id: String(guildId) }, 'stored guild snapshot is not JSON; treated as absent');
      return undefined;
    }
  }

  async function guildOfChannel(channelId: string | bigint): Promise<string | undefined> {
    const id = validId(channelId, 'channel_id');
    metrics.dbQueries.inc({ query: 'channel_guilds_get' });
    const row = (await guardUnavailable('channel lookup', () => client.execute(cql.selectChannel, [id], readOptions))).first();
    const guild = row?.get('guild_id') as bigint | null | undefined;
    return guild == null ? undefined : String(guild);
  }

  async function applyToGuild(guildId: string, events: GuildEvent[], partitions: number): Promise<GuildStateChange | undefined> {
    const id = BigInt(guildId);
    const stored = await readSnapshot(id);
    let state: GuildSnapshot | null | undefined = stored;
    let changed = false;
    // Whether the guild is announced even if nothing changed (see `applyGuildEvents`).
    let announce = false;
    const unmapped = new Set<string>();
    const named = new Set<string>();
    for (const event of events) {
      const d = event.d as GuildObject;
      if (event.type === E.ChannelDelete || event.type === E.ThreadDelete) {
        // Also when the snapshot no longer lists it: an archived thread keeps its lookup until deleted.
        unmapped.add(String(d.id));
      }
      if (CHANNEL_EVENTS.has(event.type)) named.add(String(d.id));
      if (!event.type.startsWith('GUILD_MEMBER_') && !(event.type === E.GuildDelete && d.unavailable === true)) announce = true;
      const next = applyGuildEvent(state ?? undefined, event);
      if (next === undefined) continue;
      for (const gone of deletedChannelIds(state ?? undefined, next, event)) unmapped.add(gone);
      state = next;
      changed = true;
    }
    if (!changed && !announce) return undefined;

    const present = new Set(state ? channelIdsOf(state) : []);
    const touched = changed ? changedChannelIds(stored, state) : [];
    const removals = [...unmapped].filter((c) => !present.has(c));
    const partition = partitionFor(id, partitions);
    await guardUnavailable(`guild state write of guild ${guildId}`, async () => {
      await Promise.all([
        ...removals.map((c) => write('channel_guilds_delete', cql.deleteChannel, [BigInt(c)])),
        ...(state ? touched.filter((c) => present.has(c)).map((c) => write('channel_guilds_insert', cql.insertChannel, [BigInt(c), id])) : []),
        ...(!changed ? [] : state ? [write('guilds_by_partition_insert', cql.insertPartition, [partitions, partition, id])] : [write('guilds_by_partition_delete', cql.deletePartition, [partitions, partition, id])]),
      ]);
      if (!changed) return;
      if (state) await write('guild_state_put', cql.upsertSnapshot, [id, JSON.stringify(state), new Date(now())]);
      else await write('guild_state_delete', cql.deleteSnapshot, [id]);
    });
    return { guild_id: guildId, channel_ids: [...new Set([...touched, ...unmapped, ...named])] };
  }

  return {
    async applyGuildEvents(events, { partitions }) {
      const failures: ValidationFailure[] = [];
      const byGuild = new Map<string, GuildEvent[]>();
      events.forEach((event, index) => {
        if (!isGuildStateEvent(event.type)) return;
        const reason = guildEventProblem(event) ?? unstorable(event);
        if (reason !== undefined) return void failures.push({ index, reason });
        const guild = guildIdOf(event)!;
        let list = byGuild.get(guild);
        if (!list) byGuild.set(guild, (list = []));
        list.push(event);
      });
      if (failures.length > 0) throw new StoreValidationError(failures);
      try {
        const changes = await Promise.all([...byGuild].map(([guild, list]) => applyToGuild(guild, list, partitions)));
        return changes.filter((c) => c !== undefined);
      } catch (err) {
        logger.warn({ err, guilds: byGuild.size }, 'guild state write failed');
        throw err;
      }
    },

    async loadGuild(guildId) {
      return readSnapshot(validId(guildId, 'guild_id'));
    },

    guildOfChannel,

    async guildsOnPartition(partition, partitions) {
      if (!Number.isInteger(partitions) || partitions < 1 || !Number.isInteger(partition) || partition < 0 || partition >= partitions)
        throw new StoreValidationError([{ reason: `partition ${partition} of ${partitions} is not a partition` }]);
      const guilds: string[] = [];
      let pageState: string | undefined;
      do {
        metrics.dbQueries.inc({ query: 'guilds_by_partition_page' });
        const result = await guardUnavailable('guilds of a partition', () =>
          client.execute(cql.selectPartition, [partitions, partition], { ...readOptions, fetchSize: pageSize, ...(pageState ? { pageState } : {}) }),
        );
        for (const row of result.rows) guilds.push(String(row.get('guild_id') as bigint));
        pageState = result.pageState ?? undefined;
      } while (pageState);
      return guilds;
    },

    async getChannel(channelId) {
      const id = String(validId(channelId, 'channel_id'));
      const guildId = await guildOfChannel(id);
      if (guildId === undefined) return undefined;
      const snapshot = await readSnapshot(BigInt(guildId));
      const channel = snapshot && findChannel(snapshot, id);
      return channel ? { ...channel, id, guild_id: guildId } : undefined;
    },
  };
}

/** Ids the tables key on must fit a CQL bigint; guildEventProblem has checked they are snowflakes. */
function unstorable(event: GuildEvent): string | undefined {
  const d = event.d as GuildObject;
  const ids = [guildIdOf(event)];
  if (event.type.startsWith('CHANNEL_') || event.type.startsWith('THREAD_')) ids.push(d.id as string | undefined);
  for (const key of ['channels', 'threads'] as const)
    if (Array.isArray(d[key])) for (const c of d[key] as GuildObject[]) ids.push(c.id as string);
  const bad = ids.find((id) => id !== undefined && isSnowflake(id) && BigInt(id) > MAX_STORABLE_ID);
  return bad === undefined ? undefined : `${event.type}: id ${bad} is beyond what the store holds (2^63 - 1)`;
}

const CHANNEL_EVENTS: ReadonlySet<string> = new Set<string>([E.ChannelCreate, E.ChannelUpdate, E.ChannelDelete, E.ThreadCreate, E.ThreadUpdate, E.ThreadDelete]);

function validId(value: unknown, field: string): bigint {
  const text = typeof value === 'bigint' ? String(value) : value;
  if (!isSnowflake(text) || BigInt(text) > MAX_STORABLE_ID) throw new StoreValidationError([{ reason: `${field} ${JSON.stringify(String(value))} is not a storable snowflake` }]);
  return BigInt(text);
}
