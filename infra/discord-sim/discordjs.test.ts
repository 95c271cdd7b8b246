import { CompressionMethod } from '@discordjs/ws';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { shardFor } from '../../core/events/partition.ts';
import { eventually } from '../../test/support.ts';
import { startGatewaySimulator, type GatewaySimulator, type SimulatorOptions } from './index.ts';
import { connectRecordingClient, sequenced, type RecordingClient } from './testing.ts';

// The unmodified @discordjs/ws client against the simulator, over real loopback sockets.

let sim: GatewaySimulator | undefined;
let client: RecordingClient | undefined;

afterEach(async () => {
  await client?.destroy();
  await sim?.close();
  client = undefined;
  sim = undefined;
});

async function setUp(options: Partial<SimulatorOptions> = {}, clientOptions: Parameters<typeof connectRecordingClient>[1] = { shardCount: 2 }) {
  sim = await startGatewaySimulator({ shardCount: 2, guilds: 8, channelsPerGuild: 3, seed: 42, ...options });
  client = await connectRecordingClient(sim, clientOptions);
  return { sim, client };
}

/** A shard's received dispatches split by session (a READY starts one; a RESUME continues it). */
function bySession(list: readonly GatewayDispatchPayload[] | undefined): Map<string, GatewayDispatchPayload[]> {
  const out = new Map<string, GatewayDispatchPayload[]>();
  let current: GatewayDispatchPayload[] | undefined;
  for (const payload of sequenced(list)) {
    if (payload.t === 'READY') out.set(payload.d.session_id, (current = []));
    if (!current) throw new Error(`${payload.t} ${payload.s} arrived before any READY`);
    current.push(payload);
  }
  return out;
}

/**
 * Once everything the simulator dispatched arrived: every session of every shard received exactly
 * the simulator's ledger for it, each seq once, in order (no dedupe on the receiving side).
 */
async function expectLedgerDeliveredExactlyOnce(sim: GatewaySimulator, client: RecordingClient): Promise<void> {
  const received = () => [...client.received.values()].reduce((n, list) => n + sequenced(list).length, 0);
  await eventually('every dispatch in the ledger to arrive', () => (received() >= sim.sent.length ? true : undefined), 15_000);
  expect(received()).toBe(sim.sent.length);
  for (const [shard, list] of client.received) {
    const sessions = bySession(list);
    for (const [sessionId, payloads] of sessions) {
      const ledger = sim.sent.filter((e) => e.shard === shard && e.sessionId === sessionId);
      expect(payloads.map((p) => p.s)).toEqual(ledger.map((e) => e.seq));
      expect(payloads.map((p) => p.t)).toEqual(ledger.map((e) => e.t));
      expect(payloads.map((p) => p.s)).toEqual(payloads.map((_, i) => i + 1));
    }
  }
}

