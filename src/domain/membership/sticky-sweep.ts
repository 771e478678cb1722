// The MSC4354 sweep of one room's sticky slots: lapsed memberships leave, tombstones past their stickiness go.
import type { EpochMs } from "../time";
import { left, type MemberChange } from "./changes";
import type { EffectiveUsers } from "./slot-diff";
import { stickyEnd, type LiveSlot, type SlotMark } from "./slots";

/** What a sweep did: the lefts of counted users, and the earliest end of what stays sticky (∞ for none). */
export interface SweepOutcome {
  readonly changes: MemberChange[];
  readonly floor: EpochMs;
}

/**
 * Removes from `slots` the sticky slots whose stickiness ended at `now` (their counted members leave as
 * `expired`, at that end) and from `tombstones` the marks that a late, older event can no longer overtake.
 */
export function sweepSticky(
  slots: Map<string, LiveSlot>,
  tombstones: Map<string, SlotMark> | null,
  now: EpochMs,
  users: EffectiveUsers,
): SweepOutcome {
  const changes: MemberChange[] = [];
  let floor = Number.POSITIVE_INFINITY;
  for (const slot of [...slots.values()]) {
    if (slot.ref.stickyKey === null) continue;
    const end = stickyEnd(slot.ref);
    if (end > now) {
      floor = Math.min(floor, end);
      continue;
    }
    for (const member of slot.members) {
      if (users.inCall(member.userId)) changes.push(left(member, end, "expired", "expiry", null));
    }
    slots.delete(slot.ref.key);
  }
  if (tombstones !== null) {
    for (const mark of [...tombstones.values()]) {
      const end = stickyEnd(mark);
      if (end <= now) tombstones.delete(mark.key);
      else floor = Math.min(floor, end);
    }
  }
  return { changes, floor };
}
