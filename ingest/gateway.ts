import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import type { Logger } from '../core/logger.ts';
import { envelopeFromDispatch, type GatewayDispatch } from './envelope.ts';
import type { IngestMetrics } from './metrics.ts';
import type { ShardSessions } from './sessions.ts';
import type { EventSink } from './sink.ts';

export interface DispatchHandlerOptions {
  sessions: ShardSessions;
  sink: EventSink;
  metrics: IngestMetrics;
  logger: Logger;
  newTraceId: () => string;
  /** A dispatch was dropped for want of buffer space: the shard needs a RESUME once it drains. */
  onShed(shard: number): void;
}

const DISPATCH_NAME = /^[A-Z0-9_]{1,64}$/;
/**
 * How long a dispatch that arrived ahead of its turn waits for the ones before it. With worker
 * sharding READY crosses the thread boundary twice more than its followers, so this is a time, not
 * a tick; it only delays anything when a sequence number is really missing.
 */
const REORDER_WINDOW_MS = 1000;

/**
 * Turns each dispatch into one record, in sequence order. @discordjs/ws handles the frames of one
 * socket read concurrently and emits READY after the dispatches that follow it, so a dispatch
 * ahead of its turn waits (REORDER_WINDOW_MS at most) for the ones before it; a hole still open
 * then is a real gap. Replays of a seq already handed to the publisher are dropped (the publisher never loses
 * a record while the process lives); while the buffer is full, dispatches are shed and fetched again
 * by a RESUME, so memory stays bounded even while a resume replays a long outage. Everything else
 * becomes an event, or a dead letter carrying the same position, so a malformed dispatch advances
 * the checkpoint like any other and never stalls its shard.
 */
export function createDispatchHandler({ sessions, sink, metrics, logger, newTraceId, onShed }: DispatchHandlerOptions) {
  const early = new Map<number, { frames: Map<number, GatewayDispatch>; timer: NodeJS.Timeout }>();
  const receivedByType = new Map<string, { inc(): void }>();
  const countReceived = (type: string) => {
    let counter = receivedByType.get(type);
    if (!counter) receivedByType.set(type, (counter = metrics.received.labels({ type, source: 'gateway' })));
    counter.inc();
  };

  function process(frame: GatewayDispatch, shard: number): void {
    const arrival = sessions.arrive(shard, frame.s, !sink.isFull());
    if (arrival.kind === 'duplicate') {
      metrics.replaysSkipped.inc({ shard: String(shard) });
      return;
    }
    if (arrival.kind === 'shed') {
      metrics.shed.inc({ shard: String(shard) });
      onShed(shard);
      return;
    }
    if (arrival.kind === 'no-session') {
      reject(frame, shard, 'dispatch before READY: no session to place it in');
      return;
    }
    if (arrival.missed > 0) {
      metrics.sequenceGaps.inc({ shard: String(shard), kind: 'in_session' }, arrival.missed);
      logger.warn({ shard, session_id: arrival.sessionId, seq: frame.s, missed: arrival.missed }, 'sequence gap inside a session');
    }
    const position = { shard, sessionId: arrival.sessionId, seq: frame.s };
    const built = envelopeFromDispatch(frame, position, Date.now(), newTraceId());
    if (built.ok) sink.event(built.envelope, built.key, position);
    else if (!built.internal)
      sink.reject({
        stage: 'ingest.gateway',
        reason: built.reason,
        type: String(frame.t),
        key: built.key,
        value: JSON.stringify(frame),
        traceId: built.traceId,
        headers: { 'x-guildcast-shard': String(shard), 'x-guildcast-session-id': position.sessionId, 'x-guildcast-seq': String(frame.s) },
        position,
      });
  }

  function reject(frame: GatewayDispatch, shard: number, reason: string): void {
    sink.reject({ stage: 'ingest.gateway', reason, type: String(frame.t), key: undefined, value: JSON.stringify(frame), traceId: newTraceId(), headers: { 'x-guildcast-shard': String(shard) } });
  }

  /** Processes held dispatches that now continue the stream. */
  function drain(shard: number): void {
    const held = early.get(shard);
    if (!held) return;
    for (let next = sessions.nextSeq(shard); next !== undefined && held.frames.has(next); next = sessions.nextSeq(shard)) {
      const frame = held.frames.get(next)!;
      held.frames.delete(next);
      process(frame, shard);
    }
    if (held.frames.size === 0) {
      clearTimeout(held.timer);
      early.delete(shard);
    }
  }

  /** The window passed: whatever is still held goes through in order, gaps counted. */
  function release(shard: number): void {
    const held = early.get(shard);
    if (!held) return;
    early.delete(shard);
    for (const seq of [...held.frames.keys()].sort((a, b) => a - b)) process(held.frames.get(seq)!, shard);
  }

  return (payload: GatewayDispatchPayload, shard: number): void => {
    const frame = payload as unknown as GatewayDispatch;
    countReceived(typeof frame.t === 'string' && DISPATCH_NAME.test(frame.t) ? frame.t : 'INVALID');
    if (frame.t === 'RESUMED') {
      // A protocol marker, not an event; if it took a sequence number, step over it.
      if (Number.isSafeInteger(frame.s)) sessions.passOver(shard, frame.s);
      return;
    }
    if (!Number.isSafeInteger(frame.s)) return reject(frame, shard, 'dispatch without a sequence number');
    const next = sessions.nextSeq(shard);
    if (next === undefined || frame.s > next) {
      let held = early.get(shard);
      if (!held) early.set(shard, (held = { frames: new Map(), timer: setTimeout(release, REORDER_WINDOW_MS, shard) }));
      held.frames.set(frame.s, frame);
      return;
    }
    process(frame, shard);
    drain(shard);
  };
}
