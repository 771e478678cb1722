// One room's call state: slots → members, who is joined, room version and encryption; yields member changes.
import type { EpochMs } from "../time";
import { joined, left, type ChangeOrigin, type MemberChange } from "./changes";
import { slotKeyOfMemberKey } from "./keys";
import type { MembershipFormat, RtcMember } from "./model";
import { olderThan } from "./oldest";
import { findOldest, followOldest, rememberOldest, scanOldest, type OldestAnswer } from "./oldest-memo";
import { parseMembershipEvent } from "./parse/index";
import { isSlotSource, NO_MEMBERS, type ParseResult, type SlotRef } from "./parse/result";
import { diffEffective, keepPrevious } from "./resync";
import { parseRoomEvent, type RoomEventResult } from "./room-events";
import { isRefresh, replaceSlotMembers, type EffectiveUsers } from "./slot-diff";
import { MAX_STICKY_DURATION_MS } from "./parse/sticky-envelope";
import { sweepSticky } from "./sticky-sweep";
import type { EncryptedSightings, Sighting } from "./encrypted-sightings";
import { UnreadMemberships } from "./unread";
import {
  markOf,
  rebaseRef,
  stickyEnd,
  stickyOlder,
  type ApplyContext,
  type ApplyOutcome,
  type HeldSlot,
  type LiveSlot,
  type SlotMark,
  type SlotState,
} from "./slots";

export type { ApplyContext, ApplyOutcome, HeldSlot, SlotState } from "./slots";

const NO_CHANGES: readonly MemberChange[] = Object.freeze([]);

/**
 * The call membership state of one room (MSC3401, MSC4143, MSC4354), mutable for speed. Every membership
 * event replaces one slot; the state tracks all slot members (`allSlotMembers`, ghosts included) and the
 * effective call (`members`): those whose user is joined to the room, or whose room membership is unknown
 * (missing evidence never excludes). Changes describe the effective call only.
 */
export class RoomCallState implements EffectiveUsers {
  readonly roomId: string;
  /** Slot key → the members it holds (never empty). */
  private slots = new Map<string, LiveSlot>();
  /** Emptied sticky slots, kept until their stickiness ends so that a late, older event cannot revive them. */
  private tombstones: Map<string, SlotMark> | null = null;
  /** User id → `m.room.member` membership; created on first use (most rooms of a big deployment never need it). */
  private membership: Map<string, string> | null = null;
  private version: string | null;
  private isEncrypted: boolean;
  private applied = 0;
  /** No sticky slot or tombstone of this room ends before this instant (a lower bound, exact after a sweep). */
  private stickyFloor = Number.POSITIVE_INFINITY;
  /** Remembered `oldestInCall` answers, kept up to date by every change (null: none). */
  private oldest: OldestAnswer | null = null;
  /**
   * Call memberships we could not read but clients may (see `UnreadMemberships`); made on first use: most rooms
   * never hold one, and an empty one costs about 160 bytes per room.
   */
  private unread: UnreadMemberships | null = null;

  constructor(roomId: string, init: { roomVersion?: string | null; encrypted?: boolean } = {}) {
    this.roomId = roomId;
    this.version = init.roomVersion ?? null;
    this.isEncrypted = init.encrypted ?? false;
  }

  get roomVersion(): string | null {
    return this.version;
  }

  /** How many events `apply` has taken so far: a reader of the room's state can tell whether it moved meanwhile. */
  get eventsApplied(): number {
    return this.applied;
  }

  /** Whether the room has `m.room.encryption`: sticky memberships (D/E) are then unreadable to a server. */
  get encrypted(): boolean {
    return this.isEncrypted;
  }

  /**
   * Whether the room holds no call state: no slot with members, and no emptied sticky slot whose stickiness is
   * still in force (MSC4354: forgetting it would let a late, older event bring the member back).
   */
  get idle(): boolean {
    return this.slots.size === 0 && (this.tombstones === null || this.tombstones.size === 0);
  }

