// Remembers the oldest effective member of the calls a room was last asked about, kept right by its changes.
import type { MemberChange } from "./changes";
import type { MembershipFormat, RtcMember } from "./model";
import { inCallOf, olderThan } from "./oldest";
import type { EffectiveUsers } from "./slot-diff";

/**
 * One remembered answer of `RoomCallState.oldestInCall`, in a short list (a room seldom has more than one call,
 * asked about with at most two format sets). A list of plain nodes hanging off the room, and the oldest's
 * `createdTs` copied in, keep following a change to one or two memory reads: rooms are mostly cold.
 */
export interface OldestAnswer {
  readonly formats: ReadonlySet<MembershipFormat>;
  readonly application: string;
  readonly callId: string;
  /** The oldest effective member of that call with one of `formats`; null when the call has none. */
  oldest: RtcMember | null;
  /** `oldest.createdTs` (+Infinity without one), read without touching the member. */
  oldestTs: number;
  next: OldestAnswer | null;
}

const MAX_ANSWERS = 4;

function inAnswer(answer: OldestAnswer, member: RtcMember): boolean {
  return (
    member.application === answer.application &&
    member.callId === answer.callId &&
    answer.formats.has(member.source.format)
  );
}

function setOldest(answer: OldestAnswer, oldest: RtcMember | null): void {
  answer.oldest = oldest;
  answer.oldestTs = oldest === null ? Number.POSITIVE_INFINITY : oldest.createdTs;
}

/** The remembered oldest member of `member`'s call among `formats` (null: none); undefined when not known. */
export function findOldest(
  head: OldestAnswer | null,
  member: RtcMember,
  formats: ReadonlySet<MembershipFormat>,
): RtcMember | null | undefined {
  for (let answer = head; answer !== null; answer = answer.next) {
    if (
      answer.formats === formats &&
      answer.application === member.application &&
      answer.callId === member.callId
    )
      return answer.oldest;
  }
  return undefined;
}

/** The oldest effective member of `member`'s call among `formats` in a room's slots (null: none), by a full scan. */
export function scanOldest(
  slots: Iterable<{ readonly members: readonly RtcMember[] }>,
  member: RtcMember,
  formats: ReadonlySet<MembershipFormat>,
  users: EffectiveUsers,
): RtcMember | null {
  let oldest: RtcMember | null = null;
  for (const slot of slots) {
    for (const other of slot.members) {
      if (
        (oldest === null || olderThan(other, oldest)) &&
        inCallOf(other, member, formats) &&
        users.inCall(other.userId)
      )
        oldest = other;
    }
  }
  return oldest;
}

/** The list with a new answer first (the last of MAX_ANSWERS dropped). */
export function rememberOldest(
  head: OldestAnswer | null,
  member: RtcMember,
  formats: ReadonlySet<MembershipFormat>,
  oldest: RtcMember | null,
): OldestAnswer {
  const answer: OldestAnswer = {
    formats,
    application: member.application,
    callId: member.callId,
    oldest: null,
    oldestTs: Number.POSITIVE_INFINITY,
    next: head,
  };
  setOldest(answer, oldest);
  let count = 1;
  for (let at: OldestAnswer | null = answer; at !== null; at = at.next)
    if (count++ === MAX_ANSWERS) at.next = null;
  return answer;
}

/**
 * Updates one answer after one change of the effective call; false when it can no longer tell (the oldest left
 * or got younger). Changes carry the room's own member objects, so the oldest is recognised by identity.
 */
function moved(answer: OldestAnswer, change: MemberChange): boolean {
  const oldest = answer.oldest;
  if (change.kind === "left") return change.member !== oldest;
  const member = change.member;
  if (change.kind === "updated" && change.previous === oldest) {
    if (!inAnswer(answer, member) || member.createdTs > answer.oldestTs) return false;
    setOldest(answer, member);
  } else if (
    member.createdTs <= answer.oldestTs &&
    (oldest === null || olderThan(member, oldest)) &&
    inAnswer(answer, member)
  ) {
    setOldest(answer, member);
  }
  return true;
}

/** The list brought up to date with `changes` of the effective call, without the answers it cannot tell. */
export function followOldest(
  head: OldestAnswer | null,
  changes: readonly MemberChange[],
): OldestAnswer | null {
  let first = head;
  for (const change of changes) {
    let prev: OldestAnswer | null = null;
    for (let answer = first; answer !== null; answer = answer.next) {
      if (moved(answer, change)) prev = answer;
      else if (prev === null) first = answer.next;
      else prev.next = answer.next;
    }
  }
  return first;
}
