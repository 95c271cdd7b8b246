import { afterAll, describe, expect, it } from 'vitest';
import { Client, Events, GatewayIntentBits, type Message } from 'discord.js';
import type { Producer } from '../core/kafka/types.ts';
import { serializeEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import { partitionForKey } from '../core/events/partition.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import { topicNames } from '../core/kafka/topics.ts';
import { silentLogger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { freePort } from '../test/child.ts';
import { eventually, testKafka, uniqueName } from '../test/support.ts';
import { loadEdgeConfig } from './config.ts';
import { startEdge, type Edge } from './edge.ts';
import { createEdgeTopics, guildOnShard, TEST_SECRET, tokens } from './edge.test-support.ts';

/**
 * Item 8 of issue 11: an edge node only knows the GUILD_CREATEs it saw on `deliveries` after it
 * started. A real discord.js Client on a node started after them (or re-identifying after its node
 * restarted) must never be handed placeholder guilds that wipe what it knows.
 */
describe('an edge node that started after the GUILD_CREATEs passed', () => {
  const kafka = testKafka();
  const prefix = uniqueName('edge-late');
  const topics = topicNames({ KAFKA_TOPIC_PREFIX: prefix });
  const guild = guildOnShard(0, 1, 801);
  const channel = String(BigInt(guild) + 1n);
  const clients: Client[] = [];
  const edges: Edge[] = [];
  let producer: Producer;
  let sourceOffset = 0;
  let messageId = 1n << 40n;

  async function produce(events: EventEnvelope[]) {
    await producer.send({
      topic: topics.deliveries,
      messages: events.map((e) => ({ key: e.guild_id ?? null, value: serializeEnvelope(e), headers: { [SOURCE_OFFSET_HEADER]: String(sourceOffset++) } })),
    });
  }

  async function edgeOn(port: number): Promise<Edge> {
    const config = loadEdgeConfig({
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_EVENT_PARTITIONS: '2',
      EDGE_PORT: String(port),
      EDGE_HOST: '127.0.0.1',
      EDGE_NODE_ID: uniqueName('late-node'),
      EDGE_TOKEN_SECRET: TEST_SECRET,
      EDGE_DRAIN_GRACE_MS: '200',
    });
    const edge = await startEdge(config, { logger: silentLogger, registry: createRegistry('edge-late', { defaults: false }), kafka });
    await edge.ready();
    edges.push(edge);
    return edge;
  }

  async function login(edge: Edge, token: string) {
    const client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
      rest: { api: `${edge.url}/api` },
      // discord.js waits this long for the GUILD_CREATEs of guilds READY listed as unavailable.
      waitGuildTimeout: 1_000,
    });
    clients.push(client);
    const messages: Message[] = [];
    client.on(Events.MessageCreate, (message) => void messages.push(message));
    const readies = { count: 0 };
    client.on(Events.Raw, (packet: { t?: string }) => void (packet.t === 'READY' && readies.count++));
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(token);
    await ready;
    return { client, messages, readies };
  }

  function guildCreate(): EventEnvelope {
    return envelope('GUILD_CREATE', {
      id: guild,
      name: 'the real guild',
      icon: null,
      owner_id: '1',
      joined_at: new Date(0).toISOString(),
      large: false,
      member_count: 1,
      unavailable: false,
      features: [],
      roles: [{ id: guild, name: '@everyone', permissions: '1024', position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 }],
      channels: [{ id: channel, type: 0, name: 'general', guild_id: guild, position: 0, permission_overwrites: [] }],
      threads: [],
      members: [],
      presences: [],
      voice_states: [],
      emojis: [],
      stickers: [],
      stage_instances: [],
      guild_scheduled_events: [],
    });
  }

  function message(n: number): EventEnvelope {
    const id = String(messageId++);
    return envelope('MESSAGE_CREATE', {
      id,
      channel_id: channel,
      guild_id: guild,
      type: 0,
      content: `late ${n}`,
      author: { id: '42', username: 'someone', discriminator: '0', avatar: null, global_name: null },
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
    });
  }

  function envelope(type: string, d: Record<string, unknown>): EventEnvelope {
    return { v: 1, id: `late:${type}:${String(d.id)}:${sourceOffset}`, type, guild_id: guild, channel_id: (d.channel_id as string) ?? undefined, source: 'gateway', received_at: Date.now(), trace_id: 't', d };
  }

  afterAll(async () => {
    for (const client of clients) await client.destroy().catch(() => {});
    for (const edge of edges) await edge.close().catch(() => {});
    await producer?.disconnect();
  });

  it('lists unknown guilds as unavailable instead of sending placeholder guilds, and a re-IDENTIFY keeps what the client knew', async () => {
    await createEdgeTopics(kafka, topics, 2);
    producer = kafka.producer({ partitioner: partitionForKey, idempotent: true });
    await producer.connect();
    // The guild's GUILD_CREATE passes before any edge node runs.
    await produce([guildCreate()]);

    const port = await freePort();
    const first = await edgeOn(port);
    const listed = await tokens.mint({ subject: '801801801801801801', guilds: [guild], ttlSeconds: 600 });
    const fresh = await login(first, listed);
    const seen = fresh.client.guilds.cache.get(guild);
    const freshView = { name: seen?.name ?? null, available: seen?.available, channels: seen?.channels.cache.size };

    // A live bot: its own node saw the guild's GUILD_CREATE while it was connected, messages flow.
    await produce([guildCreate()]);
    // Soft waits up to the assertions: a failing run still reports what the client got.
    const soft = (what: string, check: () => true | undefined, ms = 15_000) => eventually(what, check, ms).catch(() => undefined);
    await soft('the real guild reaching the client', () => (fresh.client.guilds.cache.get(guild)?.channels.cache.has(channel) ? true : undefined));
    const liveView = { channels: fresh.client.guilds.cache.get(guild)?.channels.cache.size };
    await produce([message(1), message(2)]);
    await soft('messages before the restart', () => (fresh.messages.length >= 2 ? true : undefined));
    const beforeRestart = fresh.messages.length;

    // Its node restarts (same address, new process state): the RESUME gets op 9, discord.js
    // IDENTIFYs again, and the new node has never seen the guild's GUILD_CREATE.
    await first.close();
    const second = await edgeOn(port);
    await eventually('the client IDENTIFYing again on the restarted node', () => (fresh.readies.count >= 2 ? true : undefined), 60_000);
    await produce([message(3), message(4), message(5)]);
    await soft('messages after the restart', () => (fresh.messages.length >= beforeRestart + 3 ? true : undefined));
    const after = fresh.client.guilds.cache.get(guild)!;
    const report = {
      freshClient: freshView,
      liveClient: { ...liveView, messagesOf2: beforeRestart },
      afterRestart: { name: after.name, channels: after.channels.cache.size, messagesOf3: fresh.messages.length - beforeRestart },
    };
    console.log('late edge node (issue 11 item 8):', JSON.stringify(report));
    // What a discord.js client on a late node knows of its guild: READY's id, marked unavailable,
    // never a made-up "guild <id>" with no channels.
    expect(freshView.name).not.toBe(`guild ${guild}`);
    expect(freshView.available).toBe(false);
    expect(after.name).toBe('the real guild');
    expect(after.channels.cache.has(channel)).toBe(true);
    expect(fresh.messages.map((m) => m.content)).toEqual(['late 1', 'late 2', 'late 3', 'late 4', 'late 5']);

    // A new client on the restarted node: guild listed, unavailable, nothing fake.
    const late = await login(second, listed);
    const lateGuild = late.client.guilds.cache.get(guild);
    expect(lateGuild?.available).toBe(false);
    expect(lateGuild?.channels.cache.size ?? 0).toBe(0);
  });
});
