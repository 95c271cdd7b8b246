import { z } from 'zod';
import { CloseCode, ProtocolViolation } from './close-codes.ts';
import { IGNORED_CLIENT_OPS, Op } from './opcodes.ts';
import { parseIntents } from './intents.ts';

/**
 * Client frames, decoded and validated. Each way a frame can be wrong maps to the close code
 * Discord answers it with, so the connection only has to act on a `ProtocolViolation`'s code.
 */
const envelope = z.object({ op: z.number().int(), d: z.unknown() });

const identifyData = z.object({
  token: z.string().min(1).max(4096),
  properties: z.record(z.string(), z.unknown()).optional(),
  intents: z.unknown(),
  shard: z.unknown().optional(),
  compress: z.boolean().optional(),
  large_threshold: z.number().optional(),
  presence: z.unknown().optional(),
});

const resumeData = z.object({
  token: z.string().min(1).max(4096),
  session_id: z.string().min(1).max(200),
  seq: z.number().int().min(0).nullable(),
});

const shardPair = z.tuple([z.number().int().min(0), z.number().int().min(1)]).refine(([id, count]) => id < count);

export interface Identify {
  op: typeof Op.Identify;
  token: string;
  intents: number;
  /** `[shard_id, num_shards]`; `[0, 1]` when the client sent none. */
  shard: readonly [number, number];
}
export interface Resume {
  op: typeof Op.Resume;
  token: string;
  sessionId: string;
  seq: number;
}
export type ClientCommand =
  | { op: typeof Op.Heartbeat; seq: number | null }
  | Identify
  | Resume
  | { op: 'ignored' };

export interface FrameLimits {
  maxPayloadBytes: number;
  maxShards: number;
}

/** Decodes one client websocket message; throws ProtocolViolation with the close code to send. */
export function parseClientFrame(data: Buffer, limits: FrameLimits): ClientCommand {
  if (data.length > limits.maxPayloadBytes)
    throw new ProtocolViolation(CloseCode.DecodeError, `payload of ${data.length} bytes is over ${limits.maxPayloadBytes}`);
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    throw new ProtocolViolation(CloseCode.DecodeError, 'payload is not JSON');
  }
  const frame = envelope.safeParse(json);
  if (!frame.success) throw new ProtocolViolation(CloseCode.DecodeError, 'payload is not a gateway frame {op, d}');
  const { op, d } = frame.data;
  switch (op) {
    case Op.Heartbeat: {
      if (d !== null && d !== undefined && !(typeof d === 'number' && Number.isSafeInteger(d) && d >= 0))
        throw new ProtocolViolation(CloseCode.DecodeError, 'heartbeat d must be the last sequence number or null');
      return { op, seq: (d as number | null | undefined) ?? null };
    }
    case Op.Identify:
      return parseIdentify(d, limits);
    case Op.Resume: {
      const resume = resumeData.safeParse(d);
      if (!resume.success) throw new ProtocolViolation(CloseCode.DecodeError, 'invalid RESUME payload');
      return { op, token: resume.data.token, sessionId: resume.data.session_id, seq: resume.data.seq ?? 0 };
    }
    default:
      if (IGNORED_CLIENT_OPS.has(op)) return { op: 'ignored' };
      throw new ProtocolViolation(CloseCode.UnknownOpcode, `unknown opcode ${op}`);
  }
}

function parseIdentify(d: unknown, limits: FrameLimits): Identify {
  const identify = identifyData.safeParse(d);
  if (!identify.success) throw new ProtocolViolation(CloseCode.DecodeError, 'invalid IDENTIFY payload');
  const intents = parseIntents(identify.data.intents);
  if (intents === null) throw new ProtocolViolation(CloseCode.InvalidIntents, 'intents must be an integer of known intent bits');
  let shard: readonly [number, number] = [0, 1];
  if (identify.data.shard !== undefined) {
    const parsed = shardPair.safeParse(identify.data.shard);
    if (!parsed.success || parsed.data[1] > limits.maxShards)
      throw new ProtocolViolation(CloseCode.InvalidShard, `shard must be [id, count] with 0 <= id < count <= ${limits.maxShards}`);
    shard = parsed.data;
  }
  return { op: Op.Identify, token: identify.data.token, intents, shard };
}
