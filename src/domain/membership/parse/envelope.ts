// The event envelope every format shares (ids, sender, timestamps, content) and the member/slot builders.
import type { EpochMs } from "../../time";
import { memberKey } from "../keys";
import type { MemberSource, MembershipFormat, RtcMember } from "../model";
import { isRecord, MAX_ID_LENGTH, readTs, type JsonRecord } from "./read";
import { isSlotSource, type ParseContext, type SlotRef } from "./result";

/** The envelope fields of a client-format event, each null when unusable (with a reason recorded). */
export interface Envelope {
  readonly event: JsonRecord;
  readonly type: string;
  readonly eventId: string | null;
  readonly roomId: string | null;
  readonly sender: string | null;
  /** `origin_server_ts`, or our receive instant when it is unusable. */
  readonly originServerTs: EpochMs;
  /** The state key; null when absent (and for invalid non-string keys, with a reason). */
  readonly stateKey: string | null;
  /** The content; null when it is not an object (with a reason). */
  readonly content: JsonRecord | null;
}

/** A Matrix user id, loosely: `@localpart:server`, at most 255 characters. */
export function isUserId(value: unknown): value is string {
  if (typeof value !== "string" || value.length > MAX_ID_LENGTH || value.charCodeAt(0) !== 64) return false;
  const colon = value.indexOf(":");
  return colon > 1 && colon < value.length - 1;
}

function prefixedId(value: unknown, sigil: number, path: string, reasons: string[]): string | null {
  if (typeof value !== "string") {
    reasons.push(value === undefined ? `${path}: missing` : `${path}: not a string`);
    return null;
  }
  if (value.length < 2 || value.length > MAX_ID_LENGTH || value.charCodeAt(0) !== sigil) {
    reasons.push(`${path}: malformed`);
    return null;
  }
  return value;
}

export function readEnvelope(
  event: JsonRecord,
  type: string,
  ctx: ParseContext,
  reasons: string[],
): Envelope {
  const eventId = prefixedId(event.event_id, 36 /* $ */, "event_id", reasons);
  const rawRoomId = prefixedId(event.room_id, 33 /* ! */, "room_id", reasons);
  const roomId = rawRoomId !== null && rawRoomId === ctx.roomId ? ctx.roomId : rawRoomId;
  let sender: string | null = null;
  if (isUserId(event.sender)) sender = event.sender;
  else reasons.push(event.sender === undefined ? "sender: missing" : "sender: not a user id");
  const ts = readTs(event.origin_server_ts, "origin_server_ts", reasons);
  let stateKey: string | null = null;
  const rawKey = event.state_key;
  if (typeof rawKey === "string") {
    if (rawKey.length > MAX_ID_LENGTH) reasons.push("state_key: too long");
    else stateKey = rawKey;
  } else if (rawKey !== undefined) {
    reasons.push("state_key: not a string");
  }
  let content: JsonRecord | null = null;
  if (isRecord(event.content)) content = event.content;
  else reasons.push(event.content === undefined ? "content: missing" : "content: not an object");
  return {
    event,
    type,
    eventId,
    roomId,
    sender,
    originServerTs: ts ?? ctx.receivedAt,
    stateKey,
    content,
  };
}

/** Builds the slot reference when the envelope identifies one; null otherwise. */
export function slotRefOf(
  env: Envelope,
  key: string | null,
  stickyKey: string | null,
  owner: string | null,
  format: MembershipFormat | null,
  stickyDurationMs: number | null,
  ctx: ParseContext,
): SlotRef | null {
  if (key === null || env.eventId === null || env.roomId === null || env.sender === null) return null;
  return {
    key,
    roomId: env.roomId,
    type: env.type,
    stateKey: env.stateKey,
    stickyKey,
    sender: env.sender,
    owner,
    format,
    eventId: env.eventId,
    originServerTs: env.originServerTs,
    stickyDurationMs,
    roomVersion: ctx.roomVersion,
    receivedAt: ctx.receivedAt,
  };
}

/** The provenance shared by every member an event yields: the slot reference itself when its format matches. */
export function sourceOf(slot: SlotRef, format: MembershipFormat): MemberSource {
  return isSlotSource(slot) && slot.format === format ? slot : { ...slot, format };
}

/** The format-specific fields of a member; the rest (keys, room, source) comes from its slot. */
export type MemberFields = Omit<RtcMember, "key" | "slotKey" | "roomId" | "source">;

export function makeMember(slot: SlotRef, source: MemberSource, f: MemberFields): RtcMember {
  return {
    key: memberKey(slot.roomId, slot.key, f.deviceId, f.application, f.callId),
    slotKey: slot.key,
    roomId: slot.roomId,
    userId: f.userId,
    deviceId: f.deviceId,
    application: f.application,
    callId: f.callId,
    slotId: f.slotId,
    memberId: f.memberId,
    sessionId: f.sessionId,
    focusActive: f.focusActive,
    transports: f.transports,
    createdTs: f.createdTs,
    expiresAt: f.expiresAt,
    source,
  };
}
