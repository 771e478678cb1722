// Room power levels (spec §m.room.power_levels, room v12 creators): who may run moderator commands or write a key.

/** A user's standing in a room: a level, or unlimited for the creators of room version 12 (MSC4289). */
export type PowerLevel = number | "creator";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const intOr = (value: unknown, fallback: number): number =>
  typeof value === "number" && Number.isInteger(value) ? value : fallback;

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
  return intOr(users[userId], intOr(powerLevels.users_default, 0));
}

/** The level needed to send a state event of `type` (events[type], else state_default, 50 when absent). */
export function requiredStateLevel(type: string, powerLevels: unknown): number {
  if (!isRecord(powerLevels)) return 50;
  const events = isRecord(powerLevels.events) ? powerLevels.events : {};
  return intOr(events[type], intOr(powerLevels.state_default, 50));
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
