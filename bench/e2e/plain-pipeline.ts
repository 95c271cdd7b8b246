import { randomBytes } from 'node:crypto';
import cassandra from 'cassandra-driver';
import { Kafka, logLevel } from 'kafkajs';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { env, loadEnv } from '../../core/config.ts';

/**
 * The plain baseline of the e2e bench: the dependencies guildcast is built from, wired the way a
 * short tutorial would, with none of its machinery (no envelope, dedupe, dead letters, replay
 * buffers, intents, per-session limits). The load generator produces to PLAIN_IN_TOPIC;
 *   eachBatch consumer → cassandra-driver executeConcurrent → producer → PLAIN_OUT_TOPIC
 *   → eachBatch consumer → `ws` send to every session that should get it (all, or by shard).
 * It speaks just enough gateway v10 (HELLO, IDENTIFY → READY, heartbeat ACK) for the bench's
 * clients, in the same frame layout as the edge. One process, one file, on purpose.
 */
const config = loadEnv({
  PLAIN_BROKERS: env.hostPorts('127.0.0.1:9092'),
  PLAIN_IN_TOPIC: z.string().min(1),
  PLAIN_OUT_TOPIC: z.string().min(1),
  PLAIN_GROUP: z.string().min(1),
  PLAIN_KEYSPACE: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/),
  PLAIN_PORT: env.int(0, { min: 0, max: 65_535 }),
  CASSANDRA_CONTACT_POINTS: env.hostPorts('127.0.0.1:9042'),
  CASSANDRA_LOCAL_DC: env.string('datacenter1'),
});

interface Client {
  ws: WebSocket;
  shard: [number, number];
  seq: number;
}

const kafka = new Kafka({ clientId: 'bench-plain', brokers: config.PLAIN_BROKERS, logLevel: logLevel.NOTHING });
const db = new cassandra.Client({ contactPoints: config.CASSANDRA_CONTACT_POINTS, localDataCenter: config.CASSANDRA_LOCAL_DC });
const clients = new Set<Client>();

async function main(): Promise<void> {
  await db.connect();
  await db.execute(`CREATE KEYSPACE IF NOT EXISTS ${config.PLAIN_KEYSPACE} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`);
  await db.execute(
    `CREATE TABLE IF NOT EXISTS ${config.PLAIN_KEYSPACE}.messages (channel_id bigint, message_id bigint, guild_id bigint, author_id bigint, content text, PRIMARY KEY (channel_id, message_id))`,
  );
  const insert = `INSERT INTO ${config.PLAIN_KEYSPACE}.messages (channel_id, message_id, guild_id, author_id, content) VALUES (?, ?, ?, ?, ?)`;

  const producer = kafka.producer();
  await producer.connect();

  // Hop 1: consume, persist the batch, hand it on.
  const persist = kafka.consumer({ groupId: `${config.PLAIN_GROUP}-persist`, maxWaitTimeInMs: 10 });
  await persist.connect();
  await persist.subscribe({ topic: config.PLAIN_IN_TOPIC, fromBeginning: true });
  const persistJoined = new Promise((r) => persist.on(persist.events.GROUP_JOIN, r));
  await persist.run({
    eachBatch: async ({ batch }) => {
      const rows = batch.messages.map((m) => {
        const { d } = JSON.parse(m.value!.toString()) as { d: { id: string; channel_id: string; guild_id: string; author: { id: string }; content: string } };
        return [d.channel_id, d.id, d.guild_id, d.author.id, d.content];
      });
      await cassandra.concurrent.executeConcurrent(db, insert, rows, { concurrencyLevel: 64 });
      await producer.send({ topic: config.PLAIN_OUT_TOPIC, messages: batch.messages.map((m) => ({ key: m.key, value: m.value })) });
    },
  });

  // Hop 2: consume the persisted messages and write each to its sessions.
  const edge = kafka.consumer({ groupId: `${config.PLAIN_GROUP}-edge`, maxWaitTimeInMs: 10 });
  await edge.connect();
  await edge.subscribe({ topic: config.PLAIN_OUT_TOPIC, fromBeginning: true });
  const edgeJoined = new Promise((r) => edge.on(edge.events.GROUP_JOIN, r));
  await edge.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const text = m.value!.toString();
        const { t, d } = JSON.parse(text) as { t: string; d: { guild_id: string } };
        const body = JSON.stringify(d);
        const guild = BigInt(d.guild_id) >> 22n;
        for (const c of clients) {
          if (c.shard[1] > 1 && Number(guild % BigInt(c.shard[1])) !== c.shard[0]) continue;
          c.ws.send(`{"t":"${t}","s":${++c.seq},"op":0,"d":${body}}`);
        }
      }
    },
  });

  const wss = new WebSocketServer({ port: config.PLAIN_PORT, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    let client: Client | undefined;
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 } }));
    ws.on('message', (data: Buffer) => {
      let frame: { op?: number; d?: { shard?: [number, number] } };
      try {
        frame = JSON.parse(data.toString());
      } catch {
        return ws.close(4002, 'decode error');
      }
      if (frame.op === 1) ws.send('{"op":11,"d":null}');
      else if (frame.op === 2 && !client) {
        client = { ws, shard: frame.d?.shard ?? [0, 1], seq: 1 };
        const sessionId = randomBytes(16).toString('hex');
        ws.send(JSON.stringify({ t: 'READY', s: 1, op: 0, d: { v: 10, session_id: sessionId, resume_gateway_url: `ws://127.0.0.1:${port}`, guilds: [], shard: client.shard } }));
        clients.add(client);
      } else if (frame.op === 6) ws.send('{"op":9,"d":false}'); // no resume in a plain server
    });
    ws.on('close', () => client && clients.delete(client));
  });
  const port = (wss.address() as { port: number }).port;
  await Promise.all([persistJoined, edgeJoined]);
  process.send?.({ cmd: 'ready', port });

  const stop = async () => {
    for (const c of clients) c.ws.terminate();
    wss.close();
    await Promise.allSettled([persist.disconnect(), edge.disconnect(), producer.disconnect()]);
    await db.execute(`DROP KEYSPACE IF EXISTS ${config.PLAIN_KEYSPACE}`).catch(() => {});
    await db.shutdown();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('disconnect', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`plain pipeline: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
