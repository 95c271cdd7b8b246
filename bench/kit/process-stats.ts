import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // Linux USER_HZ
const PAGE_BYTES = 4096;

/** CPU seconds and resident memory of a process, read from /proc (Linux). */
export function processStats(pid: number): { cpuSeconds: number; rssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpuSeconds: (utime + stime) / TICKS_PER_SECOND, rssBytes: rssPages * PAGE_BYTES };
  } catch {
    return undefined;
  }
}

/** Samples named processes once a second: CPU use as a share of one core, and RSS. */
export class ProcessSampler {
  private readonly last = new Map<string, { cpuSeconds: number; at: number }>();
  readonly samples: { t: number; name: string; cpuPercent: number; rssMb: number }[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly processes: () => Record<string, number>, private readonly start = performance.now()) {}

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

  private sample(): void {
    const now = performance.now();
    for (const [name, pid] of Object.entries(this.processes())) {
      const stats = processStats(pid);
      if (!stats) continue;
      const before = this.last.get(name);
      this.last.set(name, { cpuSeconds: stats.cpuSeconds, at: now });
      if (!before) continue;
      const cpuPercent = ((stats.cpuSeconds - before.cpuSeconds) / ((now - before.at) / 1000)) * 100;
      this.samples.push({ t: (now - this.start) / 1000, name, cpuPercent, rssMb: stats.rssBytes / 1_048_576 });
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
      out[name] = {
        cpuPercentMean: mine.reduce((s, x) => s + x.cpuPercent, 0) / mine.length,
        rssMbMax: Math.max(...rss),
        rssMbStart: median(rss.slice(0, edge)),
        rssMbEnd: median(rss.slice(-edge)),
      };
    }
    return out;
  }
}

export interface ProcessSummary {
  cpuPercentMean: number;
  rssMbMax: number;
  rssMbStart: number;
  rssMbEnd: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
