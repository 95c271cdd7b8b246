import type { Logger } from '../core/logger.ts';
import type { GatewayConnection } from '../core/discord/gateway/connection.ts';
import { frameBody } from '../core/discord/gateway/frames.ts';
import type { Checkpointer } from './checkpointer.ts';
import { ReplayGoneError, type DeliverySource, type FeedPosition } from './delivery-source.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { SessionInterest } from './interest.ts';
import type { EdgeMetrics } from './metrics.ts';
import { prepareEvent } from './serialize.ts';
import type { Session } from './session.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { SessionCheckpoint, StoredSession } from './session-store.ts';
import type { AccessGrant } from './tokens.ts';

/** What a RESUME needs to take a session over from the session store. */
export interface TakeoverContext {
  source: DeliverySource;
  checkpointer: Checkpointer;
  interest: SessionInterest;
  sessions: SessionRegistry;
  dispatcher: Dispatcher;
  metrics: EdgeMetrics;
  logger: Logger;
}

export type TakeoverResult = 'resumed' | 'invalid' | 'closed';

/** The newest checkpoint a client that last saw `seq` can resume from (it has seen everything before it). */
export function checkpointFor(checkpoints: readonly SessionCheckpoint[], seq: number): SessionCheckpoint | undefined {
  let best: SessionCheckpoint | undefined;
  for (const checkpoint of checkpoints) if (checkpoint.seq <= seq && (!best || checkpoint.seq > best.seq)) best = checkpoint;
  return best;
}


/**
 * RESUME of a session this node does not hold (or holds an older epoch of): a new epoch, a local
 * session with the stored id, seq continuing at the client's; its partitions are wanted (live
 * positions L), the records `[checkpoint, L)` of each are replayed from the feed while live
 * events for it are held, then RESUMED, then the held events, then live. Repeats are the client's
 * seq minus the checkpoint's: what the client saw after the checkpoint is sent again.
 */
export async function takeOver(ctx: TakeoverContext, connection: GatewayConnection<Session>, stored: StoredSession, grant: AccessGrant, clientSeq: number): Promise<TakeoverResult> {
  const checkpoint = checkpointFor(stored.checkpoints, clientSeq);
  if (!checkpoint) return 'invalid';
  const sessionGrant: AccessGrant = { subject: stored.subject, guilds: stored.guilds === '*' ? '*' : new Set(stored.guilds), expiresAt: grant.expiresAt };
  const lease = await ctx.interest.acquire({ grant: sessionGrant, shard: stored.shard });
  if (!connection.authenticating) {
    lease.release();
    return 'closed';
  }
  if (lease.partitions.some((p) => !checkpoint.positions.has(p))) {
    // Stored with another partition count: its positions do not describe this feed.
    lease.release();
    return 'invalid';
  }

  // From here to holdLive is synchronous: L and the start of the held queue are the same instant.
  const live = ctx.source.positions(lease.partitions);
  const floors = new Map<number, FeedPosition>();
  const ranges: { partition: number; from: FeedPosition; to: bigint }[] = [];
  for (const partition of lease.partitions) {
    const from = checkpoint.positions.get(partition)!;
    const at = live.get(partition);
    if (!at) {
      lease.release();
      throw new Error(`partition ${partition} is not read right after it was wanted`);
    }
    // This node may have started reading the partition after the checkpoint: its filter has not seen what the session's has.
    if (from.offset > at.offset || (from.offset === at.offset && from.passed > at.passed)) floors.set(partition, from);
    else if (from.offset < at.offset) ranges.push({ partition, from, to: at.offset });
  }
  const stale = ctx.sessions.get(stored.id);
  if (stale) {
    stale.current?.terminate();
    ctx.sessions.forget(stale);
  }
  const session = ctx.sessions.create(sessionGrant, stored.shard, stored.intents, lease, {
    id: stored.id,
    seq: clientSeq,
    epoch: stored.epoch + 1,
    // On this node seq `clientSeq` stands exactly where the checkpoint's positions do.
    checkpoints: [{ seq: clientSeq, positions: checkpoint.positions }],
  });
  session.holdLive(floors);
  ctx.checkpointer.write(session);

  const result = connection.resume(session, clientSeq);
  if (!result.ok) {
    ctx.sessions.forget(session);
    return 'closed';
  }
  let replayed = 0;
  /** What each replay passed: live records at or below it are fanout's redeliveries of what the replay sent. */
  const replayedTo = new Map<number, FeedPosition>();
  try {
    for (const { partition, from, to } of ranges) {
      const passed = await ctx.source.replay(partition, from, to, (event) => {
        const prepared = prepareEvent(event);
        if (!ctx.dispatcher.routes(session, prepared)) return;
        session.deliverReplayed(prepared);
        replayed++;
      });
      replayedTo.set(partition, { offset: to, passed });
    }
    await ctx.checkpointer.flushed(session);
  } catch (err) {
    ctx.sessions.forget(session);
    if (err instanceof ReplayGoneError) {
      ctx.logger.info({ session: session.id, reason: err.message }, 'RESUME: the feed no longer holds what the session missed');
      return 'invalid';
    }
    throw err;
  }
  if (session.invalidated) return connection.session === session ? 'invalid' : 'closed';
  session.dispatch(frameBody('RESUMED', null));
  session.releaseLive(replayedTo);
  ctx.checkpointer.take(session);
  ctx.metrics.resumeRepeats.inc(clientSeq - checkpoint.seq);
  ctx.metrics.resumeReplayed.inc(replayed);
  ctx.logger.debug({ session: session.id, epoch: session.epoch, from: stored.node, replayed, repeats: clientSeq - checkpoint.seq }, 'session taken over on RESUME');
  return 'resumed';
}
