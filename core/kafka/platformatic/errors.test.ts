import { MultipleErrors, NetworkError, ProtocolError, ResponseError, TimeoutError } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { isRetriable } from '../types.ts';
import { classified, refusedForGood } from './errors.ts';

/** A produce answered with these broker error codes, one per partition, as the library reports it. */
const produceRefused = (...codes: number[]) =>
  new ResponseError(0, 9, Object.fromEntries(codes.map((code, i) => [`/topics/0/partitions/${i}`, [code, null]])), {});

const MESSAGE_TOO_LARGE = 10;
const NOT_ENOUGH_REPLICAS = 19;

describe('@platformatic/kafka failures in the seam\'s terms', () => {
  it('takes the broker\'s final refusal as not retriable', () => {
    expect(refusedForGood(produceRefused(MESSAGE_TOO_LARGE))).toBe(true);
    expect(isRetriable(classified(produceRefused(MESSAGE_TOO_LARGE)))).toBe(false);
    // The library's own retries wrap the attempts' failures once more.
    expect(refusedForGood(new MultipleErrors('failed after retries', [produceRefused(MESSAGE_TOO_LARGE), produceRefused(MESSAGE_TOO_LARGE)]))).toBe(true);
  });

  it('keeps a refusal the broker says may pass later retriable', () => {
    expect(isRetriable(classified(produceRefused(NOT_ENOUGH_REPLICAS)))).toBe(true);
    expect(isRetriable(classified(new ProtocolError('REQUEST_TIMED_OUT')))).toBe(true);
  });

  it('keeps transport failures retriable, a request timeout too (the library marks it canRetry: false)', () => {
    expect(isRetriable(classified(new TimeoutError('request timed out')))).toBe(true);
    expect(isRetriable(classified(new NetworkError('connection closed')))).toBe(true);
  });

  it('keeps a failure retriable when any of its parts may pass on a second try', () => {
    expect(refusedForGood(new MultipleErrors('mixed', [produceRefused(MESSAGE_TOO_LARGE), new TimeoutError('timed out')]))).toBe(false);
    expect(refusedForGood(produceRefused(MESSAGE_TOO_LARGE, NOT_ENOUGH_REPLICAS))).toBe(false);
  });

  it('leaves errors that are not the library\'s alone', () => {
    const ours = new Error('a handler failed');
    expect(classified(ours)).toBe(ours);
    expect(isRetriable(ours)).toBe(true);
    expect(refusedForGood('not an error')).toBe(false);
  });
});
