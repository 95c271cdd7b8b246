import { REST } from '@discordjs/rest';
import { Routes, type APIMessage } from 'discord-api-types/v10';
import type { FastifyInstance } from 'fastify';
import { createServer, type Server, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropKeyspace, localStoreConfig, testKeyspace } from '../../test/support.ts';
import { createCqlClient, type CqlClient } from '../cql/client.ts';
import { createMessageStore, type MessageStore } from '../repository.ts';
import { createHistoryApi } from './routes.ts';
import { freePort } from '../../bench/kit/free-port.ts';

const channelId = '1280000000000000000';
const ids = Array.from({ length: 120 }, (_, i) => (1_280_000_000_000_000_000n + BigInt(i + 1) * 4_194_304_000n).toString());
const author = { id: '80351110224678912', username: 'nelly', discriminator: '0', avatar: null, global_name: null };

async function listen(app: FastifyInstance): Promise<string> {
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return address;
}

describe('history HTTP API against the real Cassandra', () => {
  let client: CqlClient;
  let keyspace: string;
  let store: MessageStore;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    ({ client, keyspace } = await testKeyspace('api'));
    store = createMessageStore({ client, keyspace, registry: new Registry() });
    await store.upsertMessages(ids.map((id) => ({ id, channel_id: channelId, guild_id: '1000000000000000000', author, content: `m${id}`, type: 0 })));
    app = await createHistoryApi({ store, deadlineMs: 3000 });
    base = await listen(app);
  });
  afterAll(async () => {
    await app.close();
    await dropKeyspace(client, keyspace);
  });

  it('serves @discordjs/rest a channel history through Routes.channelMessages', async () => {
    const rest = new REST({ api: `${base}/api`, version: '10', retries: 0 }).setToken('guildcast-test-token');
    const latest = (await rest.get(Routes.channelMessages(channelId))) as APIMessage[];
    expect(latest.map((m) => m.id)).toEqual(ids.slice(-50).reverse());
    expect(latest[0]).toMatchObject({ id: ids.at(-1), channel_id: channelId, author, content: `m${ids.at(-1)}`, embeds: [], attachments: [], tts: false });
    expect(new Date(latest[0]!.timestamp).getTime()).toBe(Number((BigInt(ids.at(-1)!) >> 22n) + 1420070400000n));

    const older = (await rest.get(Routes.channelMessages(channelId), { query: new URLSearchParams({ limit: '100', before: ids[100]! }) })) as APIMessage[];
    expect(older.map((m) => m.id)).toEqual(ids.slice(0, 100).reverse());
    const one = (await rest.get(Routes.channelMessage(channelId, ids[7]!))) as APIMessage;
    expect(one.id).toBe(ids[7]);
  });

  it('answers around and after pages newest first', async () => {
    const around = (await (await fetch(`${base}/api/v10/channels/${channelId}/messages?around=${ids[60]}&limit=5`)).json()) as APIMessage[];
    expect(around.map((m) => m.id)).toEqual([ids[62], ids[61], ids[60], ids[59], ids[58]]);
    const after = (await (await fetch(`${base}/api/v10/channels/${channelId}/messages?after=${ids[10]}&limit=3`)).json()) as APIMessage[];
    expect(after.map((m) => m.id)).toEqual([ids[13], ids[12], ids[11]]);
  });

  it('rejects bad input with Discord\'s 400 form error', async () => {
    const cases: [string, string][] = [
      [`/channels/abc/messages`, 'channel_id'],
      [`/channels/${channelId}/messages?limit=0`, 'limit'],
      [`/channels/${channelId}/messages?limit=101`, 'limit'],
      [`/channels/${channelId}/messages?before=1&after=2`, 'before'],
      [`/channels/${channelId}/messages?around=x`, 'around'],
      [`/channels/${channelId}/messages/12ab`, 'message_id'],
    ];
    for (const [path, field] of cases) {
      const response = await fetch(`${base}/api/v10${path}`);
      expect(response.status, path).toBe(400);
      const body = (await response.json()) as { errors: Record<string, { _errors: { code: string }[] }> };
      expect(body, path).toMatchObject({ message: 'Invalid Form Body', code: 50035 });
      expect(body.errors[field]?._errors[0]?.code, path).toMatch(/^[A-Z_]+$/);
    }
  });

  it('answers 404 Unknown Message for a message that does not exist', async () => {
    const response = await fetch(`${base}/api/v10/channels/${channelId}/messages/${BigInt(ids[0]!) + 1n}`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'Unknown Message', code: 10008 });
  });
});

describe('history HTTP API when the database is out', () => {
  const sockets = new Set<Socket>();
  let blackHole: Server;
  let closedPort: number;

  beforeAll(async () => {
    // A port with nothing on it, and one that accepts connections and never answers.
    closedPort = await freePort();
    blackHole = createServer((socket) => sockets.add(socket));
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => blackHole.close(r));
  });

  for (const [name, port] of [
    ['refuses connections', () => closedPort],
    ['never answers', () => (blackHole.address() as { port: number }).port],
  ] as const) {
    it(`answers 503 with Retry-After when it ${name}`, async () => {
      const client = createCqlClient({ ...localStoreConfig, CASSANDRA_CONTACT_POINTS: [`127.0.0.1:${port()}`] });
      const store = createMessageStore({ client, keyspace: 'nowhere', registry: new Registry(), readTimeoutMs: 500 });
      const app = await createHistoryApi({ store, deadlineMs: 1000 });
      try {
        for (const path of [`/channels/${channelId}/messages`, `/channels/${channelId}/messages/${ids[0]}`]) {
          const response = await app.inject({ method: 'GET', url: `/api/v10${path}` });
          expect(response.statusCode, path).toBe(503);
          expect(response.headers['retry-after']).toBe('1');
          expect(response.json()).toEqual({ message: 'Service unavailable', code: 0, retry_after: 1 });
        }
      } finally {
        await app.close();
        await client.shutdown().catch(() => undefined);
      }
    });
  }
});
