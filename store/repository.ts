import type { Registry } from 'prom-client';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { CqlClient } from './cql/client.ts';
import { messageStatements, type BoundValue } from './cql/statements.ts';
import { guardUnavailable, StoreValidationError, type ValidationFailure } from './errors.ts';
import { storeMetrics } from './metrics.ts';
import {
  InvalidMessageError,
  parseMessageCreate,
  parseMessageEdit,
  storableId,
  toStoredMessage,
  type MessageKey,
  type StoredMessage,
} from './model/message.ts';
import { bucketOf } from '../core/discord/bucket.ts';
import type { Snowflake } from '../core/discord/snowflake.ts';
import { EmptyBucketCache } from './read/empty-buckets.ts';
import { createHistoryReader, normalizeHistoryQuery, type HistoryQuery, type PartitionRequest } from './read/history.ts';
import { SingleFlight } from './read/single-flight.ts';
import { Limiter } from './cql/limiter.ts';


export interface MessageStoreOptions {
  client: CqlClient;
  keyspace: string;
  registry: Registry;
  logger?: Logger;
  /** Statements in flight across all writes of this store (default 64). */
  writeConcurrency?: number;
  /** Driver read timeout for each read query, in ms (default 2000). */
  readTimeoutMs?: number;
  /** The empty-bucket memory (default 100 000 entries, trusted for 10 minutes). */
  emptyBuckets?: { maxEntries: number; ttlMs: number };
  now?: () => number;
}

export type SnowflakeInput = Snowflake | string;

/**
 * The message repository the fanout consumer writes through and the API reads from. Writes take
 * Discord gateway payloads and reject a batch with any invalid item (StoreValidationError, to be
 * dead-lettered) before writing anything; a database that cannot be reached surfaces as
 * StoreUnavailableError (pause and retry). Reads return Discord message objects; results of
 * coalesced reads are shared between callers and must not be mutated.
 */
export interface MessageStore {
  /** MESSAGE_CREATE payloads. Idempotent: the same message twice is one row. */
  upsertMessages(messages: readonly unknown[]): Promise<void>;
  /** MESSAGE_UPDATE payloads: `id`, `channel_id` and the fields that changed. */
  applyEdits(partials: readonly unknown[]): Promise<void>;
  /** MESSAGE_DELETE and MESSAGE_DELETE_BULK. */
  deleteMessages(channelId: SnowflakeInput, ids: readonly SnowflakeInput[]): Promise<void>;
  getMessage(channelId: SnowflakeInput, messageId: SnowflakeInput): Promise<StoredMessage | undefined>;
  /** One page, newest first, with Discord's limit/before/after/around semantics. */
  history(channelId: SnowflakeInput, query?: HistoryQuery): Promise<readonly StoredMessage[]>;
}

