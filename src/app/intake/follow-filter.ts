// Decides at the door what is journaled: call events always, room events only of rooms the service follows.
import { hasStickyMarker } from "../../domain/membership/parse";

/** Call membership event types (MSC3401, MSC4143): each one makes its room followed. */
const CALL_TYPES: ReadonlySet<string> = new Set([
  "m.call.member",
  "org.matrix.msc3401.call.member",
  "m.rtc.member",
  "org.matrix.msc4143.rtc.member",
]);

/** What the bot says about the messages it would act on. */
export interface BotInterest {
  /** Messages are kept only when they look like commands. */
  looksLikeCommand(event: Record<string, unknown>): boolean;
  /** An encrypted message it would decrypt, or tell the room it cannot read. */
  wantsEncrypted(event: Record<string, unknown>): boolean;
  /** Sees the bot's own membership events as they are journaled (a join counts for the rest of the transaction). */
  noteMembership(event: Record<string, unknown>): void;
}

export interface FollowFilterDeps {
  /** Whether the call state follows the room: it has or lately had call state, or the bot is in it. */
  readonly followed: (roomId: string) => boolean;
  /** The bot's own membership events (invites, joins) are kept whatever the room. */
  readonly botUserId: string;
  readonly bot: BotInterest;
}

/**
 * A homeserver sends every room's events; the service keeps those of rooms with calls. A call event is always
 * journaled and makes its room followed; `m.room.member`, `m.room.create`, `m.room.power_levels` and
 * `m.room.encryption` are journaled only in followed rooms (a newly followed room's state is read from the
 * homeserver instead, see `Applied.readState`). An encrypted event counts as a call event when it is sticky
 * (MSC4354: an encrypted call membership); other encrypted events only when the bot wants them (a room it is in).
 *
 * Concurrency: the call state learns of a room only when the journal is drained (after the homeserver's 200),
 * so a room whose call event was journaled but not yet processed is remembered here (`arriving`): the events
 * after it, in the same transaction or the next, are journaled too. The drain clears it once everything
 * journaled has been processed.
 */
export class FollowFilter {
  private readonly arriving = new Set<string>();

  constructor(private readonly d: FollowFilterDeps) {}

  /** Whether the event is worth journaling (`type` is the event's own, already known to be one the intake reads). */
  wanted(type: string, event: Record<string, unknown>): boolean {
    if (CALL_TYPES.has(type)) return true;
    if (type === "m.room.encrypted") return hasStickyMarker(event) || this.d.bot.wantsEncrypted(event);
    if (type === "m.room.message") return this.d.bot.looksLikeCommand(event);
    if (type === "m.room.member" && event.state_key === this.d.botUserId) {
      this.d.bot.noteMembership(event);
      return true;
    }
    const roomId = event.room_id;
    return typeof roomId === "string" && (this.arriving.has(roomId) || this.d.followed(roomId));
  }

  /** An event was journaled: a call event's room is followed from now on. */
  journaled(type: string, roomId: string, event: Record<string, unknown>): void {
    if (CALL_TYPES.has(type) || (type === "m.room.encrypted" && hasStickyMarker(event))) {
      if (!this.d.followed(roomId)) this.arriving.add(roomId);
    }
  }

  /** Everything journaled has been processed: the call state now knows every room it follows. */
  drained(): void {
    this.arriving.clear();
  }
}
