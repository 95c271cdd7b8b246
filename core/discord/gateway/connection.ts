import { GatewayCloseCodes, GatewayOpcodes } from '../protocol.ts';
import { closeReason, ProtocolViolation } from './close-codes.ts';
import { decodeCommand, type CommandLimits, type ResumeRequest } from './commands.ts';
import { controlFrame, type Outgoing } from './frames.ts';
import type { FrameSink, GatewaySession } from './session.ts';
import type { GatewayTransport } from './transport.ts';
import type { FrameWriter } from './writer.ts';

export interface ConnectionOptions extends CommandLimits {
  /** Sent in HELLO. */
  heartbeatIntervalMs: number;
  /** Closes 4003 unless a session is attached in time (heartbeating alone does not keep a connection); none when unset. */
  identifyTimeoutMs?: number;
  /** Takes one command from this connection's budget; false closes 4008. No limit when unset. */
  commandLimiter?: { take(): boolean };
}

/**
 * What the server built on this connection decides: who may IDENTIFY or RESUME and what they get.
 * `identify` and `resume` either attach a session (`connection.attach` / `connection.resume`),
 * answer op 9 (`connection.invalidSession`) or close; they may throw a ProtocolViolation to close
 * with its code. Any other error closes 4000 after `failed`.
 */
export interface ConnectionHost<S extends GatewaySession> {
  identify(connection: GatewayConnection<S>, d: unknown): void | Promise<void>;
  resume(connection: GatewayConnection<S>, request: ResumeRequest): void | Promise<void>;
  attached?(connection: GatewayConnection<S>, session: S): void;
  detached?(connection: GatewayConnection<S>, session: S): void;
  /** The server closes the connection with `code`; `detail` is for the logs. */
  closing?(connection: GatewayConnection<S>, code: GatewayCloseCodes, detail: string | undefined): void;
  /** The socket is gone (either side closed it, or it broke); called once per connection. */
  closed?(connection: GatewayConnection<S>): void;
  slowConsumer?(connection: GatewayConnection<S>): void;
  failed?(connection: GatewayConnection<S>, err: unknown): void;
}

export type ResumeResult = { ok: true; replayed: number } | { ok: false; reason: 'invalid-seq' | 'gone' };

const HEARTBEAT_ACK = controlFrame(GatewayOpcodes.HeartbeatAck, null);
const RECONNECT = controlFrame(GatewayOpcodes.Reconnect, null);
const INVALID_SESSION = controlFrame(GatewayOpcodes.InvalidSession, false);

/** A client that stops heartbeating for this many intervals is a zombie (4009). */
const ZOMBIE_INTERVALS = 1.5;

type State = 'connected' | 'authenticating' | 'ready' | 'closed';

/**
 * One websocket speaking gateway v10, server side: HELLO, heartbeats, the IDENTIFY / RESUME
 * hand-off to the host, the frames of the session attached to it, and Discord's close codes for
 * protocol errors. Nothing a client sends can throw past this class.
 */
export class GatewayConnection<S extends GatewaySession = GatewaySession> implements FrameSink {
  private state: State = 'connected';
  private current: S | null = null;
  /** Zombie detection: `closeZombies` closes connections that stopped heartbeating. */
  lastHeartbeatAt = Date.now();
  private acksHeartbeats = true;
  private identifyDeadline: NodeJS.Timeout | undefined;

  constructor(
    readonly transport: GatewayTransport,
    private readonly writer: FrameWriter,
    private readonly options: ConnectionOptions,
    private readonly host: ConnectionHost<S>,
  ) {
    transport.onMessage((data) => this.onMessage(data));
    transport.onClose(() => {
      this.shutDown();
      host.closed?.(this);
    });
    this.writer.push(controlFrame(GatewayOpcodes.Hello, { heartbeat_interval: options.heartbeatIntervalMs }));
    this.armIdentifyDeadline();
  }

  /** A session is attached. */
  get authenticated(): boolean {
    return this.state === 'ready';
  }

  /** IDENTIFY or RESUME is being decided by the host (false again once it closed meanwhile). */
  get authenticating(): boolean {
    return this.state === 'authenticating';
  }

  get isOpen(): boolean {
    return this.state !== 'closed';
  }

  get session(): S | null {
    return this.current;
  }

  get sessionId(): string | undefined {
    return this.current?.id;
  }

  send(frame: Outgoing): void {
    this.writer.push(frame);
  }

  /** op 7: the client should reconnect and RESUME (drains, fault injection). */
  reconnect(): void {
    if (this.state !== 'closed') this.writer.push(RECONNECT);
  }

  /** Fault injection: the connection turns into a zombie that never acknowledges heartbeats. */
  ignoreHeartbeats(): void {
    this.acksHeartbeats = false;
  }

