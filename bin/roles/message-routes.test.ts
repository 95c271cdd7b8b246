import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { SnowflakeGenerator, snowflakeAt } from '../../core/discord/snowflake.ts';
import type { EventEnvelope } from '../../core/events/envelope.ts';
import { createTokenSigner } from '../../gateway-proxy/index.ts';
import { cachedGuildState, memoryGuildState, memoryStateChanges, type StoredMessage } from '../../store/index.ts';
import { registerApiRoutes } from './api-routes.ts';
import { memorySettings, snapshot } from './api.test-support.ts';
import type { DiscordForwarder, ProxyRequest } from './message-backend.ts';

const guildA = '1300000000000000001';
const guildB = '1300000000000000002';
const channelA = '1300000000000000011';
const channelB = '1300000000000000012';
const nowhere = '1300000000000000013';
const botId = '1300000000000000777';
/** A message in channel A written by someone else (a human), known to the store. */
const theirs = String(snowflakeAt(Date.now() - 60_000));

async function api({ failPublish = false, forwarder, relay }: { failPublish?: boolean; forwarder?: DiscordForwarder; relay?: string } = {}) {
  const tokens = createTokenSigner('message-routes-secret');
  const published: { envelope: EventEnvelope; key: string }[] = [];
  const rows = new Map<string, Record<string, unknown>>([[`${channelA}/${theirs}`, { id: theirs, channel_id: channelA, guild_id: guildA, author: { id: '42', username: 'human' }, content: 'hello' }]]);
  const store = {
    async history() {
      return [];
    },
    async getMessage(channelId: unknown, messageId: unknown) {
      return rows.get(`${String(channelId)}/${String(messageId)}`) as StoredMessage | undefined;
    },
  };
  const state = cachedGuildState(memoryGuildState([snapshot(guildA, [channelA]), snapshot(guildB, [channelB])]), { changes: memoryStateChanges(), ttlMs: 600_000, max: 100 });
  const publisher = {
    async publish(envelope: EventEnvelope, key: string) {
      if (failPublish) throw new Error('broker down');
      published.push({ envelope, key });
    },
  };
  const app = Fastify();
  await registerApiRoutes(app, {
    store,
    state,
    settings: memorySettings(),
    deadlineMs: 1000,
    tokens,
    rateLimit: { limit: 1000, windowMs: 1000 },
    messages: {
      backend: forwarder ? { forwarder } : { publisher },
      snowflakes: new SnowflakeGenerator({ workerId: 1 }),
      newTraceId: () => 'trace',
      settleMs: 0,
      ...(relay ? { relay: { tokens: [relay], author: { id: '1', username: 'relay' } } } : {}),
    },
  });
  const token = await tokens.mint({ subject: botId, username: 'helper-bot', guilds: [guildA], ttlSeconds: 60 });
  const call = (method: 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, as = token) =>
    app.inject({ method, url: `/api/v10${url}`, headers: { authorization: `Bot ${as}` }, ...(body !== undefined ? { payload: body as object } : {}) });
  return { app, call, published, rows };
}

