import { REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { KafkaClient } from '../../core/kafka/types.ts';
import { parseEnvelope } from '../../core/events/envelope.ts';
import { SOURCE_OFFSET_HEADER } from '../../core/kafka/headers.ts';
import { followTopic, type ReadRecord } from '../../ingest/test-kafka.ts';
import type { CqlClient } from '../../store/cql/client.ts';
import { eventually } from '../support.ts';
import type { SentMessage } from './pipeline.ts';

/**
 * What each place holds compared with what the simulator sent. A stream (the deliveries topic, a
 * client) is checked per message id and per channel: missing, duplicated (copies beyond the first),
 * out of order (a first copy arriving after a higher snowflake of its channel), unexpected (ids
 * never sent).
 */
export interface StreamFigures {
  missing: number;
  duplicated: number;
  outOfOrder: number;
  unexpected: number;
}

export function compareStream(sent: readonly SentMessage[], received: readonly { id: string; channelId: string }[]): StreamFigures & { missingIds: string[] } {
  const sentIds = new Set(sent.map((m) => m.id));
  const seen = new Set<string>();
  const newestPerChannel = new Map<string, bigint>();
  let duplicated = 0;
  let outOfOrder = 0;
  let unexpected = 0;
  for (const { id, channelId } of received) {
    if (!sentIds.has(id)) {
      unexpected++;
      continue;
    }
    if (seen.has(id)) {
      duplicated++;
      continue;
    }
    seen.add(id);
    const snowflake = BigInt(id);
    const newest = newestPerChannel.get(channelId);
    if (newest !== undefined && snowflake < newest) outOfOrder++;
    else newestPerChannel.set(channelId, snowflake);
  }
  const missingIds = sent.filter((m) => !seen.has(m.id)).map((m) => m.id);
  return { missing: missingIds.length, duplicated, outOfOrder, unexpected, missingIds };
}

export interface StoreFigures {
  missing: number;
  contentMismatch: number;
  unexpected: number;
}

/** Every row of the run's `messages` table (a few thousand: a full scan is fine). */
export async function readStore(cql: CqlClient, keyspace: string): Promise<Map<string, { channelId: string; content: string | null }>> {
  const rows = new Map<string, { channelId: string; content: string | null }>();
  await new Promise<void>((resolve, reject) => {
    cql.eachRow(
      `SELECT channel_id, message_id, content FROM ${keyspace}.messages`,
      [],
      { prepare: false, fetchSize: 1000, autoPage: true },
      (_n, row) => void rows.set(String(row.message_id), { channelId: String(row.channel_id), content: row.content as string | null }),
      (err) => (err ? reject(err) : resolve()),
    );
  });
  return rows;
}

export function compareStore(sent: readonly SentMessage[], stored: Map<string, { channelId: string; content: string | null }>): StoreFigures {
  const sentIds = new Set(sent.map((m) => m.id));
  let missing = 0;
  let contentMismatch = 0;
  for (const m of sent) {
    const row = stored.get(m.id);
    if (!row) missing++;
    else if (row.content !== m.content || row.channelId !== m.channelId) contentMismatch++;
  }
  const unexpected = [...stored.keys()].filter((id) => !sentIds.has(id)).length;
  return { missing, contentMismatch, unexpected };
}

export interface DeliveryFigures extends StreamFigures {
  /** Records the edge drops: source offset at or below one already passed on their partition. */
  redeliveries: number;
  records: number;
}

/**
 * Reads `deliveries` from the beginning to its current end with a plain consumer and applies the
 * edge's redelivery rule per partition; what is left must be each message once, in order.
 */
export async function readDeliveries(kafka: KafkaClient, topic: string, sent: readonly SentMessage[]): Promise<DeliveryFigures> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.topicOffsets(topic).finally(() => admin.disconnect());
  const total = ends.reduce((sum, p) => sum + (Number(p.high) - Number(p.low)), 0);
  const reader = await followTopic(kafka, topic);
  try {
    await eventually(`${topic} read to its end (${total} records)`, () => (reader.records.length >= total ? true : undefined), 120_000);
  } finally {
    await reader.stop();
  }
  const { delivered, redeliveries } = applyRedeliveryRule(reader.records);
  const { missingIds: _ids, ...figures } = compareStream(sent, delivered);
  return { ...figures, redeliveries, records: reader.records.length };
}

/**
 * The edge's rule, per partition in offset order: a record whose source offset is at or below one
 * already passed is a fanout redelivery and is dropped. What is left, MESSAGE_CREATEs only.
 */
export function applyRedeliveryRule(records: readonly ReadRecord[]): { delivered: { id: string; channelId: string }[]; redeliveries: number } {
  const byPartition = new Map<number, ReadRecord[]>();
  for (const r of records) {
    if (!byPartition.has(r.partition)) byPartition.set(r.partition, []);
    byPartition.get(r.partition)!.push(r);
  }
  const delivered: { id: string; channelId: string }[] = [];
  let redeliveries = 0;
  for (const partition of byPartition.values()) {
    partition.sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
    let passed: bigint | undefined;
    for (const r of partition) {
      const header = r.headers[SOURCE_OFFSET_HEADER];
      const source = BigInt(String(Array.isArray(header) ? header[0] : header));
      if (passed !== undefined && source <= passed) {
        redeliveries++;
        continue;
      }
      passed = source;
      const event = parseEnvelope(r.value);
      if (event.type !== 'MESSAGE_CREATE') continue;
      const d = event.d as { id: string; channel_id: string };
      delivered.push({ id: d.id, channelId: d.channel_id });
    }
  }
  return { delivered, redeliveries };
}

/** Message ids of the channels' whole history through the api role's REST history (pages of 100, newest first). */
export async function readHistory(apiBase: string, token: string, channelIds: readonly string[]): Promise<Set<string>> {
  const rest = new REST({ api: `${apiBase}/api`, retries: 5 }).setToken(token);
  const ids = new Set<string>();
  for (const channelId of channelIds) {
    let before: string | undefined;
    for (;;) {
      const query = new URLSearchParams({ limit: '100', ...(before ? { before } : {}) });
      const page = (await rest.get(Routes.channelMessages(channelId), { query })) as { id: string }[];
      for (const m of page) ids.add(m.id);
      if (page.length < 100) break;
      before = page[page.length - 1]!.id;
    }
  }
  return ids;
}
