import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cassandraSpec } from '../../infra/local/cassandra.ts';
import { kafkaSpec } from '../../infra/local/kafka.ts';
import { runningPid } from '../../infra/local/processes.ts';
import { createKafka, type KafkaClientName } from '../../core/kafka/client.ts';
import { loadKafkaConfig } from '../../core/kafka/config.ts';
import { ensureTopics, standardTopics, topicNames } from '../../core/kafka/topics.ts';
import { createLogger } from '../../core/logger.ts';
import { groupLag } from '../../fanout/index.ts';
import { createTokenSigner, DEV_TOKEN_SECRET } from '../../gateway-proxy/index.ts';
import { createCqlClient, loadStoreConfig } from '../../store/index.ts';
import { freePort } from '../kit/free-port.ts';
import { LatencyRecorder, type LatencySummary } from '../kit/latency.ts';
import { loopProbeEnv, ProcessSampler } from '../kit/process-stats.ts';
import { Progress } from '../kit/progress.ts';
import type { BenchResult } from '../kit/report.ts';
import { nextRate } from '../kit/search.ts';
import type { LoadShape } from '../kit/workload.ts';
import { mailbox, waitFor } from './ipc.ts';
import { e2eReport } from './e2e-report.ts';
import { trialPassed, type E2eTrial, type Shape, type System } from './result.ts';

export interface E2eOptions extends LoadShape {
  /** `fixed`: one trial per system at `rate`; `search`: the highest rate holding `p99BoundMs`, from `rate` up. */
  mode: 'fixed' | 'search';
  rate: number;
  /** A trial holds when p99 stays within this (ms) and nothing is lost, duplicated or reordered. */
  p99BoundMs: number;
  shape: Shape;
  /** Measuring-client processes the sessions are spread over. */
  clientProcesses: number;
  /** `plain`: also search the plain baseline (plain-pipeline.ts) in this run; `none`: guildcast only. */
  baseline: 'plain' | 'none';
  /** `roles`: ingest, fanout and edge each a process; `one`: all of them in one `guildcast all` process (the plain pipeline is one process too). */
  layout: 'roles' | 'one';
  shards: number;
  partitions: number;
  fanoutMembers: number;
  /**
   * Load through guildcast at the first trial's rate before any trial of either system, not
   * measured: Kafka's and Cassandra's JVMs compile their hot paths under load, and on servers just
   * started that costs the broker twice its warm CPU for minutes. Without it the first system
   * measured (guildcast) would run on colder servers than the plain baseline after it.
   */
  serversWarmupSeconds: number;
  /** The Kafka seam's implementation in all of guildcast's roles (their KAFKA_CLIENT); unset, each role its own default. The bench's own watcher stays on kafkajs. */
  kafkaClient?: KafkaClientName;
}

export const e2eDefaults: E2eOptions = {
  mode: 'search',
  rate: 100,
  p99BoundMs: 50,
  shape: 'broadcast',
  clientProcesses: 2,
  baseline: 'plain',
  layout: 'roles',
  durationSeconds: 30,
  warmupSeconds: 5,
  serversWarmupSeconds: 120,
  guilds: 200,
  channelsPerGuild: 4,
  contentBytes: { min: 20, max: 400 },
  clients: 100,
  shards: 2,
  partitions: 12,
  fanoutMembers: 1,
};

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

type Ask = ReturnType<typeof mailbox>;
interface Verified {
  expected: number;
  missing: number;
  received: number;
  duplicated: number;
  outOfOrder: number;
  events: E2eTrial['sessions'] & Record<string, unknown>;
}

/**
 * `e2e`: the gateway simulator → ingest → Kafka → fanout → store → edge → websocket clients, every
 * role and every part of the bench a process of its own (load generator with the simulator, hop
 * watcher, 2+ client processes), then the plain baseline on the same clients and load generator.
 * Each system gets one fixed-rate trial or a search for its p99-bound ceiling.
 */
