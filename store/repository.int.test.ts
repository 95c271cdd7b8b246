import cassandra from 'cassandra-driver';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropKeyspace, testKeyspace } from '../test/support.ts';
import type { CqlClient } from './cql/client.ts';
import { StoreValidationError } from './errors.ts';
import { bucketOf } from '../core/discord/bucket.ts';
import type { Snowflake } from '../core/discord/snowflake.ts';
import { createMessageStore, type MessageStore } from './repository.ts';
import { prng, randomChannel, referenceHistory } from './test-support/reference-history.ts';

const author = { id: '80351110224678912', username: 'nelly', discriminator: '0', avatar: null };
const messageOf = (channelId: Snowflake, id: Snowflake, extra: Record<string, unknown> = {}) => ({
  id: id.toString(),
  channel_id: channelId.toString(),
  guild_id: '1000000000000000000',
  author,
  content: `message ${id}`,
  ...extra,
});

/** Records every statement and its parameters as the driver sends them (the driver's request-tracker hook). */
class StatementRecorder implements cassandra.tracker.RequestTracker {
  readonly sent: { query: string; params: unknown[] }[] = [];
  onSuccess(_host: unknown, query: unknown, parameters: unknown): void {
    if (typeof query === 'string' && Array.isArray(parameters)) this.sent.push({ query, params: parameters });
  }
  onError(): void {}
  shutdown(): void {}
}

/** The driver reads its request tracker from the live options on every request. */
function trackRequests(client: CqlClient, tracker: cassandra.tracker.RequestTracker | null): void {
  (client as unknown as { options: { requestTracker: unknown } }).options.requestTracker = tracker;
}

async function queryCount(registry: Registry, query: string): Promise<number> {
  const metric = await registry.getSingleMetric('guildcast_store_db_queries_total')!.get();
  return metric.values.filter((v) => v.labels.query === query).reduce((sum, v) => sum + v.value, 0);
}

