// Whether a user may end another user's call membership under the room's own rules (m.room.kick, state auth, MSC3757).
import { isOwnedStateKeyRoomVersion, stateKeyShape } from "../membership/keys";
import {
  actionLevel,
  atLeast,
  levelText,
  outranks,
  powerLevelOf,
  requiredStateLevel,
  type RoomRules,
} from "./power";

/** A call membership someone asks the service to end: whose it is and where it is written. */
export interface ActTarget {
  readonly userId: string;
  readonly deviceId: string;
  /** The membership's event type. */
  readonly type: string;
  /** Its state key; null for a sticky (timeline) membership. */
  readonly stateKey: string | null;
}

/** A membership the asker may not end, and why (in words for the reply). */
export interface ActRefusal {
  readonly userId: string;
  readonly deviceId: string;
  readonly reason: string;
}

/**
 * Why `actor` may not end `target`'s membership, or null when they may. Ending a membership kicks its user from
 * the call and writes their key, so it takes what Matrix would ask of the actor for both:
 * - as `m.room.kick`: the `kick` level, and a level strictly above the target's (v12 creators outrank everyone
 *   and nobody outranks a creator); one's own memberships are exempt, as leaving is;
 * - as writing the key themselves: the level for the event type (`events`, else `state_default`), and for a
 *   key starting with `@` (owned, MSC3757) their own key, or in MSC3757 room versions a level above its owner's;
 * - a sticky membership (MSC4354) is a timeline event only its sender can replace: another user's may only be
 *   removed as a redaction could, with the `redact` level.
 */
export function refusalToEnd(actor: string, target: ActTarget, rules: RoomRules): string | null {
  const { powerLevels, roomVersion } = rules;
  const levelOf = (user: string) => powerLevelOf(user, powerLevels, rules.createEvent, roomVersion);
  const mine = levelOf(actor);
  const self = target.userId === actor;
  if (!self) {
    const kick = actionLevel("kick", powerLevels, roomVersion);
    if (!atLeast(mine, kick))
      return `removing someone from the call needs power level ${kick} (as kicking does); you have ${levelText(mine)}`;
    const theirs = levelOf(target.userId);
    if (theirs === "creator") return `${target.userId} is a creator of this room, whom nobody outranks`;
    if (!outranks(mine, theirs))
      return `${target.userId} has power level ${theirs}, not below your ${levelText(mine)}`;
  }
  if (target.stateKey === null) {
    if (self) return null;
    const redact = actionLevel("redact", powerLevels, roomVersion);
    return atLeast(mine, redact)
      ? null
      : `another user's sticky membership can only be removed as a redaction, which needs power level ${redact}; you have ${levelText(mine)}`;
  }
  const needed = requiredStateLevel(target.type, powerLevels, roomVersion);
  if (!atLeast(mine, needed))
    return `writing ${target.type} needs power level ${needed}; you have ${levelText(mine)}`;
  const key = target.stateKey;
  if (!key.startsWith("@") || key === actor) return null;
  const owner = stateKeyShape(key).owner;
  if (!isOwnedStateKeyRoomVersion(roomVersion))
    return `the state key ${key} can only be written by ${owner ?? "its owner"} in this room version`;
  if (owner === actor) return null;
  if (owner === null) return `the state key ${key} names no user, so only its sender may write it`;
  if (!outranks(mine, levelOf(owner)))
    return `the state key ${key} belongs to ${owner}, whose power level is not below yours`;
  return null;
}

/** Every membership of `targets` that `actor` may not end, with the reason. */
export function refusalsToEnd(actor: string, targets: readonly ActTarget[], rules: RoomRules): ActRefusal[] {
  const out: ActRefusal[] = [];
  for (const t of targets) {
    const reason = refusalToEnd(actor, t, rules);
    if (reason !== null) out.push({ userId: t.userId, deviceId: t.deviceId, reason });
  }
  return out;
}
