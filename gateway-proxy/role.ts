import type { HostContext, RunningRole } from '../core/process/host.ts';
import type { EdgeConfig } from './config.ts';
import { mountEdge } from './edge.ts';

/**
 * The edge as a hosted role: mounted on the process's server; SIGTERM drains (op 7) before
 * closing. Ready while its deliveries consumer is reading now, not merely once joined: a crashed,
 * restarting or stalled consumer turns /readyz red, and one that cannot be restarted stops the process.
 */
export async function startEdgeRole(config: EdgeConfig, { logger, registry, app, baseUrl, fatal }: HostContext): Promise<RunningRole & { gatewayUrl(): string }> {
  const edge = await mountEdge(app, config, { logger, registry, baseUrl, fatal });
  return {
    name: 'edge',
    gatewayUrl: () => config.EDGE_GATEWAY_URL ?? config.EDGE_PUBLIC_URL ?? baseUrl().replace(/^http/, 'ws'),
    checks: [
      {
        name: 'deliveries consumer',
        check: async () => {
          const problem = edge.feedProblem();
          if (problem) throw new Error(problem);
        },
      },
    ],
    async close() {
      await edge.drain();
      await edge.close();
    },
  };
}
