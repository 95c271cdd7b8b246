import { isGuildStateEvent, type GuildEvent } from '../core/discord/guild-state.ts';
import { EnvelopeError, parseEnvelope, type EventEnvelope } from '../core/events/envelope.ts';
import type { StateChange } from '../core/events/state-change.ts';
import type { DeadLetter } from '../core/kafka/dead-letter.ts';
import { PERSISTED_AT_HEADER, SOURCE_OFFSET_HEADER, TRACE_HEADER } from '../core/kafka/headers.ts';
import type { Headers } from '../core/kafka/types.ts';
import { StoreUnavailableError, StoreValidationError } from '../store/index.ts';
import type { ReplayCheck, ReplayFilter } from './dedupe.ts';
import { REPLAYED_FROM_HEADER } from './dlq.ts';
import { operationFor, waves, type StoreOperation } from './operations.ts';

/** The part of the store fanout writes through (store/index.ts implements it). */
export interface MessageSink {
  upsertMessages(messages: Record<string, unknown>[]): Promise<unknown>;
  applyEdits(edits: Record<string, unknown>[]): Promise<unknown>;
  deleteMessages(channelId: string, ids: string[]): Promise<unknown>;
}

/**
 * The guild-state writer next to it (store/index.ts `createGuildStateStore` implements it): applies
 * GUILD_* / CHANNEL_* / THREAD_* / ROLE_* / MEMBER_* events in order and names the guilds changed.
 * Same error contract as the sink: StoreValidationError with per-event failures, StoreUnavailableError.
 */
export interface GuildStateSink {
  applyGuildEvents(events: readonly GuildEvent[], options: { partitions: number }): Promise<readonly { guild_id: string; channel_ids: string[] }[]>;
}

export interface SourceRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Headers;
}

export interface Delivery {
  key: Buffer | null;
  value: Buffer;
  headers: Headers;
  event: EventEnvelope;
}

export interface ChunkOutcome {
  /** Persisted (or needing no write) events, in stream order: what goes on to the edge. */
  deliveries: Delivery[];
  deadLetters: DeadLetter[];
  replays: number;
  /** Events whose write succeeded, for metrics. */
  persisted: EventEnvelope[];
  /** One record per guild whose stored state the chunk changed, for `state-changes`. */
  stateChanges: StateChange[];
  /**
   * The gateway positions this chunk passed. They count as delivered only once the caller had
   * Kafka acknowledge the deliveries and calls `replays.accept(seen)`: a failed send leaves the
   * filter untouched, so the retried chunk is not mistaken for replays of itself.
   */
  seen: ReplayCheck;
}

export interface ChunkContext {
  topic: string;
  partition: number;
  sink: MessageSink;
  /**
   * Where guild-state events are applied, with the events topic's partition count (the store keeps
   * the guilds of each partition). Absent (benchmarks of the message path): they are only delivered.
   */
  guildState?: { sink: GuildStateSink; partitions: number };
  replays: ReplayFilter;
  /**
   * Called after a write failed for a reason worth retrying (the store is unavailable, or an
   * unexpected error below the limit). Waits (backoff, heartbeats) or throws to abandon the chunk.
   */
  beforeRetry(attempt: number, error: Error): Promise<void>;
  maxUnexpectedFailures: number;
}

interface Item {
  record: SourceRecord;
  event: EventEnvelope;
  op: StoreOperation;
  failed?: string;
  /** A guild-state event handed to the guild-state writer. */
  guildState?: boolean;
}

/**
 * Persists one chunk of a partition's records: parse, drop replays, write in order-preserving
 * waves, and return what to deliver and what to dead-letter. It never returns before every record
 * is either written, deliberately skipped, or dead-lettered, which is what lets the caller commit
 * the chunk's last offset afterwards.
 */
export async function persistChunk(records: SourceRecord[], ctx: ChunkContext): Promise<ChunkOutcome> {
  const deadLetters: DeadLetter[] = [];
  const items: Item[] = [];
  let replays = 0;
  const seen = ctx.replays.begin();
  for (const record of records) {
    let event: EventEnvelope;
    try {
      event = parseEnvelope(record.value);
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      deadLetters.push(letter(record, ctx, 'fanout.parse', err.message));
      continue;
    }
    // A dead letter an operator put back (`guildcast dlq replay`) is meant to be processed again.
    const operatorReplay = record.headers?.[REPLAYED_FROM_HEADER] !== undefined;
    if (!operatorReplay && seen.isReplay(event)) {
      replays++;
      continue;
    }
    items.push({ record, event, op: operationFor(event) });
  }

  for (const wave of waves(items)) await writeWave(wave, ctx);
  // After the messages, so a guild's state never runs ahead of its history; before the deliveries,
  // so an edge node that loads a guild from the store already has every event it was handed.
  const stateChanges = await writeGuildState(items, ctx);
  const persistedAt = String(Date.now());

  const persisted: EventEnvelope[] = [];
  const deliveries: Delivery[] = [];
  for (const item of items) {
    if (item.failed !== undefined) {
      deadLetters.push(letter(item.record, ctx, 'fanout.persist', item.failed, item.event.trace_id));
      continue;
    }
    if (item.op.kind !== 'none' || item.guildState) persisted.push(item.event);
    deliveries.push({
      key: item.record.key,
      value: item.record.value!,
      headers: { [SOURCE_OFFSET_HEADER]: item.record.offset, [TRACE_HEADER]: item.event.trace_id, [PERSISTED_AT_HEADER]: persistedAt },
      event: item.event,
    });
  }
  return { deliveries, deadLetters, replays, persisted, stateChanges, seen };
}

