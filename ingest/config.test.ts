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

  it('refuses values it cannot honour, naming the variables', () => {
    expect(() => loadIngestConfig({ INGEST_CONNECT_RETRY_MIN_MS: '30000', INGEST_CONNECT_RETRY_MAX_MS: '1000' })).toThrow(
      /INGEST_CONNECT_RETRY_MIN_MS: expected at most INGEST_CONNECT_RETRY_MAX_MS \(1000\), got "30000"/,
    );
    expect(() => loadIngestConfig({ INGEST_SHARD_COUNT: '4', INGEST_SHARD_IDS: '0-7' })).toThrow(/INGEST_SHARD_IDS: expected ids below INGEST_SHARD_COUNT \(4\)/);
    expect(loadIngestConfig({ INGEST_SHARD_COUNT: '8', INGEST_SHARD_IDS: '4-7' }).INGEST_SHARD_IDS).toEqual([4, 5, 6, 7]);
    expect(() => loadIngestConfig({ INGEST_SHARD_IDS: '0-999999' })).toThrow(/INGEST_SHARD_IDS/);
    expect(() => loadIngestConfig({ INGEST_SHARD_IDS: '5-3' })).toThrow(/INGEST_SHARD_IDS/);
    // The process gives its whole shutdown 45 s; a longer flush would be cut off.
    expect(() => loadIngestConfig({ INGEST_SHUTDOWN_FLUSH_MS: '60000' })).toThrow(/INGEST_SHUTDOWN_FLUSH_MS: expected milliseconds from 0 to 40000/);
    expect(() => loadIngestConfig({ INGEST_LINGER_MS: '3000000000' })).toThrow(/INGEST_LINGER_MS/);
    expect(() => loadIngestConfig({ INGEST_HTTP_PORT: '65536' })).toThrow(/INGEST_HTTP_PORT: expected a TCP port/);
    expect(() => loadIngestConfig({ INGEST_HTTP_AUTHOR_ID: '99999999999999999999' })).toThrow(/INGEST_HTTP_AUTHOR_ID/);
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
