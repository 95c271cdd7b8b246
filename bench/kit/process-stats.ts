import { closeSync, openSync, readSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TICKS_PER_SECOND = 100; // Linux USER_HZ
const PAGE_BYTES = 4096;

/**
 * CPU seconds, resident memory and write-like system calls so far (`syscw` of /proc/<pid>/io:
 * write, writev, send...; a socket write each on the edge's delivery path) of a process (Linux).
 */
export function processStats(pid: number): { cpuSeconds: number; rssBytes: number; writeCalls: number | undefined } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpuSeconds: (utime + stime) / TICKS_PER_SECOND, rssBytes: rssPages * PAGE_BYTES, writeCalls: writeCalls(pid) };
  } catch {
    return undefined;
  }
}

function writeCalls(pid: number): number | undefined {
  try {
    const match = /^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined; // not readable (another user's process)
  }
}

/** One second of a process's event-loop delay, as loop-probe.ts writes it (ms beyond the probe's timer). */
export interface LoopSecond {
  p99: number;
  max: number;
  /** Garbage-collection pauses in that second: their sum and the longest (absent from older probes). */
  gcMs?: number;
  gcMaxMs?: number;
}

export interface ProcessSamplerOptions {
  /** Where loop-probe.ts writes (its BENCH_LOOP_DIR): the event-loop delay of the Node processes that loaded it. */
  loopDir?: string;
}

/** Samples named processes once a second: CPU use as a share of one core, RSS, and (for probed Node processes) event-loop delay. */
export class ProcessSampler {
  private readonly last = new Map<string, { cpuSeconds: number; writeCalls: number | undefined; at: number }>();
  readonly samples: { t: number; name: string; cpuPercent: number; rssMb: number; writesPerSecond: number | undefined; loop: LoopSecond[] }[] = [];
  private timer?: NodeJS.Timeout;
  private readonly start = performance.now();
  /** Bytes of each probe file read so far. */
  private readonly loopRead = new Map<number, number>();

  constructor(private readonly processes: () => Record<string, number>, private readonly options: ProcessSamplerOptions = {}) {}

  begin(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
    return this;
  }

  end(): void {
    clearInterval(this.timer);
    this.sample();
  }

  /** One sample of every process now (the timer takes one a second). */
  sample(): void {
    const now = performance.now();
    for (const [name, pid] of Object.entries(this.processes())) {
      const stats = processStats(pid);
      if (!stats) continue;
      const before = this.last.get(name);
      this.last.set(name, { cpuSeconds: stats.cpuSeconds, writeCalls: stats.writeCalls, at: now });
      if (!before) continue;
      const seconds = (now - before.at) / 1000;
      const cpuPercent = ((stats.cpuSeconds - before.cpuSeconds) / seconds) * 100;
      const writesPerSecond = stats.writeCalls !== undefined && before.writeCalls !== undefined ? (stats.writeCalls - before.writeCalls) / seconds : undefined;
      this.samples.push({ t: (now - this.start) / 1000, name, cpuPercent, rssMb: stats.rssBytes / 1_048_576, writesPerSecond, loop: this.loopSeconds(pid) });
    }
  }

  /** The seconds the process's probe wrote since the last sample (none for a process without the probe). */
  private loopSeconds(pid: number): LoopSecond[] {
    if (!this.options.loopDir) return [];
    let fd;
    try {
      fd = openSync(join(this.options.loopDir, `${pid}.jsonl`), 'r');
    } catch {
      return [];
    }
    try {
      const from = this.loopRead.get(pid) ?? 0;
      const chunk = Buffer.alloc(64 * 1024);
      const bytes = readSync(fd, chunk, 0, chunk.length, from);
      const text = chunk.subarray(0, bytes).toString();
      // A line the probe is still writing waits for the next sample.
      const complete = text.slice(0, text.lastIndexOf('\n') + 1);
      this.loopRead.set(pid, from + Buffer.byteLength(complete));
      return complete
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as LoopSecond);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Mean CPU % and peak RSS per process, over the run or from sample index `from` on (a window);
   * and RSS at the window's start and end (the median of its first and last tenth, at least 3
   * samples each), so a long run shows whether memory stays flat.
   */
  summary(from = 0): Record<string, ProcessSummary> {
    const samples = this.samples.slice(from);
    const out: Record<string, ProcessSummary> = {};
    for (const name of new Set(samples.map((s) => s.name))) {
      const mine = samples.filter((s) => s.name === name);
      const rss = mine.map((s) => s.rssMb);
      const edge = Math.max(3, Math.floor(rss.length / 10));
      const loop = mine.flatMap((s) => s.loop);
      const writes = mine.flatMap((s) => (s.writesPerSecond === undefined ? [] : [s.writesPerSecond]));
      out[name] = {
        cpuPercentMean: mine.reduce((s, x) => s + x.cpuPercent, 0) / mine.length,
        ...(writes.length > 0 ? { writesPerSecondMean: writes.reduce((s, x) => s + x, 0) / writes.length } : {}),
        rssMbMax: Math.max(...rss),
        rssMbStart: median(rss.slice(0, edge)),
        rssMbEnd: median(rss.slice(-edge)),
        ...(loop.length > 0
          ? {
              loopDelayMs: { p99Median: median(loop.map((s) => s.p99)), p99Worst: Math.max(...loop.map((s) => s.p99)), max: Math.max(...loop.map((s) => s.max)) },
              gc: { percentOfTime: (100 * loop.reduce((sum, s) => sum + (s.gcMs ?? 0), 0)) / (loop.length * 1000), longestPauseMs: Math.max(...loop.map((s) => s.gcMaxMs ?? 0)) },
            }
          : {}),
      };
    }
    return out;
  }
}

export interface ProcessSummary {
  cpuPercentMean: number;
  /** Write-like system calls a second (/proc/<pid>/io `syscw`), when readable. */
  writesPerSecondMean?: number;
  rssMbMax: number;
  rssMbStart: number;
  rssMbEnd: number;
  /** Event-loop delay over the window's seconds: the typical second's p99, the worst second's p99, and the longest stall. */
  loopDelayMs?: { p99Median: number; p99Worst: number; max: number };
  /** Garbage collection over the same seconds: pause time as a share of wall time, and the longest pause. */
  gc?: { percentOfTime: number; longestPauseMs: number };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** The environment that makes a Node child load loop-probe.ts and write into `dir` (added to its own NODE_OPTIONS). */
export function loopProbeEnv(dir: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const probe = fileURLToPath(new URL('./loop-probe.ts', import.meta.url));
  return { BENCH_LOOP_DIR: dir, NODE_OPTIONS: [env.NODE_OPTIONS, `--import=${probe}`].filter(Boolean).join(' ') };
}
