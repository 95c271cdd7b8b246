import { createKafka } from '../../core/kafka/client.ts';
import { loadKafkaConfig } from '../../core/kafka/config.ts';
import { createLogger } from '../../core/logger.ts';
import { LatencyRecorder } from '../kit/latency.ts';
import { decodeNonce } from './accounting.ts';
import { serve } from './ipc.ts';
import { PERSISTED_AT_HEADER } from '../../core/kafka/headers.ts';

/**
 * The e2e bench's hop watcher, a process of its own: reads `deliveries` beside the pipeline (a
 * delivery carries its event's envelope, so `events` need not be read too: one consumer's fetches
 * on the broker, not two) and times each hop from the timestamp that stage itself set:
 * - ingest: intended send → the envelope's `received_at` (ingest's clock when the dispatch arrived);
 * - fanout: `received_at` → the delivery's persisted time: the `x-guildcast-persisted-at` header
 *   fanout sets once the store acknowledged the chunk (older fanouts: the deliveries record's
 *   CreateTime, stamped inside fanout's producer after persisting);
 * - deliveries: the persisted time → this process reading the record. The watcher is a consumer of
 *   `deliveries` as the edge is (same client, same broker), so this is what the Kafka leg of the
 *   edge's hop costs, and the rest of "edge + clients" is the edge's own work and the clients'.
 * Only byte scanning per record: no JSON.parse. It reads every SAMPLE_EVERY-th partition (keys
 * spread guilds evenly over them): the hop percentiles come from that share of the messages, and
 * the watcher's fetches, which the broker serves beside the pipeline's, are that many times fewer.
 */
const SAMPLE_EVERY = 4;
const RECEIVED_AT = Buffer.from('"received_at":');
const NONCE = Buffer.from('"nonce":"');

export const HOPS = ['ingest (send → received_at)', 'fanout (received_at → persisted)', 'send → persisted', 'deliveries (persisted → read by a consumer)', 'send → read by a consumer'] as const;
const recorders = Object.fromEntries(HOPS.map((h) => [h, new LatencyRecorder()])) as Record<(typeof HOPS)[number], LatencyRecorder>;
let persistedFrom: 'header' | 'CreateTime' | undefined;

function receivedAt(value: Buffer): number | undefined {
  const at = value.indexOf(RECEIVED_AT);
  if (at < 0) return undefined;
  let n = 0;
  let i = at + RECEIVED_AT.length;
  for (; i < value.length; i++) {
    const c = value[i]!;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
  }
  return i > at + RECEIVED_AT.length ? n : undefined;
}

function intendedAt(value: Buffer): number | undefined {
  const at = value.lastIndexOf(NONCE);
  if (at < 0) return undefined;
  const end = value.indexOf(0x22, at + NONCE.length);
  return end > 0 ? decodeNonce(value.toString('latin1', at + NONCE.length, end))?.intendedAtMs : undefined;
}

serve({
  async start(m: { deliveries: string; groupId: string }) {
    const kafka = createKafka(loadKafkaConfig(), createLogger('bench-watch', { level: 'warn' }));
    const consumer = kafka.consumer({ groupId: m.groupId, maxWaitMs: 50 });
    const joined = new Promise<void>((r) =>
      consumer.on('join', ({ assignment }) => {
        const skipped = (assignment[m.deliveries] ?? []).filter((p) => p % SAMPLE_EVERY !== 0);
        if (skipped.length > 0) consumer.pause(m.deliveries, skipped);
        r();
      }),
    );
    await consumer.run({
      topics: [m.deliveries],
      from: 'latest',
      eachBatch: async ({ batch }) => {
        const read = Date.now();
        for (const record of batch.records) {
          const value = record.value;
          if (!value) continue;
          const sent = intendedAt(value);
          const received = receivedAt(value);
          if (sent === undefined || received === undefined) continue;
          recorders['ingest (send → received_at)'].recordMs(received - sent);
          const header = record.headers[PERSISTED_AT_HEADER];
          const persisted = header !== undefined ? Number(header.toString()) : Number(record.timestamp);
          persistedFrom ??= header !== undefined ? 'header' : 'CreateTime';
          recorders['fanout (received_at → persisted)'].recordMs(persisted - received);
          recorders['send → persisted'].recordMs(persisted - sent);
          recorders['deliveries (persisted → read by a consumer)'].recordMs(read - persisted);
          recorders['send → read by a consumer'].recordMs(read - sent);
        }
      },
    });
    await joined;
    return {};
  },
  reset() {
    for (const r of Object.values(recorders)) r.reset();
    return {};
  },
  summary: () => ({ persistedFrom, hops: Object.fromEntries(Object.entries(recorders).map(([n, r]) => [n, r.summary()])) }),
});
process.send!({ cmd: 'ready' });
