import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaClient } from '../../core/kafka/types.ts';
import { createKafka } from '../../core/kafka/client.ts';
import { loadKafkaConfig } from '../../core/kafka/config.ts';
import { ensureTopics, standardTopics, topicNames, type TopicNames } from '../../core/kafka/topics.ts';
import { silentLogger } from '../../core/logger.ts';
import { mintTokenCli } from '../../gateway-proxy/mint-token.ts';
import { extraKafka, type ExtraKafka } from '../../infra/local/extra-kafka.ts';
import type { CqlClient } from '../../store/cql/client.ts';
import { freePort, startRole, type RoleProcess } from '../child.ts';
import { TcpBalancer } from '../tcp-balancer.ts';
import { dropKeyspace, eventually, testKeyspace, uniqueName } from '../support.ts';

/**
 * The whole pipeline for a system test, every part its own process: a Kafka broker of its own
 * (the shared one on 9092 is never touched), the gateway simulator playing Discord, and the
 * `guildcast` roles ingest, fanout, edge and api, configured by environment variables as operators
 * do. Cassandra is the shared one, with a keyspace of this run's.
 *
 * The roles run under a small supervisor, as Kubernetes or systemd would run them: a role process
 * that exits by itself is started again (and counted), so a role that exits to be restarted is
 * not mistaken for a broken test. Only `kill()` stops a role without a restart until `start()`.
 */
export const ROLES = ['ingest', 'fanout', 'edge', 'api'] as const;
/** `edge` is edge node 0; `edge-<n>` the others (`edges` > 1, or started later by name). */
export type RoleName = (typeof ROLES)[number] | `edge-${number}`;

export interface SentMessage {
  id: string;
  channelId: string;
  guildId: string;
  content: string;
  shard: number;
  sessionId: string;
  seq: number;
}

export interface SimulatorReport {
  done: boolean;
  stats: { identifies: number; resumes: number; invalidSessions: number; replayed: number; connections: number };
  messages: SentMessage[];
}

export interface PipelineOptions {
  /** Names the run's topics, keyspace, broker folder and log folder. */
  name: string;
  partitions?: number;
  shards?: number;
  guilds?: number;
  channelsPerGuild?: number;
  /** Edge nodes behind a TCP load balancer (test/tcp-balancer.ts) when more than 1; default 1. */
  edges?: number;
}

export interface Pipeline {
  readonly name: string;
  readonly broker: ExtraKafka;
  readonly topics: TopicNames;
  readonly keyspace: string;
  readonly cql: CqlClient;
  /** A kafkajs client on this run's broker (for reading topics). */
  readonly kafka: KafkaClient;
  /** `http://127.0.0.1:<port>`: the edge's base; REST clients use `${edgeBase}/api`. */
  readonly edgeBase: string;
  /** One edge node's own base (`edge` is node 0), bypassing the balancer. */
  edgeNodeBase(role: RoleName): string;
  /** The edge roles started with the pipeline, node 0 first. */
  readonly edgeRoles: readonly RoleName[];
  /** The balancer in front of the edge nodes (edges > 1). */
  readonly balancer: TcpBalancer | undefined;
  /** The api role's base (REST history). */
  readonly apiBase: string;
  readonly guildIds: string[];
  readonly channelIds: string[];
  /** A guildcast access token for every guild of the simulated world, minted by the project's token tool. */
  mintClientToken(): Promise<string>;
  startTraffic(ratePerSecond: number, total: number): Promise<void>;
  simulator(): Promise<SimulatorReport>;
  /** Starts roles (all by default) and waits until each answers /readyz with 200. */
  start(roles?: readonly RoleName[]): Promise<void>;
  waitReady(roles?: readonly RoleName[], timeoutMs?: number): Promise<void>;
  /** Signals roles (all by default) and waits for their exit; they stay down until `start`. */
  kill(signal: NodeJS.Signals, roles?: readonly RoleName[]): Promise<void>;
  /** Restarts by the supervisor, per role. */
  restarts(): Partial<Record<RoleName, number>>;
  /** Writes every process's output under the run's log folder; returns the folder. */
  saveLogs(): Promise<string>;
  close(): Promise<void>;
}

const TOKEN_SECRET = 'system-test-secret-not-for-production';

