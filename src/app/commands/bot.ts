// The bot in rooms: accepts invites by policy, answers commands (permissions, then rate limit and lateness, escaped replies).
import { formatDuration } from "../../domain/commands/render";
import { commandDelay } from "../../domain/commands/lateness";
import { parseInvocation } from "../../domain/commands/parse";
import { ReplyBuilder, type Reply } from "../../domain/commands/html";
import { atLeast } from "../../domain/rooms/power";
import { historyAccess, type HistoryAccess } from "../../domain/rooms/visibility";
import type { Clock } from "../ports/clock";
import type { Logger } from "../ports/logger";
import type { MatrixPort } from "../ports/matrix";
import type { Metrics } from "../ports/metrics";
import type { Store } from "../ports/store";
import type { RoomAccessCache } from "../reconcile/room-access";
import { RateLimits, type RateBucket } from "./rate-limits";
import { type AnyCommand, type CommandContext, type CommandRoom, isRefusal } from "./types";

export interface BotOptions {
  readonly prefix: string;
  readonly admins: readonly string[];
  readonly moderatorLevel: number;
  readonly acceptInvitesFrom: "anyone" | "local" | "admins";
  readonly ratePerMinute: number;
  readonly domain: string;
  /** A command that changes calls and reaches us later than this after the homeserver got it is not run; 0 = no limit. */
  readonly maxCommandAgeMs: number;
}

export interface BotDeps {
  readonly table: readonly AnyCommand[];
  readonly matrix: MatrixPort;
  readonly access: RoomAccessCache;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly options: BotOptions;
  /** Called after the bot joined a room (to read its state). */
  readonly onJoined: (roomId: string) => Promise<void>;
}

const asRecord = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** A read answered late, with a first line that says so. */
function lateNote(delay: number, reply: Reply): Reply {
  const note = `(Answered late: this command reached the service ${formatDuration(delay)} after the homeserver received it; what follows is the state now.)`;
  return { text: `${note}\n${reply.text}`, html: `<i>${note}</i><br>\n${reply.html}` };
}

/**
 * Concurrency: each message is answered in its own promise, after the journal transaction that held it
 * committed; answers to one room may interleave. A command takes from the rate limits once its permission is
 * known, before it runs; the room's power rules are read through the shared, invalidated access cache.
 */
export class Bot {
  private readonly limits: RateLimits;
  private readonly byName: Map<string, AnyCommand>;
  private readonly opts: BotOptions;

  constructor(private readonly d: BotDeps) {
    this.opts = d.options;
    this.limits = new RateLimits(d.options.ratePerMinute);
    this.byName = new Map(d.table.map((c) => [c.name, c]));
  }

  /** Whether a message might be a command (lets the intake skip ordinary chat). */
  looksLikeCommand(event: Record<string, unknown>): boolean {
    const body = asRecord(event.content).body;
    return typeof body === "string" && body.trimStart().startsWith(this.opts.prefix);
  }

  onInvite(event: Record<string, unknown>): void {
    void this.acceptInvite(event);
  }

  private async acceptInvite(event: Record<string, unknown>): Promise<void> {
    const roomId = String(event.room_id);
    const sender = String(event.sender);
    const policy = this.opts.acceptInvitesFrom;
    const allowed =
      policy === "anyone" ||
      (policy === "local" && sender.endsWith(`:${this.opts.domain}`)) ||
      this.opts.admins.includes(sender);
    try {
      if (!allowed) {
        this.d.logger.info("invite declined by policy", { room: roomId, sender, policy });
        await this.d.matrix.leave(roomId);
        return;
      }
      await this.d.matrix.join(roomId);
      this.d.access.invalidate(roomId);
      this.d.logger.info("joined a room on invite", { room: roomId, sender });
      await this.d.onJoined(roomId);
    } catch (err) {
      this.d.logger.warn("could not act on an invite", { room: roomId, sender, error: String(err) });
    }
  }

  /** A room message; `receivedAt` is when the service journaled it (our clock), to measure lateness. */
  onMessage(event: Record<string, unknown>, receivedAt: number = this.d.clock.now()): void {
    void this.answer(event, receivedAt).catch((err: unknown) => {
      this.d.logger.error("command failed", { room: event.room_id, error: err });
    });
  }

  private async isModerator(roomId: string, userId: string, now: number): Promise<boolean> {
    if (this.opts.admins.includes(userId)) return true;
    const access = await this.d.access.get(roomId, null, now);
    if (!access.botJoined) return false;
    return atLeast(this.d.access.levelOf(access, userId), this.opts.moderatorLevel);
  }

  /**
   * Takes one answer from the room's bucket; false when the bucket is spent (the first time, the room is told).
   * `label` is a command table name or "unknown", never the sender's word.
   */
  private async allowed(roomId: string, bucket: RateBucket, label: string, now: number): Promise<boolean> {
    const limit = this.limits.take(roomId, bucket, now);
    if (limit === "ok") return true;
    if (limit === "warn") {
      this.d.metrics.command(label, "rate_limited");
      await this.reply(
        roomId,
        new ReplyBuilder().line("Too many commands in this room; try again in a minute.").build(),
      );
    }
    return false;
  }

