import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEnvelope } from '../core/events/envelope.ts';
import { DLQ_HEADERS } from '../core/kafka/dead-letter.ts';
import { silentLogger } from '../core/logger.ts';
import { SnowflakeGenerator, isSnowflake } from '../core/discord/snowflake.ts';
import { traceIdSource } from './envelope.ts';
import { fakePublisher } from './test-fakes.ts';
import { GUILD_ID_HEADER, httpIngestPlugin } from './http.ts';
import { EventSink } from './sink.ts';

const channel = '1200000000000000002';
const guild = '1100000000000000003';
const url = `/api/v10/channels/${channel}/messages`;
const auth = { authorization: 'Bot secret' };

describe('HTTP ingest', () => {
  let app: FastifyInstance;
  let fake: ReturnType<typeof fakePublisher>;

  beforeEach(async () => {
    fake = fakePublisher();
    const sink = new EventSink(fake.publisher, { events: 'events', deadLetter: 'dlq' }, fake.metrics, silentLogger);
    app = Fastify();
    await app.register(httpIngestPlugin, {
      tokens: ['secret', 'other'],
      rateLimit: { limit: 3, windowMs: 60_000 },
      sink,
      snowflakes: new SnowflakeGenerator(),
      author: { id: '42', username: 'relay' },
      newTraceId: traceIdSource(),
      metrics: fake.metrics,
      logger: silentLogger,
    });
  });
  afterEach(async () => {
    await app.close();
    await fake.publisher.close(100);
  });

  it('publishes a MESSAGE_CREATE keyed by guild and answers with the message object', async () => {
    const res = await app.inject({ method: 'POST', url, headers: { ...auth, [GUILD_ID_HEADER]: guild }, payload: { content: 'hello', nonce: 'n1' } });
    expect(res.statusCode).toBe(200);
    const message = res.json();
    expect(isSnowflake(message.id)).toBe(true);
    expect(message).toMatchObject({ type: 0, channel_id: channel, guild_id: guild, content: 'hello', nonce: 'n1', author: { id: '42', username: 'relay', bot: true } });
    const [record] = fake.producer.messages('events');
    expect(record!.key).toBe(guild);
    const event = parseEnvelope(record!.value as Buffer);
    expect(event).toMatchObject({ id: `http:${message.id}`, type: 'MESSAGE_CREATE', source: 'http', guild_id: guild, channel_id: channel, d: message });
    expect(res.headers['x-guildcast-trace-id']).toBe(event.trace_id);
  });

  it('keys a message without a guild by its channel', async () => {
    await app.inject({ method: 'POST', url, headers: auth, payload: { content: 'dm' } });
    expect(fake.producer.messages('events')[0]!.key).toBe(channel);
  });

  it('refuses requests without a known token', async () => {
    expect((await app.inject({ method: 'POST', url, payload: { content: 'x' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url, headers: { authorization: 'Bot wrong' }, payload: { content: 'x' } })).statusCode).toBe(401);
  });

  it.each([
    ['content over 2000 characters', { content: 'x'.repeat(2001) }, 50035, /content/],
    ['an unknown field', { content: 'x', colour: 'red' }, 50035, /colour/],
    ['an empty message', { tts: true }, 50006, /empty message/],
  ])('answers 400 to %s and dead-letters the body with the reason', async (_name, payload, code, reason) => {
    const res = await app.inject({ method: 'POST', url, headers: auth, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe(code);
    await fake.publisher.flush();
    expect(fake.producer.messages('events')).toHaveLength(0);
    const [letter] = fake.producer.messages('dlq');
    expect(letter!.value!.toString()).toBe(JSON.stringify(payload));
    expect(String(letter!.headers![DLQ_HEADERS.reason])).toMatch(reason);
    expect(letter!.headers![DLQ_HEADERS.stage]).toBe('ingest.http');
    expect(letter!.headers![DLQ_HEADERS.traceId]).toBe(res.headers['x-guildcast-trace-id']);
  });

  it("answers with Discord's error bodies, field by field", async () => {
    const post = async (payload: string | object, headers: Record<string, string> = auth, at = url) =>
      (await app.inject({ method: 'POST', url: at, headers: { ...headers, 'content-type': 'application/json' }, payload })).json();
    expect(await post({ content: 'x' }, {})).toEqual({ message: '401: Unauthorized', code: 0 });
    expect(await post({ content: 'x' }, { authorization: 'Basic secret' })).toEqual({ message: '401: Unauthorized', code: 0 });
    expect(await post('{"content": ')).toEqual({ code: 50109, message: 'The request body contains invalid JSON.' });
    expect(await post({ tts: true })).toEqual({ code: 50006, message: 'Cannot send an empty message' });
    expect(await post({ content: 'x'.repeat(2001), colour: 'red' })).toEqual({
      code: 50035,
      message: 'Invalid Form Body',
      errors: {
        content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] },
        colour: { _errors: [{ code: 'UNKNOWN_FIELD', message: 'Unknown field.' }] },
      },
    });
    // Three per token per window (the rate limit set up above): the rest go as the other token.
    const other = { authorization: 'Bot other' };
    expect(await post({ content: 'x' }, other, '/api/v10/channels/12x/messages')).toEqual({
      code: 50035,
      message: 'Invalid Form Body',
      errors: { channel_id: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value is not snowflake.' }] } },
    });
    expect(await post({ content: 'x' }, { ...other, 'x-guildcast-guild-id': 'abc' })).toEqual({
      code: 50035,
      message: 'Invalid Form Body',
      errors: { guild_id: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value is not snowflake.' }] } },
    });
  });

  it('takes the token as Bot or Bearer, as every guildcast route does', async () => {
    expect((await app.inject({ method: 'POST', url, headers: { authorization: 'Bearer secret' }, payload: { content: 'x' } })).statusCode).toBe(200);
  });

  it('dead-letters a body that is not JSON', async () => {
    const res = await app.inject({ method: 'POST', url, headers: { ...auth, 'content-type': 'application/json' }, payload: '{"content": ' });
    expect(res.statusCode).toBe(400);
    await fake.publisher.flush();
    expect(String(fake.producer.messages('dlq')[0]!.headers![DLQ_HEADERS.reason])).toMatch(/not JSON/);
  });

  it('rate limits per token with Discord headers and a 429 body', async () => {
    for (let i = 0; i < 3; i++) {
      const ok = await app.inject({ method: 'POST', url, headers: auth, payload: { content: `m${i}` } });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(2 - i));
    }
    const limited = await app.inject({ method: 'POST', url, headers: auth, payload: { content: 'too many' } });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.json()).toMatchObject({ message: 'You are being rate limited.', global: false });
    expect(limited.json().retry_after).toBeGreaterThan(0);
    const otherToken = await app.inject({ method: 'POST', url, headers: { authorization: 'Bot other' }, payload: { content: 'fine' } });
    expect(otherToken.statusCode).toBe(200);
  });
});
