import { describe, expect, it } from 'vitest';
import { describePacedCpu, measurePacedCpu, type PacedCpuRow } from './paced-cpu.ts';

describe('CPU per delivery at paced rates', () => {
  it('runs every server at every rate in A B B A order and counts each trial’s deliveries', async () => {
    const connects: string[] = [];
    const expected: number[] = [];
    let published = 0;
    let built = 0;
    const targets = ['edge', 'plain'].map((name) => ({ name, publish: () => void published++ }));
    const rows = await measurePacedCpu({
      targets,
      connect: async (target) => void connects.push(target.name),
      received: async (total) => void expected.push(total),
      disconnect: async () => {},
      makeEvent: () => void built++,
      sessions: 3,
      rates: [200, 400],
      seconds: 0.05,
    });

    expect(connects).toEqual(['edge', 'plain', 'plain', 'edge']);
    // 10 and 20 events per trial, each reaching 3 sessions; `received` totals count from the connect.
    expect(expected).toEqual([30, 90, 30, 90, 30, 90, 30, 90]);
    expect(published).toBe(4 * 30);
    expect(built).toBe(30);
    expect(rows.map((row) => [row.server, row.msgPerSecond, row.deliveries, row.trials.length])).toEqual([
      ['edge', 200, 60, 2],
      ['edge', 400, 120, 2],
      ['plain', 200, 60, 2],
      ['plain', 400, 120, 2],
    ]);
    for (const row of rows) {
      expect(row.cpuMicrosPerDelivery).toBeCloseTo((row.trials[0]! + row.trials[1]!) / 2);
      expect(row.userMicrosPerDelivery + row.systemMicrosPerDelivery).toBeCloseTo(row.cpuMicrosPerDelivery);
    }
  });

  it('reports the lowest rate’s cost ÷ the highest’s, and the goal for the edge only', () => {
    const row = (server: string, msgPerSecond: number, cpuMicrosPerDelivery: number): PacedCpuRow => ({
      server,
      sessions: 100,
      msgPerSecond,
      deliveries: 1,
      cpuMicrosPerDelivery,
      userMicrosPerDelivery: cpuMicrosPerDelivery / 4,
      systemMicrosPerDelivery: (3 * cpuMicrosPerDelivery) / 4,
      trials: [cpuMicrosPerDelivery],
    });
    const lines = describePacedCpu([row('edge', 1000, 8), row('edge', 100, 20), row('plain ws loop', 100, 12), row('plain ws loop', 1000, 12)]);
    expect(lines[0]).toBe('edge, 100 sessions, events paced one by one: CPU per delivery 20.00 µs at 100 msg/s (user 5.00, system 15.00), 8.00 µs at 1,000 msg/s (user 2.00, system 6.00); lowest ÷ highest rate 2.50 (goal ≤ 1: missed)');
    expect(lines[1]).toBe('plain ws loop, 100 sessions, events paced one by one: CPU per delivery 12.00 µs at 100 msg/s (user 3.00, system 9.00), 12.00 µs at 1,000 msg/s (user 3.00, system 9.00); lowest ÷ highest rate 1.00');
  });
});
