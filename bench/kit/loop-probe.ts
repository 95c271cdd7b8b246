/**
 * Preloaded (`--import`) into every Node process an e2e run starts when BENCH_LOOP_DIR is set:
 * once a second it appends that second's event-loop delay and garbage-collection pauses to `<dir>/<pid>.jsonl`, which the
 * ProcessSampler reads next to CPU and RSS. A hop's tail with a quiet loop is time spent waiting
 * (on a broker, the store, the scheduler); one with a busy loop is the process's own work.
 * Written for Node's type stripping: it loads before tsx does.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/** prom-client's default too: a 10 ms timer costs the measured process little. */
const RESOLUTION_MS = 10;

const dir = process.env.BENCH_LOOP_DIR;
if (dir) {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  // GC pauses of the main thread: a stall the loop delay shows and the CPU profile hides under "(garbage collector)".
  let gcMs = 0;
  let gcMaxMs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      if (entry.duration > gcMaxMs) gcMaxMs = entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  const file = join(dir, `${process.pid}.jsonl`);
  // Node's values are the times between the timer's runs: the resolution itself is no delay.
  const delayMs = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  const timer = setInterval(() => {
    if (histogram.count > 0) {
      const second = { t: Date.now(), p99: delayMs(histogram.percentile(99)), max: delayMs(histogram.max), gcMs, gcMaxMs };
      try {
        appendFileSync(file, `${JSON.stringify(second)}\n`);
      } catch {
        // The run's directory is gone (the bench ended first): nothing left to report to.
      }
    }
    histogram.reset();
    gcMs = 0;
    gcMaxMs = 0;
  }, 1000);
  timer.unref();
}
