import { afterEach, describe, expect, it } from 'vitest';
import { eventually, testKafka, uniqueName } from '../../../test/support.ts';
import { ensureTopics } from '../topics.ts';
import type { GroupConsumer } from '../types.ts';

/**
 * The seam's pause/resume per partition (issue 13: an edge fetches only the partitions its
 * sessions want). kafkajs itself forgets a topic-wide pause on the first partition pause and
 * resumes every partition on a topic-wide resume; through the seam the two are layers. Each
 * "not fetched" is checked after a later record on a fetched partition arrived: one broker
 * answers every active partition in the same fetch, so a paused one that was fetched would show.
 */
describe('pausing single partitions through the seam (kafkajs)', () => {
  const kafka = testKafka();
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  it('keeps partition pauses and the topic pause apart', async () => {
    const topic = uniqueName('seam-pause');
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await ensureTopics(admin, [{ name: topic, partitions: 3, retentionMs: 3_600_000 }]);
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const got: string[] = [];
    const consumer: GroupConsumer = kafka.consumer({ groupId: uniqueName('seam-pause'), maxWaitMs: 100 });
    cleanups.push(() => consumer.stop());
    let joined = false;
    consumer.on('join', () => {
      // A partition pause while the topic is paused (kafkajs alone would unpause the topic here), then the topic resumed.
      consumer.pause(topic);
      consumer.pause(topic, [2]);
      consumer.resume(topic);
      joined = true;
    });
    await consumer.run({ topics: [topic], from: 'latest', eachBatch: async ({ batch }) => void got.push(...batch.records.map((r) => `${batch.partition}:${r.value}`)) });
    await eventually('joined', () => (joined ? true : undefined));
    // 'latest' resolves when a partition is first fetched: wait until 0 and 1 read what is produced now.
    const send = (partition: number, value: string) => producer.send({ topic, messages: [{ value, partition }] });
    const marker = async (name: string) => {
      await send(0, name);
      await eventually(name, () => (got.includes(`0:${name}`) ? true : undefined));
    };
    await eventually('partition 0 fetched', async () => {
      await send(0, 'warm');
      await new Promise((r) => setTimeout(r, 200));
      return got.includes('0:warm') ? true : undefined;
    });

    await send(2, 'a');
    await marker('m1');
    const afterJoin = got.filter((g) => g.startsWith('2:'));
    consumer.resume(topic, [2]);
    await eventually('partition 2 once resumed', () => (got.includes('2:a') ? true : undefined));

    consumer.pause(topic, [1]);
    await send(1, 'b');
    await marker('m2');
    const afterPartitionPause = got.filter((g) => g.startsWith('1:'));
    // A topic-wide pause and resume leaves partition 1 paused.
    consumer.pause(topic);
    consumer.resume(topic);
    await marker('m3');
    const afterTopicResume = got.filter((g) => g.startsWith('1:'));
    consumer.resume(topic, [1]);
    await eventually('partition 1 once resumed', () => (got.includes('1:b') ? true : undefined));
    console.log('seam pause layers:', JSON.stringify({ afterJoin, afterPartitionPause, afterTopicResume }));
    expect(afterJoin).toEqual([]);
    expect(afterPartitionPause).toEqual([]);
    expect(afterTopicResume).toEqual([]);
  });
});
