import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelType, Client, DiscordAPIError, Events, GatewayIntentBits, Routes, type Message, type TextChannel } from 'discord.js';
import { eventually } from '../support.ts';
import { startSystem, type System } from './system.ts';

/**
 * discord.js v14's own Client, unmodified but for its REST base (`rest.api`), against
 * `guildcast all` with the simulator: what a bot does, with the one token the console prints.
 */
describe('discord.js v14 Client against guildcast all', () => {
  let system: System;
  const clients: Client[] = [];
  let everyone: Client;
  let bot: Client;
  let guildA: string;
  let guildB: string;
  const seen = { everyone: [] as Message[], bot: [] as Message[] };
  const updates: Message[] = [];
  const deletes: string[] = [];

  async function login(token: string): Promise<Client> {
    const client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
      rest: { api: `${system.base}/api` },
    });
    clients.push(client);
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(token);
    await ready;
    return client;
  }

  beforeAll(async () => {
    system = await startSystem('contractdjs');
    everyone = await login(await system.tokens.mint({ username: 'watcher', guilds: '*', ttlSeconds: 600 }));
    const guilds = [...everyone.guilds.cache.keys()].sort();
    expect(guilds).toHaveLength(2);
    [guildA, guildB] = [guilds[0]!, guilds[1]!];
    bot = await login(await system.tokens.mint({ username: 'contract-bot', guilds: [guildA!], ttlSeconds: 600 }));
    everyone.on(Events.MessageCreate, (m) => void seen.everyone.push(m));
    bot.on(Events.MessageCreate, (m) => void seen.bot.push(m));
    everyone.on(Events.MessageUpdate, (_old, m) => void updates.push(m as Message));
    everyone.on(Events.MessageDelete, (m) => void deletes.push(m.id));
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.destroy()));
    if (system) expect(await system.stop()).toBe(0);
  });

  const textChannel = (client: Client, guildId: string) =>
    client.guilds.cache.get(guildId)!.channels.cache.find((c) => c.type === ChannelType.GuildText) as TextChannel;

  it('logs in as the token\'s bot user and sees exactly its guilds, with their channels', async () => {
    expect(bot.user!.username).toBe('contract-bot');
    expect(bot.user!.id).toMatch(/^\d{17,20}$/);
    expect([...bot.guilds.cache.keys()]).toEqual([guildA]);
    expect(guildB).toBeDefined();
    expect(bot.guilds.cache.get(guildA)!.channels.cache.size).toBeGreaterThan(0);
    const fetched = await bot.guilds.cache.get(guildA)!.channels.fetch();
    expect(fetched.size).toBe(bot.guilds.cache.get(guildA)!.channels.cache.size);
  });

  it('receives live messageCreate with content, and reads history', async () => {
    const live = await eventually('a simulated message in guild A', () => seen.bot.find((m) => m.guildId === guildA && m.content.length > 0));
    const channel = (await bot.channels.fetch(live.channelId)) as TextChannel;
    const history = await eventually('the live message in history', async () => {
      const page = await channel.messages.fetch({ limit: 100 });
      return page.has(live.id) ? page : undefined;
    });
    expect(history.get(live.id)!.content).toBe(live.content);
  });

  it('sends, edits and deletes its own message: every session sees each, and history follows', async () => {
    const channel = textChannel(bot, guildA);
    const content = `hello from discord.js ${randomBytes(4).toString('hex')}`;
    const sent = await channel.send(content);
    expect(sent.author.id).toBe(bot.user!.id);
    expect(sent.content).toBe(content);
    expect(sent.guildId).toBe(guildA);
    // Through ingest's envelope → Kafka → fanout → the edge, to itself and to every other session.
    await eventually('its own message over the gateway', () => seen.bot.find((m) => m.id === sent.id));
    const other = await eventually('the message at the other session', () => seen.everyone.find((m) => m.id === sent.id));
    expect(other.content).toBe(content);
    await eventually('the message in history', async () => ((await channel.messages.fetch({ limit: 100 })).get(sent.id)?.content === content ? true : undefined));

    const edited = await sent.edit(`${content} (edited)`);
    expect(edited.content).toBe(`${content} (edited)`);
    expect(edited.editedTimestamp).not.toBeNull();
    await eventually('the edit at the other session', () => updates.find((m) => m.id === sent.id && m.content === `${content} (edited)`));
    await eventually('the edit in history', async () => ((await channel.messages.fetch({ message: sent.id, force: true })).content === `${content} (edited)` ? true : undefined));

    await sent.delete();
    await eventually('the delete at the other session', () => (deletes.includes(sent.id) ? true : undefined));
    await eventually('the message gone from history', async () => ((await channel.messages.fetch({ limit: 100 })).has(sent.id) ? undefined : true));
  });

  it('refuses a token for guild A acting in guild B with 403 Missing Access', async () => {
    const elsewhere = textChannel(everyone, guildB);
    const refused = await bot.rest.post(Routes.channelMessages(elsewhere.id), { body: { content: 'not mine' } }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(DiscordAPIError);
    expect((refused as DiscordAPIError).status).toBe(403);
    expect((refused as DiscordAPIError).code).toBe(50001);
  });

  it('answers an over-long message with 50035 and changes nothing', async () => {
    const channel = textChannel(bot, guildA);
    const tooLong = `too long ${randomBytes(4).toString('hex')} ${'x'.repeat(2000)}`;
    const refused = await channel.send(tooLong).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(DiscordAPIError);
    expect((refused as DiscordAPIError).code).toBe(50035);
    expect((refused as DiscordAPIError).rawError).toMatchObject({ errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } });
    // A marker sent after it is in history: had the refused one been published, it would be there first.
    const marker = await channel.send(`marker ${randomBytes(4).toString('hex')}`);
    await eventually('the marker in history', async () => ((await channel.messages.fetch({ limit: 100 })).has(marker.id) ? true : undefined));
    const page = await channel.messages.fetch({ limit: 100 });
    expect([...page.values()].some((m) => m.content === tooLong)).toBe(false);
    expect(seen.everyone.some((m) => m.content === tooLong)).toBe(false);
  });
});
