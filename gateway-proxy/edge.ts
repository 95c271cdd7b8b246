import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { EventEnvelope } from '../core/events/envelope.ts';
import type { KafkaClient } from '../core/kafka/types.ts';
import { httpBaseUrl } from '../core/http/address.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import { tokenSecret, type EdgeConfig } from './config.ts';
import type { DeliverySource } from './delivery-source.ts';
import { EdgeGateway } from './gateway.ts';
import type { GuildStateReader } from './guild-cache.ts';
import { kafkaDeliverySource } from './kafka-delivery-source.ts';
import { createEdgeMetrics } from './metrics.ts';
import { readsPartition } from './partition-scope.ts';
import { attachGateway, gatewayRoutes } from './server.ts';
import type { SessionStore } from './session-store.ts';
import { createTokenSigner } from './tokens.ts';

export interface EdgeDeps {
  logger: Logger;
  registry: Registry;
  /** The edge's feed; default: the `deliveries` topic (kafka-delivery-source.ts) through `kafka`. */
  deliveries?: DeliverySource;
  /** The client the default feed reads through; defaults to one built from the config. */
  kafka?: KafkaClient;
  /** false: no feed at all, events come only through `publish` (benchmarks). Default true. */
  consumeDeliveries?: boolean;
  /** The feed cannot be brought back (the host's `fatal`); default: logged only. */
  fatal?: (reason: Error) => void;
  /** Sessions stored here can be resumed on any node, and READY's resume_gateway_url is the fleet's; none: sessions live in this process. */
  sessionStore?: SessionStore;
  /** Guild state for the partitions sessions read (the store's guild-state reader); none: only what the stream shows this node. */
  guildStates?: GuildStateReader;
}

export interface Edge {
  /** HTTP base URL: REST clients use `${url}/api`. */
  readonly url: string;
  /** The fleet's websocket URL that /gateway hands out (EDGE_GATEWAY_URL, else the node's). */
  readonly gatewayUrl: string;
  /** This node's own websocket URL, READY's resume_gateway_url (EDGE_PUBLIC_URL, else this process's address). */
  readonly nodeUrl: string;
  /** Resolves when the deliveries consumer first reads from its positions. */
  ready(): Promise<void>;
  /** Why this edge is not reading deliveries right now, or undefined while it is. */
  feedProblem(): string | undefined;
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
  /** Resolves when the deliveries consumer first reads from its positions (at once without one). */
  ready(): Promise<void>;
  /** Why this edge is not reading deliveries right now, or undefined while it is (always, without a consumer). */
  feedProblem(): string | undefined;
  /** op 7 RECONNECT to every client, stop taking connections, wait EDGE_DRAIN_GRACE_MS. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Puts the edge on an existing fastify app before it listens: `/api/v10/gateway[/bot]` and the
 * websocket upgrade on the same server, fed from `deliveries`. `baseUrl()` is the app's HTTP
 * address once it listens. /gateway hands out the fleet's URL (EDGE_GATEWAY_URL), so a client that
 * lost its node comes back through the load balancer; only READY's resume_gateway_url names this
 * node (EDGE_PUBLIC_URL, else that address), so a RESUME reaches the process holding the session.
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
  const gatewayUrl = () => config.EDGE_GATEWAY_URL ?? publicUrl();

  await app.register(gatewayRoutes, { gatewayUrl, tokens, maxConcurrency: config.EDGE_IDENTIFIES_PER_5S });
  const feed = deps.consumeDeliveries === false ? undefined : (deps.deliveries ?? kafkaDeliverySource(config, deps.kafka ? { kafka: deps.kafka } : {}));
  // With a session store any node resumes any session: RESUME may go through the balancer.
  const resumeUrl = deps.sessionStore && feed ? gatewayUrl : publicUrl;
  const gateway = new EdgeGateway(config, {
    tokens,
    metrics,
    logger,
    publicUrl: resumeUrl,
    ...(feed ? { source: feed } : {}),
    ...(deps.sessionStore ? { sessionStore: deps.sessionStore } : {}),
    ...(deps.guildStates ? { guildStates: deps.guildStates } : {}),
  });
  const detach = attachGateway(app.server, gateway);

  if (feed) {
    try {
      await feed.start({
        metrics,
        logger,
        onEvent: (event, origin) => {
          const sessions = gateway.publish(event, origin);
          if (logger.isLevelEnabled('debug')) logger.debug({ trace_id: event.trace_id, type: event.type, guild_id: event.guild_id, sessions }, 'event delivered');
        },
        onLoss: ({ partition, partitions }) => {
          const invalidated = gateway.invalidateSessions((session) => readsPartition(session, partition, partitions));
          metrics.sessionsInvalidated.inc(invalidated);
          logger.warn({ partition, invalidated }, 'sessions sent op 9: deliveries they needed are gone');
        },
        onFatal: (reason) => {
          if (deps.fatal) deps.fatal(reason);
          else logger.fatal({ err: reason }, 'the deliveries consumer cannot be restarted; this edge receives nothing');
        },
      });
    } catch (err) {
      detach();
      await gateway.close();
      throw err;
    }
  }
  // No partition is read until a session needs it (interest.ts): IDENTIFY and RESUME want theirs.
  return {
    gateway,
    ready: async () => feed?.ready(),
    feedProblem: () => feed?.problem(),
    drain: () => gateway.drain(config.EDGE_DRAIN_GRACE_MS),
    async close() {
      await feed?.stop();
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
  const nodeUrl = config.EDGE_PUBLIC_URL ?? url.replace(/^http/, 'ws');
  const gatewayUrl = config.EDGE_GATEWAY_URL ?? nodeUrl;
  deps.logger.info({ url, gatewayUrl, nodeUrl, node: config.EDGE_NODE_ID }, 'edge listening');

  return {
    url,
    gatewayUrl,
    nodeUrl,
    ready: () => mounted.ready(),
    feedProblem: () => mounted.feedProblem(),
    publish: (event) => mounted.gateway.publish(event),
    disconnect: (sessionId) => mounted.gateway.disconnect(sessionId),
    drain: () => mounted.drain(),
    async close() {
      await mounted.close();
      await app.close();
    },
  };
}
