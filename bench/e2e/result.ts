import type { ProcessSummary } from '../kit/process-stats.ts';
import type { LatencySummary } from '../kit/latency.ts';
import { ceilingOf } from '../kit/search.ts';

export type Shape = 'broadcast' | 'sharded';
export type System = 'guildcast' | 'plain';

/** One rate tried on one system: what result.json's `trials` lists. */
export interface E2eTrial {
  system: System;
  rate: number;
  /** Messages the load generator sent in the measured window (after warm-up). */
  produced: number;
  /** Deliveries the clients counted in the measured window. */
  delivered: number;
  p50_ms: number;
  p99_ms: number;
  latency: LatencySummary;
  distribution: { percentile: number; ms: number }[];
  missing: number;
  duplicated: number;
  out_of_order: number;
  dead_letters: number;
  /** Session events during the trial: closes by code, RESUMEs sent and accepted, re-IDENTIFYs. */
  sessions: { closes: Record<string, number>; resumes: number; resumed: number; reidentifies: number; invalid_sessions: number };
  /** How far the load generator fell behind its schedule (ms): a big figure means the bench, not the system, limited the rate. */
  generator_behind_ms: number;
  /** p50 and p99 per hop, ms, from each stage's own timestamp (watch.ts). */
  hops_p50_ms: Record<string, number>;
  hops_p99_ms: Record<string, number>;
  processes: Record<string, ProcessSummary>;
  passed: boolean;
}

/** The top-level fields of an e2e result.json: a contract with load testers' scripts, stable from now on. */
export interface E2eResultFields {
  shape: Shape;
  sessions: number;
  ceiling_msg_per_s: number | null;
  ceiling_p50_ms: number | null;
  ceiling_p99_ms: number | null;
  plain_ceiling_msg_per_s: number | null;
  missing: number | null;
  duplicated: number | null;
  out_of_order: number | null;
  trials: E2eTrial[];
}

/** A trial holds when nothing was lost, duplicated, reordered or dead-lettered and, under a bound, p99 stayed within it. */
export function trialPassed(t: Pick<E2eTrial, 'missing' | 'duplicated' | 'out_of_order' | 'dead_letters' | 'p99_ms'>, p99BoundMs: number | undefined): boolean {
  return t.missing === 0 && t.duplicated === 0 && t.out_of_order === 0 && t.dead_letters === 0 && (p99BoundMs === undefined || t.p99_ms <= p99BoundMs);
}

export function e2eResultFields(shape: Shape, sessions: number, trials: E2eTrial[]): E2eResultFields {
  const ceiling = ceilingOf(trials.filter((t) => t.system === 'guildcast'));
  const plain = ceilingOf(trials.filter((t) => t.system === 'plain'));
  return {
    shape,
    sessions,
    ceiling_msg_per_s: ceiling?.rate ?? null,
    ceiling_p50_ms: ceiling?.p50_ms ?? null,
    ceiling_p99_ms: ceiling?.p99_ms ?? null,
    plain_ceiling_msg_per_s: plain?.rate ?? null,
    missing: ceiling?.missing ?? null,
    duplicated: ceiling?.duplicated ?? null,
    out_of_order: ceiling?.out_of_order ?? null,
    trials,
  };
}
