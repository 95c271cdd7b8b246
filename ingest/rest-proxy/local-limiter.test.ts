import { describe, expect, it } from 'vitest';
import { GlobalBudget } from './global-budget.ts';
import { LocalLimiter } from './local-limiter.ts';
import { routeOf } from './routes.ts';
import { FakeDiscord, scripted429, VirtualClock } from './test-discord.ts';
import type { ProxyRequest } from './types.ts';

const A = '1100000000000000001';
const B = '1100000000000000002';
const post = (channel: string): ProxyRequest => ({ method: 'POST', path: `/channels/${channel}/messages`, body: { content: 'x' } });

function setup({ limit = 2, windowMs = 1000, global = 50, maxWaitMs = 60_000, queueMax = 1000 } = {}) {
  const clock = new VirtualClock();
  const discord = new FakeDiscord(clock, { limit, windowMs });
  const local429: string[] = [];
  const limiter = new LocalLimiter({ upstream: discord.upstream, global: new GlobalBudget(global, 1000), maxWaitMs, queueMax, clock, onLocal429: (r) => local429.push(r) });
  const send = (request: ProxyRequest) => limiter.forward(request, routeOf(request.method, request.path, clock.now()));
  return { clock, discord, limiter, send, local429 };
}

describe('LocalLimiter', () => {
  it('sends a bucket’s limit, then waits for its reset: Discord refuses nothing', async () => {
    const { discord, send } = setup({ limit: 2, windowMs: 1000 });
    const answers = await Promise.all(Array.from({ length: 7 }, () => send(post(A))));
    expect(answers.map((a) => a.status)).toEqual(Array(7).fill(200));
    expect(discord.violations).toBe(0);
    const times = discord.sends.map((s) => s.at - discord.sends[0]!.at);
    // Two per window: the third goes after the first window's reset (plus the margin).
    expect(times[2]).toBeGreaterThanOrEqual(1000);
    expect(times[4]).toBeGreaterThanOrEqual(2000);
    expect(times[6]).toBeGreaterThanOrEqual(3000);
  });

  it('keeps buckets apart: another channel does not wait for a full one', async () => {
    const { discord, send } = setup({ limit: 1, windowMs: 10_000 });
    await send(post(A));
    const sentAt = discord.sends[0]!.at;
    await send(post(B));
    expect(discord.sends[1]!.at).toBe(sentAt);
    expect(discord.violations).toBe(0);
  });

  it('answers a 429 with Retry-After itself when the wait is longer than the longest wait, without asking Discord', async () => {
    const { discord, send, local429 } = setup({ limit: 1, windowMs: 5_000, maxWaitMs: 1_000 });
    expect((await send(post(A))).status).toBe(200);
    const refused = await send(post(A));
    expect(refused.status).toBe(429);
    // The bucket resets in 5 s (and the proxy adds 50 ms for skew): Retry-After is whole seconds, rounded up.
    expect(Number(refused.headers['retry-after'])).toBe(6);
    expect(Number(refused.headers['x-ratelimit-reset-after'])).toBeCloseTo(5.05, 2);
    expect(refused.headers['x-guildcast-proxy']).toBe('max_wait');
    expect(JSON.parse(refused.body.toString())).toMatchObject({ message: 'You are being rate limited.', global: false });
    expect(discord.sends).toHaveLength(1);
    expect(local429).toEqual(['max_wait']);
  });

  it('holds a bucket for a 429’s Retry-After: no request reaches Discord before it, however many arrive', async () => {
    const { clock, discord, send } = setup({ limit: 100, windowMs: 1000, maxWaitMs: 0 });
    discord.next.push(scripted429(3));
    const start = clock.now();
    expect((await send(post(A))).status).toBe(429);
    for (let i = 0; i < 50; i++) expect((await send(post(A))).status).toBe(429);
    expect(discord.sends).toHaveLength(1);
    // Another channel is not held by this bucket's 429.
    expect((await send(post(B))).status).toBe(200);
    clock.time = start + 3_100;
    expect((await send(post(A))).status).toBe(200);
    expect(discord.sends).toHaveLength(3);
  });

  it('holds every bucket for a global 429', async () => {
    const { clock, discord, send } = setup({ limit: 100, maxWaitMs: 0 });
    discord.next.push(scripted429(2, { 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global' }));
    expect((await send(post(A))).status).toBe(429);
    const other = await send(post(B));
    expect(other.status).toBe(429);
    expect(other.headers['x-ratelimit-global']).toBe('true');
    expect(discord.sends).toHaveLength(1);
    clock.time += 2_100;
    expect((await send(post(B))).status).toBe(200);
  });

  it('spends at most its global share in any second, across buckets', async () => {
    const { discord, send } = setup({ limit: 100, global: 3 });
    const channels = Array.from({ length: 9 }, (_, i) => (1_100_000_000_000_000_010n + BigInt(i)).toString());
    await Promise.all(channels.map((c) => send(post(c))));
    const times = discord.sends.map((s) => s.at).sort((a, b) => a - b);
    for (let i = 3; i < times.length; i++) expect(times[i]! - times[i - 3]!).toBeGreaterThanOrEqual(1000);
  });

  it('moves requests that waited under a route’s provisional bucket to the real one once Discord names it', async () => {
    const clock = new VirtualClock();
    // Two routes of one channel share Discord's bucket "shared" (limit 2 per 1 s).
    const discord = new FakeDiscord(clock, { limit: 2, windowMs: 1000, hash: () => 'shared' });
    const limiter = new LocalLimiter({ upstream: discord.upstream, global: new GlobalBudget(50, 1000), maxWaitMs: 60_000, queueMax: 1000, clock });
    const edit: ProxyRequest = { method: 'PATCH', path: `/channels/${A}/messages/1200000000000000002`, body: { content: 'y' } };
    await limiter.forward(post(A), routeOf('POST', post(A).path));
    // The PATCH route has not been seen: its first request goes out under a provisional id, racing
    // the POSTs unknowingly (Discord's hashes are learned by sending; @discordjs/rest does the
    // same), and learns "shared". The PATCHes that waited behind it must join the "shared" queue
    // rather than follow it out: at most that first request may be refused.
    await Promise.all([
      ...Array.from({ length: 4 }, () => limiter.forward(edit, routeOf('PATCH', edit.path))),
      ...Array.from({ length: 4 }, () => limiter.forward(post(A), routeOf('POST', post(A).path))),
    ]);
    expect(discord.sends.length).toBeGreaterThanOrEqual(9);
    expect(discord.violations).toBeLessThanOrEqual(1);
  });

  it('refuses at once beyond queueMax waiting requests per bucket', async () => {
    const { send, local429, limiter } = setup({ limit: 1, windowMs: 1000, queueMax: 2 });
    const pending = Array.from({ length: 4 }, () => send(post(A)));
    expect(limiter.depth).toBe(2); // what guildcast_rest_proxy_queue_depth reports
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 429, 429]);
    expect(local429).toEqual(['queue_full', 'queue_full']);
    expect(limiter.depth).toBe(0);
  });
});
