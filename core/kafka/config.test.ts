import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { createKafka } from './client.ts';
import { loadKafkaConfig } from './config.ts';

describe('KAFKA_CLIENT', () => {
  it('defaults to kafkajs and takes platformatic', () => {
    expect(loadKafkaConfig({}).KAFKA_CLIENT).toBe('kafkajs');
    expect(loadKafkaConfig({ KAFKA_CLIENT: 'platformatic' }).KAFKA_CLIENT).toBe('platformatic');
  });

  it('refuses anything else with a message naming the variable', () => {
    expect(() => loadKafkaConfig({ KAFKA_CLIENT: 'rdkafka' })).toThrow(/KAFKA_CLIENT: expected "kafkajs" or "platformatic", got "rdkafka"/);
  });

  it('refuses a socket factory with platformatic instead of ignoring it', () => {
    const config = { ...loadKafkaConfig({ KAFKA_CLIENT: 'platformatic' }) };
    expect(() => createKafka(config, silentLogger, { socketFactory: () => undefined as never })).toThrow(/socketFactory.*KAFKA_CLIENT=kafkajs/);
    expect(createKafka(config, silentLogger).producer).toBeTypeOf('function');
  });
});
