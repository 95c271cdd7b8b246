import { GatewayCloseCodes, GatewayOpcodes } from 'discord-api-types/v10';
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../../core/logger.ts';
import type { FrameWriter } from './frame-writer.ts';
import type { FrameSink } from './sessions.ts';

/** Discord closes a connection whose client sends a payload larger than this (4002). */
export const MAX_CLIENT_PAYLOAD_BYTES = 4096;

export interface ResumeRequest {
  sessionId: string;
  seq: number;
}

/** What the connection asks of the simulator once a command passed the protocol checks. */
export interface ConnectionHooks {
  identify(connection: GatewayConnection, shard: number): void;
  /** Attaches the session and replays; false when it cannot be resumed (the hook answered). */
  resume(connection: GatewayConnection, request: ResumeRequest): boolean;
  closed(connection: GatewayConnection): void;
}

export interface ConnectionSettings {
  token: string;
  shardCount: number;
  heartbeatIntervalMs: number;
}

/** Commands a client may send once identified; the simulator accepts and ignores them. */
const ACCEPTED_COMMANDS = new Set<number>([
  GatewayOpcodes.PresenceUpdate,
  GatewayOpcodes.VoiceStateUpdate,
  GatewayOpcodes.RequestGuildMembers,
  GatewayOpcodes.RequestSoundboardSounds,
]);

/**
 * One websocket's gateway protocol: HELLO, heartbeats, the IDENTIFY / RESUME handshake and the
 * close codes Discord uses for protocol errors. Sessions and dispatches live elsewhere; this only
 * decides whether a command is acceptable.
 */
export class GatewayConnection implements FrameSink {
  private authenticated = false;
  private acksHeartbeats = true;
  private closing = false;

  constructor(
    readonly id: number,
    private readonly socket: WebSocket,
    private readonly writer: FrameWriter,
    private readonly settings: ConnectionSettings,
    private readonly hooks: ConnectionHooks,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.socket.on('close', (code) => {
      this.closing = true;
      this.writer.close();
      this.logger.debug({ connection: this.id, code }, 'connection closed');
      this.hooks.closed(this);
    });
    this.socket.on('error', (err) => this.logger.debug({ connection: this.id, err }, 'socket error'));
    this.sendPayload({ op: GatewayOpcodes.Hello, d: { heartbeat_interval: this.settings.heartbeatIntervalMs } });
  }

  get isOpen(): boolean {
    return !this.closing;
  }

  send(frame: string): void {
    if (!this.closing) this.writer.write(frame);
  }

  sendPayload(payload: { op: number; d: unknown; s?: number | null; t?: string | null }): void {
    this.send(JSON.stringify({ s: null, t: null, ...payload }));
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.logger.debug({ connection: this.id, code, reason }, 'closing connection');
    this.socket.close(code, reason);
  }

  /** Drops the TCP connection without a close frame, like a network failure. */
  terminate(): void {
    this.closing = true;
    this.socket.terminate();
  }

  /** op 9 with d: false; the client may IDENTIFY again on this connection. */
  invalidSession(): void {
    this.authenticated = false;
    this.sendPayload({ op: GatewayOpcodes.InvalidSession, d: false });
  }

  /** op 7: the client should close and RESUME. */
  requestReconnect(): void {
    this.sendPayload({ op: GatewayOpcodes.Reconnect, d: null });
  }

  /** Fault injection: the connection turns into a zombie that never acknowledges heartbeats. */
  ignoreHeartbeats(): void {
    this.acksHeartbeats = false;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (bytes.length > MAX_CLIENT_PAYLOAD_BYTES) return this.close(GatewayCloseCodes.DecodeError, `payload over ${MAX_CLIENT_PAYLOAD_BYTES} bytes`);
    let payload: unknown;
    try {
      payload = JSON.parse(bytes.toString('utf8'));
    } catch {
      return this.close(GatewayCloseCodes.DecodeError, isBinary ? 'binary payloads are not JSON' : 'payload is not JSON');
    }
    if (!isRecord(payload) || typeof payload.op !== 'number') return this.close(GatewayCloseCodes.DecodeError, 'payload must be an object with a numeric op');
    const { op, d } = payload;

    switch (op) {
      case GatewayOpcodes.Heartbeat:
        if (this.acksHeartbeats) this.sendPayload({ op: GatewayOpcodes.HeartbeatAck, d: null });
        return;
      case GatewayOpcodes.Identify:
        return this.onIdentify(d);
      case GatewayOpcodes.Resume:
        return this.onResume(d);
      default:
        if (!ACCEPTED_COMMANDS.has(op)) return this.close(GatewayCloseCodes.UnknownOpcode, `unknown opcode ${op}`);
        if (!this.authenticated) return this.close(GatewayCloseCodes.NotAuthenticated, `opcode ${op} before IDENTIFY`);
    }
  }

  private onIdentify(d: unknown): void {
    if (this.authenticated) return this.close(GatewayCloseCodes.AlreadyAuthenticated, 'already authenticated');
    if (!isRecord(d)) return this.close(GatewayCloseCodes.DecodeError, 'IDENTIFY needs an object d');
    if (d.token !== this.settings.token) return this.close(GatewayCloseCodes.AuthenticationFailed, 'authentication failed');
    if (typeof d.intents !== 'number' || !Number.isInteger(d.intents) || d.intents < 0) {
      return this.close(GatewayCloseCodes.InvalidIntents, 'intents must be a non-negative integer');
    }
    const { shardCount } = this.settings;
    let shard = 0;
    if (d.shard === undefined) {
      if (shardCount > 1) return this.close(GatewayCloseCodes.ShardingRequired, `sharding required: shard [i, ${shardCount}]`);
    } else {
      const pair = d.shard;
      if (!Array.isArray(pair) || pair.length !== 2 || !pair.every(Number.isInteger)) return this.close(GatewayCloseCodes.InvalidShard, 'shard must be [id, count]');
      const [id, count] = pair as [number, number];
      if (count !== shardCount) {
        const code = count < shardCount ? GatewayCloseCodes.ShardingRequired : GatewayCloseCodes.InvalidShard;
        return this.close(code, `shard count must be ${shardCount}, got ${count}`);
      }
      if (id < 0 || id >= count) return this.close(GatewayCloseCodes.InvalidShard, `shard id must be 0..${count - 1}, got ${id}`);
      shard = id;
    }
    this.authenticated = true;
    this.hooks.identify(this, shard);
  }

  private onResume(d: unknown): void {
    if (this.authenticated) return this.close(GatewayCloseCodes.AlreadyAuthenticated, 'already authenticated');
    if (!isRecord(d) || typeof d.session_id !== 'string' || typeof d.seq !== 'number' || !Number.isInteger(d.seq)) {
      return this.close(GatewayCloseCodes.DecodeError, 'RESUME needs {token, session_id, seq}');
    }
    if (d.token !== this.settings.token) return this.close(GatewayCloseCodes.AuthenticationFailed, 'authentication failed');
    this.authenticated = this.hooks.resume(this, { sessionId: d.session_id, seq: d.seq });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
