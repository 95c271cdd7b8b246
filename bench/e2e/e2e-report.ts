import { availableParallelism } from 'node:os';
import type { BenchResult } from '../kit/report.ts';
import { ceilingOf } from '../kit/search.ts';
import type { Series } from '../kit/svg.ts';
import type { E2eOptions } from './e2e-bench.ts';
import { e2eResultFields, type E2eTrial, type System } from './result.ts';

/** Processes that are the bench itself: their CPU is reported apart from the system's. */
export const isBenchProcess = (name: string) => name === 'driver' || name === 'load' || name === 'watch' || name.startsWith('clients');

/**
 * The e2e BenchResult: result.json's stable top-level fields (result.ts), the terminal table, and
 * report.md's findings and latency-vs-rate chart of guildcast and the plain baseline together.
 */
export function e2eReport(o: E2eOptions, trials: E2eTrial[], timeline: BenchResult['timeline']): BenchResult {
  const top = e2eResultFields(o.shape, o.clients, trials);
  const of = (system: System) => trials.filter((t) => t.system === system);
  const ceiling = ceilingOf(of('guildcast'));
  const plain = ceilingOf(of('plain'));
  // Evidence comes from the ceiling when there is one, else from the lowest rate tried.
  const evidence = (system: System) => ceilingOf(of(system)) ?? [...of(system)].sort((a, b) => a.rate - b.rate)[0];
  const bound = `p99 ≤ ${o.p99BoundMs} ms with nothing missing, duplicated or out of order`;
  const findings: string[] = [];
  const what = o.mode === 'fixed' ? `at the fixed rate ${o.rate} msg/s` : `highest rate holding ${bound}`;
  findings.push(`shape ${o.shape}, ${o.clients} sessions over ${o.clientProcesses} client processes; guildcast's roles ${o.layout === 'one' ? 'in one process (guildcast all)' : 'each in a process of its own'}`);
  findings.push(ceiling ? `guildcast ceiling (${what}): ${ceiling.rate} msg/s, p50 ${ceiling.p50_ms.toFixed(1)} ms, p99 ${ceiling.p99_ms.toFixed(1)} ms` : `guildcast: no rate tried held ${bound}`);
  if (o.baseline === 'plain') {
    findings.push(plain ? `plain baseline ceiling (same run): ${plain.rate} msg/s, p99 ${plain.p99_ms.toFixed(1)} ms` : `plain baseline: no rate tried held ${bound}`);
    if (ceiling && plain) findings.push(`guildcast ÷ plain: ${(ceiling.rate / plain.rate).toFixed(2)}×`);
  }
  const g = evidence('guildcast');
  if (g && Object.keys(g.hops_p99_ms).length > 0) findings.push(`per-hop p99 at ${g.rate} msg/s: ${Object.entries(g.hops_p99_ms).map(([h, v]) => `${h} ${v.toFixed(1)} ms`).join('; ')}`);
  if (g && Object.keys(g.hops_p50_ms).length > 0) findings.push(`per-hop p50 at ${g.rate} msg/s: ${Object.entries(g.hops_p50_ms).map(([h, v]) => `${h} ${v.toFixed(1)} ms`).join('; ')}`);
  for (const system of ['guildcast', 'plain'] as const) {
    const e = evidence(system);
    if (!e) continue;
    const cpu = Object.entries(e.processes).sort((a, b) => b[1].cpuPercentMean - a[1].cpuPercentMean);
    const part = (bench: boolean) => cpu.filter(([n]) => isBenchProcess(n) === bench);
    const total = (list: typeof cpu) => list.reduce((s, [, p]) => s + p.cpuPercentMean, 0);
    const line = (list: typeof cpu) => list.map(([n, p]) => `${n} ${p.cpuPercentMean.toFixed(0)}% / ${p.rssMbMax.toFixed(0)} MB`).join(', ');
    findings.push(
      `CPU (% of one core) / peak RSS, ${system} at ${e.rate} msg/s: system ${total(part(false)).toFixed(0)}%: ${line(part(false))}; ` +
        `bench ${total(part(true)).toFixed(0)}%: ${line(part(true))}; machine ${availableParallelism() * 100}%`,
    );
    const writers = cpu.filter(([n, p]) => !isBenchProcess(n) && (p.writesPerSecondMean ?? 0) >= 1);
    if (writers.length > 0)
      findings.push(
        `write system calls a second, ${system} at ${e.rate} msg/s (${deliveriesPerMessage(e)}): ` +
          writers.map(([n, p]) => `${n} ${Math.round(p.writesPerSecondMean!)}`).join(', '),
      );
    const loops = Object.entries(e.processes).filter(([, p]) => p.loopDelayMs);
    if (loops.length > 0)
      findings.push(
        `event-loop delay (ms: typical second's p99 / worst second's p99 / longest stall; GC: % of time, longest pause), ${system} at ${e.rate} msg/s: ` +
          loops
            .map(([n, p]) => `${n} ${p.loopDelayMs!.p99Median.toFixed(1)} / ${p.loopDelayMs!.p99Worst.toFixed(1)} / ${p.loopDelayMs!.max.toFixed(0)}${p.gc ? `; GC ${p.gc.percentOfTime.toFixed(1)}%, ${p.gc.longestPauseMs.toFixed(0)} ms` : ''}`)
            .join(', '),
      );
  }
  // Memory over a long trial (10 minutes at half the ceiling is issue 14's check): RSS at its end against its start.
  for (const t of trials.filter((x) => x.produced / x.rate >= 120))
    findings.push(
      `RSS over ${t.system}'s ${Math.round(t.produced / t.rate)} s trial at ${t.rate} msg/s (start → end, MB): ` +
        Object.entries(t.processes).map(([n, p]) => `${n} ${p.rssMbStart.toFixed(0)} → ${p.rssMbEnd.toFixed(0)} (${p.rssMbEnd >= p.rssMbStart ? '+' : ''}${((100 * (p.rssMbEnd - p.rssMbStart)) / p.rssMbStart).toFixed(1)}%)`).join(', '),
    );
  for (const t of trials) {
    const s = t.sessions;
    const closes = Object.entries(s.closes).map(([c, n]) => `${n}×${c}`).join(' ') || 'none';
    findings.push(
      `${t.system} ${t.rate}/s: p50 ${t.p50_ms.toFixed(1)} / p99 ${t.p99_ms.toFixed(1)} ms; ${t.produced} sent, ${t.delivered} delivered; missing ${t.missing}, duplicated ${t.duplicated}, ` +
        `out of order ${t.out_of_order}, dead letters ${t.dead_letters}; closes ${closes}, resumes ${s.resumes} (${s.resumed} resumed), invalid sessions ${s.invalid_sessions}, re-identifies ${s.reidentifies}` +
        `${t.generator_behind_ms > 100 ? `; load generator fell ${t.generator_behind_ms.toFixed(0)} ms behind` : ''}; ${t.passed ? 'held' : 'failed'}`,
    );
  }

  // Latency against rate, both systems, clipped so one collapsed trial does not flatten the rest.
  const clip = o.p99BoundMs * 6;
  const curve = (system: System, pick: (t: E2eTrial) => number): Series => ({
    name: `${system} ${pick === p99 ? 'p99' : 'p50'}`,
    points: [...of(system)].sort((a, b) => a.rate - b.rate).map((t) => [t.rate, Math.min(clip, pick(t))] as [number, number]),
  });
  const p99 = (t: E2eTrial) => t.p99_ms;
  const p50 = (t: E2eTrial) => t.p50_ms;
  const rates = trials.map((t) => t.rate);
  const series = [curve('guildcast', p99), curve('guildcast', p50), ...(o.baseline === 'plain' ? [curve('plain', p99), curve('plain', p50)] : [])];
  if (rates.length) series.push({ name: `bound ${o.p99BoundMs} ms`, points: [[Math.min(...rates), o.p99BoundMs], [Math.max(...rates), o.p99BoundMs]] });

  const best = ceiling ?? g;
  return {
    scenario: 'e2e',
    config: { ...o },
    top: { ...top },
    stages: best
      ? [
          {
            stage: `guildcast, ${o.shape}, ${o.mode === 'fixed' ? 'fixed rate' : `ceiling at p99 ≤ ${o.p99BoundMs} ms`}`,
            perSecond: ceiling?.rate ?? 0,
            unit: 'msg/s',
            ...(o.baseline === 'plain' ? { baseline: { name: 'plain pipeline', perSecond: plain?.rate ?? 0 } } : {}),
          },
          { stage: `deliveries at ${best.rate} msg/s`, perSecond: best.delivered / o.durationSeconds, unit: 'deliveries/s' },
        ]
      : [],
    latency: trials.map((t) => ({ name: `${t.system} send → client at ${t.rate}/s`, summary: t.latency, distribution: t.distribution })),
    ...(timeline ? { timeline } : {}),
    checks: best ? { missing: best.missing, duplicated: best.duplicated, outOfOrder: best.out_of_order, deadLetters: best.dead_letters } : {},
    ...(best ? { processes: best.processes } : {}),
    findings,
    charts: [{ file: 'latency-vs-rate.svg', title: `Latency vs rate, ${o.shape} (clipped at ${clip} ms)`, xLabel: 'msg/s', yLabel: 'ms', series, markers: true }],
  };
}

/** How many deliveries each message made in a trial: one (sharded) or one per session (broadcast). */
function deliveriesPerMessage(t: E2eTrial): string {
  const n = Math.round(t.delivered / Math.max(1, t.produced));
  return n === 1 ? 'one delivery a message' : `${n} deliveries a message`;
}
