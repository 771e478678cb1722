// Finds the room a command is about (an alias through the room directory) and the facts its permission needs there.
import { type AskerFacts, type Permission } from "../../domain/commands/permission";
import { parseRoomRef, type RoomRef } from "../../domain/commands/target";
import type { Logger } from "../ports/logger";
import { type MatrixPort, MatrixRequestError } from "../ports/matrix";
import type { RoomAccessCache } from "../reconcile/room-access";

/** The room a command is about, with how replies name it; or why it could not be found. */
export type Resolved =
  | { readonly ok: true; readonly roomId: string; readonly label: string }
  | { readonly ok: false; readonly reason: string };

export interface TargetingDeps {
  readonly matrix: MatrixPort;
  readonly access: RoomAccessCache;
  readonly logger: Logger;
  readonly admins: readonly string[];
  readonly moderatorLevel: number;
}

/** What the asker is asking about: who they are, which command, where they asked and which room it is about. */
export interface Asking {
  readonly permission: Permission;
  readonly sender: string;
  readonly askedIn: string;
  readonly target: string;
  readonly now: number;
}

export class Targeting {
  constructor(private readonly d: TargetingDeps) {}

  /** An id as it is; an alias through the homeserver's directory (what the homeserver answers is checked too). */
  async resolve(ref: RoomRef): Promise<Resolved> {
    if (ref.kind === "id") return { ok: true, roomId: ref.roomId, label: ref.roomId };
    let roomId: string | null;
    try {
      roomId = await this.d.matrix.resolveAlias(ref.alias);
    } catch (err) {
      this.d.logger.warn("could not resolve a room alias", { alias: ref.alias, error: String(err) });
      return {
        ok: false,
        reason: `The service could not look up ${ref.alias} in the room directory; try again, or use the room id.`,
      };
    }
    if (roomId === null) return { ok: false, reason: `No room has the alias ${ref.alias}.` };
    if (parseRoomRef(roomId)?.kind !== "id") {
      this.d.logger.warn("the room directory answered something that is not a room id", { alias: ref.alias });
      return { ok: false, reason: `The room directory gave no usable room for ${ref.alias}.` };
    }
    return { ok: true, roomId, label: `${ref.alias} (${roomId})` };
  }

  /** Reads what the permission rules need, and only that: an admin's standing or a level nobody asked for is not read. */
  async facts(a: Asking): Promise<AskerFacts> {
    const isAdmin = this.d.admins.includes(a.sender);
    const here = a.target === a.askedIn;
    const base = { permission: a.permission, isAdmin, here, moderatorLevel: this.d.moderatorLevel };
    const unread = { ...base, botJoined: true, membership: null, level: null };
    if (a.permission === "admin" && !isAdmin) return unread;
    if (here && (a.permission !== "moderator" || isAdmin)) return unread;
    const access = await this.d.access.get(a.target, null, a.now);
    if (!access.botJoined || isAdmin)
      return { ...base, botJoined: access.botJoined, membership: null, level: null };
    const level = this.d.access.levelOf(access, a.sender);
    return { ...base, botJoined: true, membership: here ? "join" : await this.membershipOf(a), level };
  }

  private async membershipOf(a: Asking): Promise<string | null> {
    try {
      const member = await this.d.matrix.stateEvent(a.target, "m.room.member", a.sender, { kind: "bot" });
      const membership = member?.content.membership;
      return typeof membership === "string" ? membership : null;
    } catch (err) {
      // Unread is not joined: the asker is refused rather than answered about a room they may not be in.
      if (!(err instanceof MatrixRequestError)) throw err;
      this.d.logger.warn("could not read a member of the room a command is about", {
        room: a.target,
        error: String(err),
      });
      return null;
    }
  }
}
