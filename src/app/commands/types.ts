// The shape of a bot command: one table entry drives dispatch, permission checks, lateness and help.
import type { Reply } from "../../domain/commands/html";
import type { ArgsResult } from "../../domain/commands/parse";
import type { Permission } from "../../domain/commands/permission";
import type { RoomRules } from "../../domain/rooms/power";
import type { HistoryAccess } from "../../domain/rooms/visibility";

export type { Permission } from "../../domain/commands/permission";

/** What a command may read of its room, when it needs it. */
export interface CommandRoom {
  /** The room's power rules as the homeserver has them (briefly cached; power level changes invalidate it). */
  rules(): Promise<RoomRules>;
  /** Whether the sender may see the room's past calls, by its history visibility. */
  historyAccess(): Promise<HistoryAccess>;
}

export interface CommandContext {
  /** The room the command is about: where it was asked, or the room it names. */
  readonly roomId: string;
  /** The room the command was asked in, where the reply goes. */
  readonly askedIn: string;
  readonly sender: string;
  readonly isAdmin: boolean;
  readonly now: number;
  readonly room: CommandRoom;
}

/** A command that ran but declined to act (the room's rules forbid it); the reply says why. */
export interface Refusal {
  readonly refused: Reply;
}

export type CommandResult = Reply | Refusal;

export const isRefusal = (r: CommandResult | { readonly usageError: string }): r is Refusal => "refused" in r;

export interface Command<A> {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly permission: Permission;
  /** It changes calls (clears memberships, removes participants): not run when it arrives late. */
  readonly changesCalls: boolean;
  /**
   * It may be about another room, named by id or alias among its arguments (`[room]` in its usage); the bot
   * takes that argument out, resolves it and checks the permission there before `parse` sees the rest.
   */
  readonly aboutRoom: boolean;
  parse(args: readonly string[]): ArgsResult<A>;
  run(ctx: CommandContext, args: A): Promise<CommandResult>;
}

/** Erases the argument type so commands of different arguments share one table. */
export interface AnyCommand {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly permission: Permission;
  readonly changesCalls: boolean;
  readonly aboutRoom: boolean;
  invoke(
    ctx: CommandContext,
    args: readonly string[],
  ): Promise<CommandResult | { readonly usageError: string }>;
}

export function command<A>(c: Command<A>): AnyCommand {
  return {
    name: c.name,
    usage: c.usage,
    summary: c.summary,
    permission: c.permission,
    changesCalls: c.changesCalls,
    aboutRoom: c.aboutRoom,
    invoke: async (ctx, args) => {
      const parsed = c.parse(args);
      if (!parsed.ok) return { usageError: parsed.error };
      return c.run(ctx, parsed.value);
    },
  };
}
