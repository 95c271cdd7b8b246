import type { HostContext, RunningRole } from '../core/process/host.ts';
import type { EdgeConfig } from './config.ts';
import { mountEdge } from './edge.ts';

/** The edge as a hosted role: mounted on the process's server; SIGTERM drains (op 7) before closing. */
export async function startEdgeRole(config: EdgeConfig, { logger, registry, app, baseUrl }: HostContext): Promise<RunningRole & { gatewayUrl(): string }> {
  const edge = await mountEdge(app, config, { logger, registry, baseUrl });
  let consumerReady = false;
  void edge.ready().then(() => (consumerReady = true));
  return {
    name: 'edge',
    gatewayUrl: () => config.EDGE_PUBLIC_URL ?? baseUrl().replace(/^http/, 'ws'),
    checks: [
      {
        name: 'deliveries consumer',
        check: async () => {
          if (!consumerReady) throw new Error('not yet reading the deliveries topic');
        },
      },
    ],
    async close() {
      await edge.drain();
      await edge.close();
    },
  };
}
