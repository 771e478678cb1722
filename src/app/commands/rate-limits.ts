// Per-room command rate limits, one bucket per kind of answer, so refused commands cannot spend permitted ones' quota.

/**
 * `open`: commands anyone may run; `privileged`: moderator and admin commands by those allowed to run them;
 * `rejected`: unknown commands and refusals; `lookup`: room aliases looked up in the homeserver's directory for
 * commands about another room (before anyone's permission is known). Each holds `perMinute` answers per room per
 * minute.
 */
export type RateBucket = "open" | "privileged" | "rejected" | "lookup";

interface Window {
  start: number;
  count: number;
  warned: boolean;
}

const WINDOW_MS = 60_000;
/** Past this many windows, expired ones are dropped (rooms that went quiet keep no memory). */
const PRUNE_AT = 10_000;

export class RateLimits {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly perMinute: number) {}

  /** Takes one answer: "ok"; "warn" the first time the bucket is spent this minute (say so once); then "drop". */
  take(roomId: string, bucket: RateBucket, now: number): "ok" | "warn" | "drop" {
    const key = `${bucket}\u0000${roomId}`;
    const w = this.windows.get(key);
    if (!w || now - w.start >= WINDOW_MS) {
      if (!w && this.windows.size >= PRUNE_AT) this.prune(now);
      this.windows.set(key, { start: now, count: 1, warned: false });
      return "ok";
    }
    w.count++;
    if (w.count <= this.perMinute) return "ok";
    if (w.warned) return "drop";
    w.warned = true;
    return "warn";
  }

  private prune(now: number): void {
    for (const [key, w] of this.windows) if (now - w.start >= WINDOW_MS) this.windows.delete(key);
  }
}
