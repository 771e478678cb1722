// Device-level changes to a room's effective call: joined, updated (refresh), left with a cause.
import type { EpochMs } from "../time";
import type { RtcMember, Transport } from "./model";

/**
 * Why a member left the effective call:
 * - `left`: its slot no longer holds it (an explicit leave, `{}`, or a device dropped from an MSC3401 array);
 * - `replaced`: the same device announced a new session (`session_id`, js-sdk `created_ts`, MSC4143
 *   `member.id`): leave + join;
 * - `left_room`: the user's `m.room.member` stopped being `join` (MSC3401/MSC4143 then ignore the membership,
 *   which stays in room state as a ghost to clear);
 * - `invalid`: its slot was overwritten by content that is not a valid membership;
 * - `expired`: an MSC4354 sticky membership whose stickiness ended (it lapses by protocol).
 */
export type LeaveCause = "left" | "replaced" | "left_room" | "invalid" | "expired";

/**
 * `event`: caused by one event (`at` = its `origin_server_ts`); `resync`: found by a full state load (`at` = the
 * resync's receive instant); `expiry`: a sticky membership lapsed (`at` = when its stickiness ended).
 */
export type ChangeOrigin = "event" | "resync" | "expiry";

/**
 * One change to the set of members effectively in a room's calls (joined users only). Session tracking
 * (MSC4143 "historic sessions") and the reconciler's reactions are driven by these.
 */
export type MemberChange =
  | {
      readonly kind: "joined";
      readonly member: RtcMember;
      readonly at: EpochMs;
      readonly origin: ChangeOrigin;
      /** The event that caused it; null for resyncs and expiry. */
      readonly eventId: string | null;
    }
  | {
      readonly kind: "updated";
      readonly member: RtcMember;
      readonly previous: RtcMember;
      readonly at: EpochMs;
      readonly origin: ChangeOrigin;
      readonly eventId: string | null;
    }
  | {
      readonly kind: "left";
      readonly member: RtcMember;
      readonly at: EpochMs;
      readonly cause: LeaveCause;
      readonly origin: ChangeOrigin;
      readonly eventId: string | null;
      /** MSC4143 `leave_reason.code` of an explicit leave (`leave`, `delayed_leave`, `slot_closed`), if given. */
      readonly leaveCode: string | null;
    };

export function joined(
  member: RtcMember,
  at: EpochMs,
  origin: ChangeOrigin,
  eventId: string | null,
): MemberChange {
  return { kind: "joined", member, at, origin, eventId };
}

export function updated(
  member: RtcMember,
  previous: RtcMember,
  at: EpochMs,
  origin: ChangeOrigin,
  eventId: string | null,
): MemberChange {
  return { kind: "updated", member, previous, at, origin, eventId };
}

export function left(
  member: RtcMember,
  at: EpochMs,
  cause: LeaveCause,
  origin: ChangeOrigin,
  eventId: string | null,
  leaveCode: string | null = null,
): MemberChange {
  return { kind: "left", member, at, cause, origin, eventId, leaveCode };
}

/**
 * The member a refresh keeps: same session, never a later creation instant than before (formats without
 * `created_ts` — A, D, E, S — restamp every refresh with its own `origin_server_ts`; the session began
 * earlier), and the previous member's strings wherever they are equal, so that the copies a new event brought
 * die young instead of being kept (a large deployment refreshes hundreds of thousands of members an hour).
 */
export function carryOver(
  previous: RtcMember,
  next: RtcMember,
  source: RtcMember["source"] = next.source,
): RtcMember {
  // Equal by construction (same key: same room, slot, device, application and call; the user is the slot's
  // owner): the previous strings are reused without comparing them (comparing would touch cold memory).
  return {
    key: previous.key,
    slotKey: previous.slotKey,
    roomId: previous.roomId,
    userId: previous.userId,
    deviceId: previous.deviceId,
    application: previous.application,
    callId: previous.callId,
    // One string kept per field when the refresh repeats it, not two.
    slotId: same(previous.slotId, next.slotId),
    memberId: same(previous.memberId, next.memberId),
    sessionId: same(previous.sessionId, next.sessionId),
    focusActive: next.focusActive,
    transports: sameTransports(previous.transports, next.transports) ? previous.transports : next.transports,
    createdTs: Math.min(previous.createdTs, next.createdTs),
    expiresAt: next.expiresAt,
    source,
  };
}

/** `previous` when equal to `next` (sharing one string instead of keeping two copies), else `next`. */
export function same<T extends string | null>(previous: T, next: T): T {
  return previous === next ? previous : next;
}

/** Whether two transport lists hold the same transports in the same order (transports are interned by the parser). */
function sameTransports(a: readonly Transport[], b: readonly Transport[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether two members with the same key belong to the same session (a refresh) rather than a new join: equal
 * session ids (`session_id`, `membershipID`, `member.id`), and for format C an equal creation instant, since
 * js-sdk's updates carry the first join's `created_ts` and a rejoin from scratch has none. Seed MSC4143 state
 * keys need not name a user, so there the user must match too.
 */
export function sameSession(a: RtcMember, b: RtcMember): boolean {
  if (a.sessionId !== b.sessionId) return false;
  switch (a.source.format) {
    case "session":
      return a.createdTs === b.createdTs;
    case "rtc-state":
      return a.userId === b.userId;
    default:
      return true;
  }
}
