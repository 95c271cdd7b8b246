import { afterEach, describe, expect, it, vi } from 'vitest';
import { GatewayCloseCodes, GatewayOpcodes } from '../protocol.ts';
import { ProtocolViolation } from './close-codes.ts';
import { closeZombies, GatewayConnection, type ConnectionHost, type ConnectionOptions } from './connection.ts';
import { frameBody } from './frames.ts';
import { MemoryTransport } from './memory-transport.ts';
import { GatewaySession } from './session.ts';
import { SessionDirectory } from './session-directory.ts';
import { FlushScheduler, PlainFrameWriter } from './writer.ts';

// The shared gateway-server state machine over an in-memory transport: no sockets, no Kafka.

const tick = () => new Promise((r) => setImmediate(r));
const TOKEN = 'good-token';

/** A minimal host: one token, sessions in a directory, READY on IDENTIFY and RESUMED after a replay. */
function server(overrides: Partial<ConnectionOptions> = {}) {
  const sessions = new SessionDirectory<GatewaySession>({ resumeWindowMs: 60_000 });
  const scheduler = new FlushScheduler();
  const host: ConnectionHost<GatewaySession> = {
    identify(connection, d) {
      if ((d as { token?: unknown })?.token !== TOKEN) throw new ProtocolViolation(GatewayCloseCodes.AuthenticationFailed, 'wrong token');
      const session = new GatewaySession({ replayCapacity: 4 });
      sessions.add(session);
      connection.attach(session);
      session.dispatch(frameBody('READY', { session_id: session.id }));
    },
    async resume(connection, request) {
      await Promise.resolve(); // hosts verify tokens asynchronously
      if (request.token !== TOKEN) throw new ProtocolViolation(GatewayCloseCodes.AuthenticationFailed, 'wrong token');
      const session = sessions.get(request.sessionId);
      const result = session ? connection.resume(session, request.seq) : ({ ok: false, reason: 'gone' } as const);
      if (result.ok) session!.dispatch(frameBody('RESUMED', null));
      else if (result.reason === 'gone') connection.invalidSession();
    },
    detached: (_connection, session) => sessions.detached(session),
    attached: (_connection, session) => sessions.attached(session),
  };
  const connect = () => {
    const transport = new MemoryTransport();
    let connection: GatewayConnection | undefined;
    const writer = new PlainFrameWriter(transport, { scheduler, maxBufferedBytes: 1 << 20, onSlowConsumer: () => connection?.slowConsumer() });
    connection = new GatewayConnection(transport, writer, { heartbeatIntervalMs: 1_000, maxPayloadBytes: 4096, ignoredCommands: new Set([GatewayOpcodes.PresenceUpdate]), ...overrides }, host);
    return { transport, connection };
  };
  return { sessions, connect };
}

const identify = (token = TOKEN) => ({ op: GatewayOpcodes.Identify, d: { token, intents: 0, properties: {} } });

