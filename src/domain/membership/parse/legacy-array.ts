// Format B: the legacy `{memberships: [...]}` array on an `@user:hs` key (js-sdk < 34), one entry per device.
import { slotIdFor } from "../keys";
import type { RtcMember } from "../model";
import { entryPaths, readDeviceEntry } from "./device-entry";
import { makeMember, sourceOf } from "./envelope";
import { byPosition } from "./positions";
import {
  addMs,
  isRecord,
  readList,
  readOptionalTs,
  readTransports,
  shareCommon,
  type JsonRecord,
} from "./read";
import { addUnlessRepeated, invalid, slotResult, type ParseResult, type SlotRef } from "./result";

/** Reason paths of the entry at each position of the array. */
const ENTRY_PATHS = byPosition((i) => {
  const path = `content.memberships[${i}]`;
  return {
    path,
    fields: entryPaths(path),
    expiresTs: `${path}.expires_ts`,
    fociActive: `${path}.foci_active`,
  };
});

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
  const members: RtcMember[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const paths = ENTRY_PATHS(i);
    if (!isRecord(entry)) {
      problems.push(`${paths.path}: not an object`);
      continue;
    }
    const before = problems.length;
    const fields = readDeviceEntry(entry, paths.fields, problems);
    const expiresTs = readOptionalTs(entry.expires_ts, paths.expiresTs, problems);
    const transports = readTransports(entry.foci_active, paths.fociActive, problems);
    if (fields === null || problems.length > before) continue;
    const createdTs = fields.createdTs ?? slot.originServerTs;
    const member = makeMember(slot, source, {
      userId: slot.sender,
      deviceId: fields.deviceId,
      application: shareCommon(fields.application),
      callId: fields.callId,
      slotId: slotIdFor(fields.application, fields.callId),
      memberId: fields.memberId,
      sessionId: fields.memberId,
      focusActive: null,
      transports,
      createdTs,
      expiresAt: fields.expires !== null ? addMs(createdTs, fields.expires) : expiresTs,
    });
    addUnlessRepeated(members, seen, member, problems, paths.path);
  }
  return slotResult(slot, members.slice(), problems.length === 0 ? undefined : problems);
}