export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const name = uniqueName(options.name).toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const partitions = options.partitions ?? 4;
  const shards = options.shards ?? 2;
  const broker = extraKafka({ name, port: await freePort(), controllerPort: await freePort() });
  const ports = { sim: await freePort(), simControl: await freePort(), ingest: await freePort(), fanout: await freePort(), api: await freePort() };
  const edgeRoles: RoleName[] = Array.from({ length: Math.max(1, options.edges ?? 1) }, (_, i): RoleName => (i === 0 ? 'edge' : `edge-${i}`));
  const edgePorts = new Map<RoleName, number>();
  for (const role of edgeRoles) edgePorts.set(role, await freePort());
  const balancer = edgeRoles.length > 1 ? await new TcpBalancer(edgeRoles.map((role) => ({ host: '127.0.0.1', port: edgePorts.get(role)! }))).start() : undefined;
  const prefix = name;
  const topics = topicNames({ KAFKA_TOPIC_PREFIX: prefix });
  const logDir = join(tmpdir(), 'guildcast-system', name);

  const processes: { label: string; process: RoleProcess }[] = [];
  const current = new Map<RoleName, RoleProcess>();
  const wanted = new Set<RoleName>();
  const restartCounts: Partial<Record<RoleName, number>> = {};
  let closed = false;
  let simulatorProcess: RoleProcess | undefined;
  let store: { client: CqlClient; keyspace: string } | undefined;
  let kafka: KafkaClient | undefined;

  const cleanup = async () => {
    closed = true;
    for (const p of [...current.values(), simulatorProcess]) p?.child.kill('SIGKILL');
    await Promise.all([...current.values(), simulatorProcess].map((p) => p?.exited));
    await balancer?.close();
    await broker.remove();
    if (store) await dropKeyspace(store.client, store.keyspace).catch(() => {});
  };

  try {
    await broker.start();
    const kafkaConfig = loadKafkaConfig({ KAFKA_BROKERS: broker.brokers, KAFKA_TOPIC_PREFIX: prefix, KAFKA_EVENT_PARTITIONS: String(partitions), KAFKA_CLIENT_ID: 'guildcast-system-test' });
    kafka = createKafka(kafkaConfig, silentLogger);
    // Topics first, as an operator's deployment does: the roles then all start against a ready cluster.
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, standardTopics(kafkaConfig)).finally(() => admin.disconnect());
    // The schema too (fanout and api would both migrate it at start; doing it once avoids their race).
    store = await testKeyspace(name.slice(0, 40));

    simulatorProcess = startRole('test/system/gateway-sim-process.ts', {
      LOG_LEVEL: 'info',
      SIM_HOST: '127.0.0.1',
      SIM_PORT: String(ports.sim),
      SYSTEM_SIM_CONTROL_PORT: String(ports.simControl),
      SIM_SHARDS: String(shards),
      SIM_GUILDS: String(options.guilds ?? 8),
      SIM_CHANNELS_PER_GUILD: String(options.channelsPerGuild ?? 2),
      SIM_SEED: '7',
      // Discord keeps a session resumable for a while; long enough here that ingest's restarts resume.
      SIM_RESUME_WINDOW_MS: '600000',
    });
    processes.push({ label: 'simulator', process: simulatorProcess });
  } catch (err) {
    await cleanup();
    throw err;
  }

  const simControl = `http://127.0.0.1:${ports.simControl}`;
  const world = await eventually(
    'the simulator answering',
    async () => (await fetch(`${simControl}/world`)).json() as Promise<{ apiBase: string; token: string; guildIds: string[]; channels: Record<string, string[]> }>,
    30_000,
  ).catch(async (err) => {
    const output = simulatorProcess!.output();
    await cleanup();
    throw new Error(`${(err as Error).message}\n${output}`);
  });

  const common = {
    LOG_LEVEL: 'info',
    KAFKA_BROKERS: broker.brokers,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_EVENT_PARTITIONS: String(partitions),
    CASSANDRA_KEYSPACE: store.keyspace,
    EDGE_TOKEN_SECRET: TOKEN_SECRET,
    NODE_ENV: 'test',
  };
  const fixedEnv: Record<(typeof ROLES)[number], Record<string, string>> = {
    ingest: {
      ...common,
      DISCORD_TOKEN: world.token,
      DISCORD_API_BASE: world.apiBase,
      INGEST_SHARD_COUNT: String(shards),
      INGEST_HTTP_HOST: '127.0.0.1',
      INGEST_HTTP_PORT: String(ports.ingest),
    },
    fanout: { ...common, FANOUT_GROUP_ID: `${prefix}-fanout`, FANOUT_HTTP_HOST: '127.0.0.1', FANOUT_HTTP_PORT: String(ports.fanout) },
    edge: {},
    api: { ...common, API_HOST: '127.0.0.1', API_PORT: String(ports.api), CONSOLE_ENABLED: 'false', FANOUT_GROUP_ID: `${prefix}-fanout` },
  };
  const edgePort = async (role: RoleName) => {
    if (!edgePorts.has(role)) edgePorts.set(role, await freePort());
    return edgePorts.get(role)!;
  };
  const isEdge = (role: RoleName) => role === 'edge' || role.startsWith('edge-');
  // A fixed node id per role across restarts, as a StatefulSet pod keeps its name. Behind a
  // balancer, /gateway hands out the balancer's URL and each node names itself as its own.
  const roleEnv = (role: RoleName): Record<string, string> => {
    if (!isEdge(role)) return fixedEnv[role as (typeof ROLES)[number]];
    const port = edgePorts.get(role)!;
    return {
      ...common,
      EDGE_HOST: '127.0.0.1',
      EDGE_PORT: String(port),
      EDGE_NODE_ID: `${prefix}-${role === 'edge' ? 'edge-0' : role}`,
      EDGE_PUBLIC_URL: `ws://127.0.0.1:${port}`,
      ...(balancer ? { EDGE_GATEWAY_URL: `ws://127.0.0.1:${balancer.port}` } : {}),
    };
  };
  const opsPort = (role: RoleName) => {
    if (isEdge(role)) return edgePorts.get(role)!;
    return { ingest: ports.ingest, fanout: ports.fanout, api: ports.api }[role as 'ingest' | 'fanout' | 'api'];
  };
  const defaultRoles: RoleName[] = ['ingest', 'fanout', ...edgeRoles, 'api'];

  const launch = (role: RoleName) => {
    const process = startRole('bin/guildcast.mjs', roleEnv(role), [isEdge(role) ? 'edge' : role]);
    current.set(role, process);
    processes.push({ label: `${role}-${processes.filter((p) => p.label.startsWith(`${role}-`)).length + 1}`, process });
    void process.exited.then(async () => {
      // The supervisor: an exit nobody asked for is restarted after a short pause.
      if (closed || !wanted.has(role) || current.get(role) !== process) return;
      restartCounts[role] = (restartCounts[role] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, 1000));
      if (!closed && wanted.has(role) && current.get(role) === process) launch(role);
    });
  };

  const waitReady = async (roles: readonly RoleName[] = defaultRoles, timeoutMs = 150_000) => {
    await Promise.all(
      roles.map((role) =>
        eventually(
          `${role} ready`,
          async () => ((await fetch(`http://127.0.0.1:${opsPort(role)}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200 ? true : undefined),
          timeoutMs,
        ).catch((err) => {
          throw new Error(`${(err as Error).message}\n--- ${role} output (tail) ---\n${current.get(role)?.output().slice(-6000)}`);
        }),
      ),
    );
  };

  const pipeline: Pipeline = {
    name,
    broker,
    topics,
    keyspace: store.keyspace,
    cql: store.client,
    kafka: kafka!,
    edgeBase: `http://127.0.0.1:${balancer ? balancer.port : edgePorts.get('edge')}`,
    edgeNodeBase: (role) => `http://127.0.0.1:${edgePorts.get(role)}`,
    edgeRoles,
    balancer,
    apiBase: `http://127.0.0.1:${ports.api}`,
    guildIds: world.guildIds,
    channelIds: Object.values(world.channels).flat(),

    mintClientToken: () => mintTokenCli(['--guilds', world.guildIds.join(','), '--ttl', '1h'], { EDGE_TOKEN_SECRET: TOKEN_SECRET, NODE_ENV: 'test' }),

    async startTraffic(rate, total) {
      const res = await fetch(`${simControl}/traffic?rate=${rate}&total=${total}`, { method: 'POST' });
      if (res.status !== 200) throw new Error(`simulator refused traffic: ${res.status} ${await res.text()}`);
    },

    async simulator() {
      return (await (await fetch(`${simControl}/sent`)).json()) as SimulatorReport;
    },

    async start(roles = defaultRoles) {
      for (const role of roles) {
        if (isEdge(role)) await edgePort(role);
        wanted.add(role);
        launch(role);
      }
      await waitReady(roles);
    },

    waitReady,

    async kill(signal, roles = defaultRoles) {
      const victims = roles.map((role) => {
        wanted.delete(role);
        return current.get(role);
      });
      for (const v of victims) v?.child.kill(signal);
      await Promise.all(victims.map((v) => v?.exited));
    },

    restarts: () => ({ ingest: 0, fanout: 0, edge: 0, api: 0, ...restartCounts }),

    async saveLogs() {
      await mkdir(logDir, { recursive: true });
      for (const { label, process } of processes) await writeFile(join(logDir, `${label}.log`), process.output());
      await writeFile(join(logDir, 'kafka.log'), await broker.logTail(400));
      return logDir;
    },

    close: cleanup,
  };
  return pipeline;
}
