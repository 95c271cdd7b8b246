import { ChannelType, GatewayDispatchEvents as E } from 'discord-api-types/v10';
import { isSnowflake } from './snowflake.ts';

/**
 * Durable guild state, as one pure reducer: the store's writer (fanout) and every edge node (in
 * memory) apply the same events with this same code, so they cannot disagree about a guild.
 *
 * A snapshot is the GUILD_CREATE payload (`GatewayGuildCreateDispatchData` in discord-api-types)
 * with every later change applied, minus what the reducer does not keep current: presences and
 * voice states change far more often than they are worth keeping, and members are restricted to
 * bots (`user.bot === true`, which includes the bot's own member), since human members are
 * neither sent nor tracked. `threads` are the active ones, as in Discord's GUILD_CREATE: an
 * archived thread leaves the list (that also bounds the row).
 *
 * Every event carries whole objects (a channel, a role, a member), so applying an event the
 * snapshot already includes changes nothing: a reader that loaded a snapshot and then applies
 * events from a point before the load converges to the same state.
 */
export type GuildObject = Record<string, unknown>;

export interface GuildSnapshot {
  id: string;
  channels: GuildObject[];
  threads: GuildObject[];
  roles: GuildObject[];
  /** Bot members only. */
  members: GuildObject[];
  [field: string]: unknown;
}

/** The part of an event envelope the reducer reads. */
export interface GuildEvent {
  type: string;
  guild_id?: string | undefined;
  d: unknown;
}

const STATE_EVENTS: ReadonlySet<string> = new Set<string>([
  E.GuildCreate,
  E.GuildUpdate,
  E.GuildDelete,
  E.ChannelCreate,
  E.ChannelUpdate,
  E.ChannelDelete,
  E.ThreadCreate,
  E.ThreadUpdate,
  E.ThreadDelete,
  E.ThreadListSync,
  E.GuildRoleCreate,
  E.GuildRoleUpdate,
  E.GuildRoleDelete,
  E.GuildMemberAdd,
  E.GuildMemberUpdate,
  E.GuildMemberRemove,
]);

/** Dispatches whose own `id` is the guild. */
const GUILD_IS_ID: ReadonlySet<string> = new Set<string>([E.GuildCreate, E.GuildUpdate, E.GuildDelete]);
/** Dispatches whose `d.id` is a channel or thread. */
const CHANNEL_IS_ID: ReadonlySet<string> = new Set<string>([
  E.ChannelCreate,
  E.ChannelUpdate,
  E.ChannelDelete,
  E.ThreadCreate,
  E.ThreadUpdate,
  E.ThreadDelete,
]);
const THREAD_TYPES: ReadonlySet<unknown> = new Set([ChannelType.AnnouncementThread, ChannelType.PublicThread, ChannelType.PrivateThread]);
/** GUILD_CREATE fields the snapshot does not keep (see above); `unavailable` is added when a frame is made. */
const NOT_KEPT = new Set(['presences', 'voice_states', 'unavailable']);
/** Collections GUILD_UPDATE does not carry: a merge must leave the snapshot's own. */
const NOT_MERGED = new Set(['channels', 'threads', 'members', ...NOT_KEPT]);

export function isGuildStateEvent(type: string): boolean {
  return STATE_EVENTS.has(type);
}

