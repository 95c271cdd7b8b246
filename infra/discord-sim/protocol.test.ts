import { constants, createInflate, inflateSync } from 'node:zlib';
import { Decompress } from 'fzstd';
import { GatewayCloseCodes, GatewayOpcodes } from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { eventually } from '../../test/support.ts';
import { startGatewaySimulator, type GatewaySimulator } from './index.ts';

// The protocol edge cases, with a raw websocket client: close codes, RESUME answers, zlib framing, REST.

let sim: GatewaySimulator;

beforeAll(async () => {
  sim = await startGatewaySimulator({ shardCount: 2, guilds: 4, seed: 7, resumeWindowMs: 60_000 });
});
afterAll(async () => {
  await sim.close();
});

interface RawClient {
  ws: WebSocket;
  /** Payloads received so far (text frames). */
  payloads: { op: number; t?: string | null; s?: number | null; d: any }[];
  closed: Promise<{ code: number; reason: string }>;
  send(payload: unknown): void;
}

async function openRaw(query = '?v=10&encoding=json'): Promise<RawClient> {
  const ws = new WebSocket(`${sim.gatewayUrl}/${query}`);
  const payloads: RawClient['payloads'] = [];
  ws.on('message', (data, isBinary) => {
    if (!isBinary) payloads.push(JSON.parse(data.toString()));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, payloads, closed, send: (payload) => ws.send(typeof payload === 'string' ? payload : JSON.stringify(payload)) };
}

async function helloed(client: RawClient): Promise<void> {
  await eventually('HELLO', () => (client.payloads[0]?.op === GatewayOpcodes.Hello ? true : undefined), 5_000);
}

const identify = (overrides: Record<string, unknown> = {}) => ({
  op: GatewayOpcodes.Identify,
  d: { token: sim.token, intents: 0, properties: { os: 'linux', browser: 'test', device: 'test' }, shard: [0, 2], ...overrides },
});

async function expectClose(client: RawClient, code: number): Promise<void> {
  const { code: got } = await client.closed;
  expect(got).toBe(code);
}

describe('close codes', () => {
  it('HELLO carries the heartbeat interval, and heartbeats are acknowledged before IDENTIFY', async () => {
    const client = await openRaw();
    await helloed(client);
    expect(client.payloads[0]).toEqual({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null });
    client.send({ op: GatewayOpcodes.Heartbeat, d: null });
    await eventually('ACK', () => (client.payloads.some((p) => p.op === GatewayOpcodes.HeartbeatAck) ? true : undefined), 5_000);
    client.ws.close();
  });

  it('4004 for a wrong token', async () => {
    const client = await openRaw();
    await helloed(client);
    client.send(identify({ token: 'not-the-token' }));
    await expectClose(client, GatewayCloseCodes.AuthenticationFailed);
  });

  it('4010 for a shard outside the configured count', async () => {
    const client = await openRaw();
    await helloed(client);
    client.send(identify({ shard: [2, 2] }));
    await expectClose(client, GatewayCloseCodes.InvalidShard);
  });

  it('4010 for a shard count larger than configured, 4011 for a smaller one', async () => {
    const larger = await openRaw();
    await helloed(larger);
    larger.send(identify({ shard: [0, 3] }));
    await expectClose(larger, GatewayCloseCodes.InvalidShard);
    const unsharded = await openRaw();
    await helloed(unsharded);
    unsharded.send(identify({ shard: undefined }));
    await expectClose(unsharded, GatewayCloseCodes.ShardingRequired);
  });

  it('4002 for a payload over 4096 bytes', async () => {
    const client = await openRaw();
    await helloed(client);
    client.send({ op: GatewayOpcodes.Heartbeat, d: null, padding: 'x'.repeat(4096) });
    await expectClose(client, GatewayCloseCodes.DecodeError);
  });

  it('4002 for a payload that is not JSON', async () => {
    const client = await openRaw();
    await helloed(client);
    client.send('{"op": 1,');
    await expectClose(client, GatewayCloseCodes.DecodeError);
  });

  it('4001 for an unknown opcode', async () => {
    const client = await openRaw();
    await helloed(client);
    client.send({ op: 99, d: null });
    await expectClose(client, GatewayCloseCodes.UnknownOpcode);
  });

  it('4003 for a command before IDENTIFY', async () => {
    const client = await openRaw();
    await helloed(client);
    client.send({ op: GatewayOpcodes.PresenceUpdate, d: { since: null, activities: [], status: 'online', afk: false } });
    await expectClose(client, GatewayCloseCodes.NotAuthenticated);
  });

  it('4005 for a second IDENTIFY', async () => {
    const client = await openRaw();
    await helloed(client);
    client.send(identify());
    await eventually('READY', () => (client.payloads.some((p) => p.t === 'READY') ? true : undefined), 5_000);
    client.send(identify());
    await expectClose(client, GatewayCloseCodes.AlreadyAuthenticated);
  });

  it('4012 for another gateway version', async () => {
    const client = await openRaw('?v=9&encoding=json');
    await expectClose(client, GatewayCloseCodes.InvalidAPIVersion);
  });
});

describe('RESUME', () => {
  it('replays every dispatch after the client’s seq, then RESUMED; an unknown session gets op 9 false', async () => {
    const first = await openRaw();
    await helloed(first);
    first.send(identify({ shard: [1, 2] }));
    await eventually('READY', () => (first.payloads.some((p) => p.t === 'READY') ? true : undefined), 5_000);
    const sessionId: string = first.payloads.find((p) => p.t === 'READY')!.d.session_id;
    const guildId = sim.guildIds.find((id) => sim.sent.some((e) => e.sessionId === sessionId && e.guildId === id))!;
    first.ws.terminate();
    await first.closed;
    // Queued while disconnected, like Discord does within the resume window.
    const queued = [1, 2, 3].map((n) => sim.dispatch('MESSAGE_DELETE', { id: String(n), channel_id: '1', guild_id: guildId }, guildId));

    const second = await openRaw();
    await helloed(second);
    second.send({ op: GatewayOpcodes.Resume, d: { token: sim.token, session_id: sessionId, seq: queued[0]!.seq - 2 } });
    await eventually('RESUMED', () => (second.payloads.some((p) => p.t === 'RESUMED') ? true : undefined), 5_000);
    const dispatches = second.payloads.filter((p) => p.op === GatewayOpcodes.Dispatch);
    expect(dispatches.map((p) => p.s)).toEqual([queued[0]!.seq - 1, ...queued.map((q) => q.seq), queued[2]!.seq]);
    expect(dispatches.at(-1)!.t).toBe('RESUMED');
    second.ws.close();

    const third = await openRaw();
    await helloed(third);
    third.send({ op: GatewayOpcodes.Resume, d: { token: sim.token, session_id: 'no-such-session', seq: 1 } });
    await eventually('INVALID_SESSION', () => third.payloads.find((p) => p.op === GatewayOpcodes.InvalidSession), 5_000);
    expect(third.payloads.at(-1)).toMatchObject({ op: GatewayOpcodes.InvalidSession, d: false });
    third.ws.close();
  });
});

describe('resume window', () => {
  it('forgets a disconnected session after the window: its RESUME gets op 9 false and its shard no traffic', async () => {
    const short = await startGatewaySimulator({ shardCount: 1, guilds: 2, seed: 3, resumeWindowMs: 200 });
    try {
      const ws = new WebSocket(`${short.gatewayUrl}/?v=10&encoding=json`);
      const payloads: { op: number; t?: string; d: any }[] = [];
      ws.on('message', (data) => payloads.push(JSON.parse(data.toString())));
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ op: GatewayOpcodes.Identify, d: { token: short.token, intents: 0, properties: {} } }));
      const ready = await eventually('READY', () => payloads.find((p) => p.t === 'READY'), 5_000);
      ws.terminate();
      await eventually('the session to expire', () => {
        try {
          short.dispatch('TYPING_START', {});
          return undefined;
        } catch (err) {
          return (err as Error).message.includes('no session') ? true : undefined;
        }
      }, 10_000);

      const again = new WebSocket(`${short.gatewayUrl}/?v=10&encoding=json`);
      const answers: { op: number; d: unknown }[] = [];
      again.on('message', (data) => answers.push(JSON.parse(data.toString())));
      await new Promise((resolve) => again.once('open', resolve));
      again.send(JSON.stringify({ op: GatewayOpcodes.Resume, d: { token: short.token, session_id: ready.d.session_id, seq: 1 } }));
      const answer = await eventually('INVALID_SESSION', () => answers.find((p) => p.op === GatewayOpcodes.InvalidSession), 5_000);
      expect(answer.d).toBe(false);
      expect(short.stats()).toMatchObject({ identifies: 1, resumes: 0, invalidSessions: 1 });
      again.close();
    } finally {
      await short.close();
    }
  });
});

