// Format A: MSC3401 `m.call.member` state, `content["m.calls"][]["m.devices"][]` with per-device `expires_ts`.
import { slotIdFor } from "../keys";
import type { RtcMember } from "../model";
import { makeMember, sourceOf } from "./envelope";
import { byPosition } from "./positions";
import { isRecord, readId, readList, readOptionalId, readTransports, readTs, type JsonRecord } from "./read";
import { addUnlessRepeated, invalid, slotResult, type ParseResult, type SlotRef } from "./result";

/** Reason paths of the call at each position, and of the device at each position within it. */
const CALL_PATHS = byPosition((i) => {
  const path = `content.m.calls[${i}]`;
  const device = byPosition((j) => {
    const at = `${path}.m.devices[${j}]`;
    return {
      path: at,
      deviceId: `${at}.device_id`,
      sessionId: `${at}.session_id`,
      expiresTs: `${at}.expires_ts`,
      fociActive: `${at}.foci_active`,
    };
  });
  return { path, callId: `${path}.m.call_id`, devices: `${path}.m.devices`, device };
});

/**
 * Every device of every call the sender announces. The application is always `m.call` (MSC3401 predates
 * MSC4143 applications); `session_id` becomes the member's session id, so a new one means leave + join.
 * Malformed calls or devices are skipped and listed as problems; the others still count.
 */
export function parseMsc3401(slot: SlotRef, content: JsonRecord): ParseResult {
  const reasons: string[] = [];
  const calls = readList(content["m.calls"], "content.m.calls", reasons);
  if (calls === null) return invalid(slot, reasons);
  const source = sourceOf(slot, "msc3401");
  const members: RtcMember[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i];
    const callPaths = CALL_PATHS(i);
    if (!isRecord(call)) {
      problems.push(`${callPaths.path}: not an object`);
      continue;
    }
    const callId = readId(call["m.call_id"], callPaths.callId, problems, true);
    const devices = readList(call["m.devices"], callPaths.devices, problems);
    if (callId === null || devices === null) continue;
    for (let j = 0; j < devices.length; j++) {
      const device = devices[j];
      const paths = callPaths.device(j);
      if (!isRecord(device)) {
        problems.push(`${paths.path}: not an object`);
        continue;
      }
      const before = problems.length;
      const deviceId = readId(device.device_id, paths.deviceId, problems);
      const sessionId = readOptionalId(device.session_id, paths.sessionId, problems);
      const expiresAt = readTs(device.expires_ts, paths.expiresTs, problems);
      const transports = readTransports(device.foci_active, paths.fociActive, problems);
      if (deviceId === null || expiresAt === null || problems.length > before) continue;
      const member = makeMember(slot, source, {
        userId: slot.sender,
        deviceId,
        application: "m.call",
        callId,
        slotId: slotIdFor("m.call", callId),
        memberId: null,
        sessionId,
        focusActive: null,
        transports,
        createdTs: slot.originServerTs,
        expiresAt,
      });
      addUnlessRepeated(members, seen, member, problems, paths.path);
    }
  }
  return slotResult(slot, members.slice(), problems.length === 0 ? undefined : problems);
}
