import cassandra from 'cassandra-driver';
import type { Registry } from 'prom-client';
import { stateChangeRecord } from '../../core/events/state-change.ts';
import { isSnowflake } from '../../core/discord/snowflake.ts';
import type { KafkaClient, Producer } from '../../core/kafka/types.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { retryWithBackoff } from '../../core/retry/backoff.ts';
import type { CqlClient } from '../cql/client.ts';
import { guardUnavailable } from '../errors.ts';
import { applyBotSettingsPatch, botSettingsSchema, DEFAULT_BOT_SETTINGS, type BotSettings } from './bot-settings.ts';
import { invalidatedCache } from './invalidated-cache.ts';
import { followStateChanges, invalidateOn, type StateChangeSource } from './state-changes-follower.ts';

/** The table's side: read and compare-and-set one guild's settings. */
export interface BotSettingsRepository {
  /** The stored settings (undefined: never written); `serial`: through Paxos, for a compare-and-set that follows. */
  read(guildId: string, options?: { serial?: boolean }): Promise<{ settings: BotSettings; raw: string } | undefined>;
  /** Writes `next` if the row still holds `expected` (undefined: no row yet); false when another writer came first. */
  compareAndSet(guildId: string, expected: string | undefined, next: BotSettings): Promise<boolean>;
}

const MAX_STORABLE_ID = (1n << 63n) - 1n;

/** Concurrent updates of one guild retried before giving up (each retry re-reads and re-merges). */
const MAX_CONFLICTS = 16;

export class BotSettingsConflictError extends Error {
  override name = 'BotSettingsConflictError';
}

export function botSettingsRepository(client: CqlClient, keyspace: string): BotSettingsRepository {
  const { consistencies } = cassandra.types;
  const select = `SELECT settings FROM ${keyspace}.bot_settings WHERE guild_id = ?`;
  const insert = `INSERT INTO ${keyspace}.bot_settings (guild_id, settings, updated_at) VALUES (?, ?, ?) IF NOT EXISTS`;
  const update = `UPDATE ${keyspace}.bot_settings SET settings = ?, updated_at = ? WHERE guild_id = ? IF settings = ?`;
  // Conditional writes are not idempotent: a retried one that landed the first time reports a conflict.
  const lwt = { prepare: true, isIdempotent: false, serialConsistency: consistencies.localSerial };
  return {
    async read(guildId, { serial = false } = {}) {
      const consistency = serial ? consistencies.localSerial : consistencies.localQuorum;
      const result = await guardUnavailable('bot settings read', () => client.execute(select, [BigInt(guildId)], { prepare: true, consistency }));
      const raw = result.first()?.get('settings') as string | null | undefined;
      if (raw == null) return undefined;
      const parsed = botSettingsSchema.safeParse(JSON.parse(raw));
      // Written only through this module, validated: anything else is a bug or a hand edit, not a user error.
      if (!parsed.success) throw new Error(`stored bot settings of guild ${guildId} do not validate: ${parsed.error.message}`);
      return { settings: parsed.data, raw };
    },
    async compareAndSet(guildId, expected, next) {
      const text = JSON.stringify(next);
      const result = await guardUnavailable('bot settings write', () =>
        expected === undefined
          ? client.execute(insert, [BigInt(guildId), text, new Date()], lwt)
          : client.execute(update, [text, new Date(), BigInt(guildId), expected], lwt),
      );
      return result.wasApplied();
    },
  };
}

export interface BotSettingsOptions {
  client: CqlClient;
  keyspace: string;
  /** Produces the `settings` state-change after each update; also reads the topic unless `changes` is given. */
  kafka: KafkaClient;
  topics: { stateChanges: string; deadLetter: string };
  /** Invalidations already followed by this process (shared with the guild-state cache); default: a follower of its own. */
  changes?: StateChangeSource;
  /** Longest a cached entry is served without an invalidation (default 60 s). */
  ttlMs?: number;
  /** Guilds cached at most (default 10 000). */
  max?: number;
  /** What `get` answers for a guild never written (default DEFAULT_BOT_SETTINGS). */
  defaults?: BotSettings;
  logger?: Logger;
  registry?: Registry;
}

