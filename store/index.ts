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
