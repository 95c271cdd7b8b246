import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeNonce } from './accounting.ts';
import { mailbox, waitFor } from './ipc.ts';

/**
 * The measuring clients against a scripted gateway: a 4000 close, op 7 and op 9 must each lead to
 * what a real client does (RESUME, RESUME, re-IDENTIFY), be counted, and lose nothing the server
 * replays; a repeated message must be counted as duplicated.
 */
describe('bench clients', () => {
  let wss: WebSocketServer;
  let child: ChildProcess;
  const log: string[] = [];
  let next = 0;

  beforeAll(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as { port: number }).port;
    let connections = 0;
    let s = 0;
    const message = (ws: WebSocket, n = next++) => ws.send(`{"t":"MESSAGE_CREATE","s":${++s},"op":0,"d":{"id":"1","guild_id":"1","content":"x","nonce":"${encodeNonce(Date.now(), 0, n)}"}}`);
    wss.on('connection', (ws) => {
      const c = ++connections;
      ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 } }));
      ws.on('message', (data: Buffer) => {
        const f = JSON.parse(data.toString()) as { op: number; d: { seq?: number } };
        log.push(`${c}:${f.op}`);
        if (f.op === 2) {
          s = 0;
          ws.send(JSON.stringify({ t: 'READY', s: ++s, op: 0, d: { session_id: `s${c}`, resume_gateway_url: `ws://127.0.0.1:${port}` } }));
          for (let i = 0; i < (c === 1 ? 5 : 2); i++) message(ws);
          if (c === 1) ws.close(4000, 'slow reader');
        } else if (f.op === 6) {
          ws.send(JSON.stringify({ t: 'RESUMED', s: ++s, op: 0, d: null }));
          for (let i = 0; i < 3; i++) message(ws);
          if (c === 3) message(ws, next - 1); // the same message twice
          ws.send(c === 2 ? '{"op":7,"d":null}' : '{"op":9,"d":false}');
        }
      });
    });
    child = fork(fileURLToPath(new URL('./clients.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await waitFor(child, 'ready', 'clients');
    await mailbox(child, 'clients')({ cmd: 'connect', url: `ws://127.0.0.1:${port}`, guildIds: ['1'], sessions: [{ index: 0, token: 't', shard: [0, 1] }] });
  });

  afterAll(() => {
    child?.kill();
    wss?.close();
  });

  it('resumes after 4000 and op 7, re-identifies after op 9 false, and counts each', async () => {
    const ask = mailbox(child, 'clients');
    type V = { missing: number; received: number; duplicated: number; outOfOrder: number; events: { closes: Record<string, number>; resumes: number; resumed: number; reidentifies: number; invalid_sessions: number } };
    let v: V;
    do {
      await new Promise((r) => setTimeout(r, 100));
      v = await ask<V>({ cmd: 'verify', sent: [next] });
    } while (!log.includes('4:2'));
    while (v.received < next + 1) v = await ask<V>({ cmd: 'verify', sent: [next] });
    expect(log).toEqual(['1:2', '2:6', '3:6', '4:2']);
    expect(v).toMatchObject({ missing: 0, duplicated: 1, outOfOrder: 0, received: next + 1 });
    expect(v.events).toMatchObject({ resumes: 2, resumed: 2, reidentifies: 1, invalid_sessions: 1 });
    expect(v.events.closes['4000']).toBe(1);
  });
});
