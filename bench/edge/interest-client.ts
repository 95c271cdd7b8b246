import { WebSocket } from 'ws';

/** GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT: every MESSAGE_CREATE of the bench reaches the session. */
const INTENTS = 1 | (1 << 9) | (1 << 15);

/**
 * One gateway session of the interest bench: IDENTIFYs (optionally sharded), heartbeats, and keeps
 * which bench messages (`d.n`) it got, so the bench can count missing, repeated and misrouted ones.
 * Parses every frame: the bench's rate is a few thousand frames per second at most.
 */
export class InterestClient {
  /** Bench message numbers received (MESSAGE_CREATE with a numeric `d.n`). */
  readonly received: number[] = [];
  closeCode: number | undefined;
  private readonly ws: WebSocket;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastSeq: number | null = null;
  private readyResolve!: () => void;
  readonly ready: Promise<void>;

  constructor(gatewayUrl: string, token: string, shard?: readonly [number, number]) {
    this.ready = new Promise((resolve) => (this.readyResolve = resolve));
    this.ws = new WebSocket(`${gatewayUrl}/?v=10&encoding=json`, { perMessageDeflate: false });
    this.ws.on('error', () => {});
    this.ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { op: number; s: number | null; t: string | null; d: any };
      if (frame.s !== null) this.lastSeq = frame.s;
      if (frame.op === 10) {
        // Twice as often as asked: on a loaded machine the session must not become a zombie.
        this.heartbeat = setInterval(() => this.send({ op: 1, d: this.lastSeq }), frame.d.heartbeat_interval / 2);
        this.send({ op: 2, d: { token, intents: INTENTS, properties: { os: 'linux', browser: 'bench', device: 'bench' }, ...(shard ? { shard } : {}) } });
      } else if (frame.op === 0 && frame.t === 'READY') this.readyResolve();
      else if (frame.op === 0 && frame.t === 'MESSAGE_CREATE' && typeof frame.d?.n === 'number') this.received.push(frame.d.n);
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      clearInterval(this.heartbeat);
    });
  }

  private send(frame: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.ws.terminate();
  }
}
