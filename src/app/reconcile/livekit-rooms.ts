// Which Matrix rooms to judge again on a LiveKit room's webhook, learnt from where each room's members are looked for.
import type { Judged } from "./judge";

const NONE: readonly string[] = Object.freeze([]);

/**
 * LiveKit room names ↔ Matrix rooms, kept to the rooms' current members only. A Matrix room's call has a few
 * names (its room id, two hashes, an alias), kept as an exact-size array, a new one on each change, not as a Set
 * (a Set costs about 200 bytes with one entry). A LiveKit room name almost always maps to one Matrix room: that
 * room id is kept as it is, an array only when several rooms share the name (a one-element array costs 56 bytes,
 * for each of the names).
 */
export class LivekitRooms {
  /** LiveKit room name → the Matrix room whose members map to it, or the rooms when several do. */
  private readonly matrixRooms = new Map<string, string | readonly string[]>();
  /** Matrix room → its members' LiveKit room names. */
  private readonly livekitRooms = new Map<string, readonly string[]>();

  /** How many LiveKit room names are followed. */
  get size(): number {
    return this.matrixRooms.size;
  }

  /** The Matrix rooms with a member that maps to `livekitRoom`. */
  roomsOf(livekitRoom: string): readonly string[] {
    const rooms = this.matrixRooms.get(livekitRoom) ?? NONE;
    return typeof rooms === "string" ? [rooms] : rooms;
  }

  /**
   * Records where the room's members, as just judged, are looked for on the SFU. Sets, not list searches: a sender
   * can give a room hundreds of members with aliases of their own, and this runs at each judgement of the room.
   */
  update(roomId: string, judged: readonly Judged[]): void {
    const now = new Set<string>();
    for (const j of judged) for (const lk of j.target?.rooms ?? NONE) now.add(lk);
    const before = this.livekitRooms.get(roomId) ?? NONE;
    if (before.length === now.size && before.every((lk) => now.has(lk))) return;
    for (const lk of before) {
      if (!now.has(lk))
        this.setRoomsOf(
          lk,
          this.roomsOf(lk).filter((r) => r !== roomId),
        );
    }
    const kept = new Set(before);
    for (const lk of now) {
      if (kept.has(lk)) continue;
      const rooms = this.roomsOf(lk);
      if (!rooms.includes(roomId)) this.setRoomsOf(lk, rooms.concat([roomId]));
    }
    if (now.size > 0) this.livekitRooms.set(roomId, [...now]);
    else this.livekitRooms.delete(roomId);
  }

  private setRoomsOf(livekitRoom: string, rooms: readonly string[]): void {
    if (rooms.length === 0) this.matrixRooms.delete(livekitRoom);
    else this.matrixRooms.set(livekitRoom, rooms.length === 1 ? (rooms[0] as string) : rooms);
  }
}