/** The chunk's guild-state events, in stream order, through the same retry and dead-letter rules as messages. */
async function writeGuildState(items: Item[], ctx: ChunkContext): Promise<StateChange[]> {
  const target = ctx.guildState;
  if (!target) return [];
  const batch = items.filter((item) => item.failed === undefined && isGuildStateEvent(item.event.type));
  if (batch.length === 0) return [];
  for (const item of batch) item.guildState = true;
  let changes: readonly { guild_id: string; channel_ids: string[] }[] = [];
  await writeWithRetry(batch, ctx, async (pending) => {
    changes = await target.sink.applyGuildEvents(pending.map((i) => i.event), { partitions: target.partitions });
  });
  const at = Date.now();
  return changes.flatMap(({ guild_id, channel_ids }): StateChange[] => {
    if (channel_ids.length === 0) return [{ v: 1, kind: 'guild', guild_id, at }];
    // A record names at most MAX_CHANNEL_IDS (core/events/state-change.ts); a guild replaced whole may name more.
    const records: StateChange[] = [];
    for (let i = 0; i < channel_ids.length; i += MAX_CHANNEL_IDS) records.push({ v: 1, kind: 'guild', guild_id, channel_ids: channel_ids.slice(i, i + MAX_CHANNEL_IDS), at });
    return records;
  });
}

const MAX_CHANNEL_IDS = 10_000;

async function writeWave(wave: Item[], ctx: ChunkContext): Promise<void> {
  const creates = wave.filter((i) => i.op.kind === 'create');
  const edits = wave.filter((i) => i.op.kind === 'edit');
  const deletes = wave.filter((i) => i.op.kind === 'delete');
  await Promise.all([
    creates.length > 0 &&
      writeWithRetry(creates, ctx, (batch) => ctx.sink.upsertMessages(batch.map((i) => (i.op as { message: Record<string, unknown> }).message))),
    edits.length > 0 &&
      writeWithRetry(edits, ctx, (batch) => ctx.sink.applyEdits(batch.map((i) => (i.op as { edit: Record<string, unknown> }).edit))),
    ...deletes.map((item) =>
      writeWithRetry([item], ctx, () => {
        const op = item.op as Extract<StoreOperation, { kind: 'delete' }>;
        return ctx.sink.deleteMessages(op.channelId, op.ids);
      }),
    ),
  ]);
}

/**
 * One sink call over `batch`, repeated until it succeeds: items the store rejects as invalid are
 * marked failed and left out of the next attempt; unavailability is retried for as long as the
 * caller lets it (`beforeRetry`); any other error is retried a bounded number of times and then
 * marks the whole batch failed, so a bug cannot wedge a partition forever.
 */
async function writeWithRetry(batch: Item[], ctx: ChunkContext, write: (batch: Item[]) => Promise<unknown>): Promise<void> {
  let pending = batch;
  let unexpected = 0;
  for (let attempt = 1; pending.length > 0; attempt++) {
    try {
      await write(pending);
      return;
    } catch (err) {
      if (err instanceof StoreValidationError) {
        const bad = new Map(err.failures.map((f) => [f.index, f.reason]));
        pending.forEach((item, index) => {
          if (bad.has(index)) item.failed = bad.get(index)!;
        });
        if (bad.size === 0) pending.forEach((item) => (item.failed = err.message));
        pending = pending.filter((item) => item.failed === undefined);
        continue;
      }
      if (!(err instanceof StoreUnavailableError) && ++unexpected >= ctx.maxUnexpectedFailures) {
        pending.forEach((item) => (item.failed = `store write failed ${unexpected} times: ${(err as Error).message}`));
        return;
      }
      await ctx.beforeRetry(attempt, err as Error);
    }
  }
}

function letter(record: SourceRecord, ctx: ChunkContext, stage: string, reason: string, traceId?: string): DeadLetter {
  return {
    stage,
    reason,
    key: record.key,
    value: record.value,
    source: { topic: ctx.topic, partition: ctx.partition, offset: record.offset },
    ...(traceId !== undefined ? { traceId } : {}),
    ...(record.headers ? { headers: record.headers } : {}),
  };
}
