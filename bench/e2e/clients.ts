import { WebSocket } from 'ws';
import { LatencyRecorder } from '../kit/latency.ts';

/**
 * The e2e bench's websocket clients, in their own process: real gateway sessions (HELLO,
 * IDENTIFY, heartbeats) that check every MESSAGE_CREATE they receive. The driver puts
 * `<intended send time>:<guild sequence>` in each message's nonce, so each client can measure
 * latency from the intended time (both processes read one clock through performance.timeOrigin)
 * and find duplicates, reordering and gaps per guild without asking anyone.
 */
type Command =
  | { cmd: 'connect'; url: string; tokens: { token: string; guilds: string[] }[] }
  | { cmd: 'window'; measuring: boolean }
  | { cmd: 'verify'; sentPerGuild: Record<string, number> }
  | { cmd: 'close' };

const now = () => performance.timeOrigin + performance.now();
const send = (message: unknown) => process.send!(message);

interface Client {
  ws: WebSocket;
  guilds: Set<string>;
  /** Per guild: highest sequence seen and every sequence seen. */
  seen: Map<string, { max: number; all: Set<number> }>;
  duplicates: number;
  outOfOrder: number;
  seq: number | null;
}

const clients: Client[] = [];
const latency = new LatencyRecorder();
let measuring = false;
let received = 0;
let receivedTotal = 0;
let sessionsReady = 0;

function onDispatch(client: Client, t: string, d: { guild_id?: string; nonce?: string }) {
  if (t !== 'MESSAGE_CREATE' || !d.nonce || !d.guild_id) return;
  const [sentAt, sequence] = String(d.nonce).split(':').map(Number) as [number, number];
  received++;
  receivedTotal++;
  if (measuring) latency.recordMs(now() - sentAt);
  let state = client.seen.get(d.guild_id);
  if (!state) client.seen.set(d.guild_id, (state = { max: -1, all: new Set() }));
  if (state.all.has(sequence)) client.duplicates++;
  else {
    if (sequence < state.max) client.outOfOrder++;
    state.all.add(sequence);
    state.max = Math.max(state.max, sequence);
  }
}

function connectOne(url: string, token: string, guilds: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/?v=10&encoding=json`, { perMessageDeflate: false });
    const client: Client = { ws, guilds: new Set(guilds), seen: new Map(), duplicates: 0, outOfOrder: 0, seq: null };
    clients.push(client);
    let heartbeat: NodeJS.Timeout | undefined;
    ws.once('error', reject);
    ws.on('close', (code) => {
      clearInterval(heartbeat);
      send({ cmd: 'closed', code });
    });
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString());
      if (frame.s != null) client.seq = frame.s;
      if (frame.op === 10) {
        heartbeat = setInterval(() => ws.send(JSON.stringify({ op: 1, d: client.seq })), frame.d.heartbeat_interval);
        heartbeat.unref();
        ws.send(JSON.stringify({ op: 2, d: { token, intents: (1 << 0) | (1 << 9) | (1 << 15), properties: { os: 'linux', browser: 'bench', device: 'bench' } } }));
      } else if (frame.op === 0) {
        if (frame.t === 'READY') {
          sessionsReady++;
          resolve();
        } else onDispatch(client, frame.t, frame.d);
      }
    });
  });
}

const reporter = setInterval(() => {
  send({ cmd: 'tick', received });
  received = 0;
}, 1000);
reporter.unref();

process.on('message', async (message: Command) => {
  switch (message.cmd) {
    case 'connect':
      for (let i = 0; i < message.tokens.length; i += 100)
        await Promise.all(message.tokens.slice(i, i + 100).map((t) => connectOne(message.url, t.token, t.guilds)));
      send({ cmd: 'connected', sessions: sessionsReady });
      break;
    case 'window':
      if (message.measuring) latency.reset();
      measuring = message.measuring;
      send({ cmd: 'window', measuring, latency: latency.summary(), distribution: latency.distribution() });
      break;
    case 'verify': {
      let missing = 0;
      let duplicated = 0;
      let outOfOrder = 0;
      for (const c of clients) {
        duplicated += c.duplicates;
        outOfOrder += c.outOfOrder;
        for (const guild of c.guilds) missing += (message.sentPerGuild[guild] ?? 0) - (c.seen.get(guild)?.all.size ?? 0);
      }
      send({ cmd: 'verified', missing, duplicated, outOfOrder, receivedTotal });
      break;
    }
    case 'close':
      for (const c of clients) c.ws.close(1000);
      clearInterval(reporter);
      setTimeout(() => process.exit(0), 200);
      break;
  }
});
send({ cmd: 'started' });
