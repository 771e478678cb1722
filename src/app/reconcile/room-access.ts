// What the bot may do in a room (joined? power level vs the membership event's required level), cached briefly.
import { isOwnedStateKeyRoomVersion } from "../../domain/membership/keys";
import {
  atLeast,
  outranks,
  powerLevelOf,
  requiredStateLevel,
  type PowerLevel,
} from "../../domain/rooms/power";
import type { EpochMs } from "../../domain/time";
import { type MatrixPort, MatrixRequestError } from "../ports/matrix";

export interface RoomAccess {
  readonly botJoined: boolean;
  readonly powerLevels: unknown;
  readonly createEvent: unknown;
  readonly roomVersion: string | null;
}

const TTL_MS = 30_000;

export class RoomAccessCache {
  private readonly cache = new Map<string, { at: EpochMs; access: RoomAccess }>();

  constructor(private readonly matrix: MatrixPort) {}

  invalidate(roomId: string): void {
    this.cache.delete(roomId);
  }

  async get(roomId: string, roomVersion: string | null, now: EpochMs): Promise<RoomAccess> {
    const hit = this.cache.get(roomId);
    if (hit && now - hit.at < TTL_MS) return hit.access;
    const access = await this.read(roomId, roomVersion);
    this.cache.set(roomId, { at: now, access });
    return access;
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
  levelOf(access: RoomAccess, userId: string): PowerLevel {
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
