import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loopProbeEnv, ProcessSampler } from './process-stats.ts';

describe('event-loop delay next to CPU and RSS', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'loop-probe-test-'));
    dirs.push(dir);
    return dir;
  };

  it("summarizes the seconds a process's probe wrote within the window, and skips a line still being written", () => {
    const dir = tempDir();
    const file = join(dir, `${process.pid}.jsonl`);
    const sampler = new ProcessSampler(() => ({ me: process.pid }), { loopDir: dir });
    const sample = () => sampler.sample();
    sample(); // the first sample only sets the CPU baseline
    appendFileSync(file, `${JSON.stringify({ t: 1, p99: 2, max: 5, gcMs: 10, gcMaxMs: 6 })}\n${JSON.stringify({ t: 2, p99: 4, max: 30, gcMs: 30, gcMaxMs: 25 })}\n{"t":3,"p9`);
    sample();
    const windowStart = sampler.samples.length;
    appendFileSync(file, `9":1,"max":1,"gcMs":0,"gcMaxMs":0}\n${JSON.stringify({ t: 4, p99: 3, max: 7, gcMs: 20, gcMaxMs: 4 })}\n`);
    sample();
    expect(sampler.summary().me!.loopDelayMs).toEqual({ p99Median: 3, p99Worst: 4, max: 30 });
    expect(sampler.summary().me!.gc).toEqual({ percentOfTime: 1.5, longestPauseMs: 25 });
    expect(sampler.summary(windowStart).me!.loopDelayMs).toEqual({ p99Median: 3, p99Worst: 3, max: 7 });
    expect(sampler.summary(windowStart).me!.gc).toEqual({ percentOfTime: 1, longestPauseMs: 4 });
    expect(new ProcessSampler(() => ({ me: process.pid })).summary().me).toBeUndefined();
  });

  it('the probe, preloaded into a Node child, reports a stall of its loop', async () => {
    const dir = tempDir();
    // A stall of the loop, and garbage made to be collected.
    const script = 'setTimeout(() => { const end = Date.now() + 120; while (Date.now() < end); let keep = []; for (let i = 0; i < 2e6; i++) keep.push({ i }); keep = null; }, 300); setTimeout(() => {}, 2600);';
    const child = spawn(process.execPath, ['-e', script], {
      env: { ...process.env, ...loopProbeEnv(dir) },
      stdio: 'ignore',
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const [file] = readdirSync(dir);
    const seconds = readFileSync(join(dir, file!), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { p99: number; max: number; gcMs: number });
    expect(seconds.length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...seconds.map((s) => s.max))).toBeGreaterThanOrEqual(100);
    expect(seconds.reduce((sum, s) => sum + s.gcMs, 0)).toBeGreaterThan(0);
  });
});
