// The scheduler port: periodic jobs (cron) and one-off timers, all cancelled by stop().

export interface Scheduler {
  /** Runs `job` on a cron schedule; a run still in flight makes the next tick skip. */
  every(name: string, cron: string, job: () => Promise<void>): void;
  /** Runs `job` once after `delayMs`; returns a cancel function. */
  after(delayMs: number, job: () => void): () => void;
  stop(): Promise<void>;
}
