import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LatencySummary } from './latency.ts';
import { lineChart, type Series } from './svg.ts';

export interface StageFigure {
  stage: string;
  /** Items per second through this stage. */
  perSecond: number;
  unit?: string;
  /** What its dependency alone did on the same data in the same run. */
  baseline?: { name: string; perSecond: number };
}

export interface BenchResult {
  scenario: string;
  /** Every option the run used, so it can be repeated exactly. */
  config: Record<string, unknown>;
  stages: StageFigure[];
  latency?: { name: string; summary: LatencySummary; distribution: { percentile: number; ms: number }[] }[];
  /** Per-second samples: t in seconds, then named values. */
  timeline?: { t: number; [series: string]: number }[];
  /** Delivery checks: each must be zero in an honest run. */
  checks?: Record<string, number>;
  processes?: Record<string, { cpuPercentMean: number; rssMbMax: number }>;
  /** Anything a reader needs to interpret the figures (limits, the bottleneck and its evidence). */
  findings?: string[];
  extra?: Record<string, unknown>;
  /** Written at the top level of result.json, ahead of the rest: a scenario's stable contract with scripts. */
  top?: Record<string, unknown>;
  /** Charts beside the standard ones (file name under the result folder, and the chart). */
  charts?: ({ file: string } & Parameters<typeof lineChart>[0])[];
}

const resultsRoot = fileURLToPath(new URL('../results/', import.meta.url));

export function machine() {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform };
}

export function ratio(figure: StageFigure): number | undefined {
  return figure.baseline && figure.baseline.perSecond > 0 ? figure.perSecond / figure.baseline.perSecond : undefined;
}

/** The terminal table printed at the end of every run. */
export function table(result: BenchResult): string {
  const rows: string[][] = [['stage', 'rate', 'baseline', 'baseline rate', 'ratio']];
  for (const s of result.stages) {
    const r = ratio(s);
    rows.push([s.stage, `${num(s.perSecond)} ${s.unit ?? '/s'}`, s.baseline?.name ?? '', s.baseline ? `${num(s.baseline.perSecond)} ${s.unit ?? '/s'}` : '', r === undefined ? '' : `${(r * 100).toFixed(0)}%`]);
  }
  const out = [grid(rows)];
  if (result.latency?.length) {
    const lat: string[][] = [['latency (ms)', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max']];
    for (const l of result.latency) {
      const s = l.summary;
      lat.push([l.name, String(s.count), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.p999), ms(s.max)]);
    }
    out.push(grid(lat));
  }
  if (result.checks) out.push(Object.entries(result.checks).map(([k, v]) => `${k}: ${v}`).join('   '));
  if (result.findings?.length) out.push(result.findings.map((f) => `- ${f}`).join('\n'));
  return out.join('\n\n');
}

/** Writes `<scenario>-<time>/result.json`, `report.md` and SVG charts under bench/results/. */
export async function writeReport(result: BenchResult, dir = resultsRoot): Promise<string> {
  const started = new Date().toISOString().replace(/[:.]/g, '-');
  const folder = join(dir, `${result.scenario}-${started}`);
  await mkdir(folder, { recursive: true });
  const { top, charts: extraCharts, ...rest } = result;
  const full = { ...top, ...rest, machine: machine(), writtenAt: new Date().toISOString() };
  await writeFile(join(folder, 'result.json'), JSON.stringify(full, null, 2));

  const charts: string[] = [];
  for (const { file, ...chart } of extraCharts ?? []) {
    await writeFile(join(folder, file), lineChart(chart));
    charts.push(`![${chart.title}](${file})`);
  }
  const timeline = result.timeline ?? [];
  const names = [...new Set(timeline.flatMap((row) => Object.keys(row).filter((k) => k !== 't')))];
  const rates = names.filter((n) => n.endsWith('/s'));
  const latencies = names.filter((n) => !n.endsWith('/s') && n.includes('ms'));
  const gauges = names.filter((n) => !n.endsWith('/s') && !n.includes('ms'));
  const seriesOf = (list: string[]): Series[] =>
    list.map((name) => ({ name, points: timeline.filter((r) => r[name] !== undefined).map((r) => [r.t, r[name]!] as [number, number]) }));
  if (rates.length) {
    await writeFile(join(folder, 'throughput.svg'), lineChart({ title: 'Throughput over time', xLabel: 'seconds', yLabel: 'per second', series: seriesOf(rates) }));
    charts.push('![throughput over time](throughput.svg)');
  }
  if (latencies.length) {
    await writeFile(join(folder, 'latency-over-time.svg'), lineChart({ title: 'Latency over time', xLabel: 'seconds', yLabel: 'ms', series: seriesOf(latencies) }));
    charts.push('![latency over time](latency-over-time.svg)');
  }
  if (gauges.length) {
    await writeFile(join(folder, 'gauges.svg'), lineChart({ title: `${gauges.join(', ')} over time`, xLabel: 'seconds', yLabel: 'records', series: seriesOf(gauges) }));
    charts.push(`![${gauges.join(', ')} over time](gauges.svg)`);
  }
  if (result.latency?.length) {
    const series = result.latency.map((l) => ({
      name: l.name,
      points: l.distribution.filter((p) => p.percentile < 100).map((p) => [100 / (100 - p.percentile), p.ms] as [number, number]),
    }));
    await writeFile(join(folder, 'latency-distribution.svg'), lineChart({ title: 'Latency by percentile (x: 1/(1-p), log)', xLabel: 'percentile: 1=p0, 10=p90, 100=p99, 1000=p99.9', yLabel: 'ms', series, logX: true }));
    charts.push('![latency distribution](latency-distribution.svg)');
  }

  const md = [
    `# bench: ${result.scenario}`,
    '',
    `Run at ${full.writtenAt} on ${full.machine.cpus} cores (${full.machine.cpuModel ?? 'unknown CPU'}), ${full.machine.memoryGb} GiB, Node ${full.machine.node}.`,
    'Figures from one run on a shared machine: compare the ratios, not absolute numbers across runs.',
    '',
    '```',
    table(result),
    '```',
    '',
    ...charts.flatMap((c) => [c, '']),
    '## Configuration',
    '',
    '```json',
    JSON.stringify(result.config, null, 2),
    '```',
    ...(result.processes
      ? ['', '## Processes', '', '| process | mean CPU (% of a core) | peak RSS (MB) |', '|---|---|---|', ...Object.entries(result.processes).map(([n, p]) => `| ${n} | ${p.cpuPercentMean.toFixed(0)} | ${p.rssMbMax.toFixed(0)} |`)]
      : []),
    '',
  ].join('\n');
  await writeFile(join(folder, 'report.md'), md);
  return folder;
}

function grid(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r, ri) => r.map((c, i) => (ri > 0 && i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

const num = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));
const ms = (v: number) => v.toFixed(v >= 100 ? 0 : 2);
