// Rows the call state changed and has not written yet: one write per row at the end of a batch, however often it changed.
import type { CallSessionRow, RoomRow, SlotRow, Store, UserSessionRow } from "../ports/store";

/** A slot to delete, as opposed to a slot row to write. */
interface SlotDelete {
  readonly roomId: string;
  readonly slotKey: string;
  readonly deleted: true;
}

const slotId = (roomId: string, slotKey: string): string => `${roomId}\u0000${slotKey}`;

/**
 * The latest row of each slot, user session, call session and room changed since the last `flush`. A row changed
 * twice is written once, as it ended; a user session keeps when its join was received (its first write's value,
 * which the store keeps on later upserts too).
 */
export class PendingRows {
  // Fresh maps after each flush, not `clear()`: a cleared Map keeps its grown table behind it, and one such table
  // per map and batch left V8's old space about 50 MB larger at 100k members for the same live heap.
  private slots = new Map<string, SlotRow | SlotDelete>();
  private userSessions = new Map<string, UserSessionRow>();
  private callSessions = new Map<string, CallSessionRow>();
  private rooms = new Map<string, RoomRow>();

  get size(): number {
    return this.slots.size + this.userSessions.size + this.callSessions.size + this.rooms.size;
  }

  putSlot(row: SlotRow): void {
    this.slots.set(slotId(row.roomId, row.slotKey), row);
  }

  deleteSlot(roomId: string, slotKey: string): void {
    this.slots.set(slotId(roomId, slotKey), { roomId, slotKey, deleted: true });
  }

  putUserSession(row: UserSessionRow): void {
    const earlier = this.userSessions.get(row.id);
    this.userSessions.set(
      row.id,
      earlier === undefined ? row : { ...row, joinedReceivedAt: earlier.joinedReceivedAt },
    );
  }

  putCallSession(row: CallSessionRow): void {
    this.callSessions.set(row.id, row);
  }

  putRoom(row: RoomRow): void {
    this.rooms.set(row.roomId, row);
  }

  /**
   * Writes every pending row (call inside a store transaction) and starts afresh. Should that transaction roll
   * back, the rows written are pending again (under any newer change of the same row), so the next flush writes
   * them: memory already holds their changes, and replaying their events changes nothing in memory.
   */
  flush(store: Store): void {
    if (this.size === 0) return;
    const { rooms, slots, callSessions, userSessions } = this;
    // Rooms first: nothing refers to them, but it keeps a room's row ahead of its slots for readers of the file.
    for (const row of rooms.values()) store.upsertRoom(row);
    for (const slot of slots.values()) {
      if ("deleted" in slot) store.deleteSlot(slot.roomId, slot.slotKey);
      else store.putSlot(slot);
    }
    for (const row of callSessions.values()) store.putCallSession(row);
    for (const row of userSessions.values()) store.putUserSession(row);
    this.rooms = new Map();
    this.slots = new Map();
    this.callSessions = new Map();
    this.userSessions = new Map();
    store.onRollback(() => {
      this.rooms = underNewer(rooms, this.rooms);
      this.slots = underNewer(slots, this.slots);
      this.callSessions = underNewer(callSessions, this.callSessions);
      const newer = this.userSessions;
      this.userSessions = new Map(userSessions);
      for (const row of newer.values()) this.putUserSession(row);
    });
  }
}

/** `older` with `newer`'s rows over it. */
function underNewer<T>(older: Map<string, T>, newer: Map<string, T>): Map<string, T> {
  const out = new Map(older);
  for (const [key, row] of newer) out.set(key, row);
  return out;
}
