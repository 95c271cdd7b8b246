import * as hdr from 'hdr-histogram-js';

/** Latency in microseconds, 1 µs to 1 hour at 3 significant digits; summaries in milliseconds. */
export class LatencyRecorder {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

  recordMs(ms: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  summary(): LatencySummary {
    const at = (p: number) => this.histogram.getValueAtPercentile(p) / 1000;
    return {
      count: this.histogram.totalCount,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: this.histogram.maxValue / 1000,
      mean: this.histogram.mean / 1000,
    };
  }

  /** (percentile, ms) points for a latency-distribution chart. */
  distribution(): { percentile: number; ms: number }[] {
    const points = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100];
    return points.map((p) => ({ percentile: p, ms: this.histogram.getValueAtPercentile(p) / 1000 }));
  }

  reset(): void {
    this.histogram.reset();
  }

  /** The histogram, compressed, for another process to `merge` (measuring clients run in several). */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.histogram);
  }

  merge(encoded: string): void {
    this.histogram.add(hdr.decodeFromCompressedBase64(encoded));
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}