describe('message store against the real Cassandra', () => {
  let client: CqlClient;
  let keyspace: string;
  const newStore = (registry = new Registry()) => ({ registry, store: createMessageStore({ client, keyspace, registry, writeConcurrency: 16 }) });

  beforeAll(async () => {
    ({ client, keyspace } = await testKeyspace('store'));
  });
  afterAll(async () => {
    await dropKeyspace(client, keyspace);
  });

  describe('history pages match the in-memory model', () => {
    const now = Date.now();
    const channel = randomChannel(20260101, { now, perBucket: 30 });
    // Rows an edit left behind after a delete: present in the table, absent from every page.
    const halfRows = new Set(channel.ids.filter((_, i) => i % 11 === 5));
    const live = channel.ids.filter((id) => !halfRows.has(id));
    let store: MessageStore;
    let registry: Registry;

    beforeAll(async () => {
      ({ store, registry } = newStore());
      await store.upsertMessages(channel.ids.map((id) => messageOf(channel.channelId, id)));
      await store.deleteMessages(channel.channelId, [...halfRows]);
      await store.applyEdits([...halfRows].map((id) => ({ id: id.toString(), channel_id: channel.channelId.toString(), content: 'edited after delete' })));
    });

    it('spreads over at least three buckets with empty buckets between them', async () => {
      const used = [...new Set(live.map(bucketOf))].sort((a, b) => a - b);
      expect(used.length).toBeGreaterThanOrEqual(3);
      expect(used.some((b, i) => i > 0 && b - used[i - 1]! > 1)).toBe(true);
      const raw = await client.execute(`SELECT message_id, author_id FROM ${keyspace}.messages WHERE channel_id = ? AND bucket IN ?`, [channel.channelId, used], { prepare: true });
      expect(raw.rows.filter((r) => r.author_id === null).length).toBe(halfRows.size);
    });

    it('for every combination of before/after/around and limit, including bucket and channel edges', async () => {
      const random = prng(9);
      const anchors = channel.anchors.filter((a, i) => i < 20 || halfRows.has(a) || random() < 0.15);
      const ids = async (query: Parameters<MessageStore['history']>[1]) => (await store.history(channel.channelId, query)).map((m) => BigInt(m.id));
      let checked = 0;
      for (const limit of [1, 2, 7, 50, 100]) {
        expect(await ids({ limit })).toEqual(referenceHistory(live, { limit }));
        for (const anchor of anchors) {
          for (const kind of ['before', 'after', 'around'] as const) {
            const query = { limit, [kind]: anchor };
            expect(await ids(query), `${kind}=${anchor} limit=${limit}`).toEqual(referenceHistory(live, query));
            checked++;
          }
        }
      }
      expect(await ids(undefined)).toEqual(referenceHistory(live, {}));
      expect(checked).toBeGreaterThan(300);
    });

    it('remembers empty buckets: a repeated walk sends fewer queries', async () => {
      const { store: cold, registry: coldRegistry } = newStore();
      await cold.history(channel.channelId, { limit: 100, before: channel.ids.at(-1)! });
      const first = await queryCount(coldRegistry, 'history_page');
      await cold.history(channel.channelId, { limit: 100, before: channel.ids.at(-1)! });
      const second = (await queryCount(coldRegistry, 'history_page')) - first;
      expect(second).toBeLessThan(first);
      expect(second).toBeGreaterThanOrEqual(new Set(live.map(bucketOf)).size);
      expect(await queryCount(registry, 'history_page')).toBeGreaterThan(0);
    });

    it('forgets a bucket\'s emptiness when the store writes into it', async () => {
      const emptyBucket = channel.buckets[0]! + 1;
      const before = BigInt(emptyBucket + 1) * 864_000_000n << 22n;
      expect(await store.history(channel.channelId, { before, limit: 1 })).toHaveLength(1); // walks through the empty bucket
      const newcomer = (BigInt(emptyBucket) * 864_000_000n << 22n) + 12345n;
      await store.upsertMessages([messageOf(channel.channelId, newcomer)]);
      expect((await store.history(channel.channelId, { before, limit: 1 })).map((m) => m.id)).toEqual([newcomer.toString()]);
      await store.deleteMessages(channel.channelId, [newcomer]);
    });
  });

  describe('writes', () => {
    const channelId = 1_250_000_000_000_000_000n;
    const base = 1_260_000_000_000_000_000n;
    let store: MessageStore;
    let registry: Registry;
    beforeAll(() => {
      ({ store, registry } = newStore());
    });

    it('are idempotent: the same message twice is one row', async () => {
      const message = messageOf(channelId, base, { embeds: [{ title: 'x' }], nonce: '42' });
      await store.upsertMessages([message, message]);
      await store.upsertMessages([message]);
      const rows = await client.execute(`SELECT message_id FROM ${keyspace}.messages WHERE channel_id = ? AND bucket = ?`, [channelId, bucketOf(base)], { prepare: true });
      expect(rows.rowLength).toBe(1);
      expect(await store.getMessage(channelId, base)).toMatchObject({ id: base.toString(), content: message.content, embeds: [{ title: 'x' }], nonce: '42', author });
    });

    it('apply edits field by field, and a replayed create does not undo them', async () => {
      const id = base + 1n;
      const original = messageOf(channelId, id, { embeds: [{ title: 'kept' }], pinned: false });
      await store.upsertMessages([original]);
      await store.applyEdits([{ id: id.toString(), channel_id: channelId.toString(), content: 'edited', edited_timestamp: '2030-01-01T00:00:00.000Z', pinned: true }]);
      const edited = await store.getMessage(channelId, id);
      expect(edited).toMatchObject({ content: 'edited', edited_timestamp: '2030-01-01T00:00:00.000Z', pinned: true, embeds: [{ title: 'kept' }], author });
      await store.upsertMessages([original]);
      expect(await store.getMessage(channelId, id)).toMatchObject({ content: 'edited', pinned: true });
    });

    it('delete one and many; a replayed create does not bring a message back', async () => {
      const ids = [base + 10n, base + 11n, base + 12n, base + 13n];
      await store.upsertMessages(ids.map((id) => messageOf(channelId, id)));
      await store.deleteMessages(channelId, [ids[0]!]);
      await store.deleteMessages(channelId.toString(), [ids[1]!.toString(), ids[2]!.toString()]);
      expect(await store.getMessage(channelId, ids[0]!)).toBeUndefined();
      const page = await store.history(channelId, { after: base + 9n });
      expect(page.map((m) => m.id)).toEqual([ids[3]!.toString()]);
      await store.upsertMessages([messageOf(channelId, ids[1]!)]);
      expect(await store.getMessage(channelId, ids[1]!)).toBeUndefined();
    });

    it('treat a row an edit left after a delete as deleted', async () => {
      const id = base + 20n;
      await store.upsertMessages([messageOf(channelId, id)]);
      await store.deleteMessages(channelId, [id]);
      await store.applyEdits([{ id: id.toString(), channel_id: channelId.toString(), content: 'late edit' }]);
      const raw = await client.execute(`SELECT content, author_id FROM ${keyspace}.messages WHERE channel_id = ? AND bucket = ? AND message_id = ?`, [channelId, bucketOf(id), id], { prepare: true });
      expect(raw.first()).toMatchObject({ content: 'late edit', author_id: null });
      expect(await store.getMessage(channelId, id)).toBeUndefined();
      expect((await store.history(channelId, { around: id, limit: 3 })).map((m) => m.id)).not.toContain(id.toString());
    });

    it('never send a null to the database', async () => {
      const recorder = new StatementRecorder();
      trackRequests(client, recorder);
      try {
        const id = base + 30n;
        await store.upsertMessages([
          messageOf(channelId, id, { content: null, embeds: null, edited_timestamp: null, referenced_message: null, flags: 0 }),
          messageOf(channelId, id + 1n),
        ]);
        await store.applyEdits([{ id: id.toString(), channel_id: channelId.toString(), content: 'x', embeds: null, thread: null }]);
        await store.deleteMessages(channelId, [id + 1n]);
      } finally {
        trackRequests(client, null);
      }
      const writes = recorder.sent.filter((s) => /^(INSERT|UPDATE|DELETE)/.test(s.query));
      expect(writes.map((w) => w.query.split(' ')[0])).toEqual(['INSERT', 'INSERT', 'UPDATE', 'DELETE']);
      for (const write of writes) for (const value of write.params) expect(value === null || value === undefined).toBe(false);
      expect(writes[0]!.params.filter((v) => v === cassandra.types.unset).length).toBeGreaterThan(10);
      expect(await store.getMessage(channelId, base + 30n)).toMatchObject({ content: 'x', embeds: [], flags: 0, edited_timestamp: null });
    });

    it('reject a batch with an invalid message before writing any of it, naming its position', async () => {
      const good = messageOf(channelId, base + 40n);
      const err = await store.upsertMessages([good, { id: 'nope', channel_id: channelId.toString(), author }, { ...good, author: {} }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreValidationError);
      expect((err as StoreValidationError).failures.map((f) => f.index)).toEqual([1, 2]);
      expect(await store.getMessage(channelId, base + 40n)).toBeUndefined();
      await expect(store.deleteMessages('x', ['1', '2'])).rejects.toMatchObject({ failures: [{ index: 0 }, { index: 1 }] });
      expect(await queryCount(registry, 'insert')).toBeGreaterThan(0);
    });
  });

  describe('coalesced reads', () => {
    it('many concurrent identical reads cause one query', async () => {
      const { store, registry } = newStore();
      const channelId = 1_270_000_000_000_000_000n;
      const id = 1_270_000_000_000_000_100n;
      await store.upsertMessages([messageOf(channelId, id)]);
      const reads = Array.from({ length: 50 }, () => store.getMessage(channelId, id));
      const results = await Promise.all(reads);
      expect(new Set(results.map((m) => m?.id))).toEqual(new Set([id.toString()]));
      expect(await queryCount(registry, 'message_get')).toBe(1);
      const coalesced = await registry.getSingleMetric('guildcast_store_coalesced_reads_total')!.get();
      expect(coalesced.values.find((v) => v.labels.read === 'message')?.value).toBe(49);

      const before = await queryCount(registry, 'history_page');
      const pages = await Promise.all(Array.from({ length: 50 }, () => store.history(channelId, { limit: 10, around: id })));
      expect(pages.every((p) => p.length === 1 && p[0]!.id === id.toString())).toBe(true);
      const perPage = (await queryCount(registry, 'history_page')) - before;
      const single = await (async () => {
        const fresh = newStore();
        await fresh.store.history(channelId, { limit: 10, around: id });
        return queryCount(fresh.registry, 'history_page');
      })();
      expect(perPage).toBe(single); // fifty readers, the queries of one
    });
  });
});
