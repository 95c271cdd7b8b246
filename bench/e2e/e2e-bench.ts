import { fork, spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cassandraSpec } from '../../infra/local/cassandra.ts';
import { kafkaSpec } from '../../infra/local/kafka.ts';
import { runningPid } from '../../infra/local/processes.ts';
import { createKafka } from '../../core/kafka/client.ts';
import { loadKafkaConfig } from '../../core/kafka/config.ts';
import { ensureTopics, standardTopics, topicNames } from '../../core/kafka/topics.ts';
import { createLogger } from '../../core/logger.ts';
import { groupLag } from '../../fanout/index.ts';
import { createTokenSigner, DEV_TOKEN_SECRET } from '../../gateway-proxy/index.ts';
import { startGatewaySimulator } from '../gateway-sim/index.ts';
import { LatencyRecorder, type LatencySummary } from '../kit/latency.ts';
import { freePort } from '../kit/free-port.ts';
import { openLoop } from '../kit/open-loop.ts';
import { ProcessSampler } from '../kit/process-stats.ts';
import { Progress } from '../kit/progress.ts';
import type { BenchResult } from '../kit/report.ts';
import { createWorkload, type LoadShape } from '../kit/workload.ts';

export interface E2eOptions extends LoadShape {
  /** Open-loop rate of MESSAGE_CREATE, messages per second; the first rate of a search. */
  rate: number;
  /** Guilds each client's token allows (spread round-robin); 0 = all. */
  guildsPerClient: number;
  shards: number;
  partitions: number;
  fanoutMembers: number;
  /** Search for the highest rate whose p99 stays under this bound, with nothing missing. */
  p99BoundMs?: number;
}

export const e2eDefaults: E2eOptions = {
  rate: 100,
  durationSeconds: 30,
  warmupSeconds: 5,
  guilds: 200,
  channelsPerGuild: 4,
  contentBytes: { min: 20, max: 400 },
  clients: 50,
  guildsPerClient: 0,
  shards: 2,
  partitions: 12,
  fanoutMembers: 1,
};

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Trial {
  rate: number;
  produced: number;
  latency: LatencySummary;
  distribution: { percentile: number; ms: number }[];
  checks: { missing: number; duplicated: number; outOfOrder: number; deadLetters: number };
  maxLag: number;
  stageRates: Record<string, number>;
  /** Send → the record's Kafka timestamp on each topic: where the latency accrues. */
  stageLatency: Record<string, LatencySummary>;
  processes: Record<string, { cpuPercentMean: number; rssMbMax: number }>;
  passed: boolean;
}

/**
 * `e2e`: the gateway simulator → ingest → Kafka → fanout → store → edge → websocket clients, every
 * role its own process, at an open-loop rate of MESSAGE_CREATE; or, with a p99 bound, a search for
 * the highest rate that holds it. Every delivery is checked: missing, duplicated, out of order.
 */
