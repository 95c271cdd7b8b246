import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Kafka } from 'kafkajs';
import type { EventEnvelope } from '../core/events/envelope.ts';
import { createKafka } from '../core/kafka/client.ts';
import { topicNames } from '../core/kafka/topics.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import { tokenSecret, type EdgeConfig } from './config.ts';
import { startDeliveryConsumer, type DeliveryConsumer } from './consumer.ts';
import { EdgeGateway } from './gateway.ts';
import { createEdgeMetrics } from './metrics.ts';
import { attachGateway, gatewayRoutes } from './server.ts';
import { createTokenSigner } from './tokens.ts';

export interface EdgeDeps {
  logger: Logger;
  registry: Registry;
  /** Defaults to one built from the config. */
  kafka?: Kafka;
  /** false: no Kafka at all, events come only through `publish` (benchmarks). Default true. */
  consumeDeliveries?: boolean;
}

export interface Edge {
  /** HTTP base URL: REST clients use `${url}/api`. */
  readonly url: string;
  /** The websocket URL clients are given (EDGE_PUBLIC_URL, else this process's address). */
  readonly gatewayUrl: string;
  /** Resolves when the deliveries consumer owns its partitions. */
  ready(): Promise<void>;
  /** Fans an event out as if it had arrived on the deliveries topic. */
  publish(event: EventEnvelope): number;
  /** Drops a session's connection without a close frame (it stays resumable). */
  disconnect(sessionId: string): boolean;
  /** op 7 RECONNECT to every client, stop taking connections, wait EDGE_DRAIN_GRACE_MS. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** One edge process: HTTP (`/api/v10/gateway[/bot]`, `/metrics`) and the gateway on one port, fed from `deliveries`. */
export async function startEdge(config: EdgeConfig, deps: EdgeDeps): Promise<Edge> {
  const logger = deps.logger.child({ component: 'edge', node: config.EDGE_NODE_ID });
  const tokens = createTokenSigner(tokenSecret(config, (message) => logger.warn(message)));
  const metrics = createEdgeMetrics(deps.registry);
  let gatewayUrl = config.EDGE_PUBLIC_URL ?? '';
  const publicUrl = () => gatewayUrl;

  const app = Fastify({ logger: false });
  await app.register(gatewayRoutes, { publicUrl, tokens, maxConcurrency: config.EDGE_IDENTIFIES_PER_5S });
  app.get('/metrics', async (_request, reply) => reply.type(deps.registry.contentType).send(await deps.registry.metrics()));
  const gateway = new EdgeGateway(config, { tokens, metrics, logger, publicUrl });
  attachGateway(app.server, gateway);
  await app.listen({ port: config.EDGE_PORT, host: config.EDGE_HOST });
  const address = app.server.address() as AddressInfo;
  const host = config.EDGE_HOST === '0.0.0.0' || config.EDGE_HOST === '::' ? '127.0.0.1' : config.EDGE_HOST;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  gatewayUrl ||= url.replace(/^http/, 'ws');

  let consumer: DeliveryConsumer | undefined;
  if (deps.consumeDeliveries !== false) {
    try {
      consumer = await startDeliveryConsumer({
        kafka: deps.kafka ?? createKafka(config, logger),
        topic: topicNames(config).deliveries,
        deadLetterTopic: topicNames(config).deadLetter,
        groupId: `guildcast-edge-${config.EDGE_NODE_ID}`,
        metrics,
        logger,
        onEvent: (event) => gateway.publish(event),
      });
    } catch (err) {
      await Promise.allSettled([gateway.close(), app.close()]);
      throw err;
    }
  }
  logger.info({ url, gatewayUrl }, 'edge listening');

  return {
    url,
    gatewayUrl,
    ready: async () => consumer?.ready,
    publish: (event) => gateway.publish(event),
    disconnect: (sessionId) => gateway.disconnect(sessionId),
    drain: () => gateway.drain(config.EDGE_DRAIN_GRACE_MS),
    async close() {
      await consumer?.stop();
      await gateway.close();
      await app.close();
    },
  };
}
