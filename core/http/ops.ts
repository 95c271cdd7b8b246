import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

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

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
