// Never silence in encrypted rooms: one plain notice per room and day, saying how to reach the service instead.
import { ReplyBuilder } from "../../domain/commands/html";
import { hasStickyMarker } from "../../domain/membership/parse";
import type { Clock } from "../ports/clock";
import type { Undecryptable } from "../ports/crypto";
import type { Logger } from "../ports/logger";
import type { MatrixPort } from "../ports/matrix";

/** At most one notice per room in this time (and one per room after each restart: the times are not stored). */
export const ENCRYPTED_NOTICE_INTERVAL_MS = 86_400_000;
/** Past this many rooms remembered, those whose interval is over are forgotten. */
const PRUNE_AT = 10_000;

const NO_DEVICE =
  "This room is end-to-end encrypted, and this service cannot read encrypted messages here, so its commands get no answer in this room.";

/** Why a message could not be read, and what the sender can do about it. */
const WHY: Readonly<Record<Undecryptable, string>> = {
  withheld:
    "the sender's device withheld the key from the bot's device (it shares only with verified devices, or not with bots). Allow sharing keys with unverified devices, or verify the bot.",
  missing_key:
    "the key never reached the bot's device (the message was sent before the bot's device existed, or the client did not share it).",
  unknown_index:
    "the bot's device only has the key from a later point of the conversation (it was added after the message was sent).",
  other: "the message or its key was not valid for the bot's device.",
};

export interface EncryptedNoticesDeps {
  readonly matrix: MatrixPort;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly prefix: string;
}

/**
 * The homeserver sends the service every room's events (its registration claims all rooms, non-exclusively), so
 * the bot keeps the set of rooms it is joined to: read once, then followed through its own membership events.
 *
 * Concurrency: `wants` runs synchronously in the homeserver's transaction (it must not wait), `notify` after the
 * journal committed; several `notify` calls for one room may run at once, and the first marks the room before
 * its notice is sent, so the others stay quiet. A membership change seen while the set is being read is applied
 * after the read, so the read cannot undo it.
 */
export class EncryptedNotices {
  private joined: Set<string> | null = null;
  private loading: Promise<void> | null = null;
  private readonly seenWhileLoading = new Map<string, boolean>();
  private readonly lastNotice = new Map<string, number>();

  constructor(private readonly d: EncryptedNoticesDeps) {}

  /** The bot's own membership changed in a room (from its `m.room.member` event). */
  onOwnMembership(roomId: string, membership: unknown): void {
    const joined = membership === "join";
    if (this.joined === null) {
      if (this.loading !== null) this.seenWhileLoading.set(roomId, joined);
      return;
    }
    if (joined) this.joined.add(roomId);
    else this.joined.delete(roomId);
  }

  /**
   * Whether an encrypted event may be for the bot: not sticky (those are call memberships), not the bot's own, in
   * a room the bot is in (unknown until the set is read: then yes).
   */
  forBot(event: Record<string, unknown>): boolean {
    if (hasStickyMarker(event) || event.sender === this.d.matrix.botUserId) return false;
    if (typeof event.room_id !== "string") return false;
    if (this.joined === null) {
      void this.load();
      return true;
    }
    return this.joined.has(event.room_id);
  }

  /** Whether the event would get a notice now: it may be for the bot, and its room was not told recently. */
  wants(event: Record<string, unknown>): boolean {
    return (
      this.forBot(event) &&
      typeof event.room_id === "string" &&
      !this.recentlyTold(event.room_id, this.d.clock.now())
    );
  }

  /**
   * Tells the room, once per interval, that an encrypted message could not be read, why (`reason`; null: the bot
   * has no encrypted device) and where to ask instead.
   */
  async notify(event: Record<string, unknown>, reason: Undecryptable | null = null): Promise<void> {
    if (!this.wants(event) || typeof event.room_id !== "string") return;
    const roomId = event.room_id;
    await this.load();
    if (!this.joined?.has(roomId)) return;
    const now = this.d.clock.now();
    if (this.recentlyTold(roomId, now)) return;
    if (this.lastNotice.size >= PRUNE_AT) this.prune(now);
    this.lastNotice.set(roomId, now);
    const p = this.d.prefix;
    const reply = new ReplyBuilder()
      .line(
        reason === null
          ? NO_DEVICE
          : `An encrypted message here could not be read by this service: ${WHY[reason]}`,
      )
      .line(
        reason === null
          ? "Ask in an unencrypted room the service is in, naming this room:"
          : "If it was a command, send it again, or ask in an unencrypted room the service is in, naming this room:",
      )
      .code(`${p} status ${roomId}`)
      .line(
        `(history, ghosts and clean take a room too; ${p} help lists them.) This note is posted at most once a day.`,
      )
      .build();
    this.d.logger.info("encrypted room: told that commands cannot be read here", {
      room: roomId,
      reason: reason ?? "no_device",
    });
    await this.d.matrix.sendNotice(roomId, reply.text, reply.html);
  }

  private recentlyTold(roomId: string, now: number): boolean {
    const at = this.lastNotice.get(roomId);
    return at !== undefined && now - at < ENCRYPTED_NOTICE_INTERVAL_MS;
  }

  private prune(now: number): void {
    for (const [room, at] of this.lastNotice)
      if (now - at >= ENCRYPTED_NOTICE_INTERVAL_MS) this.lastNotice.delete(room);
  }

  /** Reads the bot's joined rooms once; a failed read is tried again by the next encrypted event. */
  private load(): Promise<void> {
    if (this.joined !== null) return Promise.resolve();
    this.loading ??= this.d.matrix
      .joinedRooms()
      .then((rooms) => {
        const joined = new Set(rooms);
        for (const [room, isJoined] of this.seenWhileLoading)
          if (isJoined) joined.add(room);
          else joined.delete(room);
        this.joined = joined;
      })
      .catch((err: unknown) => {
        this.d.logger.warn("could not read the rooms the bot is in", { error: String(err) });
      })
      .finally(() => {
        this.loading = null;
        this.seenWhileLoading.clear();
      });
    return this.loading;
  }
}
