import { z } from 'zod';
import { GatewayCloseCodes, GatewayOpcodes } from '../protocol.ts';
import { ProtocolViolation } from './close-codes.ts';

/**
 * Client frames, decoded as far as the protocol itself goes. Each way a frame can be wrong maps to
 * the close code Discord answers it with; what IDENTIFY must contain is the host's business.
 */
const envelope = z.object({ op: z.number().int(), d: z.unknown() });

const resumeData = z.object({
  token: z.string().min(1).max(4096),
  session_id: z.string().min(1).max(200),
  seq: z.number().int().min(0).nullable(),
});

export interface ResumeRequest {
  token: string;
  sessionId: string;
  /** The last seq the client saw (0 when it sent null). */
  seq: number;
}

export type ClientCommand =
  | { op: GatewayOpcodes.Heartbeat; seq: number | null }
  | { op: GatewayOpcodes.Identify; d: unknown }
  | { op: GatewayOpcodes.Resume; request: ResumeRequest }
  | { op: 'ignored' };

export interface CommandLimits {
  maxPayloadBytes: number;
  /** Commands accepted once identified and not acted on (presence, voice, ...). */
  ignoredCommands: ReadonlySet<number>;
}

/** Decodes one client websocket message; throws ProtocolViolation with the close code to send. */
export function decodeCommand(data: Buffer, limits: CommandLimits): ClientCommand {
  if (data.length > limits.maxPayloadBytes)
    throw new ProtocolViolation(GatewayCloseCodes.DecodeError, `payload of ${data.length} bytes is over ${limits.maxPayloadBytes}`);
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    throw new ProtocolViolation(GatewayCloseCodes.DecodeError, 'payload is not JSON');
  }
  const frame = envelope.safeParse(json);
  if (!frame.success) throw new ProtocolViolation(GatewayCloseCodes.DecodeError, 'payload is not a gateway frame {op, d}');
  const { op, d } = frame.data;
  switch (op) {
    case GatewayOpcodes.Heartbeat: {
      if (d !== null && d !== undefined && !(typeof d === 'number' && Number.isSafeInteger(d) && d >= 0))
        throw new ProtocolViolation(GatewayCloseCodes.DecodeError, 'heartbeat d must be the last sequence number or null');
      return { op, seq: (d as number | null | undefined) ?? null };
    }
    case GatewayOpcodes.Identify:
      return { op, d };
    case GatewayOpcodes.Resume: {
      const resume = resumeData.safeParse(d);
      if (!resume.success) throw new ProtocolViolation(GatewayCloseCodes.DecodeError, 'invalid RESUME payload');
      return { op, request: { token: resume.data.token, sessionId: resume.data.session_id, seq: resume.data.seq ?? 0 } };
    }
    default:
      if (limits.ignoredCommands.has(op)) return { op: 'ignored' };
      throw new ProtocolViolation(GatewayCloseCodes.UnknownOpcode, `unknown opcode ${op}`);
  }
}
