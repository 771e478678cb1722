// The rooms due for a look (a grace ends, a membership expires, a retry is due) and the one timer for the earliest.
import type { EpochMs } from "../../domain/time";
import type { Clock } from "../ports/clock";
import type { Scheduler } from "../ports/scheduler";
import { DueQueue } from "../../domain/due-queue";

/**
 * The longest delay a Node.js timer honours (2^31 − 1 ms, about 24.8 days); a longer one fires at once. A room due
 * later (a membership may claim to expire centuries ahead) is woken at this bound and finds nothing due yet.
 */
export const MAX_TIMER_MS = 2_147_483_647;

export interface DueRoomsDeps {
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  /** Called when the earliest due instant has come; it takes the due rooms (`take`), which re-arms the timer. */
  readonly onDue: () => void;
}

/**
 * One queue of due instants and one timer, armed for the earliest of them: the number of timers does not grow
 * with the number of rooms. The timer is re-armed only when the earliest instant changes.
 */
export class DueRooms {
  private readonly queue = new DueQueue();
  private timer: { readonly at: EpochMs; readonly cancel: () => void } | null = null;
  private stopped = false;

  constructor(private readonly d: DueRoomsDeps) {}

  get size(): number {
    return this.queue.size;
  }

  /** When the room is due, or null. */
  dueAt(roomId: string): EpochMs | null {
    return this.queue.dueAt(roomId);
  }

  /** The room is next due at `at`; null: only a signal (an event, a webhook, a poll) can change its verdicts. */
  set(roomId: string, at: EpochMs | null): void {
    if (at === null) this.queue.delete(roomId);
    else this.queue.set(roomId, at);
    this.arm();
  }

  /** The room is due at `at` at the latest (an earlier instant it has stays). */
  setEarlier(roomId: string, at: EpochMs): void {
    this.queue.setEarlier(roomId, at);
    this.arm();
  }

  /** Removes and returns at most `limit` rooms due now, earliest first; the timer is armed for the rest. */
  take(limit: number): string[] {
    const rooms = this.queue.take(this.d.clock.now(), limit);
    this.arm();
    return rooms;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  private arm(): void {
    if (this.stopped) return;
    const next = this.queue.earliest();
    if (this.timer !== null && this.timer.at === next) return;
    this.timer?.cancel();
    this.timer = null;
    if (next === null) return;
    const delay = Math.min(Math.max(0, next - this.d.clock.now()), MAX_TIMER_MS);
    const cancel = this.d.scheduler.after(delay, () => {
      this.timer = null;
      this.d.onDue();
      // Woken before anything was due (the delay was capped), or the callback took nothing: wait again.
      this.arm();
    });
    this.timer = { at: next, cancel };
  }
}
