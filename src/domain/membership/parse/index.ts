// Entry point: parses any event an appservice receives into the call membership slot it writes, never throwing.
import { stickySlotKey } from "../keys";
import { isUserId, readEnvelope, slotRefOf } from "./envelope";
import { isRecord, MAX_TS, type JsonRecord } from "./read";
import {
  invalid,
  NO_MEMBERS,
  NOT_MEMBERSHIP,
  slotResult,
  type ParseContext,
  type ParseResult,
} from "./result";
import { parseRtcLatest } from "./rtc-latest";
import { parseStateMembership, withReasons } from "./state";
import { parseStickyJoin, readSlotId } from "./sticky";
import { readSticky } from "./sticky-envelope";

export type { ParseContext, ParseResult, SlotRef } from "./result";

/** State types of MSC3401 and its per-device successor (formats A, B, C). */
export const CALL_MEMBER_TYPES: ReadonlySet<string> = new Set([
  "m.call.member",
  "org.matrix.msc3401.call.member",
]);
/** MSC4143 membership types: state in the seed text (S), sticky since (D, E). */
export const RTC_MEMBER_TYPES: ReadonlySet<string> = new Set([
  "m.rtc.member",
  "org.matrix.msc4143.rtc.member",
]);

const EMPTY_CONTENT: JsonRecord = Object.freeze({});

/**
 * The set's own string equal to `type`, if any: members keep it as their source's type rather than the event's
 * copy (a string per member otherwise, as every parsed event brings its own).
 */
function knownType(types: ReadonlySet<string>, type: string): string | undefined {
  for (const known of types) if (known === type) return known;
  return undefined;
}

/** A sticky membership (MSC4354 map entry): D (js-sdk 43), E (latest MSC4143), or D's `{slot_id, sticky key}` leave. */
function parseSticky(event: JsonRecord, type: string, ctx: ParseContext): ParseResult {
  const reasons: string[] = [];
  const env = readEnvelope(event, type, ctx, reasons);
  const content = env.content ?? EMPTY_CONTENT;
  const sticky = readSticky(env, content, ctx, reasons);
  const member = content.member;
  const latest = isRecord(member) && member.membership !== undefined;
  const key =
    sticky.stickyKey === null || sticky.durationMs === null || env.sender === null
      ? null
      : stickySlotKey(type, env.sender, sticky.stickyKey);
  const format = latest ? "rtc-latest" : "sticky";
  const slot = slotRefOf(env, key, sticky.stickyKey, env.sender, format, sticky.durationMs, ctx);
  if (slot === null || env.content === null) return invalid(slot, reasons);
  let result: ParseResult;
  if (member === undefined) {
    if (content.slot_id !== undefined) readSlotId(content.slot_id, null, reasons);
    result = slotResult(slot, NO_MEMBERS);
  } else if (latest) {
    result = parseRtcLatest(slot, content, member, sticky.expiresAt);
  } else {
    result = parseStickyJoin(slot, content, sticky.expiresAt);
  }
  return reasons.length === 0 ? result : withReasons(result, slot, reasons);
}

/** Whether an event is sticky (MSC4354, unstable or stable field names, or the homeserver's time-left marker). */
export function hasStickyMarker(event: JsonRecord): boolean {
  if (event.msc4354_sticky !== undefined || event.sticky !== undefined) return true;
  const unsigned = event.unsigned;
  return (
    isRecord(unsigned) &&
    (unsigned.msc4354_sticky_duration_ttl_ms !== undefined ||
      unsigned.sticky_duration_remaining_ms !== undefined)
  );
}

/** An encrypted sticky event may be a membership (MSC4354 encrypts type and sticky key): report it as unreadable. */
function parseEncrypted(event: JsonRecord): ParseResult {
  const { room_id: roomId, sender, event_id: eventId } = event;
  if (
    !hasStickyMarker(event) ||
    typeof roomId !== "string" ||
    typeof eventId !== "string" ||
    !isUserId(sender)
  ) {
    return NOT_MEMBERSHIP;
  }
  return { kind: "unreadable", reason: "encrypted", roomId, sender, eventId };
}

function parse(event: unknown, ctx: ParseContext): ParseResult {
  if (!isRecord(event)) return invalid(null, ["event: not an object"]);
  const type = event.type;
  if (typeof type !== "string")
    return invalid(null, [type === undefined ? "type: missing" : "type: not a string"]);
  const callType = knownType(CALL_MEMBER_TYPES, type);
  if (callType !== undefined) return parseStateMembership(event, callType, ctx, false);
  const rtcType = knownType(RTC_MEMBER_TYPES, type);
  if (rtcType !== undefined) {
    return event.state_key === undefined
      ? parseSticky(event, rtcType, ctx)
      : parseStateMembership(event, rtcType, ctx, true);
  }
  if (type === "m.room.encrypted") return parseEncrypted(event);
  return NOT_MEMBERSHIP;
}

/**
 * Parses one client-format event (as delivered to an appservice) of any call membership format into the
 * slot it writes and the members that slot now holds. The input is untrusted: every field is validated,
 * problems are returned as reason codes, and the function never throws. A `receivedAt` outside
 * 0..MAX_TS is clamped (NaN counts as 0).
 */
export function parseMembershipEvent(event: unknown, ctx: ParseContext): ParseResult {
  try {
    const at = ctx.receivedAt;
    // The receive instant comes from our own clock, but a bad one must not poison expiry arithmetic.
    const safe = at >= 0 && at <= MAX_TS ? ctx : { ...ctx, receivedAt: at > MAX_TS ? MAX_TS : 0 };
    return parse(event, safe);
  } catch {
    return invalid(null, ["event: unreadable"]);
  }
}