  private async answer(event: Record<string, unknown>, receivedAt: number): Promise<void> {
    const content = asRecord(event.content);
    const roomId = typeof event.room_id === "string" ? event.room_id : null;
    const sender = typeof event.sender === "string" ? event.sender : null;
    if (roomId === null || sender === null || sender === this.d.matrix.botUserId) return;
    if (content.msgtype === "m.notice") return; // other bots speak in notices
    const invocation = parseInvocation(content.body, this.opts.prefix);
    if (invocation.kind === "none") return;
    const now = this.d.clock.now();
    const cmd = this.byName.get(invocation.name);
    if (!cmd) {
      if (!(await this.allowed(roomId, "rejected", "unknown", now))) return;
      this.d.metrics.command("unknown", "unknown");
      await this.reply(
        roomId,
        new ReplyBuilder()
          .line(`Unknown command "${invocation.name}". Try: ${this.opts.prefix} help`)
          .build(),
      );
      return;
    }
    const isAdmin = this.opts.admins.includes(sender);
    const permitted =
      cmd.permission === "anyone" ||
      (cmd.permission === "admin" && isAdmin) ||
      (cmd.permission === "moderator" && (await this.isModerator(roomId, sender, now)));
    // Refusals draw on their own bucket: those who may not run a command cannot spend the answers of those who may.
    const bucket: RateBucket = !permitted ? "rejected" : cmd.permission === "anyone" ? "open" : "privileged";
    if (!(await this.allowed(roomId, bucket, cmd.name, now))) return;
    if (!permitted) {
      this.d.metrics.command(cmd.name, "refused");
      this.audit(cmd, roomId, sender, now, "refused", invocation.args);
      const who =
        cmd.permission === "admin"
          ? "an admin of this service"
          : `power level ${this.opts.moderatorLevel} or more in this room`;
      await this.reply(roomId, new ReplyBuilder().line(`"${cmd.name}" needs ${who}.`).build());
      return;
    }
    const delay = commandDelay(event.unsigned, receivedAt, now);
    const late = this.opts.maxCommandAgeMs > 0 && delay > this.opts.maxCommandAgeMs;
    if (late && cmd.changesCalls) {
      this.d.metrics.command(cmd.name, "late");
      this.audit(cmd, roomId, sender, now, "late", invocation.args, { delay_ms: delay });
      await this.reply(
        roomId,
        new ReplyBuilder()
          .line(
            `"${cmd.name}" was not run: it reached the service ${formatDuration(delay)} after the homeserver received it (the limit is ${formatDuration(this.opts.maxCommandAgeMs)}), and the calls may have changed since. Send it again if it is still wanted.`,
          )
          .build(),
      );
      return;
    }
    const ctx: CommandContext = { roomId, sender, isAdmin, now, room: this.roomFor(roomId, sender, now) };
    const result = await cmd.invoke(ctx, invocation.args);
    if ("usageError" in result) {
      this.d.metrics.command(cmd.name, "usage");
      await this.reply(
        roomId,
        new ReplyBuilder()
          .line(`${cmd.name} ${result.usageError}. Usage:`)
          .code(`${this.opts.prefix} ${cmd.usage}`)
          .build(),
      );
      return;
    }
    if (isRefusal(result)) {
      this.d.metrics.command(cmd.name, "refused");
      if (cmd.permission !== "anyone")
        this.audit(cmd, roomId, sender, now, "refused", invocation.args, { reply: result.refused.text });
      await this.reply(roomId, result.refused);
      return;
    }
    this.d.metrics.command(cmd.name, "ok");
    if (cmd.permission !== "anyone") this.audit(cmd, roomId, sender, now, "ok", invocation.args);
    // A late read is still answered: it changes nothing, and the note says the answer shows the state now.
    await this.reply(roomId, late ? lateNote(delay, result) : result);
  }

  /** What a command may read of its room: the power rules (shared cache), the history visibility (fresh). */
  private roomFor(roomId: string, sender: string, now: number): CommandRoom {
    const { matrix, access } = this.d;
    return {
      rules: () => access.get(roomId, null, now),
      historyAccess: async (): Promise<HistoryAccess> => {
        const bot = { kind: "bot" } as const;
        try {
          const [visibility, member] = await Promise.all([
            matrix.stateEvent(roomId, "m.room.history_visibility", "", bot),
            matrix.stateEvent(roomId, "m.room.member", sender, bot),
          ]);
          return historyAccess(visibility?.content.history_visibility, member?.content.membership);
        } catch (err) {
          this.d.logger.warn("could not read the room's history visibility", {
            room: roomId,
            error: String(err),
          });
          return { kind: "refused", reason: "the service could not read who may see this room's history" };
        }
      },
    };
  }

  private audit(
    cmd: AnyCommand,
    roomId: string,
    sender: string,
    now: number,
    result: string,
    args: readonly string[],
    extra: Record<string, unknown> = {},
  ): void {
    this.d.store.audit({
      at: now,
      action: "command",
      roomId,
      actor: sender,
      reason: cmd.name,
      result,
      evidence: { args, ...extra },
    });
    this.d.logger.info("command", { room: roomId, sender, command: cmd.name, result, args, ...extra });
  }

  private async reply(roomId: string, reply: Reply): Promise<void> {
    await this.d.matrix.sendNotice(roomId, reply.text, reply.html);
  }
}
