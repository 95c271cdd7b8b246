import { performance } from 'node:perf_hooks';
import type { Schedule } from './traffic-schedule.ts';

export interface TrafficPumpOptions {
  schedule: Schedule;
  /** Generates and sends one dispatch; false when nothing could take it (no live shard). */
  emit: () => boolean;
  total?: number;
  /** Timer period; each tick sends everything due by then. */
  tickMs?: number;
  /** Most dispatches per tick before yielding to the event loop (catching up after a stall). */
  maxBatch?: number;
}

/**
 * Drives a schedule with one timer: each tick sends the dispatches due by elapsed time, in a batch,
 * instead of one timer per message (which cannot keep up with tens of thousands per second).
 * Attempts that find no live shard are not retried: traffic pauses rather than bursting later.
 */
export class TrafficPump {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private startedAt = 0;
  private attempted = 0;
  private sent = 0;
  private active = false;
  private readonly tickMs: number;
  private readonly maxBatch: number;

  constructor(private readonly options: TrafficPumpOptions) {
    const { total } = options;
    if (total !== undefined && (!Number.isInteger(total) || total < 0)) throw new RangeError(`total must be a non-negative integer, got ${total}`);
    this.tickMs = options.tickMs ?? 4;
    this.maxBatch = options.maxBatch ?? 5_000;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get running(): boolean {
    return this.active;
  }

  get count(): number {
    return this.sent;
  }

  start(): void {
    this.active = true;
    this.startedAt = performance.now();
    if (this.options.total === 0) this.stop();
    else this.arm(this.tickMs);
  }

  stop(): void {
    this.active = false;
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    this.resolveDone();
  }

  private arm(delayMs: number): void {
    this.timer = delayMs === 0 ? setImmediate(() => this.tick()) : setTimeout(() => this.tick(), delayMs);
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.active) return;
    const { total } = this.options;
    const due = Math.floor(this.options.schedule(performance.now() - this.startedAt)) - this.attempted;
    const batch = Math.min(due, this.maxBatch);
    for (let i = 0; i < batch; i++) {
      this.attempted++;
      if (this.options.emit()) this.sent++;
      if (total !== undefined && this.sent >= total) {
        this.stop();
        return;
      }
    }
    this.arm(due > batch ? 0 : this.tickMs);
  }
}
