// The bot in rooms: accepts invites by policy, answers commands about its room or another (permissions there, then rate limit and lateness, escaped replies).
import { formatDuration } from "../../domain/commands/render";
import { commandDelay } from "../../domain/commands/lateness";
import { parseInvocation } from "../../domain/commands/parse";
import { ReplyBuilder, type Reply } from "../../domain/commands/html";
import { permissionFor, refusalText } from "../../domain/commands/permission";
import { splitTarget } from "../../domain/commands/target";
import { historyAccess, type HistoryAccess } from "../../domain/rooms/visibility";
import type { Clock } from "../ports/clock";
import type { CryptoSource } from "../ports/crypto";
import type { Logger } from "../ports/logger";
import type { MatrixPort } from "../ports/matrix";
import type { Metrics } from "../ports/metrics";
import type { Store } from "../ports/store";
import type { RoomAccessCache } from "../reconcile/room-access";
import { EncryptedChannel } from "./encrypted-channel";
import { answerInvite } from "./invites";
import { RateLimits, type RateBucket } from "./rate-limits";
import { Targeting } from "./targeting";
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
  /** How long an encrypted command waits for its room key (default 15 s). */
  readonly keyWaitMs?: number;
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
  /** The bot's encrypted device, once it runs (absent: encrypted rooms get a notice only). */
  readonly crypto?: CryptoSource;
}

