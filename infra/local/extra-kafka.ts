import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from './paths.ts';
import { readPid, runningPid, sleep, tail } from './processes.ts';

/**
 * A second local Kafka broker, for tests that stop and start a broker under traffic without
 * disturbing the shared one on 9092. It is the project's own `infra up kafka`, run in a child
 * process with `GUILDCAST_KAFKA_PORT` / `GUILDCAST_KAFKA_CONTROLLER_PORT` set and
 * `GUILDCAST_CACHE_DIR` pointing at a folder of its own, so its config, data, PID and log files are
 * its own; the jars and the Maven repository are linked from the main cache (no second download).
 */
export interface ExtraKafka {
  /** `127.0.0.1:<port>`, for KAFKA_BROKERS. */
  readonly brokers: string;
  /** Its own cache folder: `run/kafka/` under it holds config, data, PID and log. */
  readonly home: string;
  /** Starts it (formatting storage the first time), resolving when it answers metadata. */
  start(): Promise<void>;
  /** Signals the broker process and resolves once it is gone; its data stays for the next start. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Whether the broker process is running now. */
  running(): boolean;
  /** Kills it (if running) and deletes its folder. Safe to call more than once. */
  remove(): Promise<void>;
  logTail(lines?: number): Promise<string>;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const infraCli = fileURLToPath(new URL('./cli.ts', import.meta.url));
/** Every extra broker still running when this process exits is killed, even if a test forgot. */
const live = new Set<string>();
let exitHookInstalled = false;

export function extraKafka({ name, port, controllerPort }: { name: string; port: number; controllerPort: number }): ExtraKafka {
  if (!/^[a-z0-9_-]{1,64}$/i.test(name)) throw new RangeError(`extra Kafka name must be letters, digits, - or _ (got ${JSON.stringify(name)})`);
  const home = join(cacheDir, 'extra-kafka', name);
  const run = join(home, 'run', 'kafka');
  const pidFile = join(run, 'kafka.pid');
  const logFile = join(run, 'kafka.log');
  const env = {
    ...process.env,
    GUILDCAST_CACHE_DIR: home,
    GUILDCAST_KAFKA_PORT: String(port),
    GUILDCAST_KAFKA_CONTROLLER_PORT: String(controllerPort),
  };
  installExitHook();

  const currentPid = () => {
    const pid = pidSync(pidFile);
    return pid !== undefined && isOursAndAlive(pid) ? pid : undefined;
  };

  return {
    brokers: `127.0.0.1:${port}`,
    home,

    async start() {
      await mkdir(home, { recursive: true });
      // Jars and Maven repository from the main cache, so the extra broker needs no download.
      for (const shared of ['dist', 'm2']) {
        const target = join(cacheDir, shared);
        await mkdir(target, { recursive: true });
        if (!existsSync(join(home, shared))) await symlink(target, join(home, shared), 'dir');
      }
      const output = await runInfraUp(env);
      if (output.code !== 0) throw new Error(`extra Kafka ${name} on ${port} did not start (infra up exited ${output.code}):\n${output.text}\n--- log ---\n${await tail(logFile)}`);
      live.add(pidFile);
    },

    async kill(signal = 'SIGKILL') {
      const pid = await runningPid('kafka', pidFile);
      if (pid === undefined) return;
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
      // A broker that ignores SIGTERM for too long is killed: callers wait for "gone", not for "asked".
      const deadline = Date.now() + 60_000;
      while (isOursAndAlive(pid)) {
        if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
        await sleep(100);
      }
    },

    running: () => currentPid() !== undefined,

    async remove() {
      const pid = await readPid(pidFile);
      if (pid !== undefined && isOursAndAlive(pid)) {
        process.kill(pid, 'SIGKILL');
        while (isOursAndAlive(pid)) await sleep(100);
      }
      live.delete(pidFile);
      await rm(home, { recursive: true, force: true });
    },

    logTail: (lines = 60) => tail(logFile, lines),
  };
}

function runInfraUp(env: NodeJS.ProcessEnv): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', infraCli, 'up', 'kafka'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('error', (err) => resolve({ code: null, text: `${text}\n${err.message}` }));
    child.on('exit', (code) => resolve({ code, text }));
  });
}

function pidSync(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Running and started by the infra tool (its marker on the command line). A killed broker whose
 * parent (the short-lived `infra up`) is gone may linger as a zombie until reaped: that is gone too.
 */
function isOursAndAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('-Dguildcast.server=kafka');
  } catch {
    return false;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pidFile of live) {
      const pid = pidSync(pidFile);
      if (pid !== undefined && isOursAndAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
}