export async function runE2eBench(o: E2eOptions): Promise<BenchResult> {
  const logger = createLogger('bench-e2e', { level: process.env.LOG_LEVEL ?? 'warn' });
  const kafkaConfig = loadKafkaConfig();
  const run = `e2e${Date.now().toString(36)}`;
  const prefix = `bench-${run}`;
  const topics = topicNames({ KAFKA_TOPIC_PREFIX: prefix });
  const plainTopics = { in: `${prefix}-plain-in`, out: `${prefix}-plain-out` };
  const kafka = createKafka(kafkaConfig, logger);
  const admin = kafka.admin();
  await admin.connect();
  const specs = [
    ...standardTopics({ ...kafkaConfig, KAFKA_TOPIC_PREFIX: prefix, KAFKA_EVENT_PARTITIONS: o.partitions, KAFKA_RETENTION_HOURS: 1 }),
    ...Object.values(plainTopics).map((name) => ({ name, partitions: o.partitions, retentionMs: 3_600_000 })),
  ];
  // A busy broker can answer a new topic's first metadata request with "does not host this
  // topic-partition" before its leaders settle: ensureTopics is idempotent, so ask again.
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics(admin, specs, logger);
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }

  const procs: Record<string, ChildProcess> = {};
  const servers = await serverPids();
  // Every Node process started below (both systems' and the bench's own) reports its event-loop delay here.
  const loopDir = mkdtempSync(join(tmpdir(), 'guildcast-e2e-loop-'));
  childEnv = { ...process.env, ...loopProbeEnv(loopDir) };
  const sampler = new ProcessSampler(() => ({ driver: process.pid, ...Object.fromEntries(Object.entries(procs).filter(([, c]) => c.exitCode === null).map(([n, c]) => [n, c.pid!])), ...servers }), { loopDir }).begin();
  const progress = new Progress('e2e');
  const trials: E2eTrial[] = [];
  try {
    procs.load = benchProcess('load.ts');
    await waitFor(procs.load, 'ready', 'load generator');
    const load = mailbox(procs.load, 'load generator');
    const sim = await load<{ apiBase: string; token: string; guildIds: string[] }>({ cmd: 'start', shards: o.shards, guilds: o.guilds, channelsPerGuild: o.channelsPerGuild, contentBytes: o.contentBytes });

    const edgePort = await freePort();
    const common = { ...(o.kafkaClient ? { KAFKA_CLIENT: o.kafkaClient } : {}), KAFKA_TOPIC_PREFIX: prefix, KAFKA_EVENT_PARTITIONS: String(o.partitions), CASSANDRA_KEYSPACE: `bench_${run}`, LOG_LEVEL: 'warn' };
    const ingestEnv = { DISCORD_TOKEN: sim.token, DISCORD_API_BASE: sim.apiBase, INGEST_SHARD_COUNT: String(o.shards) };
    const fanoutEnv = { FANOUT_GROUP_ID: `${prefix}-fanout`, FANOUT_HTTP_PORT: '0' };
    const edgeEnv = { EDGE_TOKEN_SECRET: DEV_TOKEN_SECRET, EDGE_NODE_ID: `${run}-edge`, EDGE_CONNECTIONS_PER_IP: '1000000', EDGE_IDENTIFIES_PER_5S: '1000000' };
    const roles = o.layout === 'one' ? ['guildcast'] : ['ingest', 'edge', ...Array.from({ length: o.fanoutMembers }, (_, i) => `fanout${o.fanoutMembers > 1 ? i : ''}`)];
    if (o.layout === 'one') {
      // Every role in one process on one port, as `npm start` runs them (the api role comes along, idle).
      procs.guildcast = spawn(process.execPath, ['bin/guildcast.mjs', 'all'], {
        cwd: root,
        env: { ...childEnv, ...common, ...ingestEnv, ...fanoutEnv, ...edgeEnv, GUILDCAST_PORT: String(edgePort), GUILDCAST_LOCAL_INFRA: 'false', SIM_RATE: '0' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    } else {
      procs.ingest = role('ingest/main.ts', { ...common, ...ingestEnv });
      for (const name of roles.filter((r) => r.startsWith('fanout'))) procs[name] = role('fanout/main.ts', { ...common, ...fanoutEnv });
      procs.edge = role('gateway-proxy/main.ts', { ...common, ...edgeEnv, EDGE_PORT: String(edgePort) });
    }
    procs.watch = benchProcess('watch.ts');
    const clientNames = Array.from({ length: o.clientProcesses }, (_, i) => `clients${i}`);
    for (const name of clientNames) procs[name] = benchProcess('clients.ts');
    await Promise.all([waitFor(procs.watch, 'ready', 'hop watcher'), ...clientNames.map((n) => waitFor(procs[n]!, 'ready', n))]);
    const watch = mailbox(procs.watch, 'hop watcher');
    const clients = clientNames.map((n) => mailbox(procs[n]!, n));
    for (const n of clientNames)
      procs[n]!.on('message', (m: { cmd: string; received?: number }) => {
        if (m.cmd === 'tick') progress.count('delivered', m.received!);
      });

    await waitForHttp(`http://127.0.0.1:${edgePort}/readyz`, 120_000, procs);
    await waitForGroup(admin, `${prefix}-fanout`, 120_000, procs);
    const shardsUntil = Date.now() + 120_000;
    for (;;) {
      const { stats } = await load<{ stats: { identifies: number } }>({ cmd: 'stats' });
      if (stats.identifies >= o.shards) break;
      assertAlive(procs);
      if (Date.now() > shardsUntil) throw new Error(`ingest identified ${stats.identifies} of ${o.shards} shards`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await watch({ cmd: 'start', deliveries: topics.deliveries });

    // Sessions: every one allowed every guild; broadcast sessions are shard [0, 1], sharded ones [i, n].
    const signer = createTokenSigner(DEV_TOKEN_SECRET);
    const sessions = await Promise.all(
      Array.from({ length: o.clients }, async (_, i) => ({
        index: i,
        token: await signer.mint({ subject: `bench-${i}`, guilds: '*', ttlSeconds: 24 * 3600 }),
        shard: (o.shape === 'sharded' ? [i, o.clients] : [0, 1]) as [number, number],
      })),
    );
    const connectAll = (url: string) => Promise.all(clients.map((ask, p) => ask({ cmd: 'connect', url, guildIds: sim.guildIds, sessions: sessions.filter((s) => s.index % clients.length === p) }, 600_000)));
    const disconnectAll = () => Promise.all(clients.map((ask) => ask({ cmd: 'disconnect' })));

    let lagNow: number | undefined;
    progress.gauge('lag', () => lagNow);
    const lagTimer = setInterval(async () => {
      if (procs[roles.find((r) => r.startsWith('fanout') || r === 'guildcast')!]?.exitCode !== null) return (lagNow = undefined);
      lagNow = (await groupLag(admin, `${prefix}-fanout`, topics.events).catch(() => [])).reduce((s, l) => s + l.lag, 0);
    }, 1000);
    lagTimer.unref();
    progress.begin();
    const offsetsOf = async (topic: string) => (await admin.topicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
    const ctx: TrialContext = { o, load, clients, sampler, watch, deadLetters: () => offsetsOf(topics.deadLetter), previous: undefined, lastSent: [] };

    await connectAll(`ws://127.0.0.1:${edgePort}`);
    if (o.serversWarmupSeconds > 0) {
      process.stderr.write(`[e2e] warming Kafka and Cassandra: guildcast at ${o.rate}/s for ${o.serversWarmupSeconds} s, not measured\n`);
      await runLoad('guildcast', o.rate, o.serversWarmupSeconds, ctx);
    }
    trials.push(...(await searchSystem('guildcast', ctx)));
    await disconnectAll();
    clearInterval(lagTimer);
    lagNow = undefined;
    // The plain baseline gets the machine to itself: guildcast's roles (and the watcher of their topics) leave first.
    await stopProcesses(procs, [...roles, 'watch']);

    if (o.baseline === 'plain') {
      const store = loadStoreConfig();
      procs.plain = benchProcess('plain-pipeline.ts', {
        PLAIN_BROKERS: kafkaConfig.KAFKA_BROKERS.join(','),
        PLAIN_IN_TOPIC: plainTopics.in,
        PLAIN_OUT_TOPIC: plainTopics.out,
        PLAIN_GROUP: `${prefix}-plain`,
        PLAIN_KEYSPACE: `bench_${run}_plain`,
        PLAIN_PORT: '0',
        CASSANDRA_CONTACT_POINTS: store.CASSANDRA_CONTACT_POINTS.join(","),
        CASSANDRA_LOCAL_DC: store.CASSANDRA_LOCAL_DC,
      });
      const port = await new Promise<number>((resolve, reject) => {
        procs.plain!.once('exit', (code) => reject(new Error(`the plain pipeline exited (${code}) during start-up`)));
        procs.plain!.on('message', (m: { cmd: string; port?: number }) => m.cmd === 'ready' && resolve(m.port!));
      });
      await load({ cmd: 'plain', brokers: kafkaConfig.KAFKA_BROKERS, topic: plainTopics.in });
      ctx.previous = undefined;
      ctx.lastSent = [];
      ctx.deadLetters = async () => 0;
      await connectAll(`ws://127.0.0.1:${port}`);
      trials.push(...(await searchSystem('plain', ctx)));
      await disconnectAll();
      await stopProcesses(procs, ['plain']);
    }
    progress.end();
    sampler.end();
    return e2eReport(o, trials, progress.timeline);
  } finally {
    sampler.end();
    for (const c of Object.values(procs)) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(Object.values(procs).map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)))));
    await admin.deleteTopics([...Object.values(topics), ...Object.values(plainTopics)]).catch(() => {});
    await admin.disconnect();
    await dropKeyspace(`bench_${run}`, logger);
    rmSync(loopDir, { recursive: true, force: true });
  }
}

interface TrialContext {
  o: E2eOptions;
  load: Ask;
  clients: Ask[];
  watch: Ask;
  sampler: ProcessSampler;
  deadLetters(): Promise<number>;
  /** Cumulative client counters after the last trial of this system: each trial reports its own delta. */
  previous: Verified | undefined;
  /** Messages sent so far per guild number, for this system. */
  lastSent: number[];
}

async function searchSystem(system: System, ctx: TrialContext): Promise<E2eTrial[]> {
  const tried: E2eTrial[] = [];
  if (ctx.o.mode === 'fixed') tried.push(await runTrial(system, ctx.o.rate, ctx));
  else for (let rate = nextRate(tried, { start: ctx.o.rate }); rate !== undefined; rate = nextRate(tried, { start: ctx.o.rate })) tried.push(await runTrial(system, rate, ctx));
  return tried;
}

const ZERO: Verified = { expected: 0, missing: 0, received: 0, duplicated: 0, outOfOrder: 0, events: { closes: {}, resumes: 0, resumed: 0, reidentifies: 0, invalid_sessions: 0 } };

async function verifyAll(ctx: TrialContext): Promise<Verified> {
  const parts = await Promise.all(ctx.clients.map((ask) => ask<Verified>({ cmd: 'verify', sent: ctx.lastSent })));
  const sum: Verified = { expected: 0, missing: 0, received: 0, duplicated: 0, outOfOrder: 0, events: { closes: {}, resumes: 0, resumed: 0, reidentifies: 0, invalid_sessions: 0 } };
  for (const p of parts) {
    for (const k of ['expected', 'missing', 'received', 'duplicated', 'outOfOrder'] as const) sum[k] += p[k];
    for (const k of ['resumes', 'resumed', 'reidentifies', 'invalid_sessions'] as const) sum.events[k] += p.events[k];
    for (const [code, n] of Object.entries(p.events.closes)) sum.events.closes[code] = (sum.events.closes[code] ?? 0) + n;
  }
  return sum;
}

/** `rate` msg/s at `system` for `seconds`; what was sent per guild is kept for the next verification. */
async function runLoad(system: System, rate: number, seconds: number, ctx: TrialContext): Promise<{ fired: number; behindMs: number; sent: number[] }> {
  const r = await ctx.load<{ fired: number; behindMs: number; sent: number[] }>({ cmd: 'run', target: system, rate, durationMs: seconds * 1000 }, seconds * 1000 + 120_000);
  ctx.lastSent = r.sent;
  return r;
}

async function runTrial(system: System, rate: number, ctx: TrialContext): Promise<E2eTrial> {
  const { o, clients, watch } = ctx;
  const runFor = (seconds: number) => runLoad(system, rate, seconds, ctx);
  if (o.warmupSeconds > 0) await runFor(o.warmupSeconds);
  const from = performance.timeOrigin + performance.now();
  await Promise.all([...clients.map((ask) => ask({ cmd: 'window', measuring: true, from })), ...(system === 'guildcast' ? [watch({ cmd: 'reset', from })] : [])]);
  const deadBefore = await ctx.deadLetters();
  // Fresh sessions and fresh per-system numbering: the first trial starts from zero.
  const before = ctx.previous ?? ZERO;
  const atStart = await verifyAll(ctx);
  const cpuFrom = ctx.sampler.samples.length;
  const measured = await runFor(o.durationSeconds);
  const processes = ctx.sampler.summary(cpuFrom);

  // Let what is in flight arrive: until nothing is missing beyond what earlier trials lost, or
  // deliveries stop coming for 3 s, at most 60 s.
  let after = await verifyAll(ctx);
  const drainUntil = Date.now() + 60_000;
  let still = 0;
  while (after.missing > before.missing && Date.now() < drainUntil && still < 6) {
    await new Promise((r) => setTimeout(r, 500));
    const next = await verifyAll(ctx);
    still = next.received === after.received ? still + 1 : 0;
    after = next;
  }
  const windows = await Promise.all(clients.map((ask) => ask<{ histogram: string }>({ cmd: 'window', measuring: false })));
  const latency = new LatencyRecorder();
  for (const w of windows) latency.merge(w.histogram);
  const hops = system === 'guildcast' ? await watch<{ hops: Record<string, LatencySummary>; persistedFrom?: string }>({ cmd: 'summary' }) : { hops: {} };
  const summary = latency.summary();
  const hopsAt = (q: 'p50' | 'p99'): Record<string, number> => {
    const at: Record<string, number> = Object.fromEntries(Object.entries(hops.hops).map(([n, s]) => [n, s[q]]));
    if (hops.hops['send → persisted']) at[`edge + clients (${q} send → client − ${q} send → persisted)`] = summary[q] - hops.hops['send → persisted'][q];
    return at;
  };
  const closes: Record<string, number> = Object.fromEntries(Object.entries(after.events.closes).map(([c, n]) => [c, n - (before.events.closes[c] ?? 0)] as const).filter(([, n]) => n > 0));
  const t: Omit<E2eTrial, 'passed'> = {
    system,
    rate,
    produced: measured.fired,
    delivered: after.received - atStart.received,
    p50_ms: summary.p50,
    p99_ms: summary.p99,
    latency: summary,
    distribution: latency.distribution(),
    // Negative only when a late copy of an earlier trial's message arrived: that trial was charged already.
    missing: Math.max(0, after.missing - before.missing),
    duplicated: after.duplicated - before.duplicated,
    out_of_order: after.outOfOrder - before.outOfOrder,
    dead_letters: (await ctx.deadLetters()) - deadBefore,
    sessions: {
      closes,
      resumes: after.events.resumes - before.events.resumes,
      resumed: after.events.resumed - before.events.resumed,
      reidentifies: after.events.reidentifies - before.events.reidentifies,
      invalid_sessions: after.events.invalid_sessions - before.events.invalid_sessions,
    },
    generator_behind_ms: measured.behindMs,
    hops_p50_ms: hopsAt('p50'),
    hops_p99_ms: hopsAt('p99'),
    processes,
  };
  ctx.previous = after;
  const trial: E2eTrial = { ...t, passed: trialPassed(t, o.p99BoundMs) };
  const closed = Object.values(closes).reduce((s, n) => s + n, 0);
  process.stderr.write(
    `[e2e] ${system} at ${rate}/s: p50 ${summary.p50.toFixed(1)} ms, p99 ${summary.p99.toFixed(1)} ms (${summary.count} deliveries timed), missing ${trial.missing}, duplicated ${trial.duplicated}, ` +
      `out of order ${trial.out_of_order}, dead letters ${trial.dead_letters}, closes ${closed}, resumes ${trial.sessions.resumes}, re-identifies ${trial.sessions.reidentifies}` +
      `${measured.behindMs > 100 ? `, load generator ${measured.behindMs.toFixed(0)} ms behind` : ''}${after.missing > before.missing && Date.now() >= drainUntil ? ', drain cut at 60 s' : ''} -> ${trial.passed ? 'holds' : 'fails'}\n`,
  );
  return trial;
}

/**
 * guildcast's roles made the run's keyspace (the plain pipeline drops its own): left behind, every
 * run's tables would stay in Cassandra's memtables, flushes and compactions, costing later runs.
 */
async function dropKeyspace(keyspace: string, logger: ReturnType<typeof createLogger>): Promise<void> {
  const cql = createCqlClient(loadStoreConfig());
  try {
    await cql.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  } catch (err) {
    logger.warn({ err, keyspace }, 'could not drop the run\'s keyspace');
  } finally {
    await cql.shutdown().catch(() => {});
  }
}

/** The local Kafka and Cassandra, when this machine runs them (infra/local), sampled like the roles. */
async function serverPids(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const spec of [kafkaSpec, cassandraSpec]) {
    const pid = await runningPid(spec.name, spec.paths.pidFile);
    if (pid !== undefined) out[spec.name] = pid;
  }
  return out;
}

