// Owns every followed room's call state and its sessions; persists slots, sessions and rooms, written behind.
import type { MemberChange } from "../../domain/membership/changes";
import { DueQueue } from "../../domain/due-queue";
import type { RtcMember } from "../../domain/membership/model";
import type { ParseResult } from "../../domain/membership/parse/result";
import { RoomCallState } from "../../domain/membership/room-state";
import type { SessionEvent } from "../../domain/sessions/types";
import type { EpochMs } from "../../domain/time";
import type { RoomRow, Store } from "../ports/store";
import type { OurLeaves } from "./our-leaves";
import { PendingRows } from "./pending-rows";
import { ROOM_EVENT_PREFIX, roomEventKey } from "./room-event-slots";
import { isSightingKey, sightingKey, sightingOf, sightingRow } from "./sighting-rows";
import { SessionRecords } from "./session-records";
import { storedEvent } from "./stored-event";

/** What one applied event did, for the intake to count and log. */
export interface Applied {
  readonly roomId: string;
  readonly parse: ParseResult | { readonly kind: string };
  readonly changes: readonly MemberChange[];
  readonly sessions: readonly SessionEvent[];
  /**
   * The room's first call event since the service began to follow it: its state (who is joined, its version)
   * should now be read from the homeserver, once. Until then a member of unknown room membership counts as joined.
   */
  readonly readState?: boolean;
}

/** Parse outcomes of a call membership event (readable or not), as opposed to room events and other types. */
const CALL_EVENT_KINDS: ReadonlySet<string> = new Set(["slot", "invalid", "unreadable"]);

export interface CallStateDeps {
  readonly store: Store;
  /** A room the bot is in is followed whether it has a call or not (commands, its invites and joins). */
  readonly botUserId: string;
}

/**
 * The followed rooms: those with call state now or lately, and those the bot is in (the intake journals room
 * events of these rooms only). Every change is persisted: the slot's current event (so a restart rebuilds state
 * exactly), sessions (an open user session keeps when its member was first seen) and the rooms table. What `apply`
 * changes is written by `flush`, once per row, in the transaction that marks the applied events processed (the
 * journal replays them after a crash before it); every other change is written before its method returns.
 */
export class CallState {
  private readonly rooms = new Map<string, RoomCallState>();
  /** Rooms a live event brought in (not restored, not resynced) whose state has not been read from the homeserver. */
  private readonly unread = new Set<string>();
  /** Rooms found without call state by `evictIdle`, and since when (our clock); a call event removes its room. */
  private readonly idleSince = new Map<string, EpochMs>();
  private readonly store: Store;
  /** The rooms table as last written (saves a read and most writes per event). */
  private readonly roomRows = new Map<string, RoomRow>();
  /** What `apply` changed since the last `flush`. */
  private readonly pending = new PendingRows();
  /** Sessions, first sightings and our own leaves. */
  private readonly sessions: SessionRecords;
  /**
   * Rooms by the next instant something sticky of theirs may lapse (a membership, a tombstone, an encrypted
   * sighting), so that a sweep looks only at those due and not at every followed room.
   */
  private readonly stickyDue = new DueQueue();

  constructor(private readonly d: CallStateDeps) {
    this.store = d.store;
    this.sessions = new SessionRecords({
      store: d.store,
      pending: this.pending,
      held: (member) => this.rooms.get(member.roomId)?.member(member.key) !== undefined,
    });
  }

  /** The leaves the clearer is writing or wrote, matched to the events that come back. */
  get ourLeaves(): OurLeaves {
    return this.sessions.ourLeaves;
  }

  room(roomId: string): RoomCallState | undefined {
    return this.rooms.get(roomId);
  }

