// The one command table: each entry's name, usage, summary and permission drive dispatch, checks and help.
import { livekitRoomCandidates } from "../../domain/sfu/mapping";
import { type Reply, ReplyBuilder } from "../../domain/commands/html";
import { dryRunFlag, noArgs, optionalCount, userArg } from "../../domain/commands/parse";
import {
  renderActions,
  renderGhosts,
  renderHistory,
  renderRefused,
  renderStats,
  renderStatus,
} from "../../domain/commands/render";
import { type ActTarget, refusalsToEnd } from "../../domain/rooms/acting";
import type { Clearer, ClearOutcome } from "../reconcile/clearer";
import type { Judged } from "../reconcile/judge";
import type { SfuService } from "../sfu/sfu-service";
import type { CallState } from "../state/call-state";
import type { CommandQueries } from "./queries";
import { type AnyCommand, type CommandContext, type CommandResult, command } from "./types";

export interface TableDeps {
  readonly prefix: string;
  readonly queries: CommandQueries;
  readonly clearer: Clearer;
  readonly sfu: SfuService;
  readonly state: CallState;
  /** The service-wide dry run: commands then report what they would do and write nothing. */
  readonly dryRun: boolean;
}

const PERMISSION_NOTE = { anyone: "", moderator: " (moderators)", admin: " (admins)" } as const;

async function clearAll(
  deps: TableDeps,
  ctx: CommandContext,
  judged: readonly Judged[],
  name: string,
  dryRun: boolean,
): Promise<{ userId: string; deviceId: string; result: string; detail: string }[]> {
  const outcomes: ClearOutcome[] = await Promise.all(
    judged.map((j) => deps.clearer.clear(j, { kind: "command", by: ctx.sender, command: name }, dryRun)),
  );
  return judged.map((j, i) => ({
    userId: j.member.userId,
    deviceId: j.member.deviceId,
    result: outcomes[i]?.result ?? "failed",
    detail: outcomes[i]?.detail ?? "",
  }));
}

const targetOf = (j: Judged): ActTarget => ({
  userId: j.member.userId,
  deviceId: j.member.deviceId,
  type: j.member.source.type,
  stateKey: j.member.source.stateKey,
});

/**
 * Ends memberships for a moderator: only when the room's own rules let the sender end every one of them (as
 * kicking and writing the key themselves would); otherwise nothing is touched and the reply says why.
 */
async function endFor(
  deps: TableDeps,
  ctx: CommandContext,
  judged: readonly Judged[],
  name: string,
  title: string,
): Promise<CommandResult> {
  const refusals = refusalsToEnd(ctx.sender, judged.map(targetOf), await ctx.room.rules());
  if (refusals.length > 0) return { refused: renderRefused(title, refusals) };
  const removed = deps.dryRun ? 0 : await removeFromSfu(deps, judged);
  const lines = await clearAll(deps, ctx, judged, name, deps.dryRun);
  return renderActions(`${title}${deps.dryRun ? " (dry run: nothing written)" : ""}`, lines, [
    `Removed ${removed} participant(s) from the SFU.`,
  ]);
}

async function removeFromSfu(deps: TableDeps, judged: readonly Judged[]): Promise<number> {
  let removed = 0;
  for (const j of judged) {
    if (j.target === null) continue;
    // Only the LiveKit rooms of the member's own call (its room, slot and own aliases), never the `livekit_alias`
    // of the transport another member's claim chose: that could name another room's call.
    const own = new Set(livekitRoomCandidates(j.member));
    removed += await deps.sfu.removeParticipants({
      ...j.target,
      rooms: j.target.rooms.filter((r) => own.has(r)),
    });
  }
  return removed;
}

