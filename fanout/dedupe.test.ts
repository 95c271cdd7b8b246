import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../core/events/envelope.ts';
import { ReplayFilter } from './dedupe.ts';

const gw = (shard: number, session: string, seq: number): EventEnvelope => ({
  v: 1,
  id: `gw:${shard}:${session}:${seq}`,
  type: 'MESSAGE_CREATE',
  source: 'gateway',
  shard,
  session_id: session,
  seq,
  received_at: 1,
  trace_id: 't',
  d: {},
});

function deliver(filter: ReplayFilter, events: EventEnvelope[]): number[] {
  const check = filter.begin();
  const passed = events.filter((e) => !check.isReplay(e)).map((e) => e.seq!);
  filter.accept(check);
  return passed;
}

describe('ReplayFilter', () => {
  it('drops seqs at or below the highest delivered of the same session, and starts over for a new session', () => {
    const filter = new ReplayFilter();
    expect(deliver(filter, [gw(0, 'a', 1), gw(0, 'a', 2), gw(0, 'a', 2), gw(1, 'b', 1)])).toEqual([1, 2, 1]);
    expect(deliver(filter, [gw(0, 'a', 1), gw(0, 'a', 3), gw(0, 'c', 1), gw(0, 'c', 2)])).toEqual([3, 1, 2]);
  });

  it('records nothing for a check that was never accepted', () => {
    const filter = new ReplayFilter();
    const check = filter.begin();
    expect(check.isReplay(gw(0, 'a', 1))).toBe(false);
    expect(filter.begin().isReplay(gw(0, 'a', 1))).toBe(false);
  });

  it('survives the round trip through commit metadata', () => {
    const filter = new ReplayFilter();
    deliver(filter, [gw(0, 'a'.repeat(32), 50), gw(3, 'b'.repeat(32), 7)]);
    const { metadata, omitted } = filter.toMetadata(4096);
    expect(omitted).toBe(0);
    const { filter: restored, valid } = ReplayFilter.fromMetadata(metadata);
    expect(valid).toBe(true);
    expect(deliver(restored, [gw(0, 'a'.repeat(32), 50), gw(0, 'a'.repeat(32), 51), gw(3, 'b'.repeat(32), 7), gw(3, 'b'.repeat(32), 8)])).toEqual([51, 8]);
  });

  it('keeps the most recently advanced shards within the metadata bound and says how many it left out', () => {
    const filter = new ReplayFilter();
    for (let shard = 0; shard < 200; shard++) deliver(filter, [gw(shard, `session-${shard}-${'x'.repeat(24)}`, 1000)]);
    const { metadata, omitted } = filter.toMetadata(4096);
    expect(Buffer.byteLength(metadata)).toBeLessThanOrEqual(4096);
    expect(omitted).toBeGreaterThan(0);
    const { filter: restored } = ReplayFilter.fromMetadata(metadata);
    expect(restored.shards).toBe(200 - omitted);
    expect(deliver(restored, [gw(199, `session-199-${'x'.repeat(24)}`, 1000)])).toEqual([]); // newest kept
    expect(deliver(restored, [gw(0, `session-0-${'x'.repeat(24)}`, 1000)])).toEqual([1000]); // oldest left out
  });

  it('starts empty from no metadata, a rewind, or something else', () => {
    expect(ReplayFilter.fromMetadata(null)).toMatchObject({ valid: true });
    expect(ReplayFilter.fromMetadata('')).toMatchObject({ valid: true });
    expect(ReplayFilter.fromMetadata('written by someone else').valid).toBe(false);
    expect(ReplayFilter.fromMetadata('replay-filter/1:[[1,"x"]]').valid).toBe(false);
    expect(ReplayFilter.fromMetadata('replay-filter/1:[[1,"x"]]').filter.shards).toBe(0);
  });
});
