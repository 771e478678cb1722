// Matrix intake: journals each transaction event before the homeserver's 200, then processes the journal in order.
import type { Clock } from "../ports/clock";
import type { Logger } from "../ports/logger";
import type { Metrics } from "../ports/metrics";
import type { InboxEntry, Store } from "../ports/store";

/** The event types the service reads; everything else is dropped at the door (counted, not journaled). The filter
 * narrows them further: room events of rooms without calls, messages that are not commands. */
export const FOLLOWED_TYPES: ReadonlySet<string> = new Set([
  "m.call.member",
  "org.matrix.msc3401.call.member",
  "m.rtc.member",
  "org.matrix.msc4143.rtc.member",
  "m.room.member",
  "m.room.create",
  "m.room.power_levels",
  "m.room.encryption",
  "m.room.encrypted",
  "m.room.message",
]);

/** What processes the journal (the event router). */
export interface JournalHandler {
  /** Handles one journaled event; runs inside its batch's store transaction. */
  handle(entry: InboxEntry): void;
  /** Writes what the batch's entries changed; runs inside the batch's transaction, before it is marked processed. */
  flush(): void;
  /** Runs after each batch's transaction committed (reactions that do network I/O). */
  afterBatch(): void;
}

/** Narrows what is journaled among the types read (see `FollowFilter`). */
export interface IntakeFilter {
  wanted(type: string, event: Record<string, unknown>): boolean;
  /** A new event was journaled. */
  journaled(type: string, roomId: string, event: Record<string, unknown>): void;
  /** Every journaled event has been processed. */
  drained(): void;
}

export interface MatrixIntakeDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly handler: JournalHandler;
  /** Without one, every event of a type the service reads is journaled. */
  readonly filter?: IntakeFilter;
}

/** The homeserver's own limit on an event (a PDU), so nothing it accepted is refused here. */
const MAX_EVENT_BYTES = 65_536;

/**
 * An event's size as the homeserver limited it: UTF-8 bytes of its JSON without `unsigned`, which the homeserver
 * adds when it sends the event (`prev_content` of a state event alone can be 64 KiB) and which the limit never
 * covered. Counting it would drop a large but legal join, and its member would then be judged by what is left.
 */
function signedBytes(event: Record<string, unknown>): number {
  const { unsigned: _unsigned, ...signed } = event;
  return Buffer.byteLength(JSON.stringify(signed), "utf8");
}

const BATCH = 200;

/**
 * How long a scheduled turn of the drain may spend handling events before it commits what it took and yields to
 * requests, webhooks and timers: events cost from tens of microseconds to milliseconds, so a count alone bounds
 * nothing. Writing and judging what was handled take about as long again each, so a turn lasts about three times
 * this.
 */
export const TURN_BUDGET_MS = 5;

/** How soon a turn that found the write lock taken tries again; after `LOCKED_WARN_MS` of that, how often. */
const LOCK_RETRY_MS = 2;
const LOCKED_RETRY_MS = 100;
const LOCKED_WARN_MS = 5_000;

export class MatrixIntake {
  private draining = false;
  private readonly idle: (() => void)[] = [];
  /**
   * The entries this process journaled and has not processed yet, in journal order, with their events as parsed
   * from the transaction: the drain takes them from here rather than reading back and parsing what it just wrote.
   */
  private readonly journaled: InboxEntry[] = [];
  /**
   * Whether the journal may hold pending entries that are not in `journaled` (those left by an earlier run): until
   * the journal is found empty, the drain reads it.
   */
  private backlog = true;
  /** Since when scheduled turns have found the write lock taken (null: the last one did not), and whether said. */
  private lockedSince: number | null = null;
  private lockWarned = false;
  /** Cancels the queued turn of the drain; null while none is queued. `stop` drops it and queues no more. */
  private cancelNext: (() => void) | null = null;
  private stopped = false;

  constructor(private readonly d: MatrixIntakeDeps) {}

