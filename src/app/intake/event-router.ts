// Routes one journaled event: call membership and room events to the call state, messages (plain or encrypted) and
// invites to the bot; asks for the state of a room whose first call event this is.
import { hasStickyMarker } from "../../domain/membership/parse";
import type { Clock } from "../ports/clock";
import type { Logger } from "../ports/logger";
import type { Metrics } from "../ports/metrics";
import type { InboxEntry } from "../ports/store";
import type { Reconciler } from "../reconcile/reconciler";
import type { RoomAccessCache } from "../reconcile/room-access";
import type { CallState } from "../state/call-state";

/** Bot-facing events are handed over after the journal transaction commits (they do network I/O). */
export interface BotEvents {
  /** `receivedAt`: when the event was journaled (our clock), so the bot can tell how late a command is. */
  onMessage(event: Record<string, unknown>, receivedAt: number): void;
  onInvite(event: Record<string, unknown>): void;
  /** An encrypted room event that is no sticky call membership (a message for the bot's device, if it has one). */
  onEncrypted(event: Record<string, unknown>, receivedAt: number): void;
}

export interface EventRouterDeps {
  readonly state: CallState;
  readonly reconciler: Reconciler;
  readonly access: RoomAccessCache;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The bot's own messages are never commands; its own invites and joins change what it may read and write. */
  readonly botUserId: string;
  readonly bot: BotEvents;
  /** Decrypts an encrypted sticky event (possibly a call membership), after the batch. */
  readonly readEncrypted: (event: Record<string, unknown>, roomId: string, receivedAt: number) => void;
  /** Reads the state of a room the service began to follow (its first call event), after the batch. */
  readonly readRoomState: (roomId: string) => void;
}

const MAX_LOGGED_KINDS = 200;

export class EventRouter {
  private readonly loggedInvalid = new Set<string>();
  private readonly deferred: (() => void)[] = [];

  constructor(private readonly d: EventRouterDeps) {}

  handle(entry: InboxEntry): void {
    const e = entry.event as Record<string, unknown>;
    const type = String(e.type);
    // An event's origin_server_ts is its sender's claim: it never feeds the server clock (see ServerClockOffset).
    if (type === "m.room.message") {
      if (e.sender !== this.d.botUserId)
        this.deferred.push(() => {
          this.d.bot.onMessage(e, entry.receivedAt);
        });
      this.d.metrics.matrixEvent(type, "applied");
      return;
    }
    if (type === "m.room.encrypted" && !hasStickyMarker(e)) {
      // Not a call membership: a message the bot decrypts if it can, answered with a notice rather than silence.
      if (e.sender !== this.d.botUserId)
        this.deferred.push(() => {
          this.d.bot.onEncrypted(e, entry.receivedAt);
        });
      this.d.metrics.matrixEvent(type, "unreadable");
      return;
    }
    if (type === "m.room.power_levels" || type === "m.room.create") this.d.access.invalidate(entry.roomId);
    if (type === "m.room.member" && e.state_key === this.d.botUserId) {
      // The bot's set of joined rooms learnt of this at the door (`FollowFilter`), for the rest of its transaction.
      this.d.access.invalidate(entry.roomId);
      const content =
        typeof e.content === "object" && e.content !== null ? (e.content as Record<string, unknown>) : {};
      if (content.membership === "invite")
        this.deferred.push(() => {
          this.d.bot.onInvite(e);
        });
    }
    if (type === "m.room.power_levels") {
      this.d.metrics.matrixEvent(type, "applied");
      return;
    }
    const applied = this.d.state.apply(e, entry.roomId, entry.receivedAt);
    const parse = applied.parse;
    switch (parse.kind) {
      case "invalid":
      case "room-event-invalid":
        this.d.metrics.matrixEvent(type, "invalid");
        this.invalid(type, "reasons" in parse ? parse.reasons : [], entry);
        break;
      case "slot":
        this.d.metrics.matrixEvent(type, "applied");
        // Malformed entries of an MSC3401 / legacy array are skipped; the rest of the array still counts.
        if ("problems" in parse && parse.problems.length > 0) this.invalid(type, parse.problems, entry);
        break;
      case "unreadable":
        this.d.metrics.matrixEvent(type, "unreadable");
        this.d.state.countUnreadable(entry.roomId, this.d.clock.now());
        this.deferred.push(() => {
          this.d.readEncrypted(e, entry.roomId, entry.receivedAt);
        });
        break;
      case "not-membership":
        this.d.metrics.matrixEvent(type, "ignored");
        break;
      default:
        this.d.metrics.matrixEvent(type, "applied");
    }
    if (applied.readState === true) {
      const roomId = entry.roomId;
      this.deferred.push(() => {
        this.d.readRoomState(roomId);
      });
    }
    this.d.reconciler.onApplied(applied);
  }

  /** Writes what the batch changed in the call state (inside the batch's transaction). */
  flush(): void {
    this.d.state.flush();
  }

  /** Runs the network-bound reactions collected during the last batch (after its transactions committed). */
  afterBatch(): void {
    for (const run of this.deferred.splice(0)) {
      try {
        run();
      } catch (err) {
        this.d.logger.error("bot reaction failed", { error: err });
      }
    }
    this.d.reconciler.flush();
  }

  private invalid(type: string, reasons: readonly string[], entry: InboxEntry): void {
    for (const reason of reasons) {
      const kind = `${type}: ${reason.replace(/\[\d+\]/g, "[]")}`;
      this.d.metrics.invalidMembership(kind.slice(0, 120));
      if (this.loggedInvalid.has(kind) || this.loggedInvalid.size >= MAX_LOGGED_KINDS) continue;
      this.loggedInvalid.add(kind);
      this.d.logger.warn("invalid membership event (logged once per kind)", {
        room: entry.roomId,
        event_id: entry.eventId,
        type,
        reason,
      });
    }
  }
}