/** The environment of every child: the driver's, with the event-loop probe (set once per run). */
let childEnv: NodeJS.ProcessEnv = process.env;

function role(entry: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env: { ...childEnv, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

function benchProcess(file: string, env: Record<string, string> = {}): ChildProcess {
  return fork(here(`./${file}`), [], { execArgv: ['--import', 'tsx'], cwd: root, env: { ...childEnv, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

async function stopProcesses(procs: Record<string, ChildProcess>, names: string[]): Promise<void> {
  await Promise.all(
    names.map((n) => {
      const c = procs[n];
      if (!c || c.exitCode !== null || c.signalCode !== null) return undefined;
      c.kill('SIGTERM');
      return new Promise((r) => c.once('exit', r));
    }),
  );
}

async function waitForHttp(url: string, timeoutMs: number, procs: Record<string, ChildProcess>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    assertAlive(procs);
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} not ready within ${timeoutMs / 1000}s`);
}

async function waitForGroup(admin: import('../../core/kafka/types.ts').Admin, groupId: string, timeoutMs: number, procs: Record<string, ChildProcess>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    assertAlive(procs);
    const described = await admin.describeGroup(groupId).catch(() => undefined);
    if (described?.state === 'Stable') return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`fanout group ${groupId} did not form`);
}

function assertAlive(procs: Record<string, ChildProcess>): void {
  for (const [name, c] of Object.entries(procs)) if (c.exitCode !== null) throw new Error(`${name} exited with ${c.exitCode} during start-up`);
}