export interface BotSettingsStore {
  /** The guild's settings (the defaults until written), from the cache or the store; frozen, since callers share it. */
  get(guildId: string): Promise<BotSettings>;
  /**
   * Applies a partial update (bot-settings.ts: fields replace, `extra` merges) with a
   * compare-and-set, then announces it on `state-changes`, so every process's next `get` reads it.
   * Throws BotSettingsValidationError for an invalid patch; returns the settings written.
   */
  update(guildId: string, patch: unknown): Promise<BotSettings>;
  /** Resolves once invalidations are followed. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * The bot's per-guild settings for a bot's worker process (or the api role): store + read-through
 * cache + invalidation on `state-changes`.
 */
export async function createBotSettings(options: BotSettingsOptions): Promise<BotSettingsStore> {
  const { client, keyspace, kafka, topics, ttlMs = 60_000, max = 10_000, defaults = DEFAULT_BOT_SETTINGS, registry } = options;
  const logger = (options.logger ?? silentLogger).child({ component: 'bot-settings' });
  const repository = botSettingsRepository(client, keyspace);
  const cache = invalidatedCache<BotSettings>({ name: 'bot_settings', max, ttlMs, ...(registry ? { registry } : {}), load: async (guildId) => deepFreeze((await repository.read(guildId))?.settings) });
  const producer: Producer = kafka.producer();
  await producer.connect();
  const follower = options.changes ? undefined : await followStateChanges({ kafka, topics, logger, ...(registry ? { registry } : {}) }).catch(async (err) => {
    await producer.disconnect();
    throw err;
  });
  const unsubscribe = invalidateOn(options.changes ?? follower!, { guilds: [cache] });

  const checkGuild = (guildId: string) => {
    if (!isSnowflake(guildId) || BigInt(guildId) > MAX_STORABLE_ID) throw new TypeError(`guild id ${JSON.stringify(guildId)} is not a storable snowflake`);
  };

  return {
    ready: follower?.ready ?? Promise.resolve(),
    async get(guildId) {
      checkGuild(guildId);
      return (await cache.get(guildId)) ?? defaults;
    },
    async update(guildId, patch) {
      checkGuild(guildId);
      let next: BotSettings | undefined;
      for (let attempt = 0; next === undefined; attempt++) {
        if (attempt >= MAX_CONFLICTS) throw new BotSettingsConflictError(`settings of guild ${guildId} changed under ${MAX_CONFLICTS} updates in a row`);
        const stored = await repository.read(guildId, { serial: true });
        const candidate = applyBotSettingsPatch(stored?.settings ?? defaults, patch);
        if (await repository.compareAndSet(guildId, stored?.raw, candidate)) next = candidate;
      }
      // This process sees its own write at once, whatever the topic does.
      cache.drop(guildId);
      let tries = 0;
      await retryWithBackoff(
        () => producer.send({ topic: topics.stateChanges, messages: [stateChangeRecord({ v: 1, kind: 'settings', guild_id: guildId, at: Date.now() })] }),
        { minMs: 100, maxMs: 2_000, retryable: () => ++tries < 5, onRetry: (err) => logger.warn({ err, guild_id: guildId }, 'cannot announce a settings change yet; retrying') },
      ).catch((err) => {
        // The write stands; other processes see it once their entry's TTL ends.
        logger.error({ err, guild_id: guildId, ttl_ms: ttlMs }, 'settings written but the state-changes record could not be produced');
        throw err;
      });
      return next;
    },
    async close() {
      unsubscribe();
      await Promise.allSettled([follower?.stop(), producer.disconnect()]);
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
