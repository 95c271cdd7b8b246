import { ensureTopics } from '../core/kafka/topics.ts';
import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../core/events/envelope.ts';
import { startRole } from '../test/child.ts';
import { eventually } from '../test/support.ts';
import { groupLag } from './lag.ts';
import {
  duplicatesAndReorders,
  fanoutPipeline,
  fanoutTestbed,
  followDeliveries,
  gatewayMessage,
  guildOnPartition,
  produceEvents,
  storedIds,
} from './test-support.ts';

/**
 * Item 1 of issue 11: an event counts as seen only once its delivery was acknowledged, and gateway
 * replays (same id, new offset) never reach a client twice, even across a fanout restart.
 */
describe('fanout delivers every persisted event exactly once', () => {
  const t = fanoutTestbed();

  it('retries a chunk whose deliveries send failed after it was persisted, without dropping it as replays', async () => {
    const p = await fanoutPipeline(t.admin, 1, 'fanout-sendfail');
    t.keyspaces.push(p);
    const deliveries = await followDeliveries(t.kafka, p.topics.deliveries);
    t.stops.push(deliveries.stop);
    const member = startRole('fanout/main.ts', p.env());
    t.processes.push(member);
    const guild = guildOnPartition(0);
    const first = Array.from({ length: 20 }, (_, i) => gatewayMessage(guild, 0, 'session-a', i + 1));
    await produceEvents(t.producer, p.topics.events, first);
    await eventually('the first events delivered', () => (deliveries.ids().size === first.length ? true : undefined), 120_000);

    // Deliveries become unwritable (the topic is gone) while fetches, store writes and offset
    // commits keep working: only the delivery send fails, as in an outage that hits just that send.
    await deliveries.stop();
    await t.admin.deleteTopics([p.topics.deliveries]);
    const during = Array.from({ length: 200 }, (_, i) => gatewayMessage(guild, 0, 'session-a', 21 + i));
    await produceEvents(t.producer, p.topics.events, during, 200);
    await eventually('the chunk persisted while its delivery fails', async () => ((await storedIds(p.store, during)).size === during.length ? true : undefined), 120_000);
    // kafkajs retries a send for about 21 s (8 retries, up to 5 s apart) before it throws and the
    // batch is fetched again. Keep the topic away well past that, so the chunk's first send has
    // certainly failed: then either it is being sent again, or (the bug) it was committed as replays.
    const persistedAt = Date.now();
    await eventually(
      'a failed send and a retried batch',
      async () => {
        if (Date.now() - persistedAt > 35_000) return true;
        const lag = await groupLag(t.admin, p.group, p.topics.events);
        return lag.every((l) => l.lag === 0) ? true : undefined;
      },
      60_000,
    );
    // Creating a topic others keep asking for can itself answer "does not host this topic-partition" for a moment.
    await eventually('deliveries created again', async () => {
      await ensureTopics(t.admin, [{ name: p.topics.deliveries, partitions: 1, retentionMs: 3_600_000 }]);
      await t.admin.describeTopics([p.topics.deliveries]);
      return true;
    });
    const after = await followDeliveries(t.kafka, p.topics.deliveries);
    t.stops.push(after.stop);

    await eventually('lag drained', async () => ((await groupLag(t.admin, p.group, p.topics.events)).every((l) => l.lag === 0) ? true : undefined), 120_000);
    // Settles once the reader has caught up with everything the group committed.
    await eventually('every event delivered', () => (during.every((e) => after.ids().has(e.id)) ? true : undefined), 30_000).catch(() => undefined);
    const missing = during.filter((e) => !after.ids().has(e.id)).length;
    expect({ missing, of: during.length }).toEqual({ missing: 0, of: during.length });
    expect(duplicatesAndReorders(after.seen)).toEqual({ duplicates: [], outOfOrder: [] });
    expect(member.child.exitCode).toBeNull();
    expect(await member.kill('SIGTERM')).toBe(0);
  });

  it('drops gateway replays that arrive after fanout was SIGKILLed and restarted', async () => {
    const PARTITIONS = 2;
    const p = await fanoutPipeline(t.admin, PARTITIONS, 'fanout-replay');
    t.keyspaces.push(p);
    const deliveries = await followDeliveries(t.kafka, p.topics.deliveries);
    t.stops.push(deliveries.stop);
    const env = p.env({ FANOUT_CHUNK_SIZE: '40' });
    let member = startRole('fanout/main.ts', env);
    t.processes.push(member);

    // Two shards, each over guilds on both partitions: ingest's stream before its restart.
    const guilds = [0, 1, 2, 3].map(guildOnPartition);
    const stream = (shard: number, session: string, from: number, to: number): EventEnvelope[] =>
      Array.from({ length: to - from + 1 }, (_, i) => gatewayMessage(guilds[(from + i) % guilds.length]!, shard, session, from + i));
    const original = [...stream(0, 'sess-0', 1, 200), ...stream(1, 'sess-1', 1, 120)];
    await produceEvents(t.producer, p.topics.events, original, 40);
    await eventually('the original stream delivered', () => (original.every((e) => deliveries.ids().has(e.id)) ? true : undefined), 120_000);

    member.child.kill('SIGKILL');
    await member.exited;
    // Every role restarted: ingest RESUMEs from an older checkpoint and the gateway replays what
    // followed it (same ids, new offsets), then goes on.
    const replayed = [...original.filter((e) => e.shard === 0 && e.seq! > 150), ...original.filter((e) => e.shard === 1 && e.seq! > 90)];
    await produceEvents(t.producer, p.topics.events, replayed.slice(0, 30), 10);
    member = startRole('fanout/main.ts', env);
    t.processes.push(member);
    await produceEvents(t.producer, p.topics.events, replayed.slice(30), 10);
    const fresh = [...stream(0, 'sess-0', 201, 260), ...stream(1, 'sess-1', 121, 150)];
    await produceEvents(t.producer, p.topics.events, fresh, 10);

    await eventually('the fresh events delivered', () => (fresh.every((e) => deliveries.ids().has(e.id)) ? true : undefined), 120_000);
    await eventually('lag drained', async () => ((await groupLag(t.admin, p.group, p.topics.events)).every((l) => l.lag === 0) ? true : undefined), 60_000);
    const { duplicates, outOfOrder } = duplicatesAndReorders(deliveries.seen);
    expect({ duplicates: duplicates.length, outOfOrder: outOfOrder.length, replayed: replayed.length }).toEqual({ duplicates: 0, outOfOrder: 0, replayed: replayed.length });
    expect((await storedIds(p.store, [...original, ...fresh])).size).toBe(original.length + fresh.length);
    expect(await member.kill('SIGTERM')).toBe(0);
  });
});
