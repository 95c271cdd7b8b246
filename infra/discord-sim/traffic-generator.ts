import type { SnowflakeGenerator } from '../../core/discord/snowflake.ts';
import type { TrafficEventType } from './index.ts';
import {
  MessageFactory,
  messageDeletePayload,
  presenceUpdatePayload,
  reactionAddPayload,
  typingStartPayload,
  type MessageRef,
} from './payloads.ts';
import { WeightedPicker, type Random } from './random.ts';
import type { SimGuild, World } from './world.ts';

/** Roughly what a busy bot sees per 100 dispatches. */
export const DEFAULT_MIX: Readonly<Record<TrafficEventType, number>> = {
  MESSAGE_CREATE: 55,
  MESSAGE_UPDATE: 8,
  MESSAGE_DELETE: 5,
  TYPING_START: 17,
  MESSAGE_REACTION_ADD: 10,
  PRESENCE_UPDATE: 5,
};

export const DEFAULT_CONTENT_BYTES = { min: 16, max: 512 };
/** Discord's own limit for message content (with Nitro). */
export const MAX_CONTENT_BYTES = 4000;
/** Updates, deletes and reactions pick among this many recent live messages of the channel. */
const RECENT_PER_CHANNEL = 32;
const WORDS = ['gg', 'the', 'raid', 'tonight', 'anyone', 'up', 'for', 'a', 'match', 'lol', 'patch', 'notes', 'are', 'out', 'brb', 'nice', 'clip', 'server', 'lag', 'again', 'who', 'is', 'streaming', 'ping', 'me', 'later'];

export interface GeneratedEvent {
  t: TrafficEventType;
  guild: SimGuild;
  channelId?: string;
  d: Record<string, unknown>;
}

export interface TrafficGeneratorOptions {
  world: World;
  random: Random;
  ids: SnowflakeGenerator;
  contentBytes?: { min: number; max: number };
  mix?: Partial<Record<TrafficEventType, number>>;
  now?: () => number;
}

/**
 * Decides what happens next: which guild and channel, which event type, and its payload. Pure
 * apart from the snowflake clock, so a seed reproduces the same conversation. Updates, deletes and
 * reactions always refer to a message created earlier in the same channel and not deleted since;
 * a channel with none yet gets a MESSAGE_CREATE instead.
 */
export class TrafficGenerator {
  private readonly world: World;
  private readonly random: Random;
  private readonly messages: MessageFactory;
  private readonly types: WeightedPicker<TrafficEventType>;
  private readonly content: ContentSource;
  private readonly now: () => number;
  private readonly recent = new Map<string, MessageRef[]>();

  constructor({ world, random, ids, contentBytes = DEFAULT_CONTENT_BYTES, mix = DEFAULT_MIX, now = Date.now }: TrafficGeneratorOptions) {
    this.world = world;
    this.random = random;
    this.messages = new MessageFactory(ids);
    for (const type of Object.keys(mix)) {
      if (!(type in DEFAULT_MIX)) throw new RangeError(`unknown event type in mix: ${type} (known: ${Object.keys(DEFAULT_MIX).join(', ')})`);
    }
    this.types = new WeightedPicker(Object.entries(mix) as [TrafficEventType, number][]);
    this.content = new ContentSource(random, contentBytes);
    this.now = now;
  }

  /** The next event for a guild on one of `liveShards`; undefined when no shard can take one. */
  next(liveShards: readonly number[]): GeneratedEvent | undefined {
    const guild = this.pickGuild(liveShards);
    if (!guild) return undefined;
    const { random } = this;
    const channel = random.pick(guild.channels);
    const user = random.pick(guild.members);
    const type = this.types.pick(random);

    if (type === 'PRESENCE_UPDATE') return { t: type, guild, d: presenceUpdatePayload(guild, user, random.int(0, 3)) };
    if (type === 'TYPING_START') return { t: type, guild, channelId: channel.id, d: typingStartPayload(guild, channel, user, this.now()) };

    const recent = this.recent.get(channel.id);
    if (type === 'MESSAGE_CREATE' || !recent || recent.length === 0) {
      const d = this.messages.create(guild, channel, user, this.content.next());
      this.remember(channel.id, { id: d.id, authorId: user.id });
      return { t: 'MESSAGE_CREATE', guild, channelId: channel.id, d };
    }
    const index = random.int(0, recent.length - 1);
    const target = recent[index]!;
    switch (type) {
      case 'MESSAGE_UPDATE': {
        const author = guild.members.find((m) => m.id === target.authorId) ?? user;
        return { t: type, guild, channelId: channel.id, d: this.messages.update(guild, channel, target, author, this.content.next()) };
      }
      case 'MESSAGE_DELETE':
        recent.splice(index, 1);
        return { t: type, guild, channelId: channel.id, d: messageDeletePayload(guild, channel, target) };
      case 'MESSAGE_REACTION_ADD':
        return { t: type, guild, channelId: channel.id, d: reactionAddPayload(guild, channel, target, user, random.int(0, 5)) };
    }
  }

  private pickGuild(liveShards: readonly number[]): SimGuild | undefined {
    const shards = liveShards.filter((s) => this.world.guildsByShard[s]!.length > 0);
    if (shards.length === 0) return undefined;
    return this.random.pick(this.world.guildsByShard[this.random.pick(shards)]!);
  }

  private remember(channelId: string, message: MessageRef): void {
    let recent = this.recent.get(channelId);
    if (!recent) this.recent.set(channelId, (recent = []));
    recent.push(message);
    if (recent.length > RECENT_PER_CHANNEL) recent.shift();
  }
}

/** Message texts of random length cut from one pre-built ASCII corpus (so bytes equal characters). */
class ContentSource {
  private readonly corpus: string;

  constructor(
    private readonly random: Random,
    private readonly bytes: { min: number; max: number },
  ) {
    const { min, max } = bytes;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || min > max || max > MAX_CONTENT_BYTES) {
      throw new RangeError(`contentBytes must be integers with 0 <= min <= max <= ${MAX_CONTENT_BYTES}, got ${JSON.stringify(bytes)}`);
    }
    const words: string[] = [];
    let length = 0;
    while (length < 4 * MAX_CONTENT_BYTES) {
      const word = random.pick(WORDS);
      words.push(word);
      length += word.length + 1;
    }
    this.corpus = words.join(' ');
  }

  next(): string {
    const length = this.random.int(this.bytes.min, this.bytes.max);
    const start = this.random.int(0, this.corpus.length - length);
    return this.corpus.slice(start, start + length);
  }
}
