// Start-up and periodic resync: reads the current state of every followed room and replaces our view with it;
// reads a room once when the service begins to follow it.
import type { Clock } from "./ports/clock";
import type { Logger } from "./ports/logger";
import { type MatrixPort, MatrixRequestError } from "./ports/matrix";
import type { Store } from "./ports/store";
import type { Reconciler } from "./reconcile/reconciler";
import type { CallState } from "./state/call-state";

/** Reads of one room's state per resync before it gives up on a room that keeps changing meanwhile. */
const MAX_READS = 3;
/** First reads of newly followed rooms in flight at once (after downtime, thousands of calls may start together). */
const FIRST_READS_AT_ONCE = 4;

export interface ResyncReport {
  readonly rooms: number;
  readonly synced: number;
  readonly unreadable: readonly string[];
}

/** What a resync reads from and writes to. */
export interface ResyncDeps {
  readonly matrix: MatrixPort;
  readonly state: CallState;
  readonly reconciler: Reconciler;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Whether the service may read as this user (local, in the namespace). */
  readonly isLocalUser: (userId: string) => boolean;
  /** Processes the journaled events not yet applied (the intake's drain). */
  readonly drainPending: () => void;
}

export class Resync {
  /** Rooms waiting for their first read, in order (`head` is the next); each room is queued once. */
  private readonly firstReads: string[] = [];
  private head = 0;
  private readonly queued = new Set<string>();
  private readonly reading = new Set<Promise<void>>();
  /** The last read of each room asked for and not finished: the next one waits for it. */
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private stopped = false;

  constructor(private readonly d: ResyncDeps) {}

  /**
   * Reads the state of a room the service has just begun to follow (its first call event arrived), a few rooms
   * at a time. Until the read lands, the room knows only the room events that came after that call event, and a
   * user whose room membership is unknown counts as joined.
   */
  readFirst(roomId: string): void {
    if (this.stopped || this.queued.has(roomId)) return;
    this.queued.add(roomId);
    this.firstReads.push(roomId);
    this.next();
  }

  private next(): void {
    while (!this.stopped && this.reading.size < FIRST_READS_AT_ONCE && this.head < this.firstReads.length) {
      const roomId = this.firstReads[this.head++] ?? "";
      if (this.head === this.firstReads.length) {
        this.firstReads.length = 0;
        this.head = 0;
      }
      const read: Promise<void> = this.first(roomId).finally(() => {
        this.reading.delete(read);
        this.queued.delete(roomId);
        this.next();
      });
      this.reading.add(read);
    }
  }

  private async first(roomId: string): Promise<void> {
    // Forgotten while it waited (its calls ended long ago): its next call event queues it again.
    if (this.d.state.room(roomId) === undefined) return;
    try {
      if (await this.room(roomId))
        this.d.logger.debug("state of a newly followed room read", { room: roomId });
      else this.d.logger.debug("state of a newly followed room could not be read", { room: roomId });
      this.d.reconciler.flush();
    } catch (err) {
      this.d.logger.warn("first read of a followed room failed; the next resync reads it", {
        room: roomId,
        error: String(err),
      });
    }
  }

  /** Waits for the first reads queued or in flight (tests, start-up). */
  async settled(): Promise<void> {
    while (this.reading.size > 0) await Promise.all([...this.reading]);
  }

  /** Starts no more first reads and waits for those in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.firstReads.length = 0;
    this.head = 0;
    this.queued.clear();
    await this.settled();
  }

  /** The rooms we know: those the bot is in, and those in our database. */
  private async knownRooms(): Promise<string[]> {
    const rooms = new Set(this.d.store.rooms().map((r) => r.roomId));
    try {
      for (const r of await this.d.matrix.joinedRooms()) rooms.add(r);
    } catch (err) {
      this.d.logger.warn("could not list the bot's rooms", { error: String(err) });
    }
    return [...rooms];
  }

  /** Reads a room's state as the bot, or else as a joined local user we track in it. */
  private async readState(roomId: string): Promise<readonly unknown[] | null | "nothing"> {
    try {
      return await this.d.matrix.roomState(roomId, { kind: "bot" });
    } catch (err) {
      if (!(err instanceof MatrixRequestError) || (err.status !== 403 && err.status !== 404)) throw err;
    }
    const room = this.d.state.room(roomId);
    const slotMembers = room?.allSlotMembers() ?? [];
    if (!room || slotMembers.length === 0) return "nothing";
    const candidates = new Set(slotMembers.map((m) => m.userId).filter((u) => this.d.isLocalUser(u)));
    for (const userId of candidates) {
      if (room.isJoined(userId) === false) continue;
      try {
        return await this.d.matrix.roomState(roomId, { kind: "user", userId });
      } catch (err) {
        if (!(err instanceof MatrixRequestError) || (err.status !== 403 && err.status !== 404)) throw err;
      }
    }
    return null;
  }

  /** Events applied to the room so far (0 while it is unknown: its first event makes it known). */
  private eventsApplied(roomId: string): number {
    return this.d.state.room(roomId)?.eventsApplied ?? 0;
  }

  /**
   * Reads the room's state and replaces our view with it. A live event applied while the read was in flight
   * makes the snapshot possibly older than our view (it would undo that event), so the room is read again; a
   * room that keeps changing keeps its live view until the next resync. Reads of one room run one after the
   * other (a first read, the bot's join and the periodic resync may ask at once): a snapshot requested earlier
   * never lands after one requested later.
   */
  room(roomId: string): Promise<boolean> {
    const previous = this.inFlight.get(roomId);
    const read =
      previous === undefined
        ? this.readRoom(roomId)
        : previous.then(
            () => this.readRoom(roomId),
            () => this.readRoom(roomId),
          );
    this.inFlight.set(roomId, read);
    const forget = () => {
      if (this.inFlight.get(roomId) === read) this.inFlight.delete(roomId);
    };
    read.then(forget, forget);
    return read;
  }

  private async readRoom(roomId: string): Promise<boolean> {
    for (let read = 1; ; read++) {
      const before = this.eventsApplied(roomId);
      const events = await this.readState(roomId);
      // A room without memberships that we can no longer read has nothing to reconcile.
      if (events === "nothing") return true;
      if (events === null) return false;
      // Journaled events are older than what the read returned: they go first, or they would undo it.
      this.d.drainPending();
      if (this.eventsApplied(roomId) !== before) {
        if (read < MAX_READS) {
          this.d.logger.debug("room changed while its state was read; reading it again", {
            room: roomId,
            read,
          });
          continue;
        }
        this.d.logger.info("room kept changing while its state was read; it keeps its live view", {
          room: roomId,
          reads: read,
        });
        return true;
      }
      const applied = this.d.store.transaction(() => this.d.state.resync(roomId, events, this.d.clock.now()));
      this.d.reconciler.onApplied(applied);
      return true;
    }
  }

  async all(): Promise<ResyncReport> {
    const rooms = await this.knownRooms();
    const unreadable: string[] = [];
    let synced = 0;
    for (const roomId of rooms) {
      try {
        if (await this.room(roomId)) synced++;
        else unreadable.push(roomId);
      } catch (err) {
        unreadable.push(roomId);
        this.d.logger.warn("resync of a room failed; it keeps its last known state", {
          room: roomId,
          error: String(err),
        });
      }
    }
    if (unreadable.length > 0) {
      this.d.logger.warn(
        "rooms whose state could not be read (bot not in them, no local member to read as)",
        {
          rooms: unreadable.slice(0, 20),
          count: unreadable.length,
        },
      );
    }
    this.d.reconciler.flush();
    return { rooms: rooms.length, synced, unreadable };
  }
}
