import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareStore, compareStream, readDeliveries, readHistory, readStore, type DeliveryFigures, type StoreFigures, type StreamFigures } from './checks.ts';
import { connectRecorder, type ClientRecorder } from './client-recorder.ts';
import type { Pipeline, SimulatorReport } from './pipeline.ts';

export interface TrafficPlan {
  ratePerSecond: number;
  total: number;
  /** Client messages to see before the fault: the whole pipeline is flowing. */
  flowingAfter: number;
}

export interface Figures {
  sent: number;
  store: StoreFigures;
  deliveries: DeliveryFigures;
  client: StreamFigures & {
    received: number;
    readies: number;
    resumes: number;
    /** op 9 INVALID_SESSION frames the client got. */
    invalidSessions: number;
    /** Socket closes the client saw, by close code (1006: the connection dropped; refused reconnects count too). */
    closes: Record<string, number>;
    /** Of the messages the client missed, how many the api role's history does not have either. */
    missingAlsoFromHistory: number;
  };
  simulator: SimulatorReport['stats'];
  roleRestarts: Partial<Record<string, number>>;
  logs: string;
}

/**
 * One system run: a real client on the edge, traffic from the simulator, `fault` applied once the
 * pipeline is flowing, then a bounded wait for everything to settle, and the figures of every
 * place (store, deliveries, client). Waits end on a condition or a generous deadline, never on
 * a guess of how long something takes; the figures are what the assertions look at.
 */
export async function runScenario(pipeline: Pipeline, plan: TrafficPlan, fault: (client: ClientRecorder) => Promise<void>): Promise<Figures> {
  const token = await pipeline.mintClientToken();
  const client = await connectRecorder({ edgeBase: pipeline.edgeBase, token });
  try {
    await pipeline.startTraffic(plan.ratePerSecond, plan.total);
    await until('the pipeline flowing to the client', () => client.messages.length >= plan.flowingAfter, 90_000, true);
    await fault(client);

    await until('the simulator sending all its traffic', async () => (await pipeline.simulator()).done, 5 * 60_000, true);
    const report = await pipeline.simulator();
    const sent = report.messages;
    // Settle: the store complete (or a deadline), then the client complete or quiet for a while.
    await until('every sent message in the store', async () => compareStore(sent, await readStore(pipeline.cql, pipeline.keyspace)).missing === 0, 90_000);
    await untilQuiet(() => client.messages.length, () => compareStream(sent, client.messages).missing === 0, 15_000, 60_000);

    const store = compareStore(sent, await readStore(pipeline.cql, pipeline.keyspace));
    const deliveries = await readDeliveries(pipeline.kafka, pipeline.topics.deliveries, sent);
    const { missingIds, ...stream } = compareStream(sent, client.messages);
    let missingAlsoFromHistory = 0;
    if (missingIds.length > 0) {
      const history = await readHistory(pipeline.apiBase, token, pipeline.channelIds);
      missingAlsoFromHistory = missingIds.filter((id) => !history.has(id)).length;
    }
    const figures: Figures = {
      sent: sent.length,
      store,
      deliveries,
      client: {
        ...stream,
        received: client.messages.length,
        readies: client.readies,
        resumes: client.resumes,
        invalidSessions: client.invalidSessions.length,
        closes: countBy(client.closeCodes),
        missingAlsoFromHistory,
      },
      simulator: report.stats,
      roleRestarts: pipeline.restarts(),
      logs: await pipeline.saveLogs(),
    };
    await writeFile(join(figures.logs, 'figures.json'), JSON.stringify(figures, null, 2));
    console.log(`[system ${pipeline.name}] figures:\n${JSON.stringify(figures, null, 2)}`);
    return figures;
  } finally {
    await client.destroy().catch(() => {});
  }
}

function countBy(values: readonly number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

/** Polls `condition` every 500 ms until true or `timeoutMs`; with `required`, a timeout throws. */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, required = false): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await Promise.resolve().then(condition).catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (required) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
  return false;
}

/** Waits until `done`, or until `count` stopped growing for `quietMs`, or `timeoutMs`. */
async function untilQuiet(count: () => number, done: () => boolean, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = count();
  let lastChange = Date.now();
  while (Date.now() < deadline && !done()) {
    await new Promise((r) => setTimeout(r, 500));
    const now = count();
    if (now !== last) [last, lastChange] = [now, Date.now()];
    else if (Date.now() - lastChange >= quietMs) return;
  }
}
