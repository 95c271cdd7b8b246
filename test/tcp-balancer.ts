import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP load balancer for tests: each new connection goes to the next backend in turn,
 * skipping backends that refuse it (a dead process), as a load balancer with connect-failure
 * retries would. It knows nothing of HTTP or websockets: a node that accepts TCP but answers 503
 * (draining) is still picked, as it would be by a plain TCP balancer.
 */
export class TcpBalancer {
  private server?: Server;
  private readonly open = new Set<Socket>();
  private next = 0;
  port = 0;
  /** Connections handed to each backend (by index), for reports. */
  readonly picks: number[];

  constructor(private readonly backends: readonly { host: string; port: number }[]) {
    this.picks = backends.map(() => 0);
  }

  async start(): Promise<this> {
    this.server = createServer((client) => {
      this.track(client);
      client.pause();
      client.on('error', () => client.destroy());
      this.pick(client, this.next++ % this.backends.length, 0);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /**
   * Tries every backend once, from this connection's own start (round-robin across connections),
   * so a dead backend costs one refused attempt, however many clients reconnect at the same time.
   */
  private pick(client: Socket, start: number, tried: number): void {
    if (client.destroyed) return;
    if (tried >= this.backends.length) return void client.destroy();
    const index = (start + tried) % this.backends.length;
    const upstream = connect(this.backends[index]!);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.picks[index]!++;
      this.track(upstream);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (connected) return void upstream.destroy();
      this.pick(client, start, tried + 1);
    });
  }

  private track(socket: Socket): void {
    this.open.add(socket);
    socket.on('close', () => this.open.delete(socket));
  }
}
