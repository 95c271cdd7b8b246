/** The store's public surface: other modules import only from here. */
export { loadStoreConfig, storeEnv, messageStoreSettings, type StoreConfig } from './config.ts';
export { createCqlClient, type CqlClient } from './cql/client.ts';
export { migrate, type MigrateOptions } from './schema/migrate.ts';
export { migrations, type Migration } from './schema/migrations.ts';
export { DISCORD_EPOCH, SnowflakeGenerator, isSnowflake, parseSnowflake, snowflakeAt, timestampOf, type Snowflake } from './model/snowflake.ts';
export { BUCKET_SIZE_MS, bucketOf, bucketsAscending, bucketsDescending } from './model/bucket.ts';
export { parseMessageCreate, parseMessageEdit, InvalidMessageError, type StoredMessage } from './model/message.ts';
export { StoreUnavailableError, StoreValidationError, isUnavailable, type ValidationFailure } from './errors.ts';
export { HISTORY_LIMIT, type HistoryQuery } from './read/history.ts';
export { createMessageStore, type MessageStore, type MessageStoreOptions, type SnowflakeInput } from './repository.ts';
export { historyRoutes, createHistoryApi, type HistoryRoutesOptions } from './http/routes.ts';
