import { describe, expect, it } from 'vitest';
import { shardFor } from '../../core/events/partition.ts';
import { DISCORD_EPOCH, SnowflakeGenerator, timestampOf } from '../../core/discord/snowflake.ts';
import type { SentDispatch, TrafficEventType } from './index.ts';
import { SentLedger } from './ledger.ts';
import { seededRandom } from './random.ts';
import { DEFAULT_MIX, TrafficGenerator, type GeneratedEvent } from './traffic-generator.ts';
import { burstySchedule, scheduleFor, steadySchedule } from './traffic-schedule.ts';
import { buildWorld } from './world.ts';

// Deterministic (seeded) properties of the traffic; no timing.

function generate(count: number, { seed = 1, shardCount = 4, liveShards = [0, 1, 2, 3], ...rest }: Partial<ConstructorParameters<typeof TrafficGenerator>[0]> & { seed?: number; shardCount?: number; liveShards?: number[] } = {}) {
  const world = buildWorld({ shardCount, guilds: 20, channelsPerGuild: 3, random: seededRandom(seed) });
  let clock = Date.UTC(2025, 0, 1);
  const now = () => clock++;
  const generator = new TrafficGenerator({ world, random: seededRandom(seed + 1), ids: new SnowflakeGenerator({ now }), now, ...rest });
  const events: GeneratedEvent[] = [];
  for (let i = 0; i < count; i++) events.push(generator.next(liveShards)!);
  return { world, events };
}

describe('world', () => {
  it('makes real snowflakes, spreads guilds evenly over shards, and channels after their guild', () => {
    const world = buildWorld({ shardCount: 4, guilds: 40, channelsPerGuild: 2, random: seededRandom(3) });
    expect(world.guildsByShard.map((g) => g.length)).toEqual([10, 10, 10, 10]);
    for (const guild of world.guilds) {
      expect(guild.id).toMatch(/^\d{17,20}$/);
      expect(shardFor(BigInt(guild.id), 4)).toBe(guild.shard);
      expect(timestampOf(BigInt(guild.id))).toBeGreaterThan(Number(DISCORD_EPOCH));
      for (const channel of guild.channels) expect(BigInt(channel.id) > BigInt(guild.id)).toBe(true);
    }
    expect(new Set(world.guilds.map((g) => g.id)).size).toBe(40);
  });

  it('accepts explicit guild ids and rejects ones that are not snowflakes', () => {
    const world = buildWorld({ shardCount: 2, guilds: ['81384788765712384', '41771983423143937'], channelsPerGuild: 1, random: seededRandom(1) });
    expect(world.guilds.map((g) => g.shard)).toEqual([shardFor(81384788765712384n, 2), shardFor(41771983423143937n, 2)]);
    expect(() => buildWorld({ shardCount: 2, guilds: ['12ab'], channelsPerGuild: 1, random: seededRandom(1) })).toThrow(/not a decimal snowflake/);
  });
});