  allRooms(): IterableIterator<RoomCallState> {
    return this.rooms.values();
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  firstSeenAt(member: RtcMember): EpochMs {
    return this.sessions.firstSeenAt(member);
  }

  openSessionOf(memberKey: string) {
    return this.sessions.openSessionOf(memberKey);
  }

  openCalls() {
    return this.sessions.openCalls();
  }

  private ensure(roomId: string, receivedAt: EpochMs): RoomCallState {
    let room = this.rooms.get(roomId);
    if (!room) {
      this.unread.add(roomId);
      const row = this.store.room(roomId);
      room = new RoomCallState(roomId, {
        roomVersion: row?.roomVersion ?? null,
        encrypted: row?.encrypted ?? false,
      });
      this.rooms.set(roomId, room);
      if (!row) {
        this.pending.putRoom({
          roomId,
          roomVersion: null,
          encrypted: false,
          firstSeenAt: receivedAt,
          lastEventAt: receivedAt,
          unreadableSticky: 0,
        });
      }
    }
    return room;
  }

  /** Rebuilds rooms, slots and open sessions from the store after a restart (no changes are emitted). */
  restore(): void {
    for (const row of this.store.rooms()) {
      this.roomRows.set(row.roomId, row);
      this.rooms.set(
        row.roomId,
        new RoomCallState(row.roomId, { roomVersion: row.roomVersion, encrypted: row.encrypted }),
      );
    }
    for (const slot of this.store.slots()) {
      const room = this.ensure(slot.roomId, slot.receivedAt);
      const sighting = sightingOf(slot);
      if (sighting !== null) room.encryptedSightings.restore(sighting);
      else room.apply(slot.event, { receivedAt: slot.receivedAt });
    }
    for (const room of this.rooms.values()) this.queueSticky(room);
    this.sessions.restore();
    this.flush();
  }

  /** Applies one live event (already journaled); what it changed is written by the next `flush`. */
  apply(event: unknown, roomId: string, receivedAt: EpochMs): Applied {
    const room = this.ensure(roomId, receivedAt);
    const outcome = room.apply(event, { receivedAt });
    this.persistSlot(room, outcome.parse, event, receivedAt);
    if (outcome.parse.kind === "unreadable") {
      const { eventId, sender } = outcome.parse;
      this.pending.putSlot(
        sightingRow(roomId, room.encryptedSightings.note(eventId, sender, receivedAt), receivedAt),
      );
    }
    // Only a sticky event (a membership or its tombstone) or an unreadable one can bring the next lapse earlier.
    const parse = outcome.parse;
    if (parse.kind === "unreadable" || ("slot" in parse && parse.slot?.stickyKey != null))
      this.queueSticky(room);
    const sessions = this.sessions.record(outcome.changes, receivedAt);
    this.touchRoom(room, receivedAt);
    const applied = { roomId, parse: outcome.parse, changes: outcome.changes, sessions };
    if (!CALL_EVENT_KINDS.has(outcome.parse.kind)) return applied;
    this.idleSince.delete(roomId);
    return this.unread.delete(roomId) ? { ...applied, readState: true } : applied;
  }

  /**
   * Writes what `apply` changed since the last call, one write per row. Call inside the store transaction that marks
   * those events processed, so that a crash before it commits replays them from the journal.
   */
  flush(): void {
    if (this.pending.size === 0) return;
    this.store.transaction(() => {
      this.pending.flush(this.store);
    });
  }

  /** Replaces a room's state by a full resync. Call inside a store transaction. */
  resync(roomId: string, events: readonly unknown[], receivedAt: EpochMs): Applied {
    // The slots read below must be those on disk now.
    this.flush();
    const room = this.ensure(roomId, receivedAt);
    this.unread.delete(roomId);
    // Sticky memberships are not room state: keep the ones we hold so the resync does not drop them.
    const sticky = this.store.slots(roomId).filter((s) => s.slotKey.startsWith("sticky"));
    const changes = room.loadState([...events, ...sticky.map((s) => s.event)], { receivedAt });
    this.queueSticky(room);
    this.store.transaction(() => {
      for (const slot of this.store.slots(roomId))
        if (
          !slot.slotKey.startsWith(ROOM_EVENT_PREFIX) &&
          !isSightingKey(slot.slotKey) &&
          !room.slot(slot.slotKey)
        )
          this.store.deleteSlot(roomId, slot.slotKey);
      for (const event of events) {
        const roomKey = roomEventKey(event);
        if (roomKey !== null)
          this.store.putSlot({
            roomId,
            slotKey: roomKey.key,
            eventId: roomKey.eventId,
            event: storedEvent(event),
            receivedAt,
          });
      }
      for (const event of events) {
        const parsed = this.slotKeyOf(event, room);
        if (parsed !== null && room.slot(parsed.key)?.ref.eventId === parsed.eventId) {
          this.store.putSlot({
            roomId,
            slotKey: parsed.key,
            eventId: parsed.eventId,
            event: storedEvent(event),
            receivedAt,
          });
        }
      }
    });
    const sessions = this.sessions.record(changes, receivedAt);
    this.touchRoom(room, receivedAt);
    this.flush();
    return { roomId, parse: { kind: "resync" }, changes, sessions };
  }

  /** Ends sticky memberships whose stickiness lapsed, in the rooms where something sticky is due. */
  expireSticky(now: EpochMs): Applied[] {
    const out: Applied[] = [];
    const due = this.stickyDue.take(now, Number.POSITIVE_INFINITY);
    let next = 0;
    try {
      for (; next < due.length; next++) {
        const room = this.rooms.get(due[next] as string);
        if (room === undefined) continue;
        for (const s of room.lapseSightings(now))
          this.pending.deleteSlot(room.roomId, sightingKey(s.eventId));
        const changes = room.expireSticky(now);
        this.queueSticky(room);
        if (changes.length === 0) continue;
        for (const change of changes) this.pending.deleteSlot(room.roomId, change.member.slotKey);
        out.push({
          roomId: room.roomId,
          parse: { kind: "sticky-expiry" },
          changes,
          sessions: this.sessions.record(changes, now),
        });
      }
    } finally {
      // Taken off the queue but not swept (a room failed): they stay due, for the next sweep.
      for (; next < due.length; next++) {
        const room = this.rooms.get(due[next] as string);
        if (room !== undefined) this.stickyDue.setEarlier(room.roomId, now);
      }
    }
    this.flush();
    return out;
  }

  /**
   * Forgets the rooms found without call state (no slot, no sticky leave or encrypted sighting still in force) at
   * least `afterMs` ago,
   * unless the bot is in them: their state leaves memory, their row and slots the database; call history stays.
   * A room is first found idle by one call and forgotten by a later one. Returns the rooms forgotten.
   */
  evictIdle(now: EpochMs, afterMs: number): string[] {
    // Nothing written behind may land after a room's rows are deleted.
    this.flush();
    const evicted: string[] = [];
    for (const room of this.rooms.values()) {
      const roomId = room.roomId;
      // Encrypted sightings are no room state: a resync would not bring them back, so they keep their room.
      if (!room.idle || room.hasEncryptedSightings(now) || room.isJoined(this.d.botUserId) === true) {
        this.idleSince.delete(roomId);
        continue;
      }
      const since = this.idleSince.get(roomId);
      if (since === undefined) this.idleSince.set(roomId, now);
      else if (now - since >= afterMs) evicted.push(roomId);
    }
    for (const roomId of evicted) {
      this.store.forgetRoom(roomId);
      this.rooms.delete(roomId);
      this.roomRows.delete(roomId);
      this.idleSince.delete(roomId);
      this.unread.delete(roomId);
      this.stickyDue.delete(roomId);
    }
    return evicted;
  }

  private slotKeyOf(event: unknown, room: RoomCallState): { key: string; eventId: string } | null {
    if (typeof event !== "object" || event === null) return null;
    const e = event as Record<string, unknown>;
    if (typeof e.event_id !== "string" || typeof e.type !== "string" || typeof e.state_key !== "string")
      return null;
    const key = `state\u0000${e.type}\u0000${e.state_key}`;
    return room.slot(key) ? { key, eventId: e.event_id } : null;
  }

  private persistSlot(
    room: RoomCallState,
    parse: ParseResult | { kind: string },
    event: unknown,
    receivedAt: EpochMs,
  ) {
    const roomKey = roomEventKey(event);
    if (roomKey !== null) {
      this.pending.putSlot({
        roomId: room.roomId,
        slotKey: roomKey.key,
        eventId: roomKey.eventId,
        event: storedEvent(event),
        receivedAt,
      });
      return;
    }
    if ((parse.kind !== "slot" && parse.kind !== "invalid") || !("slot" in parse) || parse.slot === null)
      return;
    const ref = parse.slot;
    const current = room.slot(ref.key);
    if (current && current.ref.eventId === ref.eventId) {
      this.pending.putSlot({
        roomId: room.roomId,
        slotKey: ref.key,
        eventId: ref.eventId,
        event: storedEvent(event),
        receivedAt,
      });
    } else if (!current) {
      this.pending.deleteSlot(room.roomId, ref.key);
    }
  }

  /** Queues the room for the sweep at the next instant something sticky of it may lapse. */
  private queueSticky(room: RoomCallState): void {
    const at = room.nextStickyEnd();
    if (at === Number.POSITIVE_INFINITY) this.stickyDue.delete(room.roomId);
    // Not a finite instant (no sane event gives one): looked at by the next sweep, which queues it again.
    else this.stickyDue.set(room.roomId, Number.isFinite(at) ? at : 0);
  }

  private writeRoom(row: RoomRow, write: boolean): void {
    this.roomRows.set(row.roomId, row);
    if (write) this.pending.putRoom(row);
  }

  /**
   * The bot's device read an encrypted sticky event of the room (what it held was applied, if a membership): the
   * sender's sticky memberships may be judged again. Null when the room is no longer followed (it was evicted; its
   * next call event brings it back). What it changed is written by the next `flush`.
   */
  encryptedRead(roomId: string, eventId: string, sender: string, at: EpochMs): Applied | null {
    const room = this.rooms.get(roomId);
    if (room === undefined) return null;
    const read = room.encryptedSightings.read(eventId, sender);
    if (read !== undefined) {
      this.pending.deleteSlot(roomId, sightingKey(eventId));
      this.pending.putSlot(sightingRow(roomId, read, at));
      this.queueSticky(room);
    }
    return { roomId, parse: { kind: "encrypted-read" }, changes: [], sessions: [] };
  }

  /** Counts an encrypted sticky event (the rooms table keeps how many arrived, decrypted or not). */
  countUnreadable(roomId: string, at: EpochMs): void {
    const row = this.roomRows.get(roomId) ?? this.store.room(roomId);
    if (row) this.writeRoom({ ...row, unreadableSticky: row.unreadableSticky + 1, lastEventAt: at }, true);
  }

  /** Keeps the rooms table current: version and encryption at once, the last event time once a minute. */
  private touchRoom(room: RoomCallState, at: EpochMs): void {
    const row = this.roomRows.get(room.roomId);
    const changed =
      !row ||
      row.roomVersion !== room.roomVersion ||
      row.encrypted !== room.encrypted ||
      at - row.lastEventAt > 60_000;
    if (!changed) return;
    this.writeRoom(
      {
        roomId: room.roomId,
        roomVersion: room.roomVersion,
        encrypted: room.encrypted,
        firstSeenAt: row?.firstSeenAt ?? at,
        lastEventAt: at,
        unreadableSticky: row?.unreadableSticky ?? 0,
      },
      true,
    );
  }
}
