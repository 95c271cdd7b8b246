import { kGetApi, kGetConnection, type Connection, type Consumer } from '@platformatic/kafka';
import type { CommitOffset } from '../types.ts';

type OffsetCommitApi = (
  connection: Connection,
  groupId: string,
  generationIdOrMemberEpoch: number,
  memberId: string,
  groupInstanceId: string | null,
  topics: { name: string; partitions: { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }[] }[],
  callback: (error: Error | null, response?: unknown) => void,
) => void;

/**
 * Commits offsets with their metadata for `generationId`. The library's own `commit` always sends
 * null metadata (and would erase the replay filter fanout keeps there), so the OffsetCommit request
 * is sent here through the library's negotiated API and its coordinator connection. The
 * generation is the one the batch started in: after a rebalance the broker refuses it
 * (ILLEGAL_GENERATION) instead of letting a former owner move the new owner's offsets.
 */
export async function commitWithMetadata(consumer: Consumer, generationId: number, memberId: string, offsets: CommitOffset[]): Promise<void> {
  const topics = new Map<string, { name: string; partitions: { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }[] }>();
  for (const o of offsets) {
    let topic = topics.get(o.topic);
    if (!topic) topics.set(o.topic, (topic = { name: o.topic, partitions: [] }));
    topic.partitions.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: -1, committedMetadata: o.metadata ?? null });
  }
  const coordinator = await consumer.findGroupCoordinator();
  const metadata = await consumer.metadata({ topics: consumer.topics.current });
  const broker = metadata.brokers.get(coordinator);
  if (!broker) throw new Error(`group coordinator ${coordinator} is not in the cluster metadata`);
  const connection = await new Promise<Connection>((resolve, reject) => consumer[kGetConnection](broker, (error, c) => (error ? reject(error) : resolve(c!))));
  const api = await new Promise<OffsetCommitApi>((resolve, reject) =>
    consumer[kGetApi]('OffsetCommit', (error, a) => (error ? reject(error) : resolve(a as unknown as OffsetCommitApi))),
  );
  await new Promise<void>((resolve, reject) =>
    api(connection, consumer.groupId, generationId, memberId, consumer.groupInstanceId, [...topics.values()], (error) => (error ? reject(error) : resolve())),
  );
}
