import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from './scenario.ts';
import { startPipeline, type Pipeline } from './pipeline.ts';

/**
 * Issue 11, "Done when": every role is killed with SIGKILL under traffic and started again (the
 * simulator, which plays Discord, stays up: ingest must RESUME and get the replay). Nothing is
 * lost in the store, and the client, which reconnects on its own, sees no duplicate and no
 * reordering. What it misses while the edge is down after a re-IDENTIFY is allowed, and reported.
 */
describe('system: every role SIGKILLed and restarted under traffic', () => {
  let pipeline: Pipeline | undefined;

  beforeAll(async () => {
    pipeline = await startPipeline({ name: 'sys_restart' });
    await pipeline.start();
  });
  afterAll(async () => {
    await pipeline?.close();
  });

  it('loses nothing in the store; the client sees no duplicate and no reordering', { timeout: 240_000 }, async () => {
    const figures = await runScenario(pipeline!, { ratePerSecond: 50, total: 3_500, flowingAfter: 300 }, async () => {
      await pipeline!.kill('SIGKILL');
      await pipeline!.start();
    });

    expect(figures.sent).toBe(3_500);
    // The client did lose its edge: it came back by RESUME or a new IDENTIFY.
    expect(figures.client.resumes + figures.client.readies).toBeGreaterThanOrEqual(2);
    expect({
      store: figures.store,
      client: { duplicated: figures.client.duplicated, outOfOrder: figures.client.outOfOrder, unexpected: figures.client.unexpected },
    }).toEqual({
      store: { missing: 0, contentMismatch: 0, unexpected: 0 },
      client: { duplicated: 0, outOfOrder: 0, unexpected: 0 },
    });
  });
});
