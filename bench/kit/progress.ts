/**
 * Counters and gauges sampled once a second: prints the one-line progress report and keeps the
 * rows for the report's timeline. Counters become per-second rates; gauges are shown as they are.
 */
export class Progress {
  private readonly counters = new Map<string, number>();
  private readonly previous = new Map<string, number>();
  private readonly gauges = new Map<string, () => number | undefined>();
  readonly timeline: { t: number; [series: string]: number }[] = [];
  private timer?: NodeJS.Timeout;
  private start = performance.now();
  private last = this.start;

  constructor(private readonly label: string, private readonly print: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {}

  count(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  total(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  gauge(name: string, read: () => number | undefined): void {
    this.gauges.set(name, read);
  }

  begin(): this {
    this.start = this.last = performance.now();
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
    return this;
  }

  end(): void {
    clearInterval(this.timer);
    this.tick();
  }

  private tick(): void {
    const now = performance.now();
    const seconds = (now - this.last) / 1000;
    if (seconds <= 0) return;
    this.last = now;
    const row: { t: number; [series: string]: number } = { t: Math.round((now - this.start) / 100) / 10 };
    const parts: string[] = [];
    for (const [name, value] of this.counters) {
      const rate = (value - (this.previous.get(name) ?? 0)) / seconds;
      this.previous.set(name, value);
      row[`${name}/s`] = rate;
      parts.push(`${name} ${short(rate)}/s`);
    }
    for (const [name, read] of this.gauges) {
      const value = read();
      if (value === undefined) continue;
      row[name] = value;
      parts.push(`${name} ${short(value)}`);
    }
    this.timeline.push(row);
    this.print(`[${this.label} ${row.t.toFixed(0).padStart(3)}s] ${parts.join('  ')}`);
  }
}

const short = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e4 ? `${(v / 1e3).toFixed(1)}k` : v >= 100 ? v.toFixed(0) : v.toFixed(1));
