// Format D: sticky `org.matrix.msc4143.rtc.member` as matrix-js-sdk 43 sends it (`member`, `slot_id`, `transports`).
import type { EpochMs } from "../../time";
import { callIdForSlotSuffix } from "../keys";
import type { Transport } from "../model";
import { isUserId, makeMember, sourceOf } from "./envelope";
import {
  checkStringList,
  isRecord,
  NO_TRANSPORTS,
  readId,
  shareCommon,
  readTransports,
  type JsonRecord,
} from "./read";
import { invalid, slotResult, type ParseResult, type SlotRef } from "./result";

/** `application.type`: an object whose `type` is an id without `#` (it prefixes the slot id). */
export function readApplication(value: unknown, reasons: string[]): string | null {
  if (!isRecord(value)) {
    reasons.push(value === undefined ? "content.application: missing" : "content.application: not an object");
    return null;
  }
  const type = readId(value.type, "content.application.type", reasons);
  if (type !== null && type.includes("#")) {
    reasons.push("content.application.type: contains #");
    return null;
  }
  return type === null ? null : shareCommon(type);
}

/** A slot id as sent and the call id it names (`m.call#ROOM` → `""`). */
export interface SlotIdParts {
  readonly slotId: string;
  readonly callId: string;
}

/** `slot_id` = `<application>#<id>` with exactly one `#`, starting with the application type. */
export function readSlotId(
  value: unknown,
  application: string | null,
  reasons: string[],
): SlotIdParts | null {
  const slotId = readId(value, "content.slot_id", reasons);
  if (slotId === null) return null;
  const hash = slotId.indexOf("#");
  if (hash < 0 || slotId.indexOf("#", hash + 1) >= 0) {
    reasons.push("content.slot_id: not <application>#<id>");
    return null;
  }
  if (application === null) return null;
  if (slotId.slice(0, hash) !== application) {
    reasons.push("content.slot_id: does not start with the application type");
    return null;
  }
  return { slotId, callId: callIdForSlotSuffix(application, slotId.slice(hash + 1)) };
}

/** `transports.published` (js-sdk 43; `can_subscribe` checked when present) or older drafts' `rtc_transports`. */
export function readPublished(
  content: JsonRecord,
  required: boolean,
  reasons: string[],
): readonly Transport[] {
  const transports = content.transports;
  if (isRecord(transports)) {
    if (transports.can_subscribe !== undefined) {
      checkStringList(transports.can_subscribe, "content.transports.can_subscribe", reasons);
    }
    if (transports.published === undefined && !required) return NO_TRANSPORTS;
    if (!Array.isArray(transports.published)) {
      reasons.push("content.transports.published: not an array");
      return NO_TRANSPORTS;
    }
    const published = readTransports(transports.published, "content.transports.published", reasons);
    // A client that reads `rtc_transports` instead would go where they say: they are transports it names too.
    if (!Array.isArray(content.rtc_transports)) return published;
    return [...published, ...readTransports(content.rtc_transports, "content.rtc_transports", [])];
  }
  if (transports !== undefined) {
    reasons.push("content.transports: not an object");
    return NO_TRANSPORTS;
  }
  if (content.rtc_transports !== undefined) {
    return readTransports(content.rtc_transports, "content.rtc_transports", reasons);
  }
  if (required) reasons.push("content.transports: missing");
  return NO_TRANSPORTS;
}

/**
 * A js-sdk 43 sticky join: `member.user_id` must be the sender (as js-sdk checks), the device comes from
 * `member.device_id`, and `member.id` is both the member id (LiveKit identity input) and the session id.
 * It expires when its stickiness ends (`expiresAt`, computed from the envelope).
 */
export function parseStickyJoin(slot: SlotRef, content: JsonRecord, expiresAt: EpochMs | null): ParseResult {
  const reasons: string[] = [];
  const member = content.member;
  let deviceId: string | null = null;
  let memberId: string | null = null;
  if (!isRecord(member)) {
    reasons.push("content.member: not an object");
  } else {
    if (!isUserId(member.user_id)) reasons.push("content.member.user_id: not a user id");
    else if (member.user_id !== slot.sender) reasons.push("content.member.user_id: not the sender");
    deviceId = readId(member.device_id, "content.member.device_id", reasons);
    memberId = readId(member.id, "content.member.id", reasons);
  }
  const application = readApplication(content.application, reasons);
  const slotParts = readSlotId(content.slot_id, application, reasons);
  const transports = readPublished(content, true, reasons);
  if (content.versions !== undefined) checkStringList(content.versions, "content.versions", reasons);
  return rtcJoin(slot, "sticky", reasons, {
    deviceId,
    memberId,
    application,
    slotParts,
    transports,
    expiresAt,
  });
}

/** What an MSC4143 member event (sticky or the latest state form) says; null where a field could not be read. */
export interface RtcJoinFields {
  readonly deviceId: string | null;
  readonly memberId: string | null;
  readonly application: string | null;
  readonly slotParts: SlotIdParts | null;
  readonly transports: readonly Transport[];
  readonly expiresAt: EpochMs | null;
}

/**
 * The one member an MSC4143 member event describes (its member id doubles as the session id), or the event
 * as invalid when any reason was found or any field is missing.
 */
export function rtcJoin(
  slot: SlotRef,
  format: "sticky" | "rtc-latest",
  reasons: readonly string[],
  f: RtcJoinFields,
): ParseResult {
  const { deviceId, memberId, application, slotParts, expiresAt } = f;
  if (
    reasons.length > 0 ||
    deviceId === null ||
    memberId === null ||
    application === null ||
    slotParts === null ||
    expiresAt === null
  ) {
    return invalid(slot, reasons);
  }
  const joined = makeMember(slot, sourceOf(slot, format), {
    userId: slot.sender,
    deviceId,
    application,
    callId: slotParts.callId,
    slotId: slotParts.slotId,
    memberId,
    sessionId: memberId,
    focusActive: null,
    transports: f.transports,
    createdTs: slot.originServerTs,
    expiresAt,
  });
  return slotResult(slot, [joined]);
}
