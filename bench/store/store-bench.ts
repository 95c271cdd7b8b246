import cassandra from 'cassandra-driver';
import hdr from 'hdr-histogram-js';
import { Registry } from 'prom-client';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { bucketOf } from '../../core/discord/bucket.ts';
import { snowflakeAt, SnowflakeGenerator } from '../../core/discord/snowflake.ts';
import { createCqlClient, createMessageStore, migrate, type StoreConfig } from '../../store/index.ts';

export interface StoreBenchOptions {
  config: Pick<StoreConfig, 'CASSANDRA_CONTACT_POINTS' | 'CASSANDRA_LOCAL_DC' | 'CASSANDRA_USERNAME' | 'CASSANDRA_PASSWORD' | 'CASSANDRA_REPLICATION'>;
  /** Messages per measured insert round; `rounds` rounds each for the store and the raw driver, interleaved. */
  messagesPerRound?: number;
  rounds?: number;
  /** Messages per `upsertMessages` call, like one fanout chunk. */
  batchSize?: number;
  writeConcurrency?: number;
  channels?: number;
  readSeconds?: number;
  /** Concurrent readers; one measurement per entry. */
  readConcurrency?: readonly number[];
  logger?: Logger;
}

export interface StoreBenchResult {
  /** `ratio` is the median over rounds of store rate / raw rate in the adjacent round. */
  insert: { messagesPerRound: number; rounds: number; batchSize: number; writeConcurrency: number; storePerSecond: number; rawDriverPerSecond: number; ratio: number };
  /**
   * One entry per reader concurrency; the goal is judged on the first. `raw` is the driver alone on
   * the same readers and channels: one prepared SELECT of the same columns from the partition that
   * holds the page, rows left undecoded. The two alternate in halves (store, raw, raw, store).
   */
  history: {
    limit: 50;
    channels: number;
    concurrency: number;
    requests: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    dbQueries: number;
    coalescedReads: number;
    raw: { requests: number; p50Ms: number; p99Ms: number; maxMs: number };
  }[];
  goals: { insertAtLeast80PercentOfRaw: boolean; latest50P99AtMost15Ms: boolean };
}

