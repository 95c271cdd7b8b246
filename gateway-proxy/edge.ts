import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Kafka } from 'kafkajs';
import type { EventEnvelope } from '../core/events/envelope.ts';
import { createKafka } from '../core/kafka/client.ts';
import { ensureTopics, standardTopics, topicNames } from '../core/kafka/topics.ts';
import { httpBaseUrl } from '../core/http/address.ts';
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

/** What mounting the edge on an HTTP server gives back. */
export interface MountedEdge {
  gateway: EdgeGateway;
  /** Resolves when the deliveries consumer owns its partitions (at once without one). */
  ready(): Promise<void>;
  /** op 7 RECONNECT to every client, stop taking connections, wait EDGE_DRAIN_GRACE_MS. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Puts the edge on an existing fastify app before it listens: `/api/v10/gateway[/bot]` and the
 * websocket upgrade on the same server, fed from `deliveries`. `baseUrl()` is the app's HTTP
 * address once it listens; the gateway URL handed to clients is EDGE_PUBLIC_URL, else that address.
 */
export async function mountEdge(
  app: FastifyInstance,
  config: EdgeConfig,
  deps: EdgeDeps & { baseUrl: () => string },
): Promise<MountedEdge> {
  const logger = deps.logger.child({ component: 'edge', node: config.EDGE_NODE_ID });
  const tokens = createTokenSigner(tokenSecret(config, (message) => logger.warn(message)));
  const metrics = createEdgeMetrics(deps.registry);
  const publicUrl = () => config.EDGE_PUBLIC_URL ?? deps.baseUrl().replace(/^http/, 'ws');

  await app.register(gatewayRoutes, { publicUrl, tokens, maxConcurrency: config.EDGE_IDENTIFIES_PER_5S });
  const gateway = new EdgeGateway(config, { tokens, metrics, logger, publicUrl });
  const detach = attachGateway(app.server, gateway);

  let consumer: DeliveryConsumer | undefined;
  if (deps.consumeDeliveries !== false) {
    try {
      const kafka = deps.kafka ?? createKafka(config, logger);
      const names = topicNames(config);
      const admin = kafka.admin();
      await admin.connect();
      await ensureTopics(admin, standardTopics(config).filter((t) => t.name === names.deliveries || t.name === names.deadLetter), logger).finally(() => admin.disconnect());
      consumer = await startDeliveryConsumer({
        kafka,
        topic: topicNames(config).deliveries,
        deadLetterTopic: topicNames(config).deadLetter,
        groupId: `guildcast-edge-${config.EDGE_NODE_ID}`,
        metrics,
        logger,
        onEvent: (event) => {
          const sessions = gateway.publish(event);
          if (logger.isLevelEnabled('debug')) logger.debug({ trace_id: event.trace_id, type: event.type, guild_id: event.guild_id, sessions }, 'event delivered');
        },
      });
    } catch (err) {
      detach();
      await gateway.close();
      throw err;
    }
  }
  return {
    gateway,
    ready: async () => consumer?.ready,
    drain: () => gateway.drain(config.EDGE_DRAIN_GRACE_MS),
    async close() {
      await consumer?.stop();
      await gateway.close();
      detach();
    },
  };
}

/** One edge process on its own port (tests, benchmarks): the mounted edge plus `/metrics`. */
export async function startEdge(config: EdgeConfig, deps: EdgeDeps): Promise<Edge> {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => reply.type(deps.registry.contentType).send(await deps.registry.metrics()));
  let url = '';
  let mounted: MountedEdge;
  try {
    mounted = await mountEdge(app, config, { ...deps, baseUrl: () => url });
  } catch (err) {
    await app.close();
    throw err;
  }
  await app.listen({ port: config.EDGE_PORT, host: config.EDGE_HOST });
  url = httpBaseUrl(app.server.address() as AddressInfo, config.EDGE_HOST);
  const gatewayUrl = config.EDGE_PUBLIC_URL ?? url.replace(/^http/, 'ws');
  deps.logger.info({ url, gatewayUrl, node: config.EDGE_NODE_ID }, 'edge listening');

  return {
    url,
    gatewayUrl,
    ready: () => mounted.ready(),
    publish: (event) => mounted.gateway.publish(event),
    disconnect: (sessionId) => mounted.gateway.disconnect(sessionId),
    drain: () => mounted.drain(),
    async close() {
      await mounted.close();
      await app.close();
    },
  };
}
