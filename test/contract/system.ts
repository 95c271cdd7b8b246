import { randomBytes } from 'node:crypto';
import { createTokenSigner, type TokenSigner } from '../../gateway-proxy/index.ts';
import { freePort, startRole, type RoleProcess } from '../child.ts';
import { eventually, uniqueName } from '../support.ts';

/** `name`: letters and digits only (it names the keyspace too). `guildcast all` as `npm start` runs it (simulator, ingest, fanout, edge, api on one port), for the client-library contract tests. */
export interface System {
  /** `http://127.0.0.1:<port>`: the one setting a bot gets (its REST base; the gateway URL comes from /gateway/bot). */
  base: string;
  /** Signs with the system's EDGE_TOKEN_SECRET: tokens for one guild or all, as `guildcast token` mints them. */
  tokens: TokenSigner;
  process: RoleProcess;
  stop(): Promise<number | null>;
}

export async function startSystem(name: string, env: Record<string, string> = {}): Promise<System> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const prefix = uniqueName(name);
  const secret = randomBytes(24).toString('hex');
  const process = startRole(
    'bin/guildcast.mjs',
    {
      GUILDCAST_PORT: String(port),
      GUILDCAST_LOCAL_INFRA: 'false', // the suite's global setup runs them
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_EVENT_PARTITIONS: '4',
      CASSANDRA_KEYSPACE: prefix.toLowerCase(),
      FANOUT_GROUP_ID: `${prefix}-fanout`,
      EDGE_TOKEN_SECRET: secret,
      SIM_GUILDS: '2',
      SIM_CHANNELS_PER_GUILD: '2',
      SIM_RATE: '2',
      ...env,
    },
    ['all'],
  );
  const exited = process.exited.then((code) => {
    throw new Error(`guildcast all exited with ${code} before it was ready`);
  });
  const ready = eventually('the system to be ready', async () => ((await fetch(`${base}/readyz`).catch(() => undefined))?.ok ? true : undefined), 150_000);
  await Promise.race([ready, exited]).catch(async (err) => {
    await process.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- its output ---\n${process.output()}`);
  });
  exited.catch(() => undefined);
  return { base, tokens: createTokenSigner(secret), process, stop: () => process.kill('SIGTERM') };
}
