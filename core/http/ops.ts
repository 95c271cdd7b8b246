import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { withTimeout } from '../async/with-timeout.ts';

export interface ReadinessCheck {
  name: string;
  /** Resolves when the dependency works; rejects (with a reason) when it does not. */
  check(): Promise<void>;
}

/**
 * `/healthz` (the process is alive), `/readyz` (every readiness check passes: Kafka, Cassandra,
 * partitions assigned...) and `/metrics` (Prometheus text). Every role mounts this plugin.
 */
export function opsRoutes(registry: Registry, checks: () => ReadinessCheck[]): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
      const results = await Promise.all(
        checks().map(async (c) => {
          try {
            await withTimeout(c.check(), 3000);
            return { name: c.name, ok: true as const };
          } catch (err) {
            return { name: c.name, ok: false as const, reason: (err as Error).message };
          }
        }),
      );
      const ready = results.every((r) => r.ok);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: results });
    });
    app.get('/metrics', async (_request, reply) => {
      reply.header('Content-Type', registry.contentType);
      return registry.metrics();
    });
  };
}
