import { describe, expect, it } from 'vitest';
import { ConsumerHealth } from './consumer-health.ts';

describe('ConsumerHealth', () => {
  const clock = () => {
    let now = 1_000;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it('is ready only while joined with partitions and making progress', () => {
    const c = clock();
    const health = new ConsumerHealth(30_000, c.now);
    expect(() => health.checkProgress()).toThrow('not joined');
    health.joined(3);
    expect(() => health.checkProgress()).not.toThrow();
    c.advance(31_000);
    expect(() => health.checkProgress()).toThrow('no fetch and no finished chunk for 31 s');
    health.progress();
    expect(() => health.checkProgress()).not.toThrow();
  });

  it('turns unready when the consumer crashes or stops, until it joins again', () => {
    const health = new ConsumerHealth(30_000);
    health.joined(2);
    health.crashed(new Error('MESSAGE_TOO_LARGE'), true);
    expect(() => health.checkAssigned()).toThrow('kafkajs is restarting it');
    expect(health.assignedPartitions).toBe(0);
    health.joined(2);
    expect(() => health.checkAssigned()).not.toThrow();
    health.crashed(new Error('boom'), false);
    expect(() => health.checkAssigned()).toThrow('consumer stopped: boom');
  });

  it('is unready as a standby without partitions', () => {
    const health = new ConsumerHealth(30_000);
    health.joined(0);
    expect(() => health.checkAssigned()).toThrow('no partitions assigned');
  });
});
