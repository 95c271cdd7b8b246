import type { GuildSnapshot } from '../../core/discord/guild-state.ts';
import { applyBotSettingsPatch, DEFAULT_BOT_SETTINGS, type BotSettings, type BotSettingsStore, type HistoryQuery, type MessageStore, type StoredMessage } from '../../store/index.ts';

/** In-memory stand-ins for the api role's unit tests. */

/** A guild's stored snapshot with text channels `channels` and its @everyone role. */
export const snapshot = (id: string, channels: string[]): GuildSnapshot => ({
  id,
  name: `guild ${id}`,
  channels: channels.map((c) => ({ id: c, type: 0, name: `channel ${c}` })),
  threads: [],
  roles: [{ id, name: '@everyone', permissions: '0' }],
  members: [],
});

/** The store's read side in memory, with its page semantics: newest first, before/after/limit; counts its reads. */
export function memoryStore(rows: Record<string, { id: string; guild_id?: string }[]>) {
  const store = {
    reads: 0,
    async history(channelId: unknown, query: HistoryQuery = {}): Promise<readonly StoredMessage[]> {
      store.reads++;
      const all = [...(rows[String(channelId)] ?? [])].sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
      const page = all.filter((m) => (query.before === undefined || BigInt(m.id) < query.before) && (query.after === undefined || BigInt(m.id) > query.after));
      return page.slice(0, query.limit ?? 50).map((m) => ({ ...m, channel_id: String(channelId), content: 'hi' }) as unknown as StoredMessage);
    },
    async getMessage(channelId: unknown, messageId: unknown): Promise<StoredMessage | undefined> {
      store.reads++;
      const m = rows[String(channelId)]?.find((r) => r.id === String(messageId));
      return m && ({ ...m, channel_id: String(channelId), content: 'hi' } as unknown as StoredMessage);
    },
  };
  return store satisfies Pick<MessageStore, 'history' | 'getMessage'>;
}


/** The settings store's surface over a map, with the real patch rules. */
export function memorySettings() {
  const rows = new Map<string, BotSettings>();
  const store = {
    async get(guildId: string) {
      return rows.get(guildId) ?? DEFAULT_BOT_SETTINGS;
    },
    async update(guildId: string, patch: unknown) {
      const next = applyBotSettingsPatch(rows.get(guildId) ?? DEFAULT_BOT_SETTINGS, patch);
      rows.set(guildId, next);
      return next;
    },
  } satisfies Pick<BotSettingsStore, 'get' | 'update'>;
  return { ...store, rows };
}
