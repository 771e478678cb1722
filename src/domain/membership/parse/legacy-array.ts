// Format B: the legacy `{memberships: [...]}` array on an `@user:hs` key (js-sdk < 34), one entry per device.
import { slotIdFor } from "../keys";
import type { RtcMember } from "../model";
import { makeMember, sourceOf } from "./envelope";
import {
  addMs,
  extraOf,
  isRecord,
  mergeExtra,
  readId,
  shareCommon,
  readList,
  readOptionalDuration,
  readOptionalId,
  readOptionalTs,
  readTransports,
  type JsonRecord,
} from "./read";
import { addUnlessRepeated, invalid, slotResult, type ParseResult, type SlotRef } from "./result";

const KNOWN_CONTENT: ReadonlySet<string> = new Set(["memberships"]);
const KNOWN_ENTRY: ReadonlySet<string> = new Set([
  "application",
  "call_id",
  "device_id",
  "scope",
  "created_ts",
  "expires",
  "expires_ts",
  "foci_active",
  "membershipID",
]);

/**
 * Every entry of the sender's array. Expiry per entry: `("expires" in e) ? (e.created_ts ?? origin_server_ts)
 * + e.expires : e.expires_ts`, none when neither is given (then policy decides). `membershipID` was random
 * per join in those clients, so it serves as the session id. Malformed entries are skipped as problems.
 */
export function parseLegacyArray(slot: SlotRef, content: JsonRecord): ParseResult {
  const reasons: string[] = [];
  const entries = readList(content.memberships, "content.memberships", reasons);
  if (entries === null) return invalid(slot, reasons);
  const source = sourceOf(slot, "legacy-array");
  const topExtra = extraOf(content, KNOWN_CONTENT);
  const members: RtcMember[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const path = `content.memberships[${i}]`;
    if (!isRecord(entry)) {
      problems.push(`${path}: not an object`);
      continue;
    }
    const before = problems.length;
    const application = readId(entry.application, `${path}.application`, problems);
    const callId = readId(entry.call_id, `${path}.call_id`, problems, true);
    const deviceId = readId(entry.device_id, `${path}.device_id`, problems);
    const createdTs = readOptionalTs(entry.created_ts, `${path}.created_ts`, problems) ?? slot.originServerTs;
    const expires = readOptionalDuration(entry.expires, `${path}.expires`, problems);
    const expiresTs = readOptionalTs(entry.expires_ts, `${path}.expires_ts`, problems);
    const memberId = readOptionalId(entry.membershipID, `${path}.membershipID`, problems);
    const transports = readTransports(entry.foci_active, `${path}.foci_active`, problems);
    if (entry.scope !== undefined && typeof entry.scope !== "string")
      problems.push(`${path}.scope: not a string`);
    if (application === null || callId === null || deviceId === null || problems.length > before) continue;
    const member = makeMember(slot, source, {
      userId: slot.sender,
      deviceId,
      application: shareCommon(application),
      callId,
      slotId: slotIdFor(application, callId),
      memberId,
      sessionId: memberId,
      focusActive: null,
      transports,
      createdTs,
      expiresAt: expires !== null ? addMs(createdTs, expires) : expiresTs,
      extra: mergeExtra(topExtra, extraOf(entry, KNOWN_ENTRY)),
    });
    addUnlessRepeated(members, seen, member, problems, path);
  }
  return slotResult(slot, members.slice(), problems.length === 0 ? undefined : problems);
}
