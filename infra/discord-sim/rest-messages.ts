import { discordError, invalidFormBody, RESTJSONErrorCodes, type DiscordErrorBody } from '../../core/discord/rest-errors.ts';
import { timestampOf, type SnowflakeGenerator } from '../../core/discord/snowflake.ts';
import type { RestLimits } from './rest-limits.ts';
import { MessageFactory } from './payloads.ts';
import type { SimChannel, SimGuild, World } from './world.ts';

/**
 * The message routes a bot acts through, as Discord answers them: create, edit, delete and bulk
 * delete in the world's channels, each behind its rate-limit bucket (`rest-limits.ts`), each
 * going out on the gateway as Discord's dispatch (MESSAGE_CREATE, MESSAGE_UPDATE, MESSAGE_DELETE,
 * MESSAGE_DELETE_BULK) to the shard of the channel's guild. Only messages made through these
 * routes can be edited or deleted here; the traffic generator's are not kept.
 */
export interface MessageRoutesHost {
  world: World;
  ids: SnowflakeGenerator;
  limits: RestLimits;
  /** Queues a dispatch to the guild's shard; a shard nobody identified on gets nothing, as on Discord. */
  emit(t: string, d: Record<string, unknown>, guild: SimGuild): void;
}

export interface RestAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type Message = ReturnType<MessageFactory['create']>;
/** Discord's limit without Nitro, and bulk delete's bounds. */
const MAX_CONTENT = 2000;
const BULK_MIN = 2;
const BULK_MAX = 100;

type Action = 'create' | 'bulkDelete' | 'edit' | 'remove';

const ROUTES: readonly { method: string; pattern: RegExp; hash: string; run: Action }[] = [
  { method: 'POST', pattern: /^\/api\/v10\/channels\/(\d+)\/messages$/, hash: 'sim-message-create', run: 'create' },
  { method: 'POST', pattern: /^\/api\/v10\/channels\/(\d+)\/messages\/bulk-delete$/, hash: 'sim-message-bulk-delete', run: 'bulkDelete' },
  { method: 'PATCH', pattern: /^\/api\/v10\/channels\/(\d+)\/messages\/(\d+)$/, hash: 'sim-message-edit', run: 'edit' },
  { method: 'DELETE', pattern: /^\/api\/v10\/channels\/(\d+)\/messages\/(\d+)$/, hash: 'sim-message-delete', run: 'remove' },
];

export class MessageRoutes {
  private readonly factory: MessageFactory;
  private readonly channels = new Map<string, { guild: SimGuild; channel: SimChannel }>();
  private readonly messages = new Map<string, Message>();

  constructor(private readonly host: MessageRoutesHost) {
    this.factory = new MessageFactory(host.ids);
    for (const guild of host.world.guilds) for (const channel of guild.channels) this.channels.set(channel.id, { guild, channel });
  }

  /** Whether `path` is one of these routes (whatever the method), so the caller can answer 405 for the rest. */
  matches(path: string): boolean {
    return ROUTES.some((r) => r.pattern.test(path));
  }

  /** Answers an authenticated request; `body` is the parsed JSON (undefined when there was none). */
  handle(method: string, path: string, body: unknown): RestAnswer {
    const route = ROUTES.find((r) => r.method === method && r.pattern.test(path));
    if (!route) return { status: 405, body: discordError(RESTJSONErrorCodes.GeneralError, '405: Method Not Allowed') };
    const [, channelId = '', messageId] = route.pattern.exec(path)!;
    const verdict = this.host.limits.decide(route.hash, `channels/${channelId}`);
    if (!verdict.ok) return { status: 429, body: verdict.body, headers: verdict.headers };
    const answer = this.run(route.run, channelId, messageId, body);
    return { ...answer, headers: { ...verdict.headers, ...answer.headers } };
  }

  private run(action: Action, channelId: string, messageId: string | undefined, body: unknown): RestAnswer {
    switch (action) {
      case 'create':
        return this.create(channelId, body);
      case 'edit':
        return this.edit(channelId, messageId, body);
      case 'remove':
        return this.remove(channelId, messageId);
      case 'bulkDelete':
        return this.bulkDelete(channelId, body);
    }
  }

