import { describe, expect, it } from 'vitest';
import { e2eResultFields, trialPassed, type E2eTrial } from './result.ts';

const trial = (system: E2eTrial['system'], rate: number, p99: number, missing = 0): E2eTrial => {
  const t = {
    system, rate, produced: rate * 10, delivered: rate * 1000, p50_ms: p99 / 2, p99_ms: p99,
    latency: { count: 1, p50: p99 / 2, p90: p99, p99, p999: p99, max: p99, mean: p99 / 2 }, distribution: [],
    missing, duplicated: 0, out_of_order: 0, dead_letters: 0,
    sessions: { closes: {}, resumes: 0, resumed: 0, reidentifies: 0, invalid_sessions: 0 },
    generator_behind_ms: 0, hops_p50_ms: {}, hops_p99_ms: {}, processes: {}, passed: false,
  };
  return { ...t, passed: trialPassed(t, 50) };
};

describe('e2e result.json fields', () => {
  it('has exactly the stable top-level fields, from the highest rate that held', () => {
    const trials = [trial('guildcast', 100, 20), trial('guildcast', 200, 45), trial('guildcast', 400, 80), trial('guildcast', 300, 40, 3), trial('plain', 100, 10), trial('plain', 200, 30)];
    const r = e2eResultFields('broadcast', 100, trials);
    expect(Object.keys(r).sort()).toEqual(['ceiling_msg_per_s', 'ceiling_p50_ms', 'ceiling_p99_ms', 'duplicated', 'missing', 'out_of_order', 'plain_ceiling_msg_per_s', 'sessions', 'shape', 'trials'].sort());
    expect(r).toMatchObject({ shape: 'broadcast', sessions: 100, ceiling_msg_per_s: 200, ceiling_p50_ms: 22.5, ceiling_p99_ms: 45, plain_ceiling_msg_per_s: 200, missing: 0, duplicated: 0, out_of_order: 0 });
    expect(r.trials).toHaveLength(6);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });
  it('gives null ceilings when no rate held', () => {
    const r = e2eResultFields('sharded', 100, [trial('guildcast', 100, 90)]);
    expect(r).toMatchObject({ ceiling_msg_per_s: null, ceiling_p99_ms: null, plain_ceiling_msg_per_s: null, missing: null });
  });
  it('fails a trial on any loss even within the bound', () => {
    expect(trial('guildcast', 100, 10, 1).passed).toBe(false);
    expect(trial('guildcast', 100, 10).passed).toBe(true);
  });
});
