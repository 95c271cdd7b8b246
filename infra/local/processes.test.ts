import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, runningPid, serverMarker, stopPid } from './processes.ts';

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
    const child = spawn(process.execPath, [serverMarker('probe').replace('-D', '--title='), '-e', 'setInterval(()=>{},1000)', serverMarker('probe')], { stdio: 'ignore' });
    await writeFile(pidFile, `${child.pid}\n`);
    expect(await runningPid('probe', pidFile)).toBe(child.pid);
    expect(await stopPid(child.pid!, 5000)).toBe('stopped');
    expect(isAlive(child.pid!)).toBe(false);
  });
});
