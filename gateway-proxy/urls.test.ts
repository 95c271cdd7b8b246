import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/config.ts';
import { loadEdgeConfig } from './config.ts';

describe('the edge URLs', () => {
  it('refuse anything but an absolute ws:// or wss:// URL, naming the variable', () => {
    for (const variable of ['EDGE_PUBLIC_URL', 'EDGE_GATEWAY_URL']) {
      for (const value of ['http://x', 'https://edge.example', 'edge.example:8080', '/gateway', 'ws://']) {
        let error: unknown;
        try {
          loadEdgeConfig({ [variable]: value });
        } catch (err) {
          error = err;
        }
        expect(error, `${variable}=${value}`).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toContain(variable);
      }
    }
  });

  it('accept ws:// and wss:// URLs, and default to unset (the node\'s own address)', () => {
    const config = loadEdgeConfig({ EDGE_PUBLIC_URL: 'ws://10.0.0.7:8080', EDGE_GATEWAY_URL: 'wss://gateway.example' });
    expect(config.EDGE_PUBLIC_URL).toBe('ws://10.0.0.7:8080');
    expect(config.EDGE_GATEWAY_URL).toBe('wss://gateway.example');
    const defaults = loadEdgeConfig({});
    expect(defaults.EDGE_PUBLIC_URL).toBeUndefined();
    expect(defaults.EDGE_GATEWAY_URL).toBeUndefined();
  });
});
