// Who may run a command about a room: the permission rules, judged against the room the command is about.
import { atLeast, type PowerLevel } from "../rooms/power";

/** anyone in the room; moderators (room power level ≥ the configured level, or admins); admins (from the config). */
export type Permission = "anyone" | "moderator" | "admin";

/**
 * What the rules need to know of the asker and the room the command is about (the target). `here` is true when
 * the target is the room the command was asked in: the asker is in it (they just spoke there). Facts the bot did
 * not need are null: an admin's membership is never read, nor a level for a command anyone may run here.
 */
export interface AskerFacts {
  readonly permission: Permission;
  readonly isAdmin: boolean;
  readonly here: boolean;
  /** Whether the service is joined to the target: without it nothing of the room can be read or done. */
  readonly botJoined: boolean;
  /** The asker's `m.room.member` membership in the target, as its current state says. */
  readonly membership: string | null;
  /** The asker's power level in the target. */
  readonly level: PowerLevel | null;
  readonly moderatorLevel: number;
}

/** Why a command is not run, for the reply; `room` is how the target is named there. */
export type PermissionRefusal =
  | { readonly kind: "bot-not-joined" }
  | { readonly kind: "not-joined"; readonly membership: string | null }
  | { readonly kind: "needs-level"; readonly level: number }
  | { readonly kind: "needs-admin" };

/**
 * The rules: admins may run every command about every room the service is in; everyone else only about rooms
 * they are joined to, and moderator commands only with at least the moderator level there. A level in the room
 * where the command was asked never counts for another room.
 */
export function permissionFor(f: AskerFacts): PermissionRefusal | null {
  if (f.permission === "admin" && !f.isAdmin) return { kind: "needs-admin" };
  if (!f.here && !f.botJoined) return { kind: "bot-not-joined" };
  if (f.isAdmin) return null;
  if (!f.here && f.membership !== "join") return { kind: "not-joined", membership: f.membership };
  if (f.permission === "moderator") {
    if (!f.botJoined || f.level === null || !atLeast(f.level, f.moderatorLevel))
      return { kind: "needs-level", level: f.moderatorLevel };
  }
  return null;
}

/** The refusal as the reply says it: `name` is the command, `room` the target as named (null: this room). */
export function refusalText(name: string, refusal: PermissionRefusal, room: string | null): string {
  const where = room === null ? "this room" : room;
  switch (refusal.kind) {
    case "needs-admin":
      return `"${name}" needs an admin of this service.`;
    case "needs-level":
      return `"${name}" needs power level ${refusal.level} or more in ${where}.`;
    case "bot-not-joined":
      return `"${name}" about ${where}: the service is not in that room, so it can neither read nor change its calls. Invite it there first.`;
    case "not-joined":
      return `"${name}" about ${where}: you are not joined to that room${refusal.membership === null || refusal.membership === "leave" ? "" : ` (your membership there is "${refusal.membership}")`}, so the service does not answer about it for you.`;
  }
}
