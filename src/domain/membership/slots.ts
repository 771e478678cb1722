// Room call state vocabulary and slot helpers: MSC4354 sticky order and expiry, string reuse, key checks.
import type { EpochMs } from "../time";
import { same, type MemberChange } from "./changes";
import type { RtcMember } from "./model";
import type { ParseResult, SlotRef, SlotSource } from "./parse/result";
import type { RoomEventResult } from "./room-events";
import { MAX_STICKY_DURATION_MS } from "./parse/sticky-envelope";

/** Per-event context: our receive instant, and the room version when the caller knows better than the state. */
export interface ApplyContext {
  readonly receivedAt: EpochMs;
  readonly roomVersion?: string | null;
}

/** What applying one event did: how it parsed, and the changes to the effective call (often none). */
export interface ApplyOutcome {
  readonly parse: ParseResult | RoomEventResult;
  readonly changes: readonly MemberChange[];
}

/** A slot record of a room's state, updated in place on refresh (`RoomCallState.slot()` hands out a live view). */
export interface LiveSlot {
  ref: SlotRef;
  members: readonly RtcMember[];
}

/** What MSC4354 orders sticky events by, and which event wrote the slot: all a slot's order needs. */
export type SlotMark = Pick<SlotRef, "key" | "eventId" | "originServerTs" | "stickyDurationMs">;

/**
 * What one slot holds now. `ref` is the full reference of a live slot; an emptied sticky slot (a tombstone)
 * keeps only its mark, since nothing but a later event's order and the event id is ever asked of it.
 */
export interface SlotState {
  readonly ref: SlotMark;
  readonly members: readonly RtcMember[];
}

/** A slot that holds members, with its full reference (who owns the key, its type, sender, format...). */
export interface HeldSlot extends SlotState {
  readonly ref: SlotRef;
}

/** The mark a room keeps of an emptied sticky slot (a fresh small object: the event's other strings can go). */
export function markOf(ref: SlotRef): SlotMark {
  return {
    key: ref.key,
    eventId: ref.eventId,
    originServerTs: ref.originServerTs,
    stickyDurationMs: ref.stickyDurationMs,
  };
}

/** MSC4354 map order: the later intended expiry (`origin_server_ts + duration`) wins, then the greater event id. */
export function stickyOlder(next: SlotMark, current: SlotMark): boolean {
  const a = next.originServerTs + (next.stickyDurationMs ?? 0);
  const b = current.originServerTs + (current.stickyDurationMs ?? 0);
  return a < b || (a === b && next.eventId < current.eventId);
}

/** When a sticky slot's stickiness ends, by its `origin_server_ts` and (capped) duration. */
export function stickyEnd(ref: SlotMark): EpochMs {
  return ref.originServerTs + Math.min(ref.stickyDurationMs ?? 0, MAX_STICKY_DURATION_MS);
}

/**
 * The new event's slot reference on top of the previous one's strings (same slot: equal key, room, type and
 * keys), so that the new event's own copies die young. Members of a refresh share it as their source. `ref` is
 * the parser's slot reference, whose own fields are exactly a `SlotSource`'s: the spread copies nothing else.
 */
export function rebaseRef(ref: SlotSource, previous: SlotRef): SlotSource {
  return {
    ...ref,
    key: previous.key,
    roomId: previous.roomId,
    type: previous.type,
    stateKey: previous.stateKey,
    stickyKey: previous.stickyKey,
    // Sticky keys include the sender; a state slot may be written by someone else (e.g. a bot clearing it).
    sender: ref.stickyKey !== null ? previous.sender : same(previous.sender, ref.sender),
    owner: previous.owner,
  };
}

/**
 * Whether two members of the same slot have the same member key: within a slot the key only varies by device,
 * application and call id, which are short strings (cheaper to compare than the long keys).
 */
export function sameKeyInSlot(a: RtcMember, b: RtcMember): boolean {
  return a.deviceId === b.deviceId && a.application === b.application && a.callId === b.callId;
}

/** The member of `members` with the same key as `member` (both of one slot), if any. */
export function findInSlot(members: readonly RtcMember[], member: RtcMember): RtcMember | undefined {
  for (const other of members) if (sameKeyInSlot(other, member)) return other;
  return undefined;
}
