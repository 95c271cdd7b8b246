import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Events, GatewayIntentBits, type Message } from 'discord.js';
import { shardFor } from '../../core/discord/shard.ts';
import { timestampOf } from '../../core/discord/snowflake.ts';
import { eventually } from '../support.ts';
import { connectRecorder, type ClientRecorder } from './client-recorder.ts';
import { startPipeline, type Pipeline, type RoleName } from './pipeline.ts';

/**
 * Issue 13, "Done when", with every part its own process as an operator runs it: the simulator
 * playing Discord, ingest, fanout, the api and three edge nodes behind a TCP load balancer, under
 * traffic. Unmodified @discordjs/ws clients (sharded and not) connect through the balancer.
 *   1. The node holding the most sessions is drained (SIGTERM: op 7): its clients RESUME on the
 *      other nodes, and no client loses or repeats anything.
 *   2. Another node holding sessions is SIGKILLed: its clients RESUME elsewhere from their last
 *      checkpoint and lose nothing (repeats of what came after the checkpoint are counted).
 *   3. A fourth node started after traffic began serves complete guilds to a discord.js Client,
 *      which emits every message sent after it was ready.
 */
describe('system: an edge fleet behind a load balancer, drained, killed and grown under traffic', () => {
  let pipeline: Pipeline | undefined;
  const recorders: { shard: readonly [number, number] | undefined; recorder: ClientRecorder }[] = [];
  let late: Client | undefined;

  beforeAll(async () => {
    pipeline = await startPipeline({ name: 'sys_fleet', edges: 3, partitions: 4, shards: 2, guilds: 8, channelsPerGuild: 2 });
    await pipeline.start();
  }, 240_000);
  afterAll(async () => {
    await late?.destroy().catch(() => {});
    for (const { recorder } of recorders) await recorder.destroy().catch(() => {});
    await pipeline?.close();
  });

  it('loses nothing on drain or crash, repeats nothing on drain, and a late node serves complete guilds', { timeout: 420_000 }, async () => {
    const p = pipeline!;
    const token = await p.mintClientToken();
    for (const shard of [undefined, undefined, [0, 2], [1, 2], [0, 4], [3, 4]] as const)
      recorders.push({ shard, recorder: await connectRecorder({ edgeBase: p.edgeBase, token, ...(shard ? { shard } : {}) }) });

    const total = 2_400;
    await p.startTraffic(40, total);
    const receivingAll = (after: number, what: string) =>
      eventually(what, () => (recorders.every(({ recorder }) => recorder.messages.filter((m) => m.receivedAt > after).length >= 5) ? true : undefined), 90_000);
    await receivingAll(0, 'every client receiving');

    // 1. Drain the node holding the most sessions.
    const drained = await busiestNode(p, p.edgeRoles);
    const drainAt = Date.now();
    await p.kill('SIGTERM', [drained.role]);
    await receivingAll(drainAt, 'every client receiving after the drain');

    // 2. SIGKILL another node that holds sessions now.
    const killed = await busiestNode(p, p.edgeRoles.filter((r) => r !== drained.role));
    const killAt = Date.now();
    await p.kill('SIGKILL', [killed.role]);
    await receivingAll(killAt, 'every client receiving after the kill');

    // 3. A node started now, after the traffic began and every GUILD_CREATE passed.
    const lateRole: RoleName = 'edge-3';
    await p.start([lateRole]);
    late = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
      rest: { api: `${p.edgeNodeBase(lateRole)}/api` },
      waitGuildTimeout: 5_000,
    });
    const lateMessages: Message[] = [];
    late.on(Events.MessageCreate, (message) => void lateMessages.push(message));
    const lateReady = new Promise<void>((resolve) => late!.once(Events.ClientReady, () => resolve()));
    await late.login(token);
    await lateReady;
    const lateReadyAt = Date.now();
    const lateGuilds = p.guildIds.map((id) => {
      const guild = late!.guilds.cache.get(id);
      return { id, available: guild?.available ?? false, channels: guild?.channels.cache.size ?? 0 };
    });

    await eventually('the simulator sending everything', async () => ((await p.simulator()).done ? true : undefined), 240_000);
    const report = await p.simulator();
    const sent = report.messages;
    // Everything sent reaches every client that may see it; give the last ones time to arrive.
    const expectedFor = (shard: readonly [number, number] | undefined) => sent.filter((m) => !shard || shardFor(BigInt(m.guildId), shard[1]) === shard[0]);
    await eventually(
      'the last messages at every client',
      () => (recorders.every(({ shard, recorder }) => new Set(recorder.messages.map((m) => m.id)).size >= expectedFor(shard).length) ? true : undefined),
      60_000,
    ).catch(() => undefined);

    const perClient = recorders.map(({ shard, recorder }) => {
      const expected = expectedFor(shard);
      const got = new Set(recorder.messages.map((m) => m.id));
      const seen = new Set<string>();
      let repeated = 0;
      let repeatedBeforeKill = 0;
      for (const m of recorder.messages) {
        if (seen.has(m.id)) {
          repeated++;
          if (m.receivedAt < killAt) repeatedBeforeKill++;
        }
        seen.add(m.id);
      }
      return {
        shard: shard ? shard.join('/') : 'all',
        expected: expected.length,
        lost: expected.filter((m) => !got.has(m.id)).length,
        repeated,
        repeatedBeforeKill,
        readies: recorder.readies,
        resumes: recorder.resumes,
        invalidSessions: recorder.invalidSessions.length,
      };
    });
    const sentAfterLateReady = sent.filter((m) => timestampOf(BigInt(m.id)) > lateReadyAt);
    const lateIds = new Set(lateMessages.map((m) => m.id));
    const figures = {
      sent: sent.length,
      drained: drained.role,
      drainedSessions: drained.sessions,
      killed: killed.role,
      killedSessions: killed.sessions,
      perClient,
      late: {
        guilds: lateGuilds,
        sentAfterReady: sentAfterLateReady.length,
        emitted: lateMessages.length,
        missed: sentAfterLateReady.filter((m) => !lateIds.has(m.id)).length,
      },
      balancerPicks: p.balancer?.picks,
      logs: await p.saveLogs(),
    };
    console.log('edge fleet (issue 13):', JSON.stringify(figures));

    expect(sent.length).toBe(total);
    expect(drained.sessions).toBeGreaterThan(0);
    expect(killed.sessions).toBeGreaterThan(0);
    // Every client came back by RESUME, never by a fresh IDENTIFY.
    for (const client of perClient) expect({ shard: client.shard, lost: client.lost, repeatedBeforeKill: client.repeatedBeforeKill, readies: client.readies }).toEqual({ shard: client.shard, lost: 0, repeatedBeforeKill: 0, readies: 1 });
    // The drained node's sessions were counted while nothing moved: that many distinct clients must
    // have come back by RESUME. (The killed node's count is read while drained clients settle, so it
    // may include one of them: it bounds nothing per client.)
    expect(perClient.filter((c) => c.resumes > 0).length).toBeGreaterThanOrEqual(drained.sessions);
    expect(lateGuilds.every((g) => g.available && g.channels === 2)).toBe(true);
    expect(sentAfterLateReady.length).toBeGreaterThan(0);
    expect(figures.late.missed).toBe(0);
  });
});

/** The edge role (of `roles`) with the most connected sessions now, read from each node's /metrics. */
async function busiestNode(p: Pipeline, roles: readonly RoleName[]): Promise<{ role: RoleName; sessions: number }> {
  const counts = await Promise.all(
    roles.map(async (role) => {
      const text = await (await fetch(`${p.edgeNodeBase(role)}/metrics`)).text();
      const connected = /^guildcast_edge_sessions\{[^}]*state="connected"[^}]*\} (\d+)/m.exec(text);
      return { role, sessions: connected ? Number(connected[1]) : 0 };
    }),
  );
  return counts.reduce((a, b) => (b.sessions > a.sessions ? b : a));
}
