// The difference a full resync makes to a room's effective call: what joined, changed, was replaced or left.
import type { EpochMs } from "../time";
import { carryOver, joined, left, sameSession, updated, type MemberChange } from "./changes";
import type { RtcMember } from "./model";
import { findInSlot, type LiveSlot } from "./slots";

/**
 * Makes the slots a resync read (`fresh`) reuse what the state already had (`previous`): a slot whose event is
 * unchanged keeps its previous record (the live view callers may hold), and members continuing their session
 * keep their previous strings.
 */
export function keepPrevious(previous: ReadonlyMap<string, LiveSlot>, fresh: Map<string, LiveSlot>): void {
  // Setting an existing key while iterating a Map is safe: the entry keeps its place and is not visited again.
  for (const slot of fresh.values()) {
    const prev = previous.get(slot.ref.key);
    if (prev !== undefined && prev.ref.eventId === slot.ref.eventId) {
      fresh.set(slot.ref.key, prev);
      continue;
    }
    slot.members = slot.members.map((m) => {
      const old = prev === undefined ? undefined : findInSlot(prev.members, m);
      return old !== undefined && sameSession(old, m) ? carryOver(old, m) : m;
    });
  }
}

/** The part of room call state a resync diff reads. */
export interface EffectiveCall {
  members(): RtcMember[];
  member(key: string): RtcMember | undefined;
  isJoined(userId: string): boolean | "unknown";
}

/**
 * The changes from `before` to `after` (a resync of the same room), counting only effective members (users
 * joined or of unknown membership): lefts for members gone (`left_room` when only the room membership ended),
 * replacements for new sessions, updates for new events of the same session, joins for new members. All carry
 * `at` (the resync's receive instant) and origin `resync`.
 */
export function diffEffective(before: EffectiveCall, after: EffectiveCall, at: EpochMs): MemberChange[] {
  const changes: MemberChange[] = [];
  for (const old of before.members()) {
    const next = after.member(old.key);
    if (next === undefined) changes.push(left(old, at, "left", "resync", null));
    else if (after.isJoined(next.userId) === false) changes.push(left(old, at, "left_room", "resync", null));
    else if (!sameSession(old, next)) {
      changes.push(left(old, at, "replaced", "resync", null), joined(next, at, "resync", null));
    } else if (next.source.eventId !== old.source.eventId) {
      changes.push(updated(next, old, at, "resync", null));
    }
  }
  for (const next of after.members()) {
    const old = before.member(next.key);
    if (old === undefined || before.isJoined(old.userId) === false)
      changes.push(joined(next, at, "resync", null));
  }
  return changes;
}
