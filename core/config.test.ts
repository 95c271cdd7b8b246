import { describe, expect, it } from 'vitest';
import { ConfigError, env, loadEnv } from './config.ts';
import { loadKafkaConfig } from './kafka/config.ts';
import { loadStoreConfig } from '../store/config.ts';

describe('loadEnv', () => {
  const schema = { PORT: env.int(8080, { min: 1, max: 65535 }), MODE: env.oneOf(['a', 'b'] as const, 'a'), ON: env.bool(false) };

  it('applies defaults when variables are unset or empty', () => {
    expect(loadEnv(schema, { PORT: '' })).toEqual({ PORT: 8080, MODE: 'a', ON: false });
  });

  it('parses set values', () => {
    expect(loadEnv(schema, { PORT: '9000', MODE: 'b', ON: 'yes' })).toEqual({ PORT: 9000, MODE: 'b', ON: true });
  });

  it('names every bad variable, what it expects and what it got', () => {
    let error: unknown;
    try {
      loadEnv(schema, { PORT: '70000', MODE: 'c', ON: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PORT: expected an integer from 1 to 65535, got "70000"');
    expect(message).toContain('MODE: expected one of a, b, got "c"');
    expect(message).toContain('ON: expected true or false, got "maybe"');
    expect((error as ConfigError).problems.map((p) => p.variable)).toEqual(['PORT', 'MODE', 'ON']);
  });

  it('rejects a non-numeric integer', () => {
    expect(() => loadEnv(schema, { PORT: '80a' })).toThrow(/PORT: expected an integer/);
  });
});

describe('role configs', () => {
  it('default to the local infrastructure', () => {
    expect(loadKafkaConfig({}).KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    const store = loadStoreConfig({});
    expect(store.CASSANDRA_CONTACT_POINTS).toEqual(['127.0.0.1:9042']);
    expect(store.CASSANDRA_REPLICATION).toEqual({ class: 'SimpleStrategy', replication_factor: 1 });
  });

  it('reject malformed broker lists and keyspaces', () => {
    expect(() => loadKafkaConfig({ KAFKA_BROKERS: 'localhost' })).toThrow(/KAFKA_BROKERS: expected a comma-separated list of host:port/);
    expect(() => loadStoreConfig({ CASSANDRA_KEYSPACE: 'drop table;' })).toThrow(/CASSANDRA_KEYSPACE/);
  });

  it('parses NetworkTopologyStrategy replication and rejects nonsense', () => {
    expect(loadStoreConfig({ CASSANDRA_REPLICATION: 'NetworkTopologyStrategy:dc1=3,dc2=2' }).CASSANDRA_REPLICATION).toEqual({
      class: 'NetworkTopologyStrategy',
      dc1: 3,
      dc2: 2,
    });
    expect(() => loadStoreConfig({ CASSANDRA_REPLICATION: 'NetworkTopologyStrategy:dc1' })).toThrow(/CASSANDRA_REPLICATION: expected SimpleStrategy/);
    expect(() => loadStoreConfig({ CASSANDRA_REPLICATION: 'Everywhere' })).toThrow(/CASSANDRA_REPLICATION/);
  });
});
