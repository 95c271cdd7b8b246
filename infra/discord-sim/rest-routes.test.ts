import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support.ts';
import { startGatewaySimulator, type GatewaySimulator } from './index.ts';
import { connectRecordingClient, type RecordingClient } from './testing.ts';

// The simulator playing Discord's REST for acting bots: message routes, their buckets, the global
// limit, forced 429s, and the dispatches the routes send on the gateway.

let sim: GatewaySimulator;
let client: RecordingClient;
let channels: string[];

beforeAll(async () => {
  sim = await startGatewaySimulator({ shardCount: 1, guilds: 2, channelsPerGuild: 4, seed: 11, rest: { bucketLimit: 5, bucketWindowMs: 60_000, globalPerSecond: 1000 } });
  client = await connectRecordingClient(sim);
  channels = [...sim.channels.values()].flat();
});
afterAll(async () => {
  await client?.destroy();
  await sim?.close();
});

function call(method: string, path: string, body?: unknown, token: string | null = sim.token) {
  return fetch(`${sim.apiBase}/v10${path}`, {
    method,
    headers: { ...(token && { authorization: `Bot ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

const dispatched = (t: string, id: string) => (client.received.get(0) ?? []).find((p) => p.t === t && (p.d as { id?: string }).id === id);

describe('message routes', () => {
  it('create, edit and delete answer as Discord does and go out on the gateway', async () => {
    const channel = channels[0]!;
    const created = await call('POST', `/channels/${channel}/messages`, { content: 'hello', nonce: 'n1' });
    expect(created.status).toBe(200);
    expect(created.headers.get('content-type')).toBe('application/json');
    const message = (await created.json()) as { id: string; channel_id: string; content: string; nonce: string; author: { id: string } };
    expect(message).toMatchObject({ channel_id: channel, content: 'hello', nonce: 'n1' });
    await eventually('MESSAGE_CREATE on the gateway', () => dispatched('MESSAGE_CREATE', message.id), 10_000);

    const edited = await call('PATCH', `/channels/${channel}/messages/${message.id}`, { content: 'edited' });
    expect(edited.status).toBe(200);
    expect(await edited.json()).toMatchObject({ id: message.id, content: 'edited' });
    await eventually('MESSAGE_UPDATE on the gateway', () => dispatched('MESSAGE_UPDATE', message.id), 10_000);

    const deleted = await call('DELETE', `/channels/${channel}/messages/${message.id}`);
    expect(deleted.status).toBe(204);
    await eventually('MESSAGE_DELETE on the gateway', () => dispatched('MESSAGE_DELETE', message.id), 10_000);
    expect((await call('DELETE', `/channels/${channel}/messages/${message.id}`)).status).toBe(404);
  });

  it('bulk delete removes the listed messages of the channel in one MESSAGE_DELETE_BULK', async () => {
    const channel = channels[1]!;
    const ids: string[] = [];
    for (const content of ['a', 'b']) ids.push(((await (await call('POST', `/channels/${channel}/messages`, { content })).json()) as { id: string }).id);
    expect((await call('POST', `/channels/${channel}/messages/bulk-delete`, { messages: ids })).status).toBe(204);
    await eventually('MESSAGE_DELETE_BULK', () => (client.received.get(0) ?? []).find((p) => p.t === 'MESSAGE_DELETE_BULK' && (p.d as { ids: string[] }).ids.join() === ids.join()), 10_000);
    expect((await call('POST', `/channels/${channel}/messages/bulk-delete`, { messages: [ids[0]] })).status).toBe(400);
  });

  it('refuses bad requests with Discord’s codes', async () => {
    const channel = channels[2]!;
    expect((await call('POST', `/channels/${channel}/messages`, { content: 'x' }, null)).status).toBe(401);
    expect((await call('POST', `/channels/${channel}/messages`, { content: 'x' }, 'wrong')).status).toBe(401);
    const tooLong = await call('POST', `/channels/${channel}/messages`, { content: 'x'.repeat(2001) });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ code: 50035, errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } });
    expect(await (await call('POST', `/channels/${channel}/messages`, {})).json()).toMatchObject({ code: 50006 });
    expect(await (await call('POST', '/channels/123456789012345678/messages', { content: 'x' })).json()).toMatchObject({ code: 10003 });
    expect((await call('GET', `/channels/${channel}/messages/bulk-delete`)).status).toBe(405);
  });

  it('limits each channel’s bucket with Discord’s headers, and counts what it had to refuse', async () => {
    const channel = channels[3]!;
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await call('POST', `/channels/${channel}/messages`, { content: `m${i}` }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(answers.slice(0, 5).map((a) => a.headers.get('x-ratelimit-remaining'))).toEqual(['4', '3', '2', '1', '0']);
    expect(answers[0]!.headers.get('x-ratelimit-limit')).toBe('5');
    expect(answers[0]!.headers.get('x-ratelimit-bucket')).toBe('sim-message-create');
    expect(Number(answers[0]!.headers.get('x-ratelimit-reset-after'))).toBeGreaterThan(0);
    const refused = answers[5]!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('x-ratelimit-scope')).toBe('user');
    expect(await refused.json()).toMatchObject({ message: 'You are being rate limited.', global: false });
    const stats = sim.restStats();
    expect(stats.buckets[`sim-message-create:channels/${channel}`]).toMatchObject({ limit: 5, windows: [5], violations: 2 });
    expect(stats.violations.bucket).toBe(2);
  });
});

describe('global limit and forced 429s', () => {
  let small: GatewaySimulator;
  beforeAll(async () => {
    small = await startGatewaySimulator({ shardCount: 1, guilds: 1, channelsPerGuild: 5, seed: 3, rest: { bucketLimit: 100, bucketWindowMs: 60_000, globalPerSecond: 3 } });
  });
  afterAll(() => small?.close());
  const post = (channel: string) =>
    fetch(`${small.apiBase}/v10/channels/${channel}/messages`, { method: 'POST', headers: { authorization: `Bot ${small.token}`, 'content-type': 'application/json' }, body: '{"content":"x"}' });

  it('refuses the request beyond the global budget with a global 429', async () => {
    const [a, b, c, d] = small.channels.get(small.guildIds[0]!)!;
    const answers = [];
    for (const channel of [a, b, c, d]) answers.push(await post(channel!));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(answers[3]!.headers.get('x-ratelimit-global')).toBe('true');
    expect(answers[3]!.headers.get('x-ratelimit-scope')).toBe('global');
    expect(await answers[3]!.json()).toMatchObject({ global: true });
    expect(small.restStats()).toMatchObject({ violations: { bucket: 0, global: 1 }, globalMaxPerSecond: 3 });
  });

  it('answers every request 429 while forced, without counting violations', async () => {
    small.forceRateLimit({ durationMs: 60_000, retryAfterMs: 2_500 });
    const before = small.restStats();
    const answer = await post(small.channels.get(small.guildIds[0]!)![4]!);
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('3');
    expect(await answer.json()).toMatchObject({ retry_after: 2.5, global: false });
    const after = small.restStats();
    expect(after.forced).toBe(before.forced + 1);
    expect(after.violations).toEqual(before.violations);
  });
});