/** The guild an event concerns: the envelope's, else the payload's. */
export function guildIdOf(event: GuildEvent): string | undefined {
  if (event.guild_id !== undefined) return event.guild_id;
  if (!isObject(event.d)) return undefined;
  const id = GUILD_IS_ID.has(event.type) ? event.d.id : event.d.guild_id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Why the store must refuse a guild-state event (a reason for its dead letter), or undefined when
 * it is well-formed. The reducer itself never throws: for it, a malformed event is "no change".
 */
export function guildEventProblem(event: GuildEvent): string | undefined {
  const { type, d } = event;
  if (!isObject(d)) return `${type}: d is not an object`;
  const guild = guildIdOf(event);
  if (!isSnowflake(guild)) return `${type}: no guild id`;
  if (GUILD_IS_ID.has(type) && d.id !== guild) return `${type}: d.id ${JSON.stringify(d.id)} is not the event's guild ${guild}`;
  if (CHANNEL_IS_ID.has(type) && !isSnowflake(d.id)) return `${type}: d.id is not a snowflake`;
  if ((type === E.GuildRoleCreate || type === E.GuildRoleUpdate) && !(isObject(d.role) && isSnowflake(d.role.id))) return `${type}: d.role.id is not a snowflake`;
  if (type === E.GuildRoleDelete && !isSnowflake(d.role_id)) return `${type}: d.role_id is not a snowflake`;
  if (type.startsWith('GUILD_MEMBER_') && !isSnowflake(userIdOf(d))) return `${type}: d.user.id is not a snowflake`;
  if (type === E.ThreadListSync && !Array.isArray(d.threads)) return `${type}: d.threads is not an array`;
  if (type === E.GuildCreate) {
    for (const key of ['channels', 'threads', 'roles'] as const) {
      const list = d[key];
      if (list !== undefined && !Array.isArray(list)) return `${type}: d.${key} is not an array`;
      if (Array.isArray(list) && !list.every((item) => isObject(item) && isSnowflake(item.id))) return `${type}: an entry of d.${key} has no snowflake id`;
    }
  }
  return undefined;
}

/**
 * The guild's state after `event`: a new snapshot, `null` when the guild is gone (GUILD_DELETE
 * without `unavailable`: the bot left or was removed), or `undefined` when the event does not
 * change it (not a guild-state event, a malformed payload, an outage, or anything but
 * GUILD_CREATE for a guild without a snapshot). `snapshot` is never modified; entries the event
 * does not touch are shared with it (callers compare them by reference to see what changed).
 */
export function applyGuildEvent(snapshot: GuildSnapshot | undefined, event: GuildEvent): GuildSnapshot | null | undefined {
  const { type, d } = event;
  if (!STATE_EVENTS.has(type) || !isObject(d)) return undefined;
  const guild = guildIdOf(event);
  if (guild === undefined) return undefined;
  if (type === E.GuildCreate) return fromGuildCreate(guild, d);
  if (snapshot === undefined || snapshot.id !== guild) return undefined;
  switch (type) {
    case E.GuildUpdate: {
      if (d.id !== guild) return undefined;
      const merged: GuildSnapshot = { ...snapshot };
      for (const [key, value] of Object.entries(d)) if (!NOT_MERGED.has(key)) merged[key] = value;
      merged.roles = Array.isArray(d.roles) ? withIds(d.roles) : snapshot.roles;
      return merged;
    }
    case E.GuildDelete:
      return d.unavailable === true || d.id !== guild ? undefined : null;
    case E.ChannelCreate:
    case E.ChannelUpdate:
    case E.ThreadCreate:
    case E.ThreadUpdate:
      return upsertChannel(snapshot, d);
    case E.ChannelDelete:
    case E.ThreadDelete:
      return removeChannel(snapshot, d.id);
    case E.ThreadListSync:
      return syncThreads(snapshot, d);
    case E.GuildRoleCreate:
    case E.GuildRoleUpdate:
      return isObject(d.role) ? replaceIn(snapshot, 'roles', d.role, idOf) : undefined;
    case E.GuildRoleDelete:
      return removeFrom(snapshot, 'roles', (role) => role.id === d.role_id);
    case E.GuildMemberAdd:
    case E.GuildMemberUpdate: {
      const user = d.user;
      if (!isObject(user) || typeof user.id !== 'string') return undefined;
      const existing = snapshot.members.find((m) => userIdOf(m) === user.id);
      // A member update carries the member's fields (user, roles, nick, ...): merged into the kept one.
      const member = bareMember(existing ? { ...existing, ...d } : d);
      if (!isBot(member)) return existing ? removeFrom(snapshot, 'members', (m) => m === existing) : undefined;
      return replaceIn(snapshot, 'members', member, userIdOf);
    }
    case E.GuildMemberRemove:
      return removeFrom(snapshot, 'members', (m) => userIdOf(m) !== undefined && userIdOf(m) === userIdOf(d));
  }
  return undefined;
}

/** Every channel and (active) thread id of the guild. */
export function channelIdsOf(snapshot: GuildSnapshot): string[] {
  return [...snapshot.channels, ...snapshot.threads].map(idOf).filter((id) => id !== undefined);
}

/** The channel or active thread `id` of the guild, or undefined. */
export function findChannel(snapshot: GuildSnapshot, id: string): GuildObject | undefined {
  return snapshot.channels.find((c) => c.id === id) ?? snapshot.threads.find((t) => t.id === id);
}

/**
 * Channel and thread ids whose object differs between two states of one guild (added, removed or
 * replaced), by reference: the reducer shares the entries an event did not touch.
 */
export function changedChannelIds(before: GuildSnapshot | null | undefined, after: GuildSnapshot | null | undefined): string[] {
  const old = new Map(before ? [...before.channels, ...before.threads].map((c) => [idOf(c), c]) : []);
  const changed = new Set<string>();
  for (const c of after ? [...after.channels, ...after.threads] : []) {
    const id = idOf(c);
    if (id === undefined) continue;
    if (old.get(id) !== c) changed.add(id);
    old.delete(id);
  }
  for (const id of old.keys()) if (id !== undefined) changed.add(id);
  return [...changed];
}

/**
 * Channel and thread ids that `event` deleted, so their channel → guild lookup must end. A thread
 * that merely left the active list (archived, or not in a THREAD_LIST_SYNC) keeps its lookup: its
 * history stays readable. A deleted id counts even when the snapshot no longer listed it.
 */
export function deletedChannelIds(before: GuildSnapshot | undefined, after: GuildSnapshot | null | undefined, event: GuildEvent): string[] {
  if (before === undefined) return [];
  if (after === null) return channelIdsOf(before);
  if (after === undefined) return [];
  const d = event.d as GuildObject;
  const kept = new Set(channelIdsOf(after));
  switch (event.type) {
    case E.ChannelDelete:
    case E.ThreadDelete:
      return [...new Set([String(d.id), ...channelIdsOf(before).filter((id) => !kept.has(id))])];
    case E.GuildCreate:
      // A thread missing from a later GUILD_CREATE may only have been archived; a channel is gone.
      return before.channels.map(idOf).filter((id) => id !== undefined && !kept.has(id)) as string[];
    default:
      return [];
  }
}

function fromGuildCreate(guild: string, d: GuildObject): GuildSnapshot | undefined {
  // An unavailable guild's GUILD_CREATE carries no state, only the outage.
  if (d.id !== guild || d.unavailable === true) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(d)) if (!NOT_KEPT.has(key)) out[key] = value;
  return {
    ...out,
    id: guild,
    channels: withIds(d.channels),
    threads: withIds(d.threads).map(bareThread).filter(isActive),
    roles: withIds(d.roles),
    members: (Array.isArray(d.members) ? d.members : []).filter(isObject).map(bareMember).filter(isBot),
  };
}

