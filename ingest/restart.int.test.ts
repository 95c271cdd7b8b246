import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewaySimulator, type GatewaySimulator } from '../infra/discord-sim/index.ts';
import type { EventEnvelope } from '../core/events/envelope.ts';
import { topicNames } from '../core/kafka/topics.ts';
import { silentLogger } from '../core/logger.ts';
import { eventually, testKafka, uniqueName } from '../test/support.ts';
import { decodeCheckpoint } from './checkpoints.ts';
import type { Checkpoint } from './sessions.ts';
import { followTopic } from './test-kafka.ts';
import { startRole, type RoleProcess } from '../test/child.ts';
import { isConnectionDispatch } from '../core/events/connection-events.ts';

const kafka = testKafka();

describe('ingest process killed mid-stream (SIGKILL) and restarted', () => {
  let sim: GatewaySimulator;
  const prefix = uniqueName('ingest-restart');
  const topics = topicNames({ KAFKA_TOPIC_PREFIX: prefix });
  let processes: RoleProcess[] = [];

  beforeAll(async () => {
    sim = await startGatewaySimulator({ shardCount: 4, guilds: 40, seed: 11, resumeWindowMs: 300_000, logger: silentLogger });
  });
  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await sim?.close();
  });

  it('resumes every shard; nothing is missing; duplicates are only those after the durable checkpoint, same id and payload', async () => {
    const env = {
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_EVENT_PARTITIONS: '4',
      DISCORD_TOKEN: sim.token,
      DISCORD_API_BASE: sim.apiBase,
      INGEST_SHARD_COUNT: '4',
      INGEST_SHARDING: 'worker',
      INGEST_SHARDS_PER_WORKER: '2',
      INGEST_CHECKPOINT_INTERVAL_MS: '500',
      INGEST_HTTP_PORT: '0',
      INGEST_HTTP_HOST: '127.0.0.1',
    };
    const first = startRole('ingest/main.ts', { LOG_LEVEL: 'info', ...env });
    processes.push(first);
    await eventually('first ingest ready', () => (first.output().includes('"ingest ready"') ? true : undefined), 120_000).catch((err) => {
      throw new Error(`${err.message}\n${first.output()}`);
    });
    const events = await followTopic(kafka, topics.events);
    sim.startTraffic({ ratePerSecond: 400, total: 4000, contentBytes: { min: 20, max: 300 } });
    await eventually('a good part of the stream in Kafka', () => (events.records.length >= 1200 ? true : undefined), 120_000);
    first.child.kill('SIGKILL');
    await first.exited;

    const atKill = await readCheckpoints(topics.ingestCheckpoints);
    expect(atKill.size).toBe(4);
    const identifiesBefore = sim.stats().identifies;

    const second = startRole('ingest/main.ts', { LOG_LEVEL: 'info', ...env, INGEST_SHARDING: 'simple' });
    processes.push(second);
    await sim.trafficDone();
    const sent = sim.sent;
    const expected = new Set(sent.filter((s) => !isConnectionDispatch(s.t)).map((s) => `gw:${s.shard}:${s.sessionId}:${s.seq}`));
    await eventually('every dispatch in Kafka', () => (new Set(events.events().map((e) => e.event.id)).size >= expected.size ? true : undefined), 150_000).catch((err) => {
      throw new Error(`${err.message}\n${second.output().slice(-4000)}`);
    });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    await events.stop();

    const received = events.events().map((e) => e.event);
    expect(new Set(received.map((e) => e.id))).toEqual(expected);
    expect(sim.stats().identifies).toBe(identifiesBefore);
    expect(sim.stats().resumes).toBeGreaterThanOrEqual(4);

    const first_ = new Map<string, EventEnvelope>();
    const duplicates: EventEnvelope[] = [];
    for (const event of received) {
      const original = first_.get(event.id);
      if (!original) first_.set(event.id, event);
      else {
        duplicates.push(event);
        expect(event.d).toEqual(original.d);
        expect([event.shard, event.session_id, event.seq, event.type]).toEqual([original.shard, original.session_id, original.seq, original.type]);
      }
    }
    for (const duplicate of duplicates) {
      const checkpoint = atKill.get(duplicate.shard!)!;
      expect(duplicate.session_id).toBe(checkpoint.sessionId);
      expect(duplicate.seq!).toBeGreaterThan(checkpoint.seq);
    }
  });
});

async function readCheckpoints(topic: string): Promise<Map<number, Checkpoint>> {
  const admin = kafka.admin();
  await admin.connect();
  const [end] = await admin.topicOffsets(topic);
  await admin.disconnect();
  const reader = await followTopic(kafka, topic);
  await eventually('checkpoints read to the end', () => (reader.records.length >= Number(end!.high) ? true : undefined));
  await reader.stop();
  const latest = new Map<number, Checkpoint>();
  for (const r of reader.records) {
    const c = decodeCheckpoint(r.value!);
    if (c) latest.set(c.shard, c);
  }
  return latest;
}
