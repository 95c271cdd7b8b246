import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, isOurs, runningPid, serverMarker, stopPid } from './processes.ts';
import { eventually } from '../../test/support.ts';

describe('PID files', () => {
  it('treats a PID that is not our server as stale and removes the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gc-pid-'));
    const pidFile = join(dir, 'x.pid');
    await writeFile(pidFile, `${process.pid}\n`); // alive, but not a server of ours
    expect(await runningPid('kafka', pidFile)).toBeUndefined();
    expect(existsSync(pidFile)).toBe(false);
  });

  it('recognises and stops a process that carries our marker', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gc-pid-'));
    const pidFile = join(dir, 'x.pid');
    // The marker is an argument of the child's script, as it is of our java servers' command line.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', serverMarker('probe')], { stdio: 'ignore' });
    await writeFile(pidFile, `${child.pid}\n`);
    // Right after fork the child's /proc entry can still show the parent's command line.
    expect(await eventually('the child to show its command line', () => (isOurs(child.pid!, 'probe') ? true : undefined))).toBe(true);
    expect(await runningPid('probe', pidFile)).toBe(child.pid);
    expect(await stopPid(child.pid!, 5000)).toBe('stopped');
    expect(isAlive(child.pid!)).toBe(false);
  });
});
