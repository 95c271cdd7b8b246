import { z } from 'zod';

/**
 * Discord snowflakes: 64-bit ids whose top 42 bits are milliseconds since the Discord epoch.
 * Always `bigint` in code and decimal strings on the wire; a JavaScript number loses the low bits.
 * Every module checks ids with `isSnowflake` / `parseSnowflake` / `snowflakeString` from here, so
 * "is a snowflake" means the same everywhere: 1 to 20 decimal digits, below 2^64.
 */
export const DISCORD_EPOCH = 1420070400000n;
const MAX_INCREMENT = 0xfffn;
const SNOWFLAKE = /^\d{1,20}$/;
const MAX_SNOWFLAKE = (1n << 64n) - 1n;

export type Snowflake = bigint;

export function timestampOf(id: Snowflake): number {
  return Number((id >> 22n) + DISCORD_EPOCH);
}

/** The smallest id that could have been made at `ms` (Unix milliseconds): a pagination bound. */
export function snowflakeAt(ms: number | bigint): Snowflake {
  const since = BigInt(ms) - DISCORD_EPOCH;
  return since <= 0n ? 0n : since << 22n;
}

export function isSnowflake(value: unknown): value is string {
  // Up to 19 digits is always below 2^64 (about 1.8e19): only a 20-digit id needs the BigInt
  // comparison, which keeps this as cheap as the bare regex for every real id on the hot path.
  return typeof value === 'string' && SNOWFLAKE.test(value) && (value.length < 20 || BigInt(value) <= MAX_SNOWFLAKE);
}

/** The zod schema of a wire id, with the refusal worded by the boundary that uses it. */
export function snowflakeString(message = 'a decimal snowflake') {
  return z.string().refine(isSnowflake, message);
}

/** Parses a wire id; returns undefined for anything that is not a valid 64-bit decimal snowflake. */
export function parseSnowflake(value: unknown): Snowflake | undefined {
  if (typeof value === 'bigint') return value >= 0n && value <= MAX_SNOWFLAKE ? value : undefined;
  return isSnowflake(value) ? BigInt(value) : undefined;
}

export interface SnowflakeGeneratorOptions {
  workerId?: number; // 0..31
  processId?: number; // 0..31
  now?: () => number;
}

/**
 * Makes ids for messages that arrive without one. Monotonic within a generator: the increment
 * counts 4096 ids per millisecond, after which it waits for the clock; if the clock goes back it
 * keeps using the last millisecond rather than issuing an id lower than one already issued.
 */
export class SnowflakeGenerator {
  private readonly node: bigint;
  private readonly now: () => number;
  private lastMs = -1n;
  private increment = 0n;

  constructor({ workerId = 0, processId = 0, now = Date.now }: SnowflakeGeneratorOptions = {}) {
    if (!Number.isInteger(workerId) || workerId < 0 || workerId > 31) throw new RangeError('workerId must be 0..31');
    if (!Number.isInteger(processId) || processId < 0 || processId > 31) throw new RangeError('processId must be 0..31');
    this.node = (BigInt(workerId) << 17n) | (BigInt(processId) << 12n);
    this.now = now;
  }

  next(): Snowflake {
    let ms = BigInt(this.now()) - DISCORD_EPOCH;
    if (ms < this.lastMs) ms = this.lastMs;
    if (ms === this.lastMs) {
      if (this.increment === MAX_INCREMENT) {
        while (ms <= this.lastMs) ms = BigInt(this.now()) - DISCORD_EPOCH;
        this.increment = 0n;
      } else {
        this.increment++;
      }
    } else {
      this.increment = 0n;
    }
    this.lastMs = ms;
    return (ms << 22n) | this.node | this.increment;
  }
}
