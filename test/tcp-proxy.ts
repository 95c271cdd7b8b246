import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy a test can cut: `pause()` drops every open connection and refuses new ones,
 * as a dead server would; `resume()` lets clients back in. Used to make one process lose its
 * database without stopping the database others share.
 */
export class TcpProxy {
  private server?: Server;
  private readonly open = new Set<Socket>();
  private paused = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      if (this.paused) return client.destroy();
      const upstream = connect(this.target);
      for (const s of [client, upstream]) {
        this.open.add(s);
        s.on('close', () => this.open.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as { port: number }).port;
    return this;
  }

  pause(): void {
    this.paused = true;
    for (const s of this.open) s.destroy();
  }

  resume(): void {
    this.paused = false;
  }

  async close(): Promise<void> {
    this.pause();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
