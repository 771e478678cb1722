// Whether a room member may see the room's past calls, by its m.room.history_visibility (spec §11.15 history visibility).

/** May the asker see the room's call history: all of it, or not at all (with the reason to tell them). */
export type HistoryAccess = { readonly kind: "all" } | { readonly kind: "refused"; readonly reason: string };

/**
 * Past calls may be listed when the room's history is `world_readable`, or `shared` (the default when unset)
 * and the asker is joined now. Under `joined` and `invited` a member may see only what happened while they were
 * in the room (or invited); the service does not know exactly when that was (a membership event's timestamp is
 * the sender's claim, and earlier spells are not in current state), so it lists nothing rather than too much.
 * An unknown value is treated as the strictest.
 */
export function historyAccess(visibility: unknown, askerMembership: unknown): HistoryAccess {
  const value = visibility === undefined || visibility === null ? "shared" : visibility;
  if (value === "world_readable") return { kind: "all" };
  if (value === "shared") {
    return askerMembership === "join"
      ? { kind: "all" }
      : { kind: "refused", reason: "only members of this room may see its past calls" };
  }
  const named = typeof value === "string" && (value === "joined" || value === "invited");
  return {
    kind: "refused",
    reason: named
      ? `this room shows members only what happened while they were in it (history visibility "${value}"), and the service cannot tell exactly when you joined, so it does not list past calls here`
      : "this room's history visibility is not one the service knows, so it does not list past calls here",
  };
}
