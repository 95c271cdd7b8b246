import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REST } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents, type SessionInfo } from '@discordjs/ws';
import { GatewayIntentBits, type GatewayDispatchPayload } from 'discord-api-types/v10';
import { eventually } from '../test/support.ts';
import { guildOnShard, messageEvent, metricValue, RawClient, startTestEdge, tokens, type TestEdge } from './edge.test-support.ts';

/** Unmodified @discordjs/ws shards against the edge, fed through a real deliveries topic. */
describe('edge with @discordjs/ws clients', () => {
  let edge: TestEdge;
  const managers: WebSocketManager[] = [];
  const shard0 = [guildOnShard(0, 2, 1), guildOnShard(0, 2, 2)];
  const shard1 = [guildOnShard(1, 2, 3)];
  const forbidden = guildOnShard(0, 2, 4);

  beforeAll(async () => {
    edge = await startTestEdge();
  });
  afterAll(async () => {
    await Promise.allSettled(managers.map((m) => m.destroy()));
    await edge?.close();
  });

  async function connect(token: string, shardCount: number) {
    const rest = new REST({ api: `${edge.edge.url}/api` }).setToken(token);
    const sessions = new Map<number, SessionInfo | null>();
    const manager = new WebSocketManager({
      token,
      rest,
      intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent,
      shardCount,
      buildIdentifyThrottler: () => ({ waitForIdentify: async () => {} }),
      retrieveSessionInfo: (id) => sessions.get(id) ?? null,
      updateSessionInfo: (id, info) => void sessions.set(id, info),
    });
    managers.push(manager);
    const received = new Map<number, GatewayDispatchPayload[]>();
    const readyIds = new Map<number, string>();
    let resumes = 0;
    manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
      if (!received.has(shardId)) received.set(shardId, []);
      received.get(shardId)!.push(payload);
    });
    manager.on(WebSocketShardEvents.Ready, (data, shardId) => void readyIds.set(shardId, data.session_id));
    manager.on(WebSocketShardEvents.Resumed, () => void resumes++);
    await manager.connect();
    await eventually('every shard READY', () => (readyIds.size === shardCount ? true : undefined));
    const messages = (shard: number) =>
      (received.get(shard) ?? []).filter((p) => p.t === 'MESSAGE_CREATE').map((p) => p.d as unknown as { guild_id: string; n: number; content: string });
    return { manager, received, readyIds, messages, resumes: () => resumes };
  }

  it('gives each shard exactly its guilds, in order, with READY and a GUILD_CREATE per guild', async () => {
    const token = await tokens.mint({ subject: '111111111111111111', guilds: [...shard0, ...shard1], ttlSeconds: 600 });
    // The edge sends GUILD_CREATE only for guilds whose GUILD_CREATE it saw (unknown ones stay unavailable),
    // and reads a partition only while a session needs it: one "*" session keeps every partition read.
    const holder = new RawClient(edge.edge.gatewayUrl);
    await holder.opened;
    holder.identify(await tokens.mint({ guilds: '*', ttlSeconds: 600 }));
    await holder.ready();
    await edge.produce([...shard0, ...shard1].map((id, n) => ({ ...messageEvent(id, n), type: 'GUILD_CREATE', d: { id, name: `guild ${n}`, channels: [] } })));
    await eventually('the GUILD_CREATEs read by the edge', async () => ((await metricValue(edge.registry, 'guildcast_edge_records_consumed_total')) >= 3 ? true : undefined));
    const client = await connect(token, 2);
    const guildCreates = (shard: number) => (client.received.get(shard) ?? []).filter((p) => p.t === 'GUILD_CREATE').map((p) => (p.d as { id: string }).id);
    expect(guildCreates(0).sort()).toEqual([...shard0].sort());
    expect(guildCreates(1)).toEqual(shard1);

    const events = Array.from({ length: 60 }, (_, n) => messageEvent([...shard0, ...shard1, forbidden][n % 4]!, n));
    await edge.produce(events);
    const want = (guilds: string[]) => events.filter((e) => guilds.includes(e.guild_id!)).map((e) => e.d as { n: number });
    await eventually('shard 0 messages', () => (client.messages(0).length >= want(shard0).length ? true : undefined));
    await eventually('shard 1 messages', () => (client.messages(1).length >= want(shard1).length ? true : undefined));
    // In order, once each, nothing of the other shard's guilds nor of the forbidden guild.
    for (const [shard, guilds] of [[0, shard0], [1, shard1]] as const) {
      for (const guild of guilds) {
        expect(client.messages(shard).filter((m) => m.guild_id === guild).map((m) => m.n)).toEqual(
          events.filter((e) => e.guild_id === guild).map((e) => (e.d as { n: number }).n),
        );
      }
      expect(client.messages(shard).every((m) => guilds.includes(m.guild_id))).toBe(true);
    }
    expect(client.messages(0).find((m) => m.n === 0)?.content).toBe('message 0');
    expect(await metricValue(edge.registry, 'guildcast_edge_identifies_total')).toBeGreaterThanOrEqual(2);
  });

  it('resumes a force-closed shard and replays what it missed, in order, once', async () => {
    const token = await tokens.mint({ subject: '222222222222222222', guilds: shard0, ttlSeconds: 600 });
    const client = await connect(token, 1);
    const guild = shard0[0]!;
    await edge.produce(Array.from({ length: 20 }, (_, n) => messageEvent(guild, n)));
    await eventually('the first 20', () => (client.messages(0).length === 20 ? true : undefined));

    // Drop the socket like a network failure, then keep the stream going while the client is away.
    expect(edge.edge.disconnect(client.readyIds.get(0)!)).toBe(true);
    await edge.produce(Array.from({ length: 40 }, (_, n) => messageEvent(guild, 20 + n)));
    await eventually('all 60 after RESUME', () => (client.messages(0).length >= 60 ? true : undefined));
    await eventually('RESUMED', () => (client.resumes() >= 1 ? true : undefined));
    expect(client.messages(0).map((m) => m.n)).toEqual(Array.from({ length: 60 }, (_, n) => n));
    expect(await metricValue(edge.registry, 'guildcast_edge_resumes_total', { result: 'ok' })).toBeGreaterThanOrEqual(1);
  });

  it('never gives a token events of guilds it does not allow, under load', async () => {
    const allowed = [guildOnShard(0, 1, 10), guildOnShard(0, 1, 11)];
    const others = [guildOnShard(0, 1, 12), guildOnShard(0, 1, 13), guildOnShard(0, 1, 14)];
    const limited = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const client = new RawClient(edge.edge.gatewayUrl);
        await client.opened;
        client.identify(await tokens.mint({ subject: 'limited', guilds: allowed, ttlSeconds: 600 }));
        await client.ready();
        return client;
      }),
    );
    const everything = new RawClient(edge.edge.gatewayUrl);
    await everything.opened;
    everything.identify(await tokens.mint({ subject: 'all', guilds: '*', ttlSeconds: 600 }));
    await everything.ready();

    const all = [...allowed, ...others];
    const events = Array.from({ length: 2_000 }, (_, n) => messageEvent(all[n % all.length]!, n));
    for (let i = 0; i < events.length; i += 500) await edge.produce(events.slice(i, i + 500));
    await eventually('the wildcard client got all 2000', () => (everything.dispatches('MESSAGE_CREATE').length >= 2_000 ? true : undefined));
    const allowedCount = events.filter((e) => allowed.includes(e.guild_id!)).length;
    for (const client of limited) {
      await eventually('a limited client got its guilds', () => (client.dispatches('MESSAGE_CREATE').length >= allowedCount ? true : undefined));
      const got = client.dispatches('MESSAGE_CREATE');
      expect(got).toHaveLength(allowedCount);
      expect(got.every((f) => allowed.includes(f.d.guild_id))).toBe(true);
      // s counts this session's own dispatches: contiguous, whatever other sessions got.
      const seqs = client.dispatches().map((f) => f.s);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
    for (const client of [...limited, everything]) client.close();
  });
});
