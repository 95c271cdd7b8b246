import kafkajs, { type Admin as RawAdmin, type Kafka } from 'kafkajs';

// A CommonJS export Node's ESM loader does not see as a named one (only Kafka, logLevel, CompressionTypes... are).
const { ConfigResourceTypes } = kafkajs;
import type { Admin, CommittedOffset, GroupDescription, NewTopic, Offset, PartitionOffsets } from '../types.ts';

const TOPIC_SERVED_TIMEOUT_MS = 15_000;

export class KafkajsAdmin implements Admin {
  private readonly admin: RawAdmin;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async createTopics(topics: NewTopic[]): Promise<void> {
    try {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: -1, // the broker's default.replication.factor
          configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (err) {
      // Two processes starting together may race to create the same topic: that is success.
      // kafkajs's wait for leaders retries only LEADER_NOT_AVAILABLE; a broker that does not serve
      // the new topic yet answers UNKNOWN_TOPIC_OR_PARTITION: created, not yet served (below).
      const type = (err as { type?: string }).type;
      if (type !== 'TOPIC_ALREADY_EXISTS' && type !== 'UNKNOWN_TOPIC_OR_PARTITION' && !String(err).includes('already exists')) throw err;
    }
    await Promise.all(topics.map((t) => this.untilServed(t.name)));
  }

  /**
   * `waitForLeaders` returns once the controller named leaders, but a broker can still answer
   * "This server does not host this topic-partition" for a moment, and a producer's first send
   * in that moment fails. Reading every partition's offsets goes through each leader: once that
   * answers, the topic is served.
   */
  private async untilServed(topic: string): Promise<void> {
    const deadline = Date.now() + TOPIC_SERVED_TIMEOUT_MS;
    for (;;) {
      try {
        await this.admin.fetchTopicOffsets(topic);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  deleteTopics(topics: string[]): Promise<void> {
    return this.admin.deleteTopics({ topics });
  }

  async describeTopics(topics: string[]): Promise<{ name: string; partitions: number[] }[]> {
    const metadata = await this.admin.fetchTopicMetadata({ topics });
    return metadata.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionId).sort((a, b) => a - b) }));
  }

  async topicConfigs(topic: string, keys?: string[]): Promise<Record<string, string>> {
    const described = await this.admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, ...(keys ? { configNames: keys } : {}) }],
    });
    return Object.fromEntries((described.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
  }

  async alterTopicConfigs(topic: string, configs: Record<string, string>): Promise<void> {
    await this.admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
    });
  }

  async topicOffsets(topic: string): Promise<PartitionOffsets[]> {
    return (await this.admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: p.low, high: p.high })).sort((a, b) => a.partition - b.partition);
  }

  async offsetsAtTime(topic: string, timestampMs: number): Promise<{ partition: number; offset: Offset }[]> {
    return (await this.admin.fetchTopicOffsetsByTimestamp(topic, timestampMs)).map((p) => ({ partition: p.partition, offset: p.offset }));
  }

  async committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    const [committed] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    return (committed?.partitions ?? []).map((p) => ({ partition: p.partition, offset: p.offset, metadata: p.metadata ?? null }));
  }

  setCommittedOffsets(groupId: string, topic: string, offsets: { partition: number; offset: Offset }[]): Promise<void> {
    return this.admin.setOffsets({ groupId, topic, partitions: offsets });
  }

  deleteRecords(topic: string, partitions: { partition: number; offset: Offset }[]): Promise<void> {
    return this.admin.deleteTopicRecords({ topic, partitions });
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    await this.admin.deleteGroups(groupIds);
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const { groups } = await this.admin.describeGroups([groupId]);
    const g = groups[0];
    return { groupId, state: g?.state ?? 'Dead', members: (g?.members ?? []).map((m) => ({ memberId: m.memberId, clientId: m.clientId })) };
  }

  async brokers(): Promise<number> {
    return (await this.admin.describeCluster()).brokers.length;
  }
}
