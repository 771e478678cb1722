// Row mapping between SQLite columns (snake_case, integers for booleans) and the store port's records.
import type {
  AuditRow,
  CallKind,
  CallSessionRow,
  InboxEntry,
  LeaveReason,
  RoomRow,
  SfuIntervalRow,
  SlotRow,
  UserSessionRow,
} from "../../app/ports/store";
import type { DeviceCall } from "../../domain/sessions/types";

export type SqlRow = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === "string" ? v : String(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const json = (v: unknown): unknown => JSON.parse(str(v)) as unknown;

export const toInbox = (r: SqlRow): InboxEntry => ({
  seq: num(r.seq),
  eventId: str(r.event_id),
  roomId: str(r.room_id),
  receivedAt: num(r.received_at),
  event: json(r.event_json),
});

export const toRoom = (r: SqlRow): RoomRow => ({
  roomId: str(r.room_id),
  roomVersion: strOrNull(r.room_version),
  encrypted: num(r.encrypted) === 1,
  firstSeenAt: num(r.first_seen_at),
  lastEventAt: num(r.last_event_at),
  unreadableSticky: num(r.unreadable_sticky),
});

export const toSlot = (r: SqlRow): SlotRow => ({
  roomId: str(r.room_id),
  slotKey: str(r.slot_key),
  eventId: str(r.event_id),
  event: json(r.event_json),
  receivedAt: num(r.received_at),
});

const toDeviceCall = (r: SqlRow): DeviceCall => ({
  memberKey: str(r.member_key),
  roomId: str(r.room_id),
  userId: str(r.user_id),
  deviceId: str(r.device_id),
  application: str(r.application),
  callId: str(r.call_id),
});

export const toUserSession = (r: SqlRow): UserSessionRow => ({
  id: str(r.id),
  callSessionId: strOrNull(r.call_session_id),
  ...toDeviceCall(r),
  joinedAt: num(r.joined_at),
  joinedReceivedAt: num(r.joined_received_at),
  leftAt: numOrNull(r.left_at),
  leftReceivedAt: numOrNull(r.left_received_at),
  leaveReason: strOrNull(r.leave_reason) as LeaveReason | null,
  joinEventId: str(r.join_event_id),
  leaveEventId: strOrNull(r.leave_event_id),
  joinedBeforeTracking: num(r.joined_before_tracking) === 1,
});

export const toCallSession = (r: SqlRow): CallSessionRow => ({
  id: str(r.id),
  roomId: str(r.room_id),
  application: str(r.application),
  callId: str(r.call_id),
  startedAt: num(r.started_at),
  endedAt: numOrNull(r.ended_at),
  peakConcurrency: num(r.peak_concurrency),
  distinctParticipants: num(r.distinct_participants),
  endReason: strOrNull(r.end_reason),
  kind: strOrNull(r.kind) as CallKind | null,
});

export const toAudit = (r: SqlRow): AuditRow => ({
  id: num(r.id),
  at: num(r.at),
  action: str(r.action) as AuditRow["action"],
  roomId: strOrNull(r.room_id),
  userId: strOrNull(r.user_id),
  deviceId: strOrNull(r.device_id),
  memberKey: strOrNull(r.member_key),
  reason: strOrNull(r.reason),
  method: strOrNull(r.method),
  result: strOrNull(r.result),
  actor: strOrNull(r.actor),
  evidence: json(r.evidence_json) as Record<string, unknown>,
});

export const toSfuInterval = (r: SqlRow): SfuIntervalRow => ({
  deployment: str(r.deployment),
  sid: str(r.sid),
  livekitRoom: str(r.livekit_room),
  identity: str(r.identity),
  joinedAt: num(r.joined_at),
  leftAt: numOrNull(r.left_at),
  reason: strOrNull(r.reason),
});
