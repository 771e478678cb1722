// Defensive readers for untrusted event JSON: type checks with reason codes, and bounds.
import type { DurationMs, EpochMs } from "../../time";
import type { FocusActive, Transport } from "../model";
import { internFocus, internTransport, singleList } from "./intern";

/** A JSON object as read from the wire: every key may hold every kind of value. */
export type JsonRecord = Readonly<Record<string, unknown>>;

/** Longest identifier kept (event/room/user/device/call ids, slot ids): Matrix caps ids at 255 bytes. */
export const MAX_ID_LENGTH = 255;
/** Longest URL kept from a transport. */
export const MAX_URL_LENGTH = 2048;
/** Longest list read (devices, memberships, transports): more entries make the whole field invalid. */
export const MAX_LIST_LENGTH = 64;
/** Transports kept per member: only the first one or two ever choose an SFU. */
export const MAX_KEPT_TRANSPORTS = 4;
/** Latest instant accepted for a timestamp: the largest value a JavaScript Date can hold. */
export const MAX_TS: EpochMs = 8_640_000_000_000_000;
export const NO_TRANSPORTS: readonly Transport[] = Object.freeze([]);

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether a record has no own enumerable keys (`{}`: the "left" content of state formats). */
export function isEmptyRecord(value: JsonRecord): boolean {
  for (const key in value) {
    if (Object.prototype.hasOwnProperty.call(value, key)) return false;
  }
  return true;
}

/** A required identifier: a string of 1..255 characters (or 0..255 when `allowEmpty`). */
export function readId(value: unknown, path: string, reasons: string[], allowEmpty = false): string | null {
  if (typeof value !== "string") {
    reasons.push(value === undefined ? `${path}: missing` : `${path}: not a string`);
    return null;
  }
  if (value.length > MAX_ID_LENGTH) {
    reasons.push(`${path}: too long`);
    return null;
  }
  if (!allowEmpty && value.length === 0) {
    reasons.push(`${path}: empty`);
    return null;
  }
  return value;
}

/** Shares the common application id's string instead of keeping each event's own copy. */
export function shareCommon(id: string): string {
  return id === "m.call" ? "m.call" : id;
}

/** An optional identifier: absent is null; present but wrong is a reason. */
export function readOptionalId(value: unknown, path: string, reasons: string[]): string | null {
  if (value === undefined) return null;
  return readId(value, path, reasons, true);
}

/** A required epoch-ms timestamp: a finite number within 0..MAX_TS (fractions are floored). */
export function readTs(value: unknown, path: string, reasons: string[]): EpochMs | null {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    reasons.push(value === undefined ? `${path}: missing` : `${path}: not a number`);
    return null;
  }
  if (value < 0 || value > MAX_TS) {
    reasons.push(`${path}: out of range`);
    return null;
  }
  return Math.floor(value);
}

/** An optional timestamp. */
export function readOptionalTs(value: unknown, path: string, reasons: string[]): EpochMs | null {
  return value === undefined ? null : readTs(value, path, reasons);
}

/** An optional non-negative duration in ms, within 0..MAX_TS. */
export function readOptionalDuration(value: unknown, path: string, reasons: string[]): DurationMs | null {
  return value === undefined ? null : readTs(value, path, reasons);
}

/** Clamps a sum of instants/durations into the representable range. */
export function addMs(at: EpochMs, duration: DurationMs): EpochMs {
  const sum = at + duration;
  return sum > MAX_TS ? MAX_TS : sum;
}

/** A string field we interpret but never require: wrong types are treated as absent. */
function optionalString(value: unknown, max: number): string | null {
  return typeof value === "string" && value.length <= max ? value : null;
}

/**
 * One transport (MSC4143) / focus (MSC3401 `foci_*`): must be an object with a string `type`. `index` is its
 * position in a list at `path` (the reason's path is only built when something is wrong).
 */
export function readTransport(
  value: unknown,
  path: string,
  reasons: string[],
  index: number | null = null,
): Transport | null {
  if (!isRecord(value)) {
    reasons.push(`${indexed(path, index)}: not an object`);
    return null;
  }
  const type = value.type;
  if (typeof type !== "string" || type.length === 0 || type.length > MAX_ID_LENGTH) {
    reasons.push(`${indexed(path, index)}.type: not a string`);
    return null;
  }
  return internTransport(
    type,
    optionalString(value.livekit_service_url, MAX_URL_LENGTH),
    optionalString(value.livekit_alias, MAX_ID_LENGTH),
    optionalString(value.url, MAX_URL_LENGTH),
  );
}

function indexed(path: string, index: number | null): string {
  return index === null ? path : `${path}[${index}]`;
}

/** A list of transports; `undefined` is the empty list. Keeps the first MAX_KEPT_TRANSPORTS. */
export function readTransports(value: unknown, path: string, reasons: string[]): readonly Transport[] {
  if (value === undefined) return NO_TRANSPORTS;
  if (!Array.isArray(value)) {
    reasons.push(`${path}: not an array`);
    return NO_TRANSPORTS;
  }
  const list: unknown[] = value;
  if (list.length > MAX_LIST_LENGTH) {
    reasons.push(`${path}: too many entries`);
    return NO_TRANSPORTS;
  }
  if (list.length === 0) return NO_TRANSPORTS;
  const kept: Transport[] = [];
  for (let i = 0; i < list.length; i++) {
    const transport = readTransport(list[i], path, reasons, i);
    if (transport !== null && kept.length < MAX_KEPT_TRANSPORTS) kept.push(transport);
  }
  const first = kept[0];
  if (first === undefined) return NO_TRANSPORTS;
  return kept.length === 1 ? singleList(first) : kept.slice();
}

/** A required list of at most MAX_LIST_LENGTH entries. */
export function readList(value: unknown, path: string, reasons: string[]): readonly unknown[] | null {
  if (!Array.isArray(value)) {
    reasons.push(value === undefined ? `${path}: missing` : `${path}: not an array`);
    return null;
  }
  if (value.length > MAX_LIST_LENGTH) {
    reasons.push(`${path}: too many entries`);
    return null;
  }
  return value as readonly unknown[];
}

/** `focus_active` (formats C and S): an object with a string `type` and an optional `focus_selection`. */
export function readFocusActive(value: unknown, path: string, reasons: string[]): FocusActive | null {
  if (!isRecord(value)) {
    reasons.push(value === undefined ? `${path}: missing` : `${path}: not an object`);
    return null;
  }
  const type = value.type;
  if (typeof type !== "string" || type.length > MAX_ID_LENGTH) {
    reasons.push(`${path}.type: not a string`);
    return null;
  }
  const selection = value.focus_selection;
  if (selection !== undefined && typeof selection !== "string") {
    reasons.push(`${path}.focus_selection: not a string`);
    return null;
  }
  return internFocus(type, optionalString(selection, MAX_ID_LENGTH));
}

/** A list of strings (e.g. `can_subscribe`, `versions`); only checked, not kept. */
export function checkStringList(value: unknown, path: string, reasons: string[]): void {
  if (!Array.isArray(value)) {
    reasons.push(`${path}: not an array`);
    return;
  }
  const list: unknown[] = value;
  if (list.length > MAX_LIST_LENGTH) {
    reasons.push(`${path}: too many entries`);
    return;
  }
  for (const item of list) {
    if (typeof item !== "string") {
      reasons.push(`${path}: not all strings`);
      return;
    }
  }
}