  /**
   * Called synchronously for each event of an accepted transaction. Journals it (idempotent by event id), so
   * a crash after the homeserver's 200 loses nothing, and schedules processing.
   */
  accept(event: unknown): void {
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      // An entry of the transaction's `events` that is no event at all: skipped alone, the others are kept.
      this.d.metrics.matrixEvent("other", "invalid");
      this.d.logger.warn("transaction entry that is not an event skipped", {
        entry: event === null ? "null" : Array.isArray(event) ? "array" : typeof event,
      });
      return;
    }
    const e = event as Record<string, unknown>;
    const type = typeof e.type === "string" ? e.type : "unknown";
    if (!FOLLOWED_TYPES.has(type) || !(this.d.filter?.wanted(type, e) ?? true)) {
      // Not labelled by the event's own type: arbitrary types would make unbounded series.
      this.d.metrics.matrixEvent(FOLLOWED_TYPES.has(type) ? type : "other", "ignored");
      return;
    }
    if (typeof e.event_id !== "string" || typeof e.room_id !== "string") {
      this.d.metrics.matrixEvent(type, "invalid");
      this.d.logger.debug("event without event_id or room_id dropped", { type });
      return;
    }
    let json = "";
    let bytes: number;
    try {
      // The whole event, `unsigned` included, is what gets journaled: serialised once, here. Without `unsigned` it
      // can only be smaller, so it is measured apart only when the whole is over the limit.
      json = JSON.stringify(event);
      bytes = Buffer.byteLength(json, "utf8");
      if (bytes > MAX_EVENT_BYTES) bytes = signedBytes(e);
    } catch {
      // Nesting too deep to serialise: it could never be journaled, so it must not block its transaction.
      bytes = Number.POSITIVE_INFINITY;
    }
    if (bytes > MAX_EVENT_BYTES) {
      this.d.metrics.matrixEvent(type, "invalid");
      this.d.logger.warn("oversized event dropped", { type, event_id: e.event_id, bytes });
      return;
    }
    const receivedAt = this.d.clock.now();
    let seq: number | null;
    try {
      seq = this.d.store.appendInbox(e.event_id, e.room_id, receivedAt, json);
    } catch (err) {
      // The homeserver must retry the transaction: rethrowing fails the request with 500.
      this.d.logger.error("could not journal an event", { event_id: e.event_id, error: err });
      throw err;
    }
    if (seq === null) {
      // Redelivered (a retried or replayed transaction): already journaled, nothing more to do.
      this.d.metrics.matrixEvent(type, "duplicate");
      this.d.logger.debug("duplicate event ignored", { event_id: e.event_id, type });
      return;
    }
    this.keep({ seq, eventId: e.event_id, roomId: e.room_id, receivedAt, event: e });
    this.d.filter?.journaled(type, e.room_id, e);
    this.d.logger.debug("matrix event received", {
      event_id: e.event_id,
      type,
      room: e.room_id,
      sender: e.sender,
      state_key: e.state_key,
      content: e.content,
    });
    this.schedule();
  }

  schedule(): void {
    if (this.cancelNext !== null || this.stopped) return;
    const turn = (): void => {
      this.cancelNext = null;
      // One batch per turn of the event loop, cut short once the turn's budget is spent: a backlog (after downtime,
      // or a burst) never holds back requests, webhooks and timers for much longer than the budget. Nor does the
      // checkpointer restarting the log: while it holds the write lock, the batch waits for a later turn.
      const next = this.turn();
      const retryMs = this.noteLock(next === "locked");
      if (next === "idle") return;
      this.queue(turn, next === "more" ? null : retryMs);
    };
    this.queue(turn, null);
  }

  /** Queues the next turn: on the next turn of the event loop, or after `delayMs`. */
  private queue(turn: () => void, delayMs: number | null): void {
    if (delayMs === null) {
      const immediate = setImmediate(turn);
      this.cancelNext = () => {
        clearImmediate(immediate);
      };
    } else {
      const timer = setTimeout(turn, delayMs);
      this.cancelNext = () => {
        clearTimeout(timer);
      };
    }
  }

  /**
   * No more scheduled turns (the service is stopping, its database about to close): a turn already queued is
   * dropped. What is journaled and not processed stays in the journal for the next start.
   */
  stop(): void {
    this.stopped = true;
    this.cancelNext?.();
    this.cancelNext = null;
  }

  /**
   * Notes whether a turn found the write lock taken, and says how soon to try again. Kept out past `LOCKED_WARN_MS`
   * (another process holding the database, a stuck transaction), it warns once, tries less often, and says when the
   * journal is processed again.
   */
  private noteLock(locked: boolean): number {
    const now = this.d.clock.now();
    if (!locked) {
      if (this.lockWarned)
        this.d.logger.info("database writable again; the journal is processed", {
          locked_ms: now - (this.lockedSince ?? now),
        });
      this.lockedSince = null;
      this.lockWarned = false;
      return 0;
    }
    this.lockedSince ??= now;
    if (now - this.lockedSince < LOCKED_WARN_MS) return LOCK_RETRY_MS;
    if (!this.lockWarned) {
      this.lockWarned = true;
      this.d.logger.warn(
        "the database's write lock is held elsewhere; received events wait in the journal until it is free",
        { locked_ms: now - this.lockedSince },
      );
    }
    return LOCKED_RETRY_MS;
  }

  /**
   * Processes every pending journal entry, in order: a batch per database transaction, which writes what the batch
   * changed and marks it processed. A failing entry is skipped alone (logged); what it changed before it failed is
   * kept in memory and so written too, so that the disk holds what the service acts on. Synchronous: for start-up,
   * a resync and tests; the service's own turns go through `schedule`.
   */
  drain(): void {
    const write = (fn: () => void): boolean => {
      this.d.store.transaction(fn);
      return true;
    };
    while (this.batch(Number.POSITIVE_INFINITY, write) === "more");
  }

  /** One scheduled turn: a batch, ended early by the turn's budget, if the write lock is free. */
  private turn(): "more" | "idle" | "locked" {
    return this.batch(this.d.clock.now() + TURN_BUDGET_MS, (fn) => this.d.store.tryTransaction(fn));
  }

  /**
   * Processes the next batch in one transaction that `write` runs (false: not run, the write lock was taken), ended
   * after the entry that reaches `deadline`. Says whether entries are still pending, or that the lock was taken.
   */
  private batch(deadline: number, write: (fn: () => void) => boolean): "more" | "idle" | "locked" {
    if (this.draining) return "idle";
    this.draining = true;
    let outcome: "more" | "idle" | "locked";
    try {
      const batch = this.nextBatch();
      if (batch.length === 0) outcome = "idle";
      else {
        let last = 0;
        const written = write(() => {
          for (const entry of batch) {
            this.processOne(entry);
            last = entry.seq;
            if (this.d.clock.now() >= deadline) break;
          }
          this.d.handler.flush();
          // Failed entries included: they were skipped, not left for later.
          this.d.store.markInboxProcessed(last);
        });
        if (written) {
          this.processedThrough(last);
          this.d.handler.afterBatch();
        }
        outcome = !written ? "locked" : this.hasPending() ? "more" : "idle";
      }
    } finally {
      this.draining = false;
    }
    if (outcome === "idle") {
      this.d.filter?.drained();
      for (const resolve of this.idle.splice(0)) resolve();
    }
    return outcome;
  }

  /**
   * Keeps a new entry for the drain. Should the transaction journaling it roll back, it is forgotten with it (the
   * homeserver retries the transaction); the drain takes it only once journaled, since it runs on a later turn.
   */
  private keep(entry: InboxEntry): void {
    this.journaled.push(entry);
    this.d.store.onRollback(() => {
      const at = this.journaled.lastIndexOf(entry);
      if (at >= 0) this.journaled.splice(at, 1);
    });
  }

  /** The next pending entries, oldest first: read from the journal while it may hold some that are not kept here. */
  private nextBatch(): readonly InboxEntry[] {
    if (this.backlog) {
      const batch = this.d.store.pendingInbox(BATCH);
      if (batch.length > 0) return batch;
      // Everything pending is kept here from now on.
      this.backlog = false;
    }
    return this.journaled.slice(0, BATCH);
  }

  /** Entries up to `seq` are processed (committed): they are no longer kept. */
  private processedThrough(seq: number): void {
    let done = 0;
    while (done < this.journaled.length && (this.journaled[done] as InboxEntry).seq <= seq) done++;
    this.journaled.splice(0, done);
  }

  private hasPending(): boolean {
    return this.backlog ? this.d.store.pendingInbox(1).length > 0 : this.journaled.length > 0;
  }

  private processOne(entry: InboxEntry): void {
    try {
      this.d.handler.handle(entry);
    } catch (err) {
      // A handler bug must not wedge the journal: record and move on.
      this.d.logger.error("failed to process an event; skipped", { event_id: entry.eventId, error: err });
    }
  }

  /** Resolves once the journal has been drained (tests, start-up), or at once when stopped. */
  async settled(): Promise<void> {
    // Once stopped, nothing more is processed: there is nothing to wait for.
    if (this.stopped || (!this.draining && this.cancelNext === null && !this.hasPending())) return;
    await new Promise<void>((resolve) => {
      this.idle.push(resolve);
      this.schedule();
    });
  }
}
