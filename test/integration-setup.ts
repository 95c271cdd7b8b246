import { infra } from '../infra/local/cli.ts';

/** Brings up the local Kafka and Cassandra (a no-op when they are up). A failure fails the run. */
export default async function setup(): Promise<void> {
  const code = await infra('up');
  if (code !== 0) throw new Error('local infrastructure could not start: see the server log above (npm run infra -- logs)');
}
