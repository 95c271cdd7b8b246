import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/config.ts';
import { loadRestProxyConfig } from './config.ts';

describe('loadRestProxyConfig', () => {
  it('defaults to one node with Discord’s global budget', () => {
    const config = loadRestProxyConfig({ DISCORD_TOKEN: 't' });
    expect(config).toMatchObject({ DISCORD_API_BASE: 'https://discord.com/api', REST_PROXY_GLOBAL_PER_SECOND: 50, REST_PROXY_PEERS: undefined });
  });

  it('takes a peer list with this node in it, trailing slashes dropped', () => {
    const config = loadRestProxyConfig({ REST_PROXY_PEERS: 'http://api-0.api:8082/, http://api-1.api:8082', REST_PROXY_SELF_URL: 'http://api-1.api:8082/' });
    expect(config.REST_PROXY_PEERS).toEqual(['http://api-0.api:8082', 'http://api-1.api:8082']);
    expect(config.REST_PROXY_SELF_URL).toBe('http://api-1.api:8082');
  });

  it('names the variable that is wrong', () => {
    const problem = (env: NodeJS.ProcessEnv) => {
      try {
        loadRestProxyConfig(env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems[0]!.variable;
      }
      throw new Error('expected a ConfigError');
    };
    expect(problem({ REST_PROXY_PEERS: 'http://a:1,ftp://b' })).toBe('REST_PROXY_PEERS');
    expect(problem({ REST_PROXY_PEERS: 'http://a:1,http://b:1' })).toBe('REST_PROXY_SELF_URL');
    expect(problem({ REST_PROXY_PEERS: 'http://a:1,http://b:1', REST_PROXY_SELF_URL: 'http://c:1' })).toBe('REST_PROXY_SELF_URL');
    expect(problem({ REST_PROXY_PEERS: 'http://a:1,http://a:1', REST_PROXY_SELF_URL: 'http://a:1' })).toBe('REST_PROXY_PEERS');
    expect(problem({ REST_PROXY_GLOBAL_PER_SECOND: '0' })).toBe('REST_PROXY_GLOBAL_PER_SECOND');
  });
});
