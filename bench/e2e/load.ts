import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startGatewaySimulator, type GatewaySimulator } from '../../infra/discord-sim/index.ts';
import { openLoop } from '../kit/open-loop.ts';
import { createWorkload, type Workload } from '../kit/workload.ts';
import { encodeNonce } from './accounting.ts';
import { serve } from './ipc.ts';
import type { System } from './result.ts';

/**
 * The e2e bench's load generator, a process of its own: it hosts the gateway simulator (what
 * ingest connects to) and runs the open loop, so neither shares a core's event loop with the
 * driver or the measuring clients. Each MESSAGE_CREATE carries the bench nonce (accounting.ts):
 * the intended send time and the message's number within its guild, counted per target system.
 * For the plain baseline it produces the same payloads straight to its input topic with kafkajs.
 */
let sim: GatewaySimulator | undefined;
let workload: Workload | undefined;
let guildIndex = new Map<string, number>();
const sent: Record<System, number[]> = { guildcast: [], plain: [] };
let producer: Producer | undefined;
let plainTopic = '';

serve({
  async start(m: { shards: number; guilds: number; channelsPerGuild: number; contentBytes: { min: number; max: number } }) {
    sim = await startGatewaySimulator({ shardCount: m.shards, guilds: m.guilds, channelsPerGuild: m.channelsPerGuild, compress: false, replayBufferSize: 200_000, ledgerLimit: 1000 });
    workload = createWorkload({ guilds: sim.guildIds, channelsPerGuild: m.channelsPerGuild, contentBytes: m.contentBytes });
    guildIndex = new Map(sim.guildIds.map((g, i) => [g, i]));
    sent.guildcast = sim.guildIds.map(() => 0);
    sent.plain = sim.guildIds.map(() => 0);
    return { apiBase: sim.apiBase, token: sim.token, guildIds: sim.guildIds };
  },
  stats: () => ({ stats: sim!.stats() }),
  async plain(m: { brokers: string[]; topic: string }) {
    producer = new Kafka({ clientId: 'bench-plain-source', brokers: m.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    plainTopic = m.topic;
    return {};
  },
  async run(m: { target: System; rate: number; durationMs: number }) {
    const counts = sent[m.target];
    // Plain: what a plain producer does, one send per tick carrying whatever the tick made due.
    let pending: { key: string; value: string }[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      void producer!.send({ topic: plainTopic, messages: pending }).catch((err: unknown) => process.stderr.write(`[load] plain send failed: ${err}\n`));
      pending = [];
    };
    const result = await openLoop({
      ratePerSecond: m.rate,
      durationMs: m.durationMs,
      fire: (_i, intendedAt) => {
        const msg = workload!.nextMessage();
        const g = guildIndex.get(msg.guildId)!;
        const d = { ...msg.d, nonce: encodeNonce(performance.timeOrigin + intendedAt, g, counts[g]!++) };
        if (m.target === 'guildcast') sim!.dispatch('MESSAGE_CREATE', d, msg.guildId);
        else {
          if (pending.length === 0) setImmediate(flush);
          pending.push({ key: msg.guildId, value: JSON.stringify({ t: 'MESSAGE_CREATE', d }) });
        }
      },
    });
    flush();
    return { fired: result.fired, behindMs: result.behindMs, sent: counts };
  },
  async close() {
    await producer?.disconnect().catch(() => {});
    await sim?.close();
    setImmediate(() => process.exit(0));
    return {};
  },
});
process.send!({ cmd: 'ready' });
