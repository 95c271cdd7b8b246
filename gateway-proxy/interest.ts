import type { Logger } from '../core/logger.ts';
import type { DeliverySource } from './delivery-source.ts';
import { readsPartition } from './partition-scope.ts';
import type { AccessGrant } from './tokens.ts';

/** The edge's guild state per partition read (EdgeGuildState): loaded when a partition starts being read, dropped when it stops. */
export interface PartitionGuildState {
  loadPartition(partition: number, partitions: number): Promise<void>;
  dropPartition(partition: number, partitions: number): void;
}

/** What decides a session's partitions. */
export interface InterestScope {
  grant: AccessGrant;
  shard: readonly [number, number];
}

/** A session's hold on its partitions, from IDENTIFY/RESUME until it is forgotten. */
export interface InterestLease {
  /** The partitions the session reads, ascending. */
  readonly partitions: readonly number[];
  /** Idempotent. */
  release(): void;
}

interface Entry {
  count: number;
  /** Settles once the partition is read and its guild state loaded. */
  ready: Promise<void>;
  failed: boolean;
}

const RESOLVED = Promise.resolve();

/**
 * Which partitions of the feed this node's sessions need (`readsPartition`), counted per session:
 * the first session of a partition makes the source read it (`want`) and loads the partition's
 * guild state; the last one leaving releases it and drops that state. Starting and stopping one
 * partition are chained, so a release never overtakes the want it undoes and a partition wanted
 * again right after its release is loaded again after the drop, not before it.
 */
export class SessionInterest {
  private readonly entries = new Map<number, Entry>();
  private readonly tails = new Map<number, Promise<void>>();

  constructor(
    private readonly source: Pick<DeliverySource, 'want' | 'release' | 'partitionCount'> | undefined,
    private readonly guilds: PartitionGuildState,
    private readonly logger: Logger,
  ) {}

  /** Partitions of the feed (0 without a feed). */
  get partitionCount(): number {
    return this.source?.partitionCount() ?? 0;
  }

  partitionsOf(scope: InterestScope): number[] {
    const count = this.partitionCount;
    const out: number[] = [];
    for (let p = 0; p < count; p++) if (readsPartition(scope, p, count)) out.push(p);
    return out;
  }

  /** Partitions read now (some session holds them), ascending. */
  read(): number[] {
    return [...this.entries.keys()].sort((a, b) => a - b);
  }

  /** Holds `scope`'s partitions; resolves once each is read and its guild state loaded (rejects, holding nothing, if one cannot be). */
  async acquire(scope: InterestScope): Promise<InterestLease> {
    const partitions = this.partitionsOf(scope);
    const held: [number, Entry][] = [];
    for (const partition of partitions) {
      let entry = this.entries.get(partition);
      if (!entry) entry = this.start(partition);
      entry.count++;
      held.push([partition, entry]);
    }
    let released = false;
    const lease: InterestLease = {
      partitions,
      release: () => {
        if (released) return;
        released = true;
        for (const [partition, entry] of held) this.leave(partition, entry);
      },
    };
    try {
      await Promise.all(held.map(([, entry]) => entry.ready));
    } catch (err) {
      lease.release();
      throw err;
    }
    return lease;
  }

  private start(partition: number): Entry {
    const count = this.partitionCount;
    const entry: Entry = { count: 0, failed: false, ready: RESOLVED };
    entry.ready = this.chain(partition, async () => {
      await this.source?.want([partition]);
      await this.guilds.loadPartition(partition, count);
    });
    entry.ready.catch((err: unknown) => {
      // The next session of the partition starts over instead of inheriting the failure.
      entry.failed = true;
      if (this.entries.get(partition) === entry) this.entries.delete(partition);
      this.logger.warn({ err, partition }, 'could not start reading a partition a session needs');
    });
    this.entries.set(partition, entry);
    return entry;
  }

  private leave(partition: number, entry: Entry): void {
    if (--entry.count > 0) return;
    if (this.entries.get(partition) === entry) this.entries.delete(partition);
    const count = this.partitionCount;
    void this.chain(partition, async () => {
      await entry.ready.catch(() => {});
      // A want that failed left nothing to undo (a partial one is undone by the source's count).
      if (entry.failed) return;
      this.source?.release([partition]);
      this.guilds.dropPartition(partition, count);
    }).catch((err: unknown) => this.logger.warn({ err, partition }, 'could not stop reading a partition no session needs'));
  }

  private chain(partition: number, step: () => Promise<void>): Promise<void> {
    const next = (this.tails.get(partition) ?? RESOLVED).then(step);
    const tail = next.catch(() => {});
    this.tails.set(partition, tail);
    void tail.then(() => {
      if (this.tails.get(partition) === tail) this.tails.delete(partition);
    });
    return next;
  }
}
