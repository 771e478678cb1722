// Format C: per-device `org.matrix.msc3401.call.member` state (js-sdk 34+), one device per `_@user:hs_DEVICE…` key.
import { slotIdFor } from "../keys";
import { makeMember, sourceOf } from "./envelope";
import {
  addMs,
  extraOf,
  readFocusActive,
  readId,
  shareCommon,
  readOptionalDuration,
  readOptionalId,
  readOptionalTs,
  readTransports,
  type JsonRecord,
} from "./read";
import { invalid, slotResult, type ParseResult, type SlotRef } from "./result";

/** js-sdk's DEFAULT_EXPIRE_DURATION: a format C membership without `expires` lasts 4 h from its creation. */
export const SESSION_DEFAULT_EXPIRES_MS = 14_400_000;

const KNOWN: ReadonlySet<string> = new Set([
  "application",
  "call_id",
  "device_id",
  "scope",
  "created_ts",
  "expires",
  "focus_active",
  "foci_preferred",
  "membershipID",
  "m.call.intent",
]);

/**
 * One device's membership. The device id comes from `content.device_id`, never from the key (device ids
 * may contain `_`). js-sdk writes `created_ts` only on updates, carrying the first join's timestamp, so the
 * creation instant identifies the join: a different one (a rejoin "from scratch") is a new session. The
 * session id is therefore null and `sameSession` compares `createdTs` for this format.
 * Expiry: `(created_ts ?? origin_server_ts) + (expires ?? 4 h)`.
 */
export function parseSession(slot: SlotRef, content: JsonRecord): ParseResult {
  const reasons: string[] = [];
  const application = readId(content.application, "content.application", reasons);
  const callId = readId(content.call_id, "content.call_id", reasons, true);
  const deviceId = readId(content.device_id, "content.device_id", reasons);
  const focusActive = readFocusActive(content.focus_active, "content.focus_active", reasons);
  const transports = readTransports(content.foci_preferred, "content.foci_preferred", reasons);
  const created = readOptionalTs(content.created_ts, "content.created_ts", reasons);
  const expires = readOptionalDuration(content.expires, "content.expires", reasons);
  const memberId = readOptionalId(content.membershipID, "content.membershipID", reasons);
  if (content.scope !== undefined && typeof content.scope !== "string")
    reasons.push("content.scope: not a string");
  const intent = content["m.call.intent"];
  if (intent !== undefined && typeof intent !== "string") reasons.push("content.m.call.intent: not a string");
  if (application === null || callId === null || deviceId === null || reasons.length > 0) {
    return invalid(slot, reasons);
  }
  const createdTs = created ?? slot.originServerTs;
  const member = makeMember(slot, sourceOf(slot, "session"), {
    userId: slot.sender,
    deviceId,
    application: shareCommon(application),
    callId,
    slotId: slotIdFor(application, callId),
    memberId,
    sessionId: null,
    focusActive,
    transports,
    createdTs,
    expiresAt: addMs(createdTs, expires ?? SESSION_DEFAULT_EXPIRES_MS),
    extra: extraOf(content, KNOWN),
  });
  return slotResult(slot, [member]);
}