  /** Members of the effective call: in a slot, and their user joined to the room (or unknown). */
  members(): RtcMember[] {
    const out: RtcMember[] = [];
    for (const slot of this.slots.values()) {
      for (const member of slot.members) if (this.inCall(member.userId)) out.push(member);
    }
    return out;
  }

  /** Everything the slots hold, including memberships of users no longer in the room (ghosts to clear). */
  allSlotMembers(): RtcMember[] {
    const out: RtcMember[] = [];
    for (const slot of this.slots.values()) out.push(...slot.members);
    return out;
  }

  get memberCount(): number {
    let count = 0;
    for (const slot of this.slots.values()) {
      for (const member of slot.members) if (this.inCall(member.userId)) count++;
    }
    return count;
  }

  /** The oldest effective member of `member`'s call among `formats` (itself if none is older), building no list. */
  oldestInCall(member: RtcMember, formats: ReadonlySet<MembershipFormat>): RtcMember {
    if (member.roomId !== this.roomId) return member;
    let oldest = findOldest(this.oldest, member, formats);
    if (oldest === undefined) {
      oldest = scanOldest(this.slots.values(), member, formats, this);
      this.oldest = rememberOldest(this.oldest, member, formats, oldest);
    }
    return oldest !== null && olderThan(oldest, member) ? oldest : member;
  }

  /** Whether the room holds a call membership we could not read but a client may (it counts at `now`). */
  hasUnreadMemberships(now: EpochMs): boolean {
    return this.unread?.any(now) ?? false;
  }

  /**
   * The room's encrypted sticky events and whether the bot read them (see `EncryptedSightings`), made on first
   * use. The readers that run for every member or sweep (`unreadStickyUntil`, `lapseSightings`) make none.
   */
  get encryptedSightings(): EncryptedSightings {
    return this.unreadMemberships().encrypted;
  }

  /** Whether the room has an encrypted sticky event that can still count at `now` (`EncryptedSightings.any`). */
  hasEncryptedSightings(now: EpochMs): boolean {
    return this.unread?.encrypted.any(now) ?? false;
  }

  /** Until when `sender` has an encrypted sticky event not read (`EncryptedSightings.unreadUntil`); null if none. */
  unreadStickyUntil(sender: string, now: EpochMs): EpochMs | null {
    return this.unread?.encrypted.unreadUntil(sender, now) ?? null;
  }

  /** Removes and returns the encrypted sightings that can no longer count at `now` (`EncryptedSightings.lapse`). */
  lapseSightings(now: EpochMs): Sighting[] {
    return this.unread?.encrypted.lapse(now) ?? [];
  }

  private unreadMemberships(): UnreadMemberships {
    return (this.unread ??= new UnreadMemberships());
  }

  /**
   * The earliest instant `expireSticky` or the sightings' `lapse` may have something to do: no sticky membership,
   * tombstone or encrypted sighting of the room ends before it (+∞: the room has none).
   */
  nextStickyEnd(): EpochMs {
    return this.unread === null
      ? this.stickyFloor
      : Math.min(this.stickyFloor, this.unread.encrypted.nextLapse());
  }

  /** The member with this key, if its slot holds it (effective or not). */
  member(key: string): RtcMember | undefined {
    return this.slots.get(slotKeyOfMemberKey(key))?.members.find((m) => m.key === key);
  }

  /** What the slot holds now (a live view), including an emptied sticky slot; undefined for an empty state slot. */
  slot(slotKey: string): SlotState | undefined {
    const live = this.slots.get(slotKey);
    if (live !== undefined) return live;
    const ref = this.tombstones?.get(slotKey);
    return ref === undefined ? undefined : { ref, members: NO_MEMBERS };
  }