describe('zlib-stream', () => {
  it('sends binary frames that each end with 00 00 ff ff and inflate with one context', async () => {
    const ws = new WebSocket(`${sim.gatewayUrl}/?v=10&encoding=json&compress=zlib-stream`);
    const inflate = createInflate({ flush: constants.Z_SYNC_FLUSH });
    const frames: Buffer[] = [];
    const texts: string[] = [];
    const binary: boolean[] = [];
    ws.on('message', (data: Buffer, isBinary) => {
      binary.push(isBinary);
      frames.push(data);
      inflate.write(data, () => undefined);
    });
    inflate.on('data', (chunk: Buffer) => texts.push(chunk.toString()));
    await new Promise((resolve) => ws.once('open', resolve));
    await eventually('HELLO', () => (frames.length >= 1 ? true : undefined), 5_000);
    ws.send(JSON.stringify(identify()));
    await eventually('READY and the GUILD_CREATEs', () => (texts.join('').includes('GUILD_CREATE') ? true : undefined), 5_000);
    expect(binary.every(Boolean)).toBe(true);
    for (const frame of frames) expect([...frame.subarray(-4)]).toEqual([0x00, 0x00, 0xff, 0xff]);
    // The first frame alone is a complete deflate prefix: it inflates to HELLO.
    expect(JSON.parse(inflateSync(frames[0]!, { finishFlush: constants.Z_SYNC_FLUSH }).toString())).toMatchObject({ op: 10 });
    ws.close();
    inflate.destroy();
  });
});

