import { WebSocket } from 'ws';
import { LatencyRecorder } from '../kit/latency.ts';

/**
 * The bench's client side, in its own process so it does not share the edge's event loop: opens N
 * sockets, IDENTIFYs on the gateway ones, counts messages, and records receive time minus the
 * publish time carried in `d.t` (both processes read the same monotonic clock via timeOrigin).
 */
type Command =
  | { cmd: 'connect'; url: string; count: number; gateway: boolean; token: string }
  | { cmd: 'expect'; total: number }
  | { cmd: 'measure'; on: boolean }
  | { cmd: 'stats' }
  | { cmd: 'close' };

const reply = (message: unknown) => process.send!(message);
const now = () => performance.timeOrigin + performance.now();
let sockets: WebSocket[] = [];
let received = 0;
let target = Infinity;
let measuring = false;
const latency = new LatencyRecorder();

/** Every 10th socket parses and records latency; the rest only count, so the client stays cheap. */
function onSampledData(data: Buffer) {
  received++;
  if (measuring) {
    const frame = JSON.parse(data.toString());
    if (frame.d?.t !== undefined) latency.recordMs(now() - frame.d.t);
  }
  checkTarget();
}

function onData() {
  received++;
  checkTarget();
}

function checkTarget() {
  if (received < target) return;
  target = Infinity;
  reply({ cmd: 'reached', received });
}

async function connect(url: string, count: number, gateway: boolean, token: string) {
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, () => new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(gateway ? `${url}/?v=10&encoding=json` : url, { perMessageDeflate: false });
        const listener = sockets.length % 10 === 0 ? onSampledData : onData;
        sockets.push(ws);
        ws.once('error', reject);
        if (!gateway) {
          ws.once('open', () => {
            ws.on('message', listener);
            resolve();
          });
          return;
        }
        const handshake = (data: Buffer) => {
          const frame = JSON.parse(data.toString());
          if (frame.op === 10) ws.send(JSON.stringify({ op: 2, d: { token, intents: (1 << 9) | (1 << 15), properties: {} } }));
          if (frame.t === 'READY') {
            ws.off('message', handshake);
            ws.on('message', listener);
            resolve();
          }
        };
        ws.on('message', handshake);
      })),
    );
  }
}

process.on('message', async (message: Command) => {
  switch (message.cmd) {
    case 'connect':
      await connect(message.url, message.count, message.gateway, message.token);
      received = 0;
      return reply({ cmd: 'connected' });
    case 'expect':
      target = message.total;
      return checkTarget();
    case 'measure':
      measuring = message.on;
      latency.reset();
      return;
    case 'stats':
      return reply({ cmd: 'stats', received, latency: latency.summary() });
    case 'close':
      for (const ws of sockets) ws.terminate();
      sockets = [];
      received = 0;
      return reply({ cmd: 'closed' });
  }
});
reply({ cmd: 'started' });
