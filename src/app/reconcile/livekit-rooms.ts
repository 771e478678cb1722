// Which Matrix rooms to judge again on a LiveKit room's webhook, learnt from where each room's members are looked for.
import type { Judged } from "./judge";

const NONE: readonly string[] = Object.freeze([]);

/**
 * LiveKit room names ↔ Matrix rooms, kept to the rooms' current members only. Both sides are almost always one
 * or two names long (a call's room name and its alias; the one Matrix room of a LiveKit room), and there is one of
 * each per room with a call: they are kept as exact-size arrays, a new one on each change, not as a Set each
 * (a Set costs about 200 bytes with one entry).
 */
export class LivekitRooms {
  /** LiveKit room name → Matrix rooms whose members map to it. */
  private readonly matrixRooms = new Map<string, readonly string[]>();
  /** Matrix room → its members' LiveKit room names. */
  private readonly livekitRooms = new Map<string, readonly string[]>();

  /** How many LiveKit room names are followed. */
  get size(): number {
    return this.matrixRooms.size;
  }

  /** The Matrix rooms with a member that maps to `livekitRoom`. */
  roomsOf(livekitRoom: string): readonly string[] {
    return this.matrixRooms.get(livekitRoom) ?? NONE;
  }

  /** Records where the room's members, as just judged, are looked for on the SFU. */
  update(roomId: string, judged: readonly Judged[]): void {
    const now: string[] = [];
    for (const j of judged) for (const lk of j.target?.rooms ?? NONE) if (!now.includes(lk)) now.push(lk);
    const before = this.livekitRooms.get(roomId) ?? NONE;
    if (sameNames(before, now)) return;
    for (const lk of before) {
      if (now.includes(lk)) continue;
      const rooms = (this.matrixRooms.get(lk) ?? NONE).filter((r) => r !== roomId);
      if (rooms.length === 0) this.matrixRooms.delete(lk);
      else this.matrixRooms.set(lk, rooms);
    }
    for (const lk of now) {
      const rooms = this.matrixRooms.get(lk) ?? NONE;
      if (!rooms.includes(roomId)) this.matrixRooms.set(lk, rooms.concat([roomId]));
    }
    if (now.length > 0) this.livekitRooms.set(roomId, now.slice());
    else this.livekitRooms.delete(roomId);
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name) => b.includes(name));
}
