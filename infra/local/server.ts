import { mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import type { ServerPaths } from './paths.ts';
import { isAlive, runningPid, serverMarker, sleep, startDetached, stopPid, tail } from './processes.ts';

/** What differs between the servers we run locally; the lifecycle around it is shared. */
export interface ServerSpec {
  name: string;
  paths: ServerPaths;
  /** Download jars if they are not cached yet. */
  fetch(log: (line: string) => void): Promise<void>;
  /** Write configuration and initialise storage; must be safe to run on every start. */
  prepare(): Promise<void>;
  /** JVM arguments after `java` (the marker is added here). */
  javaArgs(): string[];
  /** Resolves when clients can use the server; rejects otherwise. */
  probe(): Promise<void>;
  readyTimeoutMs: number;
  stopGraceMs: number;
  /** Ports the server binds; something else on them would answer our readiness probe instead. */
  ports: number[];
  address: string;
}

export class ServerStartError extends Error {
  constructor(server: string, reason: string, logTail?: string) {
    super(`${server} did not become ready: ${reason}` + (logTail ? `\n--- last lines of its log ---\n${logTail}` : ''));
  }
}

export async function up(spec: ServerSpec, log: (line: string) => void): Promise<'started' | 'already running'> {
  const running = await runningPid(spec.name, spec.paths.pidFile);
  if (running !== undefined) {
    await waitReady(spec, running);
    return 'already running';
  }
  const taken = await portsInUse(spec.ports);
  if (taken.length > 0)
    throw new ServerStartError(
      spec.name,
      `port ${taken.join(', ')} on 127.0.0.1 is already in use by a process this tool did not start; ` +
        'stop that process (or, for Kafka, choose other ports with GUILDCAST_KAFKA_PORT)',
    );
  await spec.fetch(log);
  await mkdir(spec.paths.home, { recursive: true });
  await spec.prepare();
  const pid = await startDetached('java', [serverMarker(spec.name), ...spec.javaArgs()], {
    pidFile: spec.paths.pidFile,
    logFile: spec.paths.logFile,
    cwd: spec.paths.home,
  });
  log(`${spec.name} started (pid ${pid}), waiting for ${spec.address}`);
  await waitReady(spec, pid);
  return 'started';
}

async function waitReady(spec: ServerSpec, pid: number): Promise<void> {
  const deadline = Date.now() + spec.readyTimeoutMs;
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (!isAlive(pid)) throw new ServerStartError(spec.name, 'the process exited', await tail(spec.paths.logFile));
    try {
      await spec.probe();
      return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(1000);
  }
  throw new ServerStartError(
    spec.name,
    `no answer on ${spec.address} within ${spec.readyTimeoutMs / 1000}s (${lastError})`,
    await tail(spec.paths.logFile),
  );
}

async function portsInUse(ports: number[]): Promise<number[]> {
  const inUse = await Promise.all(
    ports.map(
      (port) =>
        new Promise<boolean>((resolve) => {
          const socket = connect({ host: '127.0.0.1', port });
          socket.once('connect', () => (socket.destroy(), resolve(true)));
          socket.once('error', () => resolve(false));
        }),
    ),
  );
  return ports.filter((_, i) => inUse[i]);
}

export async function down(spec: ServerSpec): Promise<string> {
  const pid = await runningPid(spec.name, spec.paths.pidFile);
  if (pid === undefined) return `${spec.name}: not running`;
  const how = await stopPid(pid, spec.stopGraceMs);
  await rm(spec.paths.pidFile, { force: true });
  return `${spec.name}: ${how} (pid ${pid})`;
}

export async function status(spec: ServerSpec): Promise<string> {
  const pid = await runningPid(spec.name, spec.paths.pidFile);
  if (pid === undefined) return `${spec.name}: down`;
  try {
    await spec.probe();
    return `${spec.name}: up (pid ${pid}, ${spec.address})`;
  } catch (err) {
    return `${spec.name}: starting or unhealthy (pid ${pid}): ${(err as Error).message}`;
  }
}
