// The order behind MSC4143 `oldest_membership` focus selection: who is the oldest member of a call.
import type { MembershipFormat, RtcMember } from "./model";

/** Whether `a` is older than `b`: a smaller `createdTs`, then a smaller key (a stable tie-break). */
export function olderThan(a: RtcMember, b: RtcMember): boolean {
  return a.createdTs < b.createdTs || (a.createdTs === b.createdTs && a.key < b.key);
}

/**
 * Whether `other` belongs to `member`'s call (same room, application and call id), has one of `formats`, and
 * is older than `oldest`: a smaller `createdTs`, then a smaller key (a stable tie-break).
 */
export function olderInCall(
  other: RtcMember,
  oldest: RtcMember,
  member: RtcMember,
  formats: ReadonlySet<MembershipFormat>,
): boolean {
  // The age first: it reads only the member itself, while the format is on its (often colder) source.
  return olderThan(other, oldest) && inCallOf(other, member, formats);
}

/** Whether `other` belongs to `member`'s call (same room, application and call id) and has one of `formats`. */
export function inCallOf(
  other: RtcMember,
  member: RtcMember,
  formats: ReadonlySet<MembershipFormat>,
): boolean {
  return (
    other.application === member.application &&
    other.callId === member.callId &&
    other.roomId === member.roomId &&
    formats.has(other.source.format)
  );
}
