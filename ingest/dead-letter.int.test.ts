import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewaySimulator, type GatewaySimulator } from '../infra/discord-sim/index.ts';
import { DLQ_HEADERS } from '../core/kafka/dead-letter.ts';
import { topicNames } from '../core/kafka/topics.ts';
import { silentLogger } from '../core/logger.ts';
import { Registry } from '../core/metrics.ts';
import { eventually, testKafka, uniqueName } from '../test/support.ts';
import { loadIngestConfig } from './config.ts';
import { startIngest, type IngestRole } from './role.ts';
import { followTopic } from './test-kafka.ts';
import { isConnectionDispatch } from '../core/events/connection-events.ts';

const kafka = testKafka();

describe('malformed gateway frames and HTTP bodies', () => {
  let sim: GatewaySimulator;
  let ingest: IngestRole;
  const prefix = uniqueName('ingest-dlq');
  const topics = topicNames({ KAFKA_TOPIC_PREFIX: prefix });

  beforeAll(async () => {
    sim = await startGatewaySimulator({ shardCount: 2, guilds: 10, seed: 3, logger: silentLogger });
    const config = loadIngestConfig({
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_EVENT_PARTITIONS: '4',
      DISCORD_TOKEN: sim.token,
      DISCORD_API_BASE: sim.apiBase,
      INGEST_SHARD_COUNT: '2',
      INGEST_HTTP_TOKEN: 'http-secret',
      INGEST_HTTP_PORT: '0',
      INGEST_HTTP_HOST: '127.0.0.1',
    });
    ingest = await startIngest(config, { logger: silentLogger, registry: new Registry() });
    await ingest.ready();
  });
  afterAll(async () => {
    await ingest?.close();
    await sim?.close();
  });

  it('dead-letters them with reasons while the shards and HTTP ingest keep going', async () => {
    const events = await followTopic(kafka, topics.events);
    const letters = await followTopic(kafka, topics.deadLetter);
    sim.startTraffic({ ratePerSecond: 200, total: 1000 });
    await eventually('traffic flowing', () => (events.records.length >= 100 ? true : undefined));
    for (let i = 0; i < 3; i++) {
      sim.inject('malformed-frame', 0);
      sim.inject('malformed-frame', 1);
    }
    const channel = sim.channels.get(sim.guildIds[0]!)![0]!;
    const post = (body: string) =>
      fetch(`${ingest.httpAddress}/api/v10/channels/${channel}/messages`, { method: 'POST', headers: { authorization: 'Bot http-secret', 'content-type': 'application/json' }, body });
    const badBodies = [JSON.stringify({ content: 'x'.repeat(2001) }), '{"content": ', JSON.stringify({ content: 'hi', colour: 'red' })];
    for (const body of badBodies) expect((await post(body)).status).toBe(400);
    const good = await post(JSON.stringify({ content: 'from http' }));
    expect(good.status).toBe(200);
    const message = (await good.json()) as { id: string };

    await sim.trafficDone();
    const malformed = sim.sent.filter((s) => s.malformed);
    expect(malformed.length).toBe(6);
    const valid = new Set(sim.sent.filter((s) => !s.malformed && !isConnectionDispatch(s.t)).map((s) => `gw:${s.shard}:${s.sessionId}:${s.seq}`));
    await eventually('every valid dispatch and the HTTP message in Kafka', () => (events.records.length >= valid.size + 1 ? true : undefined), 120_000);
    await eventually('every dead letter', () => (letters.records.length >= malformed.length + badBodies.length ? true : undefined), 60_000);
    await events.stop();
    await letters.stop();

    const ids = events.events().map((e) => e.event.id);
    expect(new Set(ids)).toEqual(new Set([...valid, `http:${message.id}`]));
    const header = (h: unknown) => (h === undefined ? undefined : String(h));
    const gateway = letters.records.filter((r) => header(r.headers[DLQ_HEADERS.stage]) === 'ingest.gateway');
    expect(gateway.map((r) => `${header(r.headers['x-guildcast-shard'])}:${header(r.headers['x-guildcast-seq'])}`).sort()).toEqual(malformed.map((m) => `${m.shard}:${m.seq}`).sort());
    for (const r of gateway) {
      expect(header(r.headers[DLQ_HEADERS.reason])).toMatch(/\S/);
      expect(header(r.headers[DLQ_HEADERS.traceId])).toMatch(/\S/);
      expect(JSON.parse(r.value!.toString())).toHaveProperty('t');
    }
    const http = letters.records.filter((r) => header(r.headers[DLQ_HEADERS.stage]) === 'ingest.http');
    expect(http.map((r) => r.value!.toString()).sort()).toEqual([...badBodies].sort());
    expect(http.map((r) => header(r.headers[DLQ_HEADERS.reason])).join('\n')).toMatch(/content[\s\S]*not JSON|not JSON[\s\S]*content/);
  });
});
