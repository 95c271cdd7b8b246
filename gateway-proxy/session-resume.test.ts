import { afterEach, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../core/events/envelope.ts';
import { silentLogger } from '../core/logger.ts';
import { createRegistry, type Registry } from '../core/metrics.ts';
import { eventually } from '../test/support.ts';
import { loadEdgeConfig } from './config.ts';
import { startEdge, type Edge } from './edge.ts';
import { guildOnShard, messageEvent, metricValue, RawClient, TEST_SECRET, tokens } from './edge.test-support.ts';
import { MemoryDeliverySource } from './memory-delivery-source.ts';
import { MemorySessionStore } from './session-store.ts';

const PARTITIONS = 4;
const FLEET_URL = 'ws://fleet.test';

interface Node {
  id: string;
  edge: Edge;
  source: MemoryDeliverySource;
  registry: Registry;
  alive: boolean;
}

/**
 * Edge nodes in one process sharing a session store and one feed: each node has its own memory
 * source (a node reads the feed through its own consumer), and every event is appended to all of
 * them in the same order, so offsets agree across nodes as they do on one Kafka topic.
 */
function fleet(env: Record<string, string> = {}) {
  const store = new MemorySessionStore(silentLogger);
  const nodes: Node[] = [];
  /** Every message pushed, with where the feed put it. */
  const log: { event: EventEnvelope; partition: number; sourceOffset: bigint }[] = [];
  let n = 0;
  return {
    store,
    nodes,
    async start(id: string, extra: Record<string, string> = {}): Promise<Node> {
      const config = loadEdgeConfig({
        KAFKA_EVENT_PARTITIONS: String(PARTITIONS),
        EDGE_PORT: '0',
        EDGE_HOST: '127.0.0.1',
        EDGE_NODE_ID: id,
        EDGE_TOKEN_SECRET: TEST_SECRET,
        EDGE_GATEWAY_URL: FLEET_URL,
        EDGE_DRAIN_GRACE_MS: '300',
        EDGE_SESSION_CHECKPOINT_MS: '50',
        ...env,
        ...extra,
      });
      const source = new MemoryDeliverySource({ partitions: PARTITIONS, lookback: config.EDGE_FEED_LOOKBACK });
      const registry = createRegistry(`edge-${id}`, { defaults: false });
      const edge = await startEdge(config, { logger: silentLogger, registry, deliveries: source, sessionStore: store });
      await edge.ready();
      const node = { id, edge, source, registry, alive: true };
      nodes.push(node);
      return node;
    },
    /** Appends the next message of `guild` to every node's feed; returns its number. */
    push(guild: string): number {
      const event: EventEnvelope = messageEvent(guild, ++n);
      let origin;
      for (const node of nodes) {
        if (!node.alive) continue;
        origin = node.source.push(event);
      }
      if (origin) log.push({ event, partition: origin.partition, sourceOffset: origin.sourceOffset });
      return n;
    },
    /** Fanout after a crash: messages `first`..`last` appended again, with their source offsets. */
    redeliver(first: number, last: number): void {
      for (const { event, partition, sourceOffset } of log.slice(first - 1, last)) {
        for (const node of nodes) if (node.alive) node.source.push(event, { partition, sourceOffset });
      }
    },
    get pushed(): number {
      return n;
    },
    async kill(node: Node): Promise<void> {
      node.alive = false;
      await node.edge.close();
    },
    async closeAll(): Promise<void> {
      for (const node of nodes) if (node.alive) await this.kill(node);
    },
  };
}

const messages = (client: RawClient) => client.dispatches('MESSAGE_CREATE').map((f) => f.d.n as number);

/** Per message number: how often the clients together received it. */
function tally(...clients: RawClient[]): Map<number, number> {
  const seen = new Map<number, number>();
  for (const client of clients) for (const n of messages(client)) seen.set(n, (seen.get(n) ?? 0) + 1);
  return seen;
}

function lostAndRepeated(total: number, ...clients: RawClient[]) {
  const seen = tally(...clients);
  let lost = 0;
  let repeated = 0;
  for (let n = 1; n <= total; n++) {
    const count = seen.get(n) ?? 0;
    if (count === 0) lost++;
    else repeated += count - 1;
  }
  return { lost, repeated };
}

describe('RESUME on any node, through a shared session store', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function track<F extends ReturnType<typeof fleet>>(f: F): F {
    cleanups.push(() => f.closeAll());
    return f;
  }

  async function connect(node: Node): Promise<RawClient> {
    const client = new RawClient(node.edge.nodeUrl);
    cleanups.push(() => client.close());
    await client.opened;
    return client;
  }

  async function identify(node: Node, guilds: string[], subject?: string) {
    const token = await tokens.mint({ guilds, ttlSeconds: 600, ...(subject ? { subject } : {}) });
    const client = await connect(node);
    client.identify(token);
    const ready = await client.ready();
    return { client, token, sessionId: ready.d.session_id as string, ready };
  }

  async function resume(node: Node, token: string, sessionId: string, seq: number): Promise<RawClient> {
    const client = await connect(node);
    client.send({ op: 6, d: { token, session_id: sessionId, seq } });
    return client;
  }

  const received = (client: RawClient, count: number, what = `${count} messages`) =>
    eventually(what, () => (messages(client).length >= count ? true : undefined), 10_000);

  /** Lets the checkpointer run a round or two. */
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("hands out the fleet's URL as resume_gateway_url", async () => {
    const f = track(fleet());
    const a = await f.start('a');
    const { ready } = await identify(a, [guildOnShard(0, 1, 1)]);
    expect(ready.d.resume_gateway_url).toBe(FLEET_URL);
  });

  it('after node A drained, node B resumes the session: nothing lost, nothing repeated', async () => {
    const f = track(fleet());
    const [a, b] = [await f.start('a'), await f.start('b')];
    const guilds = [guildOnShard(0, 1, 1), guildOnShard(0, 1, 2), guildOnShard(0, 1, 3)];
    const { client: first, token, sessionId } = await identify(a, guilds);
    for (let i = 0; i < 30; i++) {
      f.push(guilds[i % 3]!);
      if (i % 10 === 9) await pause(60);
    }
    await received(first, 30);

    const drained = a.edge.drain();
    await eventually('op 7', () => first.frames.find((frame) => frame.op === 7), 10_000);
    // Events keep coming while A drains and while the client is away.
    for (let i = 0; i < 20; i++) f.push(guilds[i % 3]!);
    const seq = first.lastSeq()!;
    first.close();
    await drained;

    const second = await resume(b, token, sessionId, seq);
    await eventually('RESUMED', () => second.dispatches('RESUMED')[0], 10_000);
    for (let i = 0; i < 10; i++) f.push(guilds[i % 3]!);
    await eventually('every message', () => (lostAndRepeated(f.pushed, first, second).lost === 0 ? true : undefined), 10_000);

    expect(lostAndRepeated(f.pushed, first, second)).toEqual({ lost: 0, repeated: 0 });
    // seq goes on where the client left off, without a gap.
    const seqs = second.dispatches().map((frame) => frame.s);
    expect(seqs[0]).toBe(seq + 1);
    expect(seqs).toEqual(seqs.map((_, i) => seq + 1 + i));
    expect(await metricValue(b.registry, 'guildcast_edge_resume_repeats_total')).toBe(0);
    expect(await metricValue(b.registry, 'guildcast_edge_resumes_by_path_total', { path: 'replayed' })).toBe(1);
    expect((await f.store.load(sessionId))?.node).toBe('b');
  });

  it('after node A died without a last checkpoint, node B resumes from the last periodic one: nothing lost, repeats as counted', async () => {
    const f = track(fleet({ EDGE_SESSION_CHECKPOINT_MS: '200' }));
    const [a, b] = [await f.start('a'), await f.start('b')];
    const guilds = [guildOnShard(0, 1, 4), guildOnShard(0, 1, 5)];
    const { client: first, token, sessionId } = await identify(a, guilds);
    for (let i = 0; i < 10; i++) f.push(guilds[i % 2]!);
    await received(first, 10);
    // Wait until a periodic checkpoint covers those ten, then ten more that no checkpoint may cover.
    await eventually('a periodic checkpoint', async () => ((await f.store.load(sessionId))?.checkpoints.at(-1)?.seq === first.lastSeq() ? true : undefined), 10_000);
    for (let i = 0; i < 10; i++) f.push(guilds[i % 2]!);
    await received(first, 20);
    const seq = first.lastSeq()!;
    await f.kill(a);

    const second = await resume(b, token, sessionId, seq);
    await eventually('RESUMED', () => second.dispatches('RESUMED')[0], 10_000);
    for (let i = 0; i < 5; i++) f.push(guilds[i % 2]!);
    await eventually('every message', () => (lostAndRepeated(f.pushed, first, second).lost === 0 ? true : undefined), 10_000);

    const { lost, repeated } = lostAndRepeated(f.pushed, first, second);
    expect(lost).toBe(0);
    expect(await metricValue(b.registry, 'guildcast_edge_resume_repeats_total')).toBe(repeated);
    // The repeats are exactly the messages after the checkpoint (replayed partition by partition).
    const stored = (await f.store.load(sessionId))!;
    expect(stored.epoch).toBe(1);
    const replayed = messages(second).slice(0, repeated);
    const byNumber = (x: number, y: number) => x - y;
    expect(replayed.sort(byNumber)).toEqual(messages(first).slice(messages(first).length - repeated).sort(byNumber));
  });

  // Fanout crashed too and sends again what it had not committed; node B starts reading the partition only now, so its own filter has passed nothing.
  it("fanout's redeliveries after a takeover at the checkpoint's position reach nobody twice", async () => {
    const f = track(fleet());
    const [a, b] = [await f.start('a'), await f.start('b')];
    const guilds = [guildOnShard(0, 1, 6)];
    const { client: first, token, sessionId } = await identify(a, guilds);
    for (let i = 0; i < 10; i++) f.push(guilds[0]!);
    await received(first, 10);
    const drained = a.edge.drain();
    await eventually('op 7', () => first.frames.find((frame) => frame.op === 7), 10_000);
    const seq = first.lastSeq()!;
    first.close();
    await drained;

    const second = await resume(b, token, sessionId, seq);
    await eventually('RESUMED', () => second.dispatches('RESUMED')[0], 10_000);
    f.redeliver(6, 10);
    for (let i = 0; i < 5; i++) f.push(guilds[0]!);
    await received(second, 5);
    await pause(50);

    expect(messages(second)).toEqual([11, 12, 13, 14, 15]);
    expect(lostAndRepeated(f.pushed, first, second)).toEqual({ lost: 0, repeated: 0 });
    expect(await metricValue(b.registry, 'guildcast_edge_resumes_by_path_total', { path: 'replayed' })).toBe(1);
  });

  it("fanout's redeliveries of what a takeover replayed reach nobody twice", async () => {
    // No periodic checkpoint, so what B replays does not depend on timing: IDENTIFY's checkpoint is the only one.
    const f = track(fleet({ EDGE_SESSION_CHECKPOINT_MS: '600000' }));
    // B's feed takes nothing as passed when it starts reading the partition (no lookback), so only the session's floor from its replay stands between the client and the redeliveries.
    const [a, b] = [await f.start('a'), await f.start('b', { EDGE_FEED_LOOKBACK: '0' })];
    const guilds = [guildOnShard(0, 1, 7)];
    const { client: first, token, sessionId } = await identify(a, guilds);
    for (let i = 0; i < 20; i++) f.push(guilds[0]!);
    await received(first, 20);
    const seq = first.lastSeq()!;
    await f.kill(a);

    // B replays 1..20 (the client saw them, so they are counted repeats); fanout then sends 14..20 again.
    const second = await resume(b, token, sessionId, seq);
    await eventually('RESUMED', () => second.dispatches('RESUMED')[0], 10_000);
    await received(second, 20);
    f.redeliver(14, 20);
    for (let i = 0; i < 5; i++) f.push(guilds[0]!);
    await received(second, 25);
    await pause(50);

    expect(messages(second)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(await metricValue(b.registry, 'guildcast_edge_resume_repeats_total')).toBe(20);
  });

  it('answers op 9 to a RESUME whose seq is older than every checkpoint', async () => {
    const f = track(fleet());
    const [a, b] = [await f.start('a'), await f.start('b')];
    const guild = guildOnShard(0, 1, 6);
    const { client: first, token, sessionId } = await identify(a, [guild]);
    // Enough rounds that the oldest kept checkpoint is past READY's seq (1).
    await eventually(
      'checkpoints past READY',
      async () => {
        f.push(guild);
        await pause(60);
        const stored = await f.store.load(sessionId);
        return stored && stored.checkpoints.length > 0 && stored.checkpoints[0]!.seq > 1 ? true : undefined;
      },
      10_000,
    );
    await received(first, f.pushed);
    const second = await resume(b, token, sessionId, 1);
    const invalid = await eventually('op 9', () => second.frames.find((frame) => frame.op === 9), 10_000);
    expect(invalid.d).toBe(false);
    expect(second.dispatches()).toEqual([]);
  });

  it('answers op 9 when the feed no longer holds what the session missed', async () => {
    // No periodic checkpoint: the only one is IDENTIFY's, before the five messages.
    const f = track(fleet({ EDGE_SESSION_CHECKPOINT_MS: '600000' }));
    const [a, b] = [await f.start('a'), await f.start('b')];
    const guild = guildOnShard(0, 1, 7);
    const { client: first, token, sessionId } = await identify(a, [guild]);
    for (let i = 0; i < 5; i++) f.push(guild);
    await received(first, 5);
    const seq = first.lastSeq()!;
    await f.kill(a);
    const [checkpoint] = (await f.store.load(sessionId))!.checkpoints;
    expect(checkpoint!.seq).toBe(1);
    const partition = [...checkpoint!.positions.keys()][0]!;
    b.source.trim(partition, b.source.bounds(partition).end);

    const second = await resume(b, token, sessionId, seq);
    const invalid = await eventually('op 9', () => second.frames.find((frame) => frame.op === 9), 10_000);
    expect(invalid.d).toBe(false);
  });

  it("refuses (4004) a RESUME on another node whose token lacks the session's subject or grant, and leaves the session resumable", async () => {
    const f = track(fleet());
    const [a, b] = [await f.start('a'), await f.start('b')];
    const guilds = [guildOnShard(0, 1, 8), guildOnShard(0, 1, 9)];
    const { client: first, token, sessionId } = await identify(a, guilds, 'owner-subject');
    f.push(guilds[0]!);
    await received(first, 1);
    const seq = first.lastSeq()!;
    first.close();
    await eventually('the detach checkpoint', async () => ((await f.store.load(sessionId))?.checkpoints.at(-1)?.seq === seq ? true : undefined), 10_000);

    const stranger = await tokens.mint({ guilds, ttlSeconds: 600, subject: 'someone-else' });
    const narrower = await tokens.mint({ guilds: [guilds[0]!], ttlSeconds: 600, subject: 'owner-subject' });
    for (const wrong of [stranger, narrower]) {
      const attempt = await resume(b, wrong, sessionId, seq);
      expect(await attempt.closed()).toBe(4004);
      expect(attempt.dispatches()).toEqual([]);
    }
    const rightful = await resume(b, token, sessionId, seq);
    await eventually('RESUMED', () => rightful.dispatches('RESUMED')[0], 10_000);
    f.push(guilds[1]!);
    await received(rightful, 1);
    expect(lostAndRepeated(f.pushed, first, rightful)).toEqual({ lost: 0, repeated: 0 });
  });

  it('a node holding an older epoch forgets its copy and takes the session back through the store', async () => {
    const f = track(fleet());
    const [a, b] = [await f.start('a'), await f.start('b')];
    const guild = guildOnShard(0, 1, 10);
    const { client: first, token, sessionId } = await identify(a, [guild]);
    for (let i = 0; i < 5; i++) f.push(guild);
    await received(first, 5);
    first.close();
    await eventually('the detach checkpoint', async () => ((await f.store.load(sessionId))?.checkpoints.at(-1)?.seq === first.lastSeq() ? true : undefined), 10_000);

    // A keeps its (detached) copy and its events; the client comes back on B.
    const second = await resume(b, token, sessionId, first.lastSeq()!);
    await eventually('RESUMED on B', () => second.dispatches('RESUMED')[0], 10_000);
    for (let i = 0; i < 5; i++) f.push(guild);
    await received(second, 5);
    second.close();
    await eventually('B checkpointed', async () => ((await f.store.load(sessionId))?.checkpoints.at(-1)?.seq === second.lastSeq() ? true : undefined), 10_000);

    // Back on A: its copy (epoch 0) is older than the stored one (1); A must not replay from its ring.
    const third = await resume(a, token, sessionId, second.lastSeq()!);
    await eventually('RESUMED on A', () => third.dispatches('RESUMED')[0], 10_000);
    for (let i = 0; i < 5; i++) f.push(guild);
    await received(third, 5);
    expect(lostAndRepeated(f.pushed, first, second, third)).toEqual({ lost: 0, repeated: 0 });
    expect((await f.store.load(sessionId))?.epoch).toBe(2);
    expect(await metricValue(a.registry, 'guildcast_edge_resumes_by_path_total', { path: 'local' })).toBe(0);
  });

  it('a session invalidated by lost deliveries is removed from the store: no node resumes it', async () => {
    const f = track(fleet());
    const [a, b] = [await f.start('a'), await f.start('b')];
    const guild = guildOnShard(0, 1, 12);
    const { client: first, token, sessionId } = await identify(a, [guild]);
    f.push(guild);
    await received(first, 1);
    expect(await f.store.load(sessionId)).toBeDefined();
    const partition = [...(await f.store.load(sessionId))!.checkpoints[0]!.positions.keys()][0]!;
    a.source.lose({ partition, partitions: PARTITIONS, records: 3n });
    await eventually('op 9', () => first.frames.find((frame) => frame.op === 9), 10_000);
    await eventually('the stored session removed', async () => ((await f.store.load(sessionId)) === undefined ? true : undefined), 10_000);
    const second = await resume(b, token, sessionId, first.lastSeq()!);
    const invalid = await eventually('op 9 on B', () => second.frames.find((frame) => frame.op === 9), 10_000);
    expect(invalid.d).toBe(false);
  });

  it('resumes from the local ring when this node owns the newest epoch', async () => {
    const f = track(fleet());
    const a = await f.start('a');
    const guild = guildOnShard(0, 1, 11);
    const { client: first, token, sessionId } = await identify(a, [guild]);
    for (let i = 0; i < 3; i++) f.push(guild);
    await received(first, 3);
    const seq = first.lastSeq()!;
    first.close();
    for (let i = 0; i < 3; i++) f.push(guild);
    const second = await resume(a, token, sessionId, seq);
    await eventually('RESUMED', () => second.dispatches('RESUMED')[0], 10_000);
    expect(lostAndRepeated(f.pushed, first, second)).toEqual({ lost: 0, repeated: 0 });
    expect(await metricValue(a.registry, 'guildcast_edge_resumes_by_path_total', { path: 'local' })).toBe(1);
    expect(await metricValue(a.registry, 'guildcast_edge_resumes_by_path_total', { path: 'replayed' })).toBe(0);
  });
});
