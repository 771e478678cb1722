// The order behind MSC4143 `oldest_membership` focus selection: who is the oldest member of a call.
import type { MembershipFormat, RtcMember } from "./model";

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
  return (
    (other.createdTs < oldest.createdTs ||
      (other.createdTs === oldest.createdTs && other.key < oldest.key)) &&
    other.application === member.application &&
    other.callId === member.callId &&
    other.roomId === member.roomId &&
    formats.has(other.source.format)
  );
}
