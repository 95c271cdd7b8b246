import { z } from 'zod';
import { snowflakeString } from '../discord/snowflake.ts';
import { parseJsonRecord } from './json-record.ts';

/**
 * A record on the `state-changes` topic (key: the guild id): something about one guild changed in
 * the store. Processes that cache guild state or the bot's settings drop the entry when they read
 * it; the record carries no state itself, so a reader always re-reads the store, which is the truth.
 * Written only after the store acknowledged the change.
 */
export const stateChangeSchema = z.object({
  v: z.literal(1),
  /** `guild`: the guild state (fanout, from GUILD_*, CHANNEL_*, THREAD_*, ROLE_* events); `settings`: the bot's settings. */
  kind: z.enum(['guild', 'settings']),
  guild_id: snowflakeString(),
  /** Channels (and threads) the change added to or removed from the guild: readers drop their channel → guild entries. */
  channel_ids: z.array(snowflakeString()).max(10_000).optional(),
  /** Unix ms when the store acknowledged the change. */
  at: z.number().int().nonnegative(),
});

export type StateChange = z.infer<typeof stateChangeSchema>;

export class StateChangeError extends Error {
  override name = 'StateChangeError';
}

/** Parses a record value; throws StateChangeError with a reason fit for a dead-letter header. */
export function parseStateChange(value: Buffer | string | null | undefined): StateChange {
  return parseJsonRecord(value, stateChangeSchema, 'state change', (reason) => new StateChangeError(reason));
}

/** The record for `change`: keyed by guild, so one guild's changes stay in order. */
export function stateChangeRecord(change: StateChange): { key: string; value: string } {
  return { key: change.guild_id, value: JSON.stringify(change) };
}
