import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from './scenario.ts';
import { startPipeline, type Pipeline } from './pipeline.ts';

const OUTAGE_MS = 30_000;

/**
 * Issue 11, "Done when": Kafka dies for 30 s under traffic, every role its own process, a real
 * @discordjs/ws client connected. Afterwards the store, the deliveries topic and the client each
 * have every message exactly once and in order, or the client was told (op 9) and history has
 * what it missed.
 */
describe('system: a 30 s Kafka outage under traffic', () => {
  let pipeline: Pipeline | undefined;

  beforeAll(async () => {
    pipeline = await startPipeline({ name: 'sys_outage' });
    await pipeline.start();
  });
  afterAll(async () => {
    await pipeline?.close();
  });

  it('loses, duplicates and reorders nothing in the store, the deliveries topic and the client', { timeout: 240_000 }, async () => {
    const figures = await runScenario(pipeline!, { ratePerSecond: 100, total: 7_000, flowingAfter: 400 }, async () => {
      await pipeline!.broker.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      await pipeline!.broker.start();
    });

    expect(figures.sent).toBe(7_000);
    const toldAndBackfilled = figures.client.invalidSessions > 0 && figures.client.missingAlsoFromHistory === 0;
    expect({
      store: figures.store,
      deliveries: { missing: figures.deliveries.missing, duplicated: figures.deliveries.duplicated, outOfOrder: figures.deliveries.outOfOrder, unexpected: figures.deliveries.unexpected },
      client: {
        duplicated: figures.client.duplicated,
        outOfOrder: figures.client.outOfOrder,
        unexpected: figures.client.unexpected,
        missingUnexplained: toldAndBackfilled ? 0 : figures.client.missing,
      },
    }).toEqual({
      store: { missing: 0, contentMismatch: 0, unexpected: 0 },
      deliveries: { missing: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 },
      client: { duplicated: 0, outOfOrder: 0, unexpected: 0, missingUnexplained: 0 },
    });
  });
});
