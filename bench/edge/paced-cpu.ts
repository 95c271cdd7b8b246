import { openLoop } from '../kit/open-loop.ts';

/** A server under test, as the edge bench drives it: publish one event to every connected session. */
export interface PacedTarget {
  name: string;
  publish(): void;
}

export interface PacedCpuOptions<T extends PacedTarget> {
  targets: readonly T[];
  /** Connects `sessions` clients to the target; resolves once they receive. */
  connect(target: T, sessions: number): Promise<void>;
  /** Resolves once the clients together received `total` since connecting. */
  received(total: number): Promise<void>;
  disconnect(): Promise<void>;
  /** Builds the event `publish` sends, without sending it: the open loop's own cost is measured with it and taken off. */
  makeEvent(): void;
  sessions: number;
  rates: readonly number[];
  seconds: number;
}

export interface PacedCpuRow {
  server: string;
  sessions: number;
  msgPerSecond: number;
  deliveries: number;
  /** This process's CPU per delivery (user + system), less the pacing loop's own CPU at that rate; the mean of `trials`. */
  cpuMicrosPerDelivery: number;
  /** The same split: user space (JavaScript, libuv), and the kernel (the socket writes and the wake-ups they cause). */
  userMicrosPerDelivery: number;
  systemMicrosPerDelivery: number;
  trials: number[];
}

/**
 * CPU per delivery at paced rates (the edge bench's throughput rounds are bursts, where every
 * socket's frames share one write): events come one by one on an open loop, as they do from Kafka
 * at a low rate, so a server that writes once per socket per event pays that write per delivery.
 * The pacing loop and the event's construction cost this process CPU too; they are measured alone
 * at each rate and taken off.
 */
export async function measurePacedCpu<T extends PacedTarget>(options: PacedCpuOptions<T>): Promise<PacedCpuRow[]> {
  const durationMs = options.seconds * 1000;
  const loopCost = new Map<number, Cpu>();
  for (const rate of options.rates) loopCost.set(rate, await cpuDuring(() => paced(rate, durationMs, () => options.makeEvent())));

  const trials: Trial[] = [];
  // A B B A: neither server gains from its place in the run (the machine's state drifts).
  for (const target of [...options.targets, ...[...options.targets].reverse()]) {
    await options.connect(target, options.sessions);
    let delivered = 0;
    for (const rate of options.rates) {
      let deliveries = 0;
      const cpu = await cpuDuring(async () => {
        const fired = await paced(rate, durationMs, () => target.publish());
        deliveries = fired * options.sessions;
        await options.received(delivered + deliveries);
      });
      delivered += deliveries;
      const loop = loopCost.get(rate)!;
      trials.push({ server: target.name, msgPerSecond: rate, deliveries, user: (cpu.user - loop.user) / deliveries, system: (cpu.system - loop.system) / deliveries });
    }
    await options.disconnect();
  }
  return meanPerServerAndRate(trials, options.sessions);
}

/** One server at one rate, once: CPU per delivery in µs. */
interface Trial {
  server: string;
  msgPerSecond: number;
  deliveries: number;
  user: number;
  system: number;
}

function meanPerServerAndRate(trials: readonly Trial[], sessions: number): PacedCpuRow[] {
  const groups = new Map<string, Trial[]>();
  for (const trial of trials) {
    const key = `${trial.server}\u0000${trial.msgPerSecond}`;
    groups.set(key, [...(groups.get(key) ?? []), trial]);
  }
  return [...groups.values()].map((group) => {
    const user = mean(group.map((trial) => trial.user));
    const system = mean(group.map((trial) => trial.system));
    return {
      server: group[0]!.server,
      sessions,
      msgPerSecond: group[0]!.msgPerSecond,
      deliveries: group.reduce((sum, trial) => sum + trial.deliveries, 0),
      cpuMicrosPerDelivery: user + system,
      userMicrosPerDelivery: user,
      systemMicrosPerDelivery: system,
      trials: group.map((trial) => trial.user + trial.system),
    };
  });
}

/** Per server: CPU per delivery at each rate, and the lowest rate's ÷ the highest's (the goal: at most 1 for the edge). */
export function describePacedCpu(paced: readonly PacedCpuRow[]): string[] {
  const servers = [...new Set(paced.map((row) => row.server))];
  return servers.map((server) => {
    const rows = paced.filter((row) => row.server === server).sort((a, b) => a.msgPerSecond - b.msgPerSecond);
    const perRate = rows
      .map((row) => `${row.cpuMicrosPerDelivery.toFixed(2)} µs at ${row.msgPerSecond.toLocaleString('en')} msg/s (user ${row.userMicrosPerDelivery.toFixed(2)}, system ${row.systemMicrosPerDelivery.toFixed(2)})`)
      .join(', ');
    const ratio = rows[0]!.cpuMicrosPerDelivery / rows.at(-1)!.cpuMicrosPerDelivery;
    const goal = server === 'edge' ? ` (goal ≤ 1: ${ratio <= 1 ? 'met' : 'missed'})` : '';
    return `${server}, ${rows[0]!.sessions} sessions, events paced one by one: CPU per delivery ${perRate}; lowest ÷ highest rate ${ratio.toFixed(2)}${goal}`;
  });
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

interface Cpu {
  user: number;
  system: number;
}

async function cpuDuring(work: () => Promise<unknown>): Promise<Cpu> {
  const before = process.cpuUsage();
  await work();
  return process.cpuUsage(before);
}

/** Fires the events due at `rate` on a 1 ms timer (never spinning); returns how many. */
async function paced(ratePerSecond: number, durationMs: number, fire: () => void): Promise<number> {
  return (await openLoop({ ratePerSecond, durationMs, fire, timerOnly: true })).fired;
}