  private target(channelId: string): { guild: SimGuild; channel: SimChannel } | RestAnswer {
    return this.channels.get(channelId) ?? { status: 404, body: discordError(RESTJSONErrorCodes.UnknownChannel) };
  }

  private create(channelId: string, body: unknown): RestAnswer {
    const target = this.target(channelId);
    if ('status' in target) return target;
    const problem = checkContent(body, true);
    if (problem) return { status: 400, body: problem };
    const { content = '', nonce } = body as { content?: string; nonce?: string | number };
    const message: Message = this.factory.create(target.guild, target.channel, this.host.world.bot, content);
    if (nonce !== undefined) message.nonce = String(nonce);
    else delete (message as Partial<Message>).nonce;
    this.messages.set(message.id, message);
    this.host.emit('MESSAGE_CREATE', message, target.guild);
    return { status: 200, body: message };
  }

  private edit(channelId: string, messageId: string | undefined, body: unknown): RestAnswer {
    const target = this.target(channelId);
    if ('status' in target) return target;
    const message = this.messages.get(messageId!);
    if (!message || message.channel_id !== channelId) return { status: 404, body: discordError(RESTJSONErrorCodes.UnknownMessage) };
    const problem = checkContent(body, false);
    if (problem) return { status: 400, body: problem };
    const { content } = body as { content?: string };
    if (content !== undefined) message.content = content;
    message.edited_timestamp = new Date(timestampOf(this.host.ids.next())).toISOString();
    this.host.emit('MESSAGE_UPDATE', message, target.guild);
    return { status: 200, body: message };
  }

  private remove(channelId: string, messageId: string | undefined): RestAnswer {
    const target = this.target(channelId);
    if ('status' in target) return target;
    const message = this.messages.get(messageId!);
    if (!message || message.channel_id !== channelId) return { status: 404, body: discordError(RESTJSONErrorCodes.UnknownMessage) };
    this.messages.delete(message.id);
    this.host.emit('MESSAGE_DELETE', { id: message.id, channel_id: channelId, guild_id: target.guild.id }, target.guild);
    return { status: 204 };
  }

  private bulkDelete(channelId: string, body: unknown): RestAnswer {
    const target = this.target(channelId);
    if ('status' in target) return target;
    const ids = (body as { messages?: unknown } | undefined)?.messages;
    if (!Array.isArray(ids) || ids.length < BULK_MIN || ids.length > BULK_MAX || !ids.every((id) => typeof id === 'string' && /^\d{1,20}$/.test(id))) {
      return { status: 400, body: invalidFormBody([{ path: ['messages'], code: 'BASE_TYPE_BAD_LENGTH', message: `Must be between ${BULK_MIN} and ${BULK_MAX} in length.` }]) };
    }
    const deleted = (ids as string[]).filter((id) => this.messages.get(id)?.channel_id === channelId);
    for (const id of deleted) this.messages.delete(id);
    if (deleted.length > 0) this.host.emit('MESSAGE_DELETE_BULK', { ids: deleted, channel_id: channelId, guild_id: target.guild.id }, target.guild);
    return { status: 204 };
  }
}

/** Discord's checks on a message body: an object, content a string of at most 2000, and (to create) content or embeds. */
function checkContent(body: unknown, creating: boolean): DiscordErrorBody | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return invalidFormBody([{ path: ['_root'], code: 'DICT_TYPE_CONVERT', message: 'Only dictionaries may be used in a DictType' }]);
  const { content, embeds } = body as { content?: unknown; embeds?: unknown };
  if (content !== undefined && typeof content !== 'string') return invalidFormBody([{ path: ['content'], code: 'BASE_TYPE_STRING', message: 'Must be a string.' }]);
  if (typeof content === 'string' && content.length > MAX_CONTENT) {
    return invalidFormBody([{ path: ['content'], code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${MAX_CONTENT} or fewer in length.` }]);
  }
  const hasEmbeds = Array.isArray(embeds) && embeds.length > 0;
  if (creating && !content && !hasEmbeds) return discordError(RESTJSONErrorCodes.CannotSendAnEmptyMessage);
  return undefined;
}
