import type { EventEnvelope } from '../core/events/envelope.ts';
import { shardFor } from '../core/events/partition.ts';
import { frameBody, type FrameBody } from './serialize.ts';

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
  private readonly guilds = new Map<string, { d: Record<string, unknown>; frame?: FrameBody }>();

  constructor(private readonly capacity: number) {}

  observe(event: Pick<EventEnvelope, 'type' | 'guild_id' | 'd'>): void {
    const id = event.guild_id;
    if (id === undefined || typeof event.d !== 'object' || event.d === null || this.capacity === 0) return;
    const d = event.d as Record<string, unknown>;
    switch (event.type) {
      case 'GUILD_CREATE':
        this.set(id, { ...d, id });
        break;
      case 'GUILD_UPDATE':
        this.set(id, { ...this.guilds.get(id)?.d, ...d, id });
        break;
      case 'GUILD_DELETE':
        if (d.unavailable !== true) this.guilds.delete(id);
        break;
    }
  }

  /** GUILD_CREATE for `id` from the cached payload; undefined for a guild this node has not seen. */
  createFrame(id: string): FrameBody | undefined {
    const entry = this.guilds.get(id);
    if (!entry) return undefined;
    return (entry.frame ??= frameBody('GUILD_CREATE', { ...entry.d, unavailable: false }));
  }

  /** Known guilds on shard `[id, count]`: what a session allowed every guild is told about in READY. */
  guildsOnShard(id: number, count: number): string[] {
    return [...this.guilds.keys()].filter((guild) => shardFor(BigInt(guild), count) === id);
  }

  private set(id: string, d: Record<string, unknown>): void {
    this.guilds.delete(id);
    this.guilds.set(id, { d });
    if (this.guilds.size > this.capacity) this.guilds.delete(this.guilds.keys().next().value!);
  }
}