  /** Closes with `code` after what is already queued, and leaves the session resumable. */
  close(code: GatewayCloseCodes, detail?: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.identifyDeadline);
    this.host.closing?.(this, code, detail);
    this.releaseSession();
    this.writer.end(() => this.transport.close(code, closeReason(code)));
  }

  /** Drops the connection without a close frame, as a network failure would. */
  terminate(): void {
    this.shutDown();
    this.transport.terminate();
  }

  /** The writer found the socket over its byte cap: 4000, the client resumes elsewhere. */
  slowConsumer(): void {
    this.host.slowConsumer?.(this);
    this.close(GatewayCloseCodes.UnknownError, 'slow consumer');
  }

  /** Makes `session` this connection's (IDENTIFY or RESUME succeeded); false once the connection closed meanwhile. */
  attach(session: S): boolean {
    if (this.state !== 'authenticating') return false;
    // A RESUME can arrive before the server noticed the old connection died: that one is finished.
    const previous = session.current;
    if (previous && previous !== this) previous.terminate();
    session.attach(this);
    this.current = session;
    this.state = 'ready';
    clearTimeout(this.identifyDeadline);
    this.host.attached?.(this, session);
    return true;
  }

  /**
   * RESUME of `session` (found and authorized by the host) from `seq`: 4007 for a seq it never
   * sent; 'gone' when frames after `seq` are no longer kept (the host answers op 9); else attaches
   * it and queues every frame the client missed.
   */
  resume(session: S, seq: number): ResumeResult {
    if (seq > session.sequence) {
      this.close(GatewayCloseCodes.InvalidSeq, `seq ${seq} is beyond ${session.sequence}`);
      return { ok: false, reason: 'invalid-seq' };
    }
    const missed = session.framesAfter(seq);
    if (!missed || !this.attach(session)) return { ok: false, reason: 'gone' };
    for (const frame of missed) this.writer.push(frame);
    return { ok: true, replayed: missed.length };
  }

  /** op 9 `false`: the session cannot be resumed; the client may IDENTIFY again here, within a fresh deadline. */
  invalidSession(): void {
    if (this.state === 'closed') return;
    this.releaseSession();
    this.state = 'connected';
    this.writer.push(INVALID_SESSION);
    this.armIdentifyDeadline();
  }

  private shutDown(): void {
    this.state = 'closed';
    clearTimeout(this.identifyDeadline);
    this.writer.stop();
    this.releaseSession();
  }

  private armIdentifyDeadline(): void {
    const timeout = this.options.identifyTimeoutMs;
    if (timeout === undefined) return;
    clearTimeout(this.identifyDeadline);
    this.identifyDeadline = setTimeout(() => {
      if (this.state !== 'ready') this.close(GatewayCloseCodes.NotAuthenticated, `no IDENTIFY within ${timeout} ms`);
    }, timeout);
    this.identifyDeadline.unref();
  }

  private releaseSession(): void {
    const session = this.current;
    if (!session) return;
    this.current = null;
    if (session.detach(this)) this.host.detached?.(this, session);
  }

  private onMessage(data: Buffer): void {
    if (this.state === 'closed') return;
    if (this.options.commandLimiter && !this.options.commandLimiter.take()) return this.close(GatewayCloseCodes.RateLimited, 'too many commands');
    let command;
    try {
      command = decodeCommand(data, this.options);
    } catch (err) {
      if (err instanceof ProtocolViolation) return this.close(err.code, err.message);
      throw err;
    }
    switch (command.op) {
      case GatewayOpcodes.Heartbeat:
        this.lastHeartbeatAt = Date.now();
        if (this.acksHeartbeats) this.writer.push(HEARTBEAT_ACK);
        return;
      case GatewayOpcodes.Identify:
      case GatewayOpcodes.Resume: {
        if (this.state !== 'connected') return this.close(GatewayCloseCodes.AlreadyAuthenticated, 'already authenticated');
        this.state = 'authenticating';
        const fail = (err: unknown) => {
          if (err instanceof ProtocolViolation) return this.close(err.code, err.message);
          this.host.failed?.(this, err);
          this.close(GatewayCloseCodes.UnknownError, 'authentication failed unexpectedly');
        };
        try {
          const outcome = command.op === GatewayOpcodes.Identify ? this.host.identify(this, command.d) : this.host.resume(this, command.request);
          if (outcome) outcome.catch(fail);
        } catch (err) {
          fail(err);
        }
        return;
      }
      case 'ignored':
        if (this.state !== 'ready') this.close(GatewayCloseCodes.NotAuthenticated, 'command before IDENTIFY');
        return;
    }
  }
}

/** Closes (4009) every connection that has not heartbeated for 1.5 intervals; for a periodic sweep. */
export function closeZombies(connections: Iterable<GatewayConnection<any>>, heartbeatIntervalMs: number, now = Date.now()): void {
  const cutoff = now - heartbeatIntervalMs * ZOMBIE_INTERVALS;
  for (const connection of connections)
    if (connection.lastHeartbeatAt < cutoff) connection.close(GatewayCloseCodes.SessionTimedOut, 'no heartbeat');
}
