import { parseArgs } from 'node:util';
import { createKafka } from '../core/kafka/client.ts';
import { loadKafkaConfig } from '../core/kafka/config.ts';
import { topicNames } from '../core/kafka/topics.ts';
import { createLogger } from '../core/logger.ts';

const usage = `usage: guildcast rewind --to <earliest|ISO-8601 time|offset> [--group guildcast-fanout] [--partition N]

Moves a consumer group's committed offsets on the events topic back (or forward), so it
processes again from there. Stop every member of the group first: Kafka refuses to move the
offsets of an active group. Persisting again is idempotent, and the edge drops deliveries whose
source offset it has already passed, so clients do not see old events twice.`;

/** `guildcast rewind ...`; returns the exit code. */
export async function rewindCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { to: { type: 'string' }, group: { type: 'string' }, partition: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help || !values.to) {
    (values.help ? process.stdout : process.stderr).write(`${usage}\n`);
    return values.help ? 0 : 2;
  }
  const config = loadKafkaConfig(env);
  const topic = topicNames(config).events;
  const groupId = values.group ?? env.FANOUT_GROUP_ID ?? 'guildcast-fanout';
  const admin = createKafka(config, createLogger('rewind')).admin();
  await admin.connect();
  try {
    const ends = await admin.topicOffsets(topic);
    const only = values.partition === undefined ? undefined : Number(values.partition);
    const partitions = ends.filter((p) => only === undefined || p.partition === only);
    if (partitions.length === 0) throw new Error(`${topic} has no partition ${values.partition}`);
    let offsets: { partition: number; offset: string }[];
    if (values.to === 'earliest') offsets = partitions.map((p) => ({ partition: p.partition, offset: p.low }));
    else if (/^\d+$/.test(values.to)) offsets = partitions.map((p) => ({ partition: p.partition, offset: values.to! }));
    else {
      const at = Date.parse(values.to);
      if (Number.isNaN(at)) throw new Error(`--to expects earliest, an ISO-8601 time or an offset, got "${values.to}"`);
      const byTime = await admin.offsetsAtTime(topic, at);
      offsets = byTime.filter((p) => only === undefined || p.partition === only).map((p) => ({ partition: p.partition, offset: p.offset }));
    }
    await admin.setCommittedOffsets(groupId, topic, offsets);
    for (const o of offsets) process.stdout.write(`${groupId} ${topic}[${o.partition}] -> ${o.offset}\n`);
    return 0;
  } finally {
    await admin.disconnect();
  }
}
