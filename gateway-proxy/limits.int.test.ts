import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { eventually, testKafka } from '../test/support.ts';
import { DLQ_HEADERS } from '../core/kafka/dead-letter.ts';
import { SOURCE_OFFSET_HEADER } from '../core/kafka/headers.ts';
import { guildOnShard, messageEvent, metricValue, RawClient, startTestEdge, tokens, type TestEdge } from './edge.test-support.ts';

/**
 * Hostile and broken clients each get Discord's close code, while a well-behaved client on the same
 * process keeps receiving a live stream, in order and complete.
 */
describe('edge limits and bad input', () => {
  let edge: TestEdge;
  let good: RawClient;
  const guild = guildOnShard(0, 1, 50);
  let token: string;
  let produced = 0;
  const clients: RawClient[] = [];

  const client = async (options?: ConstructorParameters<typeof RawClient>[1]) => {
    const c = new RawClient(edge.edge.gatewayUrl, options);
    clients.push(c);
    await c.opened;
    return c;
  };
  const produceMessages = async (count: number, extra: Record<string, unknown> = {}) => {
    const events = Array.from({ length: count }, () => messageEvent(guild, produced++, extra));
    await edge.produce(events);
  };
  const expectGoodClientComplete = async () => {
    await eventually('the good client to have everything', () => (good.dispatches('MESSAGE_CREATE').length >= produced ? true : undefined));
    expect(good.dispatches('MESSAGE_CREATE').map((f) => f.d.n)).toEqual(Array.from({ length: produced }, (_, n) => n));
    expect(good.closeCode).toBeUndefined();
  };

  beforeAll(async () => {
    edge = await startTestEdge({ EDGE_MAX_BUFFERED_BYTES: '65536', EDGE_RESUME_BUFFER_EVENTS: '20000', EDGE_IDENTIFIES_PER_5S: '1000' });
    token = await tokens.mint({ subject: '333333333333333333', guilds: [guild], ttlSeconds: 600 });
    good = await client();
    good.identify(token);
    await good.ready();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await edge?.close();
  });

  it.each([
    ['a payload over 4096 bytes', 4002, (c: RawClient) => c.send({ op: 1, d: null, pad: 'x'.repeat(5_000) })],
    ['a frame that is not JSON', 4002, (c: RawClient) => c.send('{"op": 1, nope')],
    ['an unknown opcode', 4001, (c: RawClient) => c.send({ op: 99, d: null })],
    ['a command before IDENTIFY', 4003, (c: RawClient) => c.send({ op: 3, d: { status: 'online' } })],
    ['a bad token', 4004, (c: RawClient) => c.identify('not-a-token')],
    ['a shard outside its count', 4010, (c: RawClient) => c.identify(token, { shard: [2, 2] })],
    ['intents that are not an integer', 4013, (c: RawClient) => c.identify(token, { intents: 1.5 })],
    ['unknown intent bits', 4013, (c: RawClient) => c.identify(token, { intents: 1 << 30 })],
    ['more than 120 commands a minute', 4008, (c: RawClient) => { for (let i = 0; i < 125; i++) c.send({ op: 1, d: null }); }],
    ['a frame beyond the websocket frame cap', 1009, (c: RawClient) => c.send('x'.repeat(70_000))],
  ])('closes on %s with %i, and the good client keeps receiving', async (_what, code, misbehave) => {
    const bad = await client();
    await produceMessages(20);
    misbehave(bad);
    await produceMessages(20);
    expect(await bad.closed()).toBe(code);
    await expectGoodClientComplete();
  });

  it('closes a second IDENTIFY with 4005 and a RESUME from the future with 4007', async () => {
    const twice = await client();
    twice.identify(token);
    const ready = await twice.ready();
    twice.identify(token);
    expect(await twice.closed()).toBe(4005);

    const future = await client();
    future.send({ op: 6, d: { token, session_id: ready.d.session_id, seq: 1_000_000 } });
    expect(await future.closed()).toBe(4007);

    const unknown = await client();
    unknown.send({ op: 6, d: { token, session_id: 'no-such-session', seq: 1 } });
    await eventually('INVALID_SESSION', () => unknown.frames.find((f) => f.op === 9));
    expect(unknown.frames.find((f) => f.op === 9)!.d).toBe(false);
    await produceMessages(10);
    await expectGoodClientComplete();
  });

  it('refuses other API versions with 4012', async () => {
    const old = await client({ query: 'v=9&encoding=json' });
    expect(await old.closed()).toBe(4012);
  });

  it('closes a slow reader at the byte cap; it resumes without a gap while the others are unaffected', async () => {
    const slow = await client();
    slow.identify(token);
    const ready = await slow.ready();
    const socket = (slow.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const start = produced;
    const big = { content: 'y'.repeat(4_000) };
    await eventually('the slow reader to be closed', async () => {
      if ((await metricValue(edge.registry, 'guildcast_edge_slow_consumer_closes_total')) >= 1) return true;
      await produceMessages(200, big);
      return undefined;
    });
    socket.resume();
    expect(await slow.closed()).toBe(4000);
    await produceMessages(50, big);

    const resumed = await client();
    resumed.send({ op: 6, d: { token, session_id: ready.d.session_id, seq: slow.lastSeq() } });
    await eventually('RESUMED', () => resumed.dispatches('RESUMED')[0]);
    const mine = [...slow.dispatches('MESSAGE_CREATE'), ...resumed.dispatches('MESSAGE_CREATE')].map((f) => f.d.n);
    await eventually('the resumed reader to catch up', () =>
      slow.dispatches('MESSAGE_CREATE').length + resumed.dispatches('MESSAGE_CREATE').length >= produced - start ? true : undefined,
    );
    const all = [...slow.dispatches('MESSAGE_CREATE'), ...resumed.dispatches('MESSAGE_CREATE')].map((f) => f.d.n);
    expect(mine.length).toBeGreaterThan(0);
    expect(all).toEqual(Array.from({ length: produced - start }, (_, i) => start + i));
    const seqs = [...slow.dispatches(), ...resumed.dispatches()].map((f) => f.s);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    await expectGoodClientComplete();
  });

  it('drops redeliveries and dead-letters records that are not envelopes', async () => {
    const key = guild;
    const valid = (n: number) => JSON.stringify(messageEvent(guild, n));
    const offset = 1_000_000_000;
    await edge.produceRaw([
      { key, value: valid(produced), headers: { [SOURCE_OFFSET_HEADER]: String(offset) } },
      { key, value: valid(produced), headers: { [SOURCE_OFFSET_HEADER]: String(offset) } }, // redelivered
      { key, value: 'not json', headers: { [SOURCE_OFFSET_HEADER]: String(offset + 1) } },
      { key, value: valid(produced + 1) }, // no source offset
    ]);
    produced += 1;
    await expectGoodClientComplete();
    await eventually('a redelivery dropped', async () =>
      (await metricValue(edge.registry, 'guildcast_edge_redeliveries_dropped_total')) >= 1 ? true : undefined,
    );

    const consumer = testKafka().consumer({ groupId: `${edge.topics.deadLetter}-reader` });
    await consumer.connect();
    await consumer.subscribe({ topic: edge.topics.deadLetter, fromBeginning: true });
    const letters: { stage: string; value: string }[] = [];
    void consumer.run({
      eachMessage: async ({ message }) => {
        letters.push({ stage: String(message.headers?.[DLQ_HEADERS.stage]), value: String(message.value) });
      },
    });
    try {
      await eventually('two dead letters', () => (letters.length >= 2 ? true : undefined));
    } finally {
      await consumer.disconnect();
    }
    expect(letters.map((l) => l.stage)).toEqual(['edge.consume', 'edge.consume']);
    expect(letters[0]!.value).toBe('not json');
  });
});

describe('edge flood limits and zombies', () => {
  let edge: TestEdge;
  const clients: RawClient[] = [];
  const guild = guildOnShard(0, 1, 60);
  beforeAll(async () => {
    edge = await startTestEdge({ EDGE_IDENTIFIES_PER_5S: '2', EDGE_CONNECTIONS_PER_IP: '4', EDGE_HEARTBEAT_INTERVAL_MS: '2000' });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await edge?.close();
  });
  const client = async (options?: ConstructorParameters<typeof RawClient>[1]) => {
    const c = new RawClient(edge.edge.gatewayUrl, options);
    clients.push(c);
    await c.opened;
    return c;
  };

  it('rate-limits IDENTIFY floods and connection floods per address with 4008, and closes zombies with 4009', async () => {
    const token = await tokens.mint({ subject: 'flood', guilds: [guild], ttlSeconds: 600 });
    const good = await client();
    good.identify(token);
    await good.ready();

    const flooders = [await client(), await client()];
    for (const f of flooders) f.identify(token);
    expect(await flooders[1]!.closed()).toBe(4008); // the 3rd IDENTIFY within 5 s from this address

    const extras = [await client(), await client()]; // good + flooders[0] + these = 4 open: one more is too many
    const tooMany = await client();
    expect(await tooMany.closed()).toBe(4008);
    expect(extras.map((c) => c.closeCode)).toEqual([undefined, undefined]);

    for (const c of [flooders[0]!, ...extras]) c.close();
    await eventually('the others to be gone', async () =>
      (await metricValue(edge.registry, 'guildcast_edge_connections')) === 1 ? true : undefined,
    );
    const zombie = await client({ heartbeat: false });
    expect(await zombie.closed()).toBe(4009);
    await edge.produce(Array.from({ length: 30 }, (_, n) => messageEvent(guild, n)));
    await eventually('the good client got the stream', () => (good.dispatches('MESSAGE_CREATE').length >= 30 ? true : undefined));
    expect(good.dispatches('MESSAGE_CREATE').map((f) => f.d.n)).toEqual(Array.from({ length: 30 }, (_, n) => n));
    expect(good.closeCode).toBeUndefined();
  });
});
