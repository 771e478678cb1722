// node-cron behind the Scheduler port: no overlapping runs, errors logged, every timer cleared on stop.
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../../app/ports/logger";
import type { Scheduler } from "../../app/ports/scheduler";

export class CronScheduler implements Scheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly logger: Logger) {}

  every(name: string, expression: string, job: () => Promise<void>): void {
    const task = cron.schedule(
      expression,
      async () => {
        if (this.stopped) return;
        const run = job().catch((err: unknown) => {
          this.logger.error("scheduled job failed", { job: name, error: err });
        });
        this.running.add(run);
        await run;
        this.running.delete(run);
      },
      { name, noOverlap: true },
    );
    this.tasks.push(task);
  }

  after(delayMs: number, job: () => void): () => void {
    if (this.stopped) return () => undefined;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      job();
    }, delayMs);
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.tasks.map(async (t) => t.destroy()));
    this.tasks.length = 0;
    // node-cron's stop does not wait for a job in flight: wait here so the database outlives it.
    await Promise.all([...this.running]);
  }
}
