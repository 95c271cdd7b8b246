import type { EventEnvelope } from '../core/events/envelope.ts';

/**
 * Drops gateway events a partition has already seen. Ingest is at least once: after a restart it
 * RESUMEs from its last acknowledged sequence and the gateway replays what followed, so the same
 * `(shard, session, seq)` can appear twice. Within one partition a session's events arrive in
 * sequence order, so "seq at or below the highest seen for this session" identifies a replay.
 *
 * The memory is per partition and per process: after a rebalance the new owner starts empty, so a
 * duplicate whose original was committed before the rebalance is persisted again (harmless: writes
 * are idempotent) and delivered again (the edge drops it by source offset only if it is the same
 * record; ARCHITECTURE.md, "Delivery guarantees").
 */
export class ReplayFilter {
  private readonly highest = new Map<string, number>();

  constructor(private readonly maxSessions = 10_000) {}

  isReplay(event: EventEnvelope): boolean {
    if (event.source !== 'gateway' || event.session_id === undefined || event.seq === undefined) return false;
    const session = `${event.shard ?? 0}:${event.session_id}`;
    const seen = this.highest.get(session);
    if (seen !== undefined && event.seq <= seen) return true;
    this.highest.delete(session); // re-insert: Map order is then least recently advanced first
    this.highest.set(session, event.seq);
    if (this.highest.size > this.maxSessions) this.highest.delete(this.highest.keys().next().value!);
    return false;
  }
}
