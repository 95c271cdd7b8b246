import { LRUCache } from 'lru-cache';
import { applyGuildEvent, guildIdOf, isGuildStateEvent, type GuildSnapshot } from '../core/discord/guild-state.ts';
import { shardFor } from '../core/discord/shard.ts';
import { parseSnowflake } from '../core/discord/snowflake.ts';
import type { EventEnvelope } from '../core/events/envelope.ts';
import { partitionFor } from '../core/events/partition.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import { frameBody, type FrameBody } from '../core/discord/gateway/frames.ts';

/** Where the edge loads guild state from (store/state/guild-state-store.ts implements it; memory in unit tests). */
export interface GuildStateReader {
  /** Ids of the guilds on `partition` of the deliveries topic (with `partitions` partitions). */
  guildsOnPartition(partition: number, partitions: number): Promise<string[]>;
  loadGuild(id: string): Promise<GuildSnapshot | undefined>;
}

type ObservedEvent = Pick<EventEnvelope, 'type' | 'guild_id' | 'd'>;

interface Load {
  partition: number;
  partitions: number;
  /** Events of the partition's guilds seen while the load reads: applied again on top of what it read. */
  buffer: ObservedEvent[];
  done: Promise<void>;
}

/** Snapshots read at once while a partition loads. */
const LOAD_CONCURRENCY = 32;

/**
 * The edge's guild state: per guild the snapshot (core/discord/guild-state.ts) that READY and
 * GUILD_CREATE are made from, kept current by applying every event the node handles with the
 * same reducer fanout writes the store with.
 *
 * With a reader, `loadPartition` fills in the guilds of a partition the node starts reading from
 * the store, so a node started at any time serves complete GUILD_CREATEs. Fanout writes an event's
 * state before it delivers the event, so a guild loaded after an event was handed to this node
 * already includes it; events that arrive while the load reads may be newer than what it read, so
 * they are applied again on top of it (re-applying converges: events carry whole objects).
 * Without a reader (benchmarks, unit tests) only the stream fills it, and a guild whose
 * GUILD_CREATE passed before the node started stays unknown: READY lists it as unavailable and no
 * GUILD_CREATE goes out (a made-up one would make discord.js drop the guild's messages).
 *
 * Bounded: past `capacity` the guild seen least recently on the stream (or by a load) is forgotten.
 */
export class EdgeGuildState {
  /**
   * Recency is "seen on the stream": only a change refreshes it; reads `peek`, so sessions asking
   * for a guild do not keep one alive that the stream stopped mentioning.
   */
  private readonly guilds: LRUCache<string, { snapshot: GuildSnapshot; frame?: FrameBody }>;
  private readonly loads = new Map<string, Load>();
  private readonly logger: Logger;

  constructor(
    private readonly capacity: number,
    private readonly reader?: GuildStateReader,
    logger: Logger = silentLogger,
  ) {
    // lru-cache needs max >= 1; with 0 nothing is stored.
    this.guilds = new LRUCache({ max: Math.max(1, capacity) });
    this.logger = logger.child({ component: 'guild-state' });
  }

  /** Applies `event` if it is a guild-state event; called for every event the edge handles, in stream order. */
  observe(event: ObservedEvent): void {
    if (this.capacity === 0 || !isGuildStateEvent(event.type)) return;
    const id = guildIdOf(event);
    if (id === undefined) return;
    if (this.loads.size > 0) {
      const routing = parseSnowflake(id);
      for (const load of this.loads.values()) if (partitionFor(routing, load.partitions) === load.partition) load.buffer.push(event);
    }
    this.apply(id, event);
  }

  /**
   * Loads the guilds of `partition` from the store (at once without a reader). Concurrent calls for
   * one partition share the load. Rejects when the store cannot be read; what was loaded stays.
   */
  loadPartition(partition: number, partitions: number): Promise<void> {
    const reader = this.reader;
    if (!reader || this.capacity === 0) return Promise.resolve();
    const key = `${partition}/${partitions}`;
    const running = this.loads.get(key);
    if (running) return running.done;
    const load: Load = { partition, partitions, buffer: [], done: Promise.resolve() };
    load.done = (async () => {
      try {
        const ids = await reader.guildsOnPartition(partition, partitions);
        const snapshots = await mapLimited(ids, LOAD_CONCURRENCY, (id) => reader.loadGuild(id));
        // Dropped (or dropped and loaded again) meanwhile: what this load read is not wanted.
        if (this.loads.get(key) !== load) return;
        // From here to the end nothing awaits: no event can slip between the install and the replay.
        snapshots.forEach((snapshot, i) => {
          if (snapshot) this.guilds.set(ids[i]!, { snapshot });
        });
        for (const event of load.buffer) this.apply(guildIdOf(event)!, event);
        if (ids.length > this.capacity) this.logger.warn({ partition, guilds: ids.length, capacity: this.capacity }, 'partition holds more guilds than EDGE_GUILD_CACHE_SIZE; the least recently seen are forgotten');
      } finally {
        if (this.loads.get(key) === load) this.loads.delete(key);
      }
    })();
    this.loads.set(key, load);
    return load.done;
  }

  /** Forgets the guilds of a partition the node stopped reading (their events no longer reach it). */
  dropPartition(partition: number, partitions: number): void {
    this.loads.delete(`${partition}/${partitions}`);
    for (const id of [...this.guilds.keys()]) if (partitionFor(parseSnowflake(id), partitions) === partition) this.guilds.delete(id);
  }

  /** GUILD_CREATE for `id` from its snapshot, serialized once per change; undefined for a guild this node does not know. */
  createFrame(id: string): FrameBody | undefined {
    const entry = this.guilds.peek(id);
    if (!entry) return undefined;
    // Presences and voice states are not kept (core/discord/guild-state.ts); Discord always sends the arrays.
    return (entry.frame ??= frameBody('GUILD_CREATE', { presences: [], voice_states: [], ...entry.snapshot, unavailable: false }));
  }

  /** Known guilds on shard `[id, count]`: what a session allowed every guild is told about in READY. */
  guildsOnShard(id: number, count: number): string[] {
    // Oldest first, the order READY has always listed them in.
    return [...this.guilds.rkeys()].filter((guild) => shardFor(BigInt(guild), count) === id);
  }

  private apply(id: string, event: ObservedEvent): void {
    const next = applyGuildEvent(this.guilds.peek(id)?.snapshot, event);
    if (next === undefined) return;
    if (next === null) this.guilds.delete(id);
    else this.guilds.set(id, { snapshot: next }); // a fresh entry: the cached frame was of the old snapshot
  }
}

/** The name the connection code knows it by. */
export { EdgeGuildState as GuildCache };

/** An in-memory reader over snapshots, for unit tests and benchmarks. */
export class MemoryGuildStateReader implements GuildStateReader {
  readonly guilds = new Map<string, GuildSnapshot>();
  reads = 0;
  /** Resolves the next reads only when released (a test holds a load open). */
  gate: Promise<void> | undefined;

  async guildsOnPartition(partition: number, partitions: number): Promise<string[]> {
    await this.gate;
    return [...this.guilds.keys()].filter((id) => partitionFor(BigInt(id), partitions) === partition);
  }

  async loadGuild(id: string): Promise<GuildSnapshot | undefined> {
    this.reads++;
    await this.gate;
    return this.guilds.get(id);
  }
}

async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