/**
 * Insert throughput of the store next to the bare driver (`executeConcurrent` of the same prepared
 * INSERT with pre-encoded rows) on the same node in the same run, then latest-50 history latency
 * under concurrent readers. Uses a throw-away keyspace, dropped at the end.
 */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function runStoreBench(options: StoreBenchOptions): Promise<StoreBenchResult> {
  const {
    config,
    messagesPerRound = 15_000,
    rounds = 4,
    batchSize = 1000,
    writeConcurrency = 64,
    channels = 200,
    readSeconds = 10,
    readConcurrency = [8, 32],
    logger = silentLogger,
  } = options;
  const client = createCqlClient(config);
  const keyspace = `bench_store_${Date.now().toString(36)}`;
  try {
    await client.connect();
    await migrate(client, { keyspace, replication: config.CASSANDRA_REPLICATION });
    const registry = new Registry();
    const store = createMessageStore({ client, keyspace, registry, writeConcurrency });

    // Channels made 25 days ago: a cold history walk crosses three or four buckets, as in real life.
    const channelIds = Array.from({ length: channels }, (_, i) => snowflakeAt(Date.now() - 25 * 86_400_000) + BigInt(i));
    const ids = new SnowflakeGenerator({ workerId: 1 });
    const payloads = (count: number) =>
      Array.from({ length: count }, (_, i) => {
        const channel = channelIds[i % channels]!;
        return {
          id: ids.next().toString(),
          channel_id: channel.toString(),
          guild_id: '1000000000000000000',
          author: { id: `${80351110224678912n + BigInt(i % 500)}`, username: `user${i % 500}`, discriminator: '0', avatar: null, global_name: null },
          content: `message ${i}: the quick brown fox jumps over the lazy dog`.repeat(1 + (i % 3)),
          type: 0,
          tts: false,
          mention_everyone: false,
          mentions: [],
          mention_roles: [],
          attachments: [],
          embeds: i % 10 === 0 ? [{ type: 'rich', title: 'an embed', description: 'with a description' }] : [],
          pinned: false,
          flags: 0,
          components: [],
          nonce: `${i}`,
        };
      });

    // The baseline: a hand-written INSERT of the same columns, values encoded before the clock starts.
    const rawColumns = ['channel_id', 'bucket', 'message_id', 'author_id', 'author', 'content', 'guild_id', 'type', 'tts', 'mention_everyone',
      'mentions', 'mention_roles', 'attachments', 'embeds', 'pinned', 'flags', 'components', 'nonce'];
    const rawInsert = `INSERT INTO ${keyspace}.messages (${rawColumns.join(', ')}) VALUES (${rawColumns.map(() => '?').join(', ')})`;
    const raw = async (messages: ReturnType<typeof payloads>) => {
      const params = messages.map((m) => {
        const id = BigInt(m.id);
        return [BigInt(m.channel_id), bucketOf(id), id, BigInt(m.author.id), JSON.stringify(m.author), m.content, BigInt(m.guild_id), m.type, m.tts,
          m.mention_everyone, JSON.stringify(m.mentions), JSON.stringify(m.mention_roles), JSON.stringify(m.attachments), JSON.stringify(m.embeds),
          m.pinned, m.flags, JSON.stringify(m.components), JSON.stringify(m.nonce)];
      });
      const started = performance.now();
      await cassandra.concurrent.executeConcurrent(client, rawInsert, params, { concurrencyLevel: writeConcurrency, raiseOnFirstError: true, collectResults: false });
      return performance.now() - started;
    };
    const viaStore = async (messages: ReturnType<typeof payloads>) => {
      const started = performance.now();
      for (let i = 0; i < messages.length; i += batchSize) await store.upsertMessages(messages.slice(i, i + batchSize));
      return performance.now() - started;
    };

    logger.info({ keyspace }, 'warming up');
    await raw(payloads(3000));
    await viaStore(payloads(3000));
    // The node is shared and its speed drifts (compaction, other work): alternate short rounds and
    // compare each store round with the raw round next to it.
    const ratios: number[] = [];
    let rawMs = 0;
    let storeMs = 0;
    for (let round = 0; round < rounds; round++) {
      const r = await raw(payloads(messagesPerRound));
      const s = await viaStore(payloads(messagesPerRound));
      rawMs += r;
      storeMs += s;
      ratios.push(r / s);
      logger.info({ round, rawMs: Math.round(r), storeMs: Math.round(s) }, 'insert round done');
    }
    const rawDriverPerSecond = Math.round((rounds * messagesPerRound) / (rawMs / 1000));
    const storePerSecond = Math.round((rounds * messagesPerRound) / (storeMs / 1000));
    const ratio = Math.round(median(ratios) * 1000) / 1000;

    // Every message of the rounds above was made just now, so each channel's latest 50 are in the newest bucket.
    const newestBucket = bucketOf(ids.next());
    const rawPage = `SELECT channel_id, message_id, ${rawColumns.slice(3).join(', ')} FROM ${keyspace}.messages WHERE channel_id = ? AND bucket = ? LIMIT 50`;
    const reads: StoreBenchResult['history'] = [];
    for (const concurrency of readConcurrency) reads.push(await measureReads(concurrency));
    const goalRead = reads[0]!;
    return {
      insert: { messagesPerRound, rounds, batchSize, writeConcurrency, storePerSecond, rawDriverPerSecond, ratio },
      history: reads,
      goals: { insertAtLeast80PercentOfRaw: ratio >= 0.8, latest50P99AtMost15Ms: goalRead.p99Ms <= 15 },
    };

    /**
     * Readers picking random channels for the latest 50: the store (fresh, so cold caches) and the
     * driver alone, alternated in halves so that neither gets the quieter stretch of the node.
     */
    async function measureReads(concurrency: number): Promise<StoreBenchResult['history'][number]> {
      const readRegistry = new Registry();
      const reader = createMessageStore({ client, keyspace, registry: readRegistry });
      const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
      const viaStore = { histogram: histogram(), requests: 0 };
      const viaDriver = { histogram: histogram(), requests: 0 };
      const readStore = async (channel: bigint) => (await reader.history(channel, { limit: 50 })).length;
      const readDriver = async (channel: bigint) => (await client.execute(rawPage, [channel, newestBucket], { prepare: true, fetchSize: 50 })).rows.length;
      let seed = 12345;
      const nextChannel = () => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return channelIds[seed % channels]!;
      };
      const half = async (read: (channel: bigint) => Promise<number>, into: typeof viaStore) => {
        const deadline = performance.now() + (readSeconds * 1000) / 2;
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (performance.now() < deadline) {
              const started = performance.now();
              const rows = await read(nextChannel());
              into.histogram.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
              if (rows !== 50) throw new Error(`expected a full page, got ${rows}`);
              into.requests++;
            }
          }),
        );
      };
      await half(readStore, viaStore);
      await half(readDriver, viaDriver);
      await half(readDriver, viaDriver);
      await half(readStore, viaStore);
      const figures = ({ histogram: h, requests }: typeof viaStore) => ({ requests, p50Ms: h.getValueAtPercentile(50) / 1000, p99Ms: h.getValueAtPercentile(99) / 1000, maxMs: h.maxValue / 1000 });
      const sum = async (name: string) => (await readRegistry.getSingleMetric(name)!.get()).values.reduce((total, v) => total + v.value, 0);
      const result = {
        limit: 50 as const,
        channels,
        concurrency,
        ...figures(viaStore),
        dbQueries: await sum('guildcast_store_db_queries_total'),
        coalescedReads: await sum('guildcast_store_coalesced_reads_total'),
        raw: figures(viaDriver),
      };
      logger.info(result, 'history reads done');
      return result;
    }
  } finally {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await client.shutdown();
  }
}
