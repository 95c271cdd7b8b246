import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Each process owns one registry; components register their metrics on the registry they are given
 * rather than on prom-client's global one, so several roles (and tests) can live in one process.
 */
export function createRegistry(role: string, { defaults = true } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  if (defaults) collectDefaultMetrics({ register: registry });
  return registry;
}

export { Registry } from 'prom-client';
