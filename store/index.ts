/** The store's public surface: other modules import only from here. */
export { loadStoreConfig, storeEnv, messageStoreSettings, type StoreConfig } from './config.ts';
export { createCqlClient, type CqlClient } from './cql/client.ts';
export { migrate, type MigrateOptions } from './schema/migrate.ts';
export { migrations, type Migration } from './schema/migrations.ts';
// Snowflakes and bucket math live in core/discord: import them from there. The id type stays
// here because the store's signatures use it.
export type { Snowflake } from '../core/discord/snowflake.ts';
export { parseMessageCreate, parseMessageEdit, InvalidMessageError, type StoredMessage } from './model/message.ts';
export { StoreUnavailableError, StoreValidationError, isUnavailable, type ValidationFailure } from './errors.ts';
export { HISTORY_LIMIT, type HistoryQuery } from './read/history.ts';
export { createMessageStore, type MessageStore, type MessageStoreOptions, type SnowflakeInput } from './repository.ts';
export { historyRoutes, createHistoryApi, type HistoryRoutesOptions } from './http/routes.ts';
export { replyStoreUnavailable, withStoreDeadline } from './http/unavailable.ts';
export {
  createGatewaySessionStore,
  encodeGatewaySession,
  decodeGatewaySession,
  MAX_STORED_CHECKPOINTS,
  type GatewaySessionStore,
  type StoredGatewaySession,
  type StoredCheckpoint,
  type StoredFeedPosition,
} from './state/gateway-session-store.ts';
export { createGuildStateStore, type GuildStateStore, type GuildStateStoreOptions, type GuildStateChange } from './state/guild-state-store.ts';
// Guild state and the bot's settings: read-through caches dropped by `state-changes` records.
export { invalidatedCache, type InvalidatedCache, type InvalidatedCacheOptions } from './state/invalidated-cache.ts';
export {
  followStateChanges,
  invalidateOn,
  memoryStateChanges,
  readStateChanges,
  type StateChangeListener,
  type StateChangeSource,
  type StateChangesFollower,
  type StateChangesFollowerOptions,
} from './state/state-changes-follower.ts';
export { cachedGuildState, memoryGuildState, type CachedGuildState, type CachedGuildStateOptions, type GuildChannel, type GuildStateReader } from './state/guild-state-cache.ts';
export {
  applyBotSettingsPatch,
  botSettingsSchema,
  botSettingsPatchSchema,
  BotSettingsValidationError,
  DEFAULT_BOT_SETTINGS,
  EXTRA_LIMITS,
  type BotSettings,
  type BotSettingsPatch,
} from './state/bot-settings.ts';
export { createBotSettings, botSettingsRepository, BotSettingsConflictError, type BotSettingsOptions, type BotSettingsRepository, type BotSettingsStore } from './state/bot-settings-store.ts';