async function closeCode(transport: MemoryTransport): Promise<number | undefined> {
  await tick();
  return transport.closedWith?.code;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('GatewayConnection', () => {
  it('sends HELLO with the heartbeat interval and acknowledges heartbeats before IDENTIFY', async () => {
    const { transport } = server().connect();
    transport.receive({ op: GatewayOpcodes.Heartbeat, d: null });
    await tick();
    expect(transport.payloads()).toEqual([
      { op: GatewayOpcodes.Hello, d: { heartbeat_interval: 1_000 }, s: null, t: null },
      { op: GatewayOpcodes.HeartbeatAck, d: null, s: null, t: null },
    ]);
    expect(transport.isOpen).toBe(true);
  });

  it('writes HELLO, the ACK and READY of one tick in one transport write', async () => {
    const { transport } = server().connect();
    transport.receive({ op: GatewayOpcodes.Heartbeat, d: null });
    transport.receive(identify());
    await tick();
    expect(transport.payloads().map((p) => p.t ?? p.op)).toEqual([GatewayOpcodes.Hello, GatewayOpcodes.HeartbeatAck, 'READY']);
    expect(transport.writes).toBe(1);
  });

  it.each([
    ['4001 for an unknown opcode', { op: 99, d: null }, GatewayCloseCodes.UnknownOpcode],
    ['4002 for a payload that is not JSON', '{"op": 1,', GatewayCloseCodes.DecodeError],
    ['4002 for a payload over the size limit', { op: 1, d: null, padding: 'x'.repeat(4096) }, GatewayCloseCodes.DecodeError],
    ['4003 for a command before IDENTIFY', { op: GatewayOpcodes.PresenceUpdate, d: {} }, GatewayCloseCodes.NotAuthenticated],
    ['4004 when the host refuses the token', identify('bad'), GatewayCloseCodes.AuthenticationFailed],
  ])('closes %s, with the reason text and after what was queued', async (_what, payload, code) => {
    const { transport } = server().connect();
    transport.receive(payload);
    expect(await closeCode(transport)).toBe(code);
    expect(transport.closedWith!.reason).toMatch(/\.$/);
    expect(transport.payloads()[0]!.op).toBe(GatewayOpcodes.Hello);
  });

  it('4005 for a second IDENTIFY', async () => {
    const { transport } = server().connect();
    transport.receive(identify());
    transport.receive(identify());
    expect(await closeCode(transport)).toBe(GatewayCloseCodes.AlreadyAuthenticated);
    expect(transport.closedWith!.reason).toBe('Already authenticated.');
  });

  it('4008 once the command budget is spent', async () => {
    let left = 2;
    const { transport } = server({ commandLimiter: { take: () => left-- > 0 } }).connect();
    for (let i = 0; i < 3; i++) transport.receive({ op: GatewayOpcodes.Heartbeat, d: null });
    expect(await closeCode(transport)).toBe(GatewayCloseCodes.RateLimited);
    expect(transport.payloads().filter((p) => p.op === GatewayOpcodes.HeartbeatAck)).toHaveLength(2);
  });

  it('4003 when no session is attached by the IDENTIFY deadline, heartbeats or not', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { transport } = server({ identifyTimeoutMs: 5_000 }).connect();
    transport.receive({ op: GatewayOpcodes.Heartbeat, d: null });
    vi.advanceTimersByTime(4_999);
    expect(transport.isOpen).toBe(true);
    vi.advanceTimersByTime(1);
    expect(await closeCode(transport)).toBe(GatewayCloseCodes.NotAuthenticated);

    const identified = server({ identifyTimeoutMs: 5_000 }).connect();
    identified.transport.receive(identify());
    vi.advanceTimersByTime(10_000);
    expect(await closeCode(identified.transport)).toBeUndefined();
  });

  it('4009 for a connection that stopped heartbeating for 1.5 intervals, not for one that heartbeats', async () => {
    const { connect } = server();
    const zombie = connect();
    const alive = connect();
    alive.transport.receive({ op: GatewayOpcodes.Heartbeat, d: null });
    const started = alive.connection.lastHeartbeatAt;
    closeZombies([zombie.connection, alive.connection], 1_000, started + 1_000);
    expect(zombie.transport.isOpen).toBe(true);
    alive.connection.lastHeartbeatAt = started + 1_400;
    closeZombies([zombie.connection, alive.connection], 1_000, started + 1_600);
    expect(await closeCode(zombie.transport)).toBe(GatewayCloseCodes.SessionTimedOut);
    expect(alive.transport.isOpen).toBe(true);
  });

  it('RESUME replays every frame after the client’s seq, then RESUMED, on the new connection', async () => {
    const { connect, sessions } = server();
    const first = connect();
    first.transport.receive(identify());
    await tick();
    const session = first.connection.session!;
    first.transport.drop();
    expect(session.attached).toBe(false);
    for (const n of [1, 2, 3]) session.dispatch(frameBody('MESSAGE_CREATE', { n })); // seq 2, 3, 4 while away

    const second = connect();
    second.transport.receive({ op: GatewayOpcodes.Resume, d: { token: TOKEN, session_id: session.id, seq: 2 } });
    await tick();
    await tick();
    const dispatches = second.transport.payloads().filter((p) => p.op === GatewayOpcodes.Dispatch);
    expect(dispatches.map((p) => [p.t, p.s])).toEqual([['MESSAGE_CREATE', 3], ['MESSAGE_CREATE', 4], ['RESUMED', 5]]);
    expect(second.connection.session).toBe(session);
    expect(sessions.get(session.id)?.expiryTimer).toBeUndefined();
  });

  it('a RESUME elsewhere terminates the connection the session still had', async () => {
    const { connect } = server();
    const first = connect();
    first.transport.receive(identify());
    const session = first.connection.session!;
    const second = connect();
    second.transport.receive({ op: GatewayOpcodes.Resume, d: { token: TOKEN, session_id: session.id, seq: 1 } });
    await tick();
    expect(first.transport.terminated).toBe(true);
    expect(session.current).toBe(second.connection);
  });

  it('RESUME of an unknown session, or from before the replay buffer, gets op 9 false and may IDENTIFY again', async () => {
    const { connect } = server();
    const unknown = connect();
    unknown.transport.receive({ op: GatewayOpcodes.Resume, d: { token: TOKEN, session_id: 'nope', seq: 1 } });
    await tick();
    expect(unknown.transport.payloads().at(-1)).toMatchObject({ op: GatewayOpcodes.InvalidSession, d: false });
    unknown.transport.receive(identify());
    await tick();
    expect(unknown.transport.payloads().at(-1)).toMatchObject({ t: 'READY' });

    const first = connect();
    first.transport.receive(identify());
    const session = first.connection.session!;
    first.transport.drop();
    for (let n = 0; n < 10; n++) session.dispatch(frameBody('X', null)); // the buffer keeps 4
    const late = connect();
    late.transport.receive({ op: GatewayOpcodes.Resume, d: { token: TOKEN, session_id: session.id, seq: 1 } });
    await tick();
    expect(late.transport.payloads().at(-1)).toMatchObject({ op: GatewayOpcodes.InvalidSession, d: false });
    expect(late.connection.authenticated).toBe(false);
  });

  it('4007 for a RESUME from a seq the session never sent', async () => {
    const { connect } = server();
    const first = connect();
    first.transport.receive(identify());
    const session = first.connection.session!;
    first.transport.drop();
    const second = connect();
    second.transport.receive({ op: GatewayOpcodes.Resume, d: { token: TOKEN, session_id: session.id, seq: 99 } });
    await tick();
    expect(await closeCode(second.transport)).toBe(GatewayCloseCodes.InvalidSeq);
  });

  it('a host that throws something else closes 4000 and reports it', async () => {
    const failures: unknown[] = [];
    const transport = new MemoryTransport();
    const writer = new PlainFrameWriter(transport, { scheduler: new FlushScheduler(), maxBufferedBytes: 1 << 20, onSlowConsumer: () => {} });
    new GatewayConnection(transport, writer, { heartbeatIntervalMs: 1_000, maxPayloadBytes: 4096, ignoredCommands: new Set() }, {
      identify: async () => {
        throw new Error('boom');
      },
      resume: () => {},
      failed: (_c, err) => failures.push(err),
    });
    transport.receive(identify());
    await tick();
    expect(await closeCode(transport)).toBe(GatewayCloseCodes.UnknownError);
    expect(failures).toHaveLength(1);
  });

  it('ignored commands are accepted once identified; zombie fault injection stops ACKs', async () => {
    const { transport, connection } = server().connect();
    transport.receive(identify());
    transport.receive({ op: GatewayOpcodes.PresenceUpdate, d: {} });
    connection.ignoreHeartbeats();
    transport.receive({ op: GatewayOpcodes.Heartbeat, d: 1 });
    await tick();
    expect(transport.isOpen).toBe(true);
    expect(transport.payloads().some((p) => p.op === GatewayOpcodes.HeartbeatAck)).toBe(false);
  });
});
