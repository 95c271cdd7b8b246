import { Admin as RawAdmin, ConfigResourceTypes, IncrementalAlterConfigOperationTypes, ListOffsetTimestamps } from '@platformatic/kafka';
import type { Admin, CommittedOffset, GroupDescription, NewTopic, Offset, PartitionOffsets } from '../types.ts';
import { libraryOptions, type BaseClientOptions } from './client.ts';

export class PlatformaticAdmin implements Admin {
  private readonly admin: RawAdmin;

  constructor(base: BaseClientOptions) {
    this.admin = new RawAdmin(libraryOptions(base));
    base.watch(this.admin, 'client:broker:connect');
  }

  async connect(): Promise<void> {
    await this.admin.metadata({ topics: [] });
  }

  async disconnect(): Promise<void> {
    await this.admin.close();
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async createTopics(topics: NewTopic[]): Promise<void> {
    // One request per topic: the library's request takes one partition count and config list for all.
    for (const t of topics) {
      try {
        await this.admin.createTopics({
          topics: [t.name],
          partitions: t.partitions,
          replicas: -1, // the broker's default.replication.factor
          configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        });
      } catch (err) {
        // Two processes starting together may race to create the same topic: that is success.
        if (!String(err).includes('already exists') && !hasApiId(err, 'TOPIC_ALREADY_EXISTS')) throw err;
      }
      await this.waitForLeaders(t.name);
    }
  }

  /**
   * The seam promises leaders: a produce right after creation must not meet LEADER_NOT_AVAILABLE,
   * nor "does not host this topic-partition" from a leader named but not serving yet; reading
   * every partition's offsets goes through each leader, so once that answers the topic is served.
   */
  private async waitForLeaders(topic: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const metadata = await this.admin.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined);
      const partitions = metadata?.topics.get(topic)?.partitions;
      const led = partitions && partitions.length > 0 && partitions.every((p) => p && p.leader >= 0);
      if (led && (await this.listOffsets(topic, [...partitions.keys()], ListOffsetTimestamps.LATEST).then(() => true, () => false))) return;
      if (Date.now() > deadline) throw new Error(`topic ${topic} has no leader for every partition after 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    await this.admin.deleteTopics({ topics });
  }

  async describeTopics(topics: string[]): Promise<{ name: string; partitions: number[] }[]> {
    const metadata = await this.admin.metadata({ topics, forceUpdate: true });
    return topics.map((name) => ({ name, partitions: [...Array(metadata.topics.get(name)?.partitionsCount ?? 0).keys()] }));
  }

  async topicConfigs(topic: string, keys?: string[]): Promise<Record<string, string>> {
    const [described] = await this.admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: keys ?? null }],
      includeSynonyms: false,
    });
    return Object.fromEntries((described?.configs ?? []).filter((c) => c.value !== null).map((c) => [c.name, c.value as string]));
  }

  async alterTopicConfigs(topic: string, configs: Record<string, string>): Promise<void> {
    // Incremental: the keys given are set, the topic's other overrides stay (a full AlterConfigs would drop them).
    await this.admin.incrementalAlterConfigs({
      resources: [
        {
          resourceType: ConfigResourceTypes.TOPIC,
          resourceName: topic,
          configs: Object.entries(configs).map(([name, value]) => ({ name, value, configOperation: IncrementalAlterConfigOperationTypes.SET })),
        },
      ],
    });
  }

  async topicOffsets(topic: string): Promise<PartitionOffsets[]> {
    const partitions = await this.partitionsOf(topic);
    const [low, high] = await Promise.all([this.listOffsets(topic, partitions, ListOffsetTimestamps.EARLIEST), this.listOffsets(topic, partitions, ListOffsetTimestamps.LATEST)]);
    return partitions.map((partition) => ({ partition, low: low.get(partition)!, high: high.get(partition)! }));
  }

  async offsetsAtTime(topic: string, timestampMs: number): Promise<{ partition: number; offset: Offset }[]> {
    const partitions = await this.partitionsOf(topic);
    const [at, high] = await Promise.all([this.listOffsets(topic, partitions, BigInt(timestampMs)), this.listOffsets(topic, partitions, ListOffsetTimestamps.LATEST)]);
    // The broker answers -1 where no record is that new: the seam says the end then.
    return partitions.map((partition) => ({ partition, offset: at.get(partition) === '-1' ? high.get(partition)! : at.get(partition)! }));
  }

  async committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    const partitions = await this.partitionsOf(topic);
    const [group] = await this.admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: [{ name: topic, partitionIndexes: partitions }] }] });
    const found = new Map((group?.topics.find((t) => t.name === topic)?.partitions ?? []).map((p) => [p.partitionIndex, p]));
    return partitions.map((partition) => {
      const p = found.get(partition);
      // The broker answers "" for a partition with no commit; the seam (and kafkajs) says null.
      if (!p || p.committedOffset < 0n) return { partition, offset: '-1', metadata: null };
      return { partition, offset: p.committedOffset.toString(), metadata: p.metadata ?? null };
    });
  }

  async setCommittedOffsets(groupId: string, topic: string, offsets: { partition: number; offset: Offset }[]): Promise<void> {
    await this.admin.alterConsumerGroupOffsets({
      groupId,
      topics: [{ name: topic, partitionOffsets: offsets.map((o) => ({ partition: o.partition, offset: BigInt(o.offset) })) }],
    });
  }

  async deleteRecords(topic: string, partitions: { partition: number; offset: Offset }[]): Promise<void> {
    await this.admin.deleteRecords({ topics: [{ name: topic, partitions: partitions.map((p) => ({ partition: p.partition, offset: BigInt(p.offset) })) }] });
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    await this.admin.deleteGroups({ groups: groupIds });
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const groups = await this.admin.describeGroups({ groups: [groupId] });
    const g = groups.get(groupId);
    return { groupId, state: g?.state ?? 'Dead', members: [...(g?.members.values() ?? [])].map((m) => ({ memberId: m.id, clientId: m.clientId })) };
  }

  async brokers(): Promise<number> {
    return (await this.admin.metadata({ topics: [], forceUpdate: true })).brokers.size;
  }

  private async partitionsOf(topic: string): Promise<number[]> {
    const metadata = await this.admin.metadata({ topics: [topic] });
    const count = metadata.topics.get(topic)?.partitionsCount;
    if (!count) throw new Error(`topic ${topic} does not exist`);
    return [...Array(count).keys()];
  }

  private async listOffsets(topic: string, partitions: number[], timestamp: bigint): Promise<Map<number, Offset>> {
    const [listed] = await this.admin.listOffsets({ topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }] });
    return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, p.offset.toString()]));
  }
}

function hasApiId(err: unknown, apiId: string): boolean {
  const seen = new Set<unknown>();
  const visit = (e: unknown): boolean => {
    if (!e || typeof e !== 'object' || seen.has(e)) return false;
    seen.add(e);
    const x = e as { apiId?: string; errors?: unknown[]; cause?: unknown };
    return x.apiId === apiId || (x.errors ?? []).some(visit) || visit(x.cause);
  };
  return visit(err);
}
