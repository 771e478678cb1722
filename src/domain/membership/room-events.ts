// The room state events call state depends on: m.room.member (who is joined), m.room.create, m.room.encryption.
import type { EpochMs } from "../time";
import { isUserId } from "./parse/envelope";
import { isRecord, MAX_ID_LENGTH, MAX_TS } from "./parse/read";

/**
 * A room event that matters to call state, parsed:
 * - `room-member`: MSC3401 and MSC4143 both say a membership only counts while the user's `m.room.member`
 *   is `join`;
 * - `room-create`: the room version decides how per-device state keys look (MSC3757);
 * - `room-encryption`: sticky memberships (MSC4354) are encrypted in encrypted rooms and cannot be read;
 * - `room-event-invalid`: one of those types, unusable (it then changes nothing: no evidence, no exclusion).
 */
export type RoomEventResult =
  | {
      readonly kind: "room-member";
      readonly userId: string;
      readonly membership: string;
      readonly eventId: string | null;
      readonly at: EpochMs;
    }
  | { readonly kind: "room-create"; readonly roomVersion: string }
  | { readonly kind: "room-encryption"; readonly algorithm: string }
  | { readonly kind: "room-event-invalid"; readonly type: string; readonly reasons: readonly string[] };

/** Event types `parseRoomEvent` understands. */
export const ROOM_EVENT_TYPES: ReadonlySet<string> = new Set([
  "m.room.member",
  "m.room.create",
  "m.room.encryption",
]);

function shortString(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_ID_LENGTH ? value : null;
}

function invalidRoomEvent(type: string, reason: string): RoomEventResult {
  return { kind: "room-event-invalid", type, reasons: [reason] };
}

/** Parses `m.room.member` / `m.room.create` / `m.room.encryption` state; null for any other event. Never throws. */
export function parseRoomEvent(event: unknown, receivedAt: EpochMs): RoomEventResult | null {
  if (!isRecord(event)) return null;
  const type = event.type;
  if (typeof type !== "string" || !ROOM_EVENT_TYPES.has(type)) return null;
  const content = event.content;
  if (typeof event.state_key !== "string") return invalidRoomEvent(type, "state_key: not a string");
  if (!isRecord(content)) return invalidRoomEvent(type, "content: not an object");
  switch (type) {
    case "m.room.member": {
      if (!isUserId(event.state_key)) return invalidRoomEvent(type, "state_key: not a user id");
      const membership = shortString(content.membership);
      if (membership === null) return invalidRoomEvent(type, "content.membership: not a string");
      const ts = event.origin_server_ts;
      const at = typeof ts === "number" && ts >= 0 && ts <= MAX_TS ? Math.floor(ts) : receivedAt;
      const eventId = shortString(event.event_id);
      return { kind: "room-member", userId: event.state_key, membership, eventId, at };
    }
    case "m.room.create": {
      // The spec's default when `room_version` is absent is "1".
      const version = content.room_version === undefined ? "1" : shortString(content.room_version);
      if (version === null) return invalidRoomEvent(type, "content.room_version: not a string");
      return { kind: "room-create", roomVersion: version };
    }
    default: {
      const algorithm = shortString(content.algorithm);
      if (algorithm === null) return invalidRoomEvent(type, "content.algorithm: not a string");
      return { kind: "room-encryption", algorithm };
    }
  }
}
