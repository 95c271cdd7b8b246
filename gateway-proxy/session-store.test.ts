import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../core/logger.ts';
import { createRegistry } from '../core/metrics.ts';
import { eventually } from '../test/support.ts';
import { loadEdgeConfig } from './config.ts';
import { startEdge } from './edge.ts';
import { guildOnShard, messageEvent, metricValue, RawClient, TEST_SECRET, tokens } from './edge.test-support.ts';
import { MemoryDeliverySource } from './memory-delivery-source.ts';
import { MemorySessionStore, type SessionStore, type StoredSession } from './session-store.ts';

const state = (epoch: number, seq = 3): StoredSession => ({
  id: 'abc',
  epoch,
  node: `node-${epoch}`,
  subject: 'bot',
  guilds: ['123', '456'],
  shard: [0, 1],
  intents: 513,
  checkpoints: [{ seq, positions: new Map([[2, { offset: 12345678901234567n, passed: -1n }]]) }],
});

function recordingLogger() {
  const warnings: string[] = [];
  const logger = { warn: (_obj: unknown, message: string) => void warnings.push(message) } as unknown as Logger;
  return { logger, warnings };
}

describe('the memory session store', () => {
  it('reads the newest live epoch back as it was saved, bigints included', async () => {
    let now = 1_000;
    const store = new MemorySessionStore(silentLogger, () => now);
    await store.save(state(0), 10_000);
    await store.save(state(1, 9), 1_000);
    expect(await store.load('abc')).toEqual(state(1, 9));
    now += 1_500; // epoch 1's row expired, epoch 0's has not
    expect(await store.load('abc')).toEqual(state(0));
    await store.remove('abc');
    expect(await store.load('abc')).toBeUndefined();
  });

  it('treats a malformed row as absent and says so', async () => {
    const { logger, warnings } = recordingLogger();
    const store = new MemorySessionStore(logger);
    const unknownVersion = (await encoded(state(0))).replace('"v":1', '"v":2');
    const bigintAsNumber = (await encoded(state(0))).replace('"12345678901234567"', '12345678901234567');
    for (const text of ['not json', JSON.stringify({ v: 1, id: 'abc' }), unknownVersion, bigintAsNumber]) {
      store.put('abc', 0, text);
      expect(await store.load('abc')).toBeUndefined();
    }
    // A well-formed state under another epoch's row is refused as well.
    await store.save(state(4), 10_000);
    store.put('abc', 5, (await encoded(state(4))));
    expect(await store.load('abc')).toBeUndefined();
    expect(warnings.length).toBe(5);
  });
});

async function encoded(s: StoredSession): Promise<string> {
  const { encodeGatewaySession } = await import('../store/index.ts');
  return encodeGatewaySession(s);
}

describe('checkpoints when the session store fails', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('logs and counts the failed writes and keeps delivering', async () => {
    const failing: SessionStore = {
      load: async () => undefined,
      save: async () => Promise.reject(new Error('store away')),
      remove: async () => {},
    };
    const source = new MemoryDeliverySource({ partitions: 4 });
    const registry = createRegistry('edge-failing-store', { defaults: false });
    const config = loadEdgeConfig({ KAFKA_EVENT_PARTITIONS: '4', EDGE_PORT: '0', EDGE_HOST: '127.0.0.1', EDGE_TOKEN_SECRET: TEST_SECRET, EDGE_SESSION_CHECKPOINT_MS: '20' });
    const edge = await startEdge(config, { logger: silentLogger, registry, deliveries: source, sessionStore: failing });
    cleanups.push(() => edge.close());
    const client = new RawClient(edge.nodeUrl);
    cleanups.push(() => client.close());
    await client.opened;
    const guild = guildOnShard(0, 1, 1);
    client.identify(await tokens.mint({ guilds: [guild], ttlSeconds: 60 }));
    await client.ready();
    for (let n = 1; n <= 20; n++) {
      source.push(messageEvent(guild, n));
      await new Promise((r) => setTimeout(r, 5));
    }
    await eventually('20 messages', () => (client.dispatches('MESSAGE_CREATE').length === 20 ? true : undefined), 10_000);
    await eventually('failed writes counted', async () => ((await metricValue(registry, 'guildcast_edge_session_checkpoint_writes_total', { result: 'failed' })) >= 2 ? true : undefined), 10_000);
    expect(await metricValue(registry, 'guildcast_edge_session_checkpoint_writes_total', { result: 'ok' })).toBe(0);
    expect(client.closeCode).toBeUndefined();
  });
});