describe('message routes (guildcast is the source of truth)', () => {
  it('sends: one MESSAGE_CREATE keyed by the guild, answered with the message Discord would return', async () => {
    const { call, published } = await api();
    const res = await call('POST', `/channels/${channelA}/messages`, { content: 'hi there', nonce: 'n1' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const message = res.json();
    expect(message).toMatchObject({ channel_id: channelA, guild_id: guildA, content: 'hi there', nonce: 'n1', edited_timestamp: null, author: { id: botId, username: 'helper-bot', bot: true } });
    expect(new Date(message.timestamp).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(published).toHaveLength(1);
    expect(published[0]!.key).toBe(guildA);
    expect(published[0]!.envelope).toMatchObject({ type: 'MESSAGE_CREATE', id: `http:${message.id}`, guild_id: guildA, channel_id: channelA, source: 'http', d: message });
  });

  it('refuses another guild with 403 Missing Access and an unknown channel with 404 Unknown Channel, publishing nothing', async () => {
    const { call, published } = await api();
    for (const [method, url, body] of [
      ['POST', `/channels/${channelB}/messages`, { content: 'x' }],
      ['PATCH', `/channels/${channelB}/messages/${theirs}`, { content: 'x' }],
      ['DELETE', `/channels/${channelB}/messages/${theirs}`, undefined],
      ['POST', `/channels/${channelB}/messages/bulk-delete`, { messages: [theirs, botId] }],
    ] as const) {
      const res = await call(method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.body).toBe('{"message":"Missing Access","code":50001}');
    }
    const unknown = await call('POST', `/channels/${nowhere}/messages`, { content: 'x' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ message: 'Unknown Channel', code: 10003 });
    expect(published).toEqual([]);
  });

  it('validates bodies as Discord does: 50035 per field, 50006 empty, nothing published', async () => {
    const { call, published } = await api();
    const long = await call('POST', `/channels/${channelA}/messages`, { content: 'x'.repeat(2001) });
    expect(long.statusCode).toBe(400);
    expect(long.json()).toEqual({ message: 'Invalid Form Body', code: 50035, errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] } } });
    expect((await call('POST', `/channels/${channelA}/messages`, { content: 'x'.repeat(2000) })).statusCode).toBe(200);
    published.length = 0;
    const empty = await call('POST', `/channels/${channelA}/messages`, {});
    expect(empty.json()).toEqual({ message: 'Cannot send an empty message', code: 50006 });
    expect((await call('POST', `/channels/${channelA}/messages`, { content: 'x', colour: 1 })).json().errors).toEqual({ colour: { _errors: [{ code: 'UNKNOWN_FIELD', message: 'Unknown field.' }] } });
    expect((await call('PATCH', `/channels/${channelA}/messages/${theirs}`, { content: 'y'.repeat(2001) })).json().code).toBe(50035);
    const one = await call('POST', `/channels/${channelA}/messages/bulk-delete`, { messages: [theirs] });
    expect(one.json().errors.messages._errors[0].code).toBe('BASE_TYPE_BAD_LENGTH');
    const many = Array.from({ length: 101 }, (_, i) => String(BigInt(theirs) + BigInt(i)));
    expect((await call('POST', `/channels/${channelA}/messages/bulk-delete`, { messages: many })).json().code).toBe(50035);
    const old = String(snowflakeAt(Date.now() - 15 * 86_400_000));
    expect((await call('POST', `/channels/${channelA}/messages/bulk-delete`, { messages: [old, theirs] })).json().code).toBe(50034);
    expect((await call('POST', `/channels/${channelA}/messages/bad/x`, {})).json()).toEqual({ message: '404: Not Found', code: 0 });
    expect(published).toEqual([]);
  });

  it('edits its own message right after sending it: a partial MESSAGE_UPDATE, the full message answered', async () => {
    const { call, published } = await api();
    const sent = (await call('POST', `/channels/${channelA}/messages`, { content: 'first' })).json();
    const res = await call('PATCH', `/channels/${channelA}/messages/${sent.id}`, { content: 'second' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: sent.id, content: 'second', author: { id: botId } });
    expect(res.json().edited_timestamp).not.toBeNull();
    const update = published[1]!;
    expect(update.key).toBe(guildA);
    expect(update.envelope.type).toBe('MESSAGE_UPDATE');
    expect(update.envelope.id).not.toBe(published[0]!.envelope.id);
    expect(Object.keys(update.envelope.d as object).sort()).toEqual(['author', 'channel_id', 'content', 'edited_timestamp', 'guild_id', 'id']);
  });

  it('answers 404 Unknown Message for an edit of what it does not know, 50005 for another author', async () => {
    const { call, published } = await api();
    const unknown = await call('PATCH', `/channels/${channelA}/messages/${botId}`, { content: 'x' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ message: 'Unknown Message', code: 10008 });
    const other = await call('PATCH', `/channels/${channelA}/messages/${theirs}`, { content: 'x' });
    expect(other.statusCode).toBe(403);
    expect(other.json().code).toBe(50005);
    expect(published).toEqual([]);
  });

  it('deletes (204, MESSAGE_DELETE), after which the message is unknown', async () => {
    const { call, published } = await api();
    const sent = (await call('POST', `/channels/${channelA}/messages`, { content: 'bye' })).json();
    const res = await call('DELETE', `/channels/${channelA}/messages/${sent.id}`);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(published[1]!.envelope).toMatchObject({ type: 'MESSAGE_DELETE', d: { id: sent.id, channel_id: channelA, guild_id: guildA } });
    expect((await call('PATCH', `/channels/${channelA}/messages/${sent.id}`, { content: 'x' })).statusCode).toBe(404);
    expect((await call('DELETE', `/channels/${channelA}/messages/${sent.id}`)).statusCode).toBe(404);
    expect(published).toHaveLength(2);
  });

  it('bulk-deletes 2..100 messages as one MESSAGE_DELETE_BULK', async () => {
    const { call, published } = await api();
    const ids = [theirs, String(BigInt(theirs) + 1n)];
    const res = await call('POST', `/channels/${channelA}/messages/bulk-delete`, { messages: ids });
    expect(res.statusCode).toBe(204);
    expect(published.map((p) => [p.key, p.envelope.type, p.envelope.d])).toEqual([[guildA, 'MESSAGE_DELETE_BULK', { ids, channel_id: channelA, guild_id: guildA }]]);
  });

  it('answers 503 and keeps nothing when Kafka does not acknowledge', async () => {
    const { call } = await api({ failPublish: true });
    const res = await call('POST', `/channels/${channelA}/messages`, { content: 'lost?' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json().code).toBe(0);
  });

  it('takes HTTP ingest\'s shared token as a relay acting in every known guild, and nothing like it', async () => {
    const { call, published } = await api({ relay: 'shared-secret' });
    const res = await call('POST', `/channels/${channelB}/messages`, { content: 'relayed' }, 'shared-secret');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ guild_id: guildB, author: { id: '1', username: 'relay' } });
    expect(published.map((p) => p.key)).toEqual([guildB]);
    expect((await call('POST', `/channels/${channelB}/messages`, { content: 'x' }, 'shared-secreT')).statusCode).toBe(401);
    expect((await call('POST', `/channels/${nowhere}/messages`, { content: 'x' }, 'shared-secret')).statusCode).toBe(404);
  });

  it('with a forwarder, hands checked requests to Discord and answers what Discord answered', async () => {
    const forwarded: ProxyRequest[] = [];
    const forwarder: DiscordForwarder = {
      async forward(request) {
        forwarded.push(request);
        return { status: 200, headers: { 'content-type': 'application/json', 'x-ratelimit-bucket': 'discord-bucket' }, body: Buffer.from('{"id":"1","content":"from discord"}') };
      },
    };
    const { call } = await api({ forwarder });
    const res = await call('POST', `/channels/${channelA}/messages`, { content: 'hi' });
    expect(res.json()).toEqual({ id: '1', content: 'from discord' });
    expect(res.headers['x-ratelimit-bucket']).toBe('discord-bucket');
    expect(forwarded).toEqual([{ method: 'POST', path: `/channels/${channelA}/messages`, body: { content: 'hi' } }]);
    expect((await call('POST', `/channels/${channelB}/messages`, { content: 'hi' })).statusCode).toBe(403);
    expect((await call('POST', `/channels/${channelA}/messages`, { content: 'x'.repeat(2001) })).statusCode).toBe(400);
    expect(forwarded).toHaveLength(1);
  });
});

