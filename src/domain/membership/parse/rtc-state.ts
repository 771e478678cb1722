// Format S: the seed MSC4143 `m.rtc.member` / `org.matrix.msc4143.rtc.member` *state* event (no expiry field).
import { slotIdFor } from "../keys";
import { makeMember, sourceOf } from "./envelope";
import {
  readFocusActive,
  readId,
  shareCommon,
  readOptionalTs,
  readTransports,
  type JsonRecord,
} from "./read";
import { invalid, slotResult, type ParseResult, type SlotRef } from "./result";

/** The seed's structured key `["@user:hs", "DEVICE"]`, if the key is that JSON array. */
export function arrayKeyParts(stateKey: string): readonly [string, string] | null {
  if (!stateKey.startsWith("[") || !stateKey.endsWith("]")) return null;
  try {
    const parsed: unknown = JSON.parse(stateKey);
    if (!Array.isArray(parsed) || parsed.length !== 2) return null;
    const [user, device] = parsed as unknown[];
    return typeof user === "string" && typeof device === "string" ? [user, device] : null;
  } catch {
    return null;
  }
}

function firstDefined(content: JsonRecord, a: string, b: string): [unknown, string] {
  return content[a] !== undefined ? [content[a], `content.${a}`] : [content[b], `content.${b}`];
}

/**
 * One device's membership. Seed drafts spelled the fields `m.application`/`m.call_id` and later
 * `application`/`call_id`: both are read. The device comes from the content, else from a JSON-array key
 * (there it is explicit, not parsed out of a string). The format has no expiry: `expiresAt` is null and
 * only SFU truth, room membership or the configured maximum age can end it.
 */
export function parseRtcState(slot: SlotRef, content: JsonRecord): ParseResult {
  const reasons: string[] = [];
  const [appValue, appPath] = firstDefined(content, "m.application", "application");
  const application = readId(appValue, appPath, reasons);
  const [callValue, callPath] = firstDefined(content, "m.call_id", "call_id");
  const callId = callValue === undefined ? "" : readId(callValue, callPath, reasons, true);
  const [deviceValue, devicePath] = firstDefined(content, "device_id", "m.device_id");
  const keyParts = slot.stateKey === null ? null : arrayKeyParts(slot.stateKey);
  const deviceId =
    deviceValue === undefined && keyParts !== null ? keyParts[1] : readId(deviceValue, devicePath, reasons);
  const focusActive =
    content.focus_active === undefined
      ? null
      : readFocusActive(content.focus_active, "content.focus_active", reasons);
  const transports = readTransports(content.foci_preferred, "content.foci_preferred", reasons);
  const created = readOptionalTs(content.created_ts, "content.created_ts", reasons);
  if (keyParts !== null && keyParts[0] !== slot.sender) {
    reasons.push("state_key: owned by another user than the sender");
  }
  if (application === null || callId === null || deviceId === null || deviceId === "" || reasons.length > 0) {
    if (deviceId === "") reasons.push("state_key: empty device");
    return invalid(slot, reasons);
  }
  const createdTs = created ?? slot.originServerTs;
  const member = makeMember(slot, sourceOf(slot, "rtc-state"), {
    userId: slot.sender,
    deviceId,
    application: shareCommon(application),
    callId,
    slotId: slotIdFor(application, callId),
    memberId: null,
    sessionId: created === null ? null : `created:${created}`,
    focusActive,
    transports,
    createdTs,
    expiresAt: null,
  });
  return slotResult(slot, [member]);
}
