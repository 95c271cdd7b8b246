import { describe, expect, it } from 'vitest';
import { ConfigError, env, loadEnv, MAX_TIMER_MS, type EnvSchema } from './config.ts';
import { kafkaEnv, loadKafkaConfig } from './kafka/config.ts';
import { logEnv, loadLogLevel } from './logger.ts';
import { loadStoreConfig, storeEnv } from '../store/config.ts';
import { ingestEnv } from '../ingest/config.ts';
import { fanoutEnv, loadFanoutConfig } from '../fanout/config.ts';
import { edgeEnv, loadEdgeConfig } from '../gateway-proxy/config.ts';
import { apiEnv } from '../bin/roles/api-config.ts';
import { startRole } from '../test/child.ts';

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

describe('bounds the runtime can honour', () => {
  const roleSchemas: [string, EnvSchema][] = [
    ['kafka', kafkaEnv],
    ['store', storeEnv],
    ['ingest', ingestEnv],
    ['fanout', fanoutEnv],
    ['edge', edgeEnv],
    ['api', apiEnv],
    ['logger', logEnv],
  ];
  const numeric = roleSchemas.flatMap(([role, schema]) =>
    Object.entries(schema)
      .filter(([, type]) => typeof type.safeParse(undefined).data === 'number')
      .map(([variable, type]) => ({ role, variable, type })),
  );

  it('finds the numeric settings', () => {
    expect(numeric.length).toBeGreaterThan(40);
    expect(numeric.map((n) => n.variable)).toContain('EDGE_RESUME_WINDOW_MS');
  });

  it('every duration refuses what a Node timer cannot hold (2^31 ms)', () => {
    const durations = numeric.filter((n) => n.variable.endsWith('_MS'));
    const accepted = durations.filter(({ type }) => type.safeParse(String(MAX_TIMER_MS + 1)).success).map((n) => n.variable);
    expect(accepted).toEqual([]);
    expect(durations.length).toBeGreaterThan(15);
  });

  it('every numeric setting has an upper bound below what a number holds exactly', () => {
    const accepted = numeric.filter(({ type }) => type.safeParse(String(Number.MAX_SAFE_INTEGER)).success).map((n) => n.variable);
    expect(accepted).toEqual([]);
  });

  it('every port is a TCP port', () => {
    const ports = numeric.filter((n) => n.variable.endsWith('_PORT'));
    expect(ports.length).toBeGreaterThanOrEqual(4);
    expect(ports.filter(({ type }) => type.safeParse('65536').success).map((n) => n.variable)).toEqual([]);
    expect(() => loadKafkaConfig({ KAFKA_BROKERS: '127.0.0.1:99999' })).toThrow(/KAFKA_BROKERS/);
  });

  it('env.duration cannot be declared longer than a timer holds', () => {
    expect(() => env.duration(1, { max: 2 ** 31 })).toThrow(RangeError);
    expect(loadEnv({ T: env.duration(5) }, { T: String(MAX_TIMER_MS) }).T).toBe(MAX_TIMER_MS);
  });

  it('refuses EDGE_RESUME_WINDOW_MS=3000000000, which would expire every session after 1 ms', () => {
    expect(() => loadEdgeConfig({ EDGE_RESUME_WINDOW_MS: '3000000000' })).toThrow(/EDGE_RESUME_WINDOW_MS: expected milliseconds from 0 to/);
  });

  it('refuses a retry minimum above its maximum, naming both', () => {
    let error: unknown;
    try {
      loadFanoutConfig({ FANOUT_RETRY_MIN_MS: '6000', FANOUT_RETRY_MAX_MS: '5000' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('FANOUT_RETRY_MIN_MS: expected at most FANOUT_RETRY_MAX_MS (5000), got "6000"');
    expect(loadFanoutConfig({ FANOUT_RETRY_MIN_MS: '5000', FANOUT_RETRY_MAX_MS: '5000' }).FANOUT_RETRY_MIN_MS).toBe(5000);
  });

  it('refuses LOG_LEVEL=verbose naming LOG_LEVEL', () => {
    expect(() => loadLogLevel({ LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
    expect(() => loadLogLevel({ LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "verbose"/);
    expect(loadLogLevel({})).toBe('info');
  });

  it('refuses topic prefixes Kafka would refuse and replication without any replica', () => {
    expect(() => loadKafkaConfig({ KAFKA_TOPIC_PREFIX: 'my topics' })).toThrow(/KAFKA_TOPIC_PREFIX/);
    expect(() => loadStoreConfig({ CASSANDRA_REPLICATION: 'SimpleStrategy:0' })).toThrow(/CASSANDRA_REPLICATION/);
    expect(() => loadStoreConfig({ CASSANDRA_REPLICATION: 'NetworkTopologyStrategy:dc1=0' })).toThrow(/CASSANDRA_REPLICATION/);
    expect(loadStoreConfig({ CASSANDRA_REPLICATION: 'NetworkTopologyStrategy:dc1=3,dc2=0' }).CASSANDRA_REPLICATION).toEqual({ class: 'NetworkTopologyStrategy', dc1: 3, dc2: 0 });
  });
});

describe('role processes refuse bad values at start, naming the variable', () => {
  // Pointed at ports nothing listens on: a process that wrongly starts touches no shared server.
  const nowhere = { KAFKA_BROKERS: '127.0.0.1:1', CASSANDRA_CONTACT_POINTS: '127.0.0.1:1', KAFKA_TOPIC_PREFIX: 'config-test-nowhere' };
  const cases: [string, Record<string, string>, RegExp][] = [
    ['ingest/main.ts', { LOG_LEVEL: 'verbose', INGEST_HTTP_TOKEN: 't', INGEST_HTTP_PORT: '0' }, /LOG_LEVEL: expected one of/],
    ['gateway-proxy/main.ts', { EDGE_RESUME_WINDOW_MS: '3000000000', EDGE_PORT: '0' }, /EDGE_RESUME_WINDOW_MS: expected milliseconds/],
    ['fanout/main.ts', { FANOUT_RETRY_MIN_MS: '6000', FANOUT_RETRY_MAX_MS: '5000', FANOUT_HTTP_PORT: '0' }, /FANOUT_RETRY_MIN_MS: expected at most FANOUT_RETRY_MAX_MS/],
  ];
  for (const [entry, env_, message] of cases)
    it(`${entry} with ${Object.keys(env_)[0]}=${Object.values(env_)[0]} exits 2`, async () => {
      const role = startRole(entry, { ...nowhere, ...env_ });
      const exited = await Promise.race([role.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 45_000))]);
      await role.kill('SIGKILL');
      expect({ exited, named: message.test(role.output()) }, role.output().slice(-2000)).toEqual({ exited: 2, named: true });
    }, 60_000);
});
