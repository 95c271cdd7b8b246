import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { createKafka } from './client.ts';
import { loadKafkaConfig } from './config.ts';

describe('KAFKA_CLIENT', () => {
  it('is unset by default and takes either implementation', () => {
    expect(loadKafkaConfig({}).KAFKA_CLIENT).toBeUndefined();
    expect(loadKafkaConfig({ KAFKA_CLIENT: 'platformatic' }).KAFKA_CLIENT).toBe('platformatic');
    expect(loadKafkaConfig({ KAFKA_CLIENT: 'kafkajs' }).KAFKA_CLIENT).toBe('kafkajs');
  });

  it('refuses anything else with a message naming the variable', () => {
    expect(() => loadKafkaConfig({ KAFKA_CLIENT: 'rdkafka' })).toThrow(/KAFKA_CLIENT: expected "kafkajs" or "platformatic", got "rdkafka"/);
  });

  it("builds the role's own implementation when unset, and KAFKA_CLIENT's when set", () => {
    const [unset, kafkajs] = [loadKafkaConfig({}), loadKafkaConfig({ KAFKA_CLIENT: 'kafkajs' })];
    expect(createKafka(unset, silentLogger).producer({}).constructor.name).toBe('KafkajsProducer');
    expect(createKafka(unset, silentLogger, { roleDefault: 'platformatic' }).producer({}).constructor.name).toBe('PlatformaticProducer');
    expect(createKafka(kafkajs, silentLogger, { roleDefault: 'platformatic' }).producer({}).constructor.name).toBe('KafkajsProducer');
  });
});
