// Read-side of the commands: a room's live calls with verdicts, its call history, ghosts, statistics.
import type {
  GhostLine,
  HistoryCall,
  StatsView,
  StatusCall,
  StatusMember,
} from "../../domain/commands/render";
import { describePlan } from "../../domain/clearing/plan";
import type { SfuView } from "../../domain/sfu/presence";
import type { Store } from "../ports/store";
import type { Clearer } from "../reconcile/clearer";
import type { Judged } from "../reconcile/judge";
import type { Reconciler } from "../reconcile/reconciler";
import type { SfuService } from "../sfu/sfu-service";
import type { CallState } from "../state/call-state";

function sfuText(view: SfuView, j: Judged): string {
  const presence = view.kind === "observed" ? view.presence : j.verdict.evidence.presence;
  if (presence?.kind === "connected") return "connected";
  if (presence?.kind === "gone")
    return `gone since ${Math.round((j.verdict.evidence.now - presence.since) / 1000)}s`;
  switch (view.kind) {
    case "none":
      return "no SFU";
    case "not-ours":
      return "unknown SFU";
    case "unavailable":
      return "SFU unavailable";
    case "stale":
      return "SFU not polled recently";
    case "observed":
      return "not seen yet";
  }
}

export interface CommandQueriesDeps {
  readonly state: CallState;
  readonly reconciler: Reconciler;
  readonly sfu: SfuService;
  readonly store: Store;
  /** How a member would be cleared now (the clearer's own plan), null when the room cannot be read. */
  readonly clearer: Pick<Clearer, "planFor">;
}

export class CommandQueries {
  constructor(private readonly d: CommandQueriesDeps) {}

  /** Judges the room now for a reader: no timer, no audit row, no clear. */
  judged(roomId: string): Judged[] {
    return this.d.reconciler.peek(roomId);
  }

  status(roomId: string): StatusCall[] {
    const calls = new Map<string, { application: string; callId: string; members: StatusMember[] }>();
    for (const j of this.judged(roomId)) {
      const m = j.member;
      const key = `${m.application}\u0000${m.callId}`;
      let call = calls.get(key);
      if (!call) calls.set(key, (call = { application: m.application, callId: m.callId, members: [] }));
      const session = this.d.state.openSessionOf(m.key);
      const room = this.d.state.room(roomId);
      call.members.push({
        userId: m.userId,
        deviceId: m.deviceId,
        since: session?.joinedAt ?? m.createdTs,
        // What LiveKit says is shown even when expiry or room membership decided the verdict.
        sfu: sfuText(this.d.sfu.viewOf(m, room ?? [], j.verdict.evidence.now).view, j),
        expiresAt: j.verdict.evidence.expiresAt,
        verdict: `${j.verdict.kind} (${j.verdict.reason})`,
      });
    }
    return [...calls.values()];
  }

  history(roomId: string, limit: number): HistoryCall[] {
    return this.d.store.callSessions(roomId, limit).map((c) => ({
      startedAt: c.startedAt,
      endedAt: c.endedAt,
      kind: c.kind,
      peakConcurrency: c.peakConcurrency,
      distinctParticipants: c.distinctParticipants,
      participants: this.d.store.userSessionsOfCall(c.id).map((s) => ({
        userId: s.userId,
        deviceId: s.deviceId,
        joinedAt: s.joinedAt,
        leftAt: s.leftAt,
        leaveReason: s.leaveReason,
        joinedBeforeTracking: s.joinedBeforeTracking,
      })),
    }));
  }

  /** The ghosts of these rooms; `withPlans` also asks how each would be cleared (it reads the room's rules). */
  async ghosts(roomIds: readonly string[], withPlans = true): Promise<GhostLine[]> {
    const ghosts = roomIds.flatMap((roomId) =>
      this.judged(roomId)
        .filter((j) => j.verdict.kind === "ghost")
        .map((j) => ({ roomId, j })),
    );
    return Promise.all(
      ghosts.map(async ({ roomId, j }) => ({
        roomId,
        userId: j.member.userId,
        deviceId: j.member.deviceId,
        reason: j.verdict.reason,
        clearable: withPlans ? describePlan(await this.d.clearer.planFor(j.member)) : "",
      })),
    );
  }

  stats(now: number): StatsView {
    let members = 0;
    let liveCalls = 0;
    for (const room of this.d.state.allRooms()) {
      members += room.allSlotMembers().length;
      if (room.memberCount > 0) liveCalls++;
    }
    const day = now - 86_400_000;
    const week = now - 7 * 86_400_000;
    const clears = this.d.store.auditSince(week, { action: "clear" });
    const count = (since: number) => {
      const out: Record<string, number> = {};
      for (const c of clears) {
        if (c.at < since) continue;
        const k = `${c.reason ?? "?"}/${c.method ?? "?"}`;
        out[k] = (out[k] ?? 0) + 1;
      }
      return out;
    };
    const lifetimes = clears
      .map((c) => c.evidence?.ghost_lifetime_s)
      .filter((v): v is number => typeof v === "number")
      .sort((a, b) => a - b);
    const mid = lifetimes.length === 0 ? null : (lifetimes[Math.floor(lifetimes.length / 2)] ?? null);
    return {
      rooms: this.d.state.roomCount,
      liveCalls,
      members,
      cleared24h: count(day),
      cleared7d: count(week),
      medianLifetimeS: mid,
      falsePositives7d: this.d.store.auditSince(week, { action: "false_positive" }).length,
      cannotClear7d: this.d.store.auditSince(week, { action: "cannot_clear" }).length,
    };
  }
}