const asRecord = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** A reply about another room, with a first line that names it (null: the room it was asked in, as it is). */
function aboutNote(label: string | null, reply: Reply): Reply {
  if (label === null) return reply;
  const head = new ReplyBuilder().heading(`About ${label}:`).build();
  return { text: `${head.text}\n${reply.text}`, html: `${head.html}<br>\n${reply.html}` };
}

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
  private readonly targeting: Targeting;
  private readonly encrypted: EncryptedChannel;

  constructor(private readonly d: BotDeps) {
    this.opts = d.options;
    this.targeting = new Targeting({
      matrix: d.matrix,
      access: d.access,
      logger: d.logger,
      admins: d.options.admins,
      moderatorLevel: d.options.moderatorLevel,
    });
    this.encrypted = new EncryptedChannel({
      matrix: d.matrix,
      clock: d.clock,
      logger: d.logger,
      prefix: d.options.prefix,
      keyWaitMs: d.options.keyWaitMs ?? 15_000,
      ...(d.crypto ? { crypto: d.crypto } : {}),
    });
    this.limits = new RateLimits(d.options.ratePerMinute);
    this.byName = new Map(d.table.map((c) => [c.name, c]));
  }

  /** Whether a message might be a command (lets the intake skip ordinary chat). */
  looksLikeCommand(event: Record<string, unknown>): boolean {
    const body = asRecord(event.content).body;
    return typeof body === "string" && body.trimStart().startsWith(this.opts.prefix);
  }

  /** Whether an encrypted message should reach `onEncrypted` (lets the intake skip the others). */
  wantsEncrypted(event: Record<string, unknown>): boolean {
    return this.encrypted.wants(event);
  }

  /**
   * An encrypted message: decrypted by the bot's device when it has one (a command is then answered, encrypted);
   * one it cannot read gets the room's notice, at most once a day, saying why and where to ask instead.
   */
  onEncrypted(event: Record<string, unknown>, receivedAt: number = this.d.clock.now()): void {
    this.encrypted.read(event).then(
      (plain) => {
        if (plain !== null) this.onMessage(plain, receivedAt);
      },
      (err: unknown) => {
        this.d.logger.warn("could not post the encrypted room notice", {
          room: event.room_id,
          error: String(err),
        });
      },
    );
  }

  /**
   * The bot's own membership event, seen by the intake at the door (the one place the bot's set of joined rooms
   * learns of it): a join counts for the rest of its transaction.
   */
  noteMembership(event: Record<string, unknown>): void {
    if (event.state_key !== this.d.matrix.botUserId || typeof event.room_id !== "string") return;
    const content = event.content;
    if (typeof content === "object" && content !== null && "membership" in content)
      this.encrypted.onOwnMembership(event.room_id, content.membership);
  }

  onInvite(event: Record<string, unknown>): void {
    void answerInvite(
      {
        matrix: this.d.matrix,
        access: this.d.access,
        logger: this.d.logger,
        policy: this.opts.acceptInvitesFrom,
        domain: this.opts.domain,
        admins: this.opts.admins,
        onJoined: (roomId) => this.d.onJoined(roomId),
      },
      event,
    );
  }

  /** A room message; `receivedAt` is when the service journaled it (our clock), to measure lateness. */
  onMessage(event: Record<string, unknown>, receivedAt: number = this.d.clock.now()): void {
    void this.answer(event, receivedAt).catch((err: unknown) => {
      this.d.logger.error("command failed", { room: event.room_id, error: err });
    });
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
    const about = await this.aboutWhich(cmd, roomId, invocation.args, now);
    if (about === null) return;
    const { target, label, args } = about;
    const isAdmin = this.opts.admins.includes(sender);
    const refusal = permissionFor(
      await this.targeting.facts({ permission: cmd.permission, sender, askedIn: roomId, target, now }),
    );
    // Refusals draw on their own bucket: those who may not run a command cannot spend the answers of those who may.
    const bucket: RateBucket =
      refusal !== null ? "rejected" : cmd.permission === "anyone" ? "open" : "privileged";
    if (!(await this.allowed(roomId, bucket, cmd.name, now))) return;
    const audit = (result: string, extra: Record<string, unknown> = {}): void => {
      const askedIn = target === roomId ? {} : { asked_in: roomId };
      this.audit(cmd, target, sender, now, result, invocation.args, { ...askedIn, ...extra });
    };
    if (refusal !== null) {
      this.d.metrics.command(cmd.name, "refused");
      audit("refused");
      await this.reply(roomId, new ReplyBuilder().line(refusalText(cmd.name, refusal, label)).build());
      return;
    }
    const delay = commandDelay(event.unsigned, receivedAt, now);
    const late = this.opts.maxCommandAgeMs > 0 && delay > this.opts.maxCommandAgeMs;
    if (late && cmd.changesCalls) {
      this.d.metrics.command(cmd.name, "late");
      audit("late", { delay_ms: delay });
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
    const ctx: CommandContext = {
      roomId: target,
      askedIn: roomId,
      sender,
      isAdmin,
      now,
      room: this.roomFor(target, sender, now),
    };
    const result = await cmd.invoke(ctx, args);
    if ("usageError" in result) {
      this.d.metrics.command(cmd.name, "usage");
      await this.usage(roomId, cmd, result.usageError);
      return;
    }
    if (isRefusal(result)) {
      this.d.metrics.command(cmd.name, "refused");
      if (cmd.permission !== "anyone") audit("refused", { reply: result.refused.text });
      await this.reply(roomId, aboutNote(label, result.refused));
      return;
    }
    this.d.metrics.command(cmd.name, "ok");
    if (cmd.permission !== "anyone") audit("ok");
    // A late read is still answered: it changes nothing, and the note says the answer shows the state now.
    await this.reply(roomId, aboutNote(label, late ? lateNote(delay, result) : result));
  }

  /**
   * The room a command is about: the one it was asked in, or the room its arguments name (an alias looked up in
   * the directory, within the room's lookup bucket). Null when the sender was already answered (a bad room
   * argument, an alias no room has) or the bucket is spent. `label` names the target in replies (null: here).
   */
  private async aboutWhich(
    cmd: AnyCommand,
    roomId: string,
    words: readonly string[],
    now: number,
  ): Promise<{ target: string; label: string | null; args: readonly string[] } | null> {
    if (!cmd.aboutRoom) return { target: roomId, label: null, args: words };
    const split = splitTarget(words);
    if (!split.ok) {
      if (!(await this.allowed(roomId, "rejected", cmd.name, now))) return null;
      this.d.metrics.command(cmd.name, "usage");
      await this.usage(roomId, cmd, split.error);
      return null;
    }
    const { target, rest } = split.value;
    if (target === null) return { target: roomId, label: null, args: rest };
    if (target.kind === "alias" && !(await this.allowed(roomId, "lookup", cmd.name, now))) return null;
    const resolved = await this.targeting.resolve(target);
    if (!resolved.ok) {
      this.d.metrics.command(cmd.name, "refused");
      await this.reply(roomId, new ReplyBuilder().line(resolved.reason).build());
      return null;
    }
    if (resolved.roomId === roomId) return { target: roomId, label: null, args: rest };
    return { target: resolved.roomId, label: resolved.label, args: rest };
  }

  private async usage(roomId: string, cmd: AnyCommand, error: string): Promise<void> {
    await this.reply(
      roomId,
      new ReplyBuilder()
        .line(`${cmd.name} ${error}. Usage:`)
        .code(`${this.opts.prefix} ${cmd.usage}`)
        .build(),
    );
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

  /** A notice; encrypted in rooms whose commands came encrypted (see `EncryptedChannel`). */
  private async reply(roomId: string, reply: Reply): Promise<void> {
    await this.encrypted.send(roomId, reply);
  }
}