describe('zstd-stream', () => {
  it('sends binary frames that each decode at once, with one fzstd context, to one whole payload', async () => {
    const ws = new WebSocket(`${sim.gatewayUrl}/?v=10&encoding=json&compress=zstd-stream`);
    const decoded: Uint8Array[] = [];
    const zstd = new Decompress((chunk) => void decoded.push(chunk));
    const payloads: { op: number; t?: string | null }[] = [];
    const binary: boolean[] = [];
    ws.on('message', (data: Buffer, isBinary) => {
      binary.push(isBinary);
      decoded.length = 0;
      zstd.push(data);
      payloads.push(JSON.parse(Buffer.concat(decoded).toString()));
    });
    await new Promise((resolve) => ws.once('open', resolve));
    await eventually('HELLO', () => (payloads.length >= 1 ? true : undefined), 5_000);
    ws.send(JSON.stringify(identify()));
    await eventually('READY and the GUILD_CREATEs', () => (payloads.some((p) => p.t === 'GUILD_CREATE') ? true : undefined), 5_000);
    expect(binary.every(Boolean)).toBe(true);
    expect(payloads[0]).toMatchObject({ op: 10 });
    expect(payloads.find((p) => p.op === 0)).toMatchObject({ t: 'READY' });
    ws.close();
  });
});

describe('REST', () => {
  it('GET /api/v10/gateway/bot answers JSON with the gateway url and shard count', async () => {
    const res = await fetch(`${sim.apiBase}/v10/gateway/bot`, { headers: { Authorization: `Bot ${sim.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toMatchObject({ url: sim.gatewayUrl, shards: 2, session_start_limit: { max_concurrency: 1 } });
  });

  it('GET /api/v10/gateway needs no token; /gateway/bot without one is 401; unknown routes are JSON 404s', async () => {
    expect(await (await fetch(`${sim.apiBase}/v10/gateway`)).json()).toEqual({ url: sim.gatewayUrl });
    expect((await fetch(`${sim.apiBase}/v10/gateway/bot`)).status).toBe(401);
    // (`/channels/:id/messages` exists since the simulator plays the message routes: rest-routes.test.ts.)
    const missing = await fetch(`${sim.apiBase}/v10/applications/1/unknown`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/json');
    expect(await missing.json()).toEqual({ message: '404: Not Found', code: 0 });
  });
});
