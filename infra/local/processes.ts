import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The Java processes we start carry `-Dguildcast.server=<name>` on their command line, so a PID
 * file that outlived its process (and whose PID was reused by something else) is recognised as
 * stale: we only ever signal a process that is ours.
 */
export function serverMarker(name: string): string {
  return `-Dguildcast.server=${name}`;
}

export async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The PID of our running server, or undefined (removing a stale PID file on the way). */
export async function runningPid(name: string, pidFile: string): Promise<number | undefined> {
  const pid = await readPid(pidFile);
  if (pid === undefined) return undefined;
  if (isOurs(pid, name)) return pid;
  await rm(pidFile, { force: true });
  return undefined;
}

export function isOurs(pid: number, name: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.includes(serverMarker(name));
  } catch {
    return false;
  }
}

export async function startDetached(
  command: string,
  args: string[],
  { pidFile, logFile, cwd }: { pidFile: string; logFile: string; cwd: string },
): Promise<number> {
  await mkdir(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', out, out] });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${command} did not start`);
    child.unref();
    await writeFile(pidFile, `${pid}\n`);
    return pid;
  } finally {
    closeSync(out);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopPid(pid: number, graceMs: number): Promise<'stopped' | 'killed'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'stopped';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(200);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  while (isAlive(pid)) await sleep(100);
  return 'killed';
}

export async function tail(file: string, lines = 60): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