describe('traffic generator', () => {
  it('is reproducible from its seed', () => {
    const a = generate(500, { seed: 9 }).events.map((e) => [e.t, e.guild.id, e.channelId, (e.d as { content?: string }).content]);
    const b = generate(500, { seed: 9 }).events.map((e) => [e.t, e.guild.id, e.channelId, (e.d as { content?: string }).content]);
    expect(a).toEqual(b);
  });

  it('follows the default mix', () => {
    const { events } = generate(20_000);
    const counts = new Map<string, number>();
    for (const e of events) counts.set(e.t, (counts.get(e.t) ?? 0) + 1);
    const total = Object.values(DEFAULT_MIX).reduce((a, b) => a + b, 0);
    for (const [type, weight] of Object.entries(DEFAULT_MIX)) {
      // Creates absorb the few updates/deletes/reactions drawn for a channel with no message yet.
      expect(Math.abs(counts.get(type)! / events.length - weight / total)).toBeLessThan(0.02);
    }
  });

  it('refers updates, deletes and reactions to earlier, undeleted messages of the same channel', () => {
    const { events } = generate(10_000);
    const live = new Map<string, string>(); // message id -> channel id
    let checked = 0;
    for (const e of events) {
      const d = e.d as Record<string, string>;
      if (e.t === 'MESSAGE_CREATE') {
        expect(live.has(d.id!)).toBe(false);
        live.set(d.id!, d.channel_id!);
        continue;
      }
      const messageId = e.t === 'MESSAGE_REACTION_ADD' ? d.message_id : e.t === 'MESSAGE_UPDATE' || e.t === 'MESSAGE_DELETE' ? d.id : undefined;
      if (messageId === undefined) continue;
      expect(live.get(messageId)).toBe(d.channel_id);
      expect(d.channel_id).toBe(e.channelId);
      if (e.t === 'MESSAGE_DELETE') live.delete(messageId);
      checked++;
    }
    expect(checked).toBeGreaterThan(2000);
  });

  it('makes increasing message ids, full message objects, and content within the bounds', () => {
    const { events, world } = generate(5_000, { contentBytes: { min: 10, max: 40 } });
    const creates = events.filter((e) => e.t === 'MESSAGE_CREATE');
    const ids = creates.map((e) => BigInt((e.d as { id: string }).id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    for (const e of creates) {
      const d = e.d as { content: string; guild_id: string; channel_id: string; author: { id: string }; timestamp: string; type: number; id: string };
      expect(Buffer.byteLength(d.content)).toBeGreaterThanOrEqual(10);
      expect(Buffer.byteLength(d.content)).toBeLessThanOrEqual(40);
      expect(d.type).toBe(0);
      expect(d.guild_id).toBe(e.guild.id);
      expect(world.guildsById.get(d.guild_id)!.channels.map((c) => c.id)).toContain(d.channel_id);
      expect(Date.parse(d.timestamp)).toBe(timestampOf(BigInt(d.id)));
    }
  });

  it('only picks guilds of live shards, and nothing when no shard is live', () => {
    const { events } = generate(1_000, { liveShards: [2] });
    expect(events.every((e) => e.guild.shard === 2)).toBe(true);
    const world = buildWorld({ shardCount: 2, guilds: 2, channelsPerGuild: 1, random: seededRandom(1) });
    expect(new TrafficGenerator({ world, random: seededRandom(1), ids: new SnowflakeGenerator() }).next([])).toBeUndefined();
  });

  it('generates only the types of a given mix, and rejects bad mixes and content bounds', () => {
    const { events } = generate(500, { mix: { MESSAGE_CREATE: 1, TYPING_START: 1 } });
    expect(new Set(events.map((e) => e.t))).toEqual(new Set<TrafficEventType>(['MESSAGE_CREATE', 'TYPING_START']));
    expect(() => generate(1, { mix: { MESSAGE_CREATE: 0 } })).toThrow(/greater than 0/);
    expect(() => generate(1, { mix: { MESSAGE_CREATE: -1 } })).toThrow(/>= 0/);
    expect(() => generate(1, { mix: { CHANNEL_CREATE: 1 } as never })).toThrow(/unknown event type/);
    expect(() => generate(1, { contentBytes: { min: 50, max: 10 } })).toThrow(/contentBytes/);
  });
});

describe('schedules', () => {
  it('bursty has the steady average over whole cycles, and sends nothing while off', () => {
    const steady = steadySchedule(1000);
    const bursty = burstySchedule(1000, 1000, 0.25);
    for (const cycles of [1, 2, 7]) expect(bursty(cycles * 1000)).toBeCloseTo(steady(cycles * 1000));
    expect(bursty(250)).toBeCloseTo(1000);
    expect(bursty(900)).toBeCloseTo(1000);
    expect(bursty(125)).toBeCloseTo(500);
    expect(() => scheduleFor('steady', 0)).toThrow(/positive/);
    expect(() => scheduleFor('spiky' as never, 10)).toThrow(/shape/);
  });
});

// The replay buffer is the shared one (core/discord/gateway/replay-buffer.test.ts).
describe('ledger', () => {
  it('keeps the newest entries up to its capacity, and grows for a run', () => {
    const entry = (seq: number): SentDispatch => ({ shard: 0, sessionId: 's', seq, t: 'X', d: null, sentAt: 0 });
    const ledger = new SentLedger(5);
    for (let seq = 1; seq <= 12; seq++) ledger.add(entry(seq));
    expect(ledger.list().map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    ledger.reserve(10);
    for (let seq = 13; seq <= 22; seq++) ledger.add(entry(seq));
    expect(ledger.list().map((e) => e.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 8));
  });
});
