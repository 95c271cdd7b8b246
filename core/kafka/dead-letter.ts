import type { Headers, OutgoingRecord, Producer } from './types.ts';
import { TRACE_HEADER } from './headers.ts';

/**
 * Dead-letter records keep the original key and value byte for byte, and say why and where from in
 * headers, so `guildcast dlq replay` can put a fixed record back where it came from.
 */
export const DLQ_HEADERS = {
  reason: 'x-guildcast-dlq-reason',
  stage: 'x-guildcast-dlq-stage',
  sourceTopic: 'x-guildcast-dlq-source-topic',
  sourcePartition: 'x-guildcast-dlq-source-partition',
  sourceOffset: 'x-guildcast-dlq-source-offset',
  failedAt: 'x-guildcast-dlq-failed-at',
  traceId: TRACE_HEADER,
} as const;

export interface DeadLetter {
  /** Which role and step rejected it: `ingest.gateway`, `ingest.http`, `fanout.persist`... */
  stage: string;
  reason: string;
  key?: Buffer | string | null;
  value: Buffer | string | null;
  source?: { topic: string; partition: number; offset: string };
  traceId?: string;
  headers?: Headers;
}

export function deadLetterMessage(letter: DeadLetter): OutgoingRecord & { headers: Headers } {
  const headers: Headers = {
    ...letter.headers,
    [DLQ_HEADERS.reason]: letter.reason.slice(0, 2000),
    [DLQ_HEADERS.stage]: letter.stage,
    [DLQ_HEADERS.failedAt]: new Date().toISOString(),
  };
  if (letter.source) {
    headers[DLQ_HEADERS.sourceTopic] = letter.source.topic;
    headers[DLQ_HEADERS.sourcePartition] = String(letter.source.partition);
    headers[DLQ_HEADERS.sourceOffset] = letter.source.offset;
  }
  if (letter.traceId) headers[DLQ_HEADERS.traceId] = letter.traceId;
  return { key: letter.key ?? null, value: letter.value, headers };
}

export async function sendDeadLetters(producer: Producer, topic: string, letters: DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await producer.send({ topic, messages: letters.map(deadLetterMessage) });
}
