import { describe, expect, it } from 'vitest';
import { recordBytes } from '../core/kafka/byte-batches.ts';
import type { TopicMessages } from '../core/kafka/types.ts';
import { CoalescingSender } from './coalescing-sender.ts';

const record = (partition: number, value: string) => ({ partition, key: null, value });

function broker(fail?: (request: TopicMessages[]) => Error | undefined) {
  const requests: TopicMessages[][] = [];
  const sendBatch = async (request: TopicMessages[]) => {
    requests.push(request);
    const error = fail?.(request);
    if (error) throw error;
  };
  return { requests, sendBatch };
}

describe('CoalescingSender', () => {
  it('sends what partitions ask for in one turn as one request, each topic once, records in the order asked', async () => {
    const b = broker();
    const sender = new CoalescingSender(b.sendBatch, 1 << 20);
    await Promise.all([
      sender.send([{ topic: 'deliveries', messages: [record(0, 'a'), record(0, 'b')] }]),
      sender.send([{ topic: 'deliveries', messages: [record(3, 'c')] }, { topic: 'dead-letter', messages: [record(1, 'x')] }]),
      sender.send([{ topic: 'deliveries', messages: [record(5, 'd')] }]),
    ]);
    expect(b.requests).toHaveLength(1);
    expect(b.requests[0]!.map((t) => [t.topic, t.messages.map((m) => m.value)])).toEqual([
      ['deliveries', ['a', 'b', 'c', 'd']],
      ['dead-letter', ['x']],
    ]);
    await sender.send([{ topic: 'deliveries', messages: [record(0, 'e')] }]);
    expect(b.requests).toHaveLength(2);
  });

  it('splits at the request bound, never inside one caller’s records', async () => {
    const b = broker();
    const one = recordBytes(record(0, 'x'.repeat(100)));
    const sender = new CoalescingSender(b.sendBatch, 2 * one);
    await Promise.all([0, 1, 2].map((p) => sender.send([{ topic: 't', messages: [record(p, 'x'.repeat(100))] }])));
    expect(b.requests.map((r) => r[0]!.messages.map((m) => m.partition))).toEqual([[0, 1], [2]]);
  });

  it('fails every caller whose records the failed request carried, and only those', async () => {
    const b = broker((request) => (request[0]!.messages.some((m) => m.partition === 1) ? new Error('NOT_LEADER') : undefined));
    const one = recordBytes(record(0, 'x'));
    const sender = new CoalescingSender(b.sendBatch, 2 * one);
    const outcomes = await Promise.allSettled([0, 1, 2].map((p) => sender.send([{ topic: 't', messages: [record(p, 'x')] }])));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
  });
});