  /** The slot when it holds members (a live view, with its full reference); undefined otherwise. */
  heldSlot(slotKey: string): HeldSlot | undefined {
    return this.slots.get(slotKey);
  }

  /** The user's room membership: true when `join`, false otherwise, "unknown" without an `m.room.member`. */
  isJoined(userId: string): boolean | "unknown" {
    const membership = this.membership?.get(userId);
    return membership === undefined ? "unknown" : membership === "join";
  }

  /** Whether the user's members count in the effective call: joined to the room, or membership unknown. */
  inCall(userId: string): boolean {
    if (this.membership === null) return true;
    const membership = this.membership.get(userId);
    return membership === undefined || membership === "join";
  }

  /** Applies one event of any type; only call membership and the tracked room events change anything. */
  apply(event: unknown, ctx: ApplyContext): ApplyOutcome {
    this.applied++;
    const room = parseRoomEvent(event, ctx.receivedAt);
    if (room !== null) return { parse: room, changes: this.followed(this.applyRoomEvent(room, "event")) };
    const roomVersion = ctx.roomVersion !== undefined ? ctx.roomVersion : this.version;
    const parse = parseMembershipEvent(event, {
      receivedAt: ctx.receivedAt,
      roomVersion,
      roomId: this.roomId,
    });
    if (parse.kind === "unreadable")
      this.encryptedSightings.note(parse.eventId, parse.sender, ctx.receivedAt);
    if (parse.kind === "invalid" && parse.slot === null)
      this.unreadMemberships().note(`unplaced\u0000${this.applied}`, ctx.receivedAt + MAX_STICKY_DURATION_MS);
    if ((parse.kind !== "slot" && parse.kind !== "invalid") || parse.slot === null) {
      return { parse, changes: NO_CHANGES };
    }
    if (parse.slot.roomId !== this.roomId) {
      return {
        parse: { kind: "invalid", slot: null, reasons: ["room_id: another room"] },
        changes: NO_CHANGES,
      };
    }
    const changes: MemberChange[] = [];
    this.applySlot(parse, parse.slot, changes);
    return { parse, changes: changes.length === 0 ? NO_CHANGES : this.followed(changes) };
  }

  /** `changes`, after the remembered oldest members have followed them (every change to the call passes here). */
  private followed<T extends readonly MemberChange[]>(changes: T): T {
    if (this.oldest !== null && changes.length > 0) this.oldest = followOldest(this.oldest, changes);
    return changes;
  }

  private applyRoomEvent(room: RoomEventResult, origin: ChangeOrigin): readonly MemberChange[] {
    switch (room.kind) {
      case "room-create":
        this.version = room.roomVersion;
        return NO_CHANGES;
      case "room-encryption":
        this.isEncrypted = true;
        return NO_CHANGES;
      case "room-event-invalid":
        return NO_CHANGES;
      case "room-member":
        return this.applyRoomMember(room.userId, room.membership, room.at, room.eventId, origin);
    }
  }

  private applyRoomMember(
    userId: string,
    membership: string,
    at: EpochMs,
    eventId: string | null,
    origin: ChangeOrigin,
  ): readonly MemberChange[] {
    const before = this.inCall(userId);
    (this.membership ??= new Map()).set(userId, membership);
    const after = membership === "join";
    if (before === after) return NO_CHANGES;
    const changes: MemberChange[] = [];
    for (const slot of this.slots.values()) {
      for (const member of slot.members) {
        if (member.userId !== userId) continue;
        changes.push(
          after ? joined(member, at, origin, eventId) : left(member, at, "left_room", origin, eventId),
        );
      }
    }
    return changes.length === 0 ? NO_CHANGES : changes;
  }

