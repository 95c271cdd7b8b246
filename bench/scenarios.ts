import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadStoreConfig } from '../store/index.ts';
import { ingestDefaults, kafkaClientsOption, runIngestBench } from './ingest/ingest-bench.ts';
import type { BenchResult } from './kit/report.ts';
import type { LoadShape } from './kit/workload.ts';
import { e2eDefaults, runE2eBench } from './e2e/e2e-bench.ts';
import { interestDefaults, runInterestBench } from './edge/interest-bench.ts';
import { describePacedCpu, type PacedCpuRow } from './edge/paced-cpu.ts';
import { persistDefaults, runPersistBench } from './persist/persist-bench.ts';
import { runStoreBench } from './store/store-bench.ts';

/** Options every scenario understands (each uses the ones that apply to it). */
export interface CommonOptions extends LoadShape {
  rate?: number;
  messages?: number;
  /** e2e: search for the highest rate whose p99 stays under this bound (ms). */
  p99BoundMs?: number;
  /** e2e: `broadcast` (every session gets every guild) or `sharded` (session i is bot shard [i, n]). */
  shape?: 'broadcast' | 'sharded';
  /** e2e: measuring-client processes. */
  clientProcesses?: number;
  /** e2e: also run the plain baseline (default) or not. */
  baseline?: 'plain' | 'none';
  /** e2e: guildcast's roles each in a process of their own (default), or all in one (`guildcast all`). */
  layout?: 'roles' | 'one';
  /** ingest, persist, e2e: the Kafka seam's implementation, or both alternated in one run. */
  kafkaClient?: 'kafkajs' | 'platformatic' | 'both';
  /** e2e: seconds of unmeasured load before the first trial, so the servers' JITs are warm for both systems. */
  serversWarmupSeconds?: number;
  /** edge-interest: partitions of the deliveries topic. */
  partitions?: number;
}

export interface Scenario {
  name: string;
  summary: string;
  run(options: CommonOptions): Promise<BenchResult>;
}

/** e2e runs one implementation per run: `both` would double an already long search (run it twice instead). */
function e2eKafkaClient(value: CommonOptions['kafkaClient']): 'kafkajs' | 'platformatic' | undefined {
  if (value === 'both') throw new Error('e2e: --kafka-client takes kafkajs or platformatic (one per run; run the two one after the other)');
  return value;
}

const scenarios: Scenario[] = [
  {
    name: 'ingest',
    summary: 'simulated gateway → ingest (own process) → Kafka acknowledged, next to a raw kafkajs producer sending the same records, without and with gzip',
    run: (o) => runIngestBench({ ...ingestDefaults, messages: o.messages ?? ingestDefaults.messages, kafkaClients: kafkaClientsOption(o.kafkaClient, ingestDefaults.kafkaClients) }),
  },
  {
    name: 'edge',
    summary: "the edge's dispatch path with 1,000 and 10,000 sessions (clients in their own process) next to a plain ws loop; added latency; memory per idle connection",
    run: runEdgeBench,
  },
  {
    name: 'edge-interest',
    summary: 'two edge nodes on one deliveries topic: a session of shard [1, 4] on A, an unsharded one on B; deliveries bytes each fetched (A ÷ B), records consumed, every client checked for missing',
    run: (o) =>
      runInterestBench({
        ...interestDefaults,
        partitions: o.partitions ?? interestDefaults.partitions,
        rate: o.rate ?? interestDefaults.rate,
        seconds: o.durationSeconds,
        guilds: o.guilds,
        contentBytes: o.contentBytes,
      }),
  },
  {
    name: 'e2e',
    summary:
      'simulated Discord → ingest → Kafka → fanout → store → edge → websocket clients, every role and bench part its own process, then the plain baseline in the same run; ' +
      '--rate N: one trial at N msg/s; --p99 MS (or neither): the highest rate holding p99 ≤ MS (default 50); --shape broadcast|sharded; writes result.json with ceiling_msg_per_s and plain_ceiling_msg_per_s',
    run: (o) =>
      runE2eBench({
        ...e2eDefaults,
        // --rate alone: one fixed rate. --p99 (with --rate as its start) or neither: the search load testers ask for.
        mode: o.rate !== undefined && o.p99BoundMs === undefined ? 'fixed' : 'search',
        rate: o.rate ?? e2eDefaults.rate,
        p99BoundMs: o.p99BoundMs ?? e2eDefaults.p99BoundMs,
        shape: o.shape ?? e2eDefaults.shape,
        clientProcesses: o.clientProcesses ?? e2eDefaults.clientProcesses,
        baseline: o.baseline ?? e2eDefaults.baseline,
        layout: o.layout ?? e2eDefaults.layout,
        kafkaClient: e2eKafkaClient(o.kafkaClient),
        durationSeconds: o.durationSeconds,
        warmupSeconds: o.warmupSeconds,
        serversWarmupSeconds: o.serversWarmupSeconds ?? e2eDefaults.serversWarmupSeconds,
        guilds: o.guilds,
        channelsPerGuild: o.channelsPerGuild,
        contentBytes: o.contentBytes,
        clients: o.clients,
      }),
  },
  {
    name: 'persist',
    summary: 'Kafka → fanout persist consumer → store, next to the raw cassandra-driver insert rate; record → row delay under an open-loop rate',
    run: (o) =>
      runPersistBench({
        ...persistDefaults,
        messages: o.messages ?? persistDefaults.messages,
        guilds: o.guilds,
        channelsPerGuild: o.channelsPerGuild,
        contentBytes: o.contentBytes,
        latencySeconds: o.durationSeconds,
        ...(o.rate !== undefined ? { latencyRate: o.rate } : {}),
        kafkaClients: kafkaClientsOption(o.kafkaClient, persistDefaults.kafkaClients),
      }),
  },
  {
    name: 'history',
    summary: 'store inserts next to raw executeConcurrent, and latest-50 history latency (p50/p99) under 8 and 32 concurrent readers',
    async run(o) {
      const r = await runStoreBench({ config: loadStoreConfig(), readSeconds: o.durationSeconds, ...(o.messages ? { messagesPerRound: o.messages } : {}) });
      return {
        scenario: 'history',
        config: { ...o, insert: r.insert },
        stages: [{ stage: 'store inserts', perSecond: r.insert.storePerSecond, unit: 'msg/s', baseline: { name: 'raw executeConcurrent', perSecond: r.insert.rawDriverPerSecond } }],
        latency: r.history.flatMap((h) => [
          { name: `latest-50 page, ${h.concurrency} readers`, summary: { count: h.requests, p50: h.p50Ms, p90: Number.NaN, p99: h.p99Ms, p999: Number.NaN, max: h.maxMs, mean: Number.NaN }, distribution: [] },
          { name: `raw driver SELECT of the same page, ${h.concurrency} readers`, summary: { count: h.raw.requests, p50: h.raw.p50Ms, p90: Number.NaN, p99: h.raw.p99Ms, p999: Number.NaN, max: h.raw.maxMs, mean: Number.NaN }, distribution: [] },
        ]),
        findings: [
          ...r.history.map((h) => `${h.concurrency} readers: ${h.requests} pages, ${h.dbQueries} database queries, ${h.coalescedReads} answered by coalescing; p99 ${h.p99Ms} ms against the raw driver's ${h.raw.p99Ms} ms on the same readers (store, raw, raw, store halves)`),
          `goals: inserts ≥ 80% of raw: ${r.goals.insertAtLeast80PercentOfRaw ? 'met' : 'missed'}; latest-50 p99 ≤ 15 ms: ${r.goals.latest50P99AtMost15Ms ? 'met' : 'missed'}`,
        ],
      };
    },
  },
];

