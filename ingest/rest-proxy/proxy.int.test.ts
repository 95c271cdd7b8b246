import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bench/kit/free-port.ts';
import { startGatewaySimulator, type GatewaySimulator } from '../../infra/discord-sim/index.ts';
import { connectRecordingClient, type RecordingClient } from '../../infra/discord-sim/testing.ts';
import { eventually } from '../../test/support.ts';
import { createRestProxy, type ProxyResponse, type RestProxy } from './index.ts';

// Two proxying nodes for one bot, each with its own HTTP server, in front of the simulator playing
// Discord's REST: the buckets and the global budget hold across both, and a 429 reaches the
// client with Retry-After while Discord sees no hot loop.

const BUCKET_LIMIT = 5;
const BUCKET_WINDOW_MS = 1_000;
const GLOBAL_PER_SECOND = 20;

let sim: GatewaySimulator;
let gateway: RecordingClient;
let channels: string[];

beforeAll(async () => {
  sim = await startGatewaySimulator({
    shardCount: 1,
    guilds: 1,
    channelsPerGuild: 60,
    seed: 5,
    rest: { bucketLimit: BUCKET_LIMIT, bucketWindowMs: BUCKET_WINDOW_MS, globalPerSecond: GLOBAL_PER_SECOND },
  });
  gateway = await connectRecordingClient(sim);
  channels = sim.channels.get(sim.guildIds[0]!)!;
});
afterAll(async () => {
  await gateway?.destroy();
  await sim?.close();
});

interface Node {
  url: string;
  proxy: RestProxy;
  registry: Registry;
  app: FastifyInstance;
}
let nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.map(async (n) => (await n.proxy.close(), await n.app.close())));
  nodes = [];
});

/** `count` nodes on real ports, each knowing all of them; `dead` adds peers nobody serves. */
async function startNodes(count: number, { maxWaitMs, dead = 0 }: { maxWaitMs: number; dead?: number }): Promise<Node[]> {
  const ports = await Promise.all(Array.from({ length: count + dead }, () => freePort()));
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  for (let i = 0; i < count; i++) {
    const registry = new Registry();
    const proxy = createRestProxy(
      {
        DISCORD_TOKEN: sim.token,
        DISCORD_API_BASE: sim.apiBase,
        REST_PROXY_PEERS: urls,
        REST_PROXY_SELF_URL: urls[i]!,
        REST_PROXY_GLOBAL_PER_SECOND: GLOBAL_PER_SECOND,
        REST_PROXY_MAX_WAIT_MS: maxWaitMs,
        REST_PROXY_QUEUE_MAX: 1000,
        REST_PROXY_UPSTREAM_TIMEOUT_MS: 10_000,
        REST_PROXY_PEER_TIMEOUT_MS: 2_000,
      },
      { registry },
    );
    const app = Fastify();
    await app.register(proxy.peerRoutes);
    await app.listen({ host: '127.0.0.1', port: ports[i]! });
    nodes.push({ url: urls[i]!, proxy, registry, app });
  }
  return nodes;
}

const send = (node: Node, channel: string, content: string) => node.proxy.forward({ method: 'POST', path: `/channels/${channel}/messages`, body: { content } });
const json = (response: ProxyResponse) => JSON.parse(response.body.toString('utf8'));

async function counter(node: Node, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await node.registry.getSingleMetric(name)!.get();
  return metric.values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}