export function createMessageStore(options: MessageStoreOptions): MessageStore {
  const { client, keyspace, writeConcurrency = 64, readTimeoutMs = 2000, now = Date.now } = options;
  const logger = (options.logger ?? silentLogger).child({ component: 'store' });
  const metrics = storeMetrics(options.registry);
  const cql = messageStatements(keyspace);
  const emptyBuckets = new EmptyBucketCache({ maxEntries: 100_000, ttlMs: 600_000, ...options.emptyBuckets, now });
  const histories = new SingleFlight<readonly StoredMessage[]>(() => metrics.coalescedReads.inc({ read: 'history' }));
  const singles = new SingleFlight<StoredMessage | undefined>(() => metrics.coalescedReads.inc({ read: 'message' }));
  const readOptions = { prepare: true, readTimeout: readTimeoutMs };
  // One bound for every write of this store, however many callers write at once.
  const writeSlots = new Limiter(writeConcurrency);

  let lastMicros = 0n;
  /** Strictly increasing, so two edits within one millisecond keep their order. */
  const nowMicros = () => {
    const micros = BigInt(now()) * 1000n;
    lastMicros = micros > lastMicros ? micros : lastMicros + 1n;
    return lastMicros;
  };

  async function write(kind: 'insert' | 'edit' | 'delete', query: string, params: BoundValue[][]): Promise<void> {
    if (params.length === 0) return;
    metrics.dbQueries.inc({ query: kind }, params.length);
    try {
      await guardUnavailable<unknown>(`${kind} of ${params.length} messages`, () =>
        Promise.all(params.map((p) => writeSlots.run(() => client.execute(query, p, { prepare: true })))),
      );
    } catch (err) {
      logger.warn({ err, kind, statements: params.length }, 'store write failed');
      throw err;
    }
  }

  /** After a write: the buckets it touched are no longer empty, and reads must not join older queries. */
  function written(keys: readonly MessageKey[]): void {
    const channels = new Set<string>();
    for (const key of keys) {
      emptyBuckets.invalidate(key.channelId, key.bucket);
      channels.add(`${key.channelId}`);
    }
    const ofWrittenChannel = (k: string) => channels.has(k.slice(2, k.indexOf(':', 2)));
    histories.forget(ofWrittenChannel);
    singles.forget(ofWrittenChannel);
  }

  async function readPartition(request: PartitionRequest) {
    const { channelId, bucket, direction, bound, limit } = request;
    const statements = cql.page[direction];
    const [query, params] =
      bound === undefined ? [statements.whole, [channelId, bucket, limit]] : [statements.bounded, [channelId, bucket, bound, limit]];
    metrics.dbQueries.inc({ query: 'history_page' });
    const result = await guardUnavailable('history read', () => client.execute(query, params, readOptions));
    return result.rows.map((row) => ({ id: row.message_id as bigint, message: toStoredMessage(row) }));
  }

  const readHistory = createHistoryReader({
    readPartition,
    emptyBuckets,
    now,
    onSkip: () => metrics.emptyBucketsSkipped.inc(),
  });

  return {
    async upsertMessages(messages) {
      const rows = parseAll(messages, parseMessageCreate);
      await write('insert', cql.insert, rows.map(cql.insertParams));
      written(rows);
    },

    async applyEdits(partials) {
      const edits = parseAll(partials, parseMessageEdit);
      const params = edits.map((edit) => cql.editParams(edit, nowMicros())).filter((p) => p !== undefined);
      await write('edit', cql.edit, params);
      written(edits);
    },

    async deleteMessages(channelId, ids) {
      // Failures name positions in `ids`, so a bad channel id fails each of them.
      const channel = validId(channelId, 'channel_id', ids.length);
      const keys = parseAll(ids, (id) => {
        const messageId = storableId(id, 'id');
        return { channelId: channel, bucket: bucketOf(messageId), messageId };
      });
      await write('delete', cql.delete, keys.map((key) => cql.deleteParams(key, nowMicros())));
      written(keys);
    },

    async getMessage(channelId, messageId) {
      const channel = validId(channelId, 'channel_id');
      const id = validId(messageId, 'message_id');
      return singles.run(`m:${channel}:${id}`, async () => {
        metrics.dbQueries.inc({ query: 'message_get' });
        const result = await guardUnavailable('message read', () =>
          client.execute(cql.selectOne, [channel, bucketOf(id), id], readOptions),
        );
        const row = result.first();
        return row ? toStoredMessage(row) : undefined;
      });
    },

    async history(channelId, query = {}) {
      const channel = validId(channelId, 'channel_id');
      const page = normalizeHistoryQuery(query);
      const key = `h:${channel}:${page.limit}:${page.before ?? ''}:${page.after ?? ''}:${page.around ?? ''}`;
      return histories.run(key, async () => Object.freeze(await readHistory(channel, page)));
    },
  };
}

function parseAll<I, O>(items: readonly I[], parse: (item: I) => O): O[] {
  const out: O[] = [];
  const failures: ValidationFailure[] = [];
  items.forEach((item, index) => {
    try {
      out.push(parse(item));
    } catch (err) {
      if (!(err instanceof InvalidMessageError)) throw err;
      failures.push({ index, reason: err.message });
    }
  });
  if (failures.length > 0) throw new StoreValidationError(failures);
  return out;
}

/** A StoreValidationError for a bad id; with `items`, it names every position of a batch it spoils. */
function validId(value: unknown, field: string, items = 0): Snowflake {
  try {
    return storableId(value, field);
  } catch (err) {
    if (!(err instanceof InvalidMessageError)) throw err;
    const reason = err.message;
    throw new StoreValidationError(items > 0 ? Array.from({ length: items }, (_, index) => ({ index, reason })) : [{ reason }]);
  }
}
