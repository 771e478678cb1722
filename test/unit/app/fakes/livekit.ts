// A fake LiveKit API behind LiveKitPort: rooms and participants per deployment, a switch to make one unreachable.
import {
  type LiveKitPort,
  type ParticipantState,
  type SfuParticipant,
  SfuUnavailableError,
} from "../../../../src/app/ports/livekit";

export interface LiveKitCall {
  readonly method: "listRooms" | "listParticipants" | "removeParticipant";
  readonly deployment: string;
  readonly room: string | null;
  readonly identity: string | null;
}

export class FakeLiveKit implements LiveKitPort {
  readonly calls: LiveKitCall[] = [];
  /** Deployments whose API fails (every call throws SfuUnavailableError). */
  readonly down = new Set<string>();
  private readonly rooms = new Map<string, Map<string, SfuParticipant[]>>();

  /** Puts a participant (replacing one with the same sid) into a LiveKit room. */
  connect(
    deployment: string,
    room: string,
    identity: string,
    sid: string,
    state: ParticipantState = "active",
  ): void {
    const list = this.roomOf(deployment, room).filter((p) => p.sid !== sid);
    list.push({ identity, sid, state, joinedAt: null });
    this.rooms.get(deployment)?.set(room, list);
  }

  /** Removes a participant; the room closes when it empties. */
  disconnect(deployment: string, room: string, identity: string): void {
    const list = this.roomOf(deployment, room).filter((p) => p.identity !== identity);
    if (list.length === 0) this.rooms.get(deployment)?.delete(room);
    else this.rooms.get(deployment)?.set(room, list);
  }

  participants(deployment: string, room: string): readonly SfuParticipant[] {
    return this.rooms.get(deployment)?.get(room) ?? [];
  }

  listRooms(deployment: string): Promise<readonly string[]> {
    return this.answer({ method: "listRooms", deployment, room: null, identity: null }, () => [
      ...(this.rooms.get(deployment)?.keys() ?? []),
    ]);
  }

  listParticipants(deployment: string, room: string): Promise<readonly SfuParticipant[]> {
    return this.answer({ method: "listParticipants", deployment, room, identity: null }, () => [
      ...this.participants(deployment, room),
    ]);
  }

  removeParticipant(deployment: string, room: string, identity: string): Promise<"removed" | "absent"> {
    return this.answer({ method: "removeParticipant", deployment, room, identity }, () => {
      const present = this.participants(deployment, room).some((p) => p.identity === identity);
      this.disconnect(deployment, room, identity);
      return present ? "removed" : "absent";
    });
  }

  private answer<T>(call: LiveKitCall, result: () => T): Promise<T> {
    this.calls.push(call);
    if (this.down.has(call.deployment))
      return Promise.reject(new SfuUnavailableError(call.deployment, call.method, "connection refused"));
    return Promise.resolve(result());
  }

  private roomOf(deployment: string, room: string): SfuParticipant[] {
    let rooms = this.rooms.get(deployment);
    if (!rooms) this.rooms.set(deployment, (rooms = new Map<string, SfuParticipant[]>()));
    return rooms.get(room) ?? [];
  }
}
