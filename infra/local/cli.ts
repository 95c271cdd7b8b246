import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { cassandraSpec } from './cassandra.ts';
import { kafkaSpec } from './kafka.ts';
import { cacheDir } from './paths.ts';
import { runningPid } from './processes.ts';
import { down, status, up, type ServerSpec } from './server.ts';

const servers: ServerSpec[] = [kafkaSpec, cassandraSpec];
const usage = `usage: npm run infra -- <up|down|status|logs|reset> [kafka|cassandra]

  up      fetch (first time), configure and start; returns when both answer clients
  down    stop the servers this tool started (by PID)
  status  what is running and answering
  logs    follow the servers' logs
  reset   down, then delete their data (downloads stay cached)

cache: ${cacheDir} (GUILDCAST_CACHE_DIR)`;

const log = (line: string) => console.log(`[infra] ${line}`);

/** Names of the local servers whose processes this tool started and which are still running. */
export async function runningServers(): Promise<string[]> {
  const running = await Promise.all(servers.map(async (s) => ((await runningPid(s.name, s.paths.pidFile)) === undefined ? undefined : s.name)));
  return running.filter((n): n is string => n !== undefined);
}

export async function infra(command: string | undefined, only?: string): Promise<number> {
  const chosen = only ? servers.filter((s) => s.name === only) : servers;
  if (only && chosen.length === 0) {
    console.error(`unknown server "${only}"\n${usage}`);
    return 2;
  }
  switch (command) {
    case 'up': {
      const started = Date.now();
      // Fetch both first (Maven is the slow part on a cold cache), then start them side by side.
      for (const s of chosen) await s.fetch(log);
      const results = await Promise.allSettled(chosen.map((s) => up(s, log)));
      let failed = false;
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') log(`${chosen[i]!.name}: ${r.value}`);
        else {
          failed = true;
          console.error(`[infra] ${(r.reason as Error).message}`);
        }
      });
      log(`${failed ? 'failed' : 'ready'} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
      return failed ? 1 : 0;
    }
    case 'down':
      for (const line of await Promise.all(chosen.map(down))) log(line);
      return 0;
    case 'status':
      for (const line of await Promise.all(chosen.map(status))) log(line);
      return 0;
    case 'logs': {
      const tailer = spawn('tail', ['-n', '50', '-F', ...chosen.map((s) => s.paths.logFile)], { stdio: 'inherit' });
      await new Promise((r) => tailer.on('exit', r));
      return 0;
    }
    case 'reset':
      for (const line of await Promise.all(chosen.map(down))) log(line);
      for (const s of chosen) await rm(s.paths.home, { recursive: true, force: true });
      log('data removed');
      return 0;
    default:
      console.error(usage);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  infra(process.argv[2], process.argv[3]).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`[infra] ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    },
  );
}
