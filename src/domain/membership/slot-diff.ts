// What writing one slot does to the effective call: the members the slot keeps, and the changes they make.
import { carryOver, joined, left, sameSession, updated, type LeaveCause, type MemberChange } from "./changes";
import type { RtcMember } from "./model";
import { isSlotSource, type SlotRef } from "./parse/result";
import { findInSlot } from "./slots";

/** Who counts in a room's effective call: users joined to the room, or whose room membership is unknown. */
export interface EffectiveUsers {
  inCall(userId: string): boolean;
}

/** Whether every incoming member continues its session in the slot: a pure refresh keeps the previous strings. */
export function isRefresh(before: readonly RtcMember[], incoming: readonly RtcMember[]): boolean {
  if (before.length === 0 || incoming.length === 0) return false;
  for (const member of incoming) {
    const old = findInSlot(before, member);
    if (old === undefined || !sameSession(old, member)) return false;
  }
  return true;
}

/**
 * Replaces the slot's members `before` by `incoming`, as the event `ref` wrote them: members gone from the
 * slot leave (`leaveCause`, with MSC4143's `leave_reason.code` when the event gave one), a device with a new session leaves (`replaced`) and joins again, others are updated
 * and keep their previous strings (with `ref` as their source on a pure refresh). Changes are pushed to
 * `changes` for counted users only; returns what the slot now holds.
 */
export function replaceSlotMembers(
  before: readonly RtcMember[],
  incoming: readonly RtcMember[],
  ref: SlotRef,
  refresh: boolean,
  leaveCause: LeaveCause,
  leaveCode: string | null,
  users: EffectiveUsers,
  changes: MemberChange[],
): RtcMember[] {
  const at = ref.originServerTs;
  const eventId = ref.eventId;
  for (const old of before) {
    if (findInSlot(incoming, old) === undefined && users.inCall(old.userId))
      changes.push(left(old, at, leaveCause, "event", eventId, leaveCode));
  }
  const stored: RtcMember[] = new Array<RtcMember>(incoming.length);
  for (let i = 0; i < incoming.length; i++) {
    const member = incoming[i] as RtcMember;
    const old = findInSlot(before, member);
    const counted = users.inCall(member.userId);
    if (old !== undefined && sameSession(old, member)) {
      const kept = refresh && isSlotSource(ref) ? carryOver(old, member, ref) : carryOver(old, member);
      if (counted) changes.push(updated(kept, old, at, "event", eventId));
      stored[i] = kept;
      continue;
    }
    if (counted) {
      if (old !== undefined) changes.push(left(old, at, "replaced", "event", eventId));
      changes.push(joined(member, at, "event", eventId));
    }
    stored[i] = member;
  }
  return stored;
}
