import type { EventEnvelope } from '../core/events/envelope.ts';
import { shardFor } from '../core/events/partition.ts';
import { frameBody, type FrameBody } from './serialize.ts';

/**
 * The latest GUILD_CREATE (with later GUILD_UPDATEs merged in) seen on the deliveries stream per
 * guild, so a session gets a real GUILD_CREATE after READY. Bounded: past `capacity` the guild
 * seen least recently is forgotten and gets the minimal payload again.
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

  /** GUILD_CREATE for `id`: the cached payload, else a minimal available guild. */
  createFrame(id: string): FrameBody {
    const entry = this.guilds.get(id);
    if (!entry) return frameBody('GUILD_CREATE', minimalGuild(id));
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

export function minimalGuild(id: string) {
  return {
    id,
    unavailable: false,
    name: `guild ${id}`,
    icon: null,
    owner_id: '0',
    joined_at: new Date(0).toISOString(),
    large: false,
    member_count: 0,
    features: [],
    channels: [],
    threads: [],
    roles: [],
    emojis: [],
    stickers: [],
    members: [],
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
