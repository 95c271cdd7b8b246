import { createKafka } from '../../core/kafka/client.ts';
import { loadKafkaConfig } from '../../core/kafka/config.ts';
import { createLogger } from '../../core/logger.ts';
import { LatencyRecorder } from '../kit/latency.ts';
import { decodeNonce } from './accounting.ts';
import { serve } from './ipc.ts';
import { PERSISTED_AT_HEADER } from '../../core/kafka/headers.ts';
import { readToEnd } from '../../core/kafka/read-to-end.ts';
import type { ConsumedRecord, KafkaClient } from '../../core/kafka/types.ts';

/**
 * The e2e bench's hop watcher, a process of its own. After each trial it reads what that trial put
 * on `deliveries` (a delivery carries its event's envelope, so `events` need not be read too) and
 * times each hop from the timestamp that stage itself set:
 * - ingest: intended send → the envelope's `received_at` (ingest's clock when the dispatch arrived);
 * - fanout: `received_at` → the delivery's persisted time: the `x-guildcast-persisted-at` header
 *   fanout sets once the store acknowledged the chunk (older fanouts: the deliveries record's
 *   CreateTime, stamped inside fanout's producer after persisting).
 * None of these depends on when the watcher reads, so it reads after the trial, not during it: a
 * consumer reading along woke with the edge on every record it fetched, and took CPU and broker
 * fetches from the system under test (bench/README.md, #14's seventh session). Only byte scanning
 * per record: no JSON.parse.
 */
const RECEIVED_AT = Buffer.from('"received_at":');
const NONCE = Buffer.from('"nonce":"');

export const HOPS = ['ingest (send → received_at)', 'fanout (received_at → persisted)', 'send → persisted'] as const;
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

function time(record: ConsumedRecord, windowFrom: number): void {
  const value = record.value;
  if (!value) return;
  const sent = intendedAt(value);
  const received = receivedAt(value);
  // Earlier trials' and the warm-up's records are on the topic too: the window is the clients'.
  if (sent === undefined || received === undefined || sent < windowFrom) return;
  recorders['ingest (send → received_at)'].recordMs(received - sent);
  const header = record.headers[PERSISTED_AT_HEADER];
  const persisted = header !== undefined ? Number(header.toString()) : Number(record.timestamp);
  persistedFrom ??= header !== undefined ? 'header' : 'CreateTime';
  recorders['fanout (received_at → persisted)'].recordMs(persisted - received);
  recorders['send → persisted'].recordMs(persisted - sent);
}

let kafka: KafkaClient | undefined;
let deliveries = '';
let windowFrom = Infinity;

serve({
  start(m: { deliveries: string }) {
    kafka = createKafka(loadKafkaConfig(), createLogger('bench-watch', { level: 'warn' }));
    deliveries = m.deliveries;
    return {};
  },
  /** A trial's window begins: its messages are those meant to be sent from `from` (ms since the epoch) on. */
  reset(m: { from: number }) {
    for (const r of Object.values(recorders)) r.reset();
    windowFrom = m.from;
    return {};
  },
  /** After the trial, once its deliveries arrived: reads the topic as it is now and times the window's records. */
  async summary() {
    if (!kafka) throw new Error('the hop watcher was not started');
    await readToEnd(kafka, deliveries, (record) => time(record, windowFrom), { groupPrefix: `${deliveries}.hop-watch` });
    return { persistedFrom, hops: Object.fromEntries(Object.entries(recorders).map(([n, r]) => [n, r.summary()])) };
  },
});
process.send!({ cmd: 'ready' });
