import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelType, Client, Events, GatewayIntentBits, type Message, type TextChannel } from 'discord.js';
import type { RestStats } from '../../infra/discord-sim/index.ts';
import { freePort, startRole, type RoleProcess } from '../child.ts';
import { eventually } from '../support.ts';
import { startSystem, type System } from './system.ts';

/**
 * discord.js v14's own Client, unmodified but for `rest.api`, against `guildcast all` with
 * DISCORD_TOKEN: guildcast is a REST proxy to "Discord" (the simulator, in its own process, with
 * its rate limits), and ingest connects to the simulator's gateway as to Discord's. What a bot
 * sends is answered by Discord and comes back through the gateway: simulator → ingest → Kafka →
 * fanout → edge → the client.
 */

// Small enough that a few sends exceed them, so the proxy has to wait for the simulator's windows.
const BUCKET_LIMIT = 5;
const BUCKET_WINDOW_MS = 2_000;
const GLOBAL_PER_SECOND = 10;
const CHANNELS_PER_GUILD = 6;

interface World {
  apiBase: string;
  token: string;
  guildIds: string[];
  channels: Record<string, string[]>;
  bot?: { id: string; username: string };
}

describe('discord.js v14 Client against guildcast all as a REST proxy to the simulator', () => {
  let sim: RoleProcess;
  let control: string;
  let world: World;
  let system: System;
  const clients: Client[] = [];
  let bot: Client;
  let token: string;
  let discordBot: { id: string; username: string };
  let mintToken: () => Promise<string>;
  const created: Message[] = [];
  const updated: Message[] = [];
  const deleted: string[] = [];

  const rest = async (): Promise<RestStats> => (await fetch(`${control}/rest`)).json() as Promise<RestStats>;
  const createBucket = (stats: RestStats, channel: string) => stats.buckets[`sim-message-create:channels/${channel}`]?.windows ?? [];
  const sum = (xs: number[]) => xs.reduce((s, n) => s + n, 0);

  async function login(workerToken: string): Promise<Client> {
    const client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
      rest: { api: `${system.base}/api` },
    });
    clients.push(client);
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(workerToken);
    await ready;
    return client;
  }

  /** A client that ignores every rate limit: one POST, as it is, to guildcast. */
  const rawSend = (channel: string, content: string) =>
    fetch(`${system.base}/api/v10/channels/${channel}/messages`, {
      method: 'POST',
      headers: { authorization: `Bot ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content }),
    });

  beforeAll(async () => {
    const [simPort, controlPort] = [await freePort(), await freePort()];
    sim = startRole('test/system/gateway-sim-process.ts', {
      SIM_HOST: '127.0.0.1',
      SIM_PORT: String(simPort),
      SYSTEM_SIM_CONTROL_PORT: String(controlPort),
      SIM_GUILDS: '2',
      SIM_CHANNELS_PER_GUILD: String(CHANNELS_PER_GUILD),
      SIM_SEED: '15',
      SIM_REST_BUCKET_LIMIT: String(BUCKET_LIMIT),
      SIM_REST_BUCKET_WINDOW_MS: String(BUCKET_WINDOW_MS),
      SIM_REST_GLOBAL_PER_SECOND: String(GLOBAL_PER_SECOND),
    });
    control = `http://127.0.0.1:${controlPort}`;
    world = await eventually('the simulator answering', async () => (await fetch(`${control}/world`)).json() as Promise<World>, 30_000).catch((err) => {
      throw new Error(`${(err as Error).message}\n${sim.output()}`);
    });
    system = await startSystem('contractproxy', {
      DISCORD_TOKEN: world.token,
      DISCORD_API_BASE: world.apiBase,
      REST_PROXY_GLOBAL_PER_SECOND: String(GLOBAL_PER_SECOND),
    });
    // Discord's bot user, as ingest's READY named it: with DISCORD_TOKEN, guildcast tokens must name
    // the real bot (`guildcast token --sub <its id> --name <its name>`), since Discord authors what the
    // bot sends as that user. With another id discord.js drops the MESSAGE_CREATE of its own sends
    // (a cached message not authored by client.user emits nothing), and self-filters stop working.
    discordBot = await eventually('the bot user of Discord’s READY', async () => ((await fetch(`${control}/world`)).json() as Promise<World>).then((w) => w.bot), 30_000);
    mintToken = () => system.tokens.mint({ subject: discordBot.id, username: discordBot.username, guilds: world.guildIds, ttlSeconds: 900 });
    token = await mintToken();
    bot = await login(token);
    bot.on(Events.MessageCreate, (m) => void created.push(m));
    bot.on(Events.MessageUpdate, (_old, m) => void updated.push(m as Message));
    bot.on(Events.MessageDelete, (m) => void deleted.push(m.id));
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.destroy()));
    const code = system ? await system.stop() : 0;
    await sim?.kill('SIGTERM');
    expect(code).toBe(0);
  });

  const textChannel = (client: Client, guildId: string, index = 0) =>
    [...client.guilds.cache.get(guildId)!.channels.cache.filter((c) => c.type === ChannelType.GuildText).values()].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))[index] as TextChannel;

  it('prints a dev token naming Discord’s own bot user, so a bot logged in with it recognises what it sends', async () => {
    const printed = /dev token\s+(\S+)/.exec(system.process.output())?.[1];
    expect(printed).toBeDefined();
    const me = (await (await fetch(`${system.base}/api/v10/users/@me`, { headers: { authorization: `Bot ${printed}` } })).json()) as { id: string; username: string };
    expect({ id: me.id, username: me.username }).toEqual({ id: discordBot.id, username: discordBot.username });
  });

  it('sends through the proxy: the answer is Discord’s message, which then arrives over the gateway and is in history; edit and delete go through too', async () => {
    expect([...bot.guilds.cache.keys()].sort()).toEqual([...world.guildIds].sort());
    const guildId = world.guildIds[0]!;
    const channel = textChannel(bot, guildId);
    expect(world.channels[guildId]).toContain(channel.id);
    const before = await rest();
    const content = `through the proxy ${randomBytes(4).toString('hex')}`;

    const sent = await channel.send(content);
    expect(sent.content).toBe(content);
    expect(sent.channelId).toBe(channel.id);
    expect(sent.id).toMatch(/^\d{17,20}$/);
    // Discord (the simulator) made it: its bucket counted the request, and the author is the bot, as on Discord.
    expect(sum(createBucket(await rest(), channel.id)) - sum(createBucket(before, channel.id))).toBe(1);
    expect(bot.user!.id).toBe(discordBot.id);
    expect(sent.author.id).toBe(bot.user!.id);

    const live = await eventually('the MESSAGE_CREATE over the gateway', () => created.find((m) => m.id === sent.id));
    expect(live.content).toBe(content);
    expect(live.guildId).toBe(guildId);
    const history = await eventually('the message in history', async () => {
      const page = await channel.messages.fetch({ limit: 100 });
      return page.has(sent.id) ? page : undefined;
    });
    expect(history.get(sent.id)!.content).toBe(content);

    const edited = await sent.edit(`${content} (edited)`);
    expect(edited.content).toBe(`${content} (edited)`);
    await eventually('the MESSAGE_UPDATE over the gateway', () => updated.find((m) => m.id === sent.id && m.content === `${content} (edited)`));
    await eventually('the edit in history', async () => ((await channel.messages.fetch({ message: sent.id, force: true })).content === `${content} (edited)` ? true : undefined));

    await sent.delete();
    await eventually('the MESSAGE_DELETE over the gateway', () => (deleted.includes(sent.id) ? true : undefined));
    await eventually('the message gone from history', async () => ((await channel.messages.fetch({ limit: 100 })).has(sent.id) ? undefined : true));
    const after = await rest();
    expect(after.violations).toEqual({ bucket: 0, global: 0 });
    console.log('proxy send/edit/delete (issue 15):', JSON.stringify({ simRequests: after.requests - before.requests, violations: after.violations }));
  });

  it('lets many workers of one bot and a client ignoring limits send at once: all succeed, Discord sees no request over a bucket or the global limit', async () => {
    const guildId = world.guildIds[0]!;
    const hot = textChannel(bot, guildId, 1).id;
    // Three more processes of the same bot, each with its own limiter that knows nothing of the others.
    const workers = await Promise.all([0, 1, 2].map(async () => login(await mintToken())));
    const cold = world.guildIds.flatMap((g) => world.channels[g]!).filter((c) => c !== hot);
    const before = await rest();
    const tag = randomBytes(3).toString('hex');

    const sends: Promise<{ id: string; status: number }>[] = [];
    for (const [w, worker] of workers.entries()) {
      const channel = (await worker.channels.fetch(hot)) as TextChannel;
      for (let i = 0; i < 4; i++) sends.push(channel.send(`hot ${tag} w${w} #${i}`).then((m) => ({ id: m.id, status: 200 })));
    }
    for (let i = 0; i < 3; i++) sends.push(rawSend(hot, `hot ${tag} raw #${i}`).then(async (r) => ({ id: ((await r.json()) as { id: string }).id, status: r.status })));
    // One to every other channel at the same moment: more than the global limit's second holds.
    for (const channel of cold) sends.push(rawSend(channel, `cold ${tag}`).then(async (r) => ({ id: ((await r.json()) as { id: string }).id, status: r.status })));
    const answers = await Promise.all(sends);

    const after = await rest();
    const hotWindows = createBucket(after, hot).slice(createBucket(before, hot).length);
    const figures = {
      sends: answers.length,
      hotSends: 15,
      statuses: Object.fromEntries([...new Set(answers.map((a) => a.status))].map((s) => [s, answers.filter((a) => a.status === s).length])),
      hotWindows,
      simRequests: after.requests - before.requests,
      violations: after.violations,
      globalMaxPerSecond: after.globalMaxPerSecond,
      bucketLimit: `${BUCKET_LIMIT} per ${BUCKET_WINDOW_MS} ms`,
      globalLimit: GLOBAL_PER_SECOND,
    };
    console.log('parallel sends through the proxy (issue 15):', JSON.stringify(figures));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => a.id)).size).toBe(answers.length);
    expect(after.violations).toEqual({ bucket: 0, global: 0 });
    expect(after.requests - before.requests).toBe(answers.length);
    expect(sum(createBucket(after, hot)) - sum(createBucket(before, hot))).toBe(15);
    expect(Math.max(...createBucket(after, hot))).toBeLessThanOrEqual(BUCKET_LIMIT);
    expect(after.globalMaxPerSecond).toBeLessThanOrEqual(GLOBAL_PER_SECOND);

    const ids = answers.map((a) => a.id);
    await eventually('every sent message over the gateway', () => {
      const seen = new Set(created.map((m) => m.id));
      return ids.every((id) => seen.has(id)) || undefined;
    }, 30_000);
  });

  it('answers a forced 429 period with Retry-After, sends Discord a bounded number of requests, and discord.js gets through after it', async () => {
    const channel = textChannel(bot, world.guildIds[1]!, 2);
    const durationMs = 3_000;
    const retryAfterMs = 1_000;
    const before = await rest();
    const forced = await fetch(`${control}/rest/force-429?ms=${durationMs}&retry_after=${retryAfterMs}`, { method: 'POST' });
    expect(forced.status).toBe(200);
    const startedAt = Date.now();
    // discord.js during the period: it waits out each Retry-After and tries again.
    const patient = channel.send(`patient ${randomBytes(3).toString('hex')}`);

    // Eight clients that ignore Retry-After and try again at once, for the whole period.
    let attempts = 0;
    let tooMany = 0;
    let withoutRetryAfter = 0;
    const retryAfters = new Set<string>();
    const loops = Array.from({ length: 8 }, async (_, l) => {
      for (let i = 0; Date.now() - startedAt < durationMs - 200; i++) {
        const answer = await rawSend(channel.id, `hammer ${l}.${i}`);
        attempts++;
        await answer.arrayBuffer();
        if (answer.status !== 429) continue;
        tooMany++;
        const retryAfter = answer.headers.get('retry-after');
        if (!(Number(retryAfter) > 0)) withoutRetryAfter++;
        else retryAfters.add(retryAfter!);
      }
    });
    await Promise.all(loops);
    const sent = await patient;
    const after = await rest();
    const figures = {
      durationMs,
      retryAfterMs,
      attempts,
      answered429: tooMany,
      withoutRetryAfter,
      retryAfters: [...retryAfters],
      upstreamForced429: after.forced - before.forced,
      simRequests: after.requests - before.requests,
      violations: after.violations,
    };
    console.log('forced 429 period through the proxy (issue 15):', JSON.stringify(figures));

    expect(tooMany).toBeGreaterThan(0);
    expect(withoutRetryAfter).toBe(0);
    // The proxy holds the bucket for each Retry-After: about one request per second reaches Discord,
    // whatever the clients do.
    expect(after.forced - before.forced).toBeGreaterThanOrEqual(1);
    expect(after.forced - before.forced).toBeLessThanOrEqual(Math.ceil(durationMs / retryAfterMs) + 2);
    expect(attempts).toBeGreaterThan(after.forced - before.forced);
    expect(after.violations).toEqual({ bucket: 0, global: 0 });
    expect(sent.channelId).toBe(channel.id);
    await eventually('the patient message over the gateway', () => created.find((m) => m.id === sent.id));
  });
});