describe('REST proxy across two nodes', () => {
  it('keeps one channel’s bucket and the global budget for both nodes together, and the messages come back on the gateway', async () => {
    const [a, b] = await startNodes(2, { maxWaitMs: 60_000 });
    const hot = channels[0]!;
    const before = sim.restStats();
    // 20 sends to one channel, half through each node, and one send to each of 40 other channels.
    const requests: Promise<ProxyResponse>[] = [];
    for (let i = 0; i < 20; i++) requests.push(send(i % 2 === 0 ? a! : b!, hot, `hot ${i}`));
    for (let i = 1; i <= 40; i++) requests.push(send(i % 2 === 0 ? a! : b!, channels[i]!, `cold ${i}`));
    const answers = await Promise.all(requests);

    expect(answers.map((r) => r.status)).toEqual(Array(60).fill(200));
    const stats = sim.restStats();
    expect(stats.violations).toEqual(before.violations);
    expect(stats.violations).toEqual({ bucket: 0, global: 0 });
    const windows = stats.buckets[`sim-message-create:channels/${hot}`]!.windows;
    expect(windows.reduce((s, n) => s + n, 0)).toBe(20);
    expect(Math.max(...windows)).toBeLessThanOrEqual(BUCKET_LIMIT);
    expect(stats.globalMaxPerSecond).toBeLessThanOrEqual(GLOBAL_PER_SECOND);

    // One node owns the hot channel; the other handed its 10 over.
    const owner = nodes.find((n) => n.url === a!.proxy.ownerOf({ method: 'POST', path: `/channels/${hot}/messages` }))!;
    const other = owner === a ? b! : a!;
    expect(await counter(other, 'guildcast_rest_proxy_requests_total', { handled_by: 'peer' })).toBeGreaterThanOrEqual(10);
    expect(await counter(owner, 'guildcast_rest_proxy_requests_total', { handled_by: 'from_peer' })).toBeGreaterThanOrEqual(10);
    expect(await counter(a!, 'guildcast_rest_proxy_upstream_429_total', {}) + (await counter(b!, 'guildcast_rest_proxy_upstream_429_total', {}))).toBe(0);

    const ids = answers.map((r) => json(r).id as string);
    expect(new Set(ids).size).toBe(60);
    await eventually(
      'every created message as MESSAGE_CREATE on the gateway',
      () => {
        const seen = new Set((gateway.received.get(0) ?? []).filter((p) => p.t === 'MESSAGE_CREATE').map((p) => (p.d as { id: string }).id));
        return ids.every((id) => seen.has(id)) || undefined;
      },
      10_000,
    );
  });

  it('answers a client hammering through a forced 429 period with Retry-After, and sends Discord one request per hold, not one per attempt', async () => {
    const [a, b] = await startNodes(2, { maxWaitMs: 0 });
    const channel = channels[50]!;
    const durationMs = 2_000;
    const before = sim.restStats().forced;
    sim.forceRateLimit({ durationMs, retryAfterMs: 500 });
    const startedAt = Date.now();
    const statuses: number[] = [];
    let withoutRetryAfter = 0;
    // A client that ignores Retry-After and tries again at once, through both nodes.
    for (let i = 0; Date.now() - startedAt < durationMs - 100; i++) {
      const answer = await send(i % 2 === 0 ? a! : b!, channel, `try ${i}`);
      statuses.push(answer.status);
      if (answer.status === 429 && !(Number(answer.headers['retry-after']) > 0)) withoutRetryAfter++;
    }
    const upstreamDuringForce = sim.restStats().forced - before;

    expect(statuses.length).toBeGreaterThan(50);
    expect(statuses.every((s) => s === 429)).toBe(true);
    expect(withoutRetryAfter).toBe(0);
    // Retry-After 0.5 s is sent as "1" (whole seconds): the owner holds the bucket 1 s per 429,
    // so about 2 requests reach Discord in 2 s.
    expect(upstreamDuringForce).toBeGreaterThanOrEqual(1);
    expect(upstreamDuringForce).toBeLessThanOrEqual(Math.ceil(durationMs / 1_000) + 1);
    expect(await counter(a!, 'guildcast_rest_proxy_local_429_total', { reason: 'max_wait' }) + (await counter(b!, 'guildcast_rest_proxy_local_429_total', { reason: 'max_wait' }))).toBeGreaterThan(40);

    // After the period the same client gets through.
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await send(a!, channel, 'after')).status).toBe(200);
  });

  it('answers a Discord-shaped 429 when a bucket’s owner cannot be reached, and never sends around it', async () => {
    const [alive] = await startNodes(1, { maxWaitMs: 1_000, dead: 1 });
    const orphan = channels.slice(41, 50).find((c) => alive!.proxy.ownerOf({ method: 'POST', path: `/channels/${c}/messages` }) !== alive!.url)!;
    expect(orphan).toBeDefined();
    const before = sim.restStats().requests;
    const answer = await send(alive!, orphan, 'lost');
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('1');
    expect(answer.headers['x-guildcast-proxy']).toBe('owner_unreachable');
    expect(json(answer)).toMatchObject({ message: 'You are being rate limited.', retry_after: 1, global: false });
    expect(sim.restStats().requests).toBe(before);
    expect(await counter(alive!, 'guildcast_rest_proxy_local_429_total', { reason: 'owner_unreachable' })).toBe(1);
  });
});
