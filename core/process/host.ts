import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ConfigError } from '../config.ts';
import { httpBaseUrl } from '../http/address.ts';
import { opsRoutes, type ReadinessCheck } from '../http/ops.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createRegistry, type Registry } from '../metrics.ts';

/** What a started role hands back to the process that hosts it. */
export interface RunningRole {
  name: string;
  checks: ReadinessCheck[];
  /** Stop intake, finish or hand back in-flight work, release connections; resolves when done. */
  close(): Promise<void>;
}

export interface HostContext {
  logger: Logger;
  registry: Registry;
  /** The process's HTTP server, not yet listening: roles add their routes and upgrade handlers. */
  app: FastifyInstance;
  /** `http://host:port` of that server once it listens (empty before). */
  baseUrl(): string;
  /**
   * A role whose work has stopped for good (a consumer that cannot be restarted, say) calls this:
   * the process turns unready at once, shuts down within the bound and exits 1, so the supervisor
   * (Kubernetes, systemd, the test) restarts it instead of it idling behind a green /readyz.
   */
  fatal(reason: Error): void;
}

export interface HostOptions {
  /** Process name for logs and the `role` metric label. */
  name: string;
  /** Where /healthz, /readyz and /metrics are served. Port 0 picks a free one. */
  ops: { host: string; port: number };
  shutdownTimeoutMs: number;
  start(context: HostContext): Promise<RunningRole[]>;
}

/**
 * Runs roles as a process: logs, metrics, health endpoints, and a bounded graceful shutdown on
 * SIGTERM/SIGINT (a second signal, or the bound passing, exits at once). A configuration error
 * prints the message naming the variable and exits 2, without a stack trace.
 */
export async function host(options: HostOptions): Promise<{ app: FastifyInstance; baseUrl: string; stop(): Promise<void> }> {
  const logger = loadOrExit(() => createLogger(options.name));
  const registry = createRegistry(options.name);
  let roles: RunningRole[] = [];
  let baseUrl = '';
  const app: FastifyInstance = Fastify({
    // Request lines are info-level noise at thousands per second; errors still come through.
    loggerInstance: logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
  });
  let failed: Error | undefined;
  const fatalCheck = {
    name: 'process',
    check: async () => {
      if (failed) throw new Error(`stopping after a fatal error: ${failed.message}`);
    },
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const timer = setTimeout(() => {
        logger.error({ timeoutMs: options.shutdownTimeoutMs }, 'graceful shutdown took too long; exiting');
        process.exit(1);
      }, options.shutdownTimeoutMs);
      timer.unref();
      // Reverse start order: the edge drains before fanout stops feeding it, and so on.
      for (const role of [...roles].reverse()) {
        try {
          await role.close();
          logger.info({ role: role.name }, 'stopped');
        } catch (err) {
          logger.error({ err, role: role.name }, 'error while stopping');
        }
      }
      await app.close();
      clearTimeout(timer);
    })());
  const fatal = (reason: Error) => {
    if (failed) return;
    failed = reason;
    logger.fatal({ err: reason }, 'a role stopped working; shutting down to be restarted');
    void stop().finally(() => process.exit(1));
  };
  const context: HostContext = { logger, registry, app, baseUrl: () => baseUrl, fatal };
  await app.register(opsRoutes(registry, () => [fatalCheck, ...roles.flatMap((r) => r.checks)]));
  try {
    roles = await options.start(context);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    logger.fatal({ err }, 'start-up failed');
    process.exit(1);
  }
  await app.listen({ host: options.ops.host, port: options.ops.port });
  baseUrl = httpBaseUrl(app.server.address() as AddressInfo, options.ops.host);
  logger.info({ url: baseUrl, roles: roles.map((r) => r.name) }, 'started');

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    void stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return { app, baseUrl, stop };
}

/** For config loaders called before the host: the same clean exit on a ConfigError. */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
