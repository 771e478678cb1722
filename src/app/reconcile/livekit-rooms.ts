// Which Matrix rooms to judge again on a LiveKit room's webhook, learnt from where each room's members are looked for.
import type { Judged } from "./judge";

const NONE: ReadonlySet<string> = new Set();

/** LiveKit room names ↔ Matrix rooms, kept to the rooms' current members only. */
export class LivekitRooms {
  /** LiveKit room name → Matrix rooms whose members map to it. */
  private readonly matrixRooms = new Map<string, Set<string>>();
  /** Matrix room → its members' LiveKit room names. */
  private readonly livekitRooms = new Map<string, Set<string>>();

  /** How many LiveKit room names are followed. */
  get size(): number {
    return this.matrixRooms.size;
  }

  /** The Matrix rooms with a member that maps to `livekitRoom`. */
  roomsOf(livekitRoom: string): ReadonlySet<string> {
    return this.matrixRooms.get(livekitRoom) ?? NONE;
  }

  /** Records where the room's members, as just judged, are looked for on the SFU. */
  update(roomId: string, judged: readonly Judged[]): void {
    const now = new Set<string>();
    for (const j of judged) for (const lk of j.target?.rooms ?? []) now.add(lk);
    for (const lk of this.livekitRooms.get(roomId) ?? NONE) {
      if (now.has(lk)) continue;
      const rooms = this.matrixRooms.get(lk);
      rooms?.delete(roomId);
      if (rooms?.size === 0) this.matrixRooms.delete(lk);
    }
    for (const lk of now) {
      let rooms = this.matrixRooms.get(lk);
      if (!rooms) this.matrixRooms.set(lk, (rooms = new Set()));
      rooms.add(roomId);
    }
    if (now.size > 0) this.livekitRooms.set(roomId, now);
    else this.livekitRooms.delete(roomId);
  }
}
