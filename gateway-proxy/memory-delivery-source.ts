import { routingKey, type EventEnvelope } from '../core/events/envelope.ts';
import { partitionForKey } from '../core/events/partition.ts';
import { DEFAULT_FEED_LOOKBACK, ReplayGoneError, type DeliveryLoss, type DeliverySource, type DeliveryTarget, type FeedOrigin, type FeedPosition } from './delivery-source.ts';
import { checkFeedPartitions, checkReplayRange, Interest, type PendingReplay } from './feed-interest.ts';

export interface MemoryDeliverySourceOptions {
  /** Partitions of the feed; default 12 (KAFKA_EVENT_PARTITIONS' default). */
  partitions?: number;
  /** Records before a partition's end whose source offsets count as passed when it starts being read (EDGE_FEED_LOOKBACK). */
  lookback?: number;
}

export interface PushOptions {
  /** Default: the event's routing key placed as fanout places it (partitionForKey). */
  partition?: number;
  /** The record's `x-guildcast-source-offset`; default one above the highest pushed on the partition. At or below one already passed: a redelivery (dropped). */
  sourceOffset?: bigint;
}

/** One record of a partition's log: an envelope, or (undefined) a record that is not one. */
interface LogRecord {
  event: EventEnvelope | undefined;
  sourceOffset: bigint;
}

interface PartitionLog {
  /** Offset of records[0]: records below it were trimmed (retention, deleted records). */
  start: bigint;
  records: LogRecord[];
  /** Highest source offset pushed, for the default of the next one. */
  lastSource: bigint;
}

interface Reading extends FeedPosition {}


/**
 * A feed tests and benchmarks push events into, with no broker. It keeps a log per partition as
 * Kafka would (offsets, source offsets, a log start that `trim` raises), so `want`/`release`,
 * `positions` and `replay` behave as the Kafka source's: a partition nobody wants hands nothing to
 * the edge, but its log still grows; the first `want` starts at the then-end.
 *
 * `push` appends a record and hands the partition's unhandled records to the edge at once if it is
 * read; it throws what the edge's handler threw, and (as a real source offers it again) the record
 * stays unhandled and comes first on the next push or `flush`. `lose` reports lost deliveries (op 9
 * to the sessions that needed them), `fail` makes the source report a problem or end fatally.
 */
export class MemoryDeliverySource implements DeliverySource {
  private target: DeliveryTarget | undefined;
  private trouble: string | undefined;
  private stopped = false;
  private readonly count: number;
  private readonly logs: PartitionLog[];
  private readonly interest: Interest;
  /** Positions of the partitions being read. */
  private readonly reading = new Map<number, Reading>();
  private readonly replays = new Set<PendingReplay>();
  private readonly lookback: number;

  constructor({ partitions = 12, lookback = DEFAULT_FEED_LOOKBACK }: MemoryDeliverySourceOptions = {}) {
    if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
    this.count = partitions;
    this.lookback = lookback;
    this.logs = Array.from({ length: partitions }, () => ({ start: 0n, records: [], lastSource: -1n }));
    this.interest = new Interest(partitions);
  }

  async start(target: DeliveryTarget): Promise<void> {
    this.target = target;
  }

  async ready(): Promise<void> {}

  problem(): string | undefined {
    if (this.stopped) return 'the memory feed stopped';
    return this.target ? this.trouble : 'not started';
  }

  partitionCount(): number {
    return this.count;
  }

  async want(partitions: readonly number[]): Promise<Map<number, FeedPosition>> {
    if (this.stopped) throw new Error('the memory feed stopped');
    for (const partition of this.interest.want(partitions)) this.reading.set(partition, { offset: this.end(partition), passed: this.passedAtEnd(partition) });
    return this.positions(partitions);
  }

  release(partitions: readonly number[]): void {
    for (const partition of this.interest.release(partitions)) this.reading.delete(partition);
  }

  positions(partitions: readonly number[]): Map<number, FeedPosition> {
    checkFeedPartitions(partitions, this.count);
    const out = new Map<number, FeedPosition>();
    for (const partition of partitions) {
      const reading = this.reading.get(partition);
      if (reading) out.set(partition, { offset: reading.offset, passed: reading.passed });
    }
    return out;
  }

