import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import cassandra from 'cassandra-driver';
import { fetchJars } from './fetch.ts';
import { CASSANDRA_VERSION, cassandraPaths as paths } from './paths.ts';
import type { ServerSpec } from './server.ts';

export const CQL_PORT = 9042;
const STORAGE_PORT = 7000;
const HEAP = process.env.GUILDCAST_CASSANDRA_HEAP ?? '1G';

const cassandraYaml = () => `# Written by infra/local on every start; edit infra/local/cassandra.ts instead.
cluster_name: guildcast-local
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:${STORAGE_PORT}"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: ${STORAGE_PORT}
native_transport_port: ${CQL_PORT}
start_native_transport: true
data_file_directories: [${join(paths.data, 'data')}]
commitlog_directory: ${join(paths.data, 'commitlog')}
saved_caches_directory: ${join(paths.data, 'saved_caches')}
hints_directory: ${join(paths.data, 'hints')}
cdc_raw_directory: ${join(paths.data, 'cdc_raw')}
commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 32MiB
concurrent_reads: 16
concurrent_writes: 32
concurrent_counter_writes: 16
# Local development: tests drop and create keyspaces constantly; snapshots of them only fill the disk.
auto_snapshot: false
snapshot_before_compaction: false
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
read_request_timeout: 5000ms
write_request_timeout: 2000ms
request_timeout: 10000ms
`;

const logbackXml = `<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT" /></root>
  <logger name="org.apache.cassandra" level="INFO"/>
  <logger name="com.thinkaurelius.thrift" level="ERROR"/>
</configuration>
`;

// From Cassandra 5.0's conf/jvm17-server.options: the module openings it needs on Java 17.
const jvm17Options = [
  '-Djdk.attach.allowAttachSelf=true',
  ...[
    'java.base/jdk.internal.misc',
    'java.management.rmi/com.sun.jmx.remote.internal.rmi',
    'java.rmi/sun.rmi.registry',
    'java.rmi/sun.rmi.server',
    'java.sql/java.sql',
    'java.base/java.lang.ref',
    'jdk.unsupported/sun.misc',
    'jdk.compiler/com.sun.tools.javac.file',
    'jdk.attach/sun.tools.attach',
  ].flatMap((m) => ['--add-exports', `${m}=ALL-UNNAMED`]),
  ...[
    'java.base/java.lang.module',
    'java.base/jdk.internal.loader',
    'java.base/jdk.internal.ref',
    'java.base/jdk.internal.reflect',
    'java.base/jdk.internal.math',
    'java.base/jdk.internal.module',
    'java.base/jdk.internal.util.jar',
    'jdk.management/com.sun.management.internal',
    'java.base/sun.nio.ch',
    'java.base/java.io',
    'java.base/java.lang.reflect',
    'jdk.compiler/com.sun.tools.javac',
    'java.base/java.lang',
    'java.base/java.util',
  ].flatMap((m) => ['--add-opens', `${m}=ALL-UNNAMED`]),
  '-Dio.netty.tryReflectionSetAccessible=true',
  '-Dio.netty.allocator.useCacheForAllThreads=true',
  '-Dio.netty.allocator.maxOrder=11',
];

let jammJar: string | undefined;

export const cassandraSpec: ServerSpec = {
  name: 'cassandra',
  paths,
  address: `127.0.0.1:${CQL_PORT}`,
  ports: [CQL_PORT, STORAGE_PORT],
  readyTimeoutMs: 240_000,
  stopGraceMs: 60_000,

  async fetch(log) {
    await fetchJars('cassandra', 'cassandra.version', CASSANDRA_VERSION, paths.libs, log);
  },

  async prepare() {
    await mkdir(paths.conf, { recursive: true });
    await mkdir(paths.data, { recursive: true });
    await writeFile(join(paths.conf, 'cassandra.yaml'), cassandraYaml());
    await writeFile(join(paths.conf, 'logback.xml'), logbackXml);
    const jamm = (await readdir(paths.libs)).find((f) => /^jamm-.*\.jar$/.test(f));
    if (!jamm) throw new Error(`no jamm jar in ${paths.libs}; delete that folder to fetch again`);
    jammJar = join(paths.libs, jamm);
  },

  javaArgs: () => [
    `-Xms${HEAP}`,
    `-Xmx${HEAP}`,
    '-XX:+UseG1GC',
    '-XX:+ParallelRefProcEnabled',
    '-XX:MaxGCPauseMillis=300',
    '-Xss256k',
    '-XX:+AlwaysPreTouch',
    ...jvm17Options,
    `-javaagent:${jammJar}`,
    `-Dcassandra.config=file://${join(paths.conf, 'cassandra.yaml')}`,
    `-Dlogback.configurationFile=${join(paths.conf, 'logback.xml')}`,
    `-Dcassandra.storagedir=${paths.data}`,
    `-Dcassandra.logdir=${paths.home}`,
    '-Dcassandra-foreground=yes',
    // A single node has nobody to gossip with: skip the waits meant for clusters.
    '-Dcassandra.skip_wait_for_gossip_to_settle=0',
    '-Dcassandra.ring_delay_ms=100',
    '-Dcassandra.superuser_setup_delay_ms=0',
    '-Dcassandra.initial_token=0',
    '-cp',
    join(paths.libs, '*'),
    'org.apache.cassandra.service.CassandraDaemon',
  ],

  async probe() {
    const client = new cassandra.Client({
      contactPoints: [`127.0.0.1:${CQL_PORT}`],
      localDataCenter: 'datacenter1',
      socketOptions: { connectTimeout: 2000, readTimeout: 4000 },
    });
    try {
      await client.connect();
      await client.execute('SELECT release_version FROM system.local');
    } finally {
      await client.shutdown().catch(() => {});
    }
  },
};
