// Room events (membership, create, encryption) stored as slots beside call memberships, and their slot keys.

/** Room events kept beside the membership slots, so a restart rebuilds who is joined, the version and encryption. */
const ROOM_EVENT_TYPES: ReadonlySet<string> = new Set([
  "m.room.member",
  "m.room.create",
  "m.room.encryption",
]);
/** Slot keys of room events start with this (membership slots never do). */
export const ROOM_EVENT_PREFIX = "room\u0000";

/** The slot key a room event is kept under, or null for events that are not kept. */
export function roomEventKey(event: unknown): { key: string; eventId: string } | null {
  if (typeof event !== "object" || event === null) return null;
  const e = event as Record<string, unknown>;
  if (typeof e.type !== "string" || !ROOM_EVENT_TYPES.has(e.type)) return null;
  if (typeof e.state_key !== "string" || typeof e.event_id !== "string") return null;
  return { key: `${ROOM_EVENT_PREFIX}${e.type}\u0000${e.state_key}`, eventId: e.event_id };
}
