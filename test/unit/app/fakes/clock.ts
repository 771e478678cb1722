// A fake clock (now/advance) and a manual scheduler whose one-off timers run, in due order, as the clock advances.
import type { Clock } from "../../../../src/app/ports/clock";
import type { Scheduler } from "../../../../src/app/ports/scheduler";

/** Something holding timers the clock must run as it passes their due time. */
export interface TimerSource {
  nextDueAt(): number | null;
  runDue(at: number): void;
}

export class FakeClock implements Clock {
  private readonly sources: TimerSource[] = [];

  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  attach(source: TimerSource): void {
    this.sources.push(source);
  }

  /** Moves time forward by `ms`, stopping at each due timer to run it at its own instant. */
  advance(ms: number): void {
    if (ms < 0) throw new Error("time does not go back");
    const target = this.t + ms;
    for (;;) {
      let next: { at: number; source: TimerSource } | null = null;
      for (const source of this.sources) {
        const at = source.nextDueAt();
        if (at !== null && at <= target && (next === null || at < next.at)) next = { at, source };
      }
      if (next === null) break;
      this.t = Math.max(this.t, next.at);
      next.source.runDue(this.t);
    }
    this.t = target;
  }
}

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly job: () => void;
  cancelled: boolean;
}

export class ManualScheduler implements Scheduler, TimerSource {
  private readonly timers: Timer[] = [];
  private readonly periodic = new Map<string, { cron: string; job: () => Promise<void> }>();
  private seq = 0;
  stopped = false;

  constructor(private readonly clock: FakeClock) {
    clock.attach(this);
  }

  every(name: string, cron: string, job: () => Promise<void>): void {
    this.periodic.set(name, { cron, job });
  }

  after(delayMs: number, job: () => void): () => void {
    const timer: Timer = { id: ++this.seq, at: this.clock.now() + delayMs, job, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) t.cancelled = true;
    this.periodic.clear();
    return Promise.resolve();
  }

  /** Due instants of the timers still armed, earliest first. */
  armed(): number[] {
    return this.live()
      .map((t) => t.at)
      .sort((a, b) => a - b);
  }

  /** Runs a periodic job by name, as its cron tick would. */
  async tick(name: string): Promise<void> {
    const entry = this.periodic.get(name);
    if (!entry) throw new Error(`no periodic job ${name}`);
    await entry.job();
  }

  nextDueAt(): number | null {
    const live = this.live();
    return live.length === 0 ? null : Math.min(...live.map((t) => t.at));
  }

  runDue(at: number): void {
    const due = this.live()
      .filter((t) => t.at <= at)
      .sort((a, b) => a.at - b.at || a.id - b.id);
    for (const t of due) {
      if (t.cancelled) continue;
      t.cancelled = true;
      t.job();
    }
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]?.cancelled) this.timers.splice(i, 1);
  }

  private live(): Timer[] {
    return this.timers.filter((t) => !t.cancelled);
  }
}
