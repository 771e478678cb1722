// The bot in rooms: accepts invites by policy, answers commands (permission checks, rate limit, escaped replies).
import { parseInvocation } from "../../domain/commands/parse";
import { ReplyBuilder, type Reply } from "../../domain/commands/html";
import { atLeast } from "../../domain/rooms/power";
import type { Clock } from "../ports/clock";
import type { Logger } from "../ports/logger";
import type { MatrixPort } from "../ports/matrix";
import type { Metrics } from "../ports/metrics";
import type { Store } from "../ports/store";
import type { RoomAccessCache } from "../reconcile/room-access";
import type { AnyCommand, CommandContext } from "./types";

export interface BotOptions {
  readonly prefix: string;
  readonly admins: readonly string[];
  readonly moderatorLevel: number;
  readonly acceptInvitesFrom: "anyone" | "local" | "admins";
  readonly ratePerMinute: number;
  readonly domain: string;
}

const asRecord = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

export class Bot {
  private readonly windows = new Map<string, { start: number; count: number; warned: boolean }>();
  private readonly byName: Map<string, AnyCommand>;

  constructor(
    table: readonly AnyCommand[],
    private readonly matrix: MatrixPort,
    private readonly access: RoomAccessCache,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly opts: BotOptions,
    /** Called after the bot joined a room (to read its state). */
    private readonly onJoined: (roomId: string) => Promise<void>,
  ) {
    this.byName = new Map(table.map((c) => [c.name, c]));
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
        this.logger.info("invite declined by policy", { room: roomId, sender, policy });
        await this.matrix.leave(roomId);
        return;
      }
      await this.matrix.join(roomId);
      this.access.invalidate(roomId);
      this.logger.info("joined a room on invite", { room: roomId, sender });
      await this.onJoined(roomId);
    } catch (err) {
      this.logger.warn("could not act on an invite", { room: roomId, sender, error: String(err) });
    }
  }

  onMessage(event: Record<string, unknown>): void {
    void this.answer(event).catch((err: unknown) => {
      this.logger.error("command failed", { room: event.room_id, error: err });
    });
  }

  private limited(roomId: string, now: number): "ok" | "warn" | "drop" {
    const w = this.windows.get(roomId);
    if (!w || now - w.start >= 60_000) {
      this.windows.set(roomId, { start: now, count: 1, warned: false });
      return "ok";
    }
    w.count++;
    if (w.count <= this.opts.ratePerMinute) return "ok";
    if (w.warned) return "drop";
    w.warned = true;
    return "warn";
  }

  private async isModerator(roomId: string, userId: string, now: number): Promise<boolean> {
    if (this.opts.admins.includes(userId)) return true;
    const access = await this.access.get(roomId, null, now);
    if (!access.botJoined) return false;
    return atLeast(this.access.levelOf(access, userId), this.opts.moderatorLevel);
  }

  private async answer(event: Record<string, unknown>): Promise<void> {
    const content = asRecord(event.content);
    const roomId = typeof event.room_id === "string" ? event.room_id : null;
    const sender = typeof event.sender === "string" ? event.sender : null;
    if (roomId === null || sender === null || sender === this.matrix.botUserId) return;
    if (content.msgtype === "m.notice") return; // other bots speak in notices
    const invocation = parseInvocation(content.body, this.opts.prefix);
    if (invocation.kind === "none") return;
    const now = this.clock.now();
    const limit = this.limited(roomId, now);
    if (limit === "drop") return;
    if (limit === "warn") {
      this.metrics.command(invocation.name, "rate_limited");
      await this.reply(
        roomId,
        new ReplyBuilder().line("Too many commands in this room; try again in a minute.").build(),
      );
      return;
    }
    const cmd = this.byName.get(invocation.name);
    if (!cmd) {
      this.metrics.command("unknown", "unknown");
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
    if (!permitted) {
      this.metrics.command(cmd.name, "refused");
      this.audit(cmd, roomId, sender, now, "refused", invocation.args);
      const who =
        cmd.permission === "admin"
          ? "an admin of this service"
          : `power level ${this.opts.moderatorLevel} or more in this room`;
      await this.reply(roomId, new ReplyBuilder().line(`"${cmd.name}" needs ${who}.`).build());
      return;
    }
    const ctx: CommandContext = { roomId, sender, isAdmin, now };
    const result = await cmd.invoke(ctx, invocation.args);
    if ("usageError" in result) {
      this.metrics.command(cmd.name, "usage");
      await this.reply(
        roomId,
        new ReplyBuilder()
          .line(`${cmd.name} ${result.usageError}. Usage:`)
          .code(`${this.opts.prefix} ${cmd.usage}`)
          .build(),
      );
      return;
    }
    this.metrics.command(cmd.name, "ok");
    if (cmd.permission !== "anyone") this.audit(cmd, roomId, sender, now, "ok", invocation.args);
    await this.reply(roomId, result);
  }

  private audit(
    cmd: AnyCommand,
    roomId: string,
    sender: string,
    now: number,
    result: string,
    args: readonly string[],
  ): void {
    this.store.audit({
      at: now,
      action: "command",
      roomId,
      actor: sender,
      reason: cmd.name,
      result,
      evidence: { args },
    });
    this.logger.info("command", { room: roomId, sender, command: cmd.name, result, args });
  }

  private async reply(roomId: string, reply: Reply): Promise<void> {
    await this.matrix.sendNotice(roomId, reply.text, reply.html);
  }
}
