// The per-device fields the session format and the legacy array's entries share (MSC3401-era call members).
import type { DurationMs, EpochMs } from "../../time";
import { readId, readOptionalDuration, readOptionalId, readOptionalTs, type JsonRecord } from "./read";

/** What one device entry says about its membership, before format-specific fields. */
export interface DeviceEntry {
  readonly application: string;
  readonly callId: string;
  readonly deviceId: string;
  /** `created_ts` as written (null when absent: the event's own timestamp stands in). */
  readonly createdTs: EpochMs | null;
  readonly expires: DurationMs | null;
  readonly memberId: string | null;
}

/** The paths reasons name for an entry's fields (built once per entry position, see `byPosition`). */
export interface EntryPaths {
  readonly application: string;
  readonly callId: string;
  readonly deviceId: string;
  readonly createdTs: string;
  readonly expires: string;
  readonly memberId: string;
  readonly scope: string;
}

export function entryPaths(path: string): EntryPaths {
  return {
    application: `${path}.application`,
    callId: `${path}.call_id`,
    deviceId: `${path}.device_id`,
    createdTs: `${path}.created_ts`,
    expires: `${path}.expires`,
    memberId: `${path}.membershipID`,
    scope: `${path}.scope`,
  };
}

/**
 * Reads `application`, `call_id` (may be empty: the room's call), `device_id`, `created_ts`, `expires`,
 * `membershipID` and checks `scope`. Null when any of them is wrong; `reasons` then says which.
 */
export function readDeviceEntry(entry: JsonRecord, paths: EntryPaths, reasons: string[]): DeviceEntry | null {
  const before = reasons.length;
  const application = readId(entry.application, paths.application, reasons);
  const callId = readId(entry.call_id, paths.callId, reasons, true);
  const deviceId = readId(entry.device_id, paths.deviceId, reasons);
  const createdTs = readOptionalTs(entry.created_ts, paths.createdTs, reasons);
  const expires = readOptionalDuration(entry.expires, paths.expires, reasons);
  const memberId = readOptionalId(entry.membershipID, paths.memberId, reasons);
  if (entry.scope !== undefined && typeof entry.scope !== "string")
    reasons.push(`${paths.scope}: not a string`);
  if (application === null || callId === null || deviceId === null || reasons.length > before) return null;
  return { application, callId, deviceId, createdTs, expires, memberId };
}
