import type { EventEnvelope } from '../core/events/envelope.ts';

/** The newest session a shard delivered on one partition, and the highest seq of it delivered. */
interface Position {
  session: string;
  seq: number;
}

/**
 * Drops gateway events a partition has already delivered. Ingest is at least once: after a restart
 * it RESUMEs from its last checkpoint and the gateway replays what followed, with the same
 * `gw:<shard>:<session>:<seq>` id at new offsets. Within one partition a session's events arrive in
 * sequence order (ingest has one request in flight and retries it before sending anything later),
 * so "same session, seq at or below the highest delivered" identifies a replay.
 *
 * Per partition, per shard, only the newest session is kept: a shard's next session starts after
 * the previous one ended, and the gateway replays only the session it resumes.
 *
 * An event counts as delivered only once `accept` is called for the check that passed it, which
 * the consumer does after Kafka acknowledged the chunk's deliveries: a failed send leaves the
 * filter as it was, so the retried chunk is delivered in full. The state travels with the
 * partition's committed offset (`toMetadata` / `fromMetadata`), so a restarted or new owner knows
 * exactly what was delivered up to the offset it starts from.
 */
export class ReplayFilter {
  /** Shard → position; Map order is least recently advanced first. */
  private readonly positions = new Map<number, Position>();

  constructor(private readonly maxShards = 10_000) {}

  /** A chunk's check: answers as if everything it passed were delivered, and records nothing here until `accept`. */
  begin(): ReplayCheck {
    return new ReplayCheck(this.positions);
  }

  accept(check: ReplayCheck): void {
    for (const [shard, position] of check.passed) {
      this.positions.delete(shard); // re-insert: most recently advanced last
      this.positions.set(shard, position);
    }
    while (this.positions.size > this.maxShards) this.positions.delete(this.positions.keys().next().value!);
  }

  get shards(): number {
    return this.positions.size;
  }

  /**
   * The state as offset-commit metadata, newest shards first, within `maxBytes` (the broker's
   * `offset.metadata.max.bytes`, 4096 by default, refuses the whole commit beyond it). `omitted`
   * shards lose their protection across a restart: their replays would be delivered again.
   */
  toMetadata(maxBytes: number): { metadata: string; omitted: number } {
    const entries = [...this.positions].reverse();
    let kept: string[] = [];
    let bytes = METADATA_PREFIX.length + 2;
    for (const [shard, { session, seq }] of entries) {
      const entry = JSON.stringify([shard, seq, session]);
      const add = Buffer.byteLength(entry) + (kept.length > 0 ? 1 : 0);
      if (bytes + add > maxBytes) break;
      kept.push(entry);
      bytes += add;
    }
    const omitted = entries.length - kept.length;
    kept = kept.reverse();
    return { metadata: `${METADATA_PREFIX}[${kept.join(',')}]`, omitted };
  }

  /** Rebuilds a partition's filter from its committed metadata; anything else (none, a rewind's empty one) starts empty. */
  static fromMetadata(metadata: string | null | undefined, maxShards?: number): { filter: ReplayFilter; valid: boolean } {
    const filter = new ReplayFilter(maxShards);
    if (!metadata) return { filter, valid: true };
    if (!metadata.startsWith(METADATA_PREFIX)) return { filter, valid: false };
    try {
      const entries = JSON.parse(metadata.slice(METADATA_PREFIX.length)) as unknown;
      if (!Array.isArray(entries)) return { filter, valid: false };
      for (const e of entries) {
        if (!Array.isArray(e) || !Number.isInteger(e[0]) || !Number.isInteger(e[1]) || typeof e[2] !== 'string') return { filter: new ReplayFilter(maxShards), valid: false };
        filter.positions.set(e[0], { seq: e[1], session: e[2] });
      }
      return { filter, valid: true };
    } catch {
      return { filter: new ReplayFilter(maxShards), valid: false };
    }
  }
}

/** Versioned, so a later format can tell an older commit's metadata apart. */
const METADATA_PREFIX = 'replay-filter/1:';

export class ReplayCheck {
  /** What this chunk passed, per shard: the newest session and its highest seq. */
  readonly passed = new Map<number, Position>();

  constructor(private readonly delivered: ReadonlyMap<number, Position>) {}

  isReplay(event: EventEnvelope): boolean {
    if (event.source !== 'gateway' || event.session_id === undefined || event.seq === undefined) return false;
    const shard = event.shard ?? 0;
    const current = this.passed.get(shard) ?? this.delivered.get(shard);
    if (current !== undefined && current.session === event.session_id && event.seq <= current.seq) return true;
    this.passed.set(shard, { session: event.session_id, seq: event.seq });
    return false;
  }
}
