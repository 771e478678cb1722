// Format E: the latest MSC4143 text, sticky `m.rtc.member` with `member.membership` = join / leave.
import type { EpochMs } from "../../time";
import { isUserId } from "./envelope";
import { isRecord, MAX_ID_LENGTH, readId, type JsonRecord } from "./read";
import { invalid, NO_MEMBERS, slotResult, type ParseResult, type SlotRef } from "./result";
import { readApplication, readPublished, readSlotId, rtcJoin } from "./sticky";

/** `leave_reason.code` of an explicit leave (`leave`, `delayed_leave`, `slot_closed`, …), when well formed. */
function readLeaveCode(value: unknown, reasons: string[]): string | null {
  if (value === undefined) return null;
  if (!isRecord(value)) {
    reasons.push("content.leave_reason: not an object");
    return null;
  }
  return readId(value.code, "content.leave_reason.code", reasons);
}

/**
 * A latest-MSC4143 membership. `member.id` must equal the sticky key; the user is the sender (a
 * `member.user_id`, if sent, must match). The text carries no device id (it cannot be trusted in unencrypted
 * rooms): `member.device_id` is used when a client adds it, else the device is `""`. A leave yields an empty
 * slot and its `leave_reason.code`.
 */
export function parseRtcLatest(
  slot: SlotRef,
  content: JsonRecord,
  member: JsonRecord,
  expiresAt: EpochMs | null,
): ParseResult {
  const reasons: string[] = [];
  const memberId = readId(member.id, "content.member.id", reasons);
  if (memberId !== null && memberId !== slot.stickyKey)
    reasons.push("content.member.id: differs from the sticky key");
  if (member.user_id !== undefined) {
    if (!isUserId(member.user_id)) reasons.push("content.member.user_id: not a user id");
    else if (member.user_id !== slot.sender) reasons.push("content.member.user_id: not the sender");
  }
  const rawDevice = member.device_id;
  let deviceId = "";
  if (typeof rawDevice === "string" && rawDevice.length <= MAX_ID_LENGTH) deviceId = rawDevice;
  else if (rawDevice !== undefined) reasons.push("content.member.device_id: not a string");
  const membership = member.membership;
  if (membership === "leave") {
    readSlotId(content.slot_id, null, reasons);
    const code = readLeaveCode(content.leave_reason, reasons);
    return reasons.length > 0 ? invalid(slot, reasons) : slotResult(slot, NO_MEMBERS, undefined, code);
  }
  if (membership !== "join") reasons.push("content.member.membership: not join or leave");
  const application = readApplication(content.application, reasons);
  const slotParts = readSlotId(content.slot_id, application, reasons);
  const transports = readPublished(content, false, reasons);
  return rtcJoin(slot, "rtc-latest", reasons, {
    deviceId,
    memberId,
    application,
    slotParts,
    transports,
    expiresAt,
  });
}
