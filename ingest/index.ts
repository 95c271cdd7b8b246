/** The ingest role's public surface (ingest/README.md). */
export { loadIngestConfig, ingestEnv, type IngestConfig } from './config.ts';
export { startIngest, startIngestRole, type IngestDeps, type IngestRole } from './role.ts';
export { httpIngestPlugin, GUILD_ID_HEADER, type HttpIngestOptions } from './http.ts';
export { EventSink, type Rejected } from './sink.ts';
export { envelopeFromDispatch, gatewayEventId } from './envelope.ts';
export { decodeCheckpoint } from './checkpoints.ts';
export type { Checkpoint } from './sessions.ts';
export { fetchBotUser } from './bot-user.ts';
