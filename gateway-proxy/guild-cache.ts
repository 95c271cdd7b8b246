import { LRUCache } from 'lru-cache';
import { shardFor } from '../core/discord/shard.ts';
import type { EventEnvelope } from '../core/events/envelope.ts';
import { frameBody, type FrameBody } from '../core/discord/gateway/frames.ts';

/**
 * The latest GUILD_CREATE (with later GUILD_UPDATEs merged in) seen on the deliveries stream per
 * guild, so a session gets a real GUILD_CREATE after READY. Bounded: past `capacity` the guild
 * seen least recently is forgotten.
 *
 * A guild this node has not seen (it started after the guild's GUILD_CREATE passed, or forgot it)
 * gets no GUILD_CREATE at all: READY lists it as `{ id, unavailable: true }`, as Discord does
 * during an outage. A made-up one ("guild <id>", no channels) made discord.js drop every message
 * of the guild and ignore the real GUILD_CREATE when it came; the durable guild state that would
 * answer with the real payload is a later issue (README, "READY and GUILD_CREATE").
 */
export class GuildCache {
  /**
   * Recency is "seen on the stream": only `set` (GUILD_CREATE/UPDATE) refreshes it; reads `peek`,
   * so sessions asking for a guild do not keep one alive that the stream stopped mentioning.
   */
  private readonly guilds: LRUCache<string, { d: Record<string, unknown>; frame?: FrameBody }>;

  constructor(private readonly capacity: number) {
    // lru-cache needs max >= 1; with 0 `observe` stores nothing.
    this.guilds = new LRUCache({ max: Math.max(1, capacity) });
  }

  observe(event: Pick<EventEnvelope, 'type' | 'guild_id' | 'd'>): void {
    const id = event.guild_id;
    if (id === undefined || typeof event.d !== 'object' || event.d === null || this.capacity === 0) return;
    const d = event.d as Record<string, unknown>;
    switch (event.type) {
      case 'GUILD_CREATE':
        this.set(id, { ...d, id });
        break;
      case 'GUILD_UPDATE':
        this.set(id, { ...this.guilds.peek(id)?.d, ...d, id });
        break;
      case 'GUILD_DELETE':
        if (d.unavailable !== true) this.guilds.delete(id);
        break;
    }
  }

  /** GUILD_CREATE for `id` from the cached payload; undefined for a guild this node has not seen. */
  createFrame(id: string): FrameBody | undefined {
    const entry = this.guilds.peek(id);
    if (!entry) return undefined;
    return (entry.frame ??= frameBody('GUILD_CREATE', { ...entry.d, unavailable: false }));
  }

  /** Known guilds on shard `[id, count]`: what a session allowed every guild is told about in READY. */
  guildsOnShard(id: number, count: number): string[] {
    // Oldest first, the order READY has always listed them in.
    return [...this.guilds.rkeys()].filter((guild) => shardFor(BigInt(guild), count) === id);
  }

  private set(id: string, d: Record<string, unknown>): void {
    this.guilds.set(id, { d }); // a fresh entry: the cached frame was of the old payload
  }
}
