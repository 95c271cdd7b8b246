import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { groupLag } from '../../core/kafka/lag.ts';
import { endOffsetTotal } from '../../core/kafka/read-to-end.ts';
import type { Admin } from '../../core/kafka/types.ts';

export interface ConsoleOptions {
  admin: Admin;
  registry: Registry;
  topics: { events: string; deliveries: string };
  fanoutGroupId: string;
  /** Where the browser's websocket connects, and with which token (development), resolved per request. */
  gatewayUrl(): string;
  token?: string;
  ingestToken?: string;
}

const assets: Record<string, string> = {
  '/': 'index.html',
  '/console/console.js': 'console.js',
  '/console/console.css': 'console.css',
};
const types: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/**
 * The live console: a static page that is itself a gateway client (bin/console/), plus two small
 * JSON endpoints: its configuration, and stats taken from Kafka (delivery rate, fanout lag) and
 * from this process's metrics (sessions, when the edge runs in it).
 */
export const consoleRoutes: FastifyPluginAsync<ConsoleOptions> = async (app, options) => {
  for (const [path, file] of Object.entries(assets)) {
    const body = await readFile(new URL(`../console/${file}`, import.meta.url), 'utf8');
    app.get(path, async (_request, reply) => reply.type(types[file.split('.').pop()!]!).header('cache-control', 'no-cache').send(body));
  }

  app.get('/api/console/config', async () => ({
    gatewayUrl: options.gatewayUrl(),
    ...(options.token ? { token: options.token } : {}),
    ...(options.ingestToken ? { ingestToken: options.ingestToken } : {}),
  }));

  const deliveries = new DeliveryRate(options.admin, options.topics.deliveries);
  app.get('/api/console/stats', async () => {
    const lag = await groupLag(options.admin, options.fanoutGroupId, options.topics.events).catch(() => undefined);
    const sessions = (await options.registry.getSingleMetric('guildcast_edge_sessions')?.get())?.values.reduce((s, v) => s + v.value, 0);
    return {
      messagesPerSecond: await deliveries.perSecond(),
      consumerLag: lag?.reduce((s, p) => s + p.lag, 0) ?? null,
      sessions: sessions ?? null,
    };
  });
};

/**
 * Events per second reaching the edge, from the growth of the deliveries topic's end offsets
 * between two stats requests: measured only while a console is polling, no background I/O.
 */
class DeliveryRate {
  private last?: { at: number; total: number };
  private rate = 0;

  constructor(private readonly admin: Admin, private readonly topic: string) {}

  async perSecond(): Promise<number> {
    try {
      const total = Number(await endOffsetTotal(this.admin, this.topic));
      const at = Date.now();
      if (this.last && at > this.last.at) this.rate = ((total - this.last.total) * 1000) / (at - this.last.at);
      this.last = { at, total };
    } catch {
      /* Kafka briefly unavailable: keep the last figure */
    }
    return this.rate;
  }
}
