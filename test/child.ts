import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A role started as its own process (`node --import tsx <entry>`), the way operators run it. */
export interface RoleProcess {
  child: ChildProcess;
  /** Everything it wrote, for failure messages. */
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startRole(entry: string, env: Record<string, string>, args: string[] = [], options: { maxOpenFiles?: number } = {}): RoleProcess {
  const argv = ['--import', 'tsx', entry, ...args];
  // `ulimit -n` through a shell that then becomes the process: a flood exhausts descriptors as in production.
  const [command, commandArgs] =
    options.maxOpenFiles === undefined
      ? [process.execPath, argv]
      : ['sh', ['-c', `ulimit -n ${options.maxOpenFiles} && exec "$0" "$@"`, process.execPath, ...argv]];
  const child = spawn(command, commandArgs, {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // All of it: tests look for lines written early (readiness) after much else was logged.
  const chunks: string[] = [];
  const keep = (d: Buffer) => void chunks.push(d.toString());
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => chunks.join(''),
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export { freePort } from '../bench/kit/free-port.ts';
