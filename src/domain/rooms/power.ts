// Room power levels (spec §m.room.power_levels, room v12 creators): who may run moderator commands or write a key.

/** A user's standing in a room: a level, or unlimited for the creators of room version 12 (MSC4289). */
export type PowerLevel = number | "creator";

/** What a room's power rules are read from: its current power levels, create event and version. */
export interface RoomRules {
  /** `m.room.power_levels` content, or null when the room has none. */
  readonly powerLevels: unknown;
  /** The whole `m.room.create` event (its sender is a creator). */
  readonly createEvent: unknown;
  readonly roomVersion: string | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Room versions 1–9 let power levels be strings holding an integer ("50"); 10 and later require integers
 * (MSC3667), so a homeserver never accepted a string there. An unknown version is read leniently: a string
 * could only be in the room's state if its version allowed it.
 */
function stringLevelsAllowed(roomVersion: string | null): boolean {
  return roomVersion === null || /^[1-9]$/.test(roomVersion);
}

const INTEGER_STRING = /^\s*[+-]?\d{1,16}\s*$/;

/** One level value: an integer, or (in rooms that allow it) an integer string; anything else is `fallback`. */
function levelValue(value: unknown, fallback: number, roomVersion: string | null): number {
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : fallback;
  if (typeof value === "string" && stringLevelsAllowed(roomVersion) && INTEGER_STRING.test(value)) {
    const n = Number(value.trim());
    return Number.isSafeInteger(n) ? n : fallback;
  }
  return fallback;
}

/** Room versions whose creators have unlimited power and are not listed in power_levels (v12 and later). */
export function creatorsArePrivileged(roomVersion: string | null): boolean {
  if (roomVersion === null) return false;
  const n = Number(roomVersion);
  return (Number.isInteger(n) && n >= 12) || roomVersion.startsWith("org.matrix.hydra");
}

/** The creators of a room: the create event's sender and `additional_creators` (room v12). */
export function creatorsOf(createEvent: unknown): string[] {
  if (!isRecord(createEvent)) return [];
  const creators: string[] = [];
  if (typeof createEvent.sender === "string") creators.push(createEvent.sender);
  const content = isRecord(createEvent.content) ? createEvent.content : {};
  if (Array.isArray(content.additional_creators)) {
    for (const c of content.additional_creators) if (typeof c === "string") creators.push(c);
  }
  return creators;
}

/** A user's power level from `m.room.power_levels` content (absent content: the creator 100, others 0). */
export function powerLevelOf(
  userId: string,
  powerLevels: unknown,
  createEvent: unknown,
  roomVersion: string | null,
): PowerLevel {
  const creators = creatorsOf(createEvent);
  if (creatorsArePrivileged(roomVersion) && creators.includes(userId)) return "creator";
  if (!isRecord(powerLevels)) return creators[0] === userId ? 100 : 0;
  const users = isRecord(powerLevels.users) ? powerLevels.users : {};
  const fallback = levelValue(powerLevels.users_default, 0, roomVersion);
  return Object.hasOwn(users, userId) ? levelValue(users[userId], fallback, roomVersion) : fallback;
}

/** The level needed to send a state event of `type` (events[type], else state_default, 50 when absent). */
export function requiredStateLevel(type: string, powerLevels: unknown, roomVersion: string | null): number {
  if (!isRecord(powerLevels)) return 50;
  const events = isRecord(powerLevels.events) ? powerLevels.events : {};
  const fallback = levelValue(powerLevels.state_default, 50, roomVersion);
  return Object.hasOwn(events, type) ? levelValue(events[type], fallback, roomVersion) : fallback;
}

/** The level an action of the room needs: `kick` or `redact` (50 when absent, as the spec says). */
export function actionLevel(
  action: "kick" | "redact",
  powerLevels: unknown,
  roomVersion: string | null,
): number {
  if (!isRecord(powerLevels)) return 50;
  return levelValue(powerLevels[action], 50, roomVersion);
}

/** `a` ≥ `level`, where a creator outranks every number. */
export function atLeast(a: PowerLevel, level: number): boolean {
  return a === "creator" || a >= level;
}

/** `a` > `b` strictly (MSC3757 owned keys may be overwritten only by a strictly higher level). */
export function outranks(a: PowerLevel, b: PowerLevel): boolean {
  if (b === "creator") return false;
  return a === "creator" || a > b;
}

/** A level as a reply names it. */
export function levelText(level: PowerLevel): string {
  return level === "creator" ? "room creator (unlimited)" : String(level);
}