  replay(partition: number, from: FeedPosition, to: bigint, onEvent: (event: EventEnvelope, origin: FeedOrigin) => void): Promise<bigint> {
    return new Promise<bigint>((resolve, reject) => {
      checkReplayRange(partition, from, to, this.count);
      if (this.stopped) throw new Error('the memory feed stopped');
      const log = this.logs[partition]!;
      if (from.offset < log.start) throw new ReplayGoneError(`partition ${partition}: offset ${from.offset} is below the log start ${log.start}`);
      const replay: PendingReplay = { partition, next: from.offset, passed: from.passed, to, onEvent, resolve, reject };
      // Served after this call returns, as the Kafka source's would be.
      queueMicrotask(() => {
        this.replays.add(replay);
        this.serveReplay(replay);
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.target = undefined;
    for (const replay of this.replays) replay.reject(new Error('the memory feed stopped'));
    this.replays.clear();
  }

  /**
   * Appends `event` to its partition's log; if the partition is read, hands the edge every record
   * not yet handled there. Throws what the edge's handler threw (the record is offered again later).
   * Returns the record's place in the log.
   */
  push(event: EventEnvelope, options: PushOptions = {}): FeedOrigin {
    return this.append(event, options);
  }

  /** Appends a record that is not a valid envelope (the Kafka source dead-letters those; here it is only skipped). */
  pushInvalid(options: PushOptions = {}): FeedOrigin {
    return this.append(undefined, options);
  }

  /** Offers the read partitions' unhandled records again (after a handler threw). */
  flush(): void {
    for (const partition of this.reading.keys()) this.deliver(partition);
  }

  /** Drops the records of `partition` below `offset`, as retention or deleteRecords would: replays from below it fail. */
  trim(partition: number, offset: bigint): void {
    checkFeedPartitions([partition], this.count);
    const log = this.logs[partition]!;
    const bounded = offset > this.end(partition) ? this.end(partition) : offset;
    if (bounded <= log.start) return;
    log.records.splice(0, Number(bounded - log.start));
    log.start = bounded;
    const reading = this.reading.get(partition);
    if (reading && reading.offset < bounded) {
      const records = bounded - reading.offset;
      reading.offset = bounded;
      this.target?.onLoss({ partition, partitions: this.count, records });
    }
  }

  /** The partition's log start and end (the next offset). */
  bounds(partition: number): { start: bigint; end: bigint } {
    checkFeedPartitions([partition], this.count);
    return { start: this.logs[partition]!.start, end: this.end(partition) };
  }

  lose(loss: DeliveryLoss): void {
    if (!this.target) throw new Error('the memory feed is not started (or stopped)');
    this.target.onLoss(loss);
  }

  /** Sets (or with undefined clears) the readiness problem; `fatal` also ends the feed through onFatal. */
  fail(problem: string | undefined, { fatal = false } = {}): void {
    this.trouble = problem;
    if (fatal && this.target) this.target.onFatal(new Error(problem ?? 'memory feed failed'));
  }

  private append(event: EventEnvelope | undefined, options: PushOptions): FeedOrigin {
    if (!this.target) throw new Error('the memory feed is not started (or stopped)');
    const key = event ? routingKey(event) : undefined;
    const partition = options.partition ?? partitionForKey(key, this.count);
    checkFeedPartitions([partition], this.count);
    const log = this.logs[partition]!;
    const sourceOffset = options.sourceOffset ?? log.lastSource + 1n;
    if (sourceOffset < 0n) throw new RangeError(`sourceOffset must not be negative, got ${sourceOffset}`);
    if (sourceOffset > log.lastSource) log.lastSource = sourceOffset;
    const offset = this.end(partition);
    log.records.push({ event, sourceOffset });
    for (const replay of this.replays) if (replay.partition === partition) this.serveReplay(replay);
    this.deliver(partition);
    return { partition, offset, sourceOffset };
  }

  /** The highest source offset among the lookback's records before the end, as the Kafka source reads them on a start. */
  private passedAtEnd(partition: number): bigint {
    const records = this.logs[partition]!.records;
    let passed = -1n;
    for (let i = Math.max(0, records.length - this.lookback); i < records.length; i++) if (records[i]!.sourceOffset > passed) passed = records[i]!.sourceOffset;
    return passed;
  }

  private end(partition: number): bigint {
    const log = this.logs[partition]!;
    return log.start + BigInt(log.records.length);
  }

  private record(partition: number, offset: bigint): LogRecord | undefined {
    const log = this.logs[partition]!;
    return log.records[Number(offset - log.start)];
  }

  /** Hands the edge the partition's records from its position on; stops at (and rethrows) a handler's throw. */
  private deliver(partition: number): void {
    const reading = this.reading.get(partition);
    const target = this.target;
    if (!reading || !target) return;
    for (let record = this.record(partition, reading.offset); record; record = this.record(partition, reading.offset)) {
      const offset = reading.offset;
      const before = reading.passed;
      reading.offset += 1n;
      if (record.sourceOffset <= before) continue;
      reading.passed = record.sourceOffset;
      if (!record.event) continue;
      try {
        // Counted as handled while its handler runs (positions() from inside it includes it), as the Kafka source does.
        target.onEvent(record.event, { partition, offset, sourceOffset: record.sourceOffset });
      } catch (err) {
        // Offered again later, unless the handler released the partition.
        if (this.reading.get(partition) === reading) {
          reading.offset = offset;
          reading.passed = before;
        }
        throw err;
      }
    }
  }

  private serveReplay(replay: PendingReplay): void {
    if (!this.replays.has(replay)) return;
    try {
      const start = this.logs[replay.partition]!.start;
      if (replay.next < start) throw new ReplayGoneError(`partition ${replay.partition}: offset ${replay.next} is below the log start ${start}`);
      while (replay.next < replay.to) {
        const record = this.record(replay.partition, replay.next);
        if (!record) return; // waits for pushes up to `to`
        if (record.sourceOffset > replay.passed) {
          if (record.event) replay.onEvent(record.event, { partition: replay.partition, offset: replay.next, sourceOffset: record.sourceOffset });
          replay.passed = record.sourceOffset;
        }
        replay.next += 1n;
      }
      this.replays.delete(replay);
      replay.resolve(replay.passed);
    } catch (err) {
      this.replays.delete(replay);
      replay.reject(err as Error);
    }
  }
}
