// Which of a user's pending delayed events (MSC4140) is the leave of one membership: only those may be fired or cancelled.
import { isPerDeviceFormat } from "../../domain/clearing/leave-content";
import type { RtcMember } from "../../domain/membership/model";
import type { DelayedEvent } from "../ports/matrix";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isEmptyList = (value: unknown): boolean => Array.isArray(value) && value.length === 0;

/** `{}`, `{"memberships": []}` or `{"m.calls": []}`: content that leaves a shared `@user` key with no entry. */
function emptiesSharedKey(content: Readonly<Record<string, unknown>>): boolean {
  const keys = Object.keys(content);
  if (keys.length === 0) return true;
  if (keys.length !== 1) return false;
  return (
    (keys[0] === "memberships" && isEmptyList(content.memberships)) ||
    (keys[0] === "m.calls" && isEmptyList(content["m.calls"]))
  );
}

/** The sticky key the content names (`sticky_key`, or MSC4354's unstable `msc4354_sticky_key`); null when unclear. */
function stickyKeyOf(content: Readonly<Record<string, unknown>>): string | null {
  const stable = content.sticky_key;
  const unstable = content.msc4354_sticky_key;
  if (stable !== undefined && unstable !== undefined && stable !== unstable) return null;
  const key = stable ?? unstable;
  return typeof key === "string" ? key : null;
}

/** js-sdk 43's sticky leave carries no `member`; the latest MSC4143 text's has `member.membership: "leave"`. */
function isStickyLeave(content: Readonly<Record<string, unknown>>, m: RtcMember): boolean {
  if (content.slot_id !== undefined && content.slot_id !== m.slotId) return false;
  const member = content.member;
  if (member === undefined) return true;
  return (
    isRecord(member) &&
    member.membership === "leave" &&
    (member.id === undefined || member.id === m.source.stickyKey)
  );
}

/**
 * True when firing `d` would end exactly this membership and nothing else: same room, type and key, and content
 * that is a leave in the member's format. A pending event that would write a join (a client may schedule
 * other updates) is not ours to send. On a shared `@user` key an emptying leave would also end the user's other
 * devices, so it counts only when this member is the key's last entry (`othersInSlot` 0).
 */
export function isLeaveOf(d: DelayedEvent, m: RtcMember, othersInSlot: number): boolean {
  if (d.roomId !== m.roomId || d.type !== m.source.type) return false;
  const stateKey = m.source.stateKey;
  if (stateKey !== null) {
    if (d.stateKey !== stateKey) return false;
    if (isPerDeviceFormat(m.source.format)) return Object.keys(d.content).length === 0;
    return othersInSlot === 0 && emptiesSharedKey(d.content);
  }
  if (d.stateKey !== null || m.source.stickyKey === null) return false;
  return stickyKeyOf(d.content) === m.source.stickyKey && isStickyLeave(d.content, m);
}