describe('gateway simulator with @discordjs/ws', () => {
  it('serves READY and the GUILD_CREATEs of exactly each shard’s guilds', async () => {
    const { sim, client } = await setUp();
    await eventually('both shards to receive their guilds', () => (client.received.size === 2 ? true : undefined));
    for (const shard of [0, 1]) {
      const expected = sim.guildIds.filter((id) => shardFor(BigInt(id), 2) === shard);
      expect(expected.length).toBeGreaterThan(0);
      await eventually(`shard ${shard} guilds`, () => (sequenced(client.received.get(shard)).length === 1 + expected.length ? true : undefined));
      const [ready, ...creates] = sequenced(client.received.get(shard));
      expect(ready?.t).toBe('READY');
      if (ready?.t !== 'READY') return;
      expect(ready.d.shard).toEqual([shard, 2]);
      expect(ready.d.resume_gateway_url).toBe(sim.gatewayUrl);
      expect(ready.d.guilds.map((g) => g.id).sort()).toEqual([...expected].sort());
      expect(creates.map((p) => p.t)).toEqual(expected.map(() => 'GUILD_CREATE'));
      expect(creates.map((p) => (p.d as { id: string }).id).sort()).toEqual([...expected].sort());
      for (const create of creates) {
        const guild = create.d as { id: string; channels: { id: string }[] };
        expect(guild.channels.map((c) => c.id)).toEqual(sim.channels.get(guild.id));
      }
    }
  });

  it('delivers MESSAGE_CREATEs in order with consecutive seqs', async () => {
    const { sim, client } = await setUp();
    sim.startTraffic({ ratePerSecond: 2000, total: 300, mix: { MESSAGE_CREATE: 1 } });
    await sim.trafficDone();
    await expectLedgerDeliveredExactlyOnce(sim, client);
    const creates = [...client.received.values()].flat().filter((p) => p.t === 'MESSAGE_CREATE');
    expect(creates).toHaveLength(300);
    const ledgerIds = sim.sent.filter((e) => e.t === 'MESSAGE_CREATE').map((e) => (e.d as { id: string }).id);
    expect(creates.map((p) => (p.d as { id: string }).id).sort()).toEqual([...ledgerIds].sort());
  });

  it('serves only the shards a client asks for (shardIds)', async () => {
    const { sim, client } = await setUp({}, { shardCount: 2, shardIds: [1] });
    sim.startTraffic({ ratePerSecond: 2000, total: 100 });
    await sim.trafficDone();
    await expectLedgerDeliveredExactlyOnce(sim, client);
    expect([...client.received.keys()]).toEqual([1]);
    expect(sim.sent.every((e) => e.shard === 1)).toBe(true);
  });

  it('drop-connection mid-traffic: the library resumes and receives every seq exactly once', async () => {
    const { sim, client } = await setUp();
    sim.startTraffic({ ratePerSecond: 1500, total: 900 });
    await eventually('traffic on shard 0', () => (sequenced(client.received.get(0)).length > 100 ? true : undefined));
    sim.inject('drop-connection', 0);
    await sim.trafficDone();
    await expectLedgerDeliveredExactlyOnce(sim, client);
    expect(sim.stats().resumes).toBeGreaterThanOrEqual(1);
    expect(sim.stats().identifies).toBe(2);
    expect(client.received.get(0)!.some((p) => p.t === 'RESUMED')).toBe(true);
  });

  it('invalid-session: the library identifies again and gets a new session', async () => {
    const { sim, client } = await setUp();
    sim.startTraffic({ ratePerSecond: 1000, total: 600 });
    await eventually('traffic on shard 0', () => (sequenced(client.received.get(0)).length > 50 ? true : undefined));
    sim.inject('invalid-session', 0);
    await eventually('a second READY on shard 0', () => (bySession(client.received.get(0)).size === 2 ? true : undefined));
    await sim.trafficDone();
    await expectLedgerDeliveredExactlyOnce(sim, client);
    expect(sim.stats()).toMatchObject({ identifies: 3, invalidSessions: 1, resumes: 0 });
  });

  it('reconnect (op 7): the library resumes without losing or repeating a dispatch', async () => {
    const { sim, client } = await setUp();
    sim.startTraffic({ ratePerSecond: 1000, total: 600 });
    await eventually('traffic on shard 1', () => (sequenced(client.received.get(1)).length > 50 ? true : undefined));
    sim.inject('reconnect', 1);
    await sim.trafficDone();
    await eventually('the resume', () => (sim!.stats().resumes === 1 ? true : undefined));
    await expectLedgerDeliveredExactlyOnce(sim, client);
    expect(sim.stats().identifies).toBe(2);
  });

  it('ignore-heartbeats: the library detects the zombie connection and resumes', async () => {
    const { sim, client } = await setUp({ heartbeatIntervalMs: 300 });
    sim.startTraffic({ ratePerSecond: 500, total: 600 });
    await eventually('traffic on shard 0', () => (sequenced(client.received.get(0)).length > 20 ? true : undefined));
    sim.inject('ignore-heartbeats', 0);
    await eventually('the zombie resume', () => (sim!.stats().resumes >= 1 ? true : undefined));
    await sim.trafficDone();
    await expectLedgerDeliveredExactlyOnce(sim, client);
    expect(sim.stats().identifies).toBe(2);
  });

  it('malformed-frame: a structurally invalid MESSAGE_CREATE still reaches the client with its own seq', async () => {
    const { sim, client } = await setUp();
    sim.inject('malformed-frame', 0);
    const malformed = sim.sent.filter((e) => e.malformed);
    expect(malformed).toHaveLength(1);
    await expectLedgerDeliveredExactlyOnce(sim, client);
    const arrived = sequenced(client.received.get(0)).find((p) => p.s === malformed[0]!.seq)!;
    expect(arrived.t).toBe('MESSAGE_CREATE');
    expect(arrived.d).not.toHaveProperty('id');
    expect(arrived.d).not.toHaveProperty('channel_id');
  });

  it('dispatch() routes an explicit event to the guild’s shard', async () => {
    const { sim, client } = await setUp();
    const guildId = sim.guildIds[3]!;
    const entry = sim.dispatch('GUILD_UPDATE', { id: guildId, name: 'renamed' }, guildId);
    expect(entry.shard).toBe(shardFor(BigInt(guildId), 2));
    await expectLedgerDeliveredExactlyOnce(sim, client);
    const last = sequenced(client.received.get(entry.shard)).at(-1)!;
    expect(last).toMatchObject({ t: 'GUILD_UPDATE', s: entry.seq, d: { id: guildId, name: 'renamed' } });
  });

  it('zlib-stream: the library inflates every dispatch', async () => {
    const { sim, client } = await setUp({}, { shardCount: 2, compression: CompressionMethod.ZlibNative });
    sim.startTraffic({ ratePerSecond: 2000, total: 300 });
    await sim.trafficDone();
    await expectLedgerDeliveredExactlyOnce(sim, client);
    expect(sim.stats()).toMatchObject({ connections: 2, compressedConnections: 2 });
  });
});