function upsertChannel(snapshot: GuildSnapshot, d: GuildObject): GuildSnapshot | undefined {
  if (typeof d.id !== 'string') return undefined;
  if (!THREAD_TYPES.has(d.type)) return replaceIn(snapshot, 'channels', d, idOf);
  const thread = bareThread(d);
  if (isActive(thread)) return replaceIn(snapshot, 'threads', thread, idOf);
  return removeFrom(snapshot, 'threads', (t) => t.id === d.id);
}

/** A deleted channel takes its threads with it. */
function removeChannel(snapshot: GuildSnapshot, id: unknown): GuildSnapshot | undefined {
  if (typeof id !== 'string') return undefined;
  const channels = snapshot.channels.filter((c) => c.id !== id);
  const threads = snapshot.threads.filter((t) => t.id !== id && t.parent_id !== id);
  if (channels.length === snapshot.channels.length && threads.length === snapshot.threads.length) return undefined;
  return { ...snapshot, channels, threads };
}

/**
 * THREAD_LIST_SYNC: the active threads of `channel_ids` (of the whole guild without it), sent
 * when the bot gains access to channels. Threads of those parents that it does not list are no
 * longer active (or visible).
 */
function syncThreads(snapshot: GuildSnapshot, d: GuildObject): GuildSnapshot | undefined {
  if (!Array.isArray(d.threads)) return undefined;
  const parents = Array.isArray(d.channel_ids) ? new Set(d.channel_ids) : undefined;
  const listed = withIds(d.threads).map(bareThread).filter(isActive);
  const listedIds = new Set(listed.map(idOf));
  const threads = snapshot.threads.filter((t) => listedIds.has(idOf(t)) || (parents !== undefined && !parents.has(t.parent_id)));
  let next: GuildSnapshot = { ...snapshot, threads };
  for (const thread of listed) next = replaceIn(next, 'threads', thread, idOf);
  return next;
}

type ListKey = 'channels' | 'threads' | 'roles' | 'members';

/** Replaces the entry with `item`'s key, or appends `item`. */
function replaceIn(snapshot: GuildSnapshot, key: ListKey, item: GuildObject, keyOf: (o: GuildObject) => unknown): GuildSnapshot {
  const k = keyOf(item);
  const list = snapshot[key];
  const at = list.findIndex((o) => keyOf(o) === k);
  const next = at === -1 ? [...list, item] : list.map((o, i) => (i === at ? item : o));
  return { ...snapshot, [key]: next };
}

function removeFrom(snapshot: GuildSnapshot, key: ListKey, drop: (o: GuildObject) => boolean): GuildSnapshot | undefined {
  const list = snapshot[key];
  const next = list.filter((o) => !drop(o));
  return next.length === list.length ? undefined : { ...snapshot, [key]: next };
}

function withIds(list: unknown): GuildObject[] {
  return Array.isArray(list) ? list.filter((o): o is GuildObject => isObject(o) && typeof o.id === 'string') : [];
}

/** THREAD_CREATE's `newly_created` describes the event, not the thread. */
function bareThread(thread: GuildObject): GuildObject {
  if (!('newly_created' in thread)) return thread;
  const { newly_created: _, ...rest } = thread;
  return rest;
}

/** A member as GUILD_CREATE lists it: the event's `guild_id` is not part of it. */
function bareMember(member: GuildObject): GuildObject {
  if (!('guild_id' in member)) return member;
  const { guild_id: _, ...rest } = member;
  return rest;
}

function isActive(thread: GuildObject): boolean {
  return !(isObject(thread.thread_metadata) && thread.thread_metadata.archived === true);
}

function isBot(member: GuildObject): boolean {
  return isObject(member.user) && member.user.bot === true && typeof member.user.id === 'string';
}

function idOf(o: GuildObject): string | undefined {
  return typeof o.id === 'string' ? o.id : undefined;
}

function userIdOf(o: GuildObject): string | undefined {
  return isObject(o.user) && typeof o.user.id === 'string' ? o.user.id : undefined;
}

function isObject(value: unknown): value is GuildObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
