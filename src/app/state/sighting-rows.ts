// Encrypted sightings kept as slot rows beside the memberships, so a restart keeps what the bot could not read.
import type { Sighting } from "../../domain/membership/encrypted-sightings";
import type { SlotRow } from "../ports/store";

/** Slot keys of sightings start with this (membership and room-event slots never do). */
const SIGHTING_PREFIX = "encrypted\u0000";

export function isSightingKey(slotKey: string): boolean {
  return slotKey.startsWith(SIGHTING_PREFIX);
}

export function sightingKey(eventId: string): string {
  return SIGHTING_PREFIX + eventId;
}

/** The row of a sighting: our own small record, never the ciphertext (no later device could read it). */
export function sightingRow(roomId: string, s: Sighting, receivedAt: number): SlotRow {
  return {
    roomId,
    slotKey: sightingKey(s.eventId),
    eventId: s.eventId,
    event: { sender: s.sender, until: s.until, read: s.read },
    receivedAt,
  };
}

/** The sighting a row holds; null for a row that is not one (or was written by something else). */
export function sightingOf(row: SlotRow): Sighting | null {
  if (!isSightingKey(row.slotKey)) return null;
  const e = row.event as { sender?: unknown; until?: unknown; read?: unknown } | null;
  if (e === null || typeof e !== "object" || typeof e.until !== "number" || typeof e.read !== "boolean")
    return null;
  if (e.sender !== null && typeof e.sender !== "string") return null;
  return { eventId: row.eventId, sender: e.sender, until: e.until, read: e.read };
}