/** The edge bench needs `--expose-gc` semantics and owns its process: run it as a child, read its result file. */
async function runEdgeBench(o: CommonOptions): Promise<BenchResult> {
  const script = fileURLToPath(new URL('./edge/run.ts', import.meta.url));
  const seconds = String(Math.max(2, Math.min(o.durationSeconds, 20)));
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--seconds', seconds], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      process.stderr.write(d);
    });
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`edge bench exited ${code}`))));
  });
  const file = /results: (\S+)/.exec(output)?.[1];
  if (!file) throw new Error('the edge bench wrote no result file');
  const { rows, paced, replay } = JSON.parse(await readFile(file, 'utf8')) as {
    rows: { server: string; sessions: number; deliveriesPerSecond: number; latency: import('./kit/latency.ts').LatencySummary; bytesPerIdleConnection?: { rss: number; heap: number } }[];
    paced: PacedCpuRow[];
    replay: { capacity: number; heapBytesPerSession: number };
  };
  const edge = rows.filter((r) => r.server === 'edge');
  return {
    scenario: 'edge',
    config: { seconds: Number(seconds), sessions: edge.map((r) => r.sessions) },
    stages: edge.map((r) => ({
      stage: `edge, ${r.sessions} sessions`,
      perSecond: r.deliveriesPerSecond,
      unit: 'deliveries/s',
      baseline: { name: 'plain ws loop', perSecond: rows.find((p) => p.server !== 'edge' && p.sessions === r.sessions)?.deliveriesPerSecond ?? 0 },
    })),
    latency: rows.map((r) => ({ name: `${r.server}, ${r.sessions} sessions`, summary: r.latency, distribution: [] })),
    findings: [
      ...edge.map((r) => `${r.sessions} sessions: ${((r.bytesPerIdleConnection?.rss ?? 0) / 1024).toFixed(1)} KB RSS and ${((r.bytesPerIdleConnection?.heap ?? 0) / 1024).toFixed(1)} KB heap per idle connection (goal ≤ 30 KB)`),
      ...describePacedCpu(paced),
      `a session's replay buffer, full (${replay.capacity.toLocaleString('en')} frames, bodies shared): ${(replay.heapBytesPerSession / 1024).toFixed(1)} KB heap`,
    ],
    extra: { rows, paced, replay },
  };
}

export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}

export function listScenarios(): readonly Scenario[] {
  return scenarios;
}
