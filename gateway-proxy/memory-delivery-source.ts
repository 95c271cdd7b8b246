import type { EventEnvelope } from '../core/events/envelope.ts';
import type { DeliveryLoss, DeliverySource, DeliveryTarget } from './delivery-source.ts';

/**
 * A feed tests and benchmarks push events into, with no broker: `push` hands an event to the edge
 * at once (returning how it went), `lose` reports lost deliveries (op 9 to the sessions that
 * needed them), `fail` makes the source report a problem or end fatally.
 */
export class MemoryDeliverySource implements DeliverySource {
  private target: DeliveryTarget | undefined;
  private trouble: string | undefined;
  private stopped = false;

  async start(target: DeliveryTarget): Promise<void> {
    this.target = target;
  }

  async ready(): Promise<void> {}

  problem(): string | undefined {
    if (this.stopped) return 'the memory feed stopped';
    return this.target ? this.trouble : 'not started';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.target = undefined;
  }

  /** Hands `event` to the edge; throws what the edge's handler threw (as a real source would retry). */
  push(event: EventEnvelope): void {
    if (!this.target) throw new Error('the memory feed is not started (or stopped)');
    this.target.onEvent(event);
  }

  lose(loss: DeliveryLoss): void {
    if (!this.target) throw new Error('the memory feed is not started (or stopped)');
    this.target.onLoss(loss);
  }

  /** Sets (or with undefined clears) the readiness problem; `fatal` also ends the feed through onFatal. */
  fail(problem: string | undefined, { fatal = false } = {}): void {
    this.trouble = problem;
    if (fatal && this.target) this.target.onFatal(new Error(problem ?? 'memory feed failed'));
  }
}
