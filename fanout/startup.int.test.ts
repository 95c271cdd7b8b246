import { connect, createServer } from 'node:net';
import type { Admin, KafkaClient } from '../core/kafka/types.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardTopics } from '../core/kafka/topics.ts';
import { loadKafkaConfig } from '../core/kafka/config.ts';
import { freePort, startRole, type RoleProcess } from '../test/child.ts';
import { TcpProxy } from '../test/tcp-proxy.ts';
import { dropKeyspace, eventually, testKafka, testKeyspace, uniqueName } from '../test/support.ts';
import { readyz, type CqlClient } from './test-support.ts';

/**
 * Item 10 of issue 11 (first bullet): fanout started together with everything else (topics being
 * created by another role at that moment, or Kafka not there yet) retries with backoff, unready
 * meanwhile, instead of exiting.
 */
describe('fanout start-up', () => {
  let kafka: KafkaClient;
  let admin: Admin;
  const processes: RoleProcess[] = [];
  const keyspaces: { client: CqlClient; keyspace: string }[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await admin.disconnect();
    for (const k of keyspaces) await dropKeyspace(k.client, k.keyspace);
  });

  const env = (prefix: string, keyspace: string, port: number, extra: Record<string, string> = {}) => ({
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_EVENT_PARTITIONS: '12',
    CASSANDRA_KEYSPACE: keyspace,
    FANOUT_GROUP_ID: `${prefix}-group`,
    FANOUT_HTTP_PORT: String(port),
    FANOUT_RETRY_MIN_MS: '100',
    FANOUT_RETRY_MAX_MS: '1000',
    ...extra,
  });

  it('becomes ready, and never exits, when another role creates the topics at the moment it starts', async () => {
    const rounds = 4;
    const exits: (number | null)[] = [];
    for (let round = 0; round < rounds; round++) {
      const prefix = uniqueName('fanout-start');
      const ks = await testKeyspace('fanout_start');
      keyspaces.push(ks);
      const port = await freePort();
      // The member's first connection to Kafka says it is starting: that is when the other role
      // (ingest, say) creates the same topics, a few milliseconds apart from the member's own attempt.
      let firstConnection!: () => void;
      const connected = new Promise<void>((resolve) => (firstConnection = resolve));
      const seed = createServer((client) => {
        firstConnection();
        const upstream = connect({ host: '127.0.0.1', port: 9092 });
        client.pipe(upstream).on('error', () => undefined);
        upstream.pipe(client).on('error', () => undefined);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      await new Promise<void>((r) => seed.listen(0, '127.0.0.1', r));
      const seedPort = (seed.address() as { port: number }).port;
      const member = startRole('fanout/main.ts', env(prefix, ks.keyspace, port, { KAFKA_BROKERS: `127.0.0.1:${seedPort}` }));
      processes.push(member);
      const specs = standardTopics({ ...loadKafkaConfig({}), KAFKA_TOPIC_PREFIX: prefix, KAFKA_EVENT_PARTITIONS: 12 });
      await connected;
      // A sweep of offsets around the member's own list-then-create, which follows its first connection within milliseconds.
      await new Promise((r) => setTimeout(r, round * 5));
      await admin
        .createTopics(specs.map((t) => ({ name: t.name, partitions: t.partitions })))
        .catch(() => undefined); // the race this test is about; the member must survive it
      const outcome = await Promise.race([
        member.exited.then((code) => ({ exited: code })),
        eventually('member ready', async () => ((await readyz(port)).status === 200 ? { ready: true } : undefined), 120_000),
      ]);
      exits.push('exited' in outcome ? outcome.exited : null);
      await member.kill('SIGTERM');
      await new Promise((r) => seed.close(r));
    }
    expect({ exited: exits.filter((e) => e !== null).length, of: exits.length }).toEqual({ exited: 0, of: rounds });
  });

  it('waits for an unreachable Kafka, unready meanwhile, then becomes ready', async () => {
    const proxy = await new TcpProxy({ host: '127.0.0.1', port: 9092 }).start();
    proxy.pause();
    try {
      const prefix = uniqueName('fanout-nokafka');
      const ks = await testKeyspace('fanout_nokafka');
      keyspaces.push(ks);
      const port = await freePort();
      const member = startRole('fanout/main.ts', env(prefix, ks.keyspace, port, { KAFKA_BROKERS: `127.0.0.1:${proxy.port}` }));
      processes.push(member);
      // Long enough for kafkajs to give up its own connection retries (about 20 s) at least once.
      const unready = await eventually('an unready answer while Kafka is away', async () => {
        const r = await readyz(port);
        return r.status === 503 ? r : undefined;
      }, 60_000).catch(() => ({ status: member.child.exitCode === null ? -1 : 0, body: `exited ${member.child.exitCode}` }));
      await new Promise((r) => setTimeout(r, 25_000));
      expect({ exitCode: member.child.exitCode, readyz: unready.status }).toEqual({ exitCode: null, readyz: 503 });
      proxy.resume();
      await eventually('ready once Kafka is reachable', async () => ((await readyz(port)).status === 200 ? true : undefined), 120_000);
      expect(member.child.exitCode).toBeNull();
      expect(await member.kill('SIGTERM')).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});
