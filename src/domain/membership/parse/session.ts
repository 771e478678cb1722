// Format C: per-device `org.matrix.msc3401.call.member` state (js-sdk 34+), one device per `_@user:hs_DEVICE…` key.
import { slotIdFor } from "../keys";
import { makeMember, sourceOf } from "./envelope";
import { entryPaths, readDeviceEntry } from "./device-entry";
import { addMs, readFocusActive, readTransports, shareCommon, type JsonRecord } from "./read";
import { invalid, slotResult, type ParseResult, type SlotRef } from "./result";

/** js-sdk's DEFAULT_EXPIRE_DURATION: a format C membership without `expires` lasts 4 h from its creation. */
export const SESSION_DEFAULT_EXPIRES_MS = 14_400_000;

/**
 * One device's membership. The device id comes from `content.device_id`, never from the key (device ids
 * may contain `_`). js-sdk writes `created_ts` only on updates, carrying the first join's timestamp, so the
 * creation instant identifies the join: a different one (a rejoin "from scratch") is a new session. The
 * session id is therefore null and `sameSession` compares `createdTs` for this format.
 * Expiry: `(created_ts ?? origin_server_ts) + (expires ?? 4 h)`.
 */
const CONTENT = entryPaths("content");

export function parseSession(slot: SlotRef, content: JsonRecord): ParseResult {
  const reasons: string[] = [];
  const entry = readDeviceEntry(content, CONTENT, reasons);
  const focusActive = readFocusActive(content.focus_active, "content.focus_active", reasons);
  const transports = readTransports(content.foci_preferred, "content.foci_preferred", reasons);
  const intent = content["m.call.intent"];
  if (intent !== undefined && typeof intent !== "string") reasons.push("content.m.call.intent: not a string");
  if (entry === null || reasons.length > 0) return invalid(slot, reasons);
  const createdTs = entry.createdTs ?? slot.originServerTs;
  const member = makeMember(slot, sourceOf(slot, "session"), {
    userId: slot.sender,
    deviceId: entry.deviceId,
    application: shareCommon(entry.application),
    callId: entry.callId,
    slotId: slotIdFor(entry.application, entry.callId),
    memberId: entry.memberId,
    sessionId: null,
    focusActive,
    transports,
    createdTs,
    expiresAt: addMs(createdTs, entry.expires ?? SESSION_DEFAULT_EXPIRES_MS),
  });
  return slotResult(slot, [member]);
}
