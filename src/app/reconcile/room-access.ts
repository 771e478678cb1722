// What the bot may do in a room (joined? power level vs the membership event's required level), cached briefly.
import { isOwnedStateKeyRoomVersion } from "../../domain/membership/keys";
import {
  atLeast,
  outranks,
  powerLevelOf,
  requiredStateLevel,
  type PowerLevel,
  type RoomRules,
} from "../../domain/rooms/power";
import type { EpochMs } from "../../domain/time";
import { type MatrixPort, MatrixRequestError } from "../ports/matrix";

export interface RoomAccess extends RoomRules {
  readonly botJoined: boolean;
}

const TTL_MS = 30_000;
/** Reads restarted because the room changed while they were in flight, before the last answer is used uncached. */
const MAX_READS = 3;

/** One read in flight; `invalidate` marks it stale when the room changes before its answer is in. */
interface PendingRead {
  stale: boolean;
}

/**
 * Concurrency: `get` may run for a room while its power levels or the bot's membership change. `invalidate`
 * marks every read of the room then in flight as stale: its answer may predate the change, so it is read again
 * (and never cached) rather than kept for the TTL.
 */
export class RoomAccessCache {
  private readonly cache = new Map<string, { at: EpochMs; access: RoomAccess }>();
  private readonly reading = new Map<string, Set<PendingRead>>();

  constructor(private readonly matrix: MatrixPort) {}

  invalidate(roomId: string): void {
    this.cache.delete(roomId);
    for (const pending of this.reading.get(roomId) ?? []) pending.stale = true;
  }

  async get(roomId: string, roomVersion: string | null, now: EpochMs): Promise<RoomAccess> {
    const hit = this.cache.get(roomId);
    if (hit && now - hit.at < TTL_MS) return hit.access;
    for (let attempt = 1; ; attempt++) {
      const pending: PendingRead = { stale: false };
      let reads = this.reading.get(roomId);
      if (!reads) this.reading.set(roomId, (reads = new Set()));
      reads.add(pending);
      let access: RoomAccess;
      try {
        access = await this.read(roomId, roomVersion);
      } finally {
        reads.delete(pending);
        if (reads.size === 0) this.reading.delete(roomId);
      }
      if (!pending.stale) {
        this.cache.set(roomId, { at: now, access });
        return access;
      }
      if (attempt >= MAX_READS) return access;
    }
  }

  private async read(roomId: string, roomVersion: string | null): Promise<RoomAccess> {
    const bot = { kind: "bot" } as const;
    try {
      const member = await this.matrix.stateEvent(roomId, "m.room.member", this.matrix.botUserId, bot);
      if (member?.content.membership !== "join")
        throw new MatrixRequestError("bot not joined", 403, "M_FORBIDDEN");
      const [powerLevels, create] = await Promise.all([
        this.matrix.stateEvent(roomId, "m.room.power_levels", "", bot),
        this.matrix.stateEvent(roomId, "m.room.create", "", bot),
      ]);
      const createContent = create?.content ?? {};
      const version =
        typeof createContent.room_version === "string" ? createContent.room_version : roomVersion;
      return {
        botJoined: true,
        powerLevels: powerLevels?.content ?? null,
        createEvent: create?.raw ?? null,
        roomVersion: version,
      };
    } catch (err) {
      if (err instanceof MatrixRequestError && (err.status === 403 || err.status === 404)) {
        return { botJoined: false, powerLevels: null, createEvent: null, roomVersion };
      }
      throw err;
    }
  }

  /** A user's level in the room. */
  levelOf(access: RoomRules, userId: string): PowerLevel {
    return powerLevelOf(userId, access.powerLevels, access.createEvent, access.roomVersion);
  }

  /** Whether the bot may overwrite this state key of `owner` now. */
  botMayWrite(access: RoomAccess, type: string, stateKey: string, owner: string | null, botUserId: string) {
    if (!access.botJoined) return "not_in_room" as const;
    const bot = this.levelOf(access, botUserId);
    if (!atLeast(bot, requiredStateLevel(type, access.powerLevels, access.roomVersion)))
      return "power_too_low" as const;
    if (stateKey.startsWith("@")) {
      // Owned keys: only the owner in ordinary rooms; a strictly higher level in MSC3757 rooms.
      if (!isOwnedStateKeyRoomVersion(access.roomVersion) || owner === null) return "power_too_low" as const;
      if (!outranks(bot, this.levelOf(access, owner))) return "power_too_low" as const;
    }
    return "can_write" as const;
  }
}
