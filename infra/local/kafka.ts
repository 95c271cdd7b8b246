import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createKafka } from '../../core/kafka/client.ts';
import { silentLogger } from '../../core/logger.ts';
import { fetchJars } from './fetch.ts';
import { KAFKA_VERSION, kafkaPaths as paths } from './paths.ts';
import type { ServerSpec } from './server.ts';

export const KAFKA_PORT = Number(process.env.GUILDCAST_KAFKA_PORT ?? 9092);
const CONTROLLER_PORT = Number(process.env.GUILDCAST_KAFKA_CONTROLLER_PORT ?? KAFKA_PORT + 1);
const HEAP = process.env.GUILDCAST_KAFKA_HEAP ?? '512m';
const isKafka4 = Number(KAFKA_VERSION.split('.')[0]) >= 4;

const serverProperties = () => `# Written by infra/local on every start; edit infra/local/kafka.ts instead.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${CONTROLLER_PORT}
listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${join(paths.data, 'logs')}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
log.segment.bytes=67108864
`;

// Kafka 3.x logs through log4j 1 (reload4j); 4.x through log4j2. Both go to stdout, which is the log file.
const log4jProperties = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
`;
const log4j2Yaml = `Configuration:
  Appenders:
    Console: { name: STDOUT, PatternLayout: { pattern: "[%d] %p %m (%c)%n" } }
  Loggers:
    Root: { level: INFO, AppenderRef: [{ ref: STDOUT }] }
    Logger: [{ name: state.change.logger, level: WARN }]
`;

function javaBase(): string[] {
  return [
    `-Xms${HEAP}`,
    `-Xmx${HEAP}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    isKafka4
      ? `-Dlog4j2.configurationFile=${join(paths.conf, 'log4j2.yaml')}`
      : `-Dlog4j.configuration=file:${join(paths.conf, 'log4j.properties')}`,
    '-cp',
    join(paths.libs, '*'),
  ];
}

export const kafkaSpec: ServerSpec = {
  name: 'kafka',
  paths,
  address: `127.0.0.1:${KAFKA_PORT}`,
  ports: [KAFKA_PORT, CONTROLLER_PORT],
  readyTimeoutMs: 120_000,
  stopGraceMs: 30_000,

  async fetch(log) {
    await fetchJars('kafka', 'kafka.version', KAFKA_VERSION, paths.libs, log, [isKafka4 ? 'kafka4' : 'kafka3']);
  },

  async prepare() {
    await mkdir(paths.conf, { recursive: true });
    await mkdir(paths.data, { recursive: true });
    const props = join(paths.conf, 'server.properties');
    await writeFile(props, serverProperties());
    await writeFile(join(paths.conf, 'log4j.properties'), log4jProperties);
    await writeFile(join(paths.conf, 'log4j2.yaml'), log4j2Yaml);
    if (existsSync(join(paths.data, 'logs', 'meta.properties'))) return;
    const clusterId = newClusterId();
    const result = spawnSync(
      'java',
      [...javaBase(), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, '--ignore-formatted'],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`formatting Kafka storage failed:\n${result.stdout}\n${result.stderr}`);
  },

  javaArgs: () => [...javaBase(), 'kafka.Kafka', join(paths.conf, 'server.properties')],

  async probe() {
    const kafka = createKafka({ KAFKA_CLIENT_ID: 'guildcast-infra-probe', KAFKA_BROKERS: [`127.0.0.1:${KAFKA_PORT}`] }, silentLogger, { probe: true });
    const admin = kafka.admin();
    try {
      await admin.connect();
      if ((await admin.brokers()) === 0) throw new Error('no brokers in metadata');
      // The controller must be up too, or topic creation would fail right after "ready".
      await admin.listTopics();
    } finally {
      await admin.disconnect().catch(() => {});
    }
  },
};

/**
 * A random Kafka cluster id (16 bytes, base64url). One in 64 of those starts with "-", which the
 * storage tool's argument parser takes for an option ("--cluster-id: expected one argument"), so
 * such ids are drawn again, as Kafka's own `Uuid.randomUuid` does.
 */
export function newClusterId(random: () => Buffer = () => randomBytes(16)): string {
  for (;;) {
    const id = random().toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
