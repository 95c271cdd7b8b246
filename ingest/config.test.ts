import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/config.ts';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoints.ts';
import { loadIngestConfig } from './config.ts';

describe('ingest configuration', () => {
  it('parses shard id lists and ranges, sharding and token lists', () => {
    const config = loadIngestConfig({ INGEST_SHARD_IDS: '4-6, 0,2', INGEST_SHARDING: 'worker', INGEST_HTTP_TOKEN: 'a, b' });
    expect(config.INGEST_SHARD_IDS).toEqual([0, 2, 4, 5, 6]);
    expect(config.INGEST_SHARDING).toBe('worker');
    expect(config.INGEST_HTTP_TOKEN).toEqual(['a', 'b']);
    expect(loadIngestConfig({}).INGEST_SHARD_IDS).toBeUndefined();
  });

  it('names the variable that is wrong', () => {
    expect(() => loadIngestConfig({ INGEST_SHARD_IDS: 'one' })).toThrow(ConfigError);
    expect(() => loadIngestConfig({ INGEST_COMPRESSION: 'zstd' })).toThrow(/INGEST_COMPRESSION: expected one of none, gzip/);
  });
});

describe('checkpoint records', () => {
  it('round-trip, and anything else decodes to undefined', () => {
    const checkpoint = { shard: 3, shardCount: 4, sessionId: 'abc', seq: 99, resumeUrl: 'ws://x' };
    expect(decodeCheckpoint(encodeCheckpoint(checkpoint))).toEqual(checkpoint);
    expect(decodeCheckpoint('{"v":1,"shard":"3"}')).toBeUndefined();
    expect(decodeCheckpoint('not json')).toBeUndefined();
  });
});
