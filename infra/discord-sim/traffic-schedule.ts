/**
 * How many dispatches are due after `elapsedMs` of traffic. The pump sends the difference between
 * this and what it already sent, so timer jitter changes batch sizes, never the average rate.
 */
export type Schedule = (elapsedMs: number) => number;

export function steadySchedule(ratePerSecond: number): Schedule {
  return (elapsedMs) => (ratePerSecond * elapsedMs) / 1000;
}

/** A bursty cycle: all of a cycle's traffic arrives in its first `duty` fraction, then silence. */
export const BURST_CYCLE_MS = 1000;
export const BURST_DUTY = 0.25;

export function burstySchedule(ratePerSecond: number, cycleMs = BURST_CYCLE_MS, duty = BURST_DUTY): Schedule {
  const perCycle = (ratePerSecond * cycleMs) / 1000;
  const onMs = cycleMs * duty;
  return (elapsedMs) => {
    const cycles = Math.floor(elapsedMs / cycleMs);
    const into = elapsedMs - cycles * cycleMs;
    return cycles * perCycle + (Math.min(into, onMs) / onMs) * perCycle;
  };
}

export function scheduleFor(shape: 'steady' | 'bursty', ratePerSecond: number): Schedule {
  if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
  switch (shape) {
    case 'steady':
      return steadySchedule(ratePerSecond);
    case 'bursty':
      return burstySchedule(ratePerSecond);
    default:
      throw new RangeError(`shape must be 'steady' or 'bursty', got ${JSON.stringify(shape)}`);
  }
}
