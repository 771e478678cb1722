// Attributes the main thread's GC pauses to timed windows, so a throughput figure can say how much of it was GC.
import { PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";

/** GC pauses from the first window's start to the last one's end: all of them, and those that began inside a window. */
export interface GcShare {
  readonly totalMs: number;
  readonly inWindowsMs: number;
}

/**
 * Records windows (`performance.now()` pairs, in increasing order) and the GC entries Node reports, for one run.
 * GC entries arrive asynchronously: `finish` must run after the event loop had a turn since the last window.
 */
export class GcRecorder {
  private readonly entries: PerformanceEntry[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    this.entries.push(...list.getEntries());
  });
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  constructor() {
    this.observer.observe({ entryTypes: ["gc"] });
  }

  window(start: number, end: number): void {
    this.starts.push(start);
    this.ends.push(end);
  }

  finish(): GcShare {
    this.entries.push(...this.observer.takeRecords());
    this.observer.disconnect();
    const first = this.starts[0] ?? 0;
    const last = this.ends[this.ends.length - 1] ?? 0;
    let totalMs = 0;
    let inWindowsMs = 0;
    let w = 0;
    const byStart = [...this.entries].sort((a, b) => a.startTime - b.startTime);
    for (const gc of byStart) {
      if (gc.startTime < first || gc.startTime > last) continue;
      totalMs += gc.duration;
      while (w < this.ends.length && (this.ends[w] as number) < gc.startTime) w++;
      if (gc.startTime >= (this.starts[w] as number)) inWindowsMs += gc.duration;
    }
    return { totalMs, inWindowsMs };
  }
}
