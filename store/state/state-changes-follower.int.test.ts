import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateChangeRecord, type StateChange } from '../../core/events/state-change.ts';
import { ensureTopics, standardTopics, topicNames } from '../../core/kafka/topics.ts';
import type { Producer } from '../../core/kafka/types.ts';
import { silentLogger } from '../../core/logger.ts';
import { eventually, localKafkaConfig, testKafka, uniqueName } from '../../test/support.ts';
import { followStateChanges, type StateChangesFollower } from './state-changes-follower.ts';

const change = (guild: string): StateChange => ({ v: 1, kind: 'guild', guild_id: guild, channel_ids: [], at: Date.now() });

describe('the state-changes follower over the real Kafka', () => {
  const config = { ...localKafkaConfig, KAFKA_TOPIC_PREFIX: uniqueName('follow') };
  const topics = topicNames(config);
  const kafka = testKafka();
  let producer: Producer;
  const followers: StateChangesFollower[] = [];

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, standardTopics(config).filter((t) => t.name === topics.stateChanges || t.name === topics.deadLetter));
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();
  });
  afterAll(async () => {
    await Promise.allSettled(followers.map((f) => f.stop()));
    await producer?.disconnect();
  });

  it('starts at the end (with one gap for the join), then hands every record to every process', async () => {
    await producer.send({ topic: topics.stateChanges, messages: [stateChangeRecord(change('1320000000000000001'))] });
    const seen: { process: number; guild?: string; gap?: true }[] = [];
    for (const process of [1, 2]) {
      const listener = { change: (c: StateChange) => void seen.push({ process, guild: c.guild_id }), gap: () => void seen.push({ process, gap: true }) };
      const follower = await followStateChanges({ kafka: testKafka(), topics, logger: silentLogger, listeners: [listener] });
      followers.push(follower);
      await follower.ready;
    }
    await producer.send({ topic: topics.stateChanges, messages: [stateChangeRecord(change('1320000000000000002'))] });
    await eventually('both processes read the record', () => (seen.filter((s) => s.guild).length >= 2 ? true : undefined), 30_000);
    expect(seen.filter((s) => s.guild).sort((a, b) => a.process - b.process)).toEqual([
      { process: 1, guild: '1320000000000000002' },
      { process: 2, guild: '1320000000000000002' },
    ]);
    expect(seen.filter((s) => s.gap).map((s) => s.process).sort()).toEqual([1, 2]);
  });
});
