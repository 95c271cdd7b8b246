import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DLQ_HEADERS } from '../../core/kafka/dead-letter.ts';
import { ensureTopics, standardTopics, topicNames } from '../../core/kafka/topics.ts';
import { followTopic } from '../../core/kafka/testing.ts';
import type { KafkaClient, Producer } from '../../core/kafka/types.ts';
import { dropKeyspace, eventually, localKafkaConfig, testKafka, testKeyspace, uniqueName } from '../../test/support.ts';
import type { CqlClient } from '../cql/client.ts';
import { createBotSettings, type BotSettingsStore } from './bot-settings-store.ts';
import { memoryStateChanges } from './state-changes-follower.ts';

const guild = '1310000000000000001';
const other = '1310000000000000002';
/** Far beyond any wait here: an update seen before it was seen through the invalidation. */
const LONG_TTL_MS = 600_000;

describe('bot settings over the real Cassandra and Kafka', () => {
  let client: CqlClient;
  let keyspace: string;
  let topics: ReturnType<typeof topicNames>;
  const kafkas: KafkaClient[] = [];
  const opened: BotSettingsStore[] = [];
  let producer: Producer;

  /** A worker process's instance: its own Kafka client and follower group. */
  async function instance(options: { ttlMs?: number; changes?: ReturnType<typeof memoryStateChanges> } = {}) {
    const kafka = testKafka();
    kafkas.push(kafka);
    const settings = await createBotSettings({ client, keyspace, kafka, topics, ttlMs: options.ttlMs ?? LONG_TTL_MS, ...(options.changes ? { changes: options.changes } : {}) });
    opened.push(settings);
    await settings.ready;
    return settings;
  }

  beforeAll(async () => {
    ({ client, keyspace } = await testKeyspace('botset'));
    const config = { ...localKafkaConfig, KAFKA_TOPIC_PREFIX: uniqueName('botset') };
    topics = topicNames(config);
    const kafka = testKafka();
    kafkas.push(kafka);
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, standardTopics(config).filter((t) => t.name === topics.stateChanges || t.name === topics.deadLetter));
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();
  });
  afterAll(async () => {
    await Promise.allSettled(opened.map((s) => s.close()));
    await producer?.disconnect();
    await dropKeyspace(client, keyspace);
  });

  it('answers the defaults for a guild never written, and an update on one instance is seen by another before any TTL', async () => {
    const a = await instance();
    const b = await instance();
    expect(await b.get(guild)).toEqual({ prefix: '!', language: 'en-US', welcome_channel_id: null, extra: {} });
    const written = await a.update(guild, { prefix: '?', extra: { greeting: 'hello' } });
    expect(written).toEqual({ prefix: '?', language: 'en-US', welcome_channel_id: null, extra: { greeting: 'hello' } });
    // The writer's own cache at once; the other's as soon as its follower reads the record (TTL: 10 min).
    expect(await a.get(guild)).toEqual(written);
    expect(await eventually('b sees the update', async () => ((await b.get(guild)).prefix === '?' ? true : undefined), 30_000)).toBe(true);
    expect(await b.get(guild)).toEqual(written);
    // A guild of its own is untouched.
    expect(await b.get(other)).toEqual({ prefix: '!', language: 'en-US', welcome_channel_id: null, extra: {} });
  });

  it('merges concurrent partial updates of one guild from two instances without losing either', async () => {
    const a = await instance();
    const b = await instance();
    const keys = Array.from({ length: 6 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((key, i) => (i % 2 ? a : b).update(other, { extra: { [key]: i } })));
    const expected = Object.fromEntries(keys.map((k, i) => [k, i]));
    expect((await a.get(other)).extra).toEqual(expected);
    expect(await eventually('b sees every key', async () => (Object.keys((await b.get(other)).extra).length === keys.length ? true : undefined), 30_000)).toBe(true);
    expect((await b.get(other)).extra).toEqual(expected);
  });

  it('bounds staleness by the TTL when the invalidation never arrives', async () => {
    // No follower at all: only the TTL can end its stale entry.
    const deaf = await instance({ ttlMs: 8_000, changes: memoryStateChanges() });
    const writer = await instance();
    const before = await deaf.get(guild);
    await writer.update(guild, { language: 'pt-BR' });
    expect((await deaf.get(guild)).language).toBe(before.language);
    expect(await eventually('the TTL ends the stale entry', async () => ((await deaf.get(guild)).language === 'pt-BR' ? true : undefined), 60_000)).toBe(true);
  });

  it('dead-letters a malformed state-changes record with the reason, and keeps following', async () => {
    const a = await instance();
    const b = await instance();
    const letters = await followTopic(kafkas[0]!, topics.deadLetter);
    await b.get(guild);
    await producer.send({ topic: topics.stateChanges, messages: [{ key: guild, value: '{"v":1,"kind":"weather"}' }, { key: guild, value: 'not json' }] });
    await a.update(guild, { prefix: '%' });
    expect(await eventually('b sees the update after the bad records', async () => ((await b.get(guild)).prefix === '%' ? true : undefined), 30_000)).toBe(true);
    // Both instances read both bad records: each dead-letters what it read.
    const dead = await eventually('dead letters', () => (letters.records.length >= 4 ? letters.records : undefined), 30_000);
    await letters.stop();
    const reasons = dead.map((r) => r.headers[DLQ_HEADERS.reason]!.toString());
    expect(reasons.filter((r) => /kind/.test(r)).length).toBeGreaterThanOrEqual(2);
    expect(reasons.filter((r) => /not JSON/.test(r)).length).toBeGreaterThanOrEqual(2);
    expect(dead.every((r) => r.headers[DLQ_HEADERS.sourceTopic]?.toString() === topics.stateChanges)).toBe(true);
    expect(dead.map((r) => r.value?.toString())).toContain('not json');
  });

  it('refuses an invalid patch and writes nothing', async () => {
    const a = await instance();
    await expect(a.update(other, { prefix: '' })).rejects.toThrow(/prefix/);
    await expect(a.get('not-a-guild')).rejects.toThrow(/snowflake/);
    const rows = await client.execute(`SELECT settings FROM ${keyspace}.bot_settings WHERE guild_id = ?`, [BigInt(other)], { prepare: true });
    expect(JSON.parse(rows.first().get('settings')).prefix).toBe('!');
  });
});
