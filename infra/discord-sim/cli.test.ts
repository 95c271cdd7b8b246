import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/config.ts';
import { silentLogger } from '../../core/logger.ts';
import { loadSimulatorConfig, runSimulatorCli } from './cli.ts';

describe('gateway simulator CLI', () => {
  it('reads its settings from the environment, with defaults', () => {
    const config = loadSimulatorConfig({ SIM_SHARDS: '4', SIM_SHAPE: 'bursty' });
    expect(config).toMatchObject({ SIM_PORT: 7878, SIM_SHARDS: 4, SIM_SHAPE: 'bursty', SIM_GUILDS: 100, SIM_TOKEN: 'sim-token' });
  });

  it('names the variable that is wrong', () => {
    expect(() => loadSimulatorConfig({ SIM_SHAPE: 'spiky', SIM_RATE: 'fast' })).toThrow(ConfigError);
    expect(() => loadSimulatorConfig({ SIM_SHAPE: 'spiky' })).toThrow(/SIM_SHAPE/);
    expect(() => loadSimulatorConfig({ SIM_CONTENT_MIN: '100', SIM_CONTENT_MAX: '10' })).toThrow(/SIM_CONTENT_MIN/);
  });

  it('starts a simulator that serves /gateway/bot with the configured shard count', async () => {
    const sim = await runSimulatorCli({ SIM_PORT: '0', SIM_RATE: '0', SIM_SHARDS: '3', SIM_GUILDS: '6', SIM_TOKEN: 'cli-token' }, silentLogger);
    try {
      expect(sim.guildIds).toHaveLength(6);
      const res = await fetch(`${sim.apiBase}/v10/gateway/bot`, { headers: { Authorization: 'Bot cli-token' } });
      expect(await res.json()).toMatchObject({ url: sim.gatewayUrl, shards: 3 });
    } finally {
      await sim.close();
    }
  });
});
