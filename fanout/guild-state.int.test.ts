import { describe, expect, it } from 'vitest';
import { parseEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { partitionFor } from '../core/events/partition.ts';
import { parseStateChange, type StateChange } from '../core/events/state-change.ts';
import { followTopic } from '../core/kafka/testing.ts';
import { startRole } from '../test/child.ts';
import { eventually } from '../test/support.ts';
import { readDeadLetters } from './dlq.ts';
import { fanoutPipeline, fanoutTestbed, guildOnPartition, produceEvents } from './test-support.ts';

const PARTITIONS = 4;
let n = 0;

function guildEvent(type: string, guildId: string, d: Record<string, unknown>, channelId?: string): EventEnvelope {
  n++;
  return { v: 1, id: `test:guild:${n}`, type, guild_id: guildId, ...(channelId ? { channel_id: channelId } : {}), source: 'http', received_at: Date.now(), trace_id: `t-guild-${n}`, d };
}

/**
 * Issue 13, durable guild state: fanout keeps guild_state, channel_guilds and guilds_by_partition
 * from the events it persists, before it delivers them, and announces each changed guild on
 * state-changes.
 */
describe('fanout keeps durable guild state', () => {
  const t = fanoutTestbed();

  it('GUILD_CREATE, CHANNEL_CREATE and CHANNEL_DELETE in: rows in step, state written before delivery, changes announced', async () => {
    const p = await fanoutPipeline(t.admin, PARTITIONS, 'fanout-guild-state');
    t.keyspaces.push(p);
    const guild = guildOnPartition(1);
    const [general, random, thread, created] = [1n, 2n, 3n, 4n].map((k) => String(BigInt(guild) + k)) as [string, string, string, string];

    // Every delivery of a guild-state event is checked against the store the moment it arrives:
    // an edge node that loads the guild then must already find the change.
    const late: string[] = [];
    const deliveries = await followTopic(t.kafka, p.topics.deliveries, async (r) => {
      const event = parseEnvelope(r.value);
      const d = event.d as { id: string };
      if (event.type === 'CHANNEL_CREATE' && (await p.guildState.guildOfChannel(d.id)) !== guild) late.push(`${event.type} ${d.id}`);
      if (event.type === 'CHANNEL_DELETE' && (await p.guildState.guildOfChannel(d.id)) !== undefined) late.push(`${event.type} ${d.id}`);
    });
    t.stops.push(deliveries.stop);
    const changes: StateChange[] = [];
    const follower = await followTopic(t.kafka, p.topics.stateChanges, (r) => void changes.push(parseStateChange(r.value)));
    t.stops.push(follower.stop);
    const member = startRole('fanout/main.ts', p.env());
    t.processes.push(member);

    const first = [
      guildEvent('GUILD_CREATE', guild, {
        id: guild,
        name: 'durable',
        channels: [{ id: general, type: 0, name: 'general' }, { id: random, type: 0, name: 'random' }],
        threads: [{ id: thread, type: 11, parent_id: general, thread_metadata: { archived: false } }],
        roles: [{ id: guild, name: '@everyone' }],
        members: [{ user: { id: '42', bot: true } }, { user: { id: '43' } }],
      }),
      guildEvent('CHANNEL_CREATE', guild, { id: created, type: 0, name: 'new', guild_id: guild }, created),
      guildEvent('CHANNEL_CREATE', guild, { type: 0, name: 'no id' }), // malformed: dead-lettered
    ];
    await produceEvents(t.producer, p.topics.events, first);
    await eventually('the first events delivered', () => (deliveries.records.length >= 2 ? true : undefined), 120_000);
    await eventually('the first events announced', () => (changes.length >= 1 ? true : undefined), 30_000);
    expect((await p.guildState.loadGuild(guild))?.channels.map((c) => c.id)).toEqual([general, random, created]);
    const announcedFirst = changes.length;

    const second = [guildEvent('CHANNEL_DELETE', guild, { id: general, type: 0, guild_id: guild }, general)];
    await produceEvents(t.producer, p.topics.events, second);
    await eventually('the delete delivered', () => (deliveries.records.length >= 3 ? true : undefined), 120_000);
    await eventually('the delete announced', () => (changes.length > announcedFirst ? true : undefined), 30_000);

    const rows = async (query: string, params: unknown[]) => (await p.client.execute(query, params, { prepare: true })).rows;
    const snapshot = await rows(`SELECT snapshot FROM ${p.keyspace}.guild_state WHERE guild_id = ?`, [BigInt(guild)]);
    const stored = JSON.parse(snapshot[0]!.get('snapshot') as string) as { channels: { id: string }[]; threads: unknown[]; members: unknown[] };
    const mapped = await rows(`SELECT channel_id, guild_id FROM ${p.keyspace}.channel_guilds WHERE channel_id IN ?`, [[general, random, thread, created].map(BigInt)]);
    const onPartition = await rows(`SELECT guild_id FROM ${p.keyspace}.guilds_by_partition WHERE partitions = ? AND partition = ?`, [PARTITIONS, partitionFor(BigInt(guild), PARTITIONS)]);
    expect({
      channels: stored.channels.map((c) => c.id),
      threads: stored.threads.length,
      members: stored.members.length,
      channelGuilds: mapped.map((r) => [String(r.get('channel_id')), String(r.get('guild_id'))]).sort(),
      partitionGuilds: onPartition.map((r) => String(r.get('guild_id'))),
      late,
    }).toEqual({
      channels: [random, created],
      threads: 0, // the deleted channel's thread went with it
      members: 1, // bots only
      channelGuilds: [[random, guild], [created, guild]].sort(),
      partitionGuilds: [guild],
      late: [],
    });
    expect(await p.guildState.guildsOnPartition(1, PARTITIONS)).toEqual([guild]);
    // One record per guild and chunk (the first events are one chunk unless a fetch split them).
    const named = (records: StateChange[]) => [...new Set(records.flatMap((c) => c.channel_ids ?? []))].sort();
    expect(new Set(changes.map((c) => `${c.kind} ${c.guild_id}`))).toEqual(new Set([`guild ${guild}`]));
    expect(named(changes.slice(0, announcedFirst))).toEqual([general, random, thread, created].sort());
    expect(named(changes.slice(announcedFirst))).toEqual([general, thread].sort());

    const letters = await eventually('the malformed event dead-lettered', async () => {
      const l = await readDeadLetters(t.kafka, p.topics.deadLetter);
      return l.length === 1 ? l : undefined;
    });
    expect(letters.map((l) => [l.stage, l.reason])).toEqual([['fanout.persist', 'CHANNEL_CREATE: d.id is not a snowflake']]);
    expect(deliveries.records.map((r) => parseEnvelope(r.value).type)).toEqual(['GUILD_CREATE', 'CHANNEL_CREATE', 'CHANNEL_DELETE']);
    expect(await member.kill('SIGTERM')).toBe(0);
  });
});