export function commandTable(deps: TableDeps): readonly AnyCommand[] {
  const table: AnyCommand[] = [];
  const help = (): Reply => {
    const r = new ReplyBuilder().heading("matrix-rtc-reconciler commands");
    for (const c of table)
      r.code(`${deps.prefix} ${c.usage}`).line(`    ${c.summary}${PERMISSION_NOTE[c.permission]}`);
    return r.build();
  };
  table.push(
    command({
      name: "help",
      usage: "help",
      summary: "this list",
      permission: "anyone",
      changesCalls: false,
      aboutRoom: false,
      parse: noArgs,
      run: () => Promise.resolve(help()),
    }),
    command({
      name: "status",
      usage: "status [room]",
      summary:
        "the room's live calls (or those of the room named by id or alias): each member's device, since when, SFU state, expiry and verdict",
      permission: "anyone",
      changesCalls: false,
      aboutRoom: true,
      parse: noArgs,
      run: (ctx) => Promise.resolve(renderStatus(deps.queries.status(ctx.roomId), ctx.now)),
    }),
    command({
      name: "history",
      usage: "history [room] [n]",
      summary:
        "the room's last n calls (default 5): start, duration, participants, how each left, what kind of call",
      permission: "anyone",
      changesCalls: false,
      aboutRoom: true,
      parse: (args) => optionalCount(args, 5, 50),
      run: async (ctx, n) => {
        const access = await ctx.room.historyAccess();
        if (access.kind === "refused")
          return { refused: new ReplyBuilder().line(`No call history here: ${access.reason}.`).build() };
        return renderHistory(deps.queries.history(ctx.roomId, n), ctx.now);
      },
    }),
    command({
      name: "ghosts",
      usage: "ghosts [room]",
      summary:
        "ghost memberships in this room (or the one named), with the reason and whether they can be cleared (admins: and a count of the other rooms')",
      permission: "anyone",
      changesCalls: false,
      aboutRoom: true,
      parse: noArgs,
      run: async (ctx) => {
        const here = await deps.queries.ghosts([ctx.roomId]);
        if (!ctx.isAdmin) return renderGhosts(here);
        // Other rooms' ids and users are theirs: only a count is posted into this room.
        const others = [...deps.state.allRooms()].map((r) => r.roomId).filter((r) => r !== ctx.roomId);
        const elsewhere = await deps.queries.ghosts(others, false);
        return renderGhosts(here, {
          ghosts: elsewhere.length,
          rooms: new Set(elsewhere.map((g) => g.roomId)).size,
        });
      },
    }),
    command({
      name: "clean",
      usage: "clean [room] [--dry-run]",
      summary: "judge this room (or the one named) now and clear its ghosts",
      permission: "moderator",
      changesCalls: true,
      aboutRoom: true,
      parse: dryRunFlag,
      run: async (ctx, dryRun) => {
        const ghosts = deps.queries.judged(ctx.roomId).filter((j) => j.verdict.kind === "ghost");
        const dry = dryRun || deps.dryRun;
        const done = await Promise.all(ghosts.map((j) => deps.clearer.clear(j, { kind: "verdict" }, dry)));
        const lines = ghosts.map((j, i) => ({
          userId: j.member.userId,
          deviceId: j.member.deviceId,
          result: done[i]?.result ?? "failed",
          detail: `${j.verdict.kind === "ghost" ? j.verdict.reason : ""}: ${done[i]?.detail ?? ""}`,
        }));
        return renderActions(dry ? "Clean (dry run)" : "Clean", lines);
      },
    }),
    command({
      name: "end",
      usage: "end",
      summary:
        "end the call for everyone: clear every membership in this room and remove its participants from our SFU",
      permission: "moderator",
      changesCalls: true,
      aboutRoom: false,
      parse: noArgs,
      run: (ctx) => endFor(deps, ctx, deps.queries.judged(ctx.roomId), "end", "End call"),
    }),
    command({
      name: "kick",
      usage: "kick @user:server",
      summary: "remove that user from this room's call: their memberships and SFU participants",
      permission: "moderator",
      changesCalls: true,
      aboutRoom: false,
      parse: userArg,
      run: (ctx, userId) => {
        const judged = deps.queries.judged(ctx.roomId).filter((j) => j.member.userId === userId);
        return endFor(deps, ctx, judged, "kick", `Kick ${userId} from the call`);
      },
    }),
    command({
      name: "stats",
      usage: "stats",
      summary:
        "rooms and calls tracked, ghosts cleared by reason and method, median ghost lifetime, false positives",
      permission: "admin",
      changesCalls: false,
      aboutRoom: false,
      parse: noArgs,
      run: (ctx) => Promise.resolve(renderStats(deps.queries.stats(ctx.now))),
    }),
  );
  return table;
}