export async function runE2eBench(options: E2eOptions): Promise<BenchResult> {
  const logger = createLogger('bench-e2e', { level: process.env.LOG_LEVEL ?? 'warn' });
  const kafkaConfig = loadKafkaConfig();
  const run = `e2e${Date.now().toString(36)}`;
  const prefix = `bench-${run}`;
  const topics = topicNames({ KAFKA_TOPIC_PREFIX: prefix });
  const kafka = createKafka(kafkaConfig, logger);
  const admin = kafka.admin();
  await admin.connect();
  // The project's own topic set, under a prefix of this run's.
  await ensureTopics(admin, standardTopics({ ...kafkaConfig, KAFKA_TOPIC_PREFIX: prefix, KAFKA_EVENT_PARTITIONS: options.partitions, KAFKA_RETENTION_HOURS: 1 }));

  const sim = await startGatewaySimulator({ shardCount: options.shards, guilds: options.guilds, channelsPerGuild: options.channelsPerGuild, compress: false });
  const edgePort = await freePort();
  const common = { KAFKA_TOPIC_PREFIX: prefix, KAFKA_EVENT_PARTITIONS: String(options.partitions), CASSANDRA_KEYSPACE: `bench_${run}`, LOG_LEVEL: 'warn' };
  const children: Record<string, ChildProcess> = {
    ingest: role('ingest/main.ts', { ...common, DISCORD_TOKEN: sim.token, DISCORD_API_BASE: sim.apiBase, INGEST_SHARD_COUNT: String(options.shards), INGEST_LINGER_MS: '2' }),
    ...Object.fromEntries(
      Array.from({ length: options.fanoutMembers }, (_, i) => [`fanout${options.fanoutMembers > 1 ? i : ''}`, role('fanout/main.ts', { ...common, FANOUT_GROUP_ID: `${prefix}-fanout`, FANOUT_HTTP_PORT: '0' })]),
    ),
    edge: role('gateway-proxy/main.ts', { ...common, EDGE_PORT: String(edgePort), EDGE_TOKEN_SECRET: DEV_TOKEN_SECRET, EDGE_NODE_ID: `${run}-edge`, EDGE_CONNECTIONS_PER_IP: '1000000', EDGE_IDENTIFIES_PER_5S: '1000000' }),
  };
  const clients = fork(fileURLToPath(new URL('./clients.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.clients = clients;
  const inbox = mailbox(clients);
  const progress = new Progress('e2e');
  let clientReceived = 0;
  clients.on('message', (m: { cmd: string; received?: number }) => {
    if (m.cmd === 'tick') {
      clientReceived += m.received!;
      progress.count('delivered', m.received!);
    }
  });

  const trials: Trial[] = [];
  const servers = await serverPids();
  const sampler = new ProcessSampler(() => ({ driver: process.pid, ...Object.fromEntries(Object.entries(children).map(([n, c]) => [n, c.pid!])), ...servers })).begin();
  try {
    await inbox('started');
    await waitForHttp(`http://127.0.0.1:${edgePort}/readyz`, 120_000, children);
    await waitForGroup(admin, `${prefix}-fanout`, topics.events, 120_000, children);
    const shardsUntil = Date.now() + 120_000;
    while (sim.stats().identifies < options.shards) {
      assertAlive(children);
      if (Date.now() > shardsUntil) throw new Error(`ingest identified ${sim.stats().identifies} of ${options.shards} shards`);
      await new Promise((r) => setTimeout(r, 200));
    }

    // Clients: tokens over the guilds, round-robin, so each guild has subscribers.
    const signer = createTokenSigner(DEV_TOKEN_SECRET);
    const tokens = await Promise.all(
      Array.from({ length: options.clients }, async (_, i) => {
        const guilds = options.guildsPerClient > 0 ? Array.from({ length: options.guildsPerClient }, (_, k) => sim.guildIds[(i * options.guildsPerClient + k) % sim.guildIds.length]!) : sim.guildIds;
        return { token: await signer.mint({ subject: `bench-${i}`, guilds: options.guildsPerClient > 0 ? guilds : '*', ttlSeconds: 3600 }), guilds };
      }),
    );
    clients.send({ cmd: 'connect', url: `ws://127.0.0.1:${edgePort}`, tokens });
    await inbox('connected');
    const stages = await watchStages(kafka, topics, prefix);

    const workload = createWorkload({ guilds: sim.guildIds, channelsPerGuild: options.channelsPerGuild, contentBytes: options.contentBytes });
    const sentPerGuild: Record<string, number> = {};
    let produced = 0;
    progress.gauge('lag', () => lagNow);
    let lagNow: number | undefined;
    let maxLag = 0;
    const lagTimer = setInterval(async () => {
      lagNow = (await groupLag(admin, `${prefix}-fanout`, topics.events).catch(() => [])).reduce((s, l) => s + l.lag, 0);
      maxLag = Math.max(maxLag, lagNow);
    }, 1000);
    const offsetsOf = async (topic: string) => (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
    progress.begin();

    const trial = async (rate: number): Promise<Trial> => {
      const send = (_i: number, intendedAt: number) => {
        const m = workload.nextMessage();
        const sequence = sentPerGuild[m.guildId] ?? 0;
        sentPerGuild[m.guildId] = sequence + 1;
        sim.dispatch('MESSAGE_CREATE', { ...m.d, nonce: `${(performance.timeOrigin + intendedAt).toFixed(3)}:${sequence}` }, m.guildId);
        produced++;
        progress.count('produced');
      };
      await openLoop({ ratePerSecond: rate, durationMs: options.warmupSeconds * 1000, fire: send });
      maxLag = 0;
      stages.reset();
      clients.send({ cmd: 'window', measuring: true });
      await inbox('window');
      const start = { at: performance.now(), produced, events: await offsetsOf(topics.events), deliveries: await offsetsOf(topics.deliveries), received: clientReceived };
      const cpuFrom = sampler.samples.length;
      await openLoop({ ratePerSecond: rate, durationMs: options.durationSeconds * 1000, fire: send });
      const seconds = (performance.now() - start.at) / 1000;
      const stageRates = {
        'simulator → ingest (sent)': (produced - start.produced) / seconds,
        'ingest → Kafka (events)': ((await offsetsOf(topics.events)) - start.events) / seconds,
        'fanout → store → deliveries': ((await offsetsOf(topics.deliveries)) - start.deliveries) / seconds,
        'edge → clients (deliveries)': (clientReceived - start.received) / seconds,
      };
      // Let everything in flight arrive (bounded), then close the window and verify.
      const expected = Object.values(sentPerGuild).reduce((s, n) => s + n, 0) * (options.guildsPerClient > 0 ? (options.clients * options.guildsPerClient) / sim.guildIds.length : options.clients);
      const drainUntil = Date.now() + 30_000;
      while (Date.now() < drainUntil) {
        clients.send({ cmd: 'verify', sentPerGuild });
        const v = await inbox<{ missing: number }>('verified');
        if (v.missing <= 0) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      clients.send({ cmd: 'window', measuring: false });
      const window = await inbox<{ latency: LatencySummary; distribution: { percentile: number; ms: number }[] }>('window');
      clients.send({ cmd: 'verify', sentPerGuild });
      const checks = await inbox<{ missing: number; duplicated: number; outOfOrder: number; receivedTotal: number }>('verified');
      const processes = sampler.summary(cpuFrom);
      const stageLatency = stages.summaries();
      const deadLetters = await offsetsOf(topics.deadLetter);
      const passed = deadLetters === 0 && checks.missing === 0 && checks.duplicated === 0 && checks.outOfOrder === 0 && (options.p99BoundMs === undefined || window.latency.p99 <= options.p99BoundMs);
      const result: Trial = { rate, produced: produced - start.produced, latency: window.latency, distribution: window.distribution, stageLatency, checks: { missing: checks.missing, duplicated: checks.duplicated, outOfOrder: checks.outOfOrder, deadLetters }, maxLag, stageRates, processes, passed };
      logger.warn({ rate, p99: window.latency.p99, missing: checks.missing, expected, passed }, 'trial done');
      process.stderr.write(`[e2e] trial at ${rate}/s: p50 ${window.latency.p50.toFixed(1)} ms, p99 ${window.latency.p99.toFixed(1)} ms, missing ${checks.missing}, duplicated ${checks.duplicated}, out of order ${checks.outOfOrder}, dead letters ${deadLetters}, max lag ${maxLag} -> ${passed ? 'holds' : 'fails'}\n`);
      return result;
    };

    if (options.p99BoundMs === undefined) trials.push(await trial(options.rate));
    else {
      // Double until a rate fails, then bisect between the last that held and the first that failed.
      let low = 0;
      let high = 0;
      for (let rate = options.rate; high === 0 && rate <= 200_000; rate *= 2) {
        const t = await trial(rate);
        trials.push(t);
        if (t.passed) low = rate;
        else high = rate;
      }
      for (let i = 0; i < 4 && high > 0 && high - low > Math.max(10, low * 0.1); i++) {
        const rate = Math.round((low + high) / 2);
        const t = await trial(rate);
        trials.push(t);
        if (t.passed) low = rate;
        else high = rate;
      }
    }
    clearInterval(lagTimer);
    await stages.stop();
    progress.end();
    sampler.end();
    return report(options, trials, progress.timeline);
  } finally {
    clients.send({ cmd: 'close' });
    for (const c of Object.values(children)) c.kill('SIGTERM');
    await Promise.all(Object.values(children).map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    await sim.close();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => {});
    await admin.disconnect();
  }
}

function report(options: E2eOptions, trials: Trial[], timeline: BenchResult['timeline']): BenchResult {
  const held = trials.filter((t) => t.passed);
  const best = held.length > 0 ? held.reduce((a, b) => (b.rate > a.rate ? b : a)) : trials[0]!;
  const failed = trials.filter((t) => !t.passed).sort((a, b) => a.rate - b.rate)[0];
  const findings: string[] = [];
  if (options.p99BoundMs !== undefined)
    findings.push(held.length > 0 ? `highest sustained rate with p99 under ${options.p99BoundMs} ms: ${best.rate} msg/s (p99 ${best.latency.p99.toFixed(1)} ms, ${options.clients} sessions)` : `no tried rate held p99 under ${options.p99BoundMs} ms`);
  const evidence = failed ?? best;
  const hops = (t: Trial) => {
    const events = t.stageLatency['send → events (ingest)']?.p99 ?? 0;
    const deliveries = t.stageLatency['send → deliveries (+ fanout)']?.p99 ?? 0;
    return { 'ingest (send → events)': events, 'fanout (events → deliveries)': deliveries - events, 'edge + clients (deliveries → client)': t.latency.p99 - deliveries };
  };
  if (failed && held.length > 0) {
    const before = hops(best);
    const after = hops(failed);
    const growth = Object.keys(after).map((k) => [k, after[k as keyof typeof after] - before[k as keyof typeof before]] as const).sort((a, b) => b[1] - a[1]);
    findings.push(
      `limiting stage: ${growth[0]![0]}: its share of p99 grew ${growth[0]![1].toFixed(0)} ms from ${best.rate}/s to ${failed.rate}/s (` +
        growth.slice(1).map(([k, v]) => `${k} ${v >= 0 ? '+' : ''}${v.toFixed(0)} ms`).join(', ') + ')',
    );
  }
  const cpu = Object.entries(evidence.processes).sort((a, b) => b[1].cpuPercentMean - a[1].cpuPercentMean);
  const machine = cpu.reduce((sum, [, p]) => sum + p.cpuPercentMean, 0);
  if (cpu.length > 0)
    findings.push(
      `CPU at ${evidence.rate} msg/s, % of one core: ${cpu.map(([n, p]) => `${n} ${p.cpuPercentMean.toFixed(0)}`).join(', ')}; ` +
        `${machine.toFixed(0)}% of the machine's ${availableParallelism() * 100}% in all; fanout lag peaked at ${evidence.maxLag}`,
    );
  for (const t of trials) {
    const parts = Object.entries(t.stageLatency).map(([name, l]) => `${name} p50 ${l.p50.toFixed(1)} / p99 ${l.p99.toFixed(1)} ms`);
    findings.push(`trial ${t.rate}/s: end to end p50 ${t.latency.p50.toFixed(1)} / p99 ${t.latency.p99.toFixed(1)} ms; ${parts.join('; ')}; max lag ${t.maxLag}; ${t.passed ? 'held' : 'failed'}`);
  }
  return {
    scenario: 'e2e',
    config: { ...options },
    stages: Object.entries(best.stageRates).map(([stage, perSecond]) => ({ stage, perSecond })),
    latency: trials.map((t) => ({ name: `send → client at ${t.rate}/s`, summary: t.latency, distribution: t.distribution })),
    timeline,
    checks: best.checks,
    processes: best.processes,
    findings,
    extra: { trials },
  };
}

/**
 * Reads both topics beside the pipeline and measures, per record, intended send time → the
 * record's Kafka timestamp (set by its producer): send → events is ingest's share, send →
 * deliveries adds fanout's (persist, then produce); the clients' figure adds the edge's.
 */
async function watchStages(kafka: import('kafkajs').Kafka, topics: { events: string; deliveries: string }, prefix: string) {
  const recorders = { 'send → events (ingest)': new LatencyRecorder(), 'send → deliveries (+ fanout)': new LatencyRecorder() };
  const consumer = kafka.consumer({ groupId: `${prefix}-watch`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.events, topics.deliveries], fromBeginning: false });
  let joined!: () => void;
  const ready = new Promise<void>((r) => (joined = r));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const recorder = batch.topic === topics.events ? recorders['send → events (ingest)'] : recorders['send → deliveries (+ fanout)'];
      for (const m of batch.messages) {
        const nonce = /"nonce":"([\d.]+):/.exec(m.value?.toString() ?? '')?.[1];
        if (nonce) recorder.recordMs(Number(m.timestamp) - Number(nonce));
      }
    },
  });
  await ready;
  return {
    reset: () => Object.values(recorders).forEach((r) => r.reset()),
    summaries: () => Object.fromEntries(Object.entries(recorders).map(([n, r]) => [n, r.summary()])),
    stop: () => consumer.disconnect(),
  };
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

function role(entry: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  return child;
}

/** Waits for the next IPC message with `cmd` from the child. */
function mailbox(child: ChildProcess) {
  const waiting = new Map<string, ((m: never) => void)[]>();
  child.on('message', (m: { cmd: string }) => {
    const list = waiting.get(m.cmd);
    const next = list?.shift();
    if (next) next(m as never);
  });
  return <T = unknown>(cmd: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`clients did not answer "${cmd}"`)), 300_000);
      const list = waiting.get(cmd) ?? [];
      list.push(((m: T) => (clearTimeout(timer), resolve(m))) as never);
      waiting.set(cmd, list);
    });
}

async function waitForHttp(url: string, timeoutMs: number, children: Record<string, ChildProcess>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    assertAlive(children);
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} not ready within ${timeoutMs / 1000}s`);
}

async function waitForGroup(admin: import('kafkajs').Admin, groupId: string, topic: string, timeoutMs: number, children: Record<string, ChildProcess>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    assertAlive(children);
    const described = await admin.describeGroups([groupId]).catch(() => undefined);
    if (described?.groups[0]?.state === 'Stable') return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`fanout group ${groupId} did not form on ${topic}`);
}

function assertAlive(children: Record<string, ChildProcess>): void {
  for (const [name, c] of Object.entries(children)) if (c.exitCode !== null) throw new Error(`${name} exited with ${c.exitCode} during start-up`);
}
