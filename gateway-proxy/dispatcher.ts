import { isConnectionDispatch } from '../core/events/connection-events.ts';
import { shardFor } from '../core/events/partition.ts';
import type { PreparedEvent } from './serialize.ts';
import type { Session } from './session.ts';

/**
 * Event → interested sessions. Sessions are indexed by the guilds they may receive (their token's
 * list, narrowed to their shard), and sessions whose token allows every guild by their shard
 * `[i, n]`, so an event costs O(sessions that receive it) plus one lookup per distinct shard count.
 */
export class Dispatcher {
  private readonly byGuild = new Map<string, Set<Session>>();
  /** Sessions with a `"*"` grant: shard count → shard id → sessions. */
  private readonly byShard = new Map<number, Map<number, Set<Session>>>();
  private readonly shardIndex = new WeakMap<Session, readonly string[]>();
  /** The same guilds as a set, for `routes`. */
  private readonly guildSets = new WeakMap<Session, ReadonlySet<string>>();

  add(session: Session): void {
    const [id, count] = session.shard;
    if (session.grant.guilds === '*') {
      let shards = this.byShard.get(count);
      if (!shards) this.byShard.set(count, (shards = new Map()));
      addTo(shards, id, session);
      return;
    }
    const guilds = guildsOfShard(session.grant.guilds, id, count);
    this.shardIndex.set(session, guilds);
    this.guildSets.set(session, new Set(guilds));
    for (const guild of guilds) addTo(this.byGuild, guild, session);
  }

  remove(session: Session): void {
    const [id, count] = session.shard;
    if (session.grant.guilds === '*') {
      const shards = this.byShard.get(count);
      if (shards && removeFrom(shards, id, session) && shards.size === 0) this.byShard.delete(count);
      return;
    }
    for (const guild of this.shardIndex.get(session) ?? []) removeFrom(this.byGuild, guild, session);
    this.shardIndex.delete(session);
    this.guildSets.delete(session);
  }

  /**
   * Whether `dispatch` hands `event` to `session` (intents aside): the one routing rule, also for
   * events replayed from the feed to a session taken over on RESUME, which bypass the indexes.
   */
  routes(session: Session, event: PreparedEvent): boolean {
    if (isConnectionDispatch(event.type)) return false;
    if (session.grant.guilds === '*') return (event.shardKey === undefined ? 0 : shardFor(event.shardKey, session.shard[1])) === session.shard[0];
    return event.guildId !== undefined && (this.guildSets.get(session)?.has(event.guildId) ?? false);
  }

  /** The guild ids a session receives, when its grant lists them (READY's `guilds`). */
  listedGuilds(session: Session): readonly string[] | undefined {
    return this.shardIndex.get(session);
  }

  /** Delivers the event to every session that may see it; returns how many did. */
  dispatch(event: PreparedEvent): number {
    // Ingest no longer publishes these, but records written before it stopped are still on the
    // topic: the bot's own session must never reach a client (it would adopt it and fail to resume).
    if (isConnectionDispatch(event.type)) return 0;
    let delivered = 0;
    if (event.guildId !== undefined) {
      for (const session of this.byGuild.get(event.guildId) ?? NONE) delivered += deliver(session, event);
    }
    for (const [count, shards] of this.byShard) {
      const shard = event.shardKey === undefined ? 0 : shardFor(event.shardKey, count);
      for (const session of shards.get(shard) ?? NONE) delivered += deliver(session, event);
    }
    return delivered;
  }
}

const NONE: ReadonlySet<Session> = new Set();

function deliver(session: Session, event: PreparedEvent): number {
  if (!session.wants(event)) return 0;
  session.deliver(event);
  return 1;
}

/** Discord's shard formula over a token's guild list. */
export function guildsOfShard(guilds: ReadonlySet<string>, id: number, count: number): string[] {
  if (count === 1) return [...guilds];
  return [...guilds].filter((guild) => shardFor(BigInt(guild), count) === id);
}

function addTo<K>(index: Map<K, Set<Session>>, key: K, session: Session): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(session);
}

function removeFrom<K>(index: Map<K, Set<Session>>, key: K, session: Session): boolean {
  const set = index.get(key);
  if (!set?.delete(session)) return false;
  if (set.size === 0) index.delete(key);
  return true;
}
