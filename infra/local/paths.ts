import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KAFKA_VERSION = process.env.GUILDCAST_KAFKA_VERSION ?? '3.9.2';
export const CASSANDRA_VERSION = process.env.GUILDCAST_CASSANDRA_VERSION ?? '5.0.9';

/** Downloads and server state live outside the work tree so a fresh clone reuses them. */
export const cacheDir = resolve(process.env.GUILDCAST_CACHE_DIR ?? join(homedir(), '.cache', 'guildcast'));
export const mavenPomDir = fileURLToPath(new URL('../maven/', import.meta.url));

export interface ServerPaths {
  /** Where the server's jars are copied, keyed by version so versions can sit side by side. */
  libs: string;
  /** Data, config, pid and log of the running server. */
  home: string;
  data: string;
  conf: string;
  pidFile: string;
  logFile: string;
}

function serverPaths(name: string, version: string): ServerPaths {
  const home = join(cacheDir, 'run', name);
  return {
    libs: join(cacheDir, 'dist', `${name}-${version}`, 'libs'),
    home,
    data: join(home, 'data'),
    conf: join(home, 'conf'),
    pidFile: join(home, `${name}.pid`),
    logFile: join(home, `${name}.log`),
  };
}

export const kafkaPaths = serverPaths('kafka', KAFKA_VERSION);
export const cassandraPaths = serverPaths('cassandra', CASSANDRA_VERSION);
