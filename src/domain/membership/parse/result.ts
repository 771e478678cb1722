// What parsing one event yields: the slot it writes and the complete set of members that slot now holds.
import type { DurationMs, EpochMs } from "../../time";
import type { MemberSource, MembershipFormat, RtcMember } from "../model";

/** What the parser needs besides the event: our receive instant (MSC4354 stickiness) and the room version (MSC3757). */
export interface ParseContext {
  readonly receivedAt: EpochMs;
  readonly roomVersion: string | null;
  /** The room the caller expects: an equal `room_id` then shares this string (saves memory per member). */
  readonly roomId?: string;
}

/**
 * The writable unit an event replaces: a state (type, state_key) pair, or an MSC4354 sticky map entry
 * (sender, type, sticky key). Every call membership format writes whole slots, so an event's members are
 * the complete content of its slot and anything the slot held before is gone. It carries every
 * `MemberSource` field too, so the members an event yields share it as their `source` (one object per event).
 */
export interface SlotRef {
  /** `state\0type\0stateKey` or `sticky\0type\0sender\0stickyKey`. */
  readonly key: string;
  readonly roomId: string;
  readonly type: string;
  readonly stateKey: string | null;
  readonly stickyKey: string | null;
  readonly sender: string;
  /** The user that owns the key: the user id a state key starts with (`@`/`_@`), the sender for sticky keys. */
  readonly owner: string | null;
  /** Null when the content does not tell (an empty `{}` on a `@user:hs` key may be format A or B). */
  readonly format: MembershipFormat | null;
  readonly eventId: string;
  /** `origin_server_ts`; our receive instant when the event's own value is unusable. */
  readonly originServerTs: EpochMs;
  /** MSC4354 sticky duration as sent (or the remaining TTL when only that is known); null for state. */
  readonly stickyDurationMs: DurationMs | null;
  /** The room version the event was parsed under. */
  readonly roomVersion: string | null;
  /** When this service received the event. */
  readonly receivedAt: EpochMs;
}

/** A slot reference whose format is known: it is also the `source` of the members it holds. */
export type SlotSource = SlotRef & MemberSource;

/** Whether the slot's format is known, so that it can serve as its members' source. */
export function isSlotSource(slot: SlotRef): slot is SlotSource {
  return slot.format !== null;
}

/**
 * The outcome of parsing one event (MSC3401, MSC4143, MSC4354 formats):
 * - `not-membership`: another event type;
 * - `slot`: a valid event; `members` is everything the slot now holds (empty = leave). `problems` lists
 *   entries of an MSC3401/legacy array that were malformed and skipped (the rest of the array still counts),
 *   and `leaveCode` is MSC4143's `leave_reason.code` of an explicit leave (e.g. `delayed_leave`);
 * - `invalid`: every reason found. With a `slot`, the event still replaced that slot (state content is gone
 *   whatever it was), so the slot now holds nobody; without one, the event could not be tied to a slot;
 * - `unreadable`: an encrypted sticky event (`m.room.encrypted`): possibly a membership we cannot read.
 */
export type ParseResult =
  | { readonly kind: "not-membership" }
  | {
      readonly kind: "slot";
      readonly slot: SlotRef;
      readonly members: readonly RtcMember[];
      readonly problems: readonly string[];
      readonly leaveCode: string | null;
    }
  | { readonly kind: "invalid"; readonly slot: SlotRef | null; readonly reasons: readonly string[] }
  | {
      readonly kind: "unreadable";
      readonly reason: "encrypted";
      readonly roomId: string;
      readonly sender: string;
      readonly eventId: string;
    };

export const NOT_MEMBERSHIP: ParseResult = Object.freeze({ kind: "not-membership" });
export const NO_MEMBERS: readonly RtcMember[] = Object.freeze([]);
export const NO_PROBLEMS: readonly string[] = Object.freeze([]);

/** Adds a member unless the event already named its device: a repeat is a problem, not a second member. */
export function addUnlessRepeated(
  members: RtcMember[],
  seen: Set<string>,
  member: RtcMember,
  problems: string[],
  path: string,
): void {
  if (seen.has(member.key)) {
    problems.push(`${path}: duplicate device`);
    return;
  }
  seen.add(member.key);
  members.push(member);
}

export function invalid(slot: SlotRef | null, reasons: readonly string[]): ParseResult {
  return { kind: "invalid", slot, reasons };
}

export function slotResult(
  slot: SlotRef,
  members: readonly RtcMember[],
  problems: readonly string[] = NO_PROBLEMS,
  leaveCode: string | null = null,
): ParseResult {
  return { kind: "slot", slot, members, problems, leaveCode };
}
