// State call memberships: picks format A, B, C (call.member types) or S (rtc.member with a state key).
import { stateKeyShape, stateSlotKey } from "../keys";
import type { MembershipFormat } from "../model";
import { readEnvelope, slotRefOf } from "./envelope";
import { parseLegacyArray } from "./legacy-array";
import { parseMsc3401 } from "./msc3401";
import { checkOwner, type KeyRule } from "./ownership";
import { isEmptyRecord, type JsonRecord } from "./read";
import { invalid, NO_MEMBERS, slotResult, type ParseContext, type ParseResult, type SlotRef } from "./result";
import { arrayKeyParts, parseRtcState } from "./rtc-state";
import { parseSession } from "./session";

/** Which call.member format a non-empty content is: by its distinguishing key (matrixrtc.md §1). */
function callMemberFormat(content: JsonRecord): MembershipFormat | null {
  if (content["m.calls"] !== undefined) return "msc3401";
  if (content.memberships !== undefined) return "legacy-array";
  if (content.application !== undefined) return "session";
  return null;
}

const RULES: Readonly<Record<MembershipFormat, KeyRule>> = {
  msc3401: "user",
  "legacy-array": "user",
  session: "device",
  "rtc-state": "any",
  sticky: "any",
  "rtc-latest": "any",
};

/** Folds envelope or ownership reasons into a content parse result: the event is then invalid as a whole. */
export function withReasons(
  result: ParseResult,
  slot: SlotRef | null,
  reasons: readonly string[],
): ParseResult {
  if (result.kind === "invalid") return invalid(slot, [...reasons, ...result.reasons]);
  if (result.kind === "slot") return invalid(slot, [...reasons, ...result.problems]);
  return invalid(slot, reasons);
}

function parseContent(format: MembershipFormat, slot: SlotRef, content: JsonRecord): ParseResult {
  switch (format) {
    case "msc3401":
      return parseMsc3401(slot, content);
    case "legacy-array":
      return parseLegacyArray(slot, content);
    case "session":
      return parseSession(slot, content);
    default:
      return parseRtcState(slot, content);
  }
}

/**
 * Parses a state membership. `rtc` selects the seed MSC4143 format (S) for `m.rtc.member` state; otherwise
 * the content decides between A, B and C. Empty content is a leave, whoever sent it. A state event whose
 * content is unusable still replaced its slot, so the result then carries the slot (holding nobody).
 */
export function parseStateMembership(
  event: JsonRecord,
  type: string,
  ctx: ParseContext,
  rtc: boolean,
): ParseResult {
  const reasons: string[] = [];
  const env = readEnvelope(event, type, ctx, reasons);
  if (env.stateKey === null) {
    if (event.state_key === undefined) reasons.push("state_key: missing");
    return invalid(null, reasons);
  }
  const stateKey = env.stateKey;
  const shape = stateKeyShape(stateKey);
  const content = env.content;
  const empty = content === null || isEmptyRecord(content);
  let format: MembershipFormat | null;
  if (rtc) format = "rtc-state";
  else if (empty) format = shape.suffixed ? "session" : null;
  else format = callMemberFormat(content);
  const keyOwner = shape.owner ?? (rtc ? (arrayKeyParts(stateKey)?.[0] ?? null) : null);
  // Share the sender's string when it is the owner (the usual case) rather than keep a slice of the key.
  const owner = keyOwner !== null && keyOwner === env.sender ? env.sender : keyOwner;
  const slot = slotRefOf(env, stateSlotKey(type, stateKey), null, owner, format, null, ctx);
  if (slot === null || content === null) return invalid(slot, reasons);
  if (empty) return reasons.length > 0 ? invalid(slot, reasons) : slotResult(slot, NO_MEMBERS);
  if (format === null) return invalid(slot, [...reasons, "content: not a known call membership format"]);
  checkOwner(RULES[format], shape, stateKey, slot.sender, ctx.roomVersion, reasons);
  const result = parseContent(format, slot, content);
  return reasons.length === 0 ? result : withReasons(result, slot, reasons);
}
