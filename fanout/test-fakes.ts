import { applyGuildEvent, changedChannelIds, guildEventProblem, guildIdOf, isGuildStateEvent, type GuildEvent, type GuildSnapshot } from '../core/discord/guild-state.ts';
import { StoreValidationError } from '../store/index.ts';
import type { GuildStateSink, MessageSink } from './persist-chunk.ts';

/** In-memory implementations of fanout's own interfaces, for unit tests. */

/** An in-memory store that logs calls and fails on demand. */
export class FakeSink implements MessageSink {
  calls: string[] = [];
  failures: Error[] = [];
  invalidIds = new Set<string>();
  rows = new Map<string, string>();
  private next(): void {
    const failure = this.failures.shift();
    if (failure) throw failure;
  }
  async upsertMessages(messages: Record<string, unknown>[]) {
    this.calls.push(`create ${messages.map((m) => m.id).join(',')}`);
    this.next();
    const bad = messages.flatMap((m, index) => (this.invalidIds.has(String(m.id)) || m.id === undefined ? [{ index, reason: `bad ${String(m.id)}` }] : []));
    if (bad.length > 0) throw new StoreValidationError(bad);
    for (const m of messages) this.rows.set(String(m.id), String(m.content));
  }
  async applyEdits(edits: Record<string, unknown>[]) {
    this.calls.push(`edit ${edits.map((m) => m.id).join(',')}`);
    this.next();
    for (const m of edits) if (this.rows.has(String(m.id))) this.rows.set(String(m.id), String(m.content));
  }
  async deleteMessages(_channel: string, ids: string[]) {
    this.calls.push(`delete ${ids.join(',')}`);
    this.next();
    for (const id of ids) this.rows.delete(id);
  }
}


/**
 * An in-memory guild-state writer over the real reducer: snapshots by guild, a call log shared
 * with a FakeSink (so tests see the order of message and state writes), failures on demand.
 */
export class FakeGuildState implements GuildStateSink {
  guilds = new Map<string, GuildSnapshot>();
  failures: Error[] = [];
  constructor(readonly calls: string[] = []) {}
  async applyGuildEvents(events: readonly GuildEvent[], _options: { partitions: number }) {
    this.calls.push(`state ${events.map((e) => e.type).join(',')}`);
    const failure = this.failures.shift();
    if (failure) throw failure;
    const bad = events.flatMap((event, index) => {
      const reason = isGuildStateEvent(event.type) ? guildEventProblem(event) : undefined;
      return reason === undefined ? [] : [{ index, reason }];
    });
    if (bad.length > 0) throw new StoreValidationError(bad);
    const changes = new Map<string, string[]>();
    for (const event of events) {
      const guild = guildIdOf(event)!;
      const before = this.guilds.get(guild);
      const after = applyGuildEvent(before, event);
      if (after === undefined) continue;
      if (after === null) this.guilds.delete(guild);
      else this.guilds.set(guild, after);
      changes.set(guild, [...new Set([...(changes.get(guild) ?? []), ...changedChannelIds(before, after)])]);
    }
    return [...changes].map(([guild_id, channel_ids]) => ({ guild_id, channel_ids }));
  }
}
