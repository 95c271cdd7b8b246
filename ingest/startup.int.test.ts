import { afterAll, describe, expect, it } from 'vitest';
import { startGatewaySimulator, type GatewaySimulator } from '../infra/discord-sim/index.ts';
import { topicNames } from '../core/kafka/topics.ts';
import { silentLogger } from '../core/logger.ts';
import { eventually, testKafka, uniqueName } from '../test/support.ts';
import { freePort, startRole, type RoleProcess } from '../test/child.ts';
import { followTopic } from './test-kafka.ts';

const kafka = testKafka();

describe('ingest started before the Discord gateway answers', () => {
  let sim: GatewaySimulator | undefined;
  let ingest: RoleProcess | undefined;
  afterAll(async () => {
    await ingest?.kill('SIGKILL');
    await sim?.close();
  });

  it('stays unready while the gateway is down, then connects with backoff and publishes', async () => {
    const prefix = uniqueName('ingest-startup');
    const topics = topicNames({ KAFKA_TOPIC_PREFIX: prefix });
    const simPort = await freePort();
    const opsPort = await freePort();
    ingest = startRole('ingest/main.ts', {
      LOG_LEVEL: 'info',
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_EVENT_PARTITIONS: '2',
      DISCORD_TOKEN: 'startup-token',
      DISCORD_API_BASE: `http://127.0.0.1:${simPort}/api`,
      INGEST_SHARD_COUNT: '2',
      INGEST_CONNECT_RETRY_MIN_MS: '200',
      INGEST_CONNECT_RETRY_MAX_MS: '1000',
      INGEST_HTTP_PORT: String(opsPort),
      INGEST_HTTP_HOST: '127.0.0.1',
    });
    const readyz = async () => (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status;
    const failIn = (what: string) => (err: Error) => {
      throw new Error(`${what}: ${err.message}\n${ingest!.output().slice(-6000)}`);
    };

    // Up and answering health checks, but not ready: its gateway cannot be reached.
    await eventually('ingest serving /readyz', async () => ((await readyz().catch(() => undefined)) !== undefined ? true : undefined), 120_000).catch(failIn('no /readyz'));
    // Either wording: the second is what ingest logged before it retried, so the test shows the old failure too.
    await eventually('a failed gateway attempt', () => (/gateway connect failed; retrying|shards failed to connect/.test(ingest!.output()) ? true : undefined), 120_000).catch(failIn('no retry logged'));
    expect(await readyz()).toBe(503);
    expect(ingest.child.exitCode).toBeNull();

    sim = await startGatewaySimulator({ port: simPort, token: 'startup-token', shardCount: 2, guilds: 8, seed: 5, logger: silentLogger });
    await eventually('ingest ready once the gateway answers', async () => ((await readyz()) === 200 ? true : undefined), 120_000).catch(failIn('never ready'));
    // The log line travels through a pipe, the readiness answer through a socket: either may come first.
    await eventually('"ingest ready" logged', () => (ingest!.output().includes('"ingest ready"') ? true : undefined), 30_000).catch(failIn('no "ingest ready" line'));

    const events = await followTopic(kafka, topics.events);
    // Only the traffic: the connection's own dispatches (READY, ...) are not events.
    const before = sim.sent.length;
    sim.startTraffic({ ratePerSecond: 200, total: 200, contentBytes: { min: 10, max: 50 } });
    await sim.trafficDone();
    const expected = new Set(sim.sent.slice(before).map((s) => `gw:${s.shard}:${s.sessionId}:${s.seq}`));
    await eventually('every dispatch in Kafka', () => {
      const got = new Set(events.events().map((e) => e.event.id));
      return [...expected].every((id) => got.has(id)) ? true : undefined;
    }, 120_000).catch(failIn('dispatches missing'));
    await events.stop();
    expect(expected.size).toBe(200);

    // Ready means working now, not "connected once": with the gateway gone, ingest turns unready.
    await sim.close();
    sim = undefined;
    await eventually('ingest unready once its shards dropped', async () => ((await readyz()) === 503 ? true : undefined), 120_000).catch(failIn('still ready'));
    const body = (await (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).json()) as { checks: { name: string; ok: boolean; reason?: string }[] };
    expect(body.checks.find((c) => c.name === 'gateway shards connected')).toMatchObject({ ok: false });
  });
});
