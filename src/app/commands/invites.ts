// The bot's invites: joined when the inviter is allowed by `commands.accept_invites_from`, declined otherwise.
import type { Logger } from "../ports/logger";
import type { MatrixPort } from "../ports/matrix";
import type { RoomAccessCache } from "../reconcile/room-access";

export interface InviteDeps {
  readonly matrix: MatrixPort;
  readonly access: RoomAccessCache;
  readonly logger: Logger;
  readonly policy: "anyone" | "local" | "admins";
  /** Our homeserver's domain: `local` means an inviter on it. */
  readonly domain: string;
  /** Configured admins may always invite the bot. */
  readonly admins: readonly string[];
  /** Called once the bot has joined (the room's state is then read). */
  readonly onJoined: (roomId: string) => Promise<void>;
}

/** Joins or declines one invite; every outcome is logged, nothing is thrown. */
export async function answerInvite(d: InviteDeps, event: Record<string, unknown>): Promise<void> {
  const roomId = String(event.room_id);
  const sender = String(event.sender);
  const allowed =
    d.policy === "anyone" ||
    (d.policy === "local" && sender.endsWith(`:${d.domain}`)) ||
    d.admins.includes(sender);
  try {
    if (!allowed) {
      d.logger.info("invite declined by policy", { room: roomId, sender, policy: d.policy });
      await d.matrix.leave(roomId);
      return;
    }
    await d.matrix.join(roomId);
    d.access.invalidate(roomId);
    d.logger.info("joined a room on invite", { room: roomId, sender });
    await d.onJoined(roomId);
  } catch (err) {
    d.logger.warn("could not act on an invite", { room: roomId, sender, error: String(err) });
  }
}
