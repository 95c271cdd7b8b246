import { describe, expect, it } from 'vitest';
import { startRole } from '../test/child.ts';
import { eventually } from '../test/support.ts';
import {
  duplicatesAndReorders,
  fanoutPipeline,
  fanoutTestbed,
  followDeliveries,
  gatewayMessage,
  guildOnPartition,
  produceEvents,
  readyz,
} from './test-support.ts';

/**
 * Item 3 of issue 11: a chunk's deliveries are split into requests the broker accepts, and a
 * consumer that stops for good makes the process unready and exit instead of idling behind a green /readyz.
 */
describe('fanout with large records', () => {
  const t = fanoutTestbed();

  const records = (n: number) => {
    const guild = guildOnPartition(0);
    // 2–4 KB each, varying so that request boundaries fall anywhere.
    return Array.from({ length: n }, (_, i) => gatewayMessage(guild, 0, 'big-session', i + 1, 'x'.repeat(2000 + ((i * 977) % 2000))));
  };

  it('delivers a backlog of 500 records of 2–4 KB in one partition under the broker default message size', async () => {
    const p = await fanoutPipeline(t.admin, 1, 'fanout-large');
    t.keyspaces.push(p);
    const events = records(500);
    // The backlog is there before fanout starts, so its first fetch (about 1 MiB) is one chunk.
    await produceEvents(t.producer, p.topics.events, events, 10);
    const deliveries = await followDeliveries(t.kafka, p.topics.deliveries);
    t.stops.push(deliveries.stop);
    const member = startRole('fanout/main.ts', p.env()); // FANOUT_CHUNK_SIZE: the default 500
    t.processes.push(member);

    await eventually('every record on deliveries', () => (deliveries.ids().size === events.length ? true : undefined), 120_000).catch(() => undefined);
    const missing = events.filter((e) => !deliveries.ids().has(e.id)).length;
    expect({ missing, tooLarge: member.output().includes('MESSAGE_TOO_LARGE') || member.output().includes('larger than the max message size') }).toEqual({ missing: 0, tooLarge: false });
    expect(duplicatesAndReorders(deliveries.seen)).toEqual({ duplicates: [], outOfOrder: [] });
    await eventually('ready', async () => ((await readyz(p.port)).status === 200 ? true : undefined)).catch(() => undefined);
    expect((await readyz(p.port)).status).toBe(200);
    expect(await member.kill('SIGTERM')).toBe(0);
  });

  it('turns unready and exits 1 when its consumer stops for good', async () => {
    const p = await fanoutPipeline(t.admin, 1, 'fanout-crash');
    t.keyspaces.push(p);
    // A deliveries topic that refuses every record: the send fails with a non-retriable error and
    // kafkajs stops the consumer without restarting it.
    await t.admin.alterTopicConfigs(p.topics.deliveries, { 'max.message.bytes': '1000' });
    const member = startRole('fanout/main.ts', p.env());
    t.processes.push(member);
    await eventually('ready before the failure', async () => ((await readyz(p.port)).status === 200 ? true : undefined), 120_000);
    await produceEvents(t.producer, p.topics.events, records(5));

    const exit = await Promise.race([member.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 90_000))]);
    const ready = exit === 'still running' ? (await readyz(p.port)).status : 'exited';
    expect({ exit, ready }).toEqual({ exit: 1, ready: 'exited' });
    expect(member.output()).toContain('a role stopped working');
  });
});
