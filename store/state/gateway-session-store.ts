import { z } from 'zod';
import type { Logger } from '../../core/logger.ts';
import type { CqlClient } from '../cql/client.ts';

/** Where one partition of the edge's feed stood at a checkpoint (the edge's FeedPosition). */
export interface StoredFeedPosition {
  offset: bigint;
  passed: bigint;
}

/** A session's seq at an instant between two events, and the feed positions behind it. */
export interface StoredCheckpoint {
  seq: number;
  positions: Map<number, StoredFeedPosition>;
}

/**
 * What any edge node needs to take a gateway session over (issue 13, "RESUME on any node"): the
 * token claims it was created with, its shard and intents, which node and epoch own it, and its
 * newest checkpoints (oldest first, newest last).
 */
export interface StoredGatewaySession {
  id: string;
  /** Grows by one each time another node (or a restarted one) takes the session over. */
  epoch: number;
  node: string;
  subject: string;
  guilds: '*' | string[];
  shard: [number, number];
  intents: number;
  checkpoints: StoredCheckpoint[];
}

/** Checkpoints kept per session: enough to cover a client that missed the last few seconds before a crash. */
export const MAX_STORED_CHECKPOINTS = 4;

export interface GatewaySessionStore {
  /** The newest epoch's state; undefined when absent, expired or unreadable (logged). */
  load(id: string): Promise<StoredGatewaySession | undefined>;
  /** Writes `state` as its epoch's row, expiring `ttlMs` after this write. */
  save(state: StoredGatewaySession, ttlMs: number): Promise<void>;
  /** Forgets the session everywhere (every epoch). */
  remove(id: string): Promise<void>;
}

const decimal = z.string().regex(/^-?\d{1,20}$/, 'a decimal integer');
const positionSchema = z.strictObject({ offset: decimal, passed: decimal });
const stateSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().min(1).max(128),
  epoch: z.number().int().min(0).max(2 ** 31 - 1),
  node: z.string().min(1).max(200),
  subject: z.string().min(1).max(200),
  guilds: z.union([z.literal('*'), z.array(z.string().regex(/^\d{1,20}$/)).max(100_000)]),
  shard: z.tuple([z.number().int().min(0), z.number().int().min(1)]).refine(([id, count]) => id < count, 'shard id below the count'),
  intents: z.number().int().min(0),
  checkpoints: z
    .array(z.strictObject({ seq: z.number().int().min(0), positions: z.record(z.string().regex(/^\d{1,6}$/), positionSchema) }))
    .max(MAX_STORED_CHECKPOINTS),
});

/** JSON with bigints as decimal strings (JSON has no 64-bit integers). */
export function encodeGatewaySession(state: StoredGatewaySession): string {
  return JSON.stringify({
    v: 1,
    id: state.id,
    epoch: state.epoch,
    node: state.node,
    subject: state.subject,
    guilds: state.guilds,
    shard: state.shard,
    intents: state.intents,
    checkpoints: state.checkpoints.slice(-MAX_STORED_CHECKPOINTS).map((c) => ({
      seq: c.seq,
      positions: Object.fromEntries([...c.positions].map(([p, pos]) => [String(p), { offset: pos.offset.toString(), passed: pos.passed.toString() }])),
    })),
  });
}

/** The state in `text`, or a reason it is not one. */
export function decodeGatewaySession(text: string): { ok: true; state: StoredGatewaySession } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  const d = parsed.data;
  return {
    ok: true,
    state: {
      id: d.id,
      epoch: d.epoch,
      node: d.node,
      subject: d.subject,
      guilds: d.guilds,
      shard: d.shard,
      intents: d.intents,
      checkpoints: d.checkpoints.map((c) => ({
        seq: c.seq,
        positions: new Map(Object.entries(c.positions).map(([p, pos]) => [Number(p), { offset: BigInt(pos.offset), passed: BigInt(pos.passed) }])),
      })),
    },
  };
}

/** Cassandra's TTL is whole seconds; never 0, which would mean "no TTL". */
export function ttlSeconds(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

/**
 * Sessions in `gateway_sessions` (migration 0004): one row per epoch, newest first, each written
 * with its own TTL, so a node that lost the session (an older epoch) refreshing its row can never
 * hide the newer owner's, and a takeover is one INSERT, no read-modify-write.
 */
export function createGatewaySessionStore({ client, keyspace, logger }: { client: CqlClient; keyspace: string; logger: Logger }): GatewaySessionStore {
  const insert = `INSERT INTO ${keyspace}.gateway_sessions (session_id, epoch, state) VALUES (?, ?, ?) USING TTL ?`;
  const select = `SELECT epoch, state FROM ${keyspace}.gateway_sessions WHERE session_id = ? LIMIT 1`;
  const remove = `DELETE FROM ${keyspace}.gateway_sessions WHERE session_id = ?`;
  return {
    async load(id) {
      const result = await client.execute(select, [id], { prepare: true });
      const row = result.first();
      if (!row) return undefined;
      const decoded = decodeGatewaySession(String(row.state));
      if (!decoded.ok) {
        logger.warn({ session: id, epoch: row.epoch, reason: decoded.reason }, 'stored gateway session is malformed; treated as absent');
        return undefined;
      }
      if (decoded.state.id !== id || decoded.state.epoch !== row.epoch) {
        logger.warn({ session: id, epoch: row.epoch, stored: { id: decoded.state.id, epoch: decoded.state.epoch } }, 'stored gateway session names another id or epoch than its row; treated as absent');
        return undefined;
      }
      return decoded.state;
    },
    async save(state, ttlMs) {
      await client.execute(insert, [state.id, state.epoch, encodeGatewaySession(state), ttlSeconds(ttlMs)], { prepare: true });
    },
    async remove(id) {
      await client.execute(remove, [id], { prepare: true });
    },
  };
}