  private applySlot(parse: ParseResult, parsed: SlotRef, changes: MemberChange[]): void {
    const live = this.slots.get(parsed.key);
    const current = live?.ref ?? this.tombstones?.get(parsed.key);
    if (current !== undefined) {
      if (current.eventId === parsed.eventId) return;
      if (parsed.stickyKey !== null && stickyOlder(parsed, current)) return;
    }
    // Only a valid event has members; an invalid one overwrote the slot with nobody (for us: clients may differ).
    const valid = parse.kind === "slot" ? parse : null;
    if (valid === null || valid.problems.length > 0)
      this.unreadMemberships().note(
        parsed.key,
        parsed.stickyKey === null ? Number.POSITIVE_INFINITY : stickyEnd(parsed),
      );
    else this.unread?.clear(parsed.key);
    const incoming = valid?.members ?? NO_MEMBERS;
    const before = live?.members ?? NO_MEMBERS;
    const ref =
      live !== undefined && isSlotSource(parsed) && isRefresh(before, incoming)
        ? rebaseRef(parsed, live.ref)
        : parsed;
    const cause = valid === null ? "invalid" : "left";
    const stored = replaceSlotMembers(
      before,
      incoming,
      ref,
      ref !== parsed,
      cause,
      valid?.leaveCode ?? null,
      this,
      changes,
    );
    this.store(ref, stored, live);
  }

  private store(ref: SlotRef, members: readonly RtcMember[], live: LiveSlot | undefined): void {
    if (ref.stickyKey !== null) this.stickyFloor = Math.min(this.stickyFloor, stickyEnd(ref));
    if (members.length > 0) {
      // A slot is live or a tombstone, never both: only a slot coming back to life can have one.
      if (live === undefined) {
        this.tombstones?.delete(ref.key);
        this.slots.set(ref.key, { ref, members });
      } else {
        live.ref = ref;
        live.members = members;
      }
      return;
    }
    this.slots.delete(ref.key);
    if (ref.stickyKey !== null) (this.tombstones ??= new Map()).set(ref.key, markOf(ref));
  }

  /**
   * Ends sticky memberships whose stickiness is over at `now` (MSC4354: they leave the map), and forgets
   * sticky leave tombstones that can no longer be overtaken by a late older event.
   */
  expireSticky(now: EpochMs): readonly MemberChange[] {
    // Most rooms of a sweep have nothing sticky ending yet: they answer without reading their slots.
    if (now < this.stickyFloor) return NO_CHANGES;
    const { changes, floor } = sweepSticky(this.slots, this.tombstones, now, this);
    if (this.tombstones?.size === 0) this.tombstones = null;
    this.stickyFloor = floor;
    return this.followed(changes);
  }

  /**
   * Replaces the whole state by a full resync (room state plus the currently sticky events) and returns the
   * difference to the effective call: joins, updates and replacements for what changed, lefts for what is
   * gone (`left_room` when only the user's room membership ended). Resync changes carry `at` = `receivedAt`.
   */
  loadState(events: readonly unknown[], ctx: ApplyContext): readonly MemberChange[] {
    const fresh = new RoomCallState(this.roomId, { roomVersion: this.version, encrypted: this.isEncrypted });
    for (const event of events) {
      const room = parseRoomEvent(event, ctx.receivedAt);
      if (room?.kind === "room-create") fresh.applyRoomEvent(room, "resync");
    }
    for (const event of events) {
      if (parseRoomEvent(event, ctx.receivedAt)?.kind !== "room-create") fresh.apply(event, ctx);
    }
    keepPrevious(this.slots, fresh.slots);
    // Encrypted sightings are not room state: they carry over.
    for (const s of this.unread?.encrypted.all() ?? []) fresh.encryptedSightings.restore(s);
    const changes = diffEffective(this, fresh, ctx.receivedAt);
    this.slots = fresh.slots;
    this.tombstones = fresh.tombstones;
    this.membership = fresh.membership;
    this.version = fresh.version;
    this.isEncrypted = fresh.isEncrypted;
    this.stickyFloor = fresh.stickyFloor;
    this.oldest = null;
    this.unread = fresh.unread;
    return changes;
  }
}
